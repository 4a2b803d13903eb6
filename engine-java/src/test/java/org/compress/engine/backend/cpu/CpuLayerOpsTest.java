// The CPU layer ops against definitions: the fast im2col/GEMM convolution against the direct seven-loop oracle
// (forward, backward-data, backward-filter; several workers and image chunks), batch-norm running statistics
// (momentum 0.1, unbiased running variance, eval mode uses them, num_batches_tracked counts), and bad inputs.
package org.compress.engine.backend.cpu;

import static org.compress.engine.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.PoolParams;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CpuLayerOpsTest {
    final CpuBackend cpu = new CpuBackend();

    @ParameterizedTest(name = "n={0} c={1} {2}x{3} k={4} r={5} s={6} p={7} g={8} workers={9}")
    @CsvSource({"1,3,7,7,5,3,1,1,1,2", "3,5,7,7,8,3,2,1,1,2", "5,6,9,11,6,3,1,1,3,3", "4,8,8,8,16,1,1,0,1,2",
                "2,3,15,15,7,7,2,3,1,1", "7,4,5,5,4,3,1,1,4,2", "9,16,4,4,32,3,1,1,1,4"})
    void fastConvolutionMatchesTheDirectOracle(int n, int c, int h, int w, int k, int r, int s, int p, int g, int workers) {
        Conv2dParams geo = new Conv2dParams(s, s, p, p, 1, 1, g);
        CpuGemmConvolution fast = new CpuGemmConvolution(workers);
        CpuConvolution oracle = new CpuConvolution();
        int oh = geo.outH(h, r), ow = geo.outW(w, r);
        Tensor x = cpu.upload(Fills.uniform(1, n * c * h * w, -1, 1), n, c, h, w);
        Tensor wt = cpu.upload(Fills.uniform(2, k * (c / g) * r * r, -1, 1), k, c / g, r, r);
        Tensor bias = cpu.upload(Fills.uniform(3, k, -1, 1), k);
        Tensor dy = cpu.upload(Fills.uniform(4, n * k * oh * ow, -1, 1), n, k, oh, ow);
        double tol = 1e-6 * c * r * r;
        Tensor y1 = cpu.empty(DType.F32, n, k, oh, ow), y2 = cpu.empty(DType.F32, n, k, oh, ow);
        fast.forward(x, wt, bias, y1, geo);
        oracle.forward(x, wt, bias, y2, geo);
        assertClose("forward", cpu.toFloatArray(y1), cpu.toFloatArray(y2), tol, 1e-5);
        Tensor dx1 = cpu.empty(DType.F32, n, c, h, w), dx2 = cpu.empty(DType.F32, n, c, h, w);
        cpu.elementwise().fill(dx1, Float.NaN); // every element must be written
        fast.backwardData(dy, wt, dx1, geo);
        oracle.backwardData(dy, wt, dx2, geo);
        assertClose("backward data", cpu.toFloatArray(dx1), cpu.toFloatArray(dx2), 1e-6 * k * r * r, 1e-5);
        Tensor dw1 = cpu.empty(DType.F32, wt.shape()), dw2 = cpu.empty(DType.F32, wt.shape());
        cpu.elementwise().fill(dw1, Float.NaN);
        fast.backwardFilter(x, dy, dw1, geo);
        oracle.backwardFilter(x, dy, dw2, geo);
        assertClose("backward filter", cpu.toFloatArray(dw1), cpu.toFloatArray(dw2), 1e-6 * n * oh * ow, 1e-5);
    }

    @Test void batchNormRunningStatisticsFollowPyTorch() {
        // Channel 0 of x holds {1, 2, 3, 6} over (N=2, H=1, W=2): mean 3, biased var 3.5, unbiased 14/3.
        Tensor x = cpu.upload(new float[] {1, 2, 10, 10, 3, 6, 10, 10}, 2, 2, 1, 2);
        Tensor gamma = cpu.upload(new float[] {1, 1}, 2), beta = cpu.upload(new float[] {0, 0}, 2);
        Tensor rm = cpu.upload(new float[] {0, 0}, 2), rv = cpu.upload(new float[] {1, 1}, 2);
        Tensor y = cpu.empty(DType.F32, 2, 2, 1, 2), sm = cpu.empty(DType.F32, 2), si = cpu.empty(DType.F32, 2);
        cpu.batchNorm().forwardTraining(x, gamma, beta, rm, rv, 0.1f, 1e-5f, y, sm, si);
        assertClose("running mean", cpu.toFloatArray(rm), new double[] {0.3, 1.0}, 1e-7, 1e-6);
        assertClose("running var", cpu.toFloatArray(rv), new double[] {0.9 + 0.1 * 14.0 / 3, 0.9}, 1e-7, 1e-6);
        assertClose("save mean", cpu.toFloatArray(sm), new double[] {3, 10}, 0, 1e-7);
        assertClose("save invstd", cpu.toFloatArray(si), new double[] {1 / Math.sqrt(3.5 + 1e-5), 1 / Math.sqrt(1e-5)}, 0, 1e-6);
        assertClose("y", cpu.toFloatArray(y), new double[] {-2 / Math.sqrt(3.5 + 1e-5), -1 / Math.sqrt(3.5 + 1e-5), 0, 0,
                0, 3 / Math.sqrt(3.5 + 1e-5), 0, 0}, 1e-6, 1e-6);
        // Eval uses the running statistics: (x - rm) / sqrt(rv + eps).
        Tensor ye = cpu.empty(DType.F32, 2, 2, 1, 2);
        cpu.batchNorm().forwardInference(x, gamma, beta, rm, rv, 1e-5f, ye);
        double v0 = 0.9 + 0.1 * 14.0 / 3;
        assertEquals((1 - 0.3) / Math.sqrt(v0 + 1e-5), cpu.toFloatArray(ye)[0], 1e-6);
        Tensor counter = cpu.zeros(DType.I64);
        cpu.batchNorm().countBatch(counter);
        cpu.batchNorm().countBatch(counter);
        assertEquals(2L, counter.cpuStorage().i64()[0]);
    }

    @Test void layerOpsRejectBadInputs() {
        Tensor x = cpu.zeros(DType.F32, 2, 3, 4, 4);
        var pool = assertThrows(ShapeMismatchException.class, () -> cpu.pooling().maxForward(x, cpu.zeros(DType.F32, 2, 3, 3, 3), PoolParams.of(3, 2, 1)));
        assertTrue(pool.getMessage().contains("expected shape [2, 3, 2, 2]"), pool.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PoolParams.of(3, 2, 2));
        var act = assertThrows(ShapeMismatchException.class, () -> cpu.activation().addForward(org.compress.engine.ops.Activation.RELU,
                x, cpu.zeros(DType.F32, 2, 3, 4, 5), x));
        assertTrue(act.getMessage().contains("shapes differ"), act.getMessage());
        var bias = assertThrows(ShapeMismatchException.class, () -> cpu.bias().forward(x, cpu.zeros(DType.F32, 4)));
        assertTrue(bias.getMessage().contains("expected shape [3]"), bias.getMessage());
        var drop = assertThrows(ShapeMismatchException.class, () -> cpu.dropout().forward(x, x, cpu.zeros(DType.F32, 96), 0.5f, 1));
        assertTrue(drop.getMessage().contains("expected dtype U8"), drop.getMessage());
        var conv = assertThrows(ShapeMismatchException.class, () -> cpu.convolution().backwardFilter(x, cpu.zeros(DType.F32, 2, 5, 4, 4),
                cpu.zeros(DType.F32, 5, 3, 3, 3), Conv2dParams.of(1, 0)));
        assertTrue(conv.getMessage().contains("expected shape [2, 5, 2, 2]"), conv.getMessage());
    }
}
