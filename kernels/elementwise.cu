// Elementwise kernels: fill, F32<->BF16/F16 casts, scale, axpy.
// Math: y[i] = f(x[i]). Launch: grid-stride loop, 256 threads, up to 4 * SMs * 8 blocks (memory bound).
#include "grid_stride.cuh"
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include "compress_kernels.cuh"
#include "launch.cuh"

namespace compress {
namespace {

constexpr int kThreads = kGridStrideThreads;

template <typename T>
__global__ void fill_kernel(T* x, int64_t n, T value) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        x[i] = value;
}

__global__ void f32_to_bf16_kernel(const float* src, __nv_bfloat16* dst, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = __float2bfloat16_rn(src[i]);
}

__global__ void bf16_to_f32_kernel(const __nv_bfloat16* src, float* dst, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = __bfloat162float(src[i]);
}

__global__ void f32_to_f16_kernel(const float* src, __half* dst, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = __float2half_rn(src[i]);
}

__global__ void f16_to_f32_kernel(const __half* src, float* dst, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = __half2float(src[i]);
}

__global__ void scale_kernel(float* x, int64_t n, float alpha) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        x[i] *= alpha;
}

__global__ void axpy_kernel(int64_t n, float alpha, const float* x, float* y) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = fmaf(alpha, x[i], y[i]);
}

}  // namespace

cudaError_t fill_f32(float* x, int64_t n, float value, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(fill_kernel, grid_stride_blocks(n), kThreads, 0, stream)(x, n, value);
    return cudaGetLastError();
}

cudaError_t fill_u16(uint16_t* x, int64_t n, uint16_t bits, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(fill_kernel, grid_stride_blocks(n), kThreads, 0, stream)(x, n, bits);
    return cudaGetLastError();
}

cudaError_t cast_f32_to_bf16(const float* src, uint16_t* dst, int64_t n, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(f32_to_bf16_kernel, grid_stride_blocks(n), kThreads, 0, stream)(src, reinterpret_cast<__nv_bfloat16*>(dst), n);
    return cudaGetLastError();
}

cudaError_t cast_bf16_to_f32(const uint16_t* src, float* dst, int64_t n, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(bf16_to_f32_kernel, grid_stride_blocks(n), kThreads, 0, stream)(reinterpret_cast<const __nv_bfloat16*>(src), dst, n);
    return cudaGetLastError();
}

cudaError_t cast_f32_to_f16(const float* src, uint16_t* dst, int64_t n, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(f32_to_f16_kernel, grid_stride_blocks(n), kThreads, 0, stream)(src, reinterpret_cast<__half*>(dst), n);
    return cudaGetLastError();
}

cudaError_t cast_f16_to_f32(const uint16_t* src, float* dst, int64_t n, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(f16_to_f32_kernel, grid_stride_blocks(n), kThreads, 0, stream)(reinterpret_cast<const __half*>(src), dst, n);
    return cudaGetLastError();
}

cudaError_t scale_f32(float* x, int64_t n, float alpha, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(scale_kernel, grid_stride_blocks(n), kThreads, 0, stream)(x, n, alpha);
    return cudaGetLastError();
}

cudaError_t axpy_f32(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(axpy_kernel, grid_stride_blocks(n), kThreads, 0, stream)(n, alpha, x, y);
    return cudaGetLastError();
}

}  // namespace compress
