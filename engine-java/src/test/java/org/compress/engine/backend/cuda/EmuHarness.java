// The emulated device for EmulatedKernelsTest: calls the JNI entry points of libcompress_native_emu.so (the
// unchanged kernels/ and engine-native/src/ compiled with g++ against kernels/emu, launches run on the CPU) with
// host addresses of direct buffers. Loaded only through EmulatedKernelsTest's own class loader, so the native
// methods of LossKernels / NativeKernels / NnKernels bind to the emulated library there and never to the GPU library
// that other tests load in the default class loader.
// Of the CUDA backend's own Java code it runs only what needs no CUDA runtime: CudaTensorTable.plan (the multi-tensor
// tables) and CudaConvert.meta. The calls themselves mirror CudaSgd.step, CudaEma.update, CudaConvert.run,
// CudaPooling and CudaActivation, whose classes allocate and synchronise through the CUDA runtime and are not run here.
package org.compress.engine.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

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

    /** NnKernels.activationForwardF32 then activationBackwardF32 on its output: {y, dx}. */
    public static float[][] activation(float[] x, float[] dy, int act) {
        try (Arena m = new Arena()) {
            int n = x.length;
            ByteBuffer xb = m.floats(x), y = m.bytes(4L * n), g = m.floats(dy), dx = m.bytes(4L * n);
            check(NnKernels.activationForwardF32(address(xb), address(y), n, act, 0L), "activationForwardF32");
            check(NnKernels.activationBackwardF32(address(y), address(g), address(dx), n, act, 0L), "activationBackwardF32");
            return new float[][] {read(y, n), read(dx, n)};
        }
    }

    /** NnKernels.adaptiveAvgPoolForwardF32 and BackwardF32; x, dy and the results {y, dx} in storage order (NHWC if cl). */
    public static float[][] adaptiveAvgPool(float[] x, float[] dy, int n, int c, int h, int w, int oh, int ow, boolean cl) {
        try (Arena m = new Arena()) {
            ByteBuffer xb = m.floats(x), y = m.bytes(4L * dy.length), g = m.floats(dy), dx = m.bytes(4L * x.length);
            check(NnKernels.adaptiveAvgPoolForwardF32(address(xb), address(y), n, c, h, w, oh, ow, cl, 0L), "adaptiveAvgPoolForwardF32");
            check(NnKernels.adaptiveAvgPoolBackwardF32(address(g), address(dx), n, c, h, w, oh, ow, cl, 0L), "adaptiveAvgPoolBackwardF32");
            return new float[][] {read(y, dy.length), read(dx, x.length)};
        }
    }

    /** A multi-tensor table as the CUDA backend uploads it: CudaTensorTable.plan's arrays copied into emulated memory. */
    record Table(CudaTensorTable.Plan plan, ByteBuffer ptrs, ByteBuffer numel, ByteBuffer scalars, ByteBuffer blockTensor,
                 ByteBuffer blockStart) {
        static Table of(Arena a, CudaTensorTable.Plan p) {
            int blocks = Math.max(1, p.blocks());
            Table t = new Table(p, a.bytes(8L * p.ptrs().length), a.bytes(8L * p.tensors()), a.bytes(4L * p.tensors()), a.bytes(4L * blocks),
                    a.bytes(8L * blocks));
            t.ptrs.asLongBuffer().put(p.ptrs());
            t.numel.asLongBuffer().put(p.numel());
            t.scalars.asFloatBuffer().put(p.scalars());
            t.blockTensor.asIntBuffer().put(p.blockTensor());
            t.blockStart.asLongBuffer().put(p.blockStart());
            return t;
        }

        /** lists[l][t]: the buffer of tensor t of list l, numel[t] elements (CudaTensorTable's constructor, with host addresses). */
        static Table of(Arena a, ByteBuffer[][] lists, long[] numel, float[] perTensor) {
            long[][] addresses = new long[lists.length][];
            for (int l = 0; l < lists.length; l++) {
                addresses[l] = new long[lists[l].length];
                for (int t = 0; t < lists[l].length; t++) addresses[l][t] = address(lists[l][t]);
            }
            return of(a, CudaTensorTable.plan(addresses, numel, perTensor));
        }

        int tensors() { return plan.tensors(); }

        int blocks() { return plan.blocks(); }
    }

    static long[] lengths(float[][] v) {
        long[] n = new long[v.length];
        for (int t = 0; t < v.length; t++) n[t] = v[t].length;
        return n;
    }

    /**
     * NnKernels.sgdMultiTensorF32, lr.length steps, over the table of CudaTensorTable.plan with the lists of CudaSgd.prepare
     * (params, grads and, when momenta is not null, the momentum buffers). grads[s][t]: tensor t's gradient at step s;
     * firstStep is true at step 0 only when firstAtStart. Returns the params, then the momentum buffers if any.
     */
    public static float[][] sgd(float[][] params, float[][][] grads, float[][] momenta, float[] weightDecay, float[] lr, float momentum,
            float dampening, boolean nesterov, boolean firstAtStart) {
        int tensors = params.length;
        try (Arena a = new Arena()) {
            ByteBuffer[] p = new ByteBuffer[tensors], g = new ByteBuffer[tensors], mb = new ByteBuffer[tensors];
            for (int t = 0; t < tensors; t++) {
                p[t] = a.floats(params[t]);
                g[t] = a.bytes(4L * params[t].length);
                if (momenta != null) mb[t] = a.floats(momenta[t]);
            }
            Table tb = Table.of(a, momenta == null ? new ByteBuffer[][] {p, g} : new ByteBuffer[][] {p, g, mb}, lengths(params), weightDecay);
            for (int s = 0; s < lr.length; s++) {
                for (int t = 0; t < tensors; t++) g[t].asFloatBuffer().put(grads[s][t]);
                check(NnKernels.sgdMultiTensorF32(address(tb.ptrs), tb.tensors(), address(tb.numel), address(tb.scalars),
                        address(tb.blockTensor), address(tb.blockStart), tb.blocks(), lr[s], momentum, dampening, nesterov,
                        firstAtStart && s == 0, 0L), "sgdMultiTensorF32");
            }
            float[][] out = new float[momenta == null ? tensors : 2 * tensors][];
            for (int t = 0; t < tensors; t++) {
                out[t] = read(p[t], params[t].length);
                if (momenta != null) out[tensors + t] = read(mb[t], params[t].length);
            }
            return out;
        }
    }

    /**
     * NnKernels.emaMultiTensorF32 once per m, over the table of CudaTensorTable.plan with CudaEma's lists (targets, sources)
     * and its factors (float) m and (float) (1 - m). Returns the targets.
     */
    public static float[][] ema(float[][] targets, float[][] sources, double[] m) {
        int tensors = targets.length;
        try (Arena a = new Arena()) {
            ByteBuffer[] tg = new ByteBuffer[tensors], src = new ByteBuffer[tensors];
            for (int t = 0; t < tensors; t++) {
                tg[t] = a.floats(targets[t]);
                src[t] = a.floats(sources[t]);
            }
            Table tb = Table.of(a, new ByteBuffer[][] {tg, src}, lengths(targets), null);
            for (double mi : m) {
                check(NnKernels.emaMultiTensorF32(address(tb.ptrs), tb.tensors(), address(tb.numel), address(tb.blockTensor),
                        address(tb.blockStart), tb.blocks(), (float) mi, (float) (1.0 - mi), 0L), "emaMultiTensorF32");
            }
            float[][] out = new float[tensors][];
            for (int t = 0; t < tensors; t++) out[t] = read(tg[t], targets[t].length);
            return out;
        }
    }

    /**
     * NnKernels.convertMultiTensor over CudaConvert.prepare's tables: CudaTensorTable.plan (sources, targets) and
     * CudaConvert.meta, computed from CPU tensors of the same shapes, dtypes and formats. kinds: bit 1 BF16, bit 2
     * CHANNELS_LAST; src[t]: the source's storage, BF16-representable where BF16. Returns the targets' storage (BF16 widened).
     */
    public static float[][] convertMulti(int[][] shapes, int[] sourceKinds, int[] targetKinds, float[][] src) {
        int tensors = shapes.length;
        CpuBackend cpu = new CpuBackend();
        List<Tensor> s = new ArrayList<>(), d = new ArrayList<>();
        for (int t = 0; t < tensors; t++) {
            s.add(cpu.empty(dtype(sourceKinds[t]), format(sourceKinds[t]), shapes[t]));
            d.add(cpu.empty(dtype(targetKinds[t]), format(targetKinds[t]), shapes[t]));
        }
        long[] meta = CudaConvert.meta(s, d);
        try (Arena a = new Arena()) {
            ByteBuffer[] sb = new ByteBuffer[tensors], db = new ByteBuffer[tensors];
            long[] numel = new long[tensors];
            for (int t = 0; t < tensors; t++) {
                sb[t] = (sourceKinds[t] & 1) != 0 ? a.bf16(src[t]) : a.floats(src[t]);
                db[t] = a.bytes(((targetKinds[t] & 1) != 0 ? 2L : 4L) * src[t].length);
                numel[t] = s.get(t).numel();
            }
            Table tb = Table.of(a, new ByteBuffer[][] {sb, db}, numel, null);
            ByteBuffer mb = a.bytes(8L * meta.length);
            mb.asLongBuffer().put(meta);
            check(NnKernels.convertMultiTensor(address(tb.ptrs), tb.tensors(), address(tb.numel), address(mb), address(tb.blockTensor),
                    address(tb.blockStart), tb.blocks(), 0L), "convertMultiTensor");
            float[][] out = new float[tensors][];
            for (int t = 0; t < tensors; t++) {
                int n = src[t].length;
                if ((targetKinds[t] & 1) == 0) {
                    out[t] = read(db[t], n);
                } else {
                    out[t] = new float[n];
                    for (int i = 0; i < n; i++) out[t][i] = Float.intBitsToFloat(db[t].getShort(2 * i) << 16);
                }
            }
            return out;
        }
    }

    static DType dtype(int kind) {
        return (kind & 1) != 0 ? DType.BF16 : DType.F32;
    }

    static MemoryFormat format(int kind) {
        return (kind & 2) != 0 ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS;
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
