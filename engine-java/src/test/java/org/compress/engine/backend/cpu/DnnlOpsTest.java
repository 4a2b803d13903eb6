// The fast CPU backend (CpuBackend.fast(): oneDNN convolutions and sgemm, native batch norm and activations, NHWC
// pooling and bias) against the plain-Java reference (new CpuBackend()), op by op, forward and backward, NCHW and
// CHANNELS_LAST, odd shapes. Tolerances:
//  - convolution, GEMM, activations, pooling, bias: small-integer fills, so every fp32 sum is exact in any order and
//    the fast result must equal the reference bit for bit (a wrong index, layout or padding shows as a difference);
//  - batch norm (real-valued data, where the statistics cannot be exact): the reference sums in double, the fast
//    path sums each row (<= H*W values, or a block of 64 NHWC rows) in float and the rows in double, so its mean and
//    variance carry a relative error of about rows' length * 2^-24 ~ 1e-5 at these sizes; outputs (O(1) values)
//    are held to atol 1e-5 + rtol 1e-4, ten times that bound.
// Skipped, with the reason, where libcompress_cpu.so does not load (no oneDNN on the machine).
package org.compress.engine.backend.cpu;

import static org.compress.engine.testing.Close.assertBitwise;
import static org.compress.engine.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.compress.engine.ops.Activation;
import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.GemmPrecision;
import org.compress.engine.ops.PoolParams;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DnnlOpsTest {
    static CpuBackend fast;
    final CpuBackend ref = new CpuBackend();

    @BeforeAll static void load() {
        assumeTrue(DnnlNative.available(), () -> "no native CPU path here: " + DnnlNative.reason());
        fast = CpuBackend.fast();
        assertTrue(fast.isFast(), "CpuBackend.fast() must run the native ops when the library loads");
    }

    /** A reference-backend NCHW tensor holding data. */
    Tensor nchw(float[] data, int... shape) { return ref.upload(data, shape); }

    /** The same logical tensor in the given format (a reference conversion). */
    Tensor as(Tensor t, MemoryFormat format) {
        if (format == MemoryFormat.CONTIGUOUS) return t;
        Tensor out = ref.empty(DType.F32, format, t.shape());
        ref.convert().convert(t, out);
        return out;
    }

    /** Elements in NCHW order, whatever the tensor's format. */
    float[] logical(Tensor t) { return ref.toFloatArray(as2(t)); }

    Tensor as2(Tensor t) {
        if (t.format() == MemoryFormat.CONTIGUOUS) return t;
        Tensor out = ref.empty(DType.F32, t.shape());
        ref.convert().convert(t, out);
        return out;
    }

    Tensor emptyNaN(MemoryFormat format, int... shape) {
        Tensor t = ref.empty(DType.F32, format, shape);
        ref.elementwise().fill(t, Float.NaN);   // every element must be written
        return t;
    }

    @ParameterizedTest(name = "n={0} c={1} {2}x{3} k={4} r={5} stride={6} pad={7} groups={8} dilation={9} bias={10} {11}")
    @CsvSource({"3,5,7,9,8,3,1,1,1,1,false,CONTIGUOUS", "3,5,7,9,8,3,1,1,1,1,false,CHANNELS_LAST",
                "2,16,8,8,32,3,2,1,1,1,false,CHANNELS_LAST", "2,16,8,8,32,1,2,0,1,1,false,CHANNELS_LAST",
                "2,16,9,9,32,1,2,0,1,1,false,CONTIGUOUS", "4,6,7,7,6,3,1,1,6,1,false,CHANNELS_LAST",
                "4,6,7,7,12,3,2,1,6,1,false,CONTIGUOUS", "2,8,10,10,4,3,1,1,2,1,true,CHANNELS_LAST",
                "1,3,11,13,7,3,1,2,1,2,true,CONTIGUOUS", "5,1,28,28,16,3,1,1,1,1,false,CHANNELS_LAST",
                "3,7,5,5,9,5,2,2,1,1,false,CHANNELS_LAST"})
    void convolutionMatchesTheReferenceBitForBit(int n, int c, int h, int w, int k, int r, int s, int p, int g, int d, boolean withBias,
                                                 MemoryFormat format) {
        Conv2dParams geo = new Conv2dParams(s, s, p, p, d, d, g);
        int oh = geo.outH(h, r), ow = geo.outW(w, r);
        Tensor x = nchw(Fills.smallIntegers(1, n * c * h * w, -3, 3), n, c, h, w);
        Tensor wt = nchw(Fills.smallIntegers(2, k * (c / g) * r * r, -2, 2), k, c / g, r, r);
        Tensor bias = withBias ? ref.upload(Fills.smallIntegers(3, k, -4, 4), k) : null;
        Tensor dy = nchw(Fills.smallIntegers(4, n * k * oh * ow, -3, 3), n, k, oh, ow);

        Tensor yRef = ref.empty(DType.F32, n, k, oh, ow);
        ref.convolution().forward(x, wt, bias, yRef, geo);
        Tensor y = emptyNaN(format, n, k, oh, ow);
        fast.convolution().forward(as(x, format), as(wt, format), bias, y, geo);
        float[] expected = ref.toFloatArray(yRef);
        assertBitwise("forward", logical(y), expected);

        Tensor dxRef = ref.empty(DType.F32, n, c, h, w);
        ref.convolution().backwardData(dy, wt, dxRef, geo);
        Tensor dx = emptyNaN(format, n, c, h, w);
        fast.convolution().backwardData(as(dy, format), as(wt, format), dx, geo);
        assertBitwise("backward data", logical(dx), ref.toFloatArray(dxRef));

        Tensor dwRef = ref.empty(DType.F32, wt.shape());
        ref.convolution().backwardFilter(x, dy, dwRef, geo);
        Tensor dw = emptyNaN(format, wt.shape());
        fast.convolution().backwardFilter(as(x, format), as(dy, format), dw, geo);
        assertBitwise("backward filter", logical(dw), ref.toFloatArray(dwRef));
        assertTrue(nonZero(expected), "the forward output must not be all zeros");
    }

    @ParameterizedTest(name = "transA={0} transB={1} m={2} n={3} k={4} alpha={5} beta={6}")
    @CsvSource({"false,false,7,257,33,1,0", "true,false,7,257,33,1,0", "false,true,31,5,129,2,1", "true,true,1,9,300,-1,0.5",
                "false,false,256,10,64,1,0"})
    void gemmMatchesTheReferenceBitForBit(boolean ta, boolean tb, int m, int n, int k, float alpha, float beta) {
        Tensor a = ta ? ref.upload(Fills.smallIntegers(5, k * m, -3, 3), k, m) : ref.upload(Fills.smallIntegers(5, m * k, -3, 3), m, k);
        Tensor b = tb ? ref.upload(Fills.smallIntegers(6, n * k, -3, 3), n, k) : ref.upload(Fills.smallIntegers(6, k * n, -3, 3), k, n);
        float[] c0 = Fills.smallIntegers(7, m * n, -8, 8);
        if (beta == 0) java.util.Arrays.fill(c0, 0, Math.min(5, c0.length), Float.NaN);   // beta = 0 must ignore C, as BLAS
        Tensor cRef = ref.upload(c0.clone(), m, n), c = ref.upload(c0.clone(), m, n);
        ref.gemm().gemm(ta, tb, alpha, a, b, beta, cRef, GemmPrecision.FP32);
        fast.gemm().gemm(ta, tb, alpha, a, b, beta, c, GemmPrecision.FP32);
        assertBitwise("gemm", ref.toFloatArray(c), ref.toFloatArray(cRef));
    }

    @ParameterizedTest(name = "n={0} c={1} {2}x{3} {4}")
    @CsvSource({"3,5,7,9,CONTIGUOUS", "3,5,7,9,CHANNELS_LAST", "16,32,14,14,CHANNELS_LAST", "16,32,14,14,CONTIGUOUS",
                "256,3,2,2,CHANNELS_LAST", "2,130,1,3,CHANNELS_LAST"})
    void batchNormMatchesTheReference(int n, int c, int h, int w, MemoryFormat format) {
        float eps = 1e-5f, momentum = 0.1f;
        Tensor x = nchw(shifted(Fills.uniform(8, n * c * h * w, -2, 2), c, h * w), n, c, h, w);
        Tensor dy = nchw(Fills.uniform(9, n * c * h * w, -1, 1), n, c, h, w);
        Tensor gamma = ref.upload(Fills.uniform(10, c, 0.5f, 1.5f), c), beta = ref.upload(Fills.uniform(11, c, -1, 1), c);
        float[] rm0 = Fills.uniform(12, c, -1, 1), rv0 = Fills.uniform(13, c, 0.5f, 2);
        // reference
        Tensor rmR = ref.upload(rm0.clone(), c), rvR = ref.upload(rv0.clone(), c), smR = ref.empty(DType.F32, c), siR = ref.empty(DType.F32, c);
        Tensor yR = ref.empty(DType.F32, n, c, h, w);
        ref.batchNorm().forwardTraining(x, gamma, beta, rmR, rvR, momentum, eps, yR, smR, siR);
        Tensor dxR = ref.empty(DType.F32, n, c, h, w), dgR = ref.empty(DType.F32, c), dbR = ref.empty(DType.F32, c);
        ref.batchNorm().backward(x, dy, gamma, smR, siR, eps, dxR, dgR, dbR);
        Tensor yiR = ref.empty(DType.F32, n, c, h, w);
        ref.batchNorm().forwardInference(x, gamma, beta, rmR, rvR, eps, yiR);
        // fast
        Tensor xf = as(x, format), dyf = as(dy, format);
        Tensor rm = ref.upload(rm0.clone(), c), rv = ref.upload(rv0.clone(), c), sm = ref.empty(DType.F32, c), si = ref.empty(DType.F32, c);
        Tensor y = emptyNaN(format, n, c, h, w);
        fast.batchNorm().forwardTraining(xf, gamma, beta, rm, rv, momentum, eps, y, sm, si);
        Tensor dx = emptyNaN(format, n, c, h, w), dg = ref.empty(DType.F32, c), db = ref.empty(DType.F32, c);
        fast.batchNorm().backward(xf, dyf, gamma, sm, si, eps, dx, dg, db);
        Tensor yi = emptyNaN(format, n, c, h, w);
        fast.batchNorm().forwardInference(xf, gamma, beta, rm, rv, eps, yi);

        assertClose("training y", logical(y), ref.toFloatArray(yR), 1e-5, 1e-4);
        assertClose("saved mean", ref.toFloatArray(sm), ref.toFloatArray(smR), 1e-5, 1e-4);
        assertClose("saved inverse std", ref.toFloatArray(si), ref.toFloatArray(siR), 1e-5, 1e-4);
        assertClose("running mean", ref.toFloatArray(rm), ref.toFloatArray(rmR), 1e-5, 1e-4);
        assertClose("running var", ref.toFloatArray(rv), ref.toFloatArray(rvR), 1e-5, 1e-4);
        // dx = k * (M dy - sum dy - xhat sum(dy xhat)): a difference of terms of size M * |dy|; bound it relative to those
        assertClose("backward dx", logical(dx), ref.toFloatArray(dxR), 1e-5, 1e-4);
        assertClose("backward dgamma", ref.toFloatArray(dg), ref.toFloatArray(dgR), 1e-5 * n * h * w, 1e-4);
        assertClose("backward dbeta", ref.toFloatArray(db), ref.toFloatArray(dbR), 1e-5 * n * h * w, 1e-4);
        assertClose("inference y", logical(yi), ref.toFloatArray(yiR), 1e-5, 1e-4);
    }

    /**
     * Channel ch's values offset by ch / 4: distinct non-zero means, so a channel mix-up cannot pass. (Both paths
     * keep the mean as a float, so a mean of size m costs about m * 2^-24 in y; at these sizes m <= 33, 2e-6.)
     */
    static float[] shifted(float[] a, int c, int hw) {
        for (int i = 0; i < a.length; i++) a[i] += 0.25f * ((i / hw) % c);
        return a;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"RELU,CONTIGUOUS", "RELU6,CHANNELS_LAST", "IDENTITY,CONTIGUOUS", "RELU,CHANNELS_LAST"})
    void activationsMatchTheReferenceBitForBit(Activation act, MemoryFormat format) {
        int n = 3, c = 5, h = 7, w = 9;
        Tensor a = as(nchw(Fills.smallIntegers(14, n * c * h * w, -8, 8), n, c, h, w), format);
        Tensor b = as(nchw(Fills.smallIntegers(15, n * c * h * w, -8, 8), n, c, h, w), format);
        Tensor dy = as(nchw(Fills.smallIntegers(16, n * c * h * w, -8, 8), n, c, h, w), format);
        Tensor yRef = ref.empty(DType.F32, format, n, c, h, w), y = emptyNaN(format, n, c, h, w);
        ref.activation().forward(act, a, yRef);
        fast.activation().forward(act, a, y);
        assertBitwise("forward", ref.toFloatArray(y), ref.toFloatArray(yRef));
        ref.activation().addForward(act, a, b, yRef);
        fast.activation().addForward(act, a, b, y);
        assertBitwise("add forward", ref.toFloatArray(y), ref.toFloatArray(yRef));
        Tensor bCopy = as(nchw(Fills.smallIntegers(15, n * c * h * w, -8, 8), n, c, h, w), format);
        fast.activation().addForward(act, a, bCopy, bCopy);   // y aliasing b
        assertBitwise("add forward into b", ref.toFloatArray(bCopy), ref.toFloatArray(yRef));
        Tensor dxRef = ref.empty(DType.F32, format, n, c, h, w);
        ref.activation().backward(act, yRef, dy, dxRef);
        fast.activation().backward(act, yRef, dy, dy);        // dx aliasing dy
        assertBitwise("backward", ref.toFloatArray(dy), ref.toFloatArray(dxRef));
    }

    /**
     * Eval-mode conv + batch norm (+ residual) + activation as one primitive against the fast backend's separate ops
     * and against the plain-Java reference. Small-integer x and w make the separate convolution exact; the fused op
     * folds batch norm into the weights (w * scale rounded to float: every product then carries a relative error of up
     * to u = 2^-24, and the float sum of R*S*C/groups such terms up to that many more), so per output element
     *   |fused - separate| <= (taps + 4) u (|scale| sum|w x| + |mean scale| + |shift| + |residual|),
     * with sum|w x| computed exactly (the reference convolution of |x| and |w|). The reference's batch norm computes
     * x * scale + shift in double: within the same bound.
     */
    @ParameterizedTest(name = "n={0} c={1} {2}x{2} k={3} r={4} stride={5} groups={6} {7} residual={8}")
    @CsvSource({"4,16,14,16,3,1,1,RELU,true", "4,16,14,32,3,2,1,RELU,false", "4,16,9,32,1,2,1,IDENTITY,false",
                "3,12,7,12,3,1,12,RELU6,false", "2,1,28,16,3,1,1,RELU,false", "2,24,5,96,1,1,1,IDENTITY,true",
                "2,8,6,8,3,1,1,RELU6,true"})
    void fusedConvBatchNormActivationIsTheSeparateOpsWithinTheFoldingRoundings(int n, int c, int h, int k, int r, int s, int g,
                                                                             Activation act, boolean withResidual) {
        Conv2dParams geo = new Conv2dParams(s, s, r / 2, r / 2, 1, 1, g);
        int oh = geo.outH(h, r), ow = geo.outW(h, r);
        MemoryFormat nhwc = MemoryFormat.CHANNELS_LAST;
        float[] xv = Fills.smallIntegers(21, n * c * h * h, -2, 2), wv = Fills.smallIntegers(22, k * (c / g) * r * r, -1, 1);
        Tensor x = as(nchw(xv, n, c, h, h), nhwc), w = as(nchw(wv, k, c / g, r, r), nhwc);
        float[] gv = Fills.uniform(23, k, 0.5f, 1.5f), bv = Fills.uniform(24, k, -1, 1), mv = Fills.uniform(25, k, -2, 2);
        float[] vv = Fills.uniform(26, k, 0.5f, 4);
        Tensor gamma = ref.upload(gv, k), beta = ref.upload(bv, k), mean = ref.upload(mv, k), var = ref.upload(vv, k);
        float[] rv = withResidual ? Fills.uniform(27, n * k * oh * ow, -3, 3) : null;
        Tensor residual = withResidual ? as(nchw(rv, n, k, oh, ow), nhwc) : null;
        float eps = 1e-5f;
        assertTrue(fast.convBnAct().supports(x, w, geo));

        Tensor fused = emptyNaN(nhwc, n, k, oh, ow);
        fast.convBnAct().forwardInference(x, w, geo, gamma, beta, mean, var, eps, residual, act, fused);

        Tensor z = emptyNaN(nhwc, n, k, oh, ow), bn = emptyNaN(nhwc, n, k, oh, ow), y = emptyNaN(nhwc, n, k, oh, ow);
        fast.convolution().forward(x, w, null, z, geo);
        fast.batchNorm().forwardInference(z, gamma, beta, mean, var, eps, bn);
        if (residual == null) fast.activation().forward(act, bn, y);
        else fast.activation().addForward(act, bn, residual, y);

        Tensor xr = as2(x), wr = as2(w), zr = ref.empty(DType.F32, n, k, oh, ow), bnr = ref.empty(DType.F32, n, k, oh, ow);
        Tensor yr = ref.empty(DType.F32, n, k, oh, ow);
        ref.convolution().forward(xr, wr, null, zr, geo);
        ref.batchNorm().forwardInference(zr, gamma, beta, mean, var, eps, bnr);
        if (residual == null) ref.activation().forward(act, bnr, yr);
        else ref.activation().addForward(act, bnr, as2(residual), yr);

        // the bound, per element (NCHW order)
        float[] ax = xv.clone(), aw = wv.clone();
        for (int i = 0; i < ax.length; i++) ax[i] = Math.abs(ax[i]);
        for (int i = 0; i < aw.length; i++) aw[i] = Math.abs(aw[i]);
        Tensor sabs = ref.empty(DType.F32, n, k, oh, ow);
        ref.convolution().forward(nchw(ax, n, c, h, h), nchw(aw, k, c / g, r, r), null, sabs, geo);
        float[] sa = ref.toFloatArray(sabs);
        double u = 0x1p-24, taps = (double) r * r * c / g;
        double[] bound = new double[sa.length];
        for (int i = 0; i < sa.length; i++) {
            int ch = (i / (oh * ow)) % k;
            double scale = gv[ch] / Math.sqrt(vv[ch] + eps);
            bound[i] = (taps + 4) * u * (Math.abs(scale) * sa[i] + Math.abs(mv[ch] * scale) + Math.abs(bv[ch]) + (rv == null ? 0 : Math.abs(rv[i])));
        }
        float[] got = logical(fused), separate = logical(y), expected = ref.toFloatArray(yr);
        org.compress.engine.testing.Close.assertWithin("fused vs separate fast ops", got, toDouble(separate), bound);
        org.compress.engine.testing.Close.assertWithin("fused vs the plain-Java reference", got, toDouble(expected), bound);
        assertTrue(nonZero(expected), "the output must not be all zeros");
        assertTrue(!fast.convBnAct().supports(as2(x), wr, geo) && !ref.convBnAct().supports(xr, wr, geo),
                "NCHW activations and the reference backend are not fused");
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    @Test void nhwcPoolingAndBiasMatchTheReferenceBitForBit() {
        int n = 3, c = 5, h = 9, w = 7;
        PoolParams pool = PoolParams.of(3, 2, 1);
        int oh = pool.outH(h), ow = pool.outW(w);
        Tensor x = nchw(Fills.smallIntegers(17, n * c * h * w, -4, 4), n, c, h, w);   // many ties: the first maximum wins
        Tensor y = ref.empty(DType.F32, n, c, oh, ow), dy = nchw(Fills.smallIntegers(18, n * c * oh * ow, -3, 3), n, c, oh, ow);
        ref.pooling().maxForward(x, y, pool);
        Tensor yf = emptyNaN(MemoryFormat.CHANNELS_LAST, n, c, oh, ow);
        fast.pooling().maxForward(as(x, MemoryFormat.CHANNELS_LAST), yf, pool);
        assertBitwise("max forward", logical(yf), ref.toFloatArray(y));
        Tensor dx = ref.empty(DType.F32, n, c, h, w), dxf = emptyNaN(MemoryFormat.CHANNELS_LAST, n, c, h, w);
        ref.pooling().maxBackward(x, y, dy, dx, pool);
        fast.pooling().maxBackward(as(x, MemoryFormat.CHANNELS_LAST), yf, as(dy, MemoryFormat.CHANNELS_LAST), dxf, pool);
        assertBitwise("max backward", logical(dxf), ref.toFloatArray(dx));

        Tensor avg = ref.empty(DType.F32, n, c, 2, 3), avgf = emptyNaN(MemoryFormat.CHANNELS_LAST, n, c, 2, 3);
        ref.pooling().adaptiveAvgForward(x, avg);
        fast.pooling().adaptiveAvgForward(as(x, MemoryFormat.CHANNELS_LAST), avgf);
        assertBitwise("adaptive average forward", logical(avgf), ref.toFloatArray(avg));
        Tensor g = nchw(Fills.smallIntegers(19, n * c * 6, -3, 3), n, c, 2, 3);
        ref.pooling().adaptiveAvgBackward(g, dx);
        fast.pooling().adaptiveAvgBackward(as(g, MemoryFormat.CHANNELS_LAST), dxf);
        assertBitwise("adaptive average backward", logical(dxf), ref.toFloatArray(dx));

        Tensor bias = ref.upload(Fills.smallIntegers(20, c, -5, 5), c);
        Tensor yb = nchw(Fills.smallIntegers(21, n * c * h * w, -4, 4), n, c, h, w), ybf = as(yb, MemoryFormat.CHANNELS_LAST);
        ref.bias().forward(yb, bias);
        fast.bias().forward(ybf, bias);
        assertBitwise("bias forward", logical(ybf), ref.toFloatArray(yb));
        Tensor db = ref.empty(DType.F32, c), dbf = ref.empty(DType.F32, c);
        ref.bias().backward(x, db);
        fast.bias().backward(as(x, MemoryFormat.CHANNELS_LAST), dbf);
        assertBitwise("bias backward", ref.toFloatArray(dbf), ref.toFloatArray(db));
    }

    /**
     * axpy (y += alpha x, the residual gradient's add) on real-valued data: the native loop rounds alpha x and then the
     * sum, exactly as the Java loop (no fused multiply-add), so it must equal the reference bit for bit at every size.
     */
    @ParameterizedTest @CsvSource({"1", "7", "4099", "100003"})
    void axpyMatchesTheReferenceBitForBit(int n) {
        float[] x = Fills.uniform(30 + n, n, -3, 3), y0 = Fills.uniform(31 + n, n, -3, 3);
        Tensor xr = ref.upload(x, n), yr = ref.upload(y0, n), yf = ref.upload(y0.clone(), n);
        ref.elementwise().axpy(0.37f, xr, yr);
        fast.elementwise().axpy(0.37f, xr, yf);
        assertBitwise("axpy n=" + n, ref.toFloatArray(yf), ref.toFloatArray(yr));
        assertTrue(nonZero(ref.toFloatArray(yf)), "finite, non-zero output");
    }

    @Test void bf16OperandsStayOnTheExactReference() {
        int n = 2, c = 3, h = 5, w = 5, k = 4;
        Conv2dParams geo = Conv2dParams.of(1, 1);
        Tensor x = ref.empty(DType.BF16, n, c, h, w), wt = ref.empty(DType.BF16, k, c, 3, 3);
        ref.convert().convert(nchw(Fills.uniform(22, n * c * h * w, -1, 1), n, c, h, w), x);
        ref.convert().convert(nchw(Fills.uniform(23, k * c * 9, -1, 1), k, c, 3, 3), wt);
        Tensor yRef = ref.empty(DType.BF16, n, k, h, w), y = ref.empty(DType.BF16, n, k, h, w);
        ref.convolution().forward(x, wt, null, yRef, geo);
        fast.convolution().forward(x, wt, null, y, geo);
        short[] a = y.cpuStorage().u16(), b = yRef.cpuStorage().u16();
        assertTrue(java.util.Arrays.equals(a, b), "a BF16 convolution on the fast backend must be the reference's, bit for bit");
    }

    static boolean nonZero(float[] a) {
        for (float v : a) if (v != 0) return true;
        return false;
    }
}
