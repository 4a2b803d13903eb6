// The engine's JNI entry points on the emulated device: libcompress_native_emu.so (built here by kernels/emu/Makefile
// with g++ from the unchanged kernels/ and engine-native/src/) runs LossKernels, NativeKernels and
// NnKernels, and the results are held to the CPU backend (CpuCompressLoss, CpuInfoNce, CpuNormalize, CpuActivation),
// the project's oracle.
// Runs in the default suite on machines without a GPU; what the emulation cannot show is in README "Testing".
// Tolerances: the queries and banks are pre-rounded to the tensor-core operand type (TF32 for F32 banks, BF16), so
// the kernel's only extra errors are FP32 accumulation in another order (logits: ~1e-6 relative, times 1/tau in the
// loss) and the rounding of the probabilities for P V (2^-8 BF16, 2^-11 TF32, relative to the gradient's scale):
// loss within 2e-5 / tau + 1e-5 |loss|, gradient within 4 u_p max|grad|. Each case runs under two thread schedules
// (warp by warp forward and reverse), which must give the same bits.
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
