// The emulated device for EmulatedKernelsTest: calls the JNI entry points of libcompress_native_emu.so (the
// unchanged kernels/ and engine-native/src/ compiled with g++ against kernels/emu, launches run on the CPU) with
// host addresses of direct buffers. Loaded only through EmulatedKernelsTest's own class loader, so the native
// methods of LossKernels / NativeKernels bind to the emulated library there and never to the GPU library that
// other tests load in the default class loader.
package org.compress.engine.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

public final class EmuHarness {
    private EmuHarness() {}

    static native long address(ByteBuffer directBuffer);
    static native void registerHost(long address, long bytes);
    static native void unregisterHost(long address);
    static native void setDevice(int sms, int smemOptin);
    static native void setSchedule(int schedule, long seed);
    static native long launches();

    public static void load(String library) { System.load(library); }

    public static long launchCount() { return launches(); }

    /** Host memory the kernels may use: 16-byte aligned, registered with the emulator, NaN-poisoned. */
    static final class Arena implements AutoCloseable {
        final List<Long> registered = new ArrayList<>();

        ByteBuffer bytes(long n) {
            ByteBuffer b = ByteBuffer.allocateDirect((int) n + 16).alignedSlice(16).order(ByteOrder.nativeOrder());
            for (int i = 0; i < b.capacity(); i++) b.put(i, (byte) 0xFF);
            long a = address(b);
            registerHost(a, b.capacity());
            registered.add(a);
            return b;
        }

        ByteBuffer floats(float[] v) {
            ByteBuffer b = bytes(4L * v.length);
            b.asFloatBuffer().put(v);
            return b;
        }

        /** BF16 bits of values that are BF16-representable (the low half is dropped: exact for them). */
        ByteBuffer bf16(float[] v) {
            ByteBuffer b = bytes(2L * v.length);
            for (int i = 0; i < v.length; i++) b.putShort(2 * i, (short) (Float.floatToRawIntBits(v[i]) >>> 16));
            return b;
        }

        @Override public void close() { for (long a : registered) unregisterHost(a); }
    }

    static float[] read(ByteBuffer b, int n) {
        float[] v = new float[n];
        b.asFloatBuffer().get(v);
        return v;
    }

    static void check(int status, String call) {
        if (status != 0) throw new IllegalStateException(call + " returned " + status + ": " + NativeKernels.lastErrorWhere());
    }

    /**
     * LossKernels.compressLossFused on the emulated device with `sms` SMs and thread schedule `schedule`:
     * returns {lossPerQuery, {lossMean}, gradStudent}. Banks are F32 values (BF16-representable when bankType = 1).
     */
    public static float[][] compressLossFused(float[] t, float[] s, float[] qt, float[] qs, boolean oneQueue, int bankType,
            int b, int k, int dt, int ds, float tau, int sms, int schedule) {
        setDevice(sms, 166912);
        setSchedule(schedule, 7);
        try (Arena a = new Arena()) {
            ByteBuffer tb = a.floats(t), sb = a.floats(s);
            ByteBuffer qtb = bankType == 1 ? a.bf16(qt) : a.floats(qt);
            ByteBuffer qsb = oneQueue ? qtb : (bankType == 1 ? a.bf16(qs) : a.floats(qs));
            long wsBytes = LossKernels.compressLossWorkspaceBytes(b, k, dt, ds, bankType);
            if (wsBytes < 0) throw new IllegalStateException("workspace query: " + NativeKernels.lastErrorWhere());
            ByteBuffer ws = a.bytes(wsBytes), loss = a.bytes(4L * b), mean = a.bytes(4), grad = a.bytes(4L * b * ds);
            check(LossKernels.compressLossFused(address(tb), address(sb), address(qtb), address(qsb), bankType, b, k, dt, ds,
                    1f / tau, address(loss), address(mean), address(grad), address(ws), wsBytes, 0L), "compressLossFused");
            return new float[][] {read(loss, b), read(mean, 1), read(grad, b * ds)};
        }
    }

    /** LossKernels.infoNceFused: returns {lossPerQuery, {lossMean}, gradQ}. */
    public static float[][] infoNceFused(float[] q, float[] kpos, float[] bank, int bankType, int b, int k, int d, float tau,
            int sms, int schedule) {
        setDevice(sms, 166912);
        setSchedule(schedule, 7);
        try (Arena a = new Arena()) {
            ByteBuffer qb = a.floats(q), kb = a.floats(kpos), bb = bankType == 1 ? a.bf16(bank) : a.floats(bank);
            long wsBytes = LossKernels.infoNceWorkspaceBytes(b, k, d, bankType);
            if (wsBytes < 0) throw new IllegalStateException("workspace query: " + NativeKernels.lastErrorWhere());
            ByteBuffer ws = a.bytes(wsBytes), loss = a.bytes(4L * b), mean = a.bytes(4), grad = a.bytes(4L * b * d);
            check(LossKernels.infoNceFused(address(qb), address(kb), address(bb), bankType, b, k, d, 1f / tau, address(loss),
                    address(mean), address(grad), address(ws), wsBytes, 0L), "infoNceFused");
            return new float[][] {read(loss, b), read(mean, 1), read(grad, b * d)};
        }
    }

    /** NnKernels.addActivationForwardF32 (act code = Activation.ordinal()) then activationBackwardF32: {y, dx}. */
    public static float[][] addActivation(float[] a, float[] b, float[] dy, int act) {
        try (Arena m = new Arena()) {
            int n = a.length;
            ByteBuffer ab = m.floats(a), bb = m.floats(b), y = m.bytes(4L * n), g = m.floats(dy), dx = m.bytes(4L * n);
            check(NnKernels.addActivationForwardF32(address(ab), address(bb), address(y), n, act, 0L), "addActivationForwardF32");
            check(NnKernels.activationBackwardF32(address(y), address(g), address(dx), n, act, 0L), "activationBackwardF32");
            return new float[][] {read(y, n), read(dx, n)};
        }
    }

    /** NativeKernels.l2NormalizeRowsF32 then its backward: returns {y, norms, dx}. */
    public static float[][] l2Normalize(float[] x, float[] dy, int rows, int cols, float eps) {
        try (Arena a = new Arena()) {
            ByteBuffer xb = a.floats(x), y = a.bytes(4L * x.length), n = a.bytes(4L * rows), g = a.floats(dy), dx = a.bytes(4L * x.length);
            check(NativeKernels.l2NormalizeRowsF32(address(xb), address(y), address(n), rows, cols, eps, 0L), "l2NormalizeRowsF32");
            check(NativeKernels.l2NormalizeRowsBackwardF32(address(y), address(n), address(g), address(dx), rows, cols, 0L),
                    "l2NormalizeRowsBackwardF32");
            return new float[][] {read(y, x.length), read(n, rows), read(dx, x.length)};
        }
    }
}
