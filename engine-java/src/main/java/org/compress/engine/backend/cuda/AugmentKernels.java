// JNI declarations of the GPU data path's augmentation kernels (kernels/augment.cu via engine-native/src/
// jni_augment.cpp). Device pointers and streams cross as long; an int result is a cudaError_t for
// Native.check(KERNEL, ...). The job layout is org.compress.engine.data.gpu.AugmentJobs. Nothing here synchronises.
package org.compress.engine.backend.cuda;

public final class AugmentKernels {
    private AugmentKernels() {}

    /** sizeof(AugmentJob) in the native library; AugmentJobs.JOB_BYTES must equal it. */
    public static native int jobBytes();

    /** The largest Gaussian blur kernel the blur pass accepts. */
    public static native int maxBlurSize();

    /** Bytes of the contrast partial sums for {@code jobCount} jobs of outH x outW (-1 for bad sizes). */
    public static native long partialsBytes(int jobCount, int outH, int outW);

    /**
     * Runs every pass for {@code jobCount} jobs (device array of AugmentJob). finishJobs / blurJobs are device int
     * lists of job indices (jobs with contrast or blur / jobs with blur), blurTaps the device doubles the jobs'
     * blur_offset index. out is F32 (outBf16 = 0) or BF16 [N, 3, outH, outW]; stage a float buffer of the same
     * element count (may be out itself when out is F32); scratch holds each job's region at its tmp_offset.
     */
    public static native int augmentBatch(long jobs, int jobCount, int maxCropH, int outH, int outW,
            long finishJobs, int finishCount, long blurJobs, int blurCount, int maxBlurSize, long blurTaps,
            float mean0, float mean1, float mean2, float std0, float std1, float std2,
            int outBf16, long stage, long out, long scratch, long partials, long stream);
}
