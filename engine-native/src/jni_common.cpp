// Thread-local error location and the library's identity (the CUDA runtime it was compiled against).
#include "jni_common.h"
#include <cstring>

namespace {
thread_local char g_where[512] = "";
}

void compress_jni::set_where(const char* file, int line, const char* what) {
    const char* base = std::strrchr(file, '/');
    std::snprintf(g_where, sizeof g_where, "%s:%d (%s)", base ? base + 1 : file, line, what);
}

COMPRESS_JNI(jstring, lastErrorWhere)(JNIEnv* env, jclass) { return env->NewStringUTF(g_where); }

COMPRESS_JNI(jint, compiledRuntimeVersion)(JNIEnv*, jclass) { return CUDART_VERSION; }
