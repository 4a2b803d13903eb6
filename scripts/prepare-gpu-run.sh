#!/usr/bin/env bash
# Prepares the one device call of a session with a GPU (see ../shared/device/README.md): builds dist/, a jlinked
# Java runtime and .gpu/run.sh in the ignored folder .gpu/, and prints the call to make. Everything that needs
# no GPU is built and checked here first; the device then only runs .gpu/run.sh.
#   scripts/prepare-gpu-run.sh && (device run: command "bash .gpu/run.sh", carry [".gpu"], timeout ~540 s)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# The device is a Hopper GPU: sm_90 machine code only keeps the carried bundle under the 64 MiB limit.
COMPRESS_CUDA_ARCHITECTURES=${COMPRESS_CUDA_ARCHITECTURES:-90-real} COMPRESS_NATIVE_BUILD_DIR="$root/engine-native/build-gpu-run" \
    bash scripts/make-dist.sh
rm -rf .gpu .gpu-resnet && mkdir -p .gpu .gpu-resnet
cp -r dist .gpu/dist
# The ResNet parity fixtures (3.6 MB) travel in a second, optional call: the first one must stay under 64 MiB.
for f in resnet18_small.safetensors resnet50_small.safetensors; do
  cp "engine-java/src/test/resources/fixtures/$f" .gpu-resnet/
  (cd .gpu/dist/test-lib && zip -q -d compress-engine-*-tests.jar "fixtures/$f")
done
cat > .gpu-resnet/run.sh <<'RUN'
#!/usr/bin/env bash
# Second call, on the still-warm machine of the first (.gpu/ and /tmp/jre are there): the ResNet PyTorch parity on CUDA.
set -uo pipefail
[ -x /tmp/jre/bin/java ] || tar xzf .gpu/jre.tgz -C /tmp
export JAVA_HOME=/tmp/jre PATH=/tmp/jre/bin:$PATH OUT=${OUT:-$PWD/gpu-results}
COMPRESS_FIXTURES_DIR=$PWD/.gpu-resnet TESTS='.*ResNetTorchParity.*' ONLY=tests bash .gpu/dist/bin/gpu-check 2>&1 | tee "$OUT/gpu-resnet.log"
RUN
chmod +x .gpu-resnet/run.sh
jre_script=${MAKE_JRE:-../shared/device/make-jre.sh}
[ -x "$jre_script" ] || { echo "no $jre_script: pass MAKE_JRE=/path/to/make-jre.sh" >&2; exit 2; }
# java.desktop: ImageIO (the data tests compare nvJPEG with the JDK decoder) and the PNG plots.
MODULES=java.base,java.logging,java.management,jdk.management,jdk.unsupported,java.naming,java.xml,jdk.zipfs,java.desktop \
    "$jre_script" .gpu >/dev/null
size_kib=$(du -sk .gpu | cut -f1)
if [ "$size_kib" -gt $((62 * 1024)) ]; then
  echo "warning: .gpu/ is $((size_kib / 1024)) MiB; the device carries at most 64 MiB in all" >&2
fi
cat > .gpu/run.sh <<'RUN'
#!/usr/bin/env bash
# Runs on the GPU machine: a Java runtime from the bundle, then dist/bin/gpu-check (GPU tests, kernel lab,
# JMH benchmarks, PyTorch peer, report) writing into $OUT.
set -uo pipefail
tar xzf .gpu/jre.tgz -C /tmp && export JAVA_HOME=/tmp/jre PATH=/tmp/jre/bin:$PATH
export OUT=${OUT:-$PWD/gpu-results} QUICK=${QUICK:-1}
bash .gpu/dist/bin/gpu-check 2>&1 | tee "$OUT/gpu-check.log"
RUN
chmod +x .gpu/run.sh
echo "prepared .gpu/ ($(du -sh .gpu | cut -f1)); device call: command 'bash .gpu/run.sh', carry ['.gpu'] (timeout ~540 s)"
echo "optional second call on the warm machine: command 'bash .gpu-resnet/run.sh', carry ['.gpu-resnet'] ($(du -sh .gpu-resnet | cut -f1))"
