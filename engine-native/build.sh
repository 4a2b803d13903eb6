#!/usr/bin/env bash
# Builds libcompress_native.so (kernels/ + engine-native/ JNI glue) with CMake + nvcc and copies it to $1.
# Without nvcc or cmake the build is skipped with one message; the CUDA backend then reports itself unavailable.
# COMPRESS_CUDA_ARCHITECTURES (e.g. "90-real") and COMPRESS_NATIVE_BUILD_DIR override the targets and build folder.
set -euo pipefail
out_dir=${1:?usage: build.sh OUTPUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
# nvcc: $CUDACXX, else the PATH, else $CUDA_HOME/bin (default /usr/local/cuda).
nvcc_bin=
for candidate in "${CUDACXX:-}" "$(command -v nvcc || true)" "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then nvcc_bin=$candidate; break; fi
done
missing=
[ -n "$nvcc_bin" ] || missing=nvcc
command -v cmake >/dev/null || missing="${missing:+$missing and }cmake"
if [ -n "$missing" ]; then
  echo "[compress-native] SKIPPED: $missing not found; the jar carries no native library and the CUDA backend will report itself unavailable."
  exit 0
fi
if [ -z "${JAVA_HOME:-}" ] && command -v javac >/dev/null; then JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")"); fi
: "${JAVA_HOME:?JAVA_HOME must point at a JDK (for jni.h)}"
jdk=$JAVA_HOME; [ -f "$jdk/include/jni.h" ] || jdk=$(dirname "$jdk")   # Maven's java.home may be the JRE inside a JDK
build_dir=${COMPRESS_NATIVE_BUILD_DIR:-$here/build}
mkdir -p "$build_dir"
log="$build_dir/configure.log"
cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$nvcc_bin" \
      -DJNI_HOME="$jdk" ${COMPRESS_CUDA_ARCHITECTURES:+-DCOMPRESS_CUDA_ARCHITECTURES="$COMPRESS_CUDA_ARCHITECTURES"} \
      -Wno-dev >"$log" 2>&1 || { cat "$log"; exit 1; }
cmake --build "$build_dir" -j "$(nproc)"
mkdir -p "$out_dir"
cp "$build_dir/libcompress_native.so" "$out_dir/"
echo "[compress-native] built $(ls -l "$out_dir/libcompress_native.so" | awk '{print $5}') bytes -> $out_dir"
