// Host launcher and job layout of kernels/augment.cu: the GPU data path's crop + antialiased resize + flip +
// ColorJitter + grayscale + Gaussian blur + Normalize on decoded uint8 RGB. AugmentJob is mirrored byte for
// byte by org.compress.engine.data.gpu.AugmentJobs (Java writes the jobs into a pinned buffer and copies them up).
#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>

namespace compress {

// Colour ops in ColorJitter's numbering (ColorJitter.Params.order): the kernel applies ops[0..op_count) in order.
enum AugmentOp : int32_t { kAugBrightness = 0, kAugContrast = 1, kAugSaturation = 2, kAugHue = 3 };

// One output view of one sample (128 bytes). The source is decoded uint8 RGB, interleaved, rows src_pitch
// bytes apart. Region (crop_top, crop_left, crop_h, crop_w) of the source is resized to resize_h x resize_w,
// and the out_h x out_w window at (win_top, win_left) of that is the output (RandomResizedCrop: the whole
// resized image; eval: the centre crop of the shorter-side resize).
struct AugmentJob {
    uint64_t src;           //   0: device address of the decoded image's first byte
    int64_t tmp_offset;     //   8: floats into `scratch` of this job's private region (width pass, then blur input)
    int32_t src_pitch;      //  16: bytes per source row
    int32_t out_index;      //  20: sample slot in the output, N x 3 x out_h x out_w
    int32_t crop_top;       //  24
    int32_t crop_left;      //  28
    int32_t crop_h;         //  32
    int32_t crop_w;         //  36
    int32_t resize_h;       //  40
    int32_t resize_w;       //  44
    int32_t win_top;        //  48
    int32_t win_left;       //  52
    int32_t flip;           //  56: 1 = mirror the columns (RandomHorizontalFlip fired)
    int32_t gray;           //  60: 1 = rgb_to_grayscale with 3 output channels, after the colour ops
    int32_t op_count;       //  64: colour ops to apply (0..4)
    int32_t ops[4];         //  68: AugmentOp values, in application order
    int32_t blur_size;      //  84: 0 = no blur, else the odd kernel size
    int32_t blur_offset;    //  88: index of this job's taps in `blur_taps`
    int32_t reserved;       //  92
    double factors[4];      //  96: factor per AugmentOp (indexed by op, not by position), as sampled (double)
};
static_assert(sizeof(AugmentJob) == 128, "AugmentJob must match AugmentJobs.java (128 bytes)");

struct AugmentNormalize {
    float mean[3];
    float std[3];
};

constexpr int kAugmentThreads = 256;   // threads per block of the width, height and finish passes
constexpr int kAugmentMaxBlur = 63;    // largest blur kernel (shared-memory tile bound)

// Blocks per job of the height pass = contrast partial sums per job.
inline int augment_blocks_per_job(int out_h, int out_w) {
    return (out_h * out_w + kAugmentThreads - 1) / kAugmentThreads;
}

// Runs the whole batch on `stream`: width pass (every job), height pass + colour ops up to contrast (every job;
// jobs without contrast or blur finish here), finish pass (the `finish_jobs` list: jobs with contrast or blur),
// blur pass (the `blur_jobs` list; max_blur_size, their largest kernel, sizes the shared-memory tile).
// `out` is F32 or BF16 (out_bf16); `stage` is float N x 3 x out_h x out_w and may alias `out` when it is F32.
// `partials` holds job_count * augment_blocks_per_job doubles. Never synchronises.
cudaError_t augment_batch(const AugmentJob* jobs, int job_count, int max_crop_h, int out_h, int out_w,
                          const int* finish_jobs, int finish_count, const int* blur_jobs, int blur_count,
                          int max_blur_size, const double* blur_taps, AugmentNormalize norm, int out_bf16, float* stage, void* out,
                          float* scratch, double* partials, cudaStream_t stream);

}  // namespace compress
