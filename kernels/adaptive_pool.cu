// Adaptive average pooling (PyTorch's AdaptiveAvgPool2d; output 1x1 is global average pooling).
// Forward: y[n,c,i,j] = mean of x[n,c,a,b] over a in [floor(i*H/OH), ceil((i+1)*H/OH)), b likewise.
// Backward: dx[n,c,a,b] = sum over the bins (i,j) containing (a,b) of dy[n,c,i,j] / bin size (a gather, so
// no atomics and a deterministic result). NCHW or NHWC storage; fp32 or bf16 elements (sums in fp32, one
// rounding per output element for bf16).
// Launch: one thread per output (forward) or per input (backward) element, 256 threads per block.
#include "grid_stride.cuh"
#include "bf16_access.cuh"
#include "nn_kernels.cuh"
#include "launch.cuh"

namespace compress {
namespace {

constexpr int kThreads = kGridStrideThreads;

__device__ __forceinline__ int bin_start(int o, int in, int out) { return (int)(((int64_t)o * in) / out); }

__device__ __forceinline__ int bin_end(int o, int in, int out) { return (int)(((int64_t)(o + 1) * in + out - 1) / out); }

__device__ __forceinline__ int64_t offset(bool cl, int n, int c, int h, int w, int C, int H, int W) {
    return cl ? (((int64_t)n * H + h) * W + w) * C + c : (((int64_t)n * C + c) * H + h) * W + w;
}

template <typename T>
__global__ void adaptive_forward(const T* __restrict__ x, T* __restrict__ y, int N, int C, int H, int W, int OH,
                                 int OW, bool cl) {
    int64_t total = (int64_t)N * C * OH * OW;
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total; idx += (int64_t)gridDim.x * blockDim.x) {
        // Decode idx in the storage order of y so consecutive threads write consecutive addresses.
        int n, c, i, j;
        if (cl) { c = idx % C; j = (idx / C) % OW; i = (idx / ((int64_t)C * OW)) % OH; n = idx / ((int64_t)C * OW * OH); }
        else { j = idx % OW; i = (idx / OW) % OH; c = (idx / ((int64_t)OW * OH)) % C; n = idx / ((int64_t)OW * OH * C); }
        int h0 = bin_start(i, H, OH), h1 = bin_end(i, H, OH), w0 = bin_start(j, W, OW), w1 = bin_end(j, W, OW);
        float sum = 0.f;
        for (int a = h0; a < h1; ++a)
            for (int b = w0; b < w1; ++b) sum += ld(x, offset(cl, n, c, a, b, C, H, W));
        st(y, idx, sum / (float)((h1 - h0) * (w1 - w0)));
    }
}

template <typename T>
__global__ void adaptive_backward(const T* __restrict__ dy, T* __restrict__ dx, int N, int C, int H, int W, int OH,
                                  int OW, bool cl) {
    int64_t total = (int64_t)N * C * H * W;
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total; idx += (int64_t)gridDim.x * blockDim.x) {
        int n, c, a, b;
        if (cl) { c = idx % C; b = (idx / C) % W; a = (idx / ((int64_t)C * W)) % H; n = idx / ((int64_t)C * W * H); }
        else { b = idx % W; a = (idx / W) % H; c = (idx / ((int64_t)W * H)) % C; n = idx / ((int64_t)W * H * C); }
        float g = 0.f;
        for (int i = 0; i < OH; ++i) {
            int h0 = bin_start(i, H, OH), h1 = bin_end(i, H, OH);
            if (a < h0 || a >= h1) continue;
            for (int j = 0; j < OW; ++j) {
                int w0 = bin_start(j, W, OW), w1 = bin_end(j, W, OW);
                if (b < w0 || b >= w1) continue;
                g += ld(dy, offset(cl, n, c, i, j, C, OH, OW)) / (float)((h1 - h0) * (w1 - w0));
            }
        }
        st(dx, idx, g);
    }
}

}  // namespace

cudaError_t adaptive_avg_pool_forward_f32(const float* x, float* y, int n, int c, int h, int w, int oh, int ow,
                                          bool channels_last, cudaStream_t stream) {
    int64_t total = (int64_t)n * c * oh * ow;
    if (total == 0) return cudaSuccess;
    COMPRESS_LAUNCH(adaptive_forward, grid_stride_blocks(total, 65535), kThreads, 0, stream)(x, y, n, c, h, w, oh, ow, channels_last);
    return cudaGetLastError();
}

cudaError_t adaptive_avg_pool_backward_f32(const float* dy, float* dx, int n, int c, int h, int w, int oh, int ow,
                                           bool channels_last, cudaStream_t stream) {
    int64_t total = (int64_t)n * c * h * w;
    if (total == 0) return cudaSuccess;
    COMPRESS_LAUNCH(adaptive_backward, grid_stride_blocks(total, 65535), kThreads, 0, stream)(dy, dx, n, c, h, w, oh, ow, channels_last);
    return cudaGetLastError();
}

cudaError_t adaptive_avg_pool_forward_bf16(const uint16_t* x, uint16_t* y, int n, int c, int h, int w, int oh, int ow,
                                           bool channels_last, cudaStream_t stream) {
    int64_t total = (int64_t)n * c * oh * ow;
    if (total == 0) return cudaSuccess;
    COMPRESS_LAUNCH(adaptive_forward, grid_stride_blocks(total, 65535), kThreads, 0, stream)(
            reinterpret_cast<const __nv_bfloat16*>(x), reinterpret_cast<__nv_bfloat16*>(y), n, c, h, w, oh, ow,
            channels_last);
    return cudaGetLastError();
}

cudaError_t adaptive_avg_pool_backward_bf16(const uint16_t* dy, uint16_t* dx, int n, int c, int h, int w, int oh, int ow,
                                            bool channels_last, cudaStream_t stream) {
    int64_t total = (int64_t)n * c * h * w;
    if (total == 0) return cudaSuccess;
    COMPRESS_LAUNCH(adaptive_backward, grid_stride_blocks(total, 65535), kThreads, 0, stream)(
            reinterpret_cast<const __nv_bfloat16*>(dy), reinterpret_cast<__nv_bfloat16*>(dx), n, c, h, w, oh, ow,
            channels_last);
    return cudaGetLastError();
}

}  // namespace compress
