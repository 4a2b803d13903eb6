// Launch shape of the memory-bound grid-stride kernels: 256 threads per block and enough blocks to cover n
// elements, capped (each thread then loops) so tiny and huge tensors both launch sensibly.
#pragma once
#include <cstdint>

namespace compress {

constexpr int kGridStrideThreads = 256;

inline int grid_stride_blocks(int64_t n, int64_t max_blocks = 8192) {
    int64_t b = (n + kGridStrideThreads - 1) / kGridStrideThreads;
    return (int)(b < max_blocks ? (b < 1 ? 1 : b) : max_blocks);
}

}  // namespace compress
