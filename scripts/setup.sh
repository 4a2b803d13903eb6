#!/usr/bin/env bash
# Installs what the build, the demo and the tests need from Debian's packages, once; a no-op when all is there.
#   scripts/setup.sh           the main job: Fashion-MNIST data, g++/CMake, oneDNN (the fast CPU path), Gloo (multi-process
#                              training on CPUs: the build compiles engine-native/gloo against it; one process needs none)
#   scripts/setup.sh --tests   also Debian's PyTorch (peers, fixtures, the export check) and OpenBLAS: without it Debian's
#                              PyTorch falls back to the reference BLAS (libblas3), 30x slower at GEMM, a crippled peer
# Needs root or password-less sudo to install; otherwise it names the missing packages and the command to run.
set -euo pipefail

packages=(dataset-fashion-mnist g++ cmake libdnnl-dev libgloo-dev)
if [ "${1:-}" = "--tests" ]; then
  packages+=(python3-torch python3-torchvision libopenblas0-pthread)
elif [ -n "${1:-}" ]; then
  echo "usage: scripts/setup.sh [--tests]" >&2; exit 2
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "setup: not a Debian system; install the equivalents of: ${missing[*]}" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then sudo=
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=sudo
else
  echo "setup: missing ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
