// The CPU reference ops against independent definitions: exact small-integer GEMM, normalisation with a
// double-precision finite-difference gradcheck, convolution against hand-worked values and GEMM (1x1 case).
package org.compress.engine.backend;

import static org.compress.engine.testing.Close.assertBitwise;
import static org.compress.engine.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.GemmPrecision;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.api.Test;

class CpuOpsTest {
    final Backend cpu = new CpuBackend();

    @Test void gemmOfSmallIntegersIsExactInEveryTransposeCombination() {
        int m = 7, n = 5, k = 9;
        float[] a = Fills.smallIntegers(1, m * k, -4, 4);
        float[] b = Fills.smallIntegers(2, k * n, -4, 4);
        float[] expected = new float[m * n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
            float s = 0;
            for (int p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
            expected[i * n + j] = 2 * s + 1; // alpha = 2, beta = 1 on C = 1
        }
        for (boolean ta : new boolean[] {false, true}) for (boolean tb : new boolean[] {false, true}) {
            Tensor at = ta ? cpu.upload(transpose(a, m, k), k, m) : cpu.upload(a, m, k);
            Tensor bt = tb ? cpu.upload(transpose(b, k, n), n, k) : cpu.upload(b, k, n);
            Tensor c = cpu.upload(filled(m * n, 1f), m, n);
            cpu.gemm().gemm(ta, tb, 2f, at, bt, 1f, c, GemmPrecision.FP32);
            assertBitwise("gemm transA=" + ta + " transB=" + tb, cpu.toFloatArray(c), expected);
        }
    }

    @Test void gemmTakesBf16InputsAndRejectsMismatches() {
        float[] a = Fills.smallIntegers(3, 6, -3, 3);
        float[] b = Fills.smallIntegers(4, 6, -3, 3);
        Tensor a16 = cpu.empty(DType.BF16, 2, 3);
        Tensor b16 = cpu.empty(DType.BF16, 3, 2);
        cpu.elementwise().cast(cpu.upload(a, 2, 3), a16);
        cpu.elementwise().cast(cpu.upload(b, 3, 2), b16);
        Tensor c = cpu.zeros(DType.F32, 2, 2);
        cpu.gemm().gemm(false, false, 1f, a16, b16, 0f, c, GemmPrecision.BF16);
        float[] got = cpu.toFloatArray(c);
        assertTrue(got[0] == a[0] * b[0] + a[1] * b[2] + a[2] * b[4]);
        var wrongType = assertThrows(ShapeMismatchException.class,
                () -> cpu.gemm().gemm(false, false, 1f, cpu.upload(a, 2, 3), b16, 0f, c, GemmPrecision.BF16));
        assertTrue(wrongType.getMessage().contains("gemm A (BF16): expected dtype BF16, found Tensor[2, 3] F32"), wrongType.getMessage());
        var inner = assertThrows(ShapeMismatchException.class,
                () -> cpu.gemm().gemm(false, false, 1f, cpu.upload(a, 2, 3), cpu.upload(a, 2, 3), 0f, c, GemmPrecision.FP32));
        assertTrue(inner.getMessage().contains("inner dimensions differ: op(A) is 2x3, op(B) is 2x3"), inner.getMessage());
    }

    @Test void castRoundsToNearestEvenAndFillWorksForEveryFloatType() {
        float[] v = {1f + 0x1p-8f, -2.5f, 3.14159f, 0f};
        Tensor src = cpu.upload(v, 4);
        Tensor bf = cpu.empty(DType.BF16, 4);
        cpu.elementwise().cast(src, bf);
        float[] back = cpu.toFloatArray(bf);
        for (int i = 0; i < v.length; i++) assertTrue(back[i] == BFloat16.round(v[i]), "element " + i);
        Tensor h = cpu.empty(DType.F16, 3);
        cpu.elementwise().fill(h, 0.5f);
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, cpu.toFloatArray(h));
    }

    @Test void scaleAndAxpy() {
        Tensor x = cpu.upload(new float[] {1, 2, 3}, 3);
        Tensor y = cpu.upload(new float[] {10, 20, 30}, 3);
        cpu.elementwise().axpy(2f, x, y);
        cpu.elementwise().scale(y, 0.5f);
        assertArrayEquals(new float[] {6, 12, 18}, cpu.toFloatArray(y));
        assertThrows(ShapeMismatchException.class, () -> cpu.elementwise().axpy(1f, x, cpu.zeros(DType.F32, 4)));
    }

    @Test void normalizeForwardGivesUnitRowsAndHandlesZeroRows() {
        float[] x = Fills.uniform(5, 7 * 13, -2, 2);
        for (int j = 0; j < 13; j++) x[3 * 13 + j] = 0f; // an all-zero row: y = 0, not NaN
        Tensor xt = cpu.upload(x, 7, 13), y = cpu.empty(DType.F32, 7, 13), norms = cpu.empty(DType.F32, 7);
        cpu.normalize().forward(xt, y, norms);
        float[] ya = cpu.toFloatArray(y);
        for (int r = 0; r < 7; r++) {
            double ss = 0;
            for (int j = 0; j < 13; j++) ss += (double) ya[r * 13 + j] * ya[r * 13 + j];
            assertTrue(r == 3 ? ss == 0 : Math.abs(ss - 1) < 1e-6, "row " + r + " squared norm " + ss);
        }
    }

    @Test void normalizeBackwardMatchesFiniteDifferencesInDouble() {
        int b = 5, d = 11;
        double[] x = new double[b * d];
        float[] xf = Fills.uniform(6, b * d, -1, 1);
        for (int i = 0; i < x.length; i++) x[i] = xf[i];
        float[] w = Fills.uniform(7, b * d, -1, 1); // L = sum(w * normalize(x)), so dL/dy = w
        Tensor xt = cpu.upload(xf, b, d), y = cpu.empty(DType.F32, b, d), norms = cpu.empty(DType.F32, b);
        cpu.normalize().forward(xt, y, norms);
        Tensor dx = cpu.empty(DType.F32, b, d);
        cpu.normalize().backward(y, norms, cpu.upload(w, b, d), dx);
        double[] numeric = new double[b * d];
        double h = 1e-6;
        for (int i = 0; i < x.length; i++) {
            double keep = x[i];
            x[i] = keep + h;
            double up = weightedNormalized(x, w, b, d);
            x[i] = keep - h;
            double down = weightedNormalized(x, w, b, d);
            x[i] = keep;
            numeric[i] = (up - down) / (2 * h);
        }
        // fp32 op vs a double central difference (truncation error ~h^2): 1e-5 absolute is ample and still tight.
        assertClose("normalize backward vs finite differences", cpu.toFloatArray(dx), numeric, 1e-5, 1e-4);
    }

    private static double weightedNormalized(double[] x, float[] w, int b, int d) {
        double total = 0;
        for (int r = 0; r < b; r++) {
            double ss = 0;
            for (int j = 0; j < d; j++) ss += x[r * d + j] * x[r * d + j];
            double norm = Math.max(Math.sqrt(ss), 1e-12);
            for (int j = 0; j < d; j++) total += w[r * d + j] * x[r * d + j] / norm;
        }
        return total;
    }

    @Test void convolutionMatchesHandWorkedValues() {
        // 1x1x3x3 input 1..9, 2x2 kernel of ones, stride 1, no padding: sums of each 2x2 window.
        Tensor x = cpu.upload(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
        Tensor w = cpu.upload(new float[] {1, 1, 1, 1}, 1, 1, 2, 2);
        Tensor y = cpu.empty(DType.F32, 1, 1, 2, 2);
        cpu.convolution().forward(x, w, cpu.upload(new float[] {100}, 1), y, Conv2dParams.of(1, 0));
        assertArrayEquals(new float[] {112, 116, 124, 128}, cpu.toFloatArray(y));
        // Padding 1, stride 2: windows at the corners see the zero border.
        Tensor y2 = cpu.empty(DType.F32, 1, 1, 2, 2);
        cpu.convolution().forward(x, w, null, y2, Conv2dParams.of(2, 1));
        assertArrayEquals(new float[] {1, 5, 11, 28}, cpu.toFloatArray(y2));
    }

    @Test void oneByOneConvolutionEqualsGemmAndGroupsSplitChannels() {
        int n = 2, c = 6, h = 3, wd = 5, k = 4;
        float[] x = Fills.smallIntegers(8, n * c * h * wd, -3, 3);
        float[] w = Fills.smallIntegers(9, k * c, -3, 3);
        Tensor y = cpu.empty(DType.F32, n, k, h, wd);
        cpu.convolution().forward(cpu.upload(x, n, c, h, wd), cpu.upload(w, k, c, 1, 1), null, y, Conv2dParams.of(1, 0));
        float[] got = cpu.toFloatArray(y);
        for (int b = 0; b < n; b++) for (int o = 0; o < k; o++) for (int p = 0; p < h * wd; p++) {
            float s = 0;
            for (int i = 0; i < c; i++) s += w[o * c + i] * x[(b * c + i) * h * wd + p];
            assertTrue(got[(b * k + o) * h * wd + p] == s, "1x1 conv = GEMM at " + b + "," + o + "," + p);
        }
        // groups = 2: output channel 0 sees only input channels 0..2.
        Tensor wg = cpu.upload(Fills.smallIntegers(10, k * 3, -3, 3), k, 3, 1, 1);
        Tensor yg = cpu.empty(DType.F32, n, k, h, wd);
        cpu.convolution().forward(cpu.upload(x, n, c, h, wd), wg, null, yg, new Conv2dParams(1, 1, 0, 0, 1, 1, 2));
        float[] wga = cpu.toFloatArray(wg), gy = cpu.toFloatArray(yg);
        float s = 0;
        for (int i = 0; i < 3; i++) s += wga[3 * 3 + i] * x[(3 + i) * h * wd]; // out channel 3 (group 1), pixel 0
        assertTrue(gy[3 * h * wd] == s);
    }

    @Test void convolutionRejectsBadShapesBeforeWriting() {
        Tensor x = cpu.zeros(DType.F32, 1, 3, 8, 8);
        Tensor w = cpu.zeros(DType.F32, 4, 2, 3, 3);
        Tensor y = cpu.zeros(DType.F32, 1, 4, 6, 6);
        var e = assertThrows(ShapeMismatchException.class, () -> cpu.convolution().forward(x, w, null, y, Conv2dParams.of(1, 0)));
        assertTrue(e.getMessage().contains("input has 3 channels"), e.getMessage());
        Tensor w3 = cpu.zeros(DType.F32, 4, 3, 3, 3);
        var o = assertThrows(ShapeMismatchException.class,
                () -> cpu.convolution().forward(x, w3, null, cpu.zeros(DType.F32, 1, 4, 8, 8), Conv2dParams.of(1, 0)));
        assertTrue(o.getMessage().contains("expected shape [1, 4, 6, 6]"), o.getMessage());
    }

    @Test void gatherRowsCopiesTheIndexedRowsAndRejectsBadIndices() {
        Tensor table = cpu.upload(new float[] {0, 1, 10, 11, 20, 21}, 3, 2);
        Tensor out = cpu.empty(DType.F32, 4, 2);
        cpu.elementwise().gatherRows(table, new int[] {2, 0, 2, 1}, out);
        assertArrayEquals(new float[] {20, 21, 0, 1, 20, 21, 10, 11}, cpu.toFloatArray(out));
        var e = assertThrows(ShapeMismatchException.class, () -> cpu.elementwise().gatherRows(table, new int[] {0, 3, 1, 1}, out));
        assertTrue(e.getMessage().contains("index 3 at position 1 is outside the table's 3 rows"), e.getMessage());
        assertArrayEquals(new float[] {20, 21, 0, 1, 20, 21, 10, 11}, cpu.toFloatArray(out), "nothing written");
    }

    static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
        return t;
    }

    static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
