// JNI declarations of the layer and training kernels in libcompress_native.so (engine-native/src/jni_nn.cpp,
// kernels/nn_kernels.cuh). Device pointers and streams cross as long; every method returns a cudaError_t
// for Native.check(KERNEL, ...). Activation codes are org.compress.engine.ops.Activation ordinals.
package org.compress.engine.backend.cuda;

final class NnKernels {
    private NnKernels() {}

    static native int activationForwardF32(long x, long y, long n, int act, long stream);

    static native int addActivationForwardF32(long a, long b, long y, long n, int act, long stream);

    static native int activationBackwardF32(long y, long dy, long dx, long n, int act, long stream);

    static native int dropoutForwardF32(long x, long y, long mask, long n, float p, long seed, long stream);

    static native int dropoutBackwardF32(long dy, long mask, long dx, long n, float p, long stream);

    static native int adaptiveAvgPoolForwardF32(long x, long y, int n, int c, int h, int w, int oh, int ow, boolean channelsLast,
                                                long stream);

    static native int adaptiveAvgPoolBackwardF32(long dy, long dx, int n, int c, int h, int w, int oh, int ow, boolean channelsLast,
                                                 long stream);

    static native int sgdMultiTensorF32(long ptrs, int tensors, long numel, long weightDecay, long blockTensor, long blockStart,
                                        int blocks, float lr, float momentum, float dampening, boolean nesterov, boolean firstStep,
                                        long stream);

    static native int emaMultiTensorF32(long ptrs, int tensors, long numel, long blockTensor, long blockStart, int blocks, float m,
                                        float oneMinusM, long stream);

    static native int incrementI64(long counter, long stream);

    // bf16 storage (kernels/activation.cu, adaptive_pool.cu, mixed_precision.cu): computed in fp32, rounded once.

    static native int activationForwardBf16(long x, long y, long n, int act, long stream);

    static native int addActivationForwardBf16(long a, long b, long y, long n, int act, long stream);

    static native int activationBackwardBf16(long y, long dy, long dx, long n, int act, long stream);

    static native int adaptiveAvgPoolForwardBf16(long x, long y, int n, int c, int h, int w, int oh, int ow, boolean channelsLast,
                                                 long stream);

    static native int adaptiveAvgPoolBackwardBf16(long dy, long dx, int n, int c, int h, int w, int oh, int ow, boolean channelsLast,
                                                  long stream);

    /** flags: 1 source BF16, 2 target BF16, 4 source NHWC, 8 target NHWC (kConvert* in nn_kernels.cuh). */
    static native int convertTensor(long src, long dst, long n, long c, long hw, int flags, long stream);

    /** meta: (C, HW, flags) per tensor, I64; the rest as sgdMultiTensorF32's table. */
    static native int convertMultiTensor(long ptrs, int tensors, long numel, long meta, long blockTensor, long blockStart, int blocks,
                                         long stream);

    static native int axpyBf16(long n, float alpha, long x, long y, long stream);
}
