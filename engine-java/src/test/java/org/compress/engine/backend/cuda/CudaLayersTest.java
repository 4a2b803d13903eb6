// Every CUDA layer/training op against the CPU reference (unverified until a GPU runs it): cuDNN convolution
// forward/backward-data/backward-filter in NCHW and NHWC (odd shapes: batch 1, 7x7, stride 2, channels not a
// multiple of 8, groups), batch norm (training, running stats, inference, backward), max and adaptive pooling,
// activations and the fused add (bitwise), bias, dropout (bitwise: same counter-based mask), multi-tensor SGD
// and EMA (bitwise: no FMA contraction), and a ResNet-18 training step: loss close to the CPU's, no device
// allocation after the first step.
package org.compress.engine.backend.cuda;

import static org.compress.engine.testing.Close.assertBitwise;
import static org.compress.engine.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.ModelConfig;
import org.compress.engine.nn.models.ResNet;
import org.compress.engine.ops.Activation;
import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.EmaOp;
import org.compress.engine.ops.PoolParams;
import org.compress.engine.ops.SgdOp;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.CpuStorage;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.compress.engine.testing.GpuTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@GpuTest
class CudaLayersTest {
    static CudaBackend gpu;
    static final Backend cpu = new CpuBackend();

    @BeforeAll static void open() { gpu = CudaBackend.open(0); }

    @AfterAll static void close() { if (gpu != null) gpu.close(); }

    /** Uploads NCHW data to the GPU in the given format. */
    static Tensor up(float[] nchw, MemoryFormat format, int... s) {
        if (format == MemoryFormat.CONTIGUOUS || s.length != 4) return gpu.upload(nchw, s);
        float[] nhwc = new float[nchw.length];
        for (int b = 0; b < s[0]; b++) for (int c = 0; c < s[1]; c++) for (int i = 0; i < s[2]; i++) for (int j = 0; j < s[3]; j++)
            nhwc[((b * s[2] + i) * s[3] + j) * s[1] + c] = nchw[((b * s[1] + c) * s[2] + i) * s[3] + j];
        return gpu.upload(new Tensor(CpuStorage.wrap(nhwc), 0, DType.F32, MemoryFormat.CHANNELS_LAST, s, true));
    }

    /** Downloads as NCHW floats whatever the format. */
    static float[] down(Tensor t) {
        float[] v = gpu.toFloatArray(t);
        if (t.format() != MemoryFormat.CHANNELS_LAST) return v;
        int[] s = t.shape();
        float[] nchw = new float[v.length];
        for (int b = 0; b < s[0]; b++) for (int c = 0; c < s[1]; c++) for (int i = 0; i < s[2]; i++) for (int j = 0; j < s[3]; j++)
            nchw[((b * s[1] + c) * s[2] + i) * s[3] + j] = v[((b * s[2] + i) * s[3] + j) * s[1] + c];
        return nchw;
    }

    @ParameterizedTest(name = "conv n={0} c={1} {2}x{3} k={4} r={5} s={6} p={7} g={8} {9}")
    @CsvSource({"1,3,7,7,5,3,1,1,1,CONTIGUOUS", "3,5,7,7,12,3,2,1,1,CONTIGUOUS", "2,6,9,9,6,3,1,1,6,CONTIGUOUS",
                "2,16,8,8,24,1,2,0,1,CHANNELS_LAST", "1,3,15,15,7,7,2,3,1,CHANNELS_LAST", "4,64,7,7,64,3,1,1,1,CHANNELS_LAST"})
    void convolutionBackwardMatchesTheCpu(int n, int c, int h, int w, int k, int r, int s, int p, int g, MemoryFormat f) {
        Conv2dParams geo = new Conv2dParams(s, s, p, p, 1, 1, g);
        int oh = geo.outH(h, r), ow = geo.outW(w, r);
        float[] x = Fills.uniform(1, n * c * h * w, -1, 1), wt = Fills.uniform(2, k * c / g * r * r, -1, 1);
        float[] dy = Fills.uniform(3, n * k * oh * ow, -1, 1);
        Tensor cdx = cpu.empty(DType.F32, n, c, h, w), cdw = cpu.empty(DType.F32, k, c / g, r, r);
        cpu.convolution().backwardData(cpu.upload(dy, n, k, oh, ow), cpu.upload(wt, k, c / g, r, r), cdx, geo);
        cpu.convolution().backwardFilter(cpu.upload(x, n, c, h, w), cpu.upload(dy, n, k, oh, ow), cdw, geo);
        Tensor gdx = gpu.empty(DType.F32, f, n, c, h, w), gdw = gpu.empty(DType.F32, f, k, c / g, r, r);
        Tensor gw = up(wt, f, k, c / g, r, r), gdy = up(dy, f, n, k, oh, ow), gx = up(x, f, n, c, h, w);
        gpu.convolution().backwardData(gdy, gw, gdx, geo);
        gpu.convolution().backwardFilter(gx, gdy, gdw, geo);
        // FP32 FMA math: sums of k*r*r (data) or n*oh*ow (filter) products of magnitude <= 1 in another order.
        assertClose("conv dx " + f, down(gdx), cpu.toFloatArray(cdx), 2e-6 * k * r * r / g, 1e-5);
        assertClose("conv dw " + f, down(gdw), cpu.toFloatArray(cdw), 2e-6 * n * oh * ow, 1e-5);
        long before = gpu.memoryStats().rawAllocations();
        gpu.convolution().backwardData(gdy, gw, gdx, geo);
        gpu.convolution().backwardFilter(gx, gdy, gdw, geo);
        assertEquals(before, gpu.memoryStats().rawAllocations(), "cached plans: no new device memory");
    }

    @ParameterizedTest(name = "batchnorm n={0} c={1} {2}x{2} {3}")
    @CsvSource({"1,3,7,CONTIGUOUS", "3,5,7,CONTIGUOUS", "8,13,1,CONTIGUOUS", "4,24,5,CHANNELS_LAST"})
    void batchNormMatchesTheCpu(int n, int c, int hw, MemoryFormat f) {
        float[] x = Fills.uniform(4, n * c * hw * hw, -2, 3), gamma = Fills.uniform(5, c, 0.5f, 1.5f), beta = Fills.uniform(6, c, -1, 1);
        float[] rm = Fills.uniform(7, c, -1, 1), rv = Fills.uniform(8, c, 0.5f, 2), dy = Fills.uniform(9, x.length, -1, 1);
        int[] s = {n, c, hw, hw};
        Tensor cy = cpu.empty(DType.F32, s), cm = cpu.empty(DType.F32, c), ci = cpu.empty(DType.F32, c);
        Tensor crm = cpu.upload(rm, c), crv = cpu.upload(rv, c), grm = gpu.upload(rm, c), grv = gpu.upload(rv, c);
        Tensor gy = gpu.empty(DType.F32, f, s), gm = gpu.empty(DType.F32, c), gi = gpu.empty(DType.F32, c);
        Tensor gg = gpu.upload(gamma, c), gb = gpu.upload(beta, c), gx = up(x, f, s);
        cpu.batchNorm().forwardTraining(cpu.upload(x, s), cpu.upload(gamma, c), cpu.upload(beta, c), crm, crv, 0.1f, 1e-5f, cy, cm, ci);
        gpu.batchNorm().forwardTraining(gx, gg, gb, grm, grv, 0.1f, 1e-5f, gy, gm, gi);
        assertClose("bn y", down(gy), cpu.toFloatArray(cy), 1e-5, 1e-5);
        assertClose("bn running mean", gpu.toFloatArray(grm), cpu.toFloatArray(crm), 1e-6, 1e-5);
        assertClose("bn running var (unbiased)", gpu.toFloatArray(grv), cpu.toFloatArray(crv), 1e-6, 1e-5);
        Tensor cdx = cpu.empty(DType.F32, s), cdg = cpu.empty(DType.F32, c), cdb = cpu.empty(DType.F32, c);
        Tensor gdx = gpu.empty(DType.F32, f, s), gdg = gpu.empty(DType.F32, c), gdb = gpu.empty(DType.F32, c);
        cpu.batchNorm().backward(cpu.upload(x, s), cpu.upload(dy, s), cpu.upload(gamma, c), cm, ci, 1e-5f, cdx, cdg, cdb);
        gpu.batchNorm().backward(gx, up(dy, f, s), gg, gm, gi, 1e-5f, gdx, gdg, gdb);
        assertClose("bn dx", down(gdx), cpu.toFloatArray(cdx), 1e-4, 1e-4);
        assertClose("bn dgamma", gpu.toFloatArray(gdg), cpu.toFloatArray(cdg), 1e-5 * n * hw * hw, 1e-5);
        assertClose("bn dbeta", gpu.toFloatArray(gdb), cpu.toFloatArray(cdb), 1e-5 * n * hw * hw, 1e-5);
        cpu.batchNorm().forwardInference(cpu.upload(x, s), cpu.upload(gamma, c), cpu.upload(beta, c), crm, crv, 1e-5f, cy);
        gpu.batchNorm().forwardInference(gx, gg, gb, grm, grv, 1e-5f, gy);
        assertClose("bn eval y", down(gy), cpu.toFloatArray(cy), 1e-5, 1e-5);
        Tensor counter = gpu.zeros(DType.I64);
        gpu.batchNorm().countBatch(counter);
        gpu.batchNorm().countBatch(counter);
        assertEquals(2L, gpu.download(counter).cpuStorage().i64()[0]);
    }

    @ParameterizedTest(name = "pooling n={0} c={1} {2}x{3} {4}")
    @CsvSource({"1,3,7,7,CONTIGUOUS", "3,5,8,7,CONTIGUOUS", "2,24,7,7,CHANNELS_LAST"})
    void poolingMatchesTheCpu(int n, int c, int h, int w, MemoryFormat f) {
        float[] x = Fills.uniform(10, n * c * h * w, -1, 1);
        PoolParams p = PoolParams.of(3, 2, 1);
        int oh = p.outH(h), ow = p.outW(w);
        Tensor cy = cpu.empty(DType.F32, n, c, oh, ow), gy = gpu.empty(DType.F32, f, n, c, oh, ow), gx = up(x, f, n, c, h, w);
        cpu.pooling().maxForward(cpu.upload(x, n, c, h, w), cy, p);
        gpu.pooling().maxForward(gx, gy, p);
        assertBitwise("maxpool y", down(gy), cpu.toFloatArray(cy));
        float[] dy = Fills.uniform(11, n * c * oh * ow, -1, 1);
        Tensor cdx = cpu.empty(DType.F32, n, c, h, w), gdx = gpu.empty(DType.F32, f, n, c, h, w);
        cpu.pooling().maxBackward(cpu.upload(x, n, c, h, w), cy, cpu.upload(dy, n, c, oh, ow), cdx, p);
        gpu.pooling().maxBackward(gx, gy, up(dy, f, n, c, oh, ow), gdx, p);
        assertClose("maxpool dx", down(gdx), cpu.toFloatArray(cdx), 1e-6, 1e-6);
        for (int[] o : new int[][] {{1, 1}, {3, 2}}) {
            Tensor ca = cpu.empty(DType.F32, n, c, o[0], o[1]), ga = gpu.empty(DType.F32, f, n, c, o[0], o[1]);
            cpu.pooling().adaptiveAvgForward(cpu.upload(x, n, c, h, w), ca);
            gpu.pooling().adaptiveAvgForward(gx, ga);
            assertClose("adaptive y " + o[0] + "x" + o[1], down(ga), cpu.toFloatArray(ca), 1e-6, 1e-5);
            float[] d = Fills.uniform(12, (int) ca.numel(), -1, 1);
            cpu.pooling().adaptiveAvgBackward(cpu.upload(d, ca.shape()), cdx);
            gpu.pooling().adaptiveAvgBackward(up(d, f, ca.shape()), gdx);
            assertClose("adaptive dx " + o[0] + "x" + o[1], down(gdx), cpu.toFloatArray(cdx), 1e-6, 1e-5);
        }
    }

    @Test void pointwiseOpsMatchTheCpuBitwise() {
        int n = 1037;
        float[] a = Fills.uniform(13, n, -8, 8), b = Fills.uniform(14, n, -8, 8), d = Fills.uniform(15, n, -1, 1);
        for (Activation act : Activation.values()) {
            Tensor cy = cpu.empty(DType.F32, n), gy = gpu.empty(DType.F32, n);
            cpu.activation().addForward(act, cpu.upload(a, n), cpu.upload(b, n), cy);
            gpu.activation().addForward(act, gpu.upload(a, n), gpu.upload(b, n), gy);
            assertBitwise("add+" + act, gpu.toFloatArray(gy), cpu.toFloatArray(cy));
            cpu.activation().forward(act, cpu.upload(a, n), cy);
            gpu.activation().forward(act, gpu.upload(a, n), gy);
            assertBitwise(act + " forward", gpu.toFloatArray(gy), cpu.toFloatArray(cy));
            Tensor cdx = cpu.empty(DType.F32, n), gdx = gpu.empty(DType.F32, n);
            cpu.activation().backward(act, cy, cpu.upload(d, n), cdx);
            gpu.activation().backward(act, gy, gpu.upload(d, n), gdx);
            assertBitwise(act + " backward", gpu.toFloatArray(gdx), cpu.toFloatArray(cdx));
        }
        Tensor cy = cpu.empty(DType.F32, n), gy = gpu.empty(DType.F32, n), cm = cpu.empty(DType.U8, n), gm = gpu.empty(DType.U8, n);
        cpu.dropout().forward(cpu.upload(a, n), cy, cm, 0.3f, 12345L);
        gpu.dropout().forward(gpu.upload(a, n), gy, gm, 0.3f, 12345L);
        assertBitwise("dropout", gpu.toFloatArray(gy), cpu.toFloatArray(cy));
        float[] y = Fills.uniform(16, 2 * 7 * 3 * 3, -1, 1), bias = Fills.uniform(17, 7, -1, 1);
        Tensor cb = cpu.upload(y, 2, 7, 3, 3), gb = gpu.upload(y, 2, 7, 3, 3);
        cpu.bias().forward(cb, cpu.upload(bias, 7));
        gpu.bias().forward(gb, gpu.upload(bias, 7));
        assertBitwise("bias add", gpu.toFloatArray(gb), cpu.toFloatArray(cb));
        Tensor cdb = cpu.empty(DType.F32, 7), gdb = gpu.empty(DType.F32, 7);
        cpu.bias().backward(cpu.upload(y, 2, 7, 3, 3), cdb);
        gpu.bias().backward(gpu.upload(y, 2, 7, 3, 3), gdb);
        assertClose("bias grad", gpu.toFloatArray(gdb), cpu.toFloatArray(cdb), 1e-6, 1e-5);
    }

    @Test void multiTensorSgdAndEmaMatchTheCpuBitwise() {
        int[] sizes = {1, 4095, 4096, 4097, 10000};
        for (boolean nesterov : new boolean[] {false, true}) {
            Tensor[] cp = new Tensor[5], cg = new Tensor[5], cm = new Tensor[5], gp = new Tensor[5], gg = new Tensor[5], gm = new Tensor[5];
            float[] wd = {0f, 1e-4f, 5e-4f, 0f, 1e-4f};
            for (int i = 0; i < 5; i++) {
                float[] p = Fills.uniform(20 + i, sizes[i], -1, 1), g = Fills.uniform(30 + i, sizes[i], -1, 1);
                cp[i] = cpu.upload(p, sizes[i]); gp[i] = gpu.upload(p, sizes[i]);
                cg[i] = cpu.upload(g, sizes[i]); gg[i] = gpu.upload(g, sizes[i]);
                cm[i] = cpu.zeros(DType.F32, sizes[i]); gm[i] = gpu.zeros(DType.F32, sizes[i]);
            }
            try (SgdOp.Group c = cpu.sgd().prepare(List.of(cp), List.of(cg), List.of(cm), wd);
                 SgdOp.Group g = gpu.sgd().prepare(List.of(gp), List.of(gg), List.of(gm), wd)) {
                for (int step = 0; step < 3; step++) {
                    cpu.sgd().step(c, 0.1f, 0.9f, 0f, nesterov, step == 0);
                    gpu.sgd().step(g, 0.1f, 0.9f, 0f, nesterov, step == 0);
                }
            }
            for (int i = 0; i < 5; i++) {
                assertBitwise("sgd param " + i, gpu.toFloatArray(gp[i]), cpu.toFloatArray(cp[i]));
                assertBitwise("sgd momentum " + i, gpu.toFloatArray(gm[i]), cpu.toFloatArray(cm[i]));
            }
            try (EmaOp.Group c = cpu.ema().prepare(List.of(cp), List.of(cg)); EmaOp.Group g = gpu.ema().prepare(List.of(gp), List.of(gg))) {
                cpu.ema().update(c, 0.999);
                gpu.ema().update(g, 0.999);
            }
            for (int i = 0; i < 5; i++) assertBitwise("ema " + i, gpu.toFloatArray(gp[i]), cpu.toFloatArray(cp[i]));
        }
    }

    @Test void resNet18TrainingStepMatchesTheCpuAndAllocatesNothingInSteadyState() {
        int n = 4, classes = 3;
        float[] images = Fills.uniform(40, n * 16 * 16, 0, 1);
        int[] labels = {0, 1, 2, 1};
        double[] losses = new double[2];
        for (Backend b : new Backend[] {cpu, gpu}) {
            try (ResNet net = ResNet.resnet18(b, ModelConfig.smallImages(1).withHead(Head.linear(classes)).withSeed(5));
                 Sgd sgd = new Sgd(b, net.namedParameters(), Sgd.Options.compress())) {
                Tensor x = b.upload(images, n, 1, 16, 16);
                Tensor dLogits = b.empty(DType.F32, n, classes);
                float[] grad = new float[n * classes];
                long rawAfterWarmup = 0;
                double loss = 0;
                for (int step = 0; step < 4; step++) {
                    if (step == 2) rawAfterWarmup = b.memoryStats().rawAllocations();
                    Tensor logits = net.forward(x);
                    loss = org.compress.engine.testing.TrainingChecks.crossEntropy(b.toFloatArray(logits), labels, classes, grad);
                    b.elementwise().copy(b.upload(grad, n, classes), dLogits);
                    net.backward(dLogits);
                    sgd.step(0.05f);
                }
                if (b == gpu) assertEquals(rawAfterWarmup, gpu.memoryStats().rawAllocations(), "device allocations in steps 3-4");
                losses[b == cpu ? 0 : 1] = loss;
            }
        }
        assertTrue(Math.abs(losses[0] - losses[1]) < 1e-3 * Math.max(1, Math.abs(losses[0])), "cpu " + losses[0] + " vs gpu " + losses[1]);
    }
}
