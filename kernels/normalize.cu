// Row-wise L2 normalisation (torch.nn.functional.normalize, dim=1) forward and backward.
// Forward:  norm_i = max(||x_i||, eps), y_i = x_i / norm_i.   Backward: dx_i = (dy_i - y_i <y_i, dy_i>) / norm_i.
// Launch: one 128-thread block per row; a block reduction of the row's sum of squares (or dot product).
#include "compress_kernels.cuh"
#include "launch.cuh"

namespace compress {
namespace {

constexpr int kThreads = 128;

__device__ float block_sum(float v) {
    __shared__ float warp_sums[kThreads / 32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = v;
    __syncthreads();
    float total = 0.f;
    #pragma unroll
    for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];   // fixed order: deterministic
    __syncthreads();
    return total;
}

__global__ void normalize_forward(const float* __restrict__ x, float* __restrict__ y, float* __restrict__ norms,
                                  int cols, float eps) {
    const float* xr = x + (int64_t)blockIdx.x * cols;
    float ss = 0.f;
    for (int j = threadIdx.x; j < cols; j += kThreads) ss = fmaf(xr[j], xr[j], ss);
    float norm = fmaxf(sqrtf(block_sum(ss)), eps);
    float* yr = y + (int64_t)blockIdx.x * cols;
    for (int j = threadIdx.x; j < cols; j += kThreads) yr[j] = xr[j] / norm;
    if (threadIdx.x == 0) norms[blockIdx.x] = norm;
}

__global__ void normalize_backward(const float* __restrict__ y, const float* __restrict__ norms,
                                   const float* dy, float* dx, int cols) {
    const float* yr = y + (int64_t)blockIdx.x * cols;
    const float* gr = dy + (int64_t)blockIdx.x * cols;
    float dot = 0.f;
    for (int j = threadIdx.x; j < cols; j += kThreads) dot = fmaf(yr[j], gr[j], dot);
    dot = block_sum(dot);
    float inv = 1.f / norms[blockIdx.x];
    float* dr = dx + (int64_t)blockIdx.x * cols;   // may alias dy: each element is read before it is written
    for (int j = threadIdx.x; j < cols; j += kThreads) dr[j] = (gr[j] - yr[j] * dot) * inv;
}

}  // namespace

cudaError_t l2_normalize_rows_f32(const float* x, float* y, float* norms, int rows, int cols, float eps,
                                  cudaStream_t stream) {
    if (rows == 0) return cudaSuccess;
    COMPRESS_LAUNCH(normalize_forward, rows, kThreads, 0, stream)(x, y, norms, cols, eps);
    return cudaGetLastError();
}

cudaError_t l2_normalize_rows_backward_f32(const float* y, const float* norms, const float* dy, float* dx,
                                           int rows, int cols, cudaStream_t stream) {
    if (rows == 0) return cudaSuccess;
    COMPRESS_LAUNCH(normalize_backward, rows, kThreads, 0, stream)(y, norms, dy, dx, cols);
    return cudaGetLastError();
}

}  // namespace compress
