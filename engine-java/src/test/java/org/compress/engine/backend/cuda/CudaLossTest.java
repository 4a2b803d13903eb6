// The loss engine on the GPU against the CPU reference (fp64 accumulation): fused and unfused CompRess loss
// over the acceptance shapes (B 1..257, K 1..128000, D 64..2048, F32/BF16 banks, 1q/2q, tau 0.01..0.2),
// InfoNCE, enqueue, determinism, extremes, workspace size. Reduced precision (TF32 for F32 banks, BF16 for
// BF16 banks) is judged against the unfused cuBLAS path's own error versus the fp64 reference: the fused
// error may be at most 2x it (plus a floor of 1e-6 of the value's scale for cases where both are ~exact).
package org.compress.engine.backend.cuda;

import static org.compress.engine.testing.Close.assertBitwise;
import static org.compress.engine.testing.Close.assertFiniteNonZero;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Locale;
import java.util.stream.Stream;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Workspace;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.compress.engine.testing.GpuTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

@GpuTest
class CudaLossTest {
    static CudaBackend gpu;
    static final Backend cpu = new CpuBackend();

    @BeforeAll static void open() { gpu = CudaBackend.open(0); }

    @AfterAll static void close() { if (gpu != null) gpu.close(); }

    /** Covers every value of each acceptance axis; D = 2048 runs 2q as the paper's ResNet-50 -> ResNet-18 (Ds = 512). */
    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(1, 1, 64, DType.F32, false, 0.04f), Arguments.of(1, 100, 128, DType.BF16, true, 0.01f),
                Arguments.of(1, 4097, 2048, DType.F32, false, 0.2f), Arguments.of(1, 128000, 128, DType.BF16, false, 0.04f),
                Arguments.of(7, 1, 128, DType.BF16, false, 0.2f), Arguments.of(7, 100, 2048, DType.F32, true, 0.04f),
                Arguments.of(7, 4097, 64, DType.BF16, false, 0.01f), Arguments.of(7, 128000, 64, DType.F32, true, 0.2f),
                Arguments.of(256, 1, 2048, DType.BF16, true, 0.01f), Arguments.of(256, 100, 64, DType.F32, false, 0.2f),
                Arguments.of(256, 4097, 128, DType.F32, true, 0.04f), Arguments.of(256, 128000, 128, DType.F32, false, 0.04f),
                Arguments.of(256, 128000, 128, DType.BF16, false, 0.04f), Arguments.of(257, 100, 128, DType.F32, false, 0.01f),
                Arguments.of(257, 4097, 2048, DType.BF16, false, 0.04f), Arguments.of(257, 128000, 64, DType.BF16, true, 0.2f));
    }

    record Outputs(float loss, float[] perQuery, float[] grad) {}

    @ParameterizedTest(name = "B={0} K={1} D={2} {3} 1q={4} tau={5}")
    @MethodSource("shapes")
    void compressLossMatchesTheReferenceWithinTheBaselinesError(int b, int k, int d, DType bank, boolean oneQueue, float tau) {
        int dt = d, ds = oneQueue ? d : (d == 2048 ? 512 : d);
        float[] t = normalizedRows(Fills.uniform(1, b * dt, -1, 1), b, dt);
        float[] s = normalizedRows(Fills.uniform(2, b * ds, -1, 1), b, ds);
        Tensor qtHost = bankOn(cpu, k, dt, bank, 3);
        Tensor qsHost = oneQueue ? qtHost : bankOn(cpu, k, ds, bank, 4);
        Outputs ref = run(cpu, t, s, qtHost, qsHost, b, dt, ds, tau, LossPath.AUTO);
        Tensor qt = gpu.upload(qtHost), qs = oneQueue ? qt : gpu.upload(qsHost);
        Outputs unfused = run(gpu, t, s, qt, qs, b, dt, ds, tau, LossPath.UNFUSED);
        LossPath fusedPath = Math.max(dt, ds) <= CudaCompressLoss.FUSED_MAX_DIM ? LossPath.FUSED : LossPath.UNFUSED;
        Outputs fused = run(gpu, t, s, qt, qs, b, dt, ds, tau, fusedPath);
        Outputs again = run(gpu, t, s, qt, qs, b, dt, ds, tau, fusedPath);
        assertBitwise("fused gradient, second run", again.grad, fused.grad);
        assertBitwise("fused per-query loss, second run", again.perQuery, fused.perQuery);
        String what = String.format(Locale.ROOT, "B=%d K=%d Dt=%d Ds=%d %s tau=%s", b, k, dt, ds, bank, tau);
        judge(what + " loss", new float[] {fused.loss}, new float[] {unfused.loss}, new float[] {ref.loss});
        judge(what + " per-query loss", fused.perQuery, unfused.perQuery, ref.perQuery);
        judge(what + " gradient", fused.grad, unfused.grad, ref.grad);
    }

    /** err(fused) <= 2 err(unfused) + floor, and the unfused path itself within 5% of the value's scale. */
    static void judge(String what, float[] fused, float[] unfused, float[] ref) {
        double scale = 0, errF = 0, errU = 0;
        for (int i = 0; i < ref.length; i++) {
            if (!Float.isFinite(fused[i]) || !Float.isFinite(unfused[i])) fail(what + ": non-finite value at " + i);
            scale = Math.max(scale, Math.abs(ref[i]));
            errF = Math.max(errF, Math.abs(fused[i] - ref[i]));
            errU = Math.max(errU, Math.abs(unfused[i] - ref[i]));
        }
        double floor = 1e-6 * scale + 1e-9;
        String detail = String.format(Locale.ROOT, "%s: fused max err %.3e, unfused %.3e, scale %.3e", what, errF, errU, scale);
        System.out.println(detail);
        assertTrue(errU <= 0.05 * scale + 1e-6, "unfused baseline out of bounds: " + detail);
        assertTrue(errF <= 2 * errU + floor, "fused error above 2x the baseline's: " + detail);
    }

    static Outputs run(Backend be, float[] t, float[] s, Tensor qt, Tensor qs, int b, int dt, int ds, float tau, LossPath path) {
        Tensor lossPer = be.empty(DType.F32, b), mean = be.empty(DType.F32, 1), grad = be.empty(DType.F32, b, ds);
        long wsBytes = be.compressLoss().workspaceBytes(b, qt.dim(0), dt, ds, qt.dtype(), path);
        try (Tensor ws = wsBytes > 0 ? Workspace.allocate(be, wsBytes) : null) {
            be.compressLoss().forwardBackward(be.upload(t, b, dt), be.upload(s, b, ds), qt, qs, tau, lossPer, mean, grad, ws, path);
            return new Outputs(be.toFloatArray(mean)[0], be.toFloatArray(lossPer), be.toFloatArray(grad));
        }
    }

    static Tensor bankOn(Backend be, int k, int d, DType dtype, long seed) {
        Tensor f32 = be.upload(Fills.uniform(seed, k * d, -(float) Math.sqrt(3.0 / d), (float) Math.sqrt(3.0 / d)), k, d);
        Tensor out = be.empty(dtype, k, d);
        be.elementwise().cast(f32, out);
        return out;
    }

    static float[] normalizedRows(float[] x, int b, int d) {
        for (int i = 0; i < b; i++) {
            double ss = 0;
            for (int c = 0; c < d; c++) ss += (double) x[i * d + c] * x[i * d + c];
            for (int c = 0; c < d; c++) x[i * d + c] /= (float) Math.sqrt(ss);
        }
        return x;
    }

    @Test void extremesStayFiniteAtTauZeroPointZeroOne() {
        int b = 4, k = 4096, d = 128;
        float[] anchors = new float[k * d];
        for (int j = 0; j < k; j++) anchors[j * d + (j % d)] = 1f;               // orthogonal within each block of d
        float[] q = new float[b * d];
        for (int i = 0; i < b; i++) q[i * d + i] = 1f;                           // each query equals an anchor
        Tensor bankG = gpu.upload(anchors, k, d);
        for (LossPath path : new LossPath[] {LossPath.FUSED, LossPath.UNFUSED}) {
            Outputs o = run(gpu, q, normalizedRows(Fills.uniform(9, b * d, -1, 1), b, d), bankG, bankG, b, d, d, 0.01f, path);
            assertTrue(Float.isFinite(o.loss), path + " loss " + o.loss);
            assertFiniteNonZero(path + " gradient", o.grad);
        }
    }

    @ParameterizedTest @ValueSource(strings = {"F32", "BF16"})
    void infoNceMatchesTheReferenceWithinTheBaselinesError(String bankType) {
        DType bank = DType.valueOf(bankType);
        int b = 257, k = 4097, d = 128;
        float tau = 0.2f;
        float[] q = normalizedRows(Fills.uniform(11, b * d, -1, 1), b, d), kp = normalizedRows(Fills.uniform(12, b * d, -1, 1), b, d);
        Tensor bankHost = bankOn(cpu, k, d, bank, 13);
        Tensor bankGpu = gpu.upload(bankHost);
        Outputs ref = infoNce(cpu, q, kp, bankHost, b, d, tau, LossPath.AUTO);
        Outputs unfused = infoNce(gpu, q, kp, bankGpu, b, d, tau, LossPath.UNFUSED);
        Outputs fused = infoNce(gpu, q, kp, bankGpu, b, d, tau, LossPath.FUSED);
        assertBitwise("infonce fused twice", infoNce(gpu, q, kp, bankGpu, b, d, tau, LossPath.FUSED).grad, fused.grad);
        judge("infonce " + bank + " loss", new float[] {fused.loss}, new float[] {unfused.loss}, new float[] {ref.loss});
        judge("infonce " + bank + " gradient", fused.grad, unfused.grad, ref.grad);
    }

    static Outputs infoNce(Backend be, float[] q, float[] kp, Tensor bank, int b, int d, float tau, LossPath path) {
        Tensor lossPer = be.empty(DType.F32, b), mean = be.empty(DType.F32, 1), grad = be.empty(DType.F32, b, d);
        long wsBytes = be.infoNce().workspaceBytes(b, bank.dim(0), d, bank.dtype(), path);
        try (Tensor ws = wsBytes > 0 ? Workspace.allocate(be, wsBytes) : null) {
            be.infoNce().forwardBackward(be.upload(q, b, d), be.upload(kp, b, d), bank, tau, lossPer, mean, grad, ws, path);
            return new Outputs(be.toFloatArray(mean)[0], be.toFloatArray(lossPer), be.toFloatArray(grad));
        }
    }

    @ParameterizedTest @ValueSource(strings = {"F32", "BF16"})
    void enqueueMatchesTheCpuBitwiseWithWrapAround(String bankType) {
        DType bank = DType.valueOf(bankType);
        int k = 1000, d = 130, b = 257;
        Tensor cpuBank = bankOn(cpu, k, d, bank, 21);
        Tensor gpuBank = gpu.upload(cpuBank);
        int start = 0;
        for (int step = 0; step < 5; step++) {
            float[] keys = Fills.uniform(30 + step, b * d, -1, 1);
            cpu.memoryBank().enqueue(cpuBank, cpu.upload(keys, b, d), start);
            gpu.memoryBank().enqueue(gpuBank, gpu.upload(keys, b, d), start);
            start = (start + b) % k;
        }
        assertBitwise("bank after 5 enqueues", gpu.toFloatArray(gpuBank), cpu.toFloatArray(cpuBank));
    }

    @Test void countNonFiniteFindsNanAndInf() {
        float[] x = Fills.uniform(40, 100_003, -1, 1);
        x[7] = Float.NaN;
        x[100_002] = Float.NEGATIVE_INFINITY;
        assertEquals(2, gpu.elementwise().countNonFinite(gpu.upload(x, x.length)));
    }

    @Test void fusedWorkspaceAtTheDefaultShapeIsAtMostSixteenMiB() {
        for (DType bank : new DType[] {DType.F32, DType.BF16}) {
            long bytes = gpu.compressLoss().workspaceBytes(256, 128_000, 128, 128, bank, LossPath.FUSED);
            assertTrue(bytes <= 16L << 20, bank + " workspace " + bytes + " bytes");
        }
    }
}
