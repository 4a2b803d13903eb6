// JNI entry points for kernels/elementwise.cu and kernels/normalize.cu: check, launch, map the status.
#include "jni_common.h"
#include "compress_kernels.cuh"

using namespace compress;

COMPRESS_JNI(jint, fillF32)(JNIEnv*, jclass, jlong x, jlong n, jfloat value, jlong stream) {
    REQUIRE(x != 0 && n >= 0);
    RETURN_IF_ERROR(fill_f32(dev<float>(x), n, value, stream_of(stream)));
    return 0;
}

COMPRESS_JNI(jint, fillU16)(JNIEnv*, jclass, jlong x, jlong n, jshort bits, jlong stream) {
    REQUIRE(x != 0 && n >= 0);
    RETURN_IF_ERROR(fill_u16(dev<uint16_t>(x), n, (uint16_t)bits, stream_of(stream)));
    return 0;
}

// kind: 0 = F32->BF16, 1 = BF16->F32, 2 = F32->F16, 3 = F16->F32
COMPRESS_JNI(jint, cast)(JNIEnv*, jclass, jint kind, jlong src, jlong dst, jlong n, jlong stream) {
    REQUIRE(src != 0 && dst != 0 && n >= 0 && kind >= 0 && kind <= 3);
    cudaStream_t s = stream_of(stream);
    switch (kind) {
        case 0: RETURN_IF_ERROR(cast_f32_to_bf16(dev<const float>(src), dev<uint16_t>(dst), n, s)); break;
        case 1: RETURN_IF_ERROR(cast_bf16_to_f32(dev<const uint16_t>(src), dev<float>(dst), n, s)); break;
        case 2: RETURN_IF_ERROR(cast_f32_to_f16(dev<const float>(src), dev<uint16_t>(dst), n, s)); break;
        default: RETURN_IF_ERROR(cast_f16_to_f32(dev<const uint16_t>(src), dev<float>(dst), n, s)); break;
    }
    return 0;
}

COMPRESS_JNI(jint, scaleF32)(JNIEnv*, jclass, jlong x, jlong n, jfloat alpha, jlong stream) {
    REQUIRE(x != 0 && n >= 0);
    RETURN_IF_ERROR(scale_f32(dev<float>(x), n, alpha, stream_of(stream)));
    return 0;
}

COMPRESS_JNI(jint, axpyF32)(JNIEnv*, jclass, jlong n, jfloat alpha, jlong x, jlong y, jlong stream) {
    REQUIRE(x != 0 && y != 0 && n >= 0);
    RETURN_IF_ERROR(axpy_f32(n, alpha, dev<const float>(x), dev<float>(y), stream_of(stream)));
    return 0;
}

COMPRESS_JNI(jint, l2NormalizeRowsF32)(JNIEnv*, jclass, jlong x, jlong y, jlong norms, jint rows, jint cols,
                                       jfloat eps, jlong stream) {
    REQUIRE(x != 0 && y != 0 && norms != 0 && rows >= 0 && cols > 0);
    RETURN_IF_ERROR(l2_normalize_rows_f32(dev<const float>(x), dev<float>(y), dev<float>(norms), rows, cols, eps,
                                          stream_of(stream)));
    return 0;
}

COMPRESS_JNI(jint, l2NormalizeRowsBackwardF32)(JNIEnv*, jclass, jlong y, jlong norms, jlong dy, jlong dx, jint rows,
                                               jint cols, jlong stream) {
    REQUIRE(y != 0 && norms != 0 && dy != 0 && dx != 0 && rows >= 0 && cols > 0);
    RETURN_IF_ERROR(l2_normalize_rows_backward_f32(dev<const float>(y), dev<const float>(norms), dev<const float>(dy),
                                                   dev<float>(dx), rows, cols, stream_of(stream)));
    return 0;
}

COMPRESS_JNI(jint, gatherRowsF32)(JNIEnv*, jclass, jlong table, jint n, jint d, jlong idx, jint b, jlong out, jlong stream) {
    REQUIRE(table != 0 && idx != 0 && out != 0 && n > 0 && d > 0 && b >= 0);
    RETURN_IF_ERROR(gather_rows_f32(dev<const float>(table), n, d, dev<const int32_t>(idx), b, dev<float>(out), stream_of(stream)));
    return 0;
}
