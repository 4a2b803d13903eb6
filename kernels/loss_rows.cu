// Unfused (row-wise) loss steps and small helpers of the loss engine, for when the logits already exist
// (D above the fused kernels' limit) and for the memory bank.
// compress_loss_rows: zt, zs = B x K raw dot products; per row, with pt = softmax(zt/tau), ps = softmax(zs/tau):
//   loss_i = KL(pt_i || ps_i), diff_ij = (ps_ij - pt_ij) / (tau B).
// infonce_rows: z = B x (K+1) raw dot products, column 0 the positive: loss_i = logsumexp(z_i/tau) - z_i0/tau,
//   diff_ij = (softmax_ij - [j==0]) / (tau B).
// Launch (rows kernels): one 256-thread block per row; pass 1 keeps an online (max, sum) per thread, merged in a
//   fixed tree (deterministic), pass 2 writes diff. mean_f32: one block. bank_enqueue / count_non_finite:
//   grid-stride loops.
#include <cmath>
#include "loss_device.cuh"
#include "loss_kernels.cuh"
#include "launch.cuh"

namespace compress {
namespace loss_detail {

constexpr int kRowThreads = 256;
constexpr int kMeanThreads = 1024;
constexpr int kGridThreads = 256;

// Running softmax state of one side in base 2: max m, sum l = sum 2^(z - m), and (teacher side only)
// a = sum 2^(z - m) (zt - zs).
struct Online {
    float m, l, a;
};

__device__ __forceinline__ Online online_empty() { return Online{-INFINITY, 0.f, 0.f}; }

__device__ __forceinline__ void online_add(Online& s, float z, float extra) {
    if (z > s.m) {   // also the first element: 2^(-inf) = 0
        const float sc = exp2f(s.m - z);
        s.l = fmaf(s.l, sc, 1.f);
        s.a = fmaf(s.a, sc, extra);
        s.m = z;
    } else {
        const float p = exp2f(z - s.m);
        s.l += p;
        s.a = fmaf(p, extra, s.a);
    }
}

// Symmetric in its arguments bit for bit (max and + commute), so butterfly lanes agree.
__device__ __forceinline__ Online online_merge(const Online& x, const Online& y) {
    if (y.m == -INFINITY) return x;
    if (x.m == -INFINITY) return y;
    const float m = fmaxf(x.m, y.m);
    const float sx = exp2f(x.m - m), sy = exp2f(y.m - m);
    return Online{m, x.l * sx + y.l * sy, x.a * sx + y.a * sy};
}

__device__ __forceinline__ Online warp_merge(Online s) {
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        Online t{__shfl_xor_sync(kFullMask, s.m, o), __shfl_xor_sync(kFullMask, s.l, o),
                 __shfl_xor_sync(kFullMask, s.a, o)};
        s = online_merge(s, t);
    }
    return s;
}

// Block-wide merge in a fixed order; result valid in every thread.
__device__ Online block_merge(Online s) {
    __shared__ Online partial[kRowThreads / 32];
    __shared__ Online total;
    s = warp_merge(s);
    if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        Online r = partial[0];
        for (int w = 1; w < kRowThreads / 32; ++w) r = online_merge(r, partial[w]);
        total = r;
    }
    __syncthreads();
    Online r = total;
    __syncthreads();
    return r;
}

// zs and diff may alias: each element is read and then written by the same thread.
__global__ void __launch_bounds__(kRowThreads) compress_rows_kernel(const float* zt, const float* zs, int k,
                                                                     float scale2, float grad_scale, float* loss,
                                                                     float* diff) {
    const int64_t base = (int64_t)blockIdx.x * k;
    Online t = online_empty(), s = online_empty();
    for (int j = threadIdx.x; j < k; j += kRowThreads) {
        const float a = zt[base + j] * scale2, b = zs[base + j] * scale2;
        online_add(t, a, a - b);
        online_add(s, b, 0.f);
    }
    t = block_merge(t);
    s = block_merge(s);
    if (threadIdx.x == 0) loss[blockIdx.x] = kLn2 * (t.a / t.l + (s.m - t.m) + (log2f(s.l) - log2f(t.l)));
    const float inv_lt = 1.f / t.l, inv_ls = 1.f / s.l;
    for (int j = threadIdx.x; j < k; j += kRowThreads) {
        const float a = zt[base + j] * scale2, b = zs[base + j] * scale2;
        diff[base + j] = (exp2f(b - s.m) * inv_ls - exp2f(a - t.m) * inv_lt) * grad_scale;
    }
}

// logits and diff may alias: column 0 is read by every thread before the first write (behind the barriers
// of block_merge), other elements are read and then written by the same thread.
__global__ void __launch_bounds__(kRowThreads) infonce_rows_kernel(const float* logits, int n, float scale2,
                                                                    float grad_scale, float* loss, float* diff) {
    const int64_t base = (int64_t)blockIdx.x * n;
    const float z0 = logits[base] * scale2;
    Online s = online_empty();
    for (int j = threadIdx.x; j < n; j += kRowThreads) online_add(s, logits[base + j] * scale2, 0.f);
    s = block_merge(s);
    if (threadIdx.x == 0) loss[blockIdx.x] = kLn2 * (s.m + log2f(s.l) - z0);
    const float inv_l = 1.f / s.l;
    for (int j = threadIdx.x; j < n; j += kRowThreads) {
        const float p = exp2f(logits[base + j] * scale2 - s.m) * inv_l;
        diff[base + j] = (j == 0 ? p - 1.f : p) * grad_scale;
    }
}

__global__ void __launch_bounds__(kMeanThreads) mean_kernel(const float* x, int n, float* out) {
    double s = 0.0;
    for (int i = threadIdx.x; i < n; i += kMeanThreads) s += (double)x[i];
    s = block_sum(s);
    if (threadIdx.x == 0) *out = (float)(s / n);
}

template <typename T>
__global__ void enqueue_kernel(T* bank, int k, int d, const float* keys, int b, int start) {
    const int64_t total = (int64_t)b * d;
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total;
         idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t i = idx / d, c = idx - i * d;
        const int64_t row = ((int64_t)start + i) % k;
        bank[row * d + c] = to_bank<T>(keys[idx]);
    }
}

__global__ void count_non_finite_kernel(const float* x, int64_t n, int* out) {
    int c = 0;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        c += (__float_as_uint(x[i]) & 0x7f800000u) == 0x7f800000u;   // exponent all ones: Inf or NaN
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) c += __shfl_xor_sync(kFullMask, c, o);
    if ((threadIdx.x & 31) == 0 && c != 0) atomicAdd(out, c);   // integer sum: order does not matter
}

inline int grid_for(int64_t n) {
    const int64_t blocks = (n + kGridThreads - 1) / kGridThreads;
    return (int)(blocks < 1 ? 1 : (blocks > 4096 ? 4096 : blocks));
}

}  // namespace loss_detail

namespace ld = loss_detail;

cudaError_t compress_loss_rows(const float* zt, const float* zs, int b, int k, float inv_tau, float* loss_per_query,
                               float* diff, cudaStream_t stream) {
    if (!zt || !zs || !loss_per_query || !diff || b < 1 || k < 1 || !(inv_tau > 0.f) || !std::isfinite(inv_tau))
        return cudaErrorInvalidValue;
    COMPRESS_LAUNCH(ld::compress_rows_kernel, b, ld::kRowThreads, 0, stream)(zt, zs, k, inv_tau * ld::kLog2e,
                                                                             inv_tau / (float)b, loss_per_query, diff);
    return cudaGetLastError();
}

cudaError_t infonce_rows(const float* logits, int b, int k_plus_1, float inv_tau, float* loss_per_query, float* diff,
                         cudaStream_t stream) {
    if (!logits || !loss_per_query || !diff || b < 1 || k_plus_1 < 1 || !(inv_tau > 0.f) || !std::isfinite(inv_tau))
        return cudaErrorInvalidValue;
    COMPRESS_LAUNCH(ld::infonce_rows_kernel, b, ld::kRowThreads, 0, stream)(logits, k_plus_1, inv_tau * ld::kLog2e,
                                                                            inv_tau / (float)b, loss_per_query, diff);
    return cudaGetLastError();
}

cudaError_t mean_f32(const float* x, int n, float* out, cudaStream_t stream) {
    if (!x || !out || n < 1) return cudaErrorInvalidValue;
    COMPRESS_LAUNCH(ld::mean_kernel, 1, ld::kMeanThreads, 0, stream)(x, n, out);
    return cudaGetLastError();
}

cudaError_t bank_enqueue(void* bank, int bank_type, int k, int d, const float* keys, int b, int start,
                         cudaStream_t stream) {
    if (!bank || !keys || k < 1 || d < 1 || b < 0 || b > k || start < 0 || start >= k ||
        (bank_type != kBankF32 && bank_type != kBankBF16))
        return cudaErrorInvalidValue;
    if (b == 0) return cudaSuccess;
    const int blocks = ld::grid_for((int64_t)b * d);
    if (bank_type == kBankF32)
        COMPRESS_LAUNCH(ld::enqueue_kernel, blocks, ld::kGridThreads, 0, stream)(static_cast<float*>(bank), k, d, keys, b, start);
    else
        COMPRESS_LAUNCH(ld::enqueue_kernel, blocks, ld::kGridThreads, 0, stream)(
                static_cast<ld::bf16*>(bank), k, d, keys, b, start);
    return cudaGetLastError();
}

cudaError_t count_non_finite(const float* x, int64_t n, int* out, cudaStream_t stream) {
    if (!out || n < 0 || (n > 0 && !x)) return cudaErrorInvalidValue;
    cudaError_t e = cudaMemsetAsync(out, 0, sizeof(int), stream);
    if (e != cudaSuccess || n == 0) return e;
    COMPRESS_LAUNCH(ld::count_non_finite_kernel, ld::grid_for(n), ld::kGridThreads, 0, stream)(x, n, out);
    return cudaGetLastError();
}

}  // namespace compress
