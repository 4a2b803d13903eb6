#!/usr/bin/env bash
# Prepares the one device call of a session with a GPU (see ../shared/device/README.md): builds dist/, a jlinked
# Java runtime and .gpu/run.sh in the ignored folder .gpu/, and prints the call to make. Everything that needs
# no GPU is built and checked here first; the device then only runs .gpu/run.sh.
#   scripts/prepare-gpu-run.sh, then device run: command "bash .gpu/run.sh", carry [".gpu"] (timeout ~540 s),
#   then on the same warm machine: command "bash .gpu-data/run.sh", carry [".gpu-data"] (data path, java.desktop).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# The device is a Hopper GPU: sm_90 machine code only keeps the carried bundle under the 64 MiB limit.
COMPRESS_CUDA_ARCHITECTURES=${COMPRESS_CUDA_ARCHITECTURES:-90-real} COMPRESS_NATIVE_BUILD_DIR="$root/engine-native/build-gpu-run" \
    bash scripts/make-dist.sh
rm -rf .gpu .gpu-resnet .gpu-data && mkdir -p .gpu .gpu-data
cp -r dist .gpu/dist
# Within the 64 MiB that travel (the tracked tree, ~10 MiB, included): the test fixtures are read from the tracked
# copy instead of the test jar, and the bytedeco CUDA jar keeps only the JNI libraries the engine loads.
(cd .gpu/dist/test-lib && zip -q -d compress-engine-*-tests.jar 'fixtures/*')
(cd .gpu/dist/lib && zip -q -d cuda-*-linux-x86_64.jar 'org/bytedeco/cuda/linux-x86_64/*npp*' \
    'org/bytedeco/cuda/linux-x86_64/*cufft*' 'org/bytedeco/cuda/linux-x86_64/*cusolver*' \
    'org/bytedeco/cuda/linux-x86_64/*cusparse*' 'org/bytedeco/cuda/linux-x86_64/*curand*' \
    'org/bytedeco/cuda/linux-x86_64/*cupti*' 'org/bytedeco/cuda/linux-x86_64/*nvml*' \
    'org/bytedeco/cuda/linux-x86_64/*nvcomp*' 'org/bytedeco/cuda/linux-x86_64/*cufile*' >/dev/null || true)
jre_script=${MAKE_JRE:-../shared/device/make-jre.sh}
[ -x "$jre_script" ] || { echo "no $jre_script: pass MAKE_JRE=/path/to/make-jre.sh" >&2; exit 2; }
"$jre_script" .gpu >/dev/null
# The data-path GPU tests and loader benchmark need java.desktop (ImageIO): a second call with a larger runtime.
MODULES=java.base,java.logging,java.management,jdk.management,jdk.unsupported,java.naming,java.xml,jdk.zipfs,java.desktop \
    "$jre_script" .gpu-data >/dev/null
cat > .gpu/run.sh <<'RUN'
#!/usr/bin/env bash
# Call 1 on the GPU machine: GPU tests (all but the data path's), kernel lab, JMH benchmarks, PyTorch peer, report.
set -uo pipefail
tar xzf .gpu/jre.tgz -C /tmp && export JAVA_HOME=/tmp/jre PATH=/tmp/jre/bin:$PATH
export OUT=${OUT:-$PWD/gpu-results} QUICK=${QUICK:-1} COMPRESS_FIXTURES_DIR=$PWD/engine-java/src/test/resources/fixtures
mkdir -p "$OUT"
EXCLUDE_TESTS='org\.compress\.engine\.data\..*' bash .gpu/dist/bin/gpu-check 2>&1 | tee "$OUT/gpu-check.log"
RUN
cat > .gpu-data/run.sh <<'RUN'
#!/usr/bin/env bash
# Call 2, on the still-warm machine of call 1 (.gpu/ is still there): the data path's GPU tests and loader benchmark,
# with a Java runtime that has java.desktop (ImageIO).
set -uo pipefail
rm -rf /tmp/jre && tar xzf .gpu-data/jre.tgz -C /tmp && export JAVA_HOME=/tmp/jre PATH=/tmp/jre/bin:$PATH
export OUT=${OUT:-$PWD/gpu-results} COMPRESS_FIXTURES_DIR=$PWD/engine-java/src/test/resources/fixtures
mkdir -p "$OUT"
TESTS='org\.compress\.engine\.data\..*' ONLY=tests bash .gpu/dist/bin/gpu-check 2>&1 | tee "$OUT/gpu-data-tests.log"
FASHION_MNIST=$PWD/.gpu-data/fashion-mnist bash .gpu/dist/bin/gpu-loader-bench 2048 8 2>&1 | tee "$OUT/gpu-loader-bench.log"
RUN
mkdir -p .gpu-data/fashion-mnist && cp /usr/share/datasets/fashion-mnist/t10k-* .gpu-data/fashion-mnist/ 2>/dev/null || true
chmod +x .gpu/run.sh .gpu-data/run.sh
tracked_kib=$(git ls-files -z | xargs -0 du -ck 2>/dev/null | tail -n 1 | cut -f1)
for d in .gpu .gpu-data; do
  total=$(( $(du -sk "$d" | cut -f1) + tracked_kib ))
  [ "$total" -le $((63 * 1024)) ] || echo "warning: $d + the tracked tree is $((total / 1024)) MiB; the device carries at most 64 MiB" >&2
done
echo "call 1: command 'bash .gpu/run.sh', carry ['.gpu'] ($(du -sh .gpu | cut -f1), timeout ~540 s)"
echo "call 2 (same warm machine): command 'bash .gpu-data/run.sh', carry ['.gpu-data'] ($(du -sh .gpu-data | cut -f1))"
