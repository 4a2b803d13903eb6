// Mixed-precision and layout kernels: conversion between F32/BF16 and NCHW/NHWC storage, for one tensor or for
// a whole list in one launch (a network's FP32 master weights -> the BF16 / NHWC copies its layers compute
// with), and the BF16 axpy that sums two BF16 gradients (a residual block's two branches).
// Math: dst[n, c, p] = round_dst(src[n, c, p]), p = h * W + w, at NCHW offset (n * C + c) * HW + p or NHWC
//       offset (n * HW + p) * C + c; round_dst is the identity for F32 and round-to-nearest-even for BF16.
//       axpy: y = round_bf16(y + round_f32(alpha * x)) (separately rounded, as the Java reference).
// Launch: one thread per TARGET element in the target's storage order (coalesced writes), grid-stride, 256
// threads; the list form runs one 256-thread block per kMultiTensorChunk target elements of one tensor.
#include "grid_stride.cuh"
#include "bf16_access.cuh"
#include "nn_kernels.cuh"
#include "launch.cuh"

namespace compress {
namespace {

constexpr int kThreads = kGridStrideThreads;

__device__ __forceinline__ float load_any(const void* p, int64_t i, bool is_bf16) {
    return is_bf16 ? ld(static_cast<const __nv_bfloat16*>(p), i) : ld(static_cast<const float*>(p), i);
}

__device__ __forceinline__ void store_any(void* p, int64_t i, float v, bool is_bf16) {
    if (is_bf16) st(static_cast<__nv_bfloat16*>(p), i, v);
    else st(static_cast<float*>(p), i, v);
}

// The source storage offset of the element at target storage offset i (see kConvert* flags in nn_kernels.cuh).
__device__ __forceinline__ int64_t source_offset(int64_t i, int64_t c, int64_t hw, int flags) {
    bool src_nhwc = flags & kConvertSourceNhwc, dst_nhwc = flags & kConvertTargetNhwc;
    if (src_nhwc == dst_nhwc) return i;
    if (dst_nhwc) {
        int64_t ch = i % c, rest = i / c;
        return (rest / hw * c + ch) * hw + rest % hw;
    }
    int64_t p = i % hw, rest = i / hw;
    return (rest / c * hw + p) * c + rest % c;
}

__device__ __forceinline__ void convert_one(const void* src, void* dst, int64_t i, int64_t c, int64_t hw, int flags) {
    float v = load_any(src, source_offset(i, c, hw, flags), flags & kConvertSourceBf16);
    store_any(dst, i, v, flags & kConvertTargetBf16);
}

__global__ void convert_kernel(const void* __restrict__ src, void* __restrict__ dst, int64_t n, int64_t c, int64_t hw,
                               int flags) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        convert_one(src, dst, i, c, hw, flags);
}

// ptrs[t] = source t, ptrs[tensors + t] = target t; meta[3t .. 3t+2] = (C, HW, flags) of tensor t.
__global__ void convert_multi_kernel(const int64_t* __restrict__ ptrs, int tensors, const int64_t* __restrict__ numel,
                                     const int64_t* __restrict__ meta, const int32_t* __restrict__ block_tensor,
                                     const int64_t* __restrict__ block_start) {
    int t = block_tensor[blockIdx.x];
    int64_t start = block_start[blockIdx.x];
    int64_t end = min(start + (int64_t)kMultiTensorChunk, numel[t]);
    const void* src = reinterpret_cast<const void*>(ptrs[t]);
    void* dst = reinterpret_cast<void*>(ptrs[tensors + t]);
    int64_t c = meta[3 * t], hw = meta[3 * t + 1];
    int flags = (int)meta[3 * t + 2];
    for (int64_t i = start + threadIdx.x; i < end; i += blockDim.x) convert_one(src, dst, i, c, hw, flags);
}

__global__ void axpy_bf16_kernel(int64_t n, float alpha, const __nv_bfloat16* x, __nv_bfloat16* y) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        st(y, i, __fadd_rn(ld(y, i), __fmul_rn(alpha, ld(x, i))));
}

}  // namespace

cudaError_t convert_tensor(const void* src, void* dst, int64_t n, int64_t c, int64_t hw, int flags, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(convert_kernel, grid_stride_blocks(n), kThreads, 0, stream)(src, dst, n, c, hw, flags);
    return cudaGetLastError();
}

cudaError_t convert_multi_tensor(const int64_t* ptrs, int tensors, const int64_t* numel, const int64_t* meta,
                                 const int32_t* block_tensor, const int64_t* block_start, int blocks, cudaStream_t stream) {
    if (blocks == 0) return cudaSuccess;
    COMPRESS_LAUNCH(convert_multi_kernel, blocks, kThreads, 0, stream)(ptrs, tensors, numel, meta, block_tensor, block_start);
    return cudaGetLastError();
}

cudaError_t axpy_bf16(int64_t n, float alpha, const uint16_t* x, uint16_t* y, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(axpy_bf16_kernel, grid_stride_blocks(n), kThreads, 0, stream)(
            n, alpha, reinterpret_cast<const __nv_bfloat16*>(x), reinterpret_cast<__nv_bfloat16*>(y));
    return cudaGetLastError();
}

}  // namespace compress
