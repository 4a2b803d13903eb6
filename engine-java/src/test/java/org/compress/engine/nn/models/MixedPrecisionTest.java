// BF16-mixed ResNet-18 (tiny widths) on the CPU, the emulation the GPU's BF16 path is held to.
// (1) It IS "FP32 with every activation and activation gradient rounded to bf16 where the GPU rounds": bitwise
//     equal to an FP32 network whose backend rounds each op's output with BFloat16.round (conv/BN/pool/ReLU/
//     fused-add outputs, input gradients, conv weight gradients, the fc output after its FP32 bias add; not the
//     BN statistics, the fc weight/bias gradients or anything else kept in FP32).
// (2) Against plain FP32, with a tolerance derived from bf16's unit roundoff: bf16 keeps 8 significant bits,
//     so one round-to-nearest moves a value by at most u = 2^-8 of itself. To first order each rounding site
//     perturbs its tensor by at most u (elementwise, so also in norm) and the perturbation reaches the output
//     through layers that batch norm keeps at gain ~1, so a result's normwise relative error is at most
//     (rounding sites on its path) * u. From the input cast to the logits ResNet-18 with the small-input stem
//     has 45 sites (3 in the stem, 5 per basic block, the average pool, fc); the fc gradients add one (the
//     incoming gradient's cast): bounds 45 u and 46 u. Errors are not all worst-case and aligned, so the
//     observed ones are a few u (printed). The test also requires the logits' error to exceed 2^-12: a "BF16"
//     path that did not round would sit at fp32's ~2^-24.
//     Gradients below the head are not Lipschitz in the forward values: a ReLU gate that a rounding moves
//     across zero passes (or blocks) its whole gradient element, so their difference from FP32 has a term of
//     order sqrt(fraction of flipped gates) that no per-rounding bound covers (here ~25-30% normwise, at any
//     batch or image size). For them the test requires the same direction only (normwise error of all
//     gradients together <= 1/2, i.e. cosine >= ~0.87) and relies on (1) for their precision.
// (3) Masters stay F32, their BF16 copies are the masters rounded once, SGD updates the masters by its exact
//     rule; state dicts are the FP32 ones. (4) BF16 training learns and allocates nothing in steady state.
// (5) Unsupported configurations are refused with a clear message; Flatten keeps a channels-last gradient's layout.
package org.compress.engine.nn.models;

import org.compress.engine.testing.TrainingChecks;
import static org.compress.engine.testing.Close.assertBitwise;
import static org.compress.engine.testing.Close.assertFiniteNonZero;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.nn.Conv2d;
import org.compress.engine.nn.Init;
import org.compress.engine.nn.Parameter;
import org.compress.engine.nn.Precision;
import org.compress.engine.ops.SgdOp;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.api.Test;

class MixedPrecisionTest {
    static final Backend cpu = new CpuBackend();
    static final double U = 0x1p-8;
    static final int FORWARD_SITES = 45;
    static final int N = 4, CLASSES = 5, SIZE = 12;

    static ModelConfig tiny(Precision p) {
        return ModelConfig.smallImages(3).withBaseWidth(4).withHead(Head.linear(CLASSES)).withSeed(11).withPrecision(p);
    }

    static double relativeError(float[] got, float[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = (double) got[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    /** One forward + backward: logits, embedding and every parameter gradient, by name. */
    static Map<String, float[]> step(Backend b, ResNet net, float[] images, float[] dLogits) {
        Map<String, float[]> out = new LinkedHashMap<>();
        Tensor x = b.upload(images, N, 3, SIZE, SIZE);
        out.put("logits", b.toFloatArray(net.forward(x)));
        out.put("embedding", b.toFloatArray(net.embedding()));
        net.backward(b.upload(dLogits, N, CLASSES));
        net.namedParameters().forEach((name, p) -> out.put("grad " + name, b.toFloatArray(p.grad())));
        return out;
    }

    @Test void bf16MixedIsFp32WithRoundingAtTheSameSitesBitwise() {
        float[] images = rounded(Fills.uniform(25, N * 3 * SIZE * SIZE, -1, 1)), dLogits = rounded(Fills.uniform(26, N * CLASSES, -1, 1));
        Backend rounding = RoundingBackend.over(cpu);
        try (ResNet mixed = ResNet.resnet18(cpu, tiny(Precision.BF16_MIXED)); ResNet emulated = ResNet.resnet18(rounding, tiny(Precision.FP32))) {
            // bf16-representable masters, so the BF16 copies hold exactly the emulation's weights.
            for (ResNet net : new ResNet[] {mixed, emulated}) {
                net.namedParameters().values().forEach(p -> RoundingBackend.roundInPlace(p.value()));
            }
            Map<String, float[]> a = step(cpu, mixed, images, dLogits), b = step(rounding, emulated, images, dLogits);
            for (String k : a.keySet()) {
                assertFiniteNonZero(k, a.get(k));
                assertBitwise(k, a.get(k), b.get(k));
            }
            Map<String, Tensor> sa = mixed.namedBuffers(), sb = emulated.namedBuffers();
            sa.forEach((k, t) -> assertBitwise("buffer " + k, cpu.toFloatArray(t), cpu.toFloatArray(sb.get(k))));
        }
    }

    @Test void bf16MixedResNet18MatchesFp32WithinTheRoundoffBound() {
        float[] images = Fills.uniform(21, N * 3 * SIZE * SIZE, -1, 1), dLogits = Fills.uniform(22, N * CLASSES, -1, 1);
        Map<String, float[]> ref, mixed;
        try (ResNet fp32 = ResNet.resnet18(cpu, tiny(Precision.FP32)); ResNet bf16 = ResNet.resnet18(cpu, tiny(Precision.BF16_MIXED))) {
            ref = step(cpu, fp32, images, dLogits);
            mixed = step(cpu, bf16, images, dLogits);
        }
        List<String> report = new ArrayList<>();
        double num = 0, den = 0, worst = 0;
        String worstName = "";
        for (String k : ref.keySet()) {
            float[] got = mixed.get(k), want = ref.get(k);
            assertFiniteNonZero(k + " (BF16-mixed)", got);
            double err = relativeError(got, want);
            if (k.startsWith("grad")) {
                for (int i = 0; i < want.length; i++) {
                    num += ((double) got[i] - want[i]) * ((double) got[i] - want[i]);
                    den += (double) want[i] * want[i];
                }
                if (err > worst) {
                    worst = err;
                    worstName = k;
                }
            }
            int sites = k.startsWith("grad fc.") ? FORWARD_SITES + 1 : k.startsWith("grad") ? -1 : FORWARD_SITES;
            if (sites < 0) continue;
            assertTrue(err <= sites * U, String.format(Locale.ROOT, "%s: normwise relative error %.3e exceeds %d sites * 2^-8 = %.3e",
                    k, err, sites, sites * U));
            report.add(String.format(Locale.ROOT, "%s %.2e (%.1f u of %d u)", k, err, err / U, sites));
        }
        double logitsError = relativeError(mixed.get("logits"), ref.get("logits"));
        assertTrue(logitsError > 0x1p-12, "the BF16 path must round: logits differ from FP32 by only " + logitsError);
        double all = Math.sqrt(num / den);
        assertTrue(all <= 0.5, String.format(Locale.ROOT, "all gradients: normwise relative error %.3f > 1/2 (worst tensor %s %.3f)",
                all, worstName, worst));
        report.add(String.format(Locale.ROOT, "all gradients %.3f (worst tensor %s %.3f)", all, worstName, worst));
        System.out.println("BF16-mixed vs FP32 ResNet-18 (CPU), normwise relative error: " + report);
    }

    @Test void mastersStayF32TheirCopiesAreRoundedOnceAndSgdUpdatesTheMasters() {
        float[] images = Fills.uniform(23, N * 3 * SIZE * SIZE, -1, 1), dLogits = Fills.uniform(24, N * CLASSES, -1, 1);
        try (ResNet net = ResNet.resnet18(cpu, tiny(Precision.BF16_MIXED));
             Sgd sgd = new Sgd(cpu, net.namedParameters(), Sgd.Options.compress())) {
            Map<String, Parameter> params = net.namedParameters();
            int copies = 0;
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                Parameter p = e.getValue();
                assertEquals(DType.F32, p.value().dtype(), e.getKey() + " master");
                assertEquals(DType.F32, p.grad().dtype(), e.getKey() + " grad");
                boolean weight = e.getKey().endsWith("weight") && p.value().rank() >= 2;   // conv and fc weights, not BN
                assertEquals(weight, p.hasComputeCopy(), e.getKey() + " has a BF16 copy");
                if (weight) {
                    copies++;
                    assertEquals(DType.BF16, p.compute().dtype(), e.getKey() + " copy");
                    assertBitwise(e.getKey() + " copy = round(master)", cpu.toFloatArray(p.compute()), rounded(cpu.toFloatArray(p.value())));
                }
            }
            assertEquals(21, copies, "20 convolutions and the fc weight");
            Map<String, float[]> before = new LinkedHashMap<>();
            step(cpu, net, images, dLogits);
            params.forEach((k, p) -> before.put(k, cpu.toFloatArray(p.value())));
            sgd.step(0.1f);
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                float[] old = before.get(e.getKey()), grad = cpu.toFloatArray(e.getValue().grad());
                float[] want = new float[old.length], buf = new float[1];
                for (int i = 0; i < old.length; i++) {
                    want[i] = SgdOp.update(old[i], grad[i], buf, 1e-4f, 0.1f, 0.9f, 0f, false, true);
                }
                float[] now = cpu.toFloatArray(e.getValue().value());
                assertBitwise(e.getKey() + " master after SGD", now, want);
                assertFalse(java.util.Arrays.equals(now, old), e.getKey() + " master did not change");
            }
            net.forward(cpu.upload(images, N, 3, SIZE, SIZE));   // refreshes the copies from the updated masters
            params.forEach((k, p) -> {
                if (p.hasComputeCopy()) assertBitwise(k + " copy after the step", cpu.toFloatArray(p.compute()), rounded(cpu.toFloatArray(p.value())));
            });
            // The state dict is the FP32 one: same keys and dtypes as an FP32 network's, and it loads across precisions.
            try (ResNet fp32 = ResNet.resnet18(cpu, tiny(Precision.FP32))) {
                Map<String, Tensor> a = net.stateDict(), b = fp32.stateDict();
                assertEquals(b.keySet(), a.keySet());
                b.forEach((k, t) -> assertEquals(t.dtype(), a.get(k).dtype(), k));
                fp32.loadStateDict(a);
                net.loadStateDict(b);
            }
        }
    }

    static float[] rounded(float[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = BFloat16.round(v[i]);
        return r;
    }

    @Test void bf16TrainingLowersTheLossAndAllocatesNothingAfterTheFirstStep() {
        AtomicInteger allocations = new AtomicInteger();
        Backend counting = TrainingChecks.countingAllocations(cpu, allocations);
        int n = 8, classes = 4;
        try (ResNet net = ResNet.resnet18(counting, ModelConfig.smallImages(1).withBaseWidth(8).withHead(Head.linear(classes)).withSeed(3)
                .withPrecision(Precision.BF16_MIXED));
             Sgd sgd = new Sgd(counting, net.namedParameters(), Sgd.Options.compress())) {
            Tensor x = cpu.upload(Fills.uniform(4, n * 16 * 16, 0, 1), n, 1, 16, 16);
            int[] labels = {0, 1, 2, 3, 3, 2, 1, 0};
            Tensor dLogits = cpu.empty(DType.F32, n, classes);
            double first = 0, last = 0;
            for (int step = 0; step < 6; step++) {
                if (step == 2) allocations.set(0);
                Tensor logits = net.forward(x);
                assertEquals(DType.F32, logits.dtype(), "the network's output is F32");
                double loss = TrainingChecks.crossEntropy(cpu.toFloatArray(logits), labels, classes, dLogits.cpuStorage().f32());
                net.backward(dLogits);
                sgd.step(0.05f);
                if (step == 0) first = loss;
                last = loss;
            }
            assertTrue(Double.isFinite(last) && last < 0.7 * first, "loss " + first + " -> " + last);
            assertEquals(0, allocations.get(), "tensors allocated by steps 3..6");
        }
    }


    @Test void flattenHandsAChannelsLastGradientBackInItsFormat() {
        try (org.compress.engine.nn.Flatten flatten = new org.compress.engine.nn.Flatten(cpu)) {
            Tensor x = cpu.empty(DType.BF16, MemoryFormat.CHANNELS_LAST, 3, 4, 1, 1);
            Tensor y = flatten.forward(x);
            assertEquals(MemoryFormat.CONTIGUOUS, y.format());
            Tensor dx = flatten.backward(cpu.zeros(DType.BF16, 3, 4));
            assertEquals(MemoryFormat.CHANNELS_LAST, dx.format(), "the pooling layer below gets the layout it produced");
            assertEquals(List.of(3, 4, 1, 1), java.util.Arrays.stream(dx.shape()).boxed().toList());
            var bad = assertThrows(ShapeMismatchException.class, () -> flatten.forward(cpu.empty(DType.BF16, MemoryFormat.CHANNELS_LAST, 3, 4, 2, 1)));
            assertTrue(bad.getMessage().contains("(N, C, 1, 1)"), bad.getMessage());
        }
    }

    @Test void unsupportedNumericsAreRefusedClearly() {
        var alex = assertThrows(IllegalArgumentException.class, () -> new AlexNet(cpu, ModelConfig.imagenet(10).withPrecision(Precision.BF16_MIXED)));
        assertTrue(alex.getMessage().contains("AlexNet") && alex.getMessage().contains("BF16_MIXED"), alex.getMessage());
        var mobile = assertThrows(IllegalArgumentException.class,
                () -> new MobileNetV2(cpu, ModelConfig.smallImages(1).withPrecision(Precision.BF16_MIXED)));
        assertTrue(mobile.getMessage().contains("MobileNetV2"), mobile.getMessage());
        try (Conv2d biased = new Conv2d(cpu, new Init(1), 3, 4, 3, 1, 1, 1, true)) {
            var conv = assertThrows(UnsupportedOperationException.class, () -> biased.setNumerics(Precision.BF16_MIXED, MemoryFormat.CONTIGUOUS));
            assertTrue(conv.getMessage().contains("bias"), conv.getMessage());
            assertFalse(biased.weight().hasComputeCopy(), "a refused switch changes nothing");
        }
        var missing = assertThrows(IllegalArgumentException.class, () -> tiny(null));
        assertTrue(missing.getMessage().contains("precision"), missing.getMessage());
        // Channels-last is a CUDA layout: the CPU ops say so at the first convolution.
        try (ResNet net = ResNet.resnet18(cpu, tiny(Precision.FP32).withMemoryFormat(MemoryFormat.CHANNELS_LAST))) {
            var layout = assertThrows(ShapeMismatchException.class, () -> net.forward(cpu.upload(new float[3 * 8 * 8], 1, 3, 8, 8)));
            assertTrue(layout.getMessage().contains("expected a CONTIGUOUS tensor"), layout.getMessage());
        }
    }
}
