// Shared JNI plumbing: every entry point returns a cudaError_t as jint; on failure it records file:line
// in a thread-local that Java reads (NativeKernels.lastErrorWhere) when it builds the exception.
#pragma once
#include <jni.h>
#include <cstdint>
#include <cstdio>
#include <cuda_runtime_api.h>

namespace compress_jni {
void set_where(const char* file, int line, const char* what);
}

#define COMPRESS_JNI(ret, name) \
    extern "C" JNIEXPORT ret JNICALL Java_org_compress_engine_backend_cuda_NativeKernels_##name

// Entry points of org.compress.engine.backend.cuda.LossKernels (jni_loss.cpp).
#define COMPRESS_LOSS_JNI(ret, name) \
    extern "C" JNIEXPORT ret JNICALL Java_org_compress_engine_backend_cuda_LossKernels_##name

// Returns from the JNI function with the status when `expr` is not cudaSuccess.
#define RETURN_IF_ERROR(expr)                                                    \
    do {                                                                         \
        cudaError_t status_ = (expr);                                            \
        if (status_ != cudaSuccess) {                                            \
            compress_jni::set_where(__FILE__, __LINE__, #expr);                  \
            return (jint)status_;                                                \
        }                                                                        \
    } while (0)

// Bad arguments that Java should have caught: reported as cudaErrorInvalidValue with the condition's text.
#define REQUIRE(cond)                                                            \
    do {                                                                         \
        if (!(cond)) {                                                           \
            compress_jni::set_where(__FILE__, __LINE__, "argument check failed: " #cond); \
            return (jint)cudaErrorInvalidValue;                                  \
        }                                                                        \
    } while (0)

template <typename T>
inline T* dev(jlong p) { return reinterpret_cast<T*>(static_cast<uintptr_t>(p)); }

inline cudaStream_t stream_of(jlong s) { return reinterpret_cast<cudaStream_t>(static_cast<uintptr_t>(s)); }
