#!/usr/bin/env bash
# The one prepared GPU call (copied to dist/bin/gpu-check): environment, GPU-tagged tests, kernel lab,
# JMH benchmarks and the PyTorch peer in the same run, then a report with ratios. Results go to $OUT
# (the device tool's output folder) or ./gpu-results. Set QUICK=1 for the default shapes only.
# Exit status: non-zero if the GPU tests or the kernel-lab validation failed. TESTS / EXCLUDE_TESTS (class-name
# regexes) and ONLY=tests run a subset; COMPRESS_FIXTURES_DIR points the tests at fixtures outside the test jar.
set -uo pipefail
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
out=${OUT:-$PWD/gpu-results}
mkdir -p "$out"
status=0
step() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }

# CUDA libraries: the same search as bin/compress.
. "$here/bin/cuda-libs.sh"
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

step "environment"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
"$here/bin/compress" info | tee -a "$out/gpu.txt"

step "GPU-tagged tests"
"$java" --enable-native-access=ALL-UNNAMED ${COMPRESS_FIXTURES_DIR:+-Dcompress.fixtures.dir=$COMPRESS_FIXTURES_DIR} \
    -jar "$here"/test-lib/junit-platform-console-standalone-*.jar execute ${TESTS:+--include-classname "$TESTS"} \
    ${EXCLUDE_TESTS:+--exclude-classname "$EXCLUDE_TESTS"} \
    --class-path "$(ls "$here"/test-lib/compress-engine-*-tests.jar):$(ls "$here"/lib/*.jar | tr '\n' ':')" --select-package org.compress.engine \
    --include-tag gpu --details=tree --details-theme=ascii --reports-dir "$out/junit" 2>&1 | tee "$out/gpu-tests.txt" \
    | grep -E "tests (successful|failed|aborted|skipped)|\[X\]|MethodSource|ParameterizedTest|fused max err" | head -200
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

[ "${ONLY:-}" = tests ] && exit $status

if [ -x "$here/lab/kernels/dev/run_all.sh" ]; then
  step "kernel lab"
  export PATH="$PATH:/usr/local/cuda/bin"
  ARCHS="${ARCHS:--arch=sm_90}" "$here/lab/kernels/dev/run_all.sh" ${QUICK:+--quick} 2>&1 | tee "$out/kernel-lab.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

step "JMH benchmarks"
shapes="256x128000x128x128,256x128000x2048x512,256x128000x2048x2048,256x16384x128x128,256x65536x128x128,256x1048576x128x128"
[ -n "${QUICK:-}" ] && shapes="256x128000x128x128"
"$java" --enable-native-access=ALL-UNNAMED -cp "$here/lib/*" org.openjdk.jmh.Main \
    'CompressLossBenchmark|EnqueueBenchmark|GemmBenchmark|NormalizeBenchmark' \
    -p shape="$shapes" \
    -wi 2 -w 500ms -i 3 -r 500ms -f 1 -rf json -rff "$out/jmh.json" 2>&1 | tee "$out/jmh.txt" | grep -E "^\[compress-loss\]|Benchmark|avgt" || true

step "JMH ResNet steps (issue 4's targets: ResNet-18 train FP32/BF16, ResNet-50 infer BF16; batch 256, 224 px)"
# One JMH call per model: the params select the target cases instead of their full cross product.
for sel in "-p model=resnet18 -p mode=train -p precision=BF16_MIXED,FP32" "-p model=resnet50 -p mode=infer -p precision=BF16_MIXED"; do
  name=$(echo "$sel" | sed 's/.*model=\([a-z0-9]*\).*/\1/')
  # shellcheck disable=SC2086
  "$java" --enable-native-access=ALL-UNNAMED -cp "$here/lib/*" org.openjdk.jmh.Main ResNetStepBenchmark $sel \
      -wi 1 -w 2s -i 2 -r 2s -f 1 -rf json -rff "$out/jmh-$name.json" 2>&1 | tee "$out/jmh-$name.txt" \
      | grep -E "^\[resnet-step\]|Benchmark|avgt|Exception" || true
done

step "PyTorch peer"
python3 "$here/peer/compress_loss_peer.py" ${QUICK:+--quick} 2>&1 | tee "$out/peer.jsonl"
python3 "$here/peer/resnet_peer.py" ${QUICK:+--quick} 2>&1 | tee -a "$out/peer.jsonl"

step "report"
jmh_files="$out/jmh.json"
for f in "$out"/jmh-resnet*.json; do [ -s "$f" ] && jmh_files="$jmh_files,$f"; done
python3 "$here/peer/report.py" "$jmh_files" "$out/peer.jsonl" "$out/gpu.txt" | tee "$out/report.md"
exit $status
