// Host-side launchers for the layer and training kernels (activation.cu, adaptive_pool.cu, optimizer.cu,
// mixed_precision.cu). bf16 buffers cross this header as uint16_t (raw bfloat16 bits).
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
cudaError_t activation_forward_bf16(const uint16_t* x, uint16_t* y, int64_t n, int act, cudaStream_t stream);
cudaError_t add_activation_forward_bf16(const uint16_t* a, const uint16_t* b, uint16_t* y, int64_t n, int act,
                                        cudaStream_t stream);
cudaError_t activation_backward_bf16(const uint16_t* y, const uint16_t* dy, uint16_t* dx, int64_t n, int act,
                                     cudaStream_t stream);
cudaError_t dropout_forward_f32(const float* x, float* y, uint8_t* mask, int64_t n, float p, uint64_t seed,
                                cudaStream_t stream);
cudaError_t dropout_backward_f32(const float* dy, const uint8_t* mask, float* dx, int64_t n, float p, cudaStream_t stream);

// adaptive_pool.cu: PyTorch's AdaptiveAvgPool2d; channels_last selects NHWC storage for x and y.
cudaError_t adaptive_avg_pool_forward_f32(const float* x, float* y, int n, int c, int h, int w, int oh, int ow,
                                          bool channels_last, cudaStream_t stream);
cudaError_t adaptive_avg_pool_backward_f32(const float* dy, float* dx, int n, int c, int h, int w, int oh, int ow,
                                           bool channels_last, cudaStream_t stream);
cudaError_t adaptive_avg_pool_forward_bf16(const uint16_t* x, uint16_t* y, int n, int c, int h, int w, int oh, int ow,
                                           bool channels_last, cudaStream_t stream);
cudaError_t adaptive_avg_pool_backward_bf16(const uint16_t* dy, uint16_t* dx, int n, int c, int h, int w, int oh, int ow,
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

// mixed_precision.cu: dst = src converted to dst's dtype and layout (flags below; c, hw are dims 1 and 2*3 of a
// 4-d tensor, 1 and 1 otherwise), the same over a table (ptrs: sources then targets; meta: (C, HW, flags) per
// tensor; blocks as for SGD), and y = y + alpha * x on bf16 buffers.
constexpr int kConvertSourceBf16 = 1;
constexpr int kConvertTargetBf16 = 2;
constexpr int kConvertSourceNhwc = 4;
constexpr int kConvertTargetNhwc = 8;
cudaError_t convert_tensor(const void* src, void* dst, int64_t n, int64_t c, int64_t hw, int flags, cudaStream_t stream);
cudaError_t convert_multi_tensor(const int64_t* ptrs, int tensors, const int64_t* numel, const int64_t* meta,
                                 const int32_t* block_tensor, const int64_t* block_start, int blocks, cudaStream_t stream);
cudaError_t axpy_bf16(int64_t n, float alpha, const uint16_t* x, uint16_t* y, cudaStream_t stream);

}  // namespace compress
