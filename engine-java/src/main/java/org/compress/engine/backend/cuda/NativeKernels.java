// JNI declarations of libcompress_native.so (engine-native/src/jni_*.cpp). Device pointers and streams cross
// as long; every method returns a cudaError_t that callers pass to Native.check(KERNEL, ...).
// Load the library (NativeLibrary.load) before calling any of these.
package org.compress.engine.backend.cuda;

public final class NativeKernels {
    private NativeKernels() {}

    /** file:line and expression of the last failure seen by this thread in native code. */
    public static native String lastErrorWhere();

    /** CUDART_VERSION the library was compiled against (e.g. 13000). */
    public static native int compiledRuntimeVersion();

    public static native int fillF32(long x, long n, float value, long stream);

    public static native int fillU16(long x, long n, short bits, long stream);

    /** kind: 0 = F32->BF16, 1 = BF16->F32, 2 = F32->F16, 3 = F16->F32. */
    public static native int cast(int kind, long src, long dst, long n, long stream);

    public static native int scaleF32(long x, long n, float alpha, long stream);

    public static native int axpyF32(long n, float alpha, long x, long y, long stream);

    public static native int l2NormalizeRowsF32(long x, long y, long norms, int rows, int cols, float eps, long stream);

    public static native int l2NormalizeRowsBackwardF32(long y, long norms, long dy, long dx, int rows, int cols, long stream);

    /** out[i] = table[idx[i]] (rows of d floats), idx: b device int32 indices into the n-row table. */
    public static native int gatherRowsF32(long table, int n, int d, long idx, int b, long out, long stream);
}
