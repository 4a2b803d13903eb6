#!/usr/bin/env bash
# Builds libcompress_gloo.so (the JNI bridge to Gloo, engine-native/gloo/) with CMake + g++ and copies it to $1.
# Without cmake, g++ or Debian's libgloo-dev the build is skipped with one message; the engine then runs world
# size 1 only, and a larger world size fails saying the library is missing.
set -euo pipefail
out_dir=${1:?usage: build.sh OUTPUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
missing=
command -v cmake >/dev/null || missing=cmake
command -v g++ >/dev/null || missing="${missing:+$missing and }g++"
[ -f /usr/include/gloo/allreduce.h ] || [ -n "${GLOO_DIR:-}" ] || missing="${missing:+$missing and }libgloo-dev"
if [ -n "$missing" ]; then
  echo "[compress-gloo] SKIPPED: $missing not found; multi-process CPU training needs it (scripts/setup.sh installs it)."
  exit 0
fi
if [ -z "${JAVA_HOME:-}" ] && command -v javac >/dev/null; then JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")"); fi
: "${JAVA_HOME:?JAVA_HOME must point at a JDK (for jni.h)}"
jdk=$JAVA_HOME; [ -f "$jdk/include/jni.h" ] || jdk=$(dirname "$jdk")
build_dir=${COMPRESS_GLOO_BUILD_DIR:-$here/build}
mkdir -p "$build_dir"
log="$build_dir/configure.log"
cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DJNI_HOME="$jdk" ${GLOO_DIR:+-DGloo_DIR="$GLOO_DIR"} -Wno-dev >"$log" 2>&1 \
  || { cat "$log"; exit 1; }
cmake --build "$build_dir" -j "$(nproc)" >"$build_dir/build.log" 2>&1 || { cat "$build_dir/build.log"; exit 1; }
mkdir -p "$out_dir"
cp "$build_dir/libcompress_gloo.so" "$out_dir/"
echo "[compress-gloo] built $(stat -c %s "$out_dir/libcompress_gloo.so") bytes -> $out_dir"
