// Every CUDA op of the foundation against the CPU reference: elementwise and casts (bitwise), GEMM in FP32,
// TF32 and BF16 (error bounded by the precision's unit roundoff times sum |a||b|), normalisation forward and
// backward, cuDNN convolution in NCHW and NHWC, and the allocator's steady state.
package org.compress.engine.backend.cuda;

import static org.compress.engine.testing.Close.assertBitwise;
import static org.compress.engine.testing.Close.assertClose;
import static org.compress.engine.testing.Close.assertFiniteNonZero;
import static org.compress.engine.testing.Close.assertWithin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.GemmPrecision;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.compress.engine.testing.GpuTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

@GpuTest
class CudaOpsTest {
    static CudaBackend gpu;
    static final Backend cpu = new CpuBackend();

    @BeforeAll static void open() { gpu = CudaBackend.open(0); }

    @AfterAll static void close() { if (gpu != null) gpu.close(); }

    @Test void fillCopyScaleAxpyMatchTheCpuBitwise() {
        float[] x = Fills.uniform(1, 1037, -3, 3);
        float[] y = Fills.uniform(2, 1037, -3, 3);
        Tensor gx = gpu.upload(x, 1037), gy = gpu.upload(y, 1037);
        Tensor cx = cpu.upload(x, 1037), cy = cpu.upload(y, 1037);
        gpu.elementwise().axpy(0.75f, gx, gy);
        cpu.elementwise().axpy(0.75f, cx, cy);
        gpu.elementwise().scale(gy, -1.5f);
        cpu.elementwise().scale(cy, -1.5f);
        assertBitwise("axpy+scale", gpu.toFloatArray(gy), cpu.toFloatArray(cy));
        Tensor copy = gpu.empty(DType.F32, 1037);
        gpu.elementwise().copy(gy, copy);
        assertBitwise("copy", gpu.toFloatArray(copy), cpu.toFloatArray(cy));
        gpu.elementwise().fill(copy.rows(10, 7), 2.5f);
        float[] filled = gpu.toFloatArray(copy);
        for (int i = 10; i < 17; i++) assertEquals(2.5f, filled[i]);
        assertEquals(cpu.toFloatArray(cy)[17], filled[17], "fill stays inside the view");
    }

    @ParameterizedTest @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void castsRoundLikeTheCpuBitwise(DType half) {
        float[] x = Fills.uniform(3, 4099, -70000, 70000);
        x[0] = Float.NaN;
        x[1] = 1f + 0x1p-8f;
        Tensor g16 = gpu.empty(half, 4099), c16 = cpu.empty(half, 4099);
        gpu.elementwise().cast(gpu.upload(x, 4099), g16);
        cpu.elementwise().cast(cpu.upload(x, 4099), c16);
        float[] g = gpu.toFloatArray(g16), c = cpu.toFloatArray(c16);
        assertTrue(Float.isNaN(g[0]));
        g[0] = c[0] = 0;
        assertBitwise("cast F32->" + half, g, c);
        Tensor back = gpu.empty(DType.F32, 4099);
        gpu.elementwise().cast(g16, back);
        float[] b = gpu.toFloatArray(back);
        b[0] = 0;
        assertBitwise("cast " + half + "->F32", b, c);
    }

    @ParameterizedTest
    @CsvSource({"FP32,1,1,1,false,false", "FP32,7,257,33,false,true", "TF32,257,129,1000,true,false",
                "TF32,64,64,64,false,false", "BF16,255,17,129,true,true", "BF16,256,128,128,false,true"})
    void gemmAgreesWithTheDoubleReferenceWithinItsPrecision(GemmPrecision precision, int m, int n, int k, boolean ta, boolean tb) {
        float[] a = Fills.uniform(10 + m, m * k, -1, 1);
        float[] b = Fills.uniform(20 + n, k * n, -1, 1);
        float[] c0 = Fills.uniform(30, m * n, -1, 1);
        Tensor ca = cpu.upload(a, ta ? k : m, ta ? m : k), cb = cpu.upload(b, tb ? n : k, tb ? k : n);
        if (precision == GemmPrecision.BF16) { // the reference sees the same bf16-rounded inputs
            ca = toBf16(ca);
            cb = toBf16(cb);
        }
        Tensor ga = gpu.upload(ca), gb = gpu.upload(cb);
        Tensor cc = cpu.upload(c0, m, n), gc = gpu.upload(c0, m, n);
        cpu.gemm().gemm(ta, tb, 1.5f, ca, cb, 0.5f, cc, precision);
        gpu.gemm().gemm(ta, tb, 1.5f, ga, gb, 0.5f, gc, precision);
        // |error| <= c * u * (1.5 * sum_p |a||b| + 0.5 |c|), u the input rounding (TF32: 2^-11) or fp32
        // accumulation (2^-24 * k); the factor 4 leaves room for cuBLAS's summation order.
        float[] av = cpu.toFloatArray(ca), bv = cpu.toFloatArray(cb);
        double u = precision == GemmPrecision.TF32 ? 0x1p-10 : 0x1p-24 * Math.max(1, k);
        double[] ref = org.compress.engine.testing.Close.toDouble(cpu.toFloatArray(cc));
        double[] bound = new double[m * n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k; p++) {
                double x = ta ? av[p * m + i] : av[i * k + p];
                double y = tb ? bv[j * k + p] : bv[p * n + j];
                s += Math.abs(x * y);
            }
            bound[i * n + j] = 4 * u * (1.5 * s + 0.5 * Math.abs(c0[i * n + j])) + 1e-30;
        }
        float[] got = gpu.toFloatArray(gc);
        assertFiniteNonZero("gemm " + precision, got);
        assertWithin("gemm " + precision + " " + m + "x" + n + "x" + k, got, ref, bound);
    }

    private static Tensor toBf16(Tensor f32) {
        Tensor t = cpu.empty(DType.BF16, f32.shape());
        cpu.elementwise().cast(f32, t);
        return t;
    }

    @Test void gemmRejectsMismatchedShapesBeforeLaunching() {
        Tensor a = gpu.zeros(DType.F32, 3, 4), b = gpu.zeros(DType.F32, 5, 2), c = gpu.zeros(DType.F32, 3, 2);
        var e = assertThrows(ShapeMismatchException.class, () -> gpu.gemm().gemm(false, false, 1, a, b, 0, c, GemmPrecision.FP32));
        assertTrue(e.getMessage().contains("inner dimensions differ"), e.getMessage());
        Tensor hostC = cpu.zeros(DType.F32, 3, 2);
        assertThrows(ShapeMismatchException.class, () -> gpu.gemm().gemm(false, false, 1, a, gpu.zeros(DType.F32, 4, 2), 0, hostC, GemmPrecision.FP32));
    }

    @ParameterizedTest @CsvSource({"1,1", "7,128", "257,2048", "33,1000"})
    void normalizeForwardAndBackwardMatchTheCpu(int rows, int cols) {
        float[] x = Fills.uniform(40 + rows, rows * cols, -2, 2);
        float[] dy = Fills.uniform(50 + rows, rows * cols, -1, 1);
        Tensor cy = cpu.empty(DType.F32, rows, cols), cn = cpu.empty(DType.F32, rows), cdx = cpu.empty(DType.F32, rows, cols);
        Tensor gy = gpu.empty(DType.F32, rows, cols), gn = gpu.empty(DType.F32, rows), gdx = gpu.empty(DType.F32, rows, cols);
        cpu.normalize().forward(cpu.upload(x, rows, cols), cy, cn);
        gpu.normalize().forward(gpu.upload(x, rows, cols), gy, gn);
        // fp32 sums of `cols` squares in a different order: a few ulps.
        assertClose("normalize y", gpu.toFloatArray(gy), cpu.toFloatArray(cy), 1e-7, 4e-6);
        assertClose("normalize norms", gpu.toFloatArray(gn), cpu.toFloatArray(cn), 0, 4e-6);
        cpu.normalize().backward(cy, cn, cpu.upload(dy, rows, cols), cdx);
        gpu.normalize().backward(gy, gn, gpu.upload(dy, rows, cols), gdx);
        assertClose("normalize dx", gpu.toFloatArray(gdx), cpu.toFloatArray(cdx), 1e-6, 1e-4);
    }

    @ParameterizedTest
    @CsvSource({"1,3,7,7,5,3,1,1,1,CONTIGUOUS", "2,16,14,14,32,3,2,1,1,CONTIGUOUS", "3,6,9,11,6,3,1,1,2,CONTIGUOUS",
                "2,8,8,8,16,1,1,0,1,CHANNELS_LAST", "1,3,15,15,7,7,2,3,1,CONTIGUOUS"})
    void convolutionMatchesTheCpu(int n, int c, int h, int w, int k, int r, int stride, int pad, int groups, MemoryFormat format) {
        Conv2dParams p = new Conv2dParams(stride, stride, pad, pad, 1, 1, groups);
        float[] x = Fills.uniform(60, n * c * h * w, -1, 1);
        float[] wt = Fills.uniform(61, k * (c / groups) * r * r, -1, 1);
        float[] bias = Fills.uniform(62, k, -1, 1);
        int oh = p.outH(h, r), ow = p.outW(w, r);
        Tensor cy = cpu.empty(DType.F32, n, k, oh, ow);
        cpu.convolution().forward(cpu.upload(x, n, c, h, w), cpu.upload(wt, k, c / groups, r, r), cpu.upload(bias, k), cy, p);
        Tensor gx = gpu.upload(x, n, c, h, w), gw = gpu.upload(wt, k, c / groups, r, r);
        if (format == MemoryFormat.CHANNELS_LAST) {
            gx = toChannelsLast(x, n, c, h, w);
            gw = toChannelsLast(wt, k, c / groups, r, r);
        }
        Tensor gy = gpu.empty(DType.F32, format, n, k, oh, ow);
        gpu.convolution().forward(gx, gw, gpu.upload(bias, k), gy, p);
        float[] got = gpu.toFloatArray(gy);
        if (format == MemoryFormat.CHANNELS_LAST) got = fromChannelsLast(got, n, k, oh, ow);
        // FP32 (FMA math, no TF32): reduction of c*r*r products of magnitude <= 1 in another order.
        assertClose("conv " + format, got, cpu.toFloatArray(cy), 2e-6 * c * r * r / groups, 1e-5);
        // Same shape again: the plan is cached, so no new device allocation.
        long before = gpu.memoryStats().rawAllocations();
        gpu.convolution().forward(gx, gw, gpu.upload(bias, k), gy, p);
        assertEquals(before, gpu.memoryStats().rawAllocations());
    }

    private static Tensor toChannelsLast(float[] nchw, int n, int c, int h, int w) {
        float[] nhwc = new float[nchw.length];
        for (int b = 0; b < n; b++) for (int ch = 0; ch < c; ch++) for (int i = 0; i < h; i++) for (int j = 0; j < w; j++)
            nhwc[((b * h + i) * w + j) * c + ch] = nchw[((b * c + ch) * h + i) * w + j];
        Tensor host = new Tensor(org.compress.engine.tensor.CpuStorage.wrap(nhwc), 0, DType.F32, MemoryFormat.CHANNELS_LAST,
                new int[] {n, c, h, w}, true);
        return gpu.upload(host);
    }

    private static float[] fromChannelsLast(float[] nhwc, int n, int c, int h, int w) {
        float[] nchw = new float[nhwc.length];
        for (int b = 0; b < n; b++) for (int ch = 0; ch < c; ch++) for (int i = 0; i < h; i++) for (int j = 0; j < w; j++)
            nchw[((b * c + ch) * h + i) * w + j] = nhwc[((b * h + i) * w + j) * c + ch];
        return nchw;
    }

    @Test void gatherRowsMatchesTheCpuAcrossRepeatedLookups() {
        float[] table = Fills.uniform(70, 1000 * 130, -1, 1);
        Tensor gt = gpu.upload(table, 1000, 130), ct = cpu.upload(table, 1000, 130);
        for (int step = 0; step < 5; step++) { // both staging slots, reused, with growing and shrinking batches
            int b = 1 + 97 * step;
            int[] idx = new int[b];
            java.util.SplittableRandom r = new java.util.SplittableRandom(step);
            for (int i = 0; i < b; i++) idx[i] = r.nextInt(1000);
            Tensor go = gpu.empty(DType.F32, b, 130), co = cpu.empty(DType.F32, b, 130);
            gpu.elementwise().gatherRows(gt, idx, go);
            cpu.elementwise().gatherRows(ct, idx, co);
            assertBitwise("gather step " + step, gpu.toFloatArray(go), cpu.toFloatArray(co));
        }
        assertThrows(ShapeMismatchException.class, () -> gpu.elementwise().gatherRows(gt, new int[] {1000}, gpu.empty(DType.F32, 1, 130)));
    }

    @Test void steadyStateMakesNoDeviceAllocations() {
        for (int i = 0; i < 3; i++) gpu.empty(DType.F32, 1 << 20).close();
        long before = gpu.memoryStats().rawAllocations();
        for (int i = 0; i < 100; i++) gpu.empty(DType.F32, 1 << 20).close();
        assertEquals(before, gpu.memoryStats().rawAllocations());
    }

    @Test void outOfMemorySaysRequestedAndFreeBytes() {
        long total = gpu.info().totalMemoryBytes();
        var e = assertThrows(DeviceOutOfMemoryException.class, () -> gpu.allocator().allocate(total * 2));
        assertEquals(total * 2, e.requestedBytes());
        assertTrue(e.getMessage().contains("free of"), e.getMessage());
        gpu.empty(DType.F32, 16).close(); // the backend still works after the failure
    }

    @Test void kernelErrorsNameTheCallAndTheNativeLocation() {
        int status = NativeKernels.fillF32(0L, 10, 1f, gpu.stream().address());
        var e = assertThrows(CudaException.class, () -> Native.check(Native.Library.KERNEL, status, "fill_f32"));
        assertTrue(e.getMessage().contains("fill_f32"), e.getMessage());
        assertTrue(e.getMessage().contains("jni_elementwise.cpp:"), e.getMessage());
    }
}
