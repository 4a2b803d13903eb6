// CUDA C++ on the CPU: force-included (g++ -include kernels/emu/cuda_emu.h -DCOMPRESS_EMU) before the unchanged
// kernel sources of kernels/, so that g++ compiles them and kernels/emu/emu_runtime.cpp runs them with CUDA's
// semantics: every CUDA thread is a fiber with its own stack; __syncthreads is a block barrier; warp collectives
// (shuffles, votes, ldmatrix, mma.sync) wait for every lane of their mask; cp.async lands at its wait_group;
// shared memory is poisoned and bounds-checked; global memory comes from guarded allocations (cudaMalloc here).
// A violation stops the process with the kernel, block, thread and address. README.md, "Testing", says what this
// execution catches and what only a GPU can.
#pragma once
#ifndef COMPRESS_EMU
#define COMPRESS_EMU 1
#endif
#include <cuda_runtime_api.h>   // dim3, cudaError_t, the runtime's declarations (host types only)
#include <vector_functions.h>   // make_uint4, make_float4 (host inline)
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <typeinfo>
#include <type_traits>
#include <utility>

#undef __global__
#undef __device__
#undef __host__
#undef __forceinline__
#undef __shared__
#undef __launch_bounds__
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// Static shared variables live in one ELF section that the runtime poisons before every block (blocks of a
// launch run one after another, so a function-static array is exactly one block's shared memory).
#define __shared__ static __attribute__((section("emu_shared"), aligned(16)))

namespace emu {

struct Fiber;
struct Context {
    const char* kernel = "";
    dim3 grid, block;
    uint3 block_idx{0, 0, 0};
    Fiber* cur = nullptr;
    unsigned char* dyn_smem = nullptr;
    size_t dyn_bytes = 0;
};
extern Context ctx;
uint3 thread_idx();   // of the running fiber

[[noreturn]] void violation(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void* dynamic_shared(size_t align);
void syncthreads();
void threadfence();

// Warp collectives (all lanes named in `mask` must arrive at the same one).
uint64_t shfl(int kind, unsigned mask, uint64_t bits, int src, int width);   // kind: 0 idx, 1 xor, 2 up, 3 down
unsigned vote(int kind, unsigned mask, bool pred);                            // kind: 0 any, 1 all, 2 ballot
void ldmatrix(uint32_t* r, int count, bool trans, const void* row_addr);
void mma_bf16_m16n8k16(float* c, const uint32_t* a, uint32_t b0, uint32_t b1);
void mma_tf32_m16n8k8(float* c, const uint32_t* a, uint32_t b0, uint32_t b1);
// cp.async: the copy lands (and the 16 destination bytes stop being poison) when its group is waited for.
void cp_async16(void* dst, const void* src, int src_bytes);
void cp_async_commit();
void cp_async_wait(int n);
float ex2_approx_ftz(float x);
float tf32_round(float x);   // cvt.rna.tf32.f32
void check_global(const void* p, size_t bytes, const char* what);

// Launches: COMPRESS_LAUNCH(k, grid, block, smem, stream)(args...) enqueues one grid on the stream; the
// arguments are copied at the call, as <<<>>> does.
struct LaunchBody {
    virtual ~LaunchBody() = default;
    virtual void run() = 0;
};
template <class F>
struct LaunchBodyOf : LaunchBody {
    F f;
    explicit LaunchBodyOf(F&& f) : f(std::move(f)) {}
    void run() override { f(); }
};
struct Launch;
void enqueue(const Launch& l, LaunchBody* body);
template <class Kernel>
struct BoundLaunch;
struct Launch {
    const char* name;
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
    const char* instance = nullptr;   // the compiled kernel (template instance), for the coverage count
    template <class Kernel>
    BoundLaunch<Kernel> with(Kernel k) const;
};
template <class Kernel>
struct BoundLaunch {
    Launch l;
    Kernel k;
    template <class... A>
    void operator()(A&&... a) const {
        auto body = [k = k, args = std::tuple<std::decay_t<A>...>(std::forward<A>(a)...)]() mutable { std::apply(k, args); };
        Launch at = l;
        at.instance = typeid(void (*)(Kernel, std::decay_t<A>...)).name();
        enqueue(at, new LaunchBodyOf<decltype(body)>(std::move(body)));
    }
};
template <class Kernel>
BoundLaunch<Kernel> Launch::with(Kernel k) const { return BoundLaunch<Kernel>{*this, k}; }

cudaError_t func_set_attribute(const char* kernel, cudaFuncAttribute attr, int value);

template <class T>
T bits_to(uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof(T));
    return v;
}
template <class T>
uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8, "shuffle of at most 64 bits");
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
}

}  // namespace emu

#define threadIdx (::emu::thread_idx())
#define blockIdx (::emu::ctx.block_idx)
#define blockDim (::emu::ctx.block)
#define gridDim (::emu::ctx.grid)
#define warpSize 32

#define COMPRESS_LAUNCH(kernel, grid, block, smem, stream) \
    ::emu::Launch{#kernel, dim3(grid), dim3(block), (size_t)(smem), (stream)}.with([=](auto... a_) { kernel(a_...); })
// `type` may carry __align__(n): the region is 16-byte aligned (and checked so) in any case.
#define COMPRESS_DYNAMIC_SHARED(type, name) \
    type* const name = reinterpret_cast<type*>(::emu::dynamic_shared(16))
#define AUGMENT_DYNAMIC_SHARED(type, name) COMPRESS_DYNAMIC_SHARED(type, name)
// Keyed by the kernel's name as written (the opt-in is checked against the launches of that name).
#define cudaFuncSetAttribute(func, attr, value) ::emu::func_set_attribute(#func, attr, value)

inline void __syncthreads() { ::emu::syncthreads(); }
inline void __threadfence() { ::emu::threadfence(); }
inline void __syncwarp(unsigned = 0xffffffffu) {}

template <class T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    return ::emu::bits_to<T>(::emu::shfl(1, mask, ::emu::to_bits(v), lane_mask, width));
}
template <class T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    return ::emu::bits_to<T>(::emu::shfl(0, mask, ::emu::to_bits(v), src, width));
}
template <class T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned d, int width = 32) {
    return ::emu::bits_to<T>(::emu::shfl(2, mask, ::emu::to_bits(v), (int)d, width));
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned d, int width = 32) {
    return ::emu::bits_to<T>(::emu::shfl(3, mask, ::emu::to_bits(v), (int)d, width));
}
inline int __any_sync(unsigned mask, int pred) { return (int)::emu::vote(0, mask, pred != 0); }
inline int __all_sync(unsigned mask, int pred) { return (int)::emu::vote(1, mask, pred != 0); }
inline unsigned __ballot_sync(unsigned mask, int pred) { return ::emu::vote(2, mask, pred != 0); }

template <class T>
inline T __ldg(const T* p) {
    ::emu::check_global(p, sizeof(T), "__ldg");
    return *p;
}
template <class T>
inline T __ldcg(const T* p) {
    ::emu::check_global(p, sizeof(T), "__ldcg");
    return *p;
}

// Atomics: the fibers of a launch run on one OS thread, so a read-modify-write is indivisible.
template <class T>
inline T atomicAdd(T* p, T v) {
    ::emu::check_global(p, sizeof(T), "atomicAdd");
    T old = *p;
    *p = old + v;
    return old;
}
template <class T>
inline T atomicMax(T* p, T v) {
    T old = *p;
    *p = old < v ? v : old;
    return old;
}
template <class T>
inline T atomicExch(T* p, T v) {
    T old = *p;
    *p = v;
    return old;
}
template <class T>
inline T atomicCAS(T* p, T cmp, T v) {
    T old = *p;
    if (old == cmp) *p = v;
    return old;
}

inline unsigned __float_as_uint(float x) { return ::emu::bits_to<unsigned>(::emu::to_bits(x)); }
inline float __uint_as_float(unsigned x) { return ::emu::bits_to<float>(x); }
inline int __float_as_int(float x) { return ::emu::bits_to<int>(::emu::to_bits(x)); }
inline float __int_as_float(int x) { return ::emu::bits_to<float>((uint32_t)x); }
// The _rn intrinsics are single IEEE operations (the emulation is built with -ffp-contract=off).
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : (x != x ? 0.f : x)); }
inline int max(int a, int b) { return a > b ? a : b; }
inline int min(int a, int b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline int64_t max(int64_t a, int64_t b) { return a > b ? a : b; }
inline int64_t min(int64_t a, int64_t b) { return a < b ? a : b; }
inline float max(float a, float b) { return std::fmax(a, b); }
inline float min(float a, float b) { return std::fmin(a, b); }
inline size_t __cvta_generic_to_shared(const void* p) { return (size_t)(uintptr_t)p; }
