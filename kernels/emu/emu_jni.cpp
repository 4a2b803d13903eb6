// Test controls of libcompress_native_emu.so (the JNI library built by kernels/emu/Makefile from the unchanged
// kernels/ and engine-native/src/ with g++): host addresses of direct buffers, which host memory the kernels may
// touch, the device the launchers see, and the thread schedule. Bound to the test class
// org.compress.engine.backend.cuda.EmuHarness; the production library has none of these symbols.
#include <jni.h>
#include "emu_control.h"

#define EMU_JNI(ret, name) extern "C" JNIEXPORT ret JNICALL Java_org_compress_engine_backend_cuda_EmuHarness_##name

EMU_JNI(jlong, address)(JNIEnv* env, jclass, jobject direct_buffer) {
    return (jlong)(uintptr_t)env->GetDirectBufferAddress(direct_buffer);
}
EMU_JNI(void, registerHost)(JNIEnv*, jclass, jlong address, jlong bytes) {
    emu::register_host(reinterpret_cast<const void*>(static_cast<uintptr_t>(address)), (size_t)bytes);
}
EMU_JNI(void, unregisterHost)(JNIEnv*, jclass, jlong address) {
    emu::unregister_host(reinterpret_cast<const void*>(static_cast<uintptr_t>(address)));
}
EMU_JNI(void, setDevice)(JNIEnv*, jclass, jint sms, jint smem_optin) { emu::set_device(sms, smem_optin); }
EMU_JNI(void, setSchedule)(JNIEnv*, jclass, jint schedule, jlong seed) { emu::set_schedule(schedule, (uint64_t)seed); }
EMU_JNI(jlong, launches)(JNIEnv*, jclass) { return (jlong)emu::launches(); }
