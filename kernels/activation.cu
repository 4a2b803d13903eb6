// Pointwise layer kernels: activations (identity / ReLU / ReLU6), the fused residual add + activation,
// the activation gradient taken from the output, and inverted dropout with a counter-based mask.
// Math: y = act(x) or act(a + b); dx = dy * [act passes at y]; dropout keeps i when u(seed, i) >= p with
// u = top 24 bits of splitmix64(seed + (i + 1) * golden) / 2^24 (identical to DropoutOp.uniform in Java).
// Activations and the fused add come in fp32 and bf16 storage (bf16: computed in fp32, rounded once on store).
// Launch: grid-stride loop, 256 threads, up to 8192 blocks (memory bound).
#include "grid_stride.cuh"
#include "bf16_access.cuh"
#include "nn_kernels.cuh"
#include "launch.cuh"

namespace compress {
namespace {

constexpr int kThreads = kGridStrideThreads;

__device__ __forceinline__ float apply(int act, float v) {
    if (act == 1) return v > 0.f ? v : 0.f;
    if (act == 2) return v > 0.f ? (v < 6.f ? v : 6.f) : 0.f;
    return v;
}

__device__ __forceinline__ bool passes(int act, float y) {
    if (act == 1) return y > 0.f;
    if (act == 2) return y > 0.f && y < 6.f;
    return true;
}

__device__ __forceinline__ float uniform(uint64_t seed, uint64_t i) {
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    return (float)(z >> 40) * 0x1p-24f;
}

template <typename T>
__global__ void act_forward(const T* __restrict__ x, T* __restrict__ y, int64_t n, int act) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        st(y, i, apply(act, ld(x, i)));
}

// y may alias a or b: each element is read before it is written.
template <typename T>
__global__ void add_act_forward(const T* a, const T* b, T* y, int64_t n, int act) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        st(y, i, apply(act, __fadd_rn(ld(a, i), ld(b, i))));
}

// dx may alias dy.
template <typename T>
__global__ void act_backward(const T* __restrict__ y, const T* dy, T* dx, int64_t n, int act) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        st(dx, i, passes(act, ld(y, i)) ? ld(dy, i) : 0.f);
}

const __nv_bfloat16* bf16(const uint16_t* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }
__nv_bfloat16* bf16(uint16_t* p) { return reinterpret_cast<__nv_bfloat16*>(p); }

__global__ void dropout_forward(const float* __restrict__ x, float* __restrict__ y, uint8_t* __restrict__ mask, int64_t n,
                                float p, float scale, uint64_t seed) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        bool keep = uniform(seed, (uint64_t)i) >= p;
        mask[i] = keep ? 1 : 0;
        y[i] = keep ? __fmul_rn(x[i], scale) : 0.f;
    }
}

__global__ void dropout_backward(const float* dy, const uint8_t* __restrict__ mask, float* dx, int64_t n, float scale) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dx[i] = mask[i] ? __fmul_rn(dy[i], scale) : 0.f;
}

}  // namespace

cudaError_t activation_forward_f32(const float* x, float* y, int64_t n, int act, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(act_forward, grid_stride_blocks(n), kThreads, 0, stream)(x, y, n, act);
    return cudaGetLastError();
}

cudaError_t add_activation_forward_f32(const float* a, const float* b, float* y, int64_t n, int act, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(add_act_forward, grid_stride_blocks(n), kThreads, 0, stream)(a, b, y, n, act);
    return cudaGetLastError();
}

cudaError_t activation_backward_f32(const float* y, const float* dy, float* dx, int64_t n, int act, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(act_backward, grid_stride_blocks(n), kThreads, 0, stream)(y, dy, dx, n, act);
    return cudaGetLastError();
}

cudaError_t activation_forward_bf16(const uint16_t* x, uint16_t* y, int64_t n, int act, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(act_forward, grid_stride_blocks(n), kThreads, 0, stream)(bf16(x), bf16(y), n, act);
    return cudaGetLastError();
}

cudaError_t add_activation_forward_bf16(const uint16_t* a, const uint16_t* b, uint16_t* y, int64_t n, int act,
                                        cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(add_act_forward, grid_stride_blocks(n), kThreads, 0, stream)(bf16(a), bf16(b), bf16(y), n, act);
    return cudaGetLastError();
}

cudaError_t activation_backward_bf16(const uint16_t* y, const uint16_t* dy, uint16_t* dx, int64_t n, int act,
                                     cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    COMPRESS_LAUNCH(act_backward, grid_stride_blocks(n), kThreads, 0, stream)(bf16(y), bf16(dy), bf16(dx), n, act);
    return cudaGetLastError();
}

cudaError_t dropout_forward_f32(const float* x, float* y, uint8_t* mask, int64_t n, float p, uint64_t seed,
                                cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    float scale = 1.f / (1.f - p);   // host fp32 division, as the Java reference
    COMPRESS_LAUNCH(dropout_forward, grid_stride_blocks(n), kThreads, 0, stream)(x, y, mask, n, p, scale, seed);
    return cudaGetLastError();
}

cudaError_t dropout_backward_f32(const float* dy, const uint8_t* mask, float* dx, int64_t n, float p, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    float scale = 1.f / (1.f - p);
    COMPRESS_LAUNCH(dropout_backward, grid_stride_blocks(n), kThreads, 0, stream)(dy, mask, dx, n, scale);
    return cudaGetLastError();
}

}  // namespace compress
