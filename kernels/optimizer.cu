// Multi-tensor optimizer kernels: one launch updates every parameter of a model.
// SGD (torch.optim.SGD's rule):  d = g + wd*p;  buf = first ? d : momentum*buf + (1-dampening)*d;
//                                d = nesterov ? d + momentum*buf : buf;  p -= lr*d
// EMA (MoCo's key encoder):      t = t*m + s*(1-m)
// Every product and sum uses an explicitly rounded intrinsic (__fmul_rn/__fadd_rn), so nvcc cannot fuse
// them into FMAs and the result is bitwise the Java reference's.
// Launch: one 256-thread block per kMultiTensorChunk elements of one tensor, from a table built once on the host.
#include "nn_kernels.cuh"
#include "launch.cuh"

namespace compress {
namespace {

constexpr int kThreads = 256;

__global__ void sgd_kernel(const int64_t* __restrict__ ptrs, int tensors, const int64_t* __restrict__ numel,
                           const float* __restrict__ weight_decay, const int32_t* __restrict__ block_tensor,
                           const int64_t* __restrict__ block_start, float lr, float momentum, float dampening,
                           bool nesterov, bool first) {
    int t = block_tensor[blockIdx.x];
    int64_t start = block_start[blockIdx.x];
    int64_t end = min(start + (int64_t)kMultiTensorChunk, numel[t]);
    float* p = reinterpret_cast<float*>(ptrs[t]);
    const float* g = reinterpret_cast<const float*>(ptrs[tensors + t]);
    float* buf = momentum != 0.f ? reinterpret_cast<float*>(ptrs[2 * tensors + t]) : nullptr;
    float wd = weight_decay[t];
    float keep = 1.f - dampening;
    for (int64_t i = start + threadIdx.x; i < end; i += blockDim.x) {
        float d = g[i];
        if (wd != 0.f) d = __fadd_rn(d, __fmul_rn(wd, p[i]));
        if (momentum != 0.f) {
            float b = first ? d : __fadd_rn(__fmul_rn(momentum, buf[i]), __fmul_rn(keep, d));
            buf[i] = b;
            d = nesterov ? __fadd_rn(d, __fmul_rn(momentum, b)) : b;
        }
        p[i] = __fsub_rn(p[i], __fmul_rn(lr, d));
    }
}

__global__ void ema_kernel(const int64_t* __restrict__ ptrs, int tensors, const int64_t* __restrict__ numel,
                           const int32_t* __restrict__ block_tensor, const int64_t* __restrict__ block_start, float m,
                           float one_minus_m) {
    int t = block_tensor[blockIdx.x];
    int64_t start = block_start[blockIdx.x];
    int64_t end = min(start + (int64_t)kMultiTensorChunk, numel[t]);
    float* target = reinterpret_cast<float*>(ptrs[t]);
    const float* source = reinterpret_cast<const float*>(ptrs[tensors + t]);
    for (int64_t i = start + threadIdx.x; i < end; i += blockDim.x)
        target[i] = __fadd_rn(__fmul_rn(target[i], m), __fmul_rn(source[i], one_minus_m));
}

__global__ void increment_kernel(int64_t* counter) { *counter += 1; }

}  // namespace

cudaError_t sgd_multi_tensor_f32(const int64_t* ptrs, int tensors, const int64_t* numel, const float* weight_decay,
                                 const int32_t* block_tensor, const int64_t* block_start, int blocks, float lr,
                                 float momentum, float dampening, bool nesterov, bool first_step, cudaStream_t stream) {
    if (blocks == 0) return cudaSuccess;
    COMPRESS_LAUNCH(sgd_kernel, blocks, kThreads, 0, stream)(
            ptrs, tensors, numel, weight_decay, block_tensor, block_start, lr, momentum, dampening, nesterov,
            first_step);
    return cudaGetLastError();
}

cudaError_t ema_multi_tensor_f32(const int64_t* ptrs, int tensors, const int64_t* numel, const int32_t* block_tensor,
                                 const int64_t* block_start, int blocks, float m, float one_minus_m, cudaStream_t stream) {
    if (blocks == 0) return cudaSuccess;
    COMPRESS_LAUNCH(ema_kernel, blocks, kThreads, 0, stream)(ptrs, tensors, numel, block_tensor, block_start, m, one_minus_m);
    return cudaGetLastError();
}

cudaError_t increment_i64(int64_t* counter, cudaStream_t stream) {
    COMPRESS_LAUNCH(increment_kernel, 1, 1, 0, stream)(counter);
    return cudaGetLastError();
}

}  // namespace compress
