// The GPU data path's augmentation: for every job (one view of one decoded uint8 RGB image) crop + antialiased
// bilinear resize + flip, ColorJitter ops in the sampled order, grayscale, Gaussian blur, Normalize, written as
// NCHW F32 or BF16. It reproduces the CPU transforms (data/transforms/*) operation for operation:
//   resize: separable, width pass first; out(i) = sum_j w_j(i) src(start_i + j), w_j = tri((j + start - c + 0.5)
//     * invscale) / total, c = scale (i + 0.5), support = max(scale, 1) (Resize.weights); accumulated in double,
//     the width pass rounded to float (then / 255), like Resize.resizeRegion;
//   colour: ColorOps' float32 formulas (blend = clamp(r a + (1 - r) b), HSV round trip for hue);
//   blur: GaussianBlur's separable double sums with reflect padding (taps come from the host, in double);
//   normalize: (x - mean) / std in float.
// Every multiply-add is written with _rn intrinsics so nvcc cannot fuse it: Java rounds each operation, and so
// must we for the results to agree to the last bits (only the contrast mean's double sum runs in another order).
// Launch shapes: width pass (ceil(max_crop_h * out_w / 256), jobs) x 256; height and finish passes
// (ceil(out_h * out_w / 256), jobs) x 256, one output pixel (3 channels) per thread; blur (ceil(out_w / 32),
// ceil(out_h / 8), 3 * blur jobs) x (32, 8) with the tile and its halo in shared memory.
// The flip is applied in the width pass (column i is computed where the CPU computes it and stored mirrored),
// so every later pass works in output orientation; the blur reads its taps mirrored to keep the CPU's sum order.
#include "augment_device.cuh"
#include "launch.cuh"

namespace compress {

cudaError_t augment_batch(const AugmentJob* jobs, int job_count, int max_crop_h, int out_h, int out_w,
                          const int* finish_jobs, int finish_count, const int* blur_jobs, int blur_count,
                          int max_blur_size, const double* blur_taps, AugmentNormalize norm, int out_bf16, float* stage,
                          void* out, float* scratch, double* partials, cudaStream_t stream) {
    auto launch = [stream](auto kernel, dim3 grid, dim3 block, size_t smem, auto... args) {
        COMPRESS_LAUNCH(kernel, grid, block, smem, stream)(args...);
    };
    launch_augment_passes(launch, jobs, job_count, max_crop_h, out_h, out_w, finish_jobs, finish_count, blur_jobs, blur_count,
                          max_blur_size, blur_taps, norm, out_bf16, stage, out, scratch, partials);
    return cudaGetLastError();
}

}  // namespace compress
