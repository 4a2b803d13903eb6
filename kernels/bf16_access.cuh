// Device-side element access for kernels templated on the storage type: float is read and written as is;
// __nv_bfloat16 is widened exactly on load and rounded to nearest even on store (__float2bfloat16_rn), so a
// bf16 kernel computes in fp32 and rounds once per output element, as the Java reference (CpuFloats) does.
#pragma once
#include <cstdint>
#include <cuda_bf16.h>

namespace compress {

__device__ __forceinline__ float ld(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float ld(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void st(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void st(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16_rn(v); }

}  // namespace compress
