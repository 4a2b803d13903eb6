// Every layer on the CPU reference: fp32 forward vs an independent double definition, and backward vs
// central finite differences of that definition in double (L = sum(w * y) for a fixed random w). Odd shapes:
// batch 1 and 3, 7x7 inputs, stride 2, 3 and 5 channels, groups, padding. Tolerances: fp32 forward ~1e-6
// relative; gradients 1e-4 absolute + 1e-4 relative (fp32 sums of <= a few hundred terms vs double).
package org.compress.engine.nn;

import static org.compress.engine.testing.Close.assertClose;
import static org.compress.engine.testing.Close.assertFiniteNonZero;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class LayerGradcheckTest {
    static final Backend cpu = new CpuBackend();
    static final double GRAD_ATOL = 1e-4, GRAD_RTOL = 1e-4;

    static Tensor t(float[] v, int... shape) { return cpu.upload(v, shape); }

    static float[] f(Tensor t) { return cpu.toFloatArray(t); }

    @ParameterizedTest(name = "conv n={0} c={1} {2}x{3} k={4} r={5} stride={6} pad={7} groups={8} bias={9}")
    @CsvSource({"1,3,7,7,5,3,1,1,1,false", "3,5,7,7,4,3,2,1,1,true", "3,3,7,7,3,3,1,1,3,false", "1,5,7,6,3,1,2,0,1,true",
                "2,4,5,5,6,3,2,0,2,true"})
    void conv2dForwardAndBackward(int n, int c, int h, int w, int k, int r, int stride, int pad, int groups, boolean bias) {
        float[] xv = Fills.uniform(1, n * c * h * w, -1, 1), wv = Fills.uniform(2, k * c / groups * r * r, -1, 1);
        float[] bv = bias ? Fills.uniform(3, k, -1, 1) : null;
        Conv2d conv = new Conv2d(cpu, t(wv, k, c / groups, r, r), bias ? t(bv, k) : null, stride, pad, groups);
        Tensor y = conv.forward(t(xv, n, c, h, w));
        double[] x = DoubleRef.toDouble(xv), wt = DoubleRef.toDouble(wv), b = bias ? DoubleRef.toDouble(bv) : null;
        assertClose("conv forward", f(y), DoubleRef.conv(x, n, c, h, w, wt, k, r, b, stride, pad, groups), 1e-5, 1e-5);
        float[] up = Fills.uniform(4, (int) y.numel(), -1, 1);
        Tensor dx = conv.backward(t(up, y.shape()));
        java.util.function.DoubleSupplier loss = () -> DoubleRef.dot(DoubleRef.conv(x, n, c, h, w, wt, k, r, b, stride, pad, groups), up);
        assertClose("conv dx", f(dx), DoubleRef.numericGrad(x, loss), GRAD_ATOL, GRAD_RTOL);
        assertClose("conv dw", f(conv.weight().grad()), DoubleRef.numericGrad(wt, loss), GRAD_ATOL, GRAD_RTOL);
        if (bias) assertClose("conv db", f(conv.bias().grad()), DoubleRef.numericGrad(b, loss), GRAD_ATOL, GRAD_RTOL);
    }

    @ParameterizedTest(name = "batchnorm n={0} c={1} {2}x{2}")
    @CsvSource({"1,3,7", "3,5,7", "4,3,1", "2,5,3"})
    void batchNormTrainingForwardAndBackward(int n, int c, int hw) {
        BatchNorm2d bn = new BatchNorm2d(cpu, c);
        float[] gv = Fills.uniform(5, c, 0.5f, 1.5f), bv = Fills.uniform(6, c, -0.5f, 0.5f);
        cpu.elementwise().copy(t(gv, c), bn.weight().value());
        cpu.elementwise().copy(t(bv, c), bn.bias().value());
        float[] xv = Fills.uniform(7, n * c * hw * hw, -2, 3);
        Tensor y = bn.forward(t(xv, n, c, hw, hw));
        double[] x = DoubleRef.toDouble(xv), g = DoubleRef.toDouble(gv), b = DoubleRef.toDouble(bv);
        assertClose("bn forward", f(y), DoubleRef.batchNormTrain(x, n, c, hw * hw, g, b, 1e-5), 1e-5, 1e-5);
        float[] up = Fills.uniform(8, xv.length, -1, 1);
        Tensor dx = bn.backward(t(up, y.shape()));
        java.util.function.DoubleSupplier loss = () -> DoubleRef.dot(DoubleRef.batchNormTrain(x, n, c, hw * hw, g, b, 1e-5), up);
        // BN's dx is a difference of near-equal terms: its fp32 error grows with 1/sqrt(var + eps) — 1e-3 absolute.
        assertClose("bn dx", f(dx), DoubleRef.numericGrad(x, loss), 1e-3, 1e-3);
        assertClose("bn dgamma", f(bn.weight().grad()), DoubleRef.numericGrad(g, loss), GRAD_ATOL, GRAD_RTOL);
        assertClose("bn dbeta", f(bn.bias().grad()), DoubleRef.numericGrad(b, loss), GRAD_ATOL, GRAD_RTOL);
    }

    @ParameterizedTest(name = "maxpool n={0} c={1} {2}x{3} k={4} s={5} p={6}")
    @CsvSource({"1,3,7,7,3,2,1", "3,5,7,7,2,2,0", "2,3,6,5,3,1,1"})
    void maxPoolForwardAndBackward(int n, int c, int h, int w, int k, int s, int p) {
        MaxPool2d pool = new MaxPool2d(cpu, k, s, p);
        float[] xv = Fills.uniform(9, n * c * h * w, -1, 1); // distinct values: no ties, so the gradient is defined
        Tensor y = pool.forward(t(xv, n, c, h, w));
        double[] x = DoubleRef.toDouble(xv);
        assertClose("maxpool forward", f(y), DoubleRef.maxPool(x, n * c, h, w, k, s, p), 0, 0);
        float[] up = Fills.uniform(10, (int) y.numel(), -1, 1);
        Tensor dx = pool.backward(t(up, y.shape()));
        assertClose("maxpool dx", f(dx), DoubleRef.numericGrad(x, () -> DoubleRef.dot(DoubleRef.maxPool(x, n * c, h, w, k, s, p), up)),
                GRAD_ATOL, GRAD_RTOL);
    }

    @Test void maxPoolTieSendsTheGradientToTheFirstMaximumOnly() {
        MaxPool2d pool = new MaxPool2d(cpu, 2, 2, 0);
        Tensor y = pool.forward(t(new float[] {5, 5, 1, 5}, 1, 1, 2, 2));
        assertEquals(5f, f(y)[0]);
        float[] dx = f(pool.backward(t(new float[] {3}, 1, 1, 1, 1)));
        assertClose("tie gradient", dx, new double[] {3, 0, 0, 0}, 0, 0);
    }

    @ParameterizedTest(name = "adaptive avgpool n={0} c={1} {2}x{3} -> {4}x{5}")
    @CsvSource({"3,5,7,7,1,1", "1,3,7,7,3,3", "2,3,5,8,2,3", "1,2,7,7,7,7"})
    void adaptiveAvgPoolForwardAndBackward(int n, int c, int h, int w, int oh, int ow) {
        AdaptiveAvgPool2d pool = new AdaptiveAvgPool2d(cpu, oh, ow);
        float[] xv = Fills.uniform(11, n * c * h * w, -1, 1);
        Tensor y = pool.forward(t(xv, n, c, h, w));
        double[] x = DoubleRef.toDouble(xv);
        assertClose("avgpool forward", f(y), DoubleRef.adaptiveAvg(x, n * c, h, w, oh, ow), 1e-6, 1e-6);
        float[] up = Fills.uniform(12, (int) y.numel(), -1, 1);
        Tensor dx = pool.backward(t(up, y.shape()));
        assertClose("avgpool dx", f(dx), DoubleRef.numericGrad(x, () -> DoubleRef.dot(DoubleRef.adaptiveAvg(x, n * c, h, w, oh, ow), up)),
                GRAD_ATOL, GRAD_RTOL);
    }

    @ParameterizedTest(name = "linear n={0} {1}->{2} bias={3}")
    @CsvSource({"1,5,3,true", "3,7,5,false", "4,1,1,true"})
    void linearForwardAndBackward(int n, int in, int out, boolean bias) {
        float[] wv = Fills.uniform(13, out * in, -1, 1), bv = Fills.uniform(14, out, -1, 1), xv = Fills.uniform(15, n * in, -1, 1);
        Linear lin = new Linear(cpu, t(wv, out, in), bias ? t(bv, out) : null);
        Tensor y = lin.forward(t(xv, n, in));
        double[] x = DoubleRef.toDouble(xv), wt = DoubleRef.toDouble(wv), b = bias ? DoubleRef.toDouble(bv) : null;
        assertClose("linear forward", f(y), DoubleRef.linear(x, n, in, wt, out, b), 1e-6, 1e-6);
        float[] up = Fills.uniform(16, n * out, -1, 1);
        Tensor dx = lin.backward(t(up, n, out));
        java.util.function.DoubleSupplier loss = () -> DoubleRef.dot(DoubleRef.linear(x, n, in, wt, out, b), up);
        assertClose("linear dx", f(dx), DoubleRef.numericGrad(x, loss), GRAD_ATOL, GRAD_RTOL);
        assertClose("linear dw", f(lin.weight().grad()), DoubleRef.numericGrad(wt, loss), GRAD_ATOL, GRAD_RTOL);
        if (bias) assertClose("linear db", f(lin.bias().grad()), DoubleRef.numericGrad(b, loss), GRAD_ATOL, GRAD_RTOL);
    }

    @Test void reluAndRelu6ForwardAndBackward() {
        float[] xv = Fills.uniform(17, 3 * 5 * 7, -8, 8);
        for (double cap : new double[] {Double.POSITIVE_INFINITY, 6}) {
            ReLU relu = cap == 6 ? ReLU.relu6(cpu) : new ReLU(cpu);
            Tensor y = relu.forward(t(xv, 3, 5, 7));
            double[] x = DoubleRef.toDouble(xv);
            assertClose("relu forward cap " + cap, f(y), DoubleRef.relu(x, cap), 0, 0);
            float[] up = Fills.uniform(18, xv.length, -1, 1);
            Tensor dx = relu.backward(t(up, 3, 5, 7));
            assertClose("relu dx cap " + cap, f(dx), DoubleRef.numericGrad(x, () -> DoubleRef.dot(DoubleRef.relu(x, cap), up)),
                    GRAD_ATOL, GRAD_RTOL);
        }
    }

    @Test void basicBlockWithDownsampleMatchesTheComposedDefinition() {
        // conv(3x3, s2) -> BN -> ReLU -> conv(3x3) -> BN, + (1x1 conv s2 -> BN)(x), ReLU; BN affine = (1, 0) as built.
        int n = 3, c = 3, h = 7, planes = 5;
        BasicBlock block = new BasicBlock(cpu, new Init(19), c, planes, 2);
        var params = block.namedParameters();
        assertEquals(java.util.List.of("conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias",
                "downsample.0.weight", "downsample.1.weight", "downsample.1.bias"), java.util.List.copyOf(params.keySet()));
        double[] w1 = DoubleRef.toDouble(f(params.get("conv1.weight").value()));
        double[] w2 = DoubleRef.toDouble(f(params.get("conv2.weight").value()));
        double[] wd = DoubleRef.toDouble(f(params.get("downsample.0.weight").value()));
        float[] xv = Fills.uniform(20, n * c * h * h, -1, 1);
        double[] x = DoubleRef.toDouble(xv);
        double[] ones = {1, 1, 1, 1, 1}, zeros = new double[5];
        java.util.function.Supplier<double[]> ref = () -> {
            double[] a = DoubleRef.relu(DoubleRef.batchNormTrain(DoubleRef.conv(x, n, c, h, h, w1, planes, 3, null, 2, 1, 1), n, planes, 16, ones, zeros, 1e-5), Double.POSITIVE_INFINITY);
            double[] m = DoubleRef.batchNormTrain(DoubleRef.conv(a, n, planes, 4, 4, w2, planes, 3, null, 1, 1, 1), n, planes, 16, ones, zeros, 1e-5);
            double[] s = DoubleRef.batchNormTrain(DoubleRef.conv(x, n, c, h, h, wd, planes, 1, null, 2, 0, 1), n, planes, 16, ones, zeros, 1e-5);
            return DoubleRef.relu(DoubleRef.add(m, s), Double.POSITIVE_INFINITY);
        };
        Tensor y = block.forward(t(xv, n, c, h, h));
        assertClose("block forward", f(y), ref.get(), 1e-5, 1e-5);
        float[] up = Fills.uniform(21, (int) y.numel(), -1, 1);
        Tensor dx = block.backward(t(up, y.shape()));
        java.util.function.DoubleSupplier loss = () -> DoubleRef.dot(ref.get(), up);
        assertClose("block dx", f(dx), DoubleRef.numericGrad(x, loss), 1e-3, 1e-3);
        assertClose("block conv1 dw", f(params.get("conv1.weight").grad()), DoubleRef.numericGrad(w1, loss), 1e-3, 1e-3);
        assertClose("block downsample dw", f(params.get("downsample.0.weight").grad()), DoubleRef.numericGrad(wd, loss), 1e-3, 1e-3);
    }

    @Test void dropoutIsSeededInvertedAndIdentityInEval() {
        Dropout drop = new Dropout(cpu, 0.25f, 42);
        float[] xv = Fills.uniform(22, 4000, 1, 2);
        Tensor y = drop.forward(t(xv, 40, 100));
        float[] yv = f(y);
        int kept = 0;
        for (int i = 0; i < yv.length; i++) {
            if (yv[i] != 0) {
                kept++;
                assertEquals(xv[i] / 0.75f, yv[i], 1e-6f);
            }
        }
        assertTrue(Math.abs(kept / 4000.0 - 0.75) < 0.03, "kept fraction " + kept / 4000.0);
        float[] dx = f(drop.backward(t(Fills.uniform(23, 4000, 1, 1), 40, 100)));
        for (int i = 0; i < yv.length; i++) assertEquals(yv[i] != 0 ? 1f / 0.75f : 0f, dx[i], 1e-6f);
        float[] second = f(drop.forward(t(xv, 40, 100)));
        assertTrue(!java.util.Arrays.equals(yv, second), "a new mask each call");
        float[] again = f(new Dropout(cpu, 0.25f, 42).forward(t(xv, 40, 100)));
        assertTrue(java.util.Arrays.equals(yv, again), "same seed, same first mask");
        drop.eval();
        Tensor x = t(xv, 40, 100);
        assertSame(x, drop.forward(x));
    }

    @Test void l2NormalizeLayerWrapsNormalizeOp() {
        L2Normalize norm = new L2Normalize(cpu);
        float[] xv = Fills.uniform(24, 3 * 7, -1, 1);
        float[] y = f(norm.forward(t(xv, 3, 7)));
        for (int r = 0; r < 3; r++) {
            double ss = 0;
            for (int j = 0; j < 7; j++) ss += y[r * 7 + j] * y[r * 7 + j];
            assertEquals(1, ss, 1e-6);
        }
        assertFiniteNonZero("normalize dx", f(norm.backward(t(Fills.uniform(25, 21, -1, 1), 3, 7))));
    }

    @Test void firstLayerSkipsTheInputGradientAndBuffersAreReused() {
        Conv2d conv = new Conv2d(cpu, new Init(26), 3, 4, 3, 1, 1, 1, false);
        conv.setInputGradRequired(false);
        Tensor x = t(Fills.uniform(27, 2 * 3 * 5 * 5, -1, 1), 2, 3, 5, 5);
        Tensor y1 = conv.forward(x);
        assertNull(conv.backward(t(Fills.uniform(28, 2 * 4 * 25, -1, 1), 2, 4, 5, 5)));
        assertFiniteNonZero("dw", f(conv.weight().grad()));
        assertSame(y1, conv.forward(x), "same shape: the output buffer is reused");
    }

    @Test void badShapesAreRejectedWithExpectedAndFound() {
        Conv2d conv = new Conv2d(cpu, new Init(29), 3, 4, 3, 1, 1, 1, false);
        var e = assertThrows(ShapeMismatchException.class, () -> conv.forward(cpu.zeros(org.compress.engine.tensor.DType.F32, 1, 5, 7, 7)));
        assertTrue(e.getMessage().contains("input has 5 channels"), e.getMessage());
        BatchNorm2d bn = new BatchNorm2d(cpu, 3);
        var one = assertThrows(ShapeMismatchException.class, () -> bn.forward(cpu.zeros(org.compress.engine.tensor.DType.F32, 1, 3, 1, 1)));
        assertTrue(one.getMessage().contains("expected more than 1 value per channel"), one.getMessage());
        var ch = assertThrows(ShapeMismatchException.class, () -> bn.forward(cpu.zeros(org.compress.engine.tensor.DType.F32, 2, 4, 3, 3)));
        assertTrue(ch.getMessage().contains("expected shape [4]"), ch.getMessage());
        Linear lin = new Linear(cpu, new Init(30), 5, 2, true);
        var inner = assertThrows(ShapeMismatchException.class, () -> lin.forward(cpu.zeros(org.compress.engine.tensor.DType.F32, 2, 6)));
        assertTrue(inner.getMessage().contains("inner dimensions differ"), inner.getMessage());
    }
}
