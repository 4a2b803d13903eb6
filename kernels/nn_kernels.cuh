// Host-side launchers for the layer and training kernels (activation.cu, adaptive_pool.cu, optimizer.cu).
// Each enqueues work on `stream`, never synchronises, and returns cudaGetLastError() for the JNI layer.
// Activation codes follow org.compress.engine.ops.Activation: 0 = identity, 1 = ReLU, 2 = ReLU6.
#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>

namespace compress {

// activation.cu: y = act(x); y = act(a + b); dx = dy * [act passes at y]; inverted dropout.
cudaError_t activation_forward_f32(const float* x, float* y, int64_t n, int act, cudaStream_t stream);
cudaError_t add_activation_forward_f32(const float* a, const float* b, float* y, int64_t n, int act, cudaStream_t stream);
cudaError_t activation_backward_f32(const float* y, const float* dy, float* dx, int64_t n, int act, cudaStream_t stream);
cudaError_t dropout_forward_f32(const float* x, float* y, uint8_t* mask, int64_t n, float p, uint64_t seed,
                                cudaStream_t stream);
cudaError_t dropout_backward_f32(const float* dy, const uint8_t* mask, float* dx, int64_t n, float p, cudaStream_t stream);

// adaptive_pool.cu: PyTorch's AdaptiveAvgPool2d; channels_last selects NHWC storage for x and y.
cudaError_t adaptive_avg_pool_forward_f32(const float* x, float* y, int n, int c, int h, int w, int oh, int ow,
                                          bool channels_last, cudaStream_t stream);
cudaError_t adaptive_avg_pool_backward_f32(const float* dy, float* dx, int n, int c, int h, int w, int oh, int ow,
                                           bool channels_last, cudaStream_t stream);

// optimizer.cu: multi-tensor SGD and EMA over a table built once on the host (see CudaTensorTable.java):
// ptrs[list * tensors + t] are device addresses, numel[t] element counts, scalars[t] per-tensor weight decay,
// and block b handles elements [block_start[b], block_start[b] + kMultiTensorChunk) of tensor block_tensor[b].
constexpr int kMultiTensorChunk = 4096;
cudaError_t sgd_multi_tensor_f32(const int64_t* ptrs, int tensors, const int64_t* numel, const float* weight_decay,
                                 const int32_t* block_tensor, const int64_t* block_start, int blocks, float lr,
                                 float momentum, float dampening, bool nesterov, bool first_step, cudaStream_t stream);
cudaError_t ema_multi_tensor_f32(const int64_t* ptrs, int tensors, const int64_t* numel, const int32_t* block_tensor,
                                 const int64_t* block_start, int blocks, float m, float one_minus_m, cudaStream_t stream);
cudaError_t increment_i64(int64_t* counter, cudaStream_t stream);

}  // namespace compress
