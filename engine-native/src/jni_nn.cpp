// JNI entry points for the layer and training kernels (kernels/nn_kernels.cuh), declared in
// org.compress.engine.backend.cuda.NnKernels: check arguments, launch, map the status. (bf16 buffers are raw
// 16-bit patterns here.)
#include "jni_common.h"
#include "nn_kernels.cuh"

using namespace compress;

#define COMPRESS_NN_JNI(ret, name) \
    extern "C" JNIEXPORT ret JNICALL Java_org_compress_engine_backend_cuda_NnKernels_##name

COMPRESS_NN_JNI(jint, activationForwardF32)(JNIEnv*, jclass, jlong x, jlong y, jlong n, jint act, jlong stream) {
    REQUIRE(x != 0 && y != 0 && n >= 0 && act >= 0 && act <= 2);
    RETURN_IF_ERROR(activation_forward_f32(dev<const float>(x), dev<float>(y), n, act, stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, addActivationForwardF32)(JNIEnv*, jclass, jlong a, jlong b, jlong y, jlong n, jint act, jlong stream) {
    REQUIRE(a != 0 && b != 0 && y != 0 && n >= 0 && act >= 0 && act <= 2);
    RETURN_IF_ERROR(add_activation_forward_f32(dev<const float>(a), dev<const float>(b), dev<float>(y), n, act,
                                               stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, activationBackwardF32)(JNIEnv*, jclass, jlong y, jlong dy, jlong dx, jlong n, jint act, jlong stream) {
    REQUIRE(y != 0 && dy != 0 && dx != 0 && n >= 0 && act >= 0 && act <= 2);
    RETURN_IF_ERROR(activation_backward_f32(dev<const float>(y), dev<const float>(dy), dev<float>(dx), n, act,
                                            stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, dropoutForwardF32)(JNIEnv*, jclass, jlong x, jlong y, jlong mask, jlong n, jfloat p, jlong seed,
                                         jlong stream) {
    REQUIRE(x != 0 && y != 0 && mask != 0 && n >= 0 && p >= 0.f && p < 1.f);
    RETURN_IF_ERROR(dropout_forward_f32(dev<const float>(x), dev<float>(y), dev<uint8_t>(mask), n, p, (uint64_t)seed,
                                        stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, dropoutBackwardF32)(JNIEnv*, jclass, jlong dy, jlong mask, jlong dx, jlong n, jfloat p, jlong stream) {
    REQUIRE(dy != 0 && mask != 0 && dx != 0 && n >= 0 && p >= 0.f && p < 1.f);
    RETURN_IF_ERROR(dropout_backward_f32(dev<const float>(dy), dev<const uint8_t>(mask), dev<float>(dx), n, p,
                                         stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, adaptiveAvgPoolForwardF32)(JNIEnv*, jclass, jlong x, jlong y, jint n, jint c, jint h, jint w, jint oh,
                                                 jint ow, jboolean channelsLast, jlong stream) {
    REQUIRE(x != 0 && y != 0 && n >= 0 && c >= 0 && h > 0 && w > 0 && oh > 0 && ow > 0);
    RETURN_IF_ERROR(adaptive_avg_pool_forward_f32(dev<const float>(x), dev<float>(y), n, c, h, w, oh, ow, channelsLast,
                                                  stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, adaptiveAvgPoolBackwardF32)(JNIEnv*, jclass, jlong dy, jlong dx, jint n, jint c, jint h, jint w, jint oh,
                                                  jint ow, jboolean channelsLast, jlong stream) {
    REQUIRE(dy != 0 && dx != 0 && n >= 0 && c >= 0 && h > 0 && w > 0 && oh > 0 && ow > 0);
    RETURN_IF_ERROR(adaptive_avg_pool_backward_f32(dev<const float>(dy), dev<float>(dx), n, c, h, w, oh, ow, channelsLast,
                                                   stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, sgdMultiTensorF32)(JNIEnv*, jclass, jlong ptrs, jint tensors, jlong numel, jlong weightDecay,
                                         jlong blockTensor, jlong blockStart, jint blocks, jfloat lr, jfloat momentum,
                                         jfloat dampening, jboolean nesterov, jboolean firstStep, jlong stream) {
    REQUIRE(ptrs != 0 && numel != 0 && weightDecay != 0 && blockTensor != 0 && blockStart != 0 && tensors > 0 && blocks >= 0);
    RETURN_IF_ERROR(sgd_multi_tensor_f32(dev<const int64_t>(ptrs), tensors, dev<const int64_t>(numel),
                                         dev<const float>(weightDecay), dev<const int32_t>(blockTensor),
                                         dev<const int64_t>(blockStart), blocks, lr, momentum, dampening, nesterov,
                                         firstStep, stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, emaMultiTensorF32)(JNIEnv*, jclass, jlong ptrs, jint tensors, jlong numel, jlong blockTensor,
                                         jlong blockStart, jint blocks, jfloat m, jfloat oneMinusM, jlong stream) {
    REQUIRE(ptrs != 0 && numel != 0 && blockTensor != 0 && blockStart != 0 && tensors > 0 && blocks >= 0);
    RETURN_IF_ERROR(ema_multi_tensor_f32(dev<const int64_t>(ptrs), tensors, dev<const int64_t>(numel),
                                         dev<const int32_t>(blockTensor), dev<const int64_t>(blockStart), blocks, m,
                                         oneMinusM, stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, incrementI64)(JNIEnv*, jclass, jlong counter, jlong stream) {
    REQUIRE(counter != 0);
    RETURN_IF_ERROR(increment_i64(dev<int64_t>(counter), stream_of(stream)));
    return 0;
}

// ---- bf16 activations and pooling, dtype/layout conversion (mixed_precision.cu) ----

COMPRESS_NN_JNI(jint, activationForwardBf16)(JNIEnv*, jclass, jlong x, jlong y, jlong n, jint act, jlong stream) {
    REQUIRE(x != 0 && y != 0 && n >= 0 && act >= 0 && act <= 2);
    RETURN_IF_ERROR(activation_forward_bf16(dev<const uint16_t>(x), dev<uint16_t>(y), n, act, stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, addActivationForwardBf16)(JNIEnv*, jclass, jlong a, jlong b, jlong y, jlong n, jint act, jlong stream) {
    REQUIRE(a != 0 && b != 0 && y != 0 && n >= 0 && act >= 0 && act <= 2);
    RETURN_IF_ERROR(add_activation_forward_bf16(dev<const uint16_t>(a), dev<const uint16_t>(b), dev<uint16_t>(y), n, act,
                                                stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, activationBackwardBf16)(JNIEnv*, jclass, jlong y, jlong dy, jlong dx, jlong n, jint act, jlong stream) {
    REQUIRE(y != 0 && dy != 0 && dx != 0 && n >= 0 && act >= 0 && act <= 2);
    RETURN_IF_ERROR(activation_backward_bf16(dev<const uint16_t>(y), dev<const uint16_t>(dy), dev<uint16_t>(dx), n, act,
                                             stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, adaptiveAvgPoolForwardBf16)(JNIEnv*, jclass, jlong x, jlong y, jint n, jint c, jint h, jint w, jint oh,
                                                  jint ow, jboolean channelsLast, jlong stream) {
    REQUIRE(x != 0 && y != 0 && n >= 0 && c >= 0 && h > 0 && w > 0 && oh > 0 && ow > 0);
    RETURN_IF_ERROR(adaptive_avg_pool_forward_bf16(dev<const uint16_t>(x), dev<uint16_t>(y), n, c, h, w, oh, ow, channelsLast,
                                                   stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, adaptiveAvgPoolBackwardBf16)(JNIEnv*, jclass, jlong dy, jlong dx, jint n, jint c, jint h, jint w, jint oh,
                                                   jint ow, jboolean channelsLast, jlong stream) {
    REQUIRE(dy != 0 && dx != 0 && n >= 0 && c >= 0 && h > 0 && w > 0 && oh > 0 && ow > 0);
    RETURN_IF_ERROR(adaptive_avg_pool_backward_bf16(dev<const uint16_t>(dy), dev<uint16_t>(dx), n, c, h, w, oh, ow,
                                                    channelsLast, stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, convertTensor)(JNIEnv*, jclass, jlong src, jlong dst, jlong n, jlong c, jlong hw, jint flags,
                                     jlong stream) {
    REQUIRE(src != 0 && dst != 0 && n >= 0 && c > 0 && hw > 0 && flags >= 0 && flags < 16);
    RETURN_IF_ERROR(convert_tensor(dev<const void>(src), dev<void>(dst), n, c, hw, flags, stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, convertMultiTensor)(JNIEnv*, jclass, jlong ptrs, jint tensors, jlong numel, jlong meta,
                                          jlong blockTensor, jlong blockStart, jint blocks, jlong stream) {
    REQUIRE(ptrs != 0 && numel != 0 && meta != 0 && blockTensor != 0 && blockStart != 0 && tensors > 0 && blocks >= 0);
    RETURN_IF_ERROR(convert_multi_tensor(dev<const int64_t>(ptrs), tensors, dev<const int64_t>(numel),
                                         dev<const int64_t>(meta), dev<const int32_t>(blockTensor),
                                         dev<const int64_t>(blockStart), blocks, stream_of(stream)));
    return 0;
}

COMPRESS_NN_JNI(jint, axpyBf16)(JNIEnv*, jclass, jlong n, jfloat alpha, jlong x, jlong y, jlong stream) {
    REQUIRE(x != 0 && y != 0 && n >= 0);
    RETURN_IF_ERROR(axpy_bf16(n, alpha, dev<const uint16_t>(x), dev<uint16_t>(y), stream_of(stream)));
    return 0;
}
