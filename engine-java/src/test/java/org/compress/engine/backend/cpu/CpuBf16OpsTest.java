// The CPU ops on BF16 tensors are the exact emulation the GPU's BF16 path is tested against: each one equals
// the same op in F32 on the same (bf16-representable) values with its output rounded to bf16 ONCE, bitwise
// (convolution forward/backward-data/backward-filter, batch norm training/inference/backward with FP32
// statistics, max and adaptive pooling, activations, the fused add, axpy). Plus the conversion op (round to
// nearest even, NCHW <-> NHWC as a pure permutation, the list form equals one call per pair) and bad inputs.
package org.compress.engine.backend.cpu;

import static org.compress.engine.testing.Close.assertBitwise;
import static org.compress.engine.testing.Close.assertFiniteNonZero;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.compress.engine.ops.Activation;
import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.ConvertOp;
import org.compress.engine.ops.PoolParams;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CpuBf16OpsTest {
    final CpuBackend cpu = new CpuBackend();

    /** A BF16 tensor holding round_bf16(values). */
    Tensor bf16(float[] values, int... shape) {
        Tensor t = cpu.empty(DType.BF16, shape);
        cpu.convert().convert(cpu.upload(values, shape), t);
        return t;
    }

    /** The same values as an F32 tensor (exact: every bf16 value is a float). */
    Tensor widened(Tensor bf16) {
        Tensor t = cpu.empty(DType.F32, bf16.shape());
        cpu.convert().convert(bf16, t);
        return t;
    }

    static float[] rounded(float[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = BFloat16.round(v[i]);
        return r;
    }

    /** The BF16 result must be the F32 result on the same values, rounded once. */
    void assertRoundedOnce(String what, Tensor bf16Result, Tensor f32Result) {
        float[] got = cpu.toFloatArray(bf16Result), ref = cpu.toFloatArray(f32Result);
        assertFiniteNonZero(what, got);
        assertBitwise(what, got, rounded(ref));
    }

    @ParameterizedTest(name = "conv n={0} c={1} {2}x{3} k={4} r={5} s={6} p={7} g={8}")
    @CsvSource({"1,3,7,7,5,3,1,1,1", "3,5,8,7,12,3,2,1,1", "2,6,9,9,6,3,1,1,6", "2,16,8,8,24,1,2,0,1", "1,3,15,15,7,7,2,3,1"})
    void convolutionInBf16IsTheF32ConvolutionRoundedOnce(int n, int c, int h, int w, int k, int r, int s, int p, int g) {
        Conv2dParams geo = new Conv2dParams(s, s, p, p, 1, 1, g);
        int oh = geo.outH(h, r), ow = geo.outW(w, r);
        Tensor x = bf16(Fills.uniform(1, n * c * h * w, -1, 1), n, c, h, w);
        Tensor wt = bf16(Fills.uniform(2, k * c / g * r * r, -1, 1), k, c / g, r, r);
        Tensor dy = bf16(Fills.uniform(3, n * k * oh * ow, -1, 1), n, k, oh, ow);
        Tensor y = cpu.empty(DType.BF16, n, k, oh, ow), y32 = cpu.empty(DType.F32, n, k, oh, ow);
        cpu.convolution().forward(x, wt, null, y, geo);
        cpu.convolution().forward(widened(x), widened(wt), null, y32, geo);
        assertRoundedOnce("forward", y, y32);
        Tensor dx = cpu.empty(DType.BF16, n, c, h, w), dx32 = cpu.empty(DType.F32, n, c, h, w);
        cpu.convolution().backwardData(dy, wt, dx, geo);
        cpu.convolution().backwardData(widened(dy), widened(wt), dx32, geo);
        assertRoundedOnce("backward data", dx, dx32);
        Tensor dw = cpu.empty(DType.BF16, wt.shape()), dw32 = cpu.empty(DType.F32, wt.shape());
        cpu.convolution().backwardFilter(x, dy, dw, geo);
        cpu.convolution().backwardFilter(widened(x), widened(dy), dw32, geo);
        assertRoundedOnce("backward filter", dw, dw32);
        // The direct oracle takes BF16 the same way.
        Tensor yo = cpu.empty(DType.BF16, n, k, oh, ow), yo32 = cpu.empty(DType.F32, n, k, oh, ow);
        new CpuConvolution().forward(x, wt, null, yo, geo);
        new CpuConvolution().forward(widened(x), widened(wt), null, yo32, geo);
        assertRoundedOnce("oracle forward", yo, yo32);
    }

    @Test void batchNormInBf16KeepsFp32StatisticsAndRoundsItsOutputsOnce() {
        int n = 3, c = 5, h = 4, w = 3;
        Tensor x = bf16(Fills.uniform(4, n * c * h * w, -2, 3), n, c, h, w);
        Tensor dy = bf16(Fills.uniform(5, n * c * h * w, -1, 1), n, c, h, w);
        float[] gamma = Fills.uniform(6, c, 0.5f, 1.5f), beta = Fills.uniform(7, c, -0.5f, 0.5f);
        Tensor[] bf = perChannel(gamma, beta), f32 = perChannel(gamma, beta);
        Tensor y = cpu.empty(DType.BF16, x.shape()), y32 = cpu.empty(DType.F32, x.shape());
        cpu.batchNorm().forwardTraining(x, bf[0], bf[1], bf[2], bf[3], 0.1f, 1e-5f, y, bf[4], bf[5]);
        cpu.batchNorm().forwardTraining(widened(x), f32[0], f32[1], f32[2], f32[3], 0.1f, 1e-5f, y32, f32[4], f32[5]);
        assertRoundedOnce("training y", y, y32);
        for (int i = 2; i < 6; i++) assertBitwise("per-channel tensor " + i + " (F32)", cpu.toFloatArray(bf[i]), cpu.toFloatArray(f32[i]));
        Tensor dx = cpu.empty(DType.BF16, x.shape()), dx32 = cpu.empty(DType.F32, x.shape());
        Tensor dg = cpu.empty(DType.F32, c), db = cpu.empty(DType.F32, c), dg32 = cpu.empty(DType.F32, c), db32 = cpu.empty(DType.F32, c);
        cpu.batchNorm().backward(x, dy, bf[0], bf[4], bf[5], 1e-5f, dx, dg, db);
        cpu.batchNorm().backward(widened(x), widened(dy), f32[0], f32[4], f32[5], 1e-5f, dx32, dg32, db32);
        assertRoundedOnce("backward dx", dx, dx32);
        assertBitwise("dgamma (F32)", cpu.toFloatArray(dg), cpu.toFloatArray(dg32));
        assertBitwise("dbeta (F32)", cpu.toFloatArray(db), cpu.toFloatArray(db32));
        Tensor yi = cpu.empty(DType.BF16, x.shape()), yi32 = cpu.empty(DType.F32, x.shape());
        cpu.batchNorm().forwardInference(x, bf[0], bf[1], bf[2], bf[3], 1e-5f, yi);
        cpu.batchNorm().forwardInference(widened(x), f32[0], f32[1], f32[2], f32[3], 1e-5f, yi32);
        assertRoundedOnce("inference y", yi, yi32);
    }

    /** gamma, beta, running mean (0), running var (1), save mean, save invstd: all F32. */
    Tensor[] perChannel(float[] gamma, float[] beta) {
        int c = gamma.length;
        Tensor rm = cpu.zeros(DType.F32, c), rv = cpu.empty(DType.F32, c);
        cpu.elementwise().fill(rv, 1f);
        return new Tensor[] {cpu.upload(gamma, c), cpu.upload(beta, c), rm, rv, cpu.empty(DType.F32, c), cpu.empty(DType.F32, c)};
    }

    @Test void poolingActivationsAndAxpyInBf16AreTheF32OpsRoundedOnce() {
        int n = 2, c = 3, h = 7, w = 6;
        Tensor x = bf16(Fills.uniform(8, n * c * h * w, -3, 3), n, c, h, w);
        PoolParams pp = PoolParams.of(3, 2, 1);
        int oh = pp.outH(h), ow = pp.outW(w);
        Tensor y = cpu.empty(DType.BF16, n, c, oh, ow), y32 = cpu.empty(DType.F32, n, c, oh, ow);
        cpu.pooling().maxForward(x, y, pp);
        cpu.pooling().maxForward(widened(x), y32, pp);
        assertRoundedOnce("max pool", y, y32);
        Tensor dy = bf16(Fills.uniform(9, n * c * oh * ow, -1, 1), n, c, oh, ow);
        Tensor dx = cpu.empty(DType.BF16, x.shape()), dx32 = cpu.empty(DType.F32, x.shape());
        cpu.pooling().maxBackward(x, y, dy, dx, pp);
        cpu.pooling().maxBackward(widened(x), y32, widened(dy), dx32, pp);
        assertRoundedOnce("max pool backward", dx, dx32);

        Tensor a = cpu.empty(DType.BF16, n, c, 3, 2), a32 = cpu.empty(DType.F32, n, c, 3, 2);
        cpu.pooling().adaptiveAvgForward(x, a);
        cpu.pooling().adaptiveAvgForward(widened(x), a32);
        assertRoundedOnce("adaptive avg pool", a, a32);
        Tensor da = bf16(Fills.uniform(10, n * c * 6, -1, 1), n, c, 3, 2);
        cpu.pooling().adaptiveAvgBackward(da, dx);
        cpu.pooling().adaptiveAvgBackward(widened(da), dx32);
        assertRoundedOnce("adaptive avg pool backward", dx, dx32);

        Tensor b = bf16(Fills.uniform(11, n * c * h * w, -3, 3), n, c, h, w);
        for (Activation act : Activation.values()) {
            Tensor out = cpu.empty(DType.BF16, x.shape()), out32 = cpu.empty(DType.F32, x.shape());
            cpu.activation().addForward(act, x, b, out);
            cpu.activation().addForward(act, widened(x), widened(b), out32);
            assertRoundedOnce("add + " + act, out, out32);
            cpu.activation().forward(act, x, out);
            cpu.activation().forward(act, widened(x), out32);
            assertRoundedOnce(act.toString(), out, out32);
            Tensor g = cpu.empty(DType.BF16, x.shape()), g32 = cpu.empty(DType.F32, x.shape());
            cpu.activation().backward(act, out, b, g);
            cpu.activation().backward(act, out32, widened(b), g32);
            assertRoundedOnce(act + " backward", g, g32);
        }
        Tensor sum = bf16(cpu.toFloatArray(x), x.shape()), sum32 = widened(x);
        cpu.elementwise().axpy(0.75f, b, sum);
        cpu.elementwise().axpy(0.75f, widened(b), sum32);
        assertRoundedOnce("axpy", sum, sum32);
    }

    @Test void conversionRoundsToNearestEvenAndPermutesLayoutsExactly() {
        // 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even one (1).
        float[] ties = {1f + 0x1p-8f, 1f + 3 * 0x1p-8f, -(1f + 0x1p-8f), 0x1p-133f, Float.MAX_VALUE};
        Tensor t = bf16(ties, ties.length);
        float[] got = cpu.toFloatArray(t);
        assertEquals(1f, got[0]);
        assertEquals(1f + 0x1p-6f, got[1]);
        assertEquals(-1f, got[2]);
        for (int i = 0; i < ties.length; i++) assertEquals(BFloat16.round(ties[i]), got[i], "element " + i);

        int n = 2, c = 3, h = 4, w = 5;
        float[] nchw = Fills.uniform(12, n * c * h * w, -1, 1);
        Tensor src = cpu.upload(nchw, n, c, h, w);
        Tensor nhwc = cpu.empty(DType.BF16, MemoryFormat.CHANNELS_LAST, n, c, h, w);
        cpu.convert().convert(src, nhwc);
        short[] bits = nhwc.cpuStorage().u16();
        for (int b = 0; b < n; b++) for (int ch = 0; ch < c; ch++) for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) {
            float want = BFloat16.round(nchw[((b * c + ch) * h + i) * w + j]);
            assertEquals(want, BFloat16.toFloat(bits[((b * h + i) * w + j) * c + ch]), "NHWC element " + b + "," + ch + "," + i + "," + j);
        }
        Tensor back = cpu.empty(DType.F32, n, c, h, w);
        cpu.convert().convert(nhwc, back);
        assertBitwise("NHWC BF16 -> NCHW F32", cpu.toFloatArray(back), rounded(nchw));

        Tensor cl32 = cpu.empty(DType.F32, MemoryFormat.CHANNELS_LAST, n, c, h, w), again = cpu.empty(DType.F32, n, c, h, w);
        cpu.convert().convert(src, cl32);
        cpu.convert().convert(cl32, again);
        assertBitwise("NCHW -> NHWC -> NCHW in F32 is the identity", cpu.toFloatArray(again), nchw);

        Tensor a = cpu.upload(Fills.uniform(13, 7, -1, 1), 7), a16 = cpu.empty(DType.BF16, 7);
        Tensor b16 = cpu.empty(DType.BF16, MemoryFormat.CHANNELS_LAST, n, c, h, w);
        try (ConvertOp.Group g = cpu.convert().prepare(List.of(a, src), List.of(a16, b16))) {
            assertEquals(2, g.size());
            cpu.convert().run(g);
        }
        assertBitwise("list form, tensor 0", cpu.toFloatArray(a16), rounded(cpu.toFloatArray(a)));
        assertBitwise("list form, tensor 1 (NHWC storage)", toFloats(b16.cpuStorage().u16()), toFloats(bits));
    }

    static float[] toFloats(short[] bits) {
        float[] f = new float[bits.length];
        for (int i = 0; i < bits.length; i++) f[i] = BFloat16.toFloat(bits[i]);
        return f;
    }

    @Test void bf16OpsRejectMixedDtypesAndBadConversions() {
        Tensor x = cpu.zeros(DType.BF16, 2, 3, 4, 4), x32 = cpu.zeros(DType.F32, 2, 3, 4, 4);
        var act = assertThrows(ShapeMismatchException.class, () -> cpu.activation().forward(Activation.RELU, x, x32));
        assertTrue(act.getMessage().contains("expected dtype BF16") && act.getMessage().contains("F32"), act.getMessage());
        var conv = assertThrows(ShapeMismatchException.class, () -> cpu.convolution().forward(x, cpu.zeros(DType.F32, 5, 3, 3, 3), null,
                cpu.zeros(DType.BF16, 2, 5, 2, 2), Conv2dParams.of(1, 0)));
        assertTrue(conv.getMessage().contains("conv2d w (the dtype of x)"), conv.getMessage());
        var bias = assertThrows(ShapeMismatchException.class, () -> cpu.convolution().forward(x, cpu.zeros(DType.BF16, 5, 3, 3, 3),
                cpu.zeros(DType.F32, 5), cpu.zeros(DType.BF16, 2, 5, 2, 2), Conv2dParams.of(1, 0)));
        assertTrue(bias.getMessage().contains("conv2d y with a bias"), bias.getMessage());
        var bn = assertThrows(ShapeMismatchException.class, () -> cpu.batchNorm().forwardInference(x, cpu.zeros(DType.BF16, 3),
                cpu.zeros(DType.F32, 3), cpu.zeros(DType.F32, 3), cpu.zeros(DType.F32, 3), 1e-5f, cpu.zeros(DType.BF16, 2, 3, 4, 4)));
        assertTrue(bn.getMessage().contains("per-channel") && bn.getMessage().contains("F32"), bn.getMessage());
        var pool = assertThrows(ShapeMismatchException.class, () -> cpu.pooling().adaptiveAvgForward(x, cpu.zeros(DType.F32, 2, 3, 1, 1)));
        assertTrue(pool.getMessage().contains("the dtype of x"), pool.getMessage());
        var axpy = assertThrows(ShapeMismatchException.class, () -> cpu.elementwise().axpy(1f, x, x32));
        assertTrue(axpy.getMessage().contains("axpy y"), axpy.getMessage());
        var shape = assertThrows(ShapeMismatchException.class, () -> cpu.convert().convert(x, cpu.zeros(DType.F32, 2, 3, 4, 5)));
        assertTrue(shape.getMessage().contains("shapes differ"), shape.getMessage());
        var type = assertThrows(ShapeMismatchException.class, () -> cpu.convert().convert(cpu.zeros(DType.I32, 3), cpu.zeros(DType.F32, 3)));
        assertTrue(type.getMessage().contains("convert source"), type.getMessage());
        Tensor whole = cpu.zeros(DType.F32, 8);
        var alias = assertThrows(IllegalArgumentException.class, () -> cpu.convert().convert(whole, whole.reshape(2, 4).reshape(8)));
        assertTrue(alias.getMessage().contains("share storage"), alias.getMessage());
        var lists = assertThrows(ShapeMismatchException.class, () -> cpu.convert().prepare(List.of(whole), List.of()));
        assertTrue(lists.getMessage().contains("as many targets as sources"), lists.getMessage());
        // The CPU ops are NCHW only: a channels-last tensor is refused with what was found.
        Tensor cl = cpu.empty(DType.BF16, MemoryFormat.CHANNELS_LAST, 2, 3, 4, 4), clOut = cpu.empty(DType.BF16, MemoryFormat.CHANNELS_LAST, 2, 3, 2, 2);
        var layout = assertThrows(ShapeMismatchException.class, () -> cpu.pooling().maxForward(cl, clOut, PoolParams.of(2, 2, 0)));
        assertTrue(layout.getMessage().contains("expected a CONTIGUOUS tensor") && layout.getMessage().contains("channels_last"),
                layout.getMessage());
    }
}
