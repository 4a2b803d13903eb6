// Row gather for the cached teacher: out[i, :] = table[idx[i], :], i < b, rows of d floats.
// Launch: one block of 128 threads per output row, a strided loop over the row (memory bound, coalesced).
#include <cmath>
#include "compress_kernels.cuh"
#include "launch.cuh"

namespace compress {
namespace {

__global__ void gather_rows_kernel(const float* __restrict__ table, int n, int d, const int32_t* __restrict__ idx,
                                   float* __restrict__ out) {
    int row = idx[blockIdx.x];
    float* dst = out + (int64_t)blockIdx.x * d;
    if (row < 0 || row >= n) {  // validated on the host; never read out of bounds regardless
        for (int j = threadIdx.x; j < d; j += blockDim.x) dst[j] = NAN;
        return;
    }
    const float* src = table + (int64_t)row * d;
    for (int j = threadIdx.x; j < d; j += blockDim.x) dst[j] = src[j];
}

}  // namespace

cudaError_t gather_rows_f32(const float* table, int n, int d, const int32_t* idx, int b, float* out, cudaStream_t stream) {
    if (b == 0) return cudaSuccess;
    COMPRESS_LAUNCH(gather_rows_kernel, b, 128, 0, stream)(table, n, d, idx, out);
    return cudaGetLastError();
}

}  // namespace compress
