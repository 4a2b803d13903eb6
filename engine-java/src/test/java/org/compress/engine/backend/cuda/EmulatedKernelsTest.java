// The engine's JNI entry points on the emulated device: libcompress_native_emu.so (built here by kernels/emu/Makefile
// with g++ from the unchanged kernels/ and engine-native/src/) runs them, and the results are held to the CPU backend,
// the project's oracle. Through JNI here:
// - LossKernels: the fused CompRess loss (1q/2q, F32/BF16 banks, 1 to 132 SMs) and fused InfoNCE with their workspace
//   queries (CpuCompressLoss, CpuInfoNce); NativeKernels: row normalisation and its backward (CpuNormalize);
// - NnKernels, F32: activation and residual activation forward/backward (CpuActivation), adaptive average pooling
//   forward/backward, NCHW and channels-last (CpuPooling), multi-tensor SGD (momentum, dampening, Nesterov, first step,
//   per-tensor weight decay; CpuSgd), EMA (CpuEma) and the multi-tensor dtype/layout conversion (CpuConvert), the last
//   three over the tables of CudaTensorTable.plan and CudaConvert.meta, the Java code that builds them for the GPU.
// Not through JNI here (their kernels run in kernels/emu's C++ drivers, KernelEmulationTest, AugmentEmulationTest):
// the other LossKernels entries (row kernels, mean, bank enqueue, non-finite count), the other NativeKernels entries
// (fill, cast, scale, axpy, row gather), the other NnKernels entries (BF16 activations and pooling, dropout,
// single-tensor convert, axpyBf16, incrementI64), AugmentKernels, and the CUDA backend's op classes themselves
// (CudaSgd, CudaPooling, ...), which allocate and synchronise through the CUDA runtime; EmuHarness mirrors their calls.
// Runs in the default suite on machines without a GPU; what the emulation cannot show is in README "Testing".
// Loss tolerances: the queries and banks are pre-rounded to the tensor-core operand type (TF32 for F32 banks, BF16), so
// the kernel's only extra errors are FP32 accumulation in another order (logits: ~1e-6 relative, times 1/tau in the
// loss) and the rounding of the probabilities for P V (2^-8 BF16, 2^-11 TF32, relative to the gradient's scale):
// loss within 2e-5 / tau + 1e-5 |loss|, gradient within 4 u_p max|grad|. Each loss case runs under two thread schedules
// (warp by warp forward and reverse), which must give the same bits. The layer and optimizer kernels are bitwise the
// CPU backend except the adaptive pooling forward (FP32 bin sums against the CPU's double sums; bound at the test).
package org.compress.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.ops.LossPath;
import org.compress.engine.ops.NormalizeOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EmulatedKernelsTest {
    static final Backend cpu = new CpuBackend();
    static Class<?> harness;

    @BeforeAll static void buildAndLoad() throws Exception {
        Path root = Path.of("").toAbsolutePath();
        while (root != null && !Files.exists(root.resolve("kernels/emu/Makefile"))) root = root.getParent();
        Assumptions.assumeTrue(root != null, "kernels/emu not found");
        Path include = Path.of(System.getenv().getOrDefault("CUDA_HOME", "/usr/local/cuda"), "include");
        Assumptions.assumeTrue(Files.exists(include.resolve("cuda_bf16.h")), "no CUDA headers in " + include + " to compile the kernels with g++");
        Path build = root.resolve("kernels/emu/build");
        Path log = Files.createTempFile("emu-lib", ".log");
        Process p;
        try {
            p = new ProcessBuilder("make", "-s", "-j2", "-C", root.resolve("kernels/emu").toString(), "CUDA_INCLUDE=" + include,
                    "BUILD=" + build, "JAVA_HOME=" + jdkHome(), "lib").redirectErrorStream(true).redirectOutput(log.toFile()).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("no make/g++ to build libcompress_native_emu.so: " + e.getMessage());
            return;
        }
        assertTrue(p.waitFor(900, TimeUnit.SECONDS), "building libcompress_native_emu.so timed out");
        assertEquals(0, p.exitValue(), "building libcompress_native_emu.so failed:\n" + Files.readString(log));
        // A class loader of our own: natives of its LossKernels bind to the emulated library only.
        List<URL> urls = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) urls.add(Path.of(e).toUri().toURL());
        ClassLoader isolated = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
        harness = isolated.loadClass(EmuHarness.class.getName());
        call("load", build.resolve("libcompress_native_emu.so").toString());
    }

    static String jdkHome() {
        Path home = Path.of(System.getProperty("java.home"));
        return Files.exists(home.resolve("include/jni.h")) ? home.toString() : home.getParent().toString();
    }

    static Object call(String name, Object... args) throws Exception {
        for (Method m : harness.getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == args.length) {
                try {
                    return m.invoke(null, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause() instanceof Exception x ? x : new RuntimeException(e.getCause());
                }
            }
        }
        throw new NoSuchMethodException(name);
    }

    static float tf32(float x) { return Float.intBitsToFloat((Float.floatToRawIntBits(x) + 0x1000) & 0xffffe000); }
    static float bf16(float x) {
        int u = Float.floatToRawIntBits(x);
        return Float.intBitsToFloat((u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000);
    }

    static float[] rows(long seed, int b, int d, int bankType) {
        float[] x = Fills.uniform(seed, b * d, -1, 1);
        for (int i = 0; i < b; i++) {
            double ss = 0;
            for (int c = 0; c < d; c++) ss += (double) x[i * d + c] * x[i * d + c];
            for (int c = 0; c < d; c++) {
                float v = (float) (x[i * d + c] / Math.sqrt(ss));
                x[i * d + c] = bankType == 1 ? bf16(v) : tf32(v);
            }
        }
        return x;
    }

    static float[] bank(long seed, int k, int d, int bankType) {
        float a = (float) Math.sqrt(3.0 / d);
        float[] q = Fills.uniform(seed, k * d, -a, a);
        for (int i = 0; i < q.length; i++) q[i] = bankType == 1 ? bf16(q[i]) : tf32(q[i]);
        return q;
    }

    static void assertWithin(String what, float[] got, float[] ref, double tol) {
        double worst = 0;
        int at = 0;
        for (int i = 0; i < ref.length; i++) {
            double e = Float.isFinite(got[i]) ? Math.abs(got[i] - ref[i]) : Double.POSITIVE_INFINITY;
            if (e > worst) { worst = e; at = i; }
        }
        String detail = String.format(Locale.ROOT, "%s: max abs err %.3e at %d (got %.9g ref %.9g), tol %.3e (%.1f%%)", what, worst, at,
                got[at], ref[at], tol, 100 * worst / tol);
        System.out.println(detail);
        assertTrue(worst <= tol, detail);
    }

    static double maxAbs(float[] x) {
        double m = 0;
        for (float v : x) m = Math.max(m, Math.abs(v));
        return m;
    }

    @ParameterizedTest(name = "B={0} K={1} Dt={2} Ds={3} bank={4} 1q={5} tau={6} SMs={7}")
    @CsvSource({"1,1,64,64,0,false,0.04,132", "7,100,128,128,1,true,0.01,3", "17,31,3,3,0,true,0.2,7", "64,4097,200,64,1,false,0.04,132",
            "17,4097,256,256,0,true,0.2,1", "7,1000,64,256,0,false,0.01,7", "64,100,128,3,1,false,0.2,3"})
    void compressLossFusedMatchesTheCpuBackend(int b, int k, int dt, int ds, int bankType, boolean oneQueue, float tau, int sms)
            throws Exception {
        float[] t = rows(1, b, dt, bankType), s = rows(2, b, ds, bankType);
        float[] qt = bank(3, k, dt, bankType), qs = oneQueue ? qt : bank(4, k, ds, bankType);
        float[][] emu = (float[][]) call("compressLossFused", t, s, qt, qs, oneQueue, bankType, b, k, dt, ds, tau, sms, 1);
        float[][] again = (float[][]) call("compressLossFused", t, s, qt, qs, oneQueue, bankType, b, k, dt, ds, tau, sms, 2);
        for (int i = 0; i < 3; i++) assertArrayEquals(emu[i], again[i], "output " + i + " depends on the thread schedule");
        DType bank = bankType == 1 ? DType.BF16 : DType.F32;
        Tensor qtc = onCpu(qt, k, dt, bank), qsc = oneQueue ? qtc : onCpu(qs, k, ds, bank);
        Tensor loss = cpu.empty(DType.F32, b), mean = cpu.empty(DType.F32, 1), grad = cpu.empty(DType.F32, b, ds);
        cpu.compressLoss().forwardBackward(cpu.upload(t, b, dt), cpu.upload(s, b, ds), qtc, qsc, tau, loss, mean, grad, null, LossPath.AUTO);
        float[] refLoss = cpu.toFloatArray(loss), refGrad = cpu.toFloatArray(grad);
        double lossTol = 2e-5 / tau + 1e-5 * maxAbs(refLoss);
        assertWithin("per-query loss", emu[0], refLoss, lossTol);
        assertWithin("mean loss", emu[1], cpu.toFloatArray(mean), lossTol);
        assertWithin("gradient", emu[2], refGrad, 4 * (bankType == 1 ? 0x1p-8 : 0x1p-11) * maxAbs(refGrad) + 1e-9);
    }

    static Tensor onCpu(float[] values, int rows, int cols, DType dtype) {
        Tensor f32 = cpu.upload(values, rows, cols);
        if (dtype == DType.F32) return f32;
        Tensor out = cpu.empty(dtype, rows, cols);
        cpu.elementwise().cast(f32, out);
        return out;
    }

    @ParameterizedTest(name = "B={0} K={1} D={2} bank={3} tau={4}")
    @CsvSource({"17,100,128,0,0.2", "7,4097,64,1,0.04", "1,31,3,0,0.01"})
    void infoNceFusedMatchesTheCpuBackend(int b, int k, int d, int bankType, float tau) throws Exception {
        float[] q = rows(5, b, d, bankType), kp = rows(6, b, d, bankType), bank = bank(7, k, d, bankType);
        float[][] emu = (float[][]) call("infoNceFused", q, kp, bank, bankType, b, k, d, tau, 7, 1);
        float[][] again = (float[][]) call("infoNceFused", q, kp, bank, bankType, b, k, d, tau, 7, 2);
        for (int i = 0; i < 3; i++) assertArrayEquals(emu[i], again[i], "output " + i + " depends on the thread schedule");
        Tensor loss = cpu.empty(DType.F32, b), mean = cpu.empty(DType.F32, 1), grad = cpu.empty(DType.F32, b, d);
        cpu.infoNce().forwardBackward(cpu.upload(q, b, d), cpu.upload(kp, b, d), onCpu(bank, k, d, bankType == 1 ? DType.BF16 : DType.F32),
                tau, loss, mean, grad, null, LossPath.AUTO);
        float[] refLoss = cpu.toFloatArray(loss), refGrad = cpu.toFloatArray(grad);
        double lossTol = 2e-5 / tau + 1e-5 * maxAbs(refLoss);
        assertWithin("infonce per-query loss", emu[0], refLoss, lossTol);
        assertWithin("infonce gradient", emu[2], refGrad, 4 * (bankType == 1 ? 0x1p-8 : 0x1p-11) * maxAbs(refGrad) + 1e-9);
    }

    @ParameterizedTest @CsvSource({"IDENTITY", "RELU", "RELU6"})
    void residualActivationMatchesTheCpuBackendBitwise(String name) throws Exception {
        org.compress.engine.ops.Activation act = org.compress.engine.ops.Activation.valueOf(name);
        int n = 1000;   // four blocks of the grid-stride launch, a ragged last one
        float[] a = Fills.uniform(10, n, -4, 8), b = Fills.uniform(11, n, -4, 8), dy = Fills.uniform(12, n, -1, 1);
        float[][] emu = (float[][]) call("addActivation", a, b, dy, act.ordinal());
        Tensor y = cpu.empty(DType.F32, n), dx = cpu.empty(DType.F32, n);
        cpu.activation().addForward(act, cpu.upload(a, n), cpu.upload(b, n), y);
        cpu.activation().backward(act, y, cpu.upload(dy, n), dx);
        // One FP32 add and a comparison per element, as the CPU does: the same bits.
        assertArrayEquals(cpu.toFloatArray(y), emu[0], "y = act(a + b)");
        assertArrayEquals(cpu.toFloatArray(dx), emu[1], "dx");
    }

    // ---- Multi-tensor SGD, EMA and conversion: the table comes from CudaTensorTable.plan, as the CUDA backend's ----

    /** Ragged tensor sizes around the 4096-element block of kernels/optimizer.cu. */
    static final int[] SIZES = {1, 7, 4095, 4096, 4097, 10000};

    static float[][] ragged(long seed, float lo, float hi) {
        float[][] v = new float[SIZES.length][];
        for (int t = 0; t < SIZES.length; t++) v[t] = Fills.uniform(seed + 31L * t, SIZES[t], lo, hi);
        return v;
    }

    static List<Tensor> onCpu(float[][] v) {
        List<Tensor> out = new ArrayList<>();
        for (float[] x : v) out.add(cpu.upload(x, x.length));
        return out;
    }

    @ParameterizedTest(name = "momentum={0} dampening={1} nesterov={2} firstStep={3} buffers={4}")
    @CsvSource({"0.9,0,false,true,true", "0.9,0,true,true,true", "0.875,0.1,false,false,true", "0,0,false,true,false",
            "0,0,false,false,true"})
    void sgdMultiTensorMatchesTheCpuBackendBitwise(float momentum, float dampening, boolean nesterov, boolean firstAtStart,
            boolean buffers) throws Exception {
        float[] wd = {0f, 1e-4f, 5e-4f, 0f, 0.1f, 1e-4f}, lr = {0.1f, 0.05f, 0.2f};
        float[][] params = ragged(20, -1, 1), momenta = buffers ? ragged(21, -0.5f, 0.5f) : null;
        float[][][] grads = new float[lr.length][][];
        for (int s = 0; s < lr.length; s++) grads[s] = ragged(22 + 100L * s, -2, 2);
        long launches = (long) call("launchCount");
        float[][] emu = (float[][]) call("sgd", params, grads, momenta, wd, lr, momentum, dampening, nesterov, firstAtStart);
        assertEquals(launches + lr.length, (long) call("launchCount"), "one launch per step");
        List<Tensor> p = onCpu(params), g = onCpu(grads[0]), m = buffers ? onCpu(momenta) : null;
        try (var group = cpu.sgd().prepare(p, g, m, wd)) {
            for (int s = 0; s < lr.length; s++) {
                for (int t = 0; t < SIZES.length; t++) System.arraycopy(grads[s][t], 0, g.get(t).cpuStorage().f32(), 0, SIZES[t]);
                cpu.sgd().step(group, lr[s], momentum, dampening, nesterov, firstAtStart && s == 0);
            }
        }
        // optimizer.cu rounds every product and sum separately (__fmul_rn / __fadd_rn), in SgdOp.update's order: the same bits.
        for (int t = 0; t < SIZES.length; t++) {
            assertArrayEquals(cpu.toFloatArray(p.get(t)), emu[t], "param " + t + " (" + SIZES[t] + " elements)");
            if (buffers) assertArrayEquals(cpu.toFloatArray(m.get(t)), emu[SIZES.length + t], "momentum buffer " + t);
        }
    }

    @Test void emaMultiTensorMatchesTheCpuBackendBitwise() throws Exception {
        float[][] targets = ragged(40, -1, 1), sources = ragged(41, -1, 1);
        // No m = 0 (target := source, after which every step is a fixed point and would hide a table error).
        double[] m = {1.0, 0.999, 0.99, 0.5, 0.996};
        float[][] emu = (float[][]) call("ema", targets, sources, m);
        List<Tensor> tg = onCpu(targets), src = onCpu(sources);
        try (var group = cpu.ema().prepare(tg, src)) {
            for (double mi : m) cpu.ema().update(group, mi);
        }
        // Two separately rounded products and their rounded sum, with the factors (float) m and (float) (1 - m): the same bits.
        for (int t = 0; t < SIZES.length; t++) assertArrayEquals(cpu.toFloatArray(tg.get(t)), emu[t], "target " + t + " (" + SIZES[t] + " elements)");
    }

    @Test void convertMultiTensorMatchesTheCpuBackendBitwise() throws Exception {
        // kind: bit 1 BF16, bit 2 CHANNELS_LAST. NCHW <-> NHWC both ways, F32 -> BF16 rounding, BF16 -> F32, ragged block tails.
        int[][] shapes = {{2, 3, 5, 7}, {1, 7}, {4097}, {2, 8, 16, 40}, {1, 1, 1, 1}, {4096}, {3, 5, 13, 21}};
        int[] from = {0, 0, 0, 3, 0, 1, 2}, to = {3, 1, 1, 0, 2, 0, 1};
        float[][] src = new float[shapes.length][];
        List<Tensor> s = new ArrayList<>(), d = new ArrayList<>();
        for (int t = 0; t < shapes.length; t++) {
            boolean bf16Source = (from[t] & 1) != 0;
            s.add(cpu.empty(bf16Source ? DType.BF16 : DType.F32, format(from[t]), shapes[t]));
            d.add(cpu.empty((to[t] & 1) != 0 ? DType.BF16 : DType.F32, format(to[t]), shapes[t]));
            src[t] = Fills.uniform(50 + t, (int) s.get(t).numel(), -3, 3);
            // Round-to-nearest-even ties and their neighbours for the F32 -> BF16 conversions.
            float[] ties = {1f + 0x1p-8f, 1f + 3 * 0x1p-8f, -1f - 0x1p-8f, 1f + 0x1p-8f + 0x1p-23f, 0f, -0f};
            for (int i = 0; i < Math.min(ties.length, src[t].length); i++) src[t][i] = ties[i];
            for (int i = 0; i < src[t].length; i++) {
                if (bf16Source) {
                    src[t][i] = bf16(src[t][i]);
                    s.get(t).cpuStorage().u16()[i] = (short) (Float.floatToRawIntBits(src[t][i]) >>> 16);
                } else {
                    s.get(t).cpuStorage().f32()[i] = src[t][i];
                }
            }
        }
        float[][] emu = (float[][]) call("convertMulti", shapes, from, to, src);
        try (var group = cpu.convert().prepare(s, d)) {
            cpu.convert().run(group);
        }
        // A permutation and at most one round-to-nearest-even to BF16 on both sides: the same bits.
        for (int t = 0; t < shapes.length; t++) {
            Tensor out = d.get(t);
            float[] ref = new float[(int) out.numel()];
            for (int i = 0; i < ref.length; i++) {
                ref[i] = out.dtype() == DType.BF16 ? Float.intBitsToFloat(out.cpuStorage().u16()[i] << 16) : out.cpuStorage().f32()[i];
            }
            assertArrayEquals(ref, emu[t], "conversion " + t + " " + java.util.Arrays.toString(shapes[t]) + " kind " + from[t] + " -> " + to[t]);
        }
    }

    static MemoryFormat format(int kind) { return (kind & 2) != 0 ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS; }

    // ---- Activations and adaptive average pooling ----

    @ParameterizedTest @CsvSource({"IDENTITY", "RELU", "RELU6"})
    void activationMatchesTheCpuBackendBitwise(String name) throws Exception {
        org.compress.engine.ops.Activation act = org.compress.engine.ops.Activation.valueOf(name);
        int n = 1031;   // a ragged last block
        float[] x = Fills.uniform(13, n, -8, 10), dy = Fills.uniform(14, n, -1, 1);
        float[] edges = {0f, -0f, 6f, Math.nextUp(6f), Math.nextDown(6f), Float.MIN_VALUE, -Float.MIN_VALUE, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.NaN};
        System.arraycopy(edges, 0, x, 0, edges.length);
        float[][] emu = (float[][]) call("activation", x, dy, act.ordinal());
        Tensor y = cpu.empty(DType.F32, n), dx = cpu.empty(DType.F32, n);
        cpu.activation().forward(act, cpu.upload(x, n), y);
        cpu.activation().backward(act, y, cpu.upload(dy, n), dx);
        // Comparisons and selections only: the same bits (assertArrayEquals compares floatToIntBits, so -0 != +0).
        assertArrayEquals(cpu.toFloatArray(y), emu[0], "y = act(x)");
        assertArrayEquals(cpu.toFloatArray(dx), emu[1], "dx");
    }

    static int maxBin(int in, int out) {
        int m = 0;
        for (int o = 0; o < out; o++) m = Math.max(m, (int) Math.ceil((double) (o + 1) * in / out) - (int) Math.floor((double) o * in / out));
        return m;
    }

    /** NCHW index of each element of an NHWC-stored tensor's storage. */
    static int[] nhwcToNchw(int n, int c, int h, int w) {
        int[] idx = new int[n * c * h * w];
        int i = 0;
        for (int b = 0; b < n; b++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int ch = 0; ch < c; ch++) {
            idx[i++] = ((b * c + ch) * h + y) * w + x;
        }
        return idx;
    }

    static float[] toNhwc(float[] nchw, int[] idx) {
        float[] out = new float[nchw.length];
        for (int i = 0; i < idx.length; i++) out[i] = nchw[idx[i]];
        return out;
    }

    static float[] toNchw(float[] nhwc, int[] idx) {
        float[] out = new float[nhwc.length];
        for (int i = 0; i < idx.length; i++) out[idx[i]] = nhwc[i];
        return out;
    }

    @ParameterizedTest(name = "N={0} C={1} {2}x{3} -> {4}x{5} channelsLast={6}")
    @CsvSource({"2,3,7,7,1,1,false", "2,3,7,7,1,1,true", "2,5,10,9,3,4,false", "2,5,10,9,3,4,true", "1,4,5,3,7,6,false",
            "1,4,5,3,7,6,true", "3,2,13,11,6,6,true"})
    void adaptiveAvgPoolMatchesTheCpuBackend(int n, int c, int h, int w, int oh, int ow, boolean cl) throws Exception {
        float[] x = Fills.uniform(60, n * c * h * w, -1, 1), dy = Fills.uniform(61, n * c * oh * ow, -1, 1);
        int[] in = nhwcToNchw(n, c, h, w), out = nhwcToNchw(n, c, oh, ow);
        float[][] emu = (float[][]) call("adaptiveAvgPool", cl ? toNhwc(x, in) : x, cl ? toNhwc(dy, out) : dy, n, c, h, w, oh, ow, cl);
        float[] y = cl ? toNchw(emu[0], out) : emu[0], dx = cl ? toNchw(emu[1], in) : emu[1];
        Tensor yr = cpu.empty(DType.F32, n, c, oh, ow), dxr = cpu.empty(DType.F32, n, c, h, w);
        cpu.pooling().adaptiveAvgForward(cpu.upload(x, n, c, h, w), yr);
        cpu.pooling().adaptiveAvgBackward(cpu.upload(dy, n, c, oh, ow), dxr);
        // Forward: the kernel sums a bin of k elements in FP32, the CPU in double rounded once: at most (k + 1) 2^-24 max|x|.
        int k = maxBin(h, oh) * maxBin(w, ow);
        assertWithin("adaptive avgpool forward", y, cpu.toFloatArray(yr), (k + 1) * 0x1p-24 * maxAbs(x));
        // Backward: both add dy / (bin size), rounded in FP32, over the bins that hold an element in the same (i, j)
        // order, starting from 0: the same bits.
        assertArrayEquals(cpu.toFloatArray(dxr), dx, "adaptive avgpool backward");
    }

    @Test void l2NormalizeMatchesTheCpuBackend() throws Exception {
        int rows = 17, cols = 200;
        float[] x = Fills.uniform(8, rows * cols, -1, 1), dy = Fills.uniform(9, rows * cols, -1, 1);
        float[][] emu = (float[][]) call("l2Normalize", x, dy, rows, cols, NormalizeOp.EPS);
        Tensor y = cpu.empty(DType.F32, rows, cols), n = cpu.empty(DType.F32, rows), dx = cpu.empty(DType.F32, rows, cols);
        cpu.normalize().forward(cpu.upload(x, rows, cols), y, n);
        cpu.normalize().backward(y, n, cpu.upload(dy, rows, cols), dx);
        // FP32 block sums of 200 products in another order than the CPU's: a few ulps times sqrt(cols).
        assertWithin("normalised rows", emu[0], cpu.toFloatArray(y), 1e-6);
        assertWithin("norms", emu[1], cpu.toFloatArray(n), 1e-5 * maxAbs(cpu.toFloatArray(n)));
        assertWithin("normalize backward", emu[2], cpu.toFloatArray(dx), 1e-5 * maxAbs(cpu.toFloatArray(dx)));
        assertTrue((long) call("launchCount") >= 2, "the emulated device ran no kernels");
    }
}
