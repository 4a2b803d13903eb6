// Host-side launchers for every hand-written kernel in kernels/*.cu. Each enqueues work on `stream`,
// never synchronises, and returns the launch status (cudaGetLastError) for the JNI layer to map.
#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>

namespace compress {

// elementwise.cu
cudaError_t fill_f32(float* x, int64_t n, float value, cudaStream_t stream);
cudaError_t fill_u16(uint16_t* x, int64_t n, uint16_t bits, cudaStream_t stream);     // BF16/F16 patterns
cudaError_t cast_f32_to_bf16(const float* src, uint16_t* dst, int64_t n, cudaStream_t stream);
cudaError_t cast_bf16_to_f32(const uint16_t* src, float* dst, int64_t n, cudaStream_t stream);
cudaError_t cast_f32_to_f16(const float* src, uint16_t* dst, int64_t n, cudaStream_t stream);
cudaError_t cast_f16_to_f32(const uint16_t* src, float* dst, int64_t n, cudaStream_t stream);
cudaError_t scale_f32(float* x, int64_t n, float alpha, cudaStream_t stream);
cudaError_t axpy_f32(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream);

// normalize.cu: y = x / max(||x||, eps) per row; backward dx = (dy - y <y,dy>) / norm.
cudaError_t l2_normalize_rows_f32(const float* x, float* y, float* norms, int rows, int cols, float eps,
                                  cudaStream_t stream);
cudaError_t l2_normalize_rows_backward_f32(const float* y, const float* norms, const float* dy, float* dx,
                                           int rows, int cols, cudaStream_t stream);

// gather.cu: out[i] = table[idx[i]] for rows of d floats (the cached teacher's lookup); idx checked on the host,
// a row whose index is outside [0, n) anyway is written as NaN rather than read out of bounds.
cudaError_t gather_rows_f32(const float* table, int n, int d, const int32_t* idx, int b, float* out, cudaStream_t stream);

}  // namespace compress
