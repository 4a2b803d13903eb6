#!/usr/bin/env bash
# Builds libcompress_cpu.so (the CPU backend's oneDNN path) with CMake + g++ and copies it to $1.
# Without cmake, a C++ compiler or oneDNN (Debian: libdnnl-dev) the build is skipped with one message; the CPU
# backend then runs its plain-Java ops and says why once. COMPRESS_CPU_BUILD_DIR overrides the build folder.
set -euo pipefail
out_dir=${1:?usage: build.sh OUTPUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
missing=
command -v cmake >/dev/null || missing=cmake
command -v "${CXX:-g++}" >/dev/null || missing="${missing:+$missing and }${CXX:-g++}"
[ -f /usr/include/oneapi/dnnl/dnnl.hpp ] || [ -f /usr/include/dnnl.hpp ] || missing="${missing:+$missing and }oneDNN (libdnnl-dev)"
if [ -n "$missing" ]; then
  echo "[compress-cpu] SKIPPED: $missing not found; the jar carries no libcompress_cpu.so and the CPU backend runs plain Java."
  exit 0
fi
if [ -z "${JAVA_HOME:-}" ] && command -v javac >/dev/null; then JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")"); fi
: "${JAVA_HOME:?JAVA_HOME must point at a JDK (for jni.h)}"
jdk=$JAVA_HOME; [ -f "$jdk/include/jni.h" ] || jdk=$(dirname "$jdk")
build_dir=${COMPRESS_CPU_BUILD_DIR:-$here/build}
mkdir -p "$build_dir"
log="$build_dir/configure.log"
cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DJNI_HOME="$jdk" -Wno-dev >"$log" 2>&1 || { cat "$log"; exit 1; }
cmake --build "$build_dir" -j "$(nproc)"
mkdir -p "$out_dir"
cp "$build_dir/libcompress_cpu.so" "$out_dir/"
echo "[compress-cpu] built $(ls -l "$out_dir/libcompress_cpu.so" | awk '{print $5}') bytes -> $out_dir"
