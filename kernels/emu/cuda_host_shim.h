// Just enough CUDA to run kernels/augment_device.cuh on the CPU with g++: a block's threads are std::threads
// that meet at a std::barrier for __syncthreads and for the warp shuffle; blocks run one after another (one
// team of threads per launch), so function-static "__shared__" arrays are shared by exactly one block's threads. The _rn intrinsics are plain
// IEEE operations (build with -ffp-contract=off so nothing is fused). For checking the kernels' logic only.
#pragma once
#include <cuda_runtime_api.h>   // dim3, uint3, cudaError_t: host types

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#undef __global__
#undef __device__
#undef __forceinline__
#undef __shared__
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define AUGMENT_DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(emu::dynamic_shared())

namespace emu {
inline thread_local uint3 thread_index{0, 0, 0};
inline thread_local uint3 block_index{0, 0, 0};
inline dim3 block_dim, grid_dim;
inline std::barrier<>* block_barrier = nullptr;
inline std::vector<double> exchange;
inline std::vector<unsigned char> shared_bytes;

inline void* dynamic_shared() { return shared_bytes.data(); }
inline int linear_thread() { return (int)(thread_index.x + block_dim.x * (thread_index.y + block_dim.y * thread_index.z)); }

// Runs every block of `grid` in turn on one team of block.x * block.y * block.z threads, which meet at the
// barrier after each block (the kernels reach their own barriers uniformly, so the phases line up).
template <class Body>
void run_grid(dim3 grid, dim3 block, size_t shared, Body body) {
    grid_dim = grid;
    block_dim = block;
    shared_bytes.assign(shared + 16, 0);
    int threads = (int)(block.x * block.y * block.z);
    exchange.assign(threads, 0.0);
    std::barrier<> barrier(threads);
    block_barrier = &barrier;
    std::vector<std::thread> team;
    team.reserve(threads);
    for (int t = 0; t < threads; ++t) {
        team.emplace_back([&, t] {
            thread_index = uint3{(unsigned)(t % block.x), (unsigned)((t / block.x) % block.y), (unsigned)(t / (block.x * block.y))};
            for (unsigned z = 0; z < grid.z; ++z)
                for (unsigned y = 0; y < grid.y; ++y)
                    for (unsigned x = 0; x < grid.x; ++x) {
                        block_index = uint3{x, y, z};
                        body();
                        barrier.arrive_and_wait();
                    }
        });
    }
    for (auto& th : team) th.join();
}
}  // namespace emu

#define threadIdx (emu::thread_index)
#define blockIdx (emu::block_index)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)

inline void __syncthreads() { emu::block_barrier->arrive_and_wait(); }

inline double __shfl_xor_sync(unsigned, double v, int lane_mask) {
    int t = emu::linear_thread();
    emu::exchange[t] = v;
    __syncthreads();
    double r = emu::exchange[t ^ lane_mask];
    __syncthreads();
    return r;
}

inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline int min(int a, int b) { return a < b ? a : b; }
