# Sourced by bin/compress and the GPU scripts: puts the CUDA 13 libraries on LD_LIBRARY_PATH. Order: what the
# user set, then the nvidia/*/lib folders of Python environments with NVIDIA's pip wheels (they hold cuDNN 9,
# cuBLAS 13, NCCL, nvJPEG and must win over older system copies), then /usr/local/cuda.
cuda_lib_dirs=()
for venv in "${VIRTUAL_ENV:-}" "${CONDA_PREFIX:-}" /opt/torch/.venv /opt/conda /usr/local /usr; do
  [ -n "$venv" ] || continue
  for d in "$venv"/lib/python3*/site-packages/nvidia/*/lib; do [ -d "$d" ] && cuda_lib_dirs+=("$d"); done
done
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do [ -d "$d" ] && cuda_lib_dirs+=("$d"); done
if [ ${#cuda_lib_dirs[@]} -gt 0 ]; then
  LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$(IFS=:; echo "${cuda_lib_dirs[*]}")"
fi
export LD_LIBRARY_PATH

# With an NVIDIA device present, name each CUDA library that cannot be found (Java's probe also says why).
cuda_libs_report_missing() {
  [ -e /dev/nvidia0 ] || [ -e /dev/nvidiactl ] || return 0
  local lib d found search
  IFS=: read -ra search <<<"$LD_LIBRARY_PATH"
  for lib in libcudart.so.13 libcublas.so.13 libcudnn.so.9 libnccl.so.2 libnvjpeg.so.13; do
    found=
    for d in "${search[@]}"; do [ -n "$d" ] && [ -e "$d/$lib" ] && { found=1; break; }; done
    [ -n "$found" ] || ! ldconfig -p 2>/dev/null | grep -q "$lib" || found=1
    [ -n "$found" ] || echo "compress: warning: $lib not found in LD_LIBRARY_PATH, /usr/local/cuda or Python nvidia/* wheels" >&2
  done
}
