// Controls of the CPU execution (kernels/emu/emu_runtime.cpp) for tests: the device the launchers see and the
// order in which the scheduler runs a block's threads.
#pragma once
#include <cstddef>
#include <cstdint>

namespace emu {
// SM count (cudaDevAttrMultiProcessorCount) and the per-block shared-memory opt-in limit.
void set_device(int sms, int smem_per_block_optin);
// 0: lockstep (every warp one step at a time, lanes forward); 1: warp by warp, forward (a warp runs until it
// waits at a barrier); 2: warp by warp, last warp and lane first; 3: seeded shuffle of warps and lanes.
void set_schedule(int schedule, uint64_t seed);
long launches();
// Distinct kernels run so far: by name as launched, and by compiled instance (template arguments, argument types).
int kernels_run();
int kernel_instances_run();
// Host memory the kernels may read or write (besides cudaMalloc'd buffers), e.g. a Java direct buffer.
void register_host(const void* p, size_t bytes);
void unregister_host(const void* p);
}  // namespace emu
