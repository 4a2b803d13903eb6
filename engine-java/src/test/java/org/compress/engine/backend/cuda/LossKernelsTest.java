// JNI contract of LossKernels on a GPU: fused CompRess (F32/BF16 banks, 1q/2q) and InfoNCE against an inline
// double reference on small odd shapes, bitwise repeat, the row-wise steps (in place too), enqueue with wrap-around
// and BF16 rounding, countNonFinite, and the argument checks (status plus the native reason). Queries and F32
// banks are pre-rounded to the tensor-core operand type so the tolerance covers only the kernels' own error.
// The full sweep with timing is kernels/dev/run_all.sh.
package org.compress.engine.backend.cuda;

import static org.compress.engine.testing.Close.assertBitwise;
import static org.compress.engine.testing.Close.assertFiniteNonZero;
import static org.compress.engine.testing.Close.assertWithin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.CpuStorage;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.GpuTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@GpuTest
class LossKernelsTest {
    static final int F32 = 0, BF16 = 1;
    static CudaBackend gpu;

    @BeforeAll static void open() {
        gpu = CudaBackend.open(0);
        NativeLibrary.load();
    }

    @AfterAll static void close() { if (gpu != null) gpu.close(); }

    static long s() { return gpu.stream().address(); }

    static long at(Tensor t) { return gpu.address(t); }

    static void ok(int status, String call) { Native.check(Native.Library.KERNEL, status, call); }

    /** cvt.rna.tf32.f32: nearest, ties away from zero. */
    static float tf32(float x) {
        int u = Float.floatToRawIntBits(x);
        if ((u & 0x7f800000) == 0x7f800000) return x;
        return Float.intBitsToFloat((u + 0x1000) & 0xffffe000);
    }

    static float operand(float x, int bankType) { return bankType == BF16 ? BFloat16.toFloat(BFloat16.fromFloat(x)) : tf32(x); }

    static float[] unitRows(Random r, int rows, int d, int bankType) {
        float[] x = new float[rows * d];
        for (int i = 0; i < rows; i++) {
            double ss = 0;
            for (int c = 0; c < d; c++) { x[i * d + c] = (float) r.nextGaussian(); ss += x[i * d + c] * x[i * d + c]; }
            for (int c = 0; c < d; c++) x[i * d + c] = operand((float) (x[i * d + c] / Math.sqrt(ss)), bankType);
        }
        return x;
    }

    /** Bank values (uniform in +-1/sqrt(D/3)) already representable in the bank type. */
    static float[] bank(Random r, int k, int d, int bankType) {
        float[] q = new float[k * d];
        double a = Math.sqrt(3.0 / d);
        for (int e = 0; e < q.length; e++) q[e] = operand((float) ((2 * r.nextDouble() - 1) * a), bankType);
        return q;
    }

    static Tensor deviceBank(float[] values, int k, int d, int bankType) {
        Tensor f = gpu.upload(values, k, d);
        if (bankType == F32) return f;
        Tensor b = gpu.empty(DType.BF16, k, d);
        gpu.elementwise().cast(f, b);   // exact: the values are BF16 already
        return b;
    }

    /** Reference of the fused CompRess outputs plus the per-element gradient tolerance. */
    record Ref(double[] loss, double[] grad, double[] lossTol, double[] gradTol) {}

    static Ref compressReference(float[] t, float[] s, float[] qt, float[] qs, int b, int k, int dt, int ds, float tau,
                                 int bankType) {
        double[] loss = new double[b], grad = new double[b * ds], lossTol = new double[b], gradTol = new double[b * ds];
        double uP = bankType == BF16 ? 1.0 / 256 : 1.0 / 1024;   // rounding of P for P V
        double ez = 1e-6 / tau * Math.sqrt(Math.max(dt, ds) / 16.0);   // FP32 accumulation error of one logit
        for (int i = 0; i < b; i++) {
            double[] zt = new double[k], zs = new double[k];
            double mt = Double.NEGATIVE_INFINITY, ms = Double.NEGATIVE_INFINITY, zmax = 0;
            for (int j = 0; j < k; j++) {
                double x = 0, y = 0;
                for (int c = 0; c < dt; c++) x += (double) t[i * dt + c] * qt[j * dt + c];
                for (int c = 0; c < ds; c++) y += (double) s[i * ds + c] * qs[j * ds + c];
                zt[j] = x / tau; zs[j] = y / tau;
                mt = Math.max(mt, zt[j]); ms = Math.max(ms, zs[j]);
                zmax = Math.max(zmax, Math.max(Math.abs(zt[j]), Math.abs(zs[j])));
            }
            double lt = 0, ls = 0;
            for (int j = 0; j < k; j++) { lt += Math.exp(zt[j] - mt); ls += Math.exp(zs[j] - ms); }
            double lseT = mt + Math.log(lt), lseS = ms + Math.log(ls), kl = 0;
            double[] bound = new double[ds];
            for (int j = 0; j < k; j++) {
                double pt = Math.exp(zt[j] - lseT), ps = Math.exp(zs[j] - lseS);
                kl += pt * ((zt[j] - lseT) - (zs[j] - lseS));
                for (int c = 0; c < ds; c++) {
                    grad[i * ds + c] += (ps - pt) * qs[j * ds + c] / (tau * b);
                    bound[c] += (ps + pt) * Math.abs(qs[j * ds + c]) / (tau * b);
                }
            }
            loss[i] = kl;
            lossTol[i] = 4 * ez + 1e-5 * (zmax + Math.abs(kl));
            for (int c = 0; c < ds; c++) gradTol[i * ds + c] = (uP + 2 * ez) * bound[c] + 1e-9;
        }
        return new Ref(loss, grad, lossTol, gradTol);
    }

    @ParameterizedTest(name = "bank {0} 1q={1} B={2} K={3} Dt={4} Ds={5} tau={6}")
    @CsvSource({"0,false,7,1000,33,20,0.04", "1,true,5,4097,128,128,0.01", "0,true,1,1,1,1,0.1",
                "1,false,65,300,100,256,0.02", "0,false,3,129,256,7,0.05", "1,false,2,64,64,129,0.07"})
    void fusedCompressMatchesTheReference(int bankType, boolean oneQ, int b, int k, int dt, int ds, float tau) {
        Random r = new Random(31L * b + k);
        float[] t = unitRows(r, b, dt, bankType), s = unitRows(r, b, ds, bankType);
        float[] qt = bank(r, k, dt, bankType), qs = oneQ ? qt : bank(r, k, ds, bankType);
        Tensor gt = gpu.upload(t, b, dt), gsq = gpu.upload(s, b, ds);
        Tensor bt = deviceBank(qt, k, dt, bankType), bs = oneQ ? bt : deviceBank(qs, k, ds, bankType);
        long wsBytes = LossKernels.compressLossWorkspaceBytes(b, k, dt, ds, bankType);
        assertTrue(wsBytes > 0, "workspace bytes " + wsBytes + ": " + NativeKernels.lastErrorWhere());
        Tensor ws = gpu.empty(DType.U8, (int) wsBytes);
        float[][] runs = new float[2][];
        float[][] means = new float[2][], grads = new float[2][];
        for (int run = 0; run < 2; run++) {
            Tensor loss = gpu.empty(DType.F32, b), mean = gpu.empty(DType.F32, 1), grad = gpu.empty(DType.F32, b, ds);
            ok(LossKernels.compressLossFused(at(gt), at(gsq), at(bt), at(bs), bankType, b, k, dt, ds, 1f / tau,
                    at(loss), at(mean), at(grad), at(ws), wsBytes, s()), "compressLossFused");
            runs[run] = gpu.toFloatArray(loss);
            means[run] = gpu.toFloatArray(mean);
            grads[run] = gpu.toFloatArray(grad);
        }
        Ref ref = compressReference(t, s, qt, qs, b, k, dt, ds, tau, bankType);
        assertWithin("loss", runs[0], ref.loss(), ref.lossTol());
        assertWithin("gradient", grads[0], ref.grad(), ref.gradTol());
        double meanRef = 0, meanTol = 0;
        for (int i = 0; i < b; i++) { meanRef += ref.loss()[i] / b; meanTol += ref.lossTol()[i] / b; }
        assertWithin("mean", means[0], new double[] {meanRef}, new double[] {meanTol});
        if (k > 1) assertFiniteNonZero("gradient", grads[0]);
        assertBitwise("loss, second run", runs[1], runs[0]);
        assertBitwise("mean, second run", means[1], means[0]);
        assertBitwise("gradient, second run", grads[1], grads[0]);
    }

    @ParameterizedTest(name = "bank {0} B={1} K={2} D={3}")
    @CsvSource({"0,7,1000,33", "1,3,4097,128", "0,1,1,1", "1,17,500,256"})
    void fusedInfoNceMatchesTheReference(int bankType, int b, int k, int d) {
        float tau = 0.2f;
        Random r = new Random(7L * k + d);
        float[] q = unitRows(r, b, d, bankType), kpos = unitRows(r, b, d, F32), qb = bank(r, k, d, bankType);
        Tensor gq = gpu.upload(q, b, d), gk = gpu.upload(kpos, b, d), gb = deviceBank(qb, k, d, bankType);
        long wsBytes = LossKernels.infoNceWorkspaceBytes(b, k, d, bankType);
        Tensor ws = gpu.empty(DType.U8, (int) wsBytes);
        Tensor loss = gpu.empty(DType.F32, b), mean = gpu.empty(DType.F32, 1), grad = gpu.empty(DType.F32, b, d);
        ok(LossKernels.infoNceFused(at(gq), at(gk), at(gb), bankType, b, k, d, 1f / tau, at(loss), at(mean), at(grad),
                at(ws), wsBytes, s()), "infoNceFused");
        double[] lossRef = new double[b], gradRef = new double[b * d], lossTol = new double[b], gradTol = new double[b * d];
        double uP = bankType == BF16 ? 1.0 / 256 : 1.0 / 1024, ez = 1e-6 / tau * Math.sqrt(d / 16.0);
        for (int i = 0; i < b; i++) {
            double[] z = new double[k + 1];
            double m = Double.NEGATIVE_INFINITY, zmax = 0;
            for (int j = 0; j <= k; j++) {
                double dot = 0;
                for (int c = 0; c < d; c++) dot += (double) q[i * d + c] * (j == 0 ? kpos[i * d + c] : qb[(j - 1) * d + c]);
                z[j] = dot / tau;
                m = Math.max(m, z[j]);
                zmax = Math.max(zmax, Math.abs(z[j]));
            }
            double l = 0;
            for (double v : z) l += Math.exp(v - m);
            double lse = m + Math.log(l);
            lossRef[i] = lse - z[0];
            lossTol[i] = 4 * ez + 1e-5 * (zmax + lossRef[i]);
            for (int c = 0; c < d; c++) {
                double g = 0, bound = 0;
                for (int j = 0; j <= k; j++) {
                    double p = Math.exp(z[j] - lse), key = j == 0 ? kpos[i * d + c] : qb[(j - 1) * d + c];
                    g += (p - (j == 0 ? 1 : 0)) * key;
                    bound += (p + (j == 0 ? 1 : 0)) * Math.abs(key);
                }
                gradRef[i * d + c] = g / (tau * b);
                gradTol[i * d + c] = (uP + 2 * ez) * bound / (tau * b) + 1e-9;
            }
        }
        assertWithin("InfoNCE loss", gpu.toFloatArray(loss), lossRef, lossTol);
        assertWithin("InfoNCE gradient", gpu.toFloatArray(grad), gradRef, gradTol);
    }

    @Test void compressRowsMatchesTheReferenceInPlace() {
        int b = 3, k = 1001;
        float tau = 0.05f;
        Random r = new Random(5);
        float[] zt = new float[b * k], zs = new float[b * k];
        for (int e = 0; e < zt.length; e++) { zt[e] = (float) (2 * r.nextDouble() - 1); zs[e] = 0.6f * zt[e] + 0.4f * (float) r.nextDouble(); }
        Tensor gzt = gpu.upload(zt, b, k), gzs = gpu.upload(zs, b, k), loss = gpu.empty(DType.F32, b);
        ok(LossKernels.compressLossRows(at(gzt), at(gzs), b, k, 1f / tau, at(loss), at(gzs), s()), "compressLossRows");
        double[] lossRef = new double[b], diffRef = new double[b * k], lossTol = new double[b], diffTol = new double[b * k];
        for (int i = 0; i < b; i++) {
            double mt = Double.NEGATIVE_INFINITY, ms = Double.NEGATIVE_INFINITY, lt = 0, ls = 0, kl = 0;
            for (int j = 0; j < k; j++) { mt = Math.max(mt, zt[i * k + j] / tau); ms = Math.max(ms, zs[i * k + j] / tau); }
            for (int j = 0; j < k; j++) { lt += Math.exp(zt[i * k + j] / tau - mt); ls += Math.exp(zs[i * k + j] / tau - ms); }
            for (int j = 0; j < k; j++) {
                double pt = Math.exp(zt[i * k + j] / tau - mt) / lt, ps = Math.exp(zs[i * k + j] / tau - ms) / ls;
                kl += pt * (Math.log(pt) - Math.log(ps));
                diffRef[i * k + j] = (ps - pt) / (tau * b);
                diffTol[i * k + j] = 1e-5 * (ps + pt) / (tau * b) + 1e-12;
            }
            lossRef[i] = kl;
            lossTol[i] = 1e-5 * (1 / tau + kl);
        }
        assertWithin("rows loss", gpu.toFloatArray(loss), lossRef, lossTol);
        assertWithin("rows diff (in place over zs)", gpu.toFloatArray(gzs), diffRef, diffTol);
    }

    @Test void enqueueWrapsAroundAndRoundsToBf16() {
        int k = 10, d = 7, b = 4, start = 8;
        float[] keys = new float[b * d];
        Random r = new Random(9);
        for (int e = 0; e < keys.length; e++) keys[e] = (float) r.nextGaussian();
        keys[0] = 1f + 0x1p-8f;   // a BF16 tie: rounds to even (1.0)
        Tensor bank = gpu.empty(DType.BF16, k, d);
        gpu.elementwise().cast(gpu.upload(new float[k * d], k, d), bank);
        ok(LossKernels.enqueue(at(bank), BF16, k, d, at(gpu.upload(keys, b, d)), b, start, s()), "enqueue");
        float[] got = gpu.toFloatArray(bank);
        for (int row = 0; row < k; row++) {
            int i = ((row - start) % k + k) % k;
            for (int c = 0; c < d; c++) {
                float want = i < b ? BFloat16.toFloat(BFloat16.fromFloat(keys[i * d + c])) : 0f;
                assertEquals(want, got[row * d + c], "bank row " + row + " col " + c);
            }
        }
    }

    @Test void countNonFiniteCountsNanAndInf() {
        float[] x = new float[1003];
        x[3] = Float.NaN;
        x[500] = Float.POSITIVE_INFINITY;
        x[1002] = Float.NEGATIVE_INFINITY;
        x[7] = Float.MAX_VALUE;
        Tensor out = gpu.empty(DType.I32, 1);
        ok(LossKernels.countNonFinite(at(gpu.upload(x, 1003)), 1003, at(out), s()), "countNonFinite");
        assertEquals(3, ((CpuStorage) gpu.download(out).storage()).i32()[0]);
    }

    @Test void meanIsDeterministicAndCorrect() {
        float[] x = new float[4099];
        Random r = new Random(3);
        double sum = 0;
        for (int i = 0; i < x.length; i++) { x[i] = (float) r.nextGaussian(); sum += x[i]; }
        Tensor gx = gpu.upload(x, x.length), out = gpu.empty(DType.F32, 1);
        ok(LossKernels.meanF32(at(gx), x.length, at(out), s()), "meanF32");
        assertWithin("mean", gpu.toFloatArray(out), new double[] {sum / x.length}, new double[] {1e-6});
    }

    @Test void unsupportedAndBadArgumentsSayWhy() {
        assertEquals(-1, LossKernels.compressLossWorkspaceBytes(256, 1000, 300, 128, F32));
        assertTrue(NativeKernels.lastErrorWhere().contains("<= 256"), NativeKernels.lastErrorWhere());
        assertEquals(-1, LossKernels.infoNceWorkspaceBytes(256, 1000, 128, 2));
        assertTrue(NativeKernels.lastErrorWhere().contains("bankType"), NativeKernels.lastErrorWhere());

        Tensor any = gpu.empty(DType.F32, 1024);
        long p = at(any);
        int status = LossKernels.compressLossFused(p, p, p, p, F32, 4, 16, 2048, 512, 25f, p, p, p, p, 1 << 20, s());
        assertEquals(801, status, "cudaErrorNotSupported");
        CudaException e = assertThrows(CudaException.class, () -> ok(status, "compressLossFused"));
        assertTrue(e.getMessage().contains("unfused"), e.getMessage());

        int small = LossKernels.compressLossFused(p, p, p, p, F32, 4, 16, 8, 8, 25f, p, p, p, p, 16, s());
        assertEquals(1, small, "cudaErrorInvalidValue");
        assertTrue(NativeKernels.lastErrorWhere().contains("workspace too small"), NativeKernels.lastErrorWhere());

        int oneBankDims = LossKernels.compressLossFused(p, p, p, p, F32, 4, 16, 8, 16, 25f, p, p, p, p, 1 << 20, s());
        assertEquals(1, oneBankDims);
        assertTrue(NativeKernels.lastErrorWhere().contains("Dt == Ds"), NativeKernels.lastErrorWhere());

        int badEnqueue = LossKernels.enqueue(p, F32, 4, 8, p, 5, 0, s());
        assertEquals(1, badEnqueue);
        assertTrue(NativeKernels.lastErrorWhere().contains("B must be <= K"), NativeKernels.lastErrorWhere());
    }
}
