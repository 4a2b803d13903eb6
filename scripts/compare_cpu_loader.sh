#!/usr/bin/env bash
# The CPU loader against PyTorch's DataLoader + torchvision on the same JPEG folder and worker count, in one
# call (needs python3-torch/torchvision/pil and bench/target/benchmarks.jar). Usage: scripts/compare_cpu_loader.sh [WORKERS]
set -euo pipefail
cd "$(dirname "$0")/.."
workers="${1:-2}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 scripts/torch_cpu_loader.py "$dir" "$workers" 128 3
java -jar bench/target/benchmarks.jar DataLoaderBench.jpegCompressRecipeCpu -p workers="$workers" -p jpegFolder="$dir" \
  -w 3s -r 5s 2>&1 | grep -E "^(Benchmark|DataLoaderBench)"
