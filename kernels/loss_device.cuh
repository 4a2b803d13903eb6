// Device helpers shared by the loss kernels (loss_fused.cu, loss_rows.cu): inline PTX wrappers for cp.async,
// ldmatrix, mma.sync and ex2, TF32/BF16 operand rounding, and deterministic warp/block reductions.
#pragma once
#include <cuda_bf16.h>
#include <cstdint>

namespace compress {
namespace loss_detail {

using bf16 = __nv_bfloat16;

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.69314718055994531f;
constexpr unsigned kFullMask = 0xffffffffu;

// Fragment coordinates of mma.sync / ldmatrix (PTX ISA, "Matrix fragments for mma.m16n8k16 / m16n8k8"), as
// lane -> (row, col) inside a tile. __host__ too: kernels/dev checks them on the CPU against the PTX layouts.
// Accumulator element i (0..3) of an m16n8 tile sits at row g + 8 (i >> 1), col 2 t + (i & 1), g = lane / 4,
// t = lane % 4.
__host__ __device__ constexpr int frag_g(int lane) { return lane >> 2; }
__host__ __device__ constexpr int frag_t(int lane) { return lane & 3; }
__host__ __device__ constexpr int acc_row(int lane, int i) { return (lane >> 2) + 8 * (i >> 1); }
__host__ __device__ constexpr int acc_col(int lane, int i) { return 2 * (lane & 3) + (i & 1); }
// ldmatrix.x4: lane l supplies the address of row (l & 7) of 8x8 matrix (l >> 3); register r receives matrix r.
// A (16 rows x 16 k, [row][k] in smem): matrices (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15),
// (rows 8-15, k 8-15) are exactly a0..a3.
__host__ __device__ constexpr int ldsm_a_row(int lane) { return lane & 15; }
__host__ __device__ constexpr int ldsm_a_col(int lane) { return (lane >> 4) * 8; }
// B of two n8 tiles from an [n][k] tile: (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15)
// = b0, b1 of the first tile, b0, b1 of the second.
__host__ __device__ constexpr int ldsm_b_row(int lane) { return (lane & 7) + ((lane >> 4) << 3); }
__host__ __device__ constexpr int ldsm_b_col(int lane) { return ((lane >> 3) & 1) * 8; }
// Same from a [k][n] tile with .trans: (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15), (k 8-15, n 8-15).
__host__ __device__ constexpr int ldsm_bt_row(int lane) { return (lane & 7) + ((lane >> 3) & 1) * 8; }
__host__ __device__ constexpr int ldsm_bt_col(int lane) { return (lane >> 4) * 8; }

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
// 16-byte async copy; src_bytes = 0 writes zeros without reading (src must still be a valid address).
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int src_bytes) {
#ifdef COMPRESS_EMU   // kernels/emu: the CPU execution
    ::emu::cp_async16(dst, src, src_bytes);
#else
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(src_bytes)
                 : "memory");
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#ifdef COMPRESS_EMU
    ::emu::cp_async_commit();
#else
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#ifdef COMPRESS_EMU
    ::emu::cp_async_wait(N);
#else
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const void* p) {
#ifdef COMPRESS_EMU   // kernels/emu: the CPU execution
    ::emu::ldmatrix(r, 4, false, p);
#else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_addr(p)));
#endif
}
__device__ __forceinline__ void ldsm_x4_trans(uint32_t (&r)[4], const void* p) {
#ifdef COMPRESS_EMU   // kernels/emu: the CPU execution
    ::emu::ldmatrix(r, 4, true, p);
#else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_addr(p)));
#endif
}
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#ifdef COMPRESS_EMU   // kernels/emu: the CPU execution
    ::emu::mma_bf16_m16n8k16(c, a, b0, b1);
#else
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}
__device__ __forceinline__ void mma_tf32(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#ifdef COMPRESS_EMU   // kernels/emu: the CPU execution
    ::emu::mma_tf32_m16n8k8(c, a, b0, b1);
#else
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}
// Round to TF32 (nearest, ties away), so the tensor core sees exactly the value we mean, not a truncation.
__device__ __forceinline__ float tf32_round(float x) {
#ifdef COMPRESS_EMU
    return ::emu::tf32_round(x);
#else
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
    return __uint_as_float(r);
#endif
}
__device__ __forceinline__ float fast_exp2(float x) {   // ex2(-inf) = +0
#ifdef COMPRESS_EMU
    return ::emu::ex2_approx_ftz(x);
#else
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
#endif
}
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);   // .x (low half) = lo
    return *reinterpret_cast<uint32_t*>(&v);
}
__device__ __forceinline__ uint32_t fbits(float x) { return __float_as_uint(x); }

template <typename T> __device__ __forceinline__ T to_operand(float x);
template <> __device__ __forceinline__ float to_operand<float>(float x) { return tf32_round(x); }
template <> __device__ __forceinline__ bf16 to_operand<bf16>(float x) { return __float2bfloat16_rn(x); }
// Bank storage of an F32 value (BF16: round to nearest even).
template <typename T> __device__ __forceinline__ T to_bank(float x);
template <> __device__ __forceinline__ float to_bank<float>(float x) { return x; }
template <> __device__ __forceinline__ bf16 to_bank<bf16>(float x) { return __float2bfloat16_rn(x); }
__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(bf16 x) { return __bfloat162float(x); }

__device__ __forceinline__ float warp_max(float v) {
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
    return v;
}
__device__ __forceinline__ float warp_sum(float v) {   // butterfly: every lane gets the same bits
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
    return v;
}
__device__ __forceinline__ double warp_sum(double v) {
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
    return v;
}
// Deterministic block sum (fixed lanes, fixed tree, warps added in order); result valid in every thread.
// Any blockDim that is a multiple of 32 (up to 1024).
template <typename V>
__device__ V block_sum(V v) {
    __shared__ V partial[32];
    __shared__ V total;
    v = warp_sum(v);
    if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = v;
    __syncthreads();
    if (threadIdx.x == 0) {
        V s = 0;
        for (int w = 0; w < (int)(blockDim.x >> 5); ++w) s += partial[w];
        total = s;
    }
    __syncthreads();
    V r = total;
    __syncthreads();   // partial/total may be reused by a later call
    return r;
}

}  // namespace loss_detail
}  // namespace compress
