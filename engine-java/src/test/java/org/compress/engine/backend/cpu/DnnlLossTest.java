// The fast CPU CompRess and InfoNCE losses (sgemm logits, native row softmax) against the plain-Java reference,
// which computes every logit in double. Tolerance: with unit-norm rows of d <= 128 values, an fp32 dot product is
// off by at most about d * 2^-24 ~ 8e-6 (1e-6 typically), i.e. 2e-4 in a logit at tau = 0.04; the loss (a KL
// divergence of softmaxes, values ~0.1-10) moves by at most that, so losses are held to atol 5e-4 + rtol 1e-3;
// a gradient element is a sum of K weights (ps - pt) / (tau B) times bank values, held to rtol 1e-3 of its row's
// largest element. A wrong transpose, bank, scale or sign is off by far more.
package org.compress.engine.backend.cpu;

import static org.compress.engine.testing.Close.assertWithin;
import static org.compress.engine.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.compress.engine.backend.Backend;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DnnlLossTest {
    static CpuBackend fast;
    final CpuBackend ref = new CpuBackend();

    @BeforeAll static void load() {
        assumeTrue(DnnlNative.available(), () -> "no native CPU path here: " + DnnlNative.reason());
        fast = CpuBackend.fast();
    }

    static float[] normalizedRows(float[] x, int rows, int d) {
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int c = 0; c < d; c++) ss += (double) x[r * d + c] * x[r * d + c];
            float inv = (float) (1 / Math.sqrt(ss));
            for (int c = 0; c < d; c++) x[r * d + c] *= inv;
        }
        return x;
    }

    record Outputs(float mean, float[] perQuery, float[] grad) {}

    static Outputs compress(Backend be, float[] t, float[] s, float[] qt, float[] qs, int b, int k, int dt, int ds, float tau) {
        Tensor bankT = be.upload(qt, k, dt), bankS = qs == qt && dt == ds ? bankT : be.upload(qs, k, ds);
        Tensor per = be.empty(DType.F32, b), mean = be.empty(DType.F32, 1), grad = be.empty(DType.F32, b, ds);
        be.compressLoss().forwardBackward(be.upload(t.clone(), b, dt), be.upload(s.clone(), b, ds), bankT, bankS, tau, per, mean, grad, null,
                LossPath.AUTO);
        return new Outputs(be.toFloatArray(mean)[0], be.toFloatArray(per), be.toFloatArray(grad));
    }

    static Outputs infoNce(Backend be, float[] q, float[] kp, float[] bank, int b, int k, int d, float tau) {
        Tensor per = be.empty(DType.F32, b), mean = be.empty(DType.F32, 1), grad = be.empty(DType.F32, b, d);
        be.infoNce().forwardBackward(be.upload(q.clone(), b, d), be.upload(kp.clone(), b, d), be.upload(bank, k, d), tau, per, mean, grad,
                null, LossPath.AUTO);
        return new Outputs(be.toFloatArray(mean)[0], be.toFloatArray(per), be.toFloatArray(grad));
    }

    static void compare(String what, Outputs o, Outputs r, int b, int d) {
        assertClose(what + " loss per query", o.perQuery, r.perQuery, 5e-4, 1e-3);
        assertClose(what + " mean loss", new float[] {o.mean}, new float[] {r.mean}, 5e-4, 1e-3);
        double[] refGrad = new double[r.grad.length], bound = new double[r.grad.length];
        for (int i = 0; i < b; i++) {
            double rowMax = 0;
            for (int c = 0; c < d; c++) rowMax = Math.max(rowMax, Math.abs(r.grad[i * d + c]));
            assertTrue(rowMax > 0, what + ": reference gradient row " + i + " is zero");
            for (int c = 0; c < d; c++) {
                refGrad[i * d + c] = r.grad[i * d + c];
                bound[i * d + c] = 1e-3 * rowMax;
            }
        }
        assertWithin(what + " gradient", o.grad, refGrad, bound);
    }

    @ParameterizedTest(name = "b={0} k={1} dt={2} ds={3} tau={4} 1q={5}")
    @CsvSource({"7,1031,128,64,0.04,false", "16,4000,128,128,0.04,false", "5,333,96,96,0.1,true", "1,17,8,8,0.04,false"})
    void compressLossMatchesTheReference(int b, int k, int dt, int ds, float tau, boolean oneQueue) {
        float[] t = normalizedRows(Fills.uniform(1, b * dt, -1, 1), b, dt), s = normalizedRows(Fills.uniform(2, b * ds, -1, 1), b, ds);
        float[] qt = normalizedRows(Fills.uniform(3, k * dt, -1, 1), k, dt);
        float[] qs = oneQueue ? qt : normalizedRows(Fills.uniform(4, k * ds, -1, 1), k, ds);
        compare("compress", compress(fast, t, s, qt, qs, b, k, dt, ds, tau), compress(ref, t, s, qt, qs, b, k, dt, ds, tau), b, ds);
    }

    @ParameterizedTest(name = "b={0} k={1} d={2} tau={3}")
    @CsvSource({"7,1031,128,0.2", "16,4000,128,0.2", "3,5,17,0.07"})
    void infoNceMatchesTheReference(int b, int k, int d, float tau) {
        float[] q = normalizedRows(Fills.uniform(5, b * d, -1, 1), b, d), kp = normalizedRows(Fills.uniform(6, b * d, -1, 1), b, d);
        float[] bank = normalizedRows(Fills.uniform(7, k * d, -1, 1), k, d);
        compare("infonce", infoNce(fast, q, kp, bank, b, k, d, tau), infoNce(ref, q, kp, bank, b, k, d, tau), b, d);
    }
}
