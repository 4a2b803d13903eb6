// Whole training steps on the fast CPU backend: a ResNet-18 (small stem, base width 8, linear head) kept in NHWC
// (the fast backend's preferred format) trains step for step like the same network on the plain-Java reference
// in NCHW, and a steady step allocates no tensor and (almost) no Java heap.
// Tolerance of the step-for-step comparison: the two paths sum convolutions and batch-norm statistics in different
// orders (each op ~1e-6 relative apart, DnnlOpsTest), and 20 layers of BN-normalised activations carry that
// through three SGD steps; logits and weights are held to atol 1e-4 + rtol 1e-3 (a wrong layout, a dropped
// gradient term or a stale weight moves them by 1e-2 or more).
package org.compress.engine.backend.cpu;

import static org.compress.engine.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.compress.engine.backend.Backend;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.ModelConfig;
import org.compress.engine.nn.models.ResNet;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.compress.engine.testing.TrainingChecks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class FastCpuTrainingTest {
    static final int N = 6, CLASSES = 4, SIZE = 12;
    static final int[] LABELS = {0, 1, 2, 3, 1, 2};

    @BeforeAll static void load() {
        assumeTrue(DnnlNative.available(), () -> "no native CPU path here: " + DnnlNative.reason());
    }

    static ModelConfig config(Backend be) {
        return ModelConfig.smallImages(1).withBaseWidth(8).withHead(Head.linear(CLASSES)).withSeed(5)
                .withMemoryFormat(be.preferredFormat(DType.F32));
    }

    @Test void nhwcTrainingStepsFollowTheReferenceStepForStep() {
        CpuBackend fast = CpuBackend.fast(), ref = new CpuBackend();
        assertEquals(MemoryFormat.CHANNELS_LAST, fast.preferredFormat(DType.F32));
        assertEquals(MemoryFormat.CONTIGUOUS, ref.preferredFormat(DType.F32));
        assertEquals(MemoryFormat.CONTIGUOUS, fast.preferredFormat(DType.BF16), "BF16 stays on the NCHW reference ops");
        try (ResNet a = ResNet.resnet18(fast, config(fast)); ResNet b = ResNet.resnet18(ref, config(ref));
             Sgd sa = new Sgd(fast, a.namedParameters(), Sgd.Options.compress());
             Sgd sb = new Sgd(ref, b.namedParameters(), Sgd.Options.compress())) {
            float[] images = Fills.uniform(4, N * SIZE * SIZE, -1, 1);
            Tensor xa = fast.upload(images.clone(), N, 1, SIZE, SIZE), xb = ref.upload(images.clone(), N, 1, SIZE, SIZE);
            Tensor ga = fast.empty(DType.F32, N, CLASSES), gb = ref.empty(DType.F32, N, CLASSES);
            for (int step = 0; step < 3; step++) {
                float[] la = fast.toFloatArray(a.forward(xa)), lb = ref.toFloatArray(b.forward(xb));
                assertClose("logits at step " + step, la, lb, 1e-4, 1e-3);
                TrainingChecks.crossEntropy(la, LABELS, CLASSES, ga.cpuStorage().f32());
                TrainingChecks.crossEntropy(lb, LABELS, CLASSES, gb.cpuStorage().f32());
                a.backward(ga);
                b.backward(gb);
                sa.step(0.1f);
                sb.step(0.1f);
            }
            for (String name : b.namedParameters().keySet()) {
                assertClose(name + " after 3 steps", fast.toFloatArray(a.namedParameters().get(name).value()),
                        ref.toFloatArray(b.namedParameters().get(name).value()), 1e-4, 1e-3);
            }
            a.eval();
            b.eval();
            assertClose("eval-mode embedding", fast.toFloatArray(a.embed(xa)), ref.toFloatArray(b.embed(xb)), 1e-4, 1e-3);
        }
    }

    @Test void backendsChoosesTheFastCpuBackendAndKeepsTheReferenceByName() {
        try (Backend cpu = org.compress.engine.backend.Backends.select("cpu");
             Backend reference = org.compress.engine.backend.Backends.select("cpu-reference")) {
            assertTrue(((CpuBackend) cpu).isFast(), "\"cpu\" must be the fast backend where the library loads: " + cpu);
            assertTrue(!((CpuBackend) reference).isFast(), "\"cpu-reference\" must be the plain-Java backend: " + reference);
            assertEquals("cpu", reference.name());
        }
    }

    @Test void knnThroughTheFastBackendAgreesWithTheHostLoop() {
        // 10 noisy clusters in 33-d; 700 test rows span two GEMM blocks (512 + a partial one). Both paths select
        // from fp32 similarities summed in different orders (~1e-7 apart), so a near-tie may flip one query.
        int n = 2000, queries = 700, dim = 33, classes = 10;
        float[] centres = Fills.uniform(30, classes * dim, -0.25f, 0.25f);
        float[] train = Fills.uniform(31, n * dim, -1, 1), test = Fills.uniform(32, queries * dim, -1, 1);
        int[] trainLabels = new int[n], testLabels = new int[queries];
        for (int i = 0; i < n; i++) {
            trainLabels[i] = i % classes;
            for (int c = 0; c < dim; c++) train[i * dim + c] += centres[trainLabels[i] * dim + c];
        }
        for (int i = 0; i < queries; i++) {
            testLabels[i] = (i * 7) % classes;
            for (int c = 0; c < dim; c++) test[i * dim + c] += centres[testLabels[i] * dim + c];
        }
        org.compress.engine.train.KnnEvaluator host = new org.compress.engine.train.KnnEvaluator(train, trainLabels, dim, classes);
        org.compress.engine.train.KnnEvaluator viaGemm =
                new org.compress.engine.train.KnnEvaluator(train, trainLabels, dim, classes, CpuBackend.fast());
        for (int k : new int[] {1, 20}) {
            double a = host.accuracy(test, testLabels, k, 0.07), b = viaGemm.accuracy(test, testLabels, k, 0.07);
            assertTrue(a > 0.15 && a < 0.99, "the data must make k-NN neither trivial nor chance (0.1): " + a);
            assertTrue(Math.abs(a - b) <= 1.0 / queries, "k=" + k + ": host loop " + a + ", backend GEMM " + b);
        }
    }

    @Test void aSteadyFastTrainingStepAllocatesNothing() {
        AtomicInteger allocations = new AtomicInteger();
        CpuBackend fast = CpuBackend.fast();
        Backend counting = TrainingChecks.countingAllocations(fast, allocations);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (ResNet net = ResNet.resnet18(counting, config(fast)); Sgd sgd = new Sgd(counting, net.namedParameters(), Sgd.Options.compress())) {
            int size = 32;
            Tensor x = fast.upload(Fills.uniform(4, N * size * size, 0, 1), N, 1, size, size);
            Tensor dLogits = fast.upload(Fills.uniform(6, N * CLASSES, -0.1f, 0.1f), N, CLASSES);
            long heapBefore = 0;
            int steps = 8;
            for (int step = 0; step < 3 + steps; step++) {
                if (step == 3) {
                    allocations.set(0);
                    heapBefore = threads.getCurrentThreadAllocatedBytes();
                }
                net.forward(x);
                net.backward(dLogits);
                sgd.step(0.05f);
            }
            long heapPerStep = (threads.getCurrentThreadAllocatedBytes() - heapBefore) / steps;
            assertEquals(0, allocations.get(), "tensors allocated by steady steps");
            // What the layers and ops allocate per step is bookkeeping: shape arrays, check messages, views (about
            // 100 KiB over the network's ~60 modules, whatever the batch). The bound is one activation of the
            // first stage (N x 8 x 32 x 32 floats, 192 KiB): any activation, gradient or scratch buffer made per
            // call, rather than kept, exceeds it.
            long oneActivation = (long) N * 8 * size * size * Float.BYTES;
            assertTrue(heapPerStep < oneActivation, "Java heap allocated per steady step: " + heapPerStep + " bytes, bound " + oneActivation);
        }
    }
}
