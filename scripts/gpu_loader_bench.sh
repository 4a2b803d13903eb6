#!/usr/bin/env bash
# The GPU data path's throughput (GpuDataPipelineBench: nvJPEG + augmentation kernels, `compress` to 224x224)
# next to the CPU loader, on an ImageNet-like JPEG folder made here by MakeImageNetLike: Fashion-MNIST images
# (t10k split, or train) upscaled to ~400x350 and colourised, ~110 KB each; synthetic blobs instead when no
# Fashion-MNIST is found. Run on the GPU host; results (JMH JSON) go to $OUT or ./gpu-results.
# Usage: scripts/gpu_loader_bench.sh [COUNT=4096] [WORKERS=8] [HARDWARE_SHARE=1.0]
#   env: FASHION_MNIST=dir (default /usr/share/datasets/fashion-mnist), JPEG_DIR=dir (reuse or keep the folder)
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
count=${1:-4096}
workers=${2:-8}
share=${3:-1.0}
out=${OUT:-$PWD/gpu-results}
mkdir -p "$out"

# CUDA libraries: the same search as bin/compress.
. "$here/bin/cuda-libs.sh"
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

if [ -f "$here/bench/target/benchmarks.jar" ]; then cp="$here/bench/target/benchmarks.jar"
elif [ -d "$here/lib" ]; then cp="$here/lib/*"            # inside dist/
elif [ -d "$here/dist/lib" ]; then cp="$here/dist/lib/*"
else echo "no bench/target/benchmarks.jar or dist/lib: run 'mvn -B package -DskipTests' or scripts/make-dist.sh first" >&2; exit 1; fi

fm=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
src=$fm
if [ ! -e "$fm/t10k-images-idx3-ubyte.gz" ] && [ ! -e "$fm/t10k-images-idx3-ubyte" ] && [ ! -e "$fm/train-images-idx3-ubyte.gz" ]; then
  echo "no Fashion-MNIST in $fm (set FASHION_MNIST=dir with t10k-images-idx3-ubyte.gz + labels): using synthetic blobs"
  src=--synthetic
fi
dir=${JPEG_DIR:-}
if [ -z "$dir" ]; then
  dir=$(mktemp -d)/imagenet-like
  trap 'rm -rf "$(dirname "$dir")"' EXIT
fi
[ -d "$dir" ] || "$java" -cp "$cp" org.compress.bench.MakeImageNetLike "$dir" "$count" "$src" | tee "$out/gpu-data-folder.txt"

"$java" --enable-native-access=ALL-UNNAMED -cp "$cp" org.openjdk.jmh.Main GpuDataPipelineBench \
    -p jpegFolder="$dir" -p workers="$workers" -p hardwareShare="$share" -rf json -rff "$out/gpu-data.json" 2>&1 \
  | tee "$out/gpu-data.txt" | grep -E "^\[gpu-data\]|^Benchmark|GpuDataPipelineBench\.|images"
