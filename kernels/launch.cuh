// Kernel launches and dynamic shared memory are written through these two macros so that kernels/emu can
// compile the unchanged sources with g++ (kernels/emu/cuda_emu.h defines them first). Under nvcc they expand
// to exactly the CUDA syntax; kernels/emu/cubin_identity.py checks that the machine code is the same.
#pragma once
#ifndef COMPRESS_LAUNCH
#define COMPRESS_LAUNCH(kernel, grid, block, smem, stream) kernel<<<grid, block, smem, stream>>>
#endif
#ifndef COMPRESS_DYNAMIC_SHARED
#define COMPRESS_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif
