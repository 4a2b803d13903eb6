// JNI entry points for kernels/augment.cu (org.compress.engine.backend.cuda.AugmentKernels): check, launch, map
// the status. Device pointers and the stream arrive as jlong; nothing here synchronises.
#include "jni_common.h"
#include "augment_kernels.cuh"

using namespace compress;

#define COMPRESS_AUGMENT_JNI(ret, name) \
    extern "C" JNIEXPORT ret JNICALL Java_org_compress_engine_backend_cuda_AugmentKernels_##name

COMPRESS_AUGMENT_JNI(jint, jobBytes)(JNIEnv*, jclass) { return (jint)sizeof(AugmentJob); }

COMPRESS_AUGMENT_JNI(jint, maxBlurSize)(JNIEnv*, jclass) { return kAugmentMaxBlur; }

COMPRESS_AUGMENT_JNI(jlong, partialsBytes)(JNIEnv*, jclass, jint job_count, jint out_h, jint out_w) {
    if (job_count < 0 || out_h < 1 || out_w < 1) return -1;
    return (jlong)job_count * augment_blocks_per_job(out_h, out_w) * (jlong)sizeof(double);
}

COMPRESS_AUGMENT_JNI(jint, augmentBatch)(JNIEnv*, jclass, jlong jobs, jint job_count, jint max_crop_h, jint out_h,
                                         jint out_w, jlong finish_jobs, jint finish_count, jlong blur_jobs,
                                         jint blur_count, jint max_blur_size, jlong blur_taps, jfloat mean0,
                                         jfloat mean1, jfloat mean2, jfloat std0, jfloat std1, jfloat std2,
                                         jint out_bf16, jlong stage, jlong out, jlong scratch, jlong partials,
                                         jlong stream) {
    REQUIRE(job_count >= 0 && job_count <= 65535 && out_h >= 1 && out_w >= 1 && max_crop_h >= 0);
    REQUIRE(finish_count >= 0 && finish_count <= job_count && blur_count >= 0 && blur_count <= finish_count);
    REQUIRE(3LL * blur_count <= 65535 && (blur_count == 0 || (max_blur_size >= 1 && max_blur_size <= kAugmentMaxBlur)));
    REQUIRE(job_count == 0 || (jobs != 0 && out != 0 && stage != 0 && scratch != 0 && partials != 0));
    REQUIRE(finish_count == 0 || finish_jobs != 0);
    REQUIRE(blur_count == 0 || (blur_jobs != 0 && blur_taps != 0));
    REQUIRE(std0 > 0 && std1 > 0 && std2 > 0);
    AugmentNormalize norm{{mean0, mean1, mean2}, {std0, std1, std2}};
    RETURN_IF_ERROR(augment_batch(dev<const AugmentJob>(jobs), job_count, max_crop_h, out_h, out_w,
                                  dev<const int>(finish_jobs), finish_count, dev<const int>(blur_jobs), blur_count,
                                  max_blur_size, dev<const double>(blur_taps), norm, out_bf16 != 0, dev<float>(stage),
                                  dev<void>(out), dev<float>(scratch), dev<double>(partials), stream_of(stream)));
    return 0;
}
