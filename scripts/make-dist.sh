#!/usr/bin/env bash
# Assembles dist/: everything needed to run the engine, its GPU-tagged tests, the JMH benchmarks, the kernel
# lab and the PyTorch peer on a GPU host that has Java 17+ but no Maven and no network.
#   dist/bin/compress            the CLI launcher
#   dist/bin/gpu-check           GPU tests + benchmarks + kernel lab + PyTorch peer, results to $OUT or ./gpu-results
#   dist/bin/gpu-loader-bench    GPU data path img/s on an ImageNet-like JPEG folder it makes (MakeImageNetLike)
#   dist/lib/                    engine jar (with libcompress_native.so inside), runtime jars, JMH
#   dist/test-lib/               engine test classes, JUnit console launcher
#   dist/lab/kernels/            the kernel lab (dev/: prebuilt when nvcc was here, run_all.sh) and its production sources
#   dist/peer/                   the PyTorch peer scripts and the report generator
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mvn -B -q -ntp package -DskipTests
rm -rf dist && mkdir -p dist/bin dist/lib dist/test-lib dist/lab dist/peer
cp engine-java/target/compress-engine-*-SNAPSHOT.jar dist/lib/
cp engine-java/target/lib/*.jar dist/lib/
cp bench/target/compress-bench-*.jar dist/lib/ 2>/dev/null || true
cp -n bench/target/lib/*.jar dist/lib/
rm -f dist/lib/compress-engine-*-SNAPSHOT-tests.jar
cp engine-java/target/compress-engine-*-tests.jar engine-java/target/test-lib/*.jar dist/test-lib/
cp bin/compress bin/cuda-libs.sh dist/bin/
cp scripts/gpu-check.sh dist/bin/gpu-check
cp scripts/gpu_loader_bench.sh dist/bin/gpu-loader-bench
cp bench/peer/*.py dist/peer/
cp bench/report.py dist/peer/
# The kernel lab with its production sources (the labs #include them); prebuilt where nvcc is here, and
# rebuilt by run_all.sh on the GPU host if its nvcc finds the sources newer.
if command -v nvcc >/dev/null || [ -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ]; then
  make -s -j2 -C kernels/dev >/dev/null || echo "kernel lab did not build; dist/lab has sources only" >&2
fi
mkdir -p dist/lab/kernels
cp -rp kernels/*.cu kernels/*.cuh kernels/dev dist/lab/kernels/
chmod +x dist/bin/*
echo "dist/ assembled: $(du -sh dist | cut -f1)"
