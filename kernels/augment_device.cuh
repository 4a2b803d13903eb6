// Device code of kernels/augment.cu (the passes and the math they share), in a header so that the host
// emulation in kernels/emu/ compiles the very same code with g++. Include only from augment.cu (and the emulator).
#pragma once
#include "augment_kernels.cuh"

#include <cuda_bf16.h>

// Dynamic shared memory of a kernel; the host emulation (kernels/emu/) points it at its own block buffer.
#ifndef AUGMENT_DYNAMIC_SHARED
#define AUGMENT_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

namespace compress {
namespace {

constexpr int kBlurTileW = 32;
constexpr int kBlurTileH = 8;

// ---------------------------------------------------------------- antialiased resize weights (Resize.weights)

struct AaTaps {
    int start;
    int count;
    double center;
    double invscale;
    double total;
};

__device__ __forceinline__ double aa_tap(const AaTaps& t, int j) {
    double d = fabs(__dmul_rn(__dadd_rn(__dsub_rn((double)(j + t.start), t.center), 0.5), t.invscale));
    return d < 1.0 ? __dsub_rn(1.0, d) : 0.0;
}

__device__ AaTaps aa_taps(int in, int out, int i) {
    double scale = __ddiv_rn((double)in, (double)out);
    double support = scale >= 1.0 ? scale : 1.0;
    double invscale = scale >= 1.0 ? __ddiv_rn(1.0, scale) : 1.0;
    double center = __dmul_rn(scale, __dadd_rn((double)i, 0.5));
    int lo = max((int)__dadd_rn(__dsub_rn(center, support), 0.5), 0);    // (int) truncates, like Java's cast
    int hi = min((int)__dadd_rn(__dadd_rn(center, support), 0.5), in);
    AaTaps t{lo, hi - lo, center, invscale, 0.0};
    double total = 0.0;
    for (int j = 0; j < t.count; ++j) total = __dadd_rn(total, aa_tap(t, j));
    t.total = total;
    return t;
}

__device__ __forceinline__ double aa_weight(const AaTaps& t, int j) {
    double v = aa_tap(t, j);
    return t.total != 0.0 ? __ddiv_rn(v, t.total) : v;
}

// ---------------------------------------------------------------- colour ops (ColorOps, float32)

__device__ __forceinline__ float clamp01(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }

__device__ __forceinline__ float gray_of(float r, float g, float b) {
    return __fadd_rn(__fadd_rn(__fmul_rn(0.2989f, r), __fmul_rn(0.587f, g)), __fmul_rn(0.114f, b));
}

// clamp(r a + (1 - r) b) with r = (float) f and 1 - r = (float) (1.0 - f), as ColorOps computes them.
__device__ __forceinline__ float blend(float a, float b, double f) {
    float r = (float)f, r2 = (float)(1.0 - f);
    return clamp01(__fadd_rn(__fmul_rn(r, a), __fmul_rn(r2, b)));
}

__device__ __forceinline__ float floor_mod1(float x) {
    float m = fmodf(x, 1.0f);
    return m < 0.f ? __fadd_rn(m, 1.0f) : m;
}

__device__ void adjust_hue(float& r, float& g, float& b, double factor) {
    float hf = (float)factor;
    float maxc = fmaxf(r, fmaxf(g, b)), minc = fminf(r, fminf(g, b));
    bool eqc = maxc == minc;
    float cr = __fsub_rn(maxc, minc);
    float sat = __fdiv_rn(cr, eqc ? 1.f : maxc);
    float cr_div = eqc ? 1.f : cr;
    float rc = __fdiv_rn(__fsub_rn(maxc, r), cr_div);
    float gc = __fdiv_rn(__fsub_rn(maxc, g), cr_div);
    float bc = __fdiv_rn(__fsub_rn(maxc, b), cr_div);
    float hr = maxc == r ? __fsub_rn(bc, gc) : 0.f;
    float hg = (maxc == g && maxc != r) ? __fsub_rn(__fadd_rn(2.0f, rc), bc) : 0.f;
    float hb = (maxc != g && maxc != r) ? __fsub_rn(__fadd_rn(4.0f, gc), rc) : 0.f;
    float h = __fadd_rn(__fadd_rn(hr, hg), hb);
    h = fmodf(__fadd_rn(__fdiv_rn(h, 6.0f), 1.0f), 1.0f);
    h = floor_mod1(__fadd_rn(h, hf));
    float h6 = __fmul_rn(h, 6.0f);
    float fi = floorf(h6);
    float f = __fsub_rn(h6, fi);
    int sector = ((int)fi % 6 + 6) % 6;
    float v = maxc;
    float p = clamp01(__fmul_rn(v, __fsub_rn(1.0f, sat)));
    float q = clamp01(__fmul_rn(v, __fsub_rn(1.0f, __fmul_rn(sat, f))));
    float t = clamp01(__fmul_rn(v, __fsub_rn(1.0f, __fmul_rn(sat, __fsub_rn(1.0f, f)))));
    switch (sector) {
        case 0: r = v; g = t; b = p; break;
        case 1: r = q; g = v; b = p; break;
        case 2: r = p; g = v; b = t; break;
        case 3: r = p; g = q; b = v; break;
        case 4: r = t; g = p; b = v; break;
        default: r = v; g = p; b = q; break;
    }
}

// Position of contrast among the job's ops, or op_count when it has none: ops before it need no image statistic.
__device__ __forceinline__ int contrast_position(const AugmentJob& job) {
    for (int k = 0; k < job.op_count; ++k) if (job.ops[k] == kAugContrast) return k;
    return job.op_count;
}

// ops[from, to) of the job; `mean` is the contrast mean (used only when contrast is among them).
__device__ void apply_ops(const AugmentJob& job, int from, int to, float mean, float& r, float& g, float& b) {
    for (int k = from; k < to; ++k) {
        int op = job.ops[k];
        double f = job.factors[op];
        switch (op) {
            case kAugBrightness: r = blend(r, 0.f, f); g = blend(g, 0.f, f); b = blend(b, 0.f, f); break;
            case kAugContrast: r = blend(r, mean, f); g = blend(g, mean, f); b = blend(b, mean, f); break;
            case kAugSaturation: {
                float gr = gray_of(r, g, b);
                r = blend(r, gr, f); g = blend(g, gr, f); b = blend(b, gr, f);
                break;
            }
            default: adjust_hue(r, g, b, f); break;
        }
    }
}

__device__ __forceinline__ void store(void* out, int bf16, int64_t i, float v) {
    if (bf16) reinterpret_cast<__nv_bfloat16*>(out)[i] = __float2bfloat16_rn(v);
    else reinterpret_cast<float*>(out)[i] = v;
}

// Grayscale (if asked), Normalize, store channel planes of output slot `out_index` at pixel idx.
__device__ __forceinline__ void finish_pixel(const AugmentJob& job, const AugmentNormalize& norm, void* out, int bf16,
                                             int plane, int idx, float r, float g, float b) {
    if (job.gray) r = g = b = gray_of(r, g, b);
    int64_t base = (int64_t)job.out_index * 3 * plane + idx;
    store(out, bf16, base, __fdiv_rn(__fsub_rn(r, norm.mean[0]), norm.std[0]));
    store(out, bf16, base + plane, __fdiv_rn(__fsub_rn(g, norm.mean[1]), norm.std[1]));
    store(out, bf16, base + 2 * (int64_t)plane, __fdiv_rn(__fsub_rn(b, norm.mean[2]), norm.std[2]));
}

// Sum over the block in a fixed order (butterfly within warps, then warps in order): deterministic.
__device__ double block_sum(double v) {
    __shared__ double warp_sums[kAugmentThreads / 32];
    for (int o = 16; o > 0; o >>= 1) v = __dadd_rn(v, __shfl_xor_sync(0xffffffffu, v, o));
    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = v;
    __syncthreads();
    double total = 0.0;
    #pragma unroll
    for (int w = 0; w < kAugmentThreads / 32; ++w) total = __dadd_rn(total, warp_sums[w]);
    __syncthreads();
    return total;
}

// ---------------------------------------------------------------- passes

// Width pass: crop rows x out_w columns of the window, uint8 HWC -> float CHW / 255 in the job's scratch region.
__global__ void __launch_bounds__(kAugmentThreads) width_pass(const AugmentJob* __restrict__ jobs, int out_w,
                                                              float* __restrict__ scratch) {
    const AugmentJob& job = jobs[blockIdx.y];
    int rows = job.crop_h;
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= rows * out_w) return;
    int y = idx / out_w, ox = idx - y * out_w;
    int column = job.win_left + (job.flip ? out_w - 1 - ox : ox);
    AaTaps t = aa_taps(job.crop_w, job.resize_w, column);
    const uint8_t* p = reinterpret_cast<const uint8_t*>(job.src) + (int64_t)(job.crop_top + y) * job.src_pitch
                       + (int64_t)(job.crop_left + t.start) * 3;
    double r = 0.0, g = 0.0, b = 0.0;
    for (int j = 0; j < t.count; ++j, p += 3) {
        double w = aa_weight(t, j);
        r = __dadd_rn(r, __dmul_rn(w, (double)p[0]));
        g = __dadd_rn(g, __dmul_rn(w, (double)p[1]));
        b = __dadd_rn(b, __dmul_rn(w, (double)p[2]));
    }
    float* tmp = scratch + job.tmp_offset;
    int tplane = rows * out_w;
    tmp[idx] = (float)__ddiv_rn(r, 255.0);
    tmp[tplane + idx] = (float)__ddiv_rn(g, 255.0);
    tmp[2 * tplane + idx] = (float)__ddiv_rn(b, 255.0);
}

// Height pass and the colour ops before contrast. Jobs with neither contrast nor blur finish here (grayscale,
// Normalize, store); the others leave [0, 1] floats in `stage` and, with contrast, one partial gray sum per block.
__global__ void __launch_bounds__(kAugmentThreads) height_pass(const AugmentJob* __restrict__ jobs, int out_h, int out_w,
                                                               const float* __restrict__ scratch, float* stage, void* out,
                                                               int bf16, AugmentNormalize norm, double* __restrict__ partials) {
    const AugmentJob& job = jobs[blockIdx.y];
    const int plane = out_h * out_w;
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    const bool live = idx < plane;
    const int contrast_at = contrast_position(job);
    const bool has_contrast = contrast_at < job.op_count;
    float rgb[3] = {0.f, 0.f, 0.f};
    if (live) {
        int oy = idx / out_w, ox = idx - oy * out_w;
        AaTaps t = aa_taps(job.crop_h, job.resize_h, job.win_top + oy);
        const float* tmp = scratch + job.tmp_offset;
        int tplane = job.crop_h * out_w;
        #pragma unroll
        for (int c = 0; c < 3; ++c) {
            const float* col = tmp + (int64_t)c * tplane + (int64_t)t.start * out_w + ox;
            double acc = 0.0;
            for (int j = 0; j < t.count; ++j) acc = __dadd_rn(acc, __dmul_rn(aa_weight(t, j), (double)col[(int64_t)j * out_w]));
            rgb[c] = (float)acc;
        }
        apply_ops(job, 0, contrast_at, 0.f, rgb[0], rgb[1], rgb[2]);
        if (!has_contrast && job.blur_size == 0) {
            finish_pixel(job, norm, out, bf16, plane, idx, rgb[0], rgb[1], rgb[2]);
        } else {
            int64_t base = (int64_t)job.out_index * 3 * plane + idx;
            stage[base] = rgb[0];
            stage[base + plane] = rgb[1];
            stage[base + 2 * (int64_t)plane] = rgb[2];
        }
    }
    if (has_contrast) {   // uniform across the block: every thread reaches the barriers
        double s = block_sum(live ? (double)gray_of(rgb[0], rgb[1], rgb[2]) : 0.0);
        if (threadIdx.x == 0) partials[(int64_t)blockIdx.y * gridDim.x + blockIdx.x] = s;
    }
}

// The ops from contrast on (contrast's mean from the height pass's partial sums), then grayscale; Normalize and
// store, or, for blur jobs, [0, 1] floats into the job's scratch region (free since the height pass).
__global__ void __launch_bounds__(kAugmentThreads) finish_pass(const AugmentJob* __restrict__ jobs,
                                                               const int* __restrict__ finish_jobs, int out_h, int out_w,
                                                               const float* stage, float* scratch, void* out, int bf16,
                                                               AugmentNormalize norm, const double* __restrict__ partials) {
    const int j = finish_jobs[blockIdx.y];
    const AugmentJob& job = jobs[j];
    const int plane = out_h * out_w;
    const int contrast_at = contrast_position(job);
    float mean = 0.f;
    if (contrast_at < job.op_count) {
        const double* mine = partials + (int64_t)j * gridDim.x;   // the height pass ran gridDim.x blocks per job too
        double s = 0.0;
        for (int k = threadIdx.x; k < (int)gridDim.x; k += blockDim.x) s = __dadd_rn(s, mine[k]);
        mean = (float)__ddiv_rn(block_sum(s), (double)plane);
    }
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= plane) return;
    int64_t base = (int64_t)job.out_index * 3 * plane + idx;
    float r = stage[base], g = stage[base + plane], b = stage[base + 2 * (int64_t)plane];
    apply_ops(job, contrast_at, job.op_count, mean, r, g, b);
    if (job.blur_size == 0) {
        finish_pixel(job, norm, out, bf16, plane, idx, r, g, b);
        return;
    }
    if (job.gray) r = g = b = gray_of(r, g, b);
    float* blur_in = scratch + job.tmp_offset;
    blur_in[idx] = r;
    blur_in[plane + idx] = g;
    blur_in[2 * (int64_t)plane + idx] = b;
}

__device__ __forceinline__ int reflect_index(int i, int n) {
    if (n == 1) return 0;
    int period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

// Separable Gaussian blur of one channel of one job, one 32 x 8 output tile per block: the tile plus its
// reflected halo is loaded once, the horizontal sums (double, like GaussianBlur's tmp) kept in shared memory.
__global__ void blur_pass(const AugmentJob* __restrict__ jobs, const int* __restrict__ blur_jobs,
                          const double* __restrict__ blur_taps, int out_h, int out_w, const float* __restrict__ scratch,
                          void* out, int bf16, AugmentNormalize norm) {
    AUGMENT_DYNAMIC_SHARED(double, blur_smem);
    const int jb = blockIdx.z / 3, c = blockIdx.z - 3 * jb;
    const AugmentJob& job = jobs[blur_jobs[jb]];
    const int size = job.blur_size, pad = size / 2;
    const int rows = kBlurTileH + 2 * pad, cols = kBlurTileW + 2 * pad;
    double* hsum = blur_smem;                                            // rows x kBlurTileW
    float* tile = reinterpret_cast<float*>(blur_smem + rows * kBlurTileW);   // rows x cols
    const double* k = blur_taps + job.blur_offset;
    const int plane = out_h * out_w;
    const float* src = scratch + job.tmp_offset + (int64_t)c * plane;
    const int x0 = blockIdx.x * kBlurTileW, y0 = blockIdx.y * kBlurTileH;
    const int tid = threadIdx.y * kBlurTileW + threadIdx.x, nthreads = kBlurTileW * kBlurTileH;
    for (int i = tid; i < rows * cols; i += nthreads) {
        int r = i / cols, cc = i - r * cols;
        tile[i] = src[reflect_index(y0 - pad + r, out_h) * out_w + reflect_index(x0 - pad + cc, out_w)];
    }
    __syncthreads();
    // The image here is already mirrored; reading the taps' pixels right to left sums the same terms in the
    // CPU's order (the kernel and the reflect padding are symmetric).
    const bool mirrored = job.flip != 0;
    for (int i = tid; i < rows * kBlurTileW; i += nthreads) {
        int r = i / kBlurTileW, cx = i - r * kBlurTileW;
        const float* row = tile + r * cols + cx;
        double acc = 0.0;
        for (int j = 0; j < size; ++j) acc = __dadd_rn(acc, __dmul_rn(k[j], (double)row[mirrored ? size - 1 - j : j]));
        hsum[i] = acc;
    }
    __syncthreads();
    const int x = x0 + threadIdx.x, y = y0 + threadIdx.y;
    if (x >= out_w || y >= out_h) return;
    double acc = 0.0;
    for (int j = 0; j < size; ++j) acc = __dadd_rn(acc, __dmul_rn(k[j], hsum[(threadIdx.y + j) * kBlurTileW + threadIdx.x]));
    int64_t o = ((int64_t)job.out_index * 3 + c) * plane + (int64_t)y * out_w + x;
    store(out, bf16, o, __fdiv_rn(__fsub_rn((float)acc, norm.mean[c]), norm.std[c]));
}

}  // namespace

// The launch shapes of every pass, shared by augment_batch (launch = <<<grid, block, smem, stream>>>) and the
// host emulation (launch = run the blocks on CPU threads).
template <class Launch>
void launch_augment_passes(Launch&& launch, const AugmentJob* jobs, int job_count, int max_crop_h, int out_h, int out_w,
                           const int* finish_jobs, int finish_count, const int* blur_jobs, int blur_count,
                           int max_blur_size, const double* blur_taps, AugmentNormalize norm, int out_bf16, float* stage,
                           void* out, float* scratch, double* partials) {
    if (job_count == 0) return;
    const int per_job = augment_blocks_per_job(out_h, out_w);
    const int64_t width_threads = (int64_t)max_crop_h * out_w;
    launch(width_pass, dim3((unsigned)((width_threads + kAugmentThreads - 1) / kAugmentThreads), (unsigned)job_count),
           dim3(kAugmentThreads), 0, jobs, out_w, scratch);
    launch(height_pass, dim3(per_job, job_count), dim3(kAugmentThreads), 0, jobs, out_h, out_w, (const float*)scratch, stage,
           out, out_bf16, norm, partials);
    if (finish_count > 0) {
        launch(finish_pass, dim3(per_job, finish_count), dim3(kAugmentThreads), 0, jobs, finish_jobs, out_h, out_w,
               (const float*)stage, scratch, out, out_bf16, norm, (const double*)partials);
    }
    if (blur_count > 0) {
        int pad = max_blur_size / 2;
        int rows = kBlurTileH + 2 * pad, cols = kBlurTileW + 2 * pad;
        size_t smem = (size_t)rows * kBlurTileW * sizeof(double) + (size_t)rows * cols * sizeof(float);
        launch(blur_pass, dim3((out_w + kBlurTileW - 1) / kBlurTileW, (out_h + kBlurTileH - 1) / kBlurTileH, 3 * blur_count),
               dim3(kBlurTileW, kBlurTileH), smem, jobs, blur_jobs, blur_taps, out_h, out_w, (const float*)scratch, out,
               out_bf16, norm);
    }
}

}  // namespace compress
