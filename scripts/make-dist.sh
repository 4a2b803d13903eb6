#!/usr/bin/env bash
# Assembles dist/: everything needed to run the engine, its GPU-tagged tests, the JMH benchmarks, the kernel
# lab and the PyTorch peer on a GPU host that has Java 17+ but no Maven and no network.
#   dist/bin/compress            the CLI launcher
#   dist/bin/gpu-check           GPU tests + benchmarks + kernel lab + PyTorch peer, results to $OUT or ./gpu-results
#   dist/bin/gpu-loader-bench    GPU data path img/s on an ImageNet-like JPEG folder it makes (MakeImageNetLike)
#   dist/lib/                    engine jar (with libcompress_native.so inside), runtime jars, JMH
#   dist/test-lib/               engine test classes, JUnit console launcher
#   dist/lab/kernels/            the kernel lab (dev/: sources, Makefile, run_all.sh) and its production sources
#   dist/peer/                   the PyTorch peer scripts and the report generator
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rm -rf engine-java/target/lib engine-java/target/test-lib bench/target/lib   # no stale jars from earlier builds
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
# The kernel lab as sources with the production kernels they #include (~50 MB of binaries otherwise):
# run_all.sh builds it on the GPU host with that host's nvcc, for that GPU only (ARCHS).
mkdir -p dist/lab/kernels/dev
cp kernels/*.cu kernels/*.cuh dist/lab/kernels/
find kernels/dev -maxdepth 1 -type f \( -name '*.cu' -o -name '*.cuh' -o -name '*.h' -o -name Makefile -o -name '*.sh' \) \
    -exec cp -p {} dist/lab/kernels/dev/ \;
chmod +x dist/bin/*
echo "dist/ assembled: $(du -sh dist | cut -f1)"
