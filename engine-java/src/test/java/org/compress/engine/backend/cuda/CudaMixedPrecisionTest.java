// The CUDA BF16-mixed / channels-last path against the CPU's BF16 emulation (CpuBf16OpsTest shows each CPU BF16
// op is the F32 op rounded once; MixedPrecisionTest that the CPU network is FP32 with rounding at the GPU's
// sites). Unverified until a GPU runs it; skips without one.
// Ops, NCHW and NHWC (NHWC filters for the convolution, as the network uses): conversions (F32 <-> BF16,
// NCHW <-> NHWC, the list form) and the pointwise kernels (activations, fused add, axpy, max pooling with
// distinct values) bitwise; convolution, batch norm and adaptive pooling within bf16 ulps: both sides round an
// fp32-or-better value once, but sum in different orders, so an element may land on the neighbouring bf16 value
// (one ulp <= 2^-7 of it); a second ulp and one ulp of the tensor's RMS cover cuDNN algorithms that keep
// transformed operands in bf16, and elements near cancellation.
// Network: ResNet-18 (tiny widths) BF16_MIXED CHANNELS_LAST on CUDA against the CPU's BF16_MIXED (NCHW) and
// against CUDA FP32, with MixedPrecisionTest's bounds (45 sites * 2^-8 for outputs, 46 for the fc gradients,
// doubled against the CPU emulation since each site may round either way there; all gradients: same direction);
// masters stay F32 NCHW while conv copies are BF16 NHWC; one SGD step moves the masters by the exact rule;
// steady-state steps allocate no device memory.
package org.compress.engine.backend.cuda;

import static org.compress.engine.testing.Close.assertBitwise;
import static org.compress.engine.testing.Close.assertFiniteNonZero;
import static org.compress.engine.testing.Close.assertWithin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.nn.Parameter;
import org.compress.engine.nn.Precision;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.ModelConfig;
import org.compress.engine.nn.models.ResNet;
import org.compress.engine.ops.Activation;
import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.ConvertOp;
import org.compress.engine.ops.PoolParams;
import org.compress.engine.ops.SgdOp;
import org.compress.engine.optim.Sgd;
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
import org.junit.jupiter.params.provider.EnumSource;

@GpuTest
class CudaMixedPrecisionTest {
    static CudaBackend gpu;
    static final Backend cpu = new CpuBackend();
    static final double U = 0x1p-8;

    @BeforeAll static void open() { gpu = CudaBackend.open(0); }

    @AfterAll static void close() { if (gpu != null) gpu.close(); }

    /** NCHW values as a tensor of `dtype` / `format` on backend b (rounded to bf16 for BF16). */
    static Tensor put(Backend b, float[] nchw, DType dtype, MemoryFormat format, int... shape) {
        Tensor t = b.empty(dtype, format, shape);
        try (Tensor src = b.upload(nchw, shape)) {
            b.convert().convert(src, t);
        }
        return t;
    }

    /** A tensor's values in NCHW order, as floats. */
    static float[] nchw(Backend b, Tensor t) {
        try (Tensor f = b.empty(DType.F32, t.shape())) {
            b.convert().convert(t, f);
            return b.toFloatArray(f);
        }
    }

    /** |got - ref| <= ulps * 2^-7 * (|ref| + rms(ref)): `ulps` bf16 ulps of the value and of the tensor's scale. */
    static void assertUlps(String what, float[] got, float[] ref, double ulps) {
        double rms = 0;
        for (float v : ref) rms += (double) v * v;
        rms = Math.sqrt(rms / Math.max(1, ref.length));
        double[] r = new double[ref.length], bound = new double[ref.length];
        for (int i = 0; i < ref.length; i++) {
            r[i] = ref[i];
            bound[i] = ulps * 0x1p-7 * (Math.abs(ref[i]) + rms);
        }
        assertFiniteNonZero(what, got);
        assertWithin(what, got, r, bound);
    }

    @ParameterizedTest(name = "conversions and pointwise ops {0}")
    @EnumSource(MemoryFormat.class)
    void conversionsAndPointwiseOpsMatchTheCpuBitwise(MemoryFormat f) {
        int n = 3, c = 5, h = 7, w = 6;
        float[] a = Fills.uniform(1, n * c * h * w, -4, 4), b = Fills.uniform(2, a.length, -4, 4);
        Tensor ga = put(gpu, a, DType.BF16, f, n, c, h, w), gb = put(gpu, b, DType.BF16, f, n, c, h, w);
        Tensor ca = put(cpu, a, DType.BF16, MemoryFormat.CONTIGUOUS, n, c, h, w), cb = put(cpu, b, DType.BF16, MemoryFormat.CONTIGUOUS, n, c, h, w);
        assertBitwise("F32 NCHW -> BF16 " + f, nchw(gpu, ga), cpu.toFloatArray(ca));
        if (f == MemoryFormat.CHANNELS_LAST) {
            Tensor host = gpu.download(ga), want = cpu.empty(DType.BF16, MemoryFormat.CHANNELS_LAST, n, c, h, w);
            cpu.convert().convert(ca, want);
            assertBitwise("NHWC storage order", cpu.toFloatArray(host), cpu.toFloatArray(want));
        }
        for (Activation act : Activation.values()) {
            Tensor gy = gpu.empty(DType.BF16, f, n, c, h, w), cy = cpu.empty(DType.BF16, n, c, h, w);
            gpu.activation().addForward(act, ga, gb, gy);
            cpu.activation().addForward(act, ca, cb, cy);
            assertBitwise("add+" + act, nchw(gpu, gy), cpu.toFloatArray(cy));
            gpu.activation().forward(act, ga, gy);
            cpu.activation().forward(act, ca, cy);
            assertBitwise(act.toString(), nchw(gpu, gy), cpu.toFloatArray(cy));
            Tensor gdx = gpu.empty(DType.BF16, f, n, c, h, w), cdx = cpu.empty(DType.BF16, n, c, h, w);
            gpu.activation().backward(act, gy, gb, gdx);
            cpu.activation().backward(act, cy, cb, cdx);
            assertBitwise(act + " backward", nchw(gpu, gdx), cpu.toFloatArray(cdx));
        }
        gpu.elementwise().axpy(0.75f, gb, ga);
        cpu.elementwise().axpy(0.75f, cb, ca);
        assertBitwise("axpy", nchw(gpu, ga), cpu.toFloatArray(ca));
        // Max pooling on distinct values (no ties, whose winner may differ), bf16-exact small integers.
        float[] distinct = new float[n * c * h * w];
        for (int i = 0; i < distinct.length; i++) distinct[i] = ((i * 37) % distinct.length) - distinct.length / 2f;
        PoolParams p = PoolParams.of(3, 2, 1);
        int oh = p.outH(h), ow = p.outW(w);
        Tensor gx = put(gpu, distinct, DType.BF16, f, n, c, h, w), cx = put(cpu, distinct, DType.BF16, MemoryFormat.CONTIGUOUS, n, c, h, w);
        Tensor gy = gpu.empty(DType.BF16, f, n, c, oh, ow), cy = cpu.empty(DType.BF16, n, c, oh, ow);
        gpu.pooling().maxForward(gx, gy, p);
        cpu.pooling().maxForward(cx, cy, p);
        assertBitwise("maxpool", nchw(gpu, gy), cpu.toFloatArray(cy));
        float[] dy = Fills.uniform(3, n * c * oh * ow, -1, 1);
        Tensor gdx = gpu.empty(DType.BF16, f, n, c, h, w), cdx = cpu.empty(DType.BF16, n, c, h, w);
        gpu.pooling().maxBackward(gx, gy, put(gpu, dy, DType.BF16, f, n, c, oh, ow), gdx, p);
        cpu.pooling().maxBackward(cx, cy, put(cpu, dy, DType.BF16, MemoryFormat.CONTIGUOUS, n, c, oh, ow), cdx, p);
        assertUlps("maxpool backward (overlapping windows sum in fp32)", nchw(gpu, gdx), cpu.toFloatArray(cdx), 1);
        // The list form: several masters -> BF16 copies in one launch, as a network refreshes its weights.
        float[] w1 = Fills.uniform(4, 8 * 3 * 3 * 3, -1, 1), w2 = Fills.uniform(5, 4097, -1, 1);
        Tensor m1 = gpu.upload(w1, 8, 3, 3, 3), m2 = gpu.upload(w2, 4097);
        Tensor c1 = gpu.empty(DType.BF16, f, 8, 3, 3, 3), c2 = gpu.empty(DType.BF16, 4097);
        try (ConvertOp.Group g = gpu.convert().prepare(List.of(m1, m2), List.of(c1, c2))) {
            gpu.convert().run(g);
        }
        assertBitwise("list form, 4-d", nchw(gpu, c1), cpu.toFloatArray(put(cpu, w1, DType.BF16, MemoryFormat.CONTIGUOUS, 8, 3, 3, 3)));
        assertBitwise("list form, 1-d", gpu.toFloatArray(c2), cpu.toFloatArray(put(cpu, w2, DType.BF16, MemoryFormat.CONTIGUOUS, 4097)));
    }

    @ParameterizedTest(name = "bf16 conv n={0} c={1} {2}x{3} k={4} r={5} s={6} p={7} {8}")
    @CsvSource({"2,3,9,9,8,3,1,1,CONTIGUOUS", "3,16,8,8,24,3,2,1,CHANNELS_LAST", "2,3,15,15,8,7,2,3,CHANNELS_LAST",
                "4,32,7,7,32,1,1,0,CHANNELS_LAST"})
    void bf16ConvolutionMatchesTheCpuEmulationWithinTwoUlps(int n, int c, int h, int w, int k, int r, int s, int p, MemoryFormat f) {
        Conv2dParams geo = Conv2dParams.of(s, p);
        int oh = geo.outH(h, r), ow = geo.outW(w, r);
        float[] x = Fills.uniform(6, n * c * h * w, -1, 1), wt = Fills.uniform(7, k * c * r * r, -1, 1), dy = Fills.uniform(8, n * k * oh * ow, -1, 1);
        MemoryFormat nchw = MemoryFormat.CONTIGUOUS;
        Tensor gx = put(gpu, x, DType.BF16, f, n, c, h, w), gw = put(gpu, wt, DType.BF16, f, k, c, r, r), gdy = put(gpu, dy, DType.BF16, f, n, k, oh, ow);
        Tensor cx = put(cpu, x, DType.BF16, nchw, n, c, h, w), cw = put(cpu, wt, DType.BF16, nchw, k, c, r, r), cdy = put(cpu, dy, DType.BF16, nchw, n, k, oh, ow);
        Tensor gy = gpu.empty(DType.BF16, f, n, k, oh, ow), cy = cpu.empty(DType.BF16, n, k, oh, ow);
        gpu.convolution().forward(gx, gw, null, gy, geo);
        cpu.convolution().forward(cx, cw, null, cy, geo);
        assertUlps("forward", nchw(gpu, gy), cpu.toFloatArray(cy), 2);
        Tensor gdx = gpu.empty(DType.BF16, f, n, c, h, w), cdx = cpu.empty(DType.BF16, n, c, h, w);
        gpu.convolution().backwardData(gdy, gw, gdx, geo);
        cpu.convolution().backwardData(cdy, cw, cdx, geo);
        assertUlps("backward data", nchw(gpu, gdx), cpu.toFloatArray(cdx), 2);
        Tensor gdw = gpu.empty(DType.BF16, f, k, c, r, r), cdw = cpu.empty(DType.BF16, k, c, r, r);
        gpu.convolution().backwardFilter(gx, gdy, gdw, geo);
        cpu.convolution().backwardFilter(cx, cdy, cdw, geo);
        assertUlps("backward filter", nchw(gpu, gdw), cpu.toFloatArray(cdw), 2);
    }

    @ParameterizedTest(name = "bf16 batchnorm and adaptive pool n={0} c={1} {2}x{2} {3}")
    @CsvSource({"3,5,7,CONTIGUOUS", "4,24,5,CHANNELS_LAST", "8,16,1,CHANNELS_LAST"})
    void bf16BatchNormAndAdaptivePoolMatchTheCpuEmulation(int n, int c, int hw, MemoryFormat f) {
        int[] s = {n, c, hw, hw};
        float[] x = Fills.uniform(9, n * c * hw * hw, -2, 3), dy = Fills.uniform(10, x.length, -1, 1);
        float[] gamma = Fills.uniform(11, c, 0.5f, 1.5f), beta = Fills.uniform(12, c, -1, 1);
        Tensor gx = put(gpu, x, DType.BF16, f, s), cx = put(cpu, x, DType.BF16, MemoryFormat.CONTIGUOUS, s);
        Tensor gdy = put(gpu, dy, DType.BF16, f, s), cdy = put(cpu, dy, DType.BF16, MemoryFormat.CONTIGUOUS, s);
        Tensor[] g = perChannel(gpu, gamma, beta), h = perChannel(cpu, gamma, beta);
        Tensor gy = gpu.empty(DType.BF16, f, s), cy = cpu.empty(DType.BF16, s);
        gpu.batchNorm().forwardTraining(gx, g[0], g[1], g[2], g[3], 0.1f, 1e-5f, gy, g[4], g[5]);
        cpu.batchNorm().forwardTraining(cx, h[0], h[1], h[2], h[3], 0.1f, 1e-5f, cy, h[4], h[5]);
        assertUlps("bn y", nchw(gpu, gy), cpu.toFloatArray(cy), 1);
        for (int i = 2; i < 6; i++) {
            float[] ref = cpu.toFloatArray(h[i]);
            org.compress.engine.testing.Close.assertClose("bn F32 statistics " + i, gpu.toFloatArray(g[i]), ref, 1e-6, 1e-5);
        }
        Tensor gdx = gpu.empty(DType.BF16, f, s), cdx = cpu.empty(DType.BF16, s);
        Tensor gdg = gpu.empty(DType.F32, c), gdb = gpu.empty(DType.F32, c), cdg = cpu.empty(DType.F32, c), cdb = cpu.empty(DType.F32, c);
        gpu.batchNorm().backward(gx, gdy, g[0], g[4], g[5], 1e-5f, gdx, gdg, gdb);
        cpu.batchNorm().backward(cx, cdy, h[0], h[4], h[5], 1e-5f, cdx, cdg, cdb);
        assertUlps("bn dx", nchw(gpu, gdx), cpu.toFloatArray(cdx), 1);
        org.compress.engine.testing.Close.assertClose("bn dgamma (F32)", gpu.toFloatArray(gdg), cpu.toFloatArray(cdg), 1e-5 * n * hw * hw, 1e-5);
        org.compress.engine.testing.Close.assertClose("bn dbeta (F32)", gpu.toFloatArray(gdb), cpu.toFloatArray(cdb), 1e-5 * n * hw * hw, 1e-5);
        gpu.batchNorm().forwardInference(gx, g[0], g[1], g[2], g[3], 1e-5f, gy);
        cpu.batchNorm().forwardInference(cx, h[0], h[1], h[2], h[3], 1e-5f, cy);
        assertUlps("bn eval y", nchw(gpu, gy), cpu.toFloatArray(cy), 1);
        Tensor ga = gpu.empty(DType.BF16, f, n, c, 1, 1), ca = cpu.empty(DType.BF16, n, c, 1, 1);
        gpu.pooling().adaptiveAvgForward(gx, ga);
        cpu.pooling().adaptiveAvgForward(cx, ca);
        assertUlps("global avg pool", nchw(gpu, ga), cpu.toFloatArray(ca), 1);
        float[] d = Fills.uniform(13, n * c, -1, 1);
        gpu.pooling().adaptiveAvgBackward(put(gpu, d, DType.BF16, f, n, c, 1, 1), gdx);
        cpu.pooling().adaptiveAvgBackward(put(cpu, d, DType.BF16, MemoryFormat.CONTIGUOUS, n, c, 1, 1), cdx);
        assertUlps("global avg pool backward", nchw(gpu, gdx), cpu.toFloatArray(cdx), 1);
    }

    static Tensor[] perChannel(Backend b, float[] gamma, float[] beta) {
        int c = gamma.length;
        Tensor rv = b.empty(DType.F32, c);
        b.elementwise().fill(rv, 1f);
        return new Tensor[] {b.upload(gamma, c), b.upload(beta, c), b.zeros(DType.F32, c), rv, b.empty(DType.F32, c), b.empty(DType.F32, c)};
    }

    static final int N = 4, CLASSES = 5, SIZE = 12, FORWARD_SITES = 45;

    static ModelConfig tiny(Precision p, MemoryFormat f) {
        return ModelConfig.smallImages(3).withBaseWidth(8).withHead(Head.linear(CLASSES)).withSeed(11).withPrecision(p).withMemoryFormat(f);
    }

    static Map<String, float[]> step(Backend b, ResNet net, float[] images, float[] dLogits) {
        Map<String, float[]> out = new LinkedHashMap<>();
        out.put("logits", b.toFloatArray(net.forward(b.upload(images, N, 3, SIZE, SIZE))));
        out.put("embedding", b.toFloatArray(net.embedding()));
        net.backward(b.upload(dLogits, N, CLASSES));
        net.namedParameters().forEach((name, p) -> out.put("grad " + name, b.toFloatArray(p.grad())));
        return out;
    }

    /** Outputs and fc gradients within factor * sites * u; all gradients together within 1/2 (same direction). */
    static void assertCloseNetwork(String what, Map<String, float[]> got, Map<String, float[]> ref, double factor) {
        double num = 0, den = 0;
        StringBuilder report = new StringBuilder(what + ":");
        for (String k : ref.keySet()) {
            float[] a = got.get(k), r = ref.get(k);
            assertFiniteNonZero(what + " " + k, a);
            double e = 0, d = 0;
            for (int i = 0; i < r.length; i++) {
                e += ((double) a[i] - r[i]) * ((double) a[i] - r[i]);
                d += (double) r[i] * r[i];
            }
            if (k.startsWith("grad")) {
                num += e;
                den += d;
            }
            double err = Math.sqrt(e / d);
            int sites = k.startsWith("grad fc.") ? FORWARD_SITES + 1 : k.startsWith("grad") ? -1 : FORWARD_SITES;
            if (sites < 0) continue;
            assertTrue(err <= factor * sites * U, String.format(Locale.ROOT, "%s %s: normwise relative error %.3e > %.0f * %d * 2^-8",
                    what, k, err, factor, sites));
            report.append(String.format(Locale.ROOT, " %s %.1f u;", k, err / U));
        }
        double all = Math.sqrt(num / den);
        assertTrue(all <= 0.5, what + ": all gradients differ by " + all + " (normwise) > 1/2");
        System.out.println(report.append(String.format(Locale.ROOT, " all gradients %.3f", all)));
    }

    @Test void bf16ChannelsLastResNet18MatchesTheCpuEmulationAndCudaFp32() {
        float[] images = Fills.uniform(21, N * 3 * SIZE * SIZE, -1, 1), dLogits = Fills.uniform(22, N * CLASSES, -1, 1);
        Map<String, float[]> cudaMixed, cpuMixed, cudaFp32;
        try (ResNet g = ResNet.resnet18(gpu, tiny(Precision.BF16_MIXED, MemoryFormat.CHANNELS_LAST));
             ResNet c = ResNet.resnet18(cpu, tiny(Precision.BF16_MIXED, MemoryFormat.CONTIGUOUS));
             ResNet g32 = ResNet.resnet18(gpu, tiny(Precision.FP32, MemoryFormat.CONTIGUOUS))) {
            for (Map.Entry<String, Parameter> e : g.namedParameters().entrySet()) {
                Parameter p = e.getValue();
                assertEquals(DType.F32, p.value().dtype(), e.getKey());
                assertEquals(MemoryFormat.CONTIGUOUS, p.value().format(), e.getKey() + " master is NCHW");
                if (p.value().rank() == 4) {
                    assertEquals(DType.BF16, p.compute().dtype(), e.getKey());
                    assertEquals(MemoryFormat.CHANNELS_LAST, p.compute().format(), e.getKey() + " copy is KRSC");
                }
            }
            cudaMixed = step(gpu, g, images, dLogits);
            cpuMixed = step(cpu, c, images, dLogits);
            cudaFp32 = step(gpu, g32, images, dLogits);
        }
        assertCloseNetwork("CUDA BF16 NHWC vs CPU BF16 emulation", cudaMixed, cpuMixed, 2);
        assertCloseNetwork("CUDA BF16 NHWC vs CUDA FP32", cudaMixed, cudaFp32, 1);
    }

    @Test void bf16ChannelsLastTrainingStepsMoveTheMastersExactlyAndAllocateNothingInSteadyState() {
        int n = 8, classes = 4;
        float[] images = Fills.uniform(30, n * 16 * 16, 0, 1);
        int[] labels = {0, 1, 2, 3, 3, 2, 1, 0};
        try (ResNet net = ResNet.resnet18(gpu, ModelConfig.smallImages(1).withBaseWidth(16).withHead(Head.linear(classes)).withSeed(5)
                .withPrecision(Precision.BF16_MIXED).withMemoryFormat(MemoryFormat.CHANNELS_LAST));
             Sgd sgd = new Sgd(gpu, net.namedParameters(), Sgd.Options.compress())) {
            Tensor x = gpu.upload(images, n, 1, 16, 16), dLogits = gpu.empty(DType.F32, n, classes);
            float[] grad = new float[n * classes];
            long rawAfterWarmup = 0;
            double first = 0, last = 0;
            for (int step = 0; step < 6; step++) {
                if (step == 2) rawAfterWarmup = gpu.memoryStats().rawAllocations();
                double loss = org.compress.engine.testing.TrainingChecks.crossEntropy(gpu.toFloatArray(net.forward(x)), labels, classes, grad);
                try (Tensor up = gpu.upload(grad, n, classes)) {
                    gpu.elementwise().copy(up, dLogits);
                }
                net.backward(dLogits);
                Map<String, float[]> before = new LinkedHashMap<>(), grads = new LinkedHashMap<>();
                if (step == 0) {
                    net.namedParameters().forEach((k, p) -> {
                        before.put(k, gpu.toFloatArray(p.value()));
                        grads.put(k, gpu.toFloatArray(p.grad()));
                    });
                }
                sgd.step(0.05f);
                if (step == 0) {
                    net.namedParameters().forEach((k, p) -> {
                        float[] old = before.get(k), g = grads.get(k), want = new float[old.length], buf = new float[1];
                        for (int i = 0; i < old.length; i++) want[i] = SgdOp.update(old[i], g[i], buf, 1e-4f, 0.05f, 0.9f, 0f, false, true);
                        assertBitwise(k + " master after the first step", gpu.toFloatArray(p.value()), want);
                    });
                    first = loss;
                }
                last = loss;
            }
            assertEquals(rawAfterWarmup, gpu.memoryStats().rawAllocations(), "device allocations in steps 3-6");
            assertTrue(Double.isFinite(last) && last < 0.8 * first, "loss " + first + " -> " + last);
        }
    }
}
