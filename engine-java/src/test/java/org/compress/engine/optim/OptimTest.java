// SGD, LR schedules and the momentum encoder against values worked by hand with PyTorch's rules, and a full
// CPU training step (forward, loss, backward, SGD) of a small-input ResNet-18 that lowers the loss while
// allocating nothing after the first step.
package org.compress.engine.optim;

import org.compress.engine.testing.TrainingChecks;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.nn.BatchNorm2d;
import org.compress.engine.nn.Init;
import org.compress.engine.nn.Linear;
import org.compress.engine.nn.Module;
import org.compress.engine.nn.Parameter;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.ModelConfig;
import org.compress.engine.nn.models.ResNet;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.api.Test;

class OptimTest {
    static final Backend cpu = new CpuBackend();

    static void set(Tensor t, float... v) { cpu.elementwise().copy(cpu.upload(v, t.shape()), t); }

    @Test void sgdFollowsPyTorchsRuleWithMomentumDecayAndBnExclusion() {
        // p = 1, g = 0.5, wd = 0.1, momentum 0.9, lr 0.1 (torch.optim.SGD):
        // step 1: d = 0.5 + 0.1*1 = 0.6; buf = d = 0.6; p = 1 - 0.06 = 0.94
        // step 2 (g = 0.5): d = 0.5 + 0.094 = 0.594; buf = 0.9*0.6 + 0.594 = 1.134; p = 0.94 - 0.1134 = 0.8266
        Linear lin = new Linear(cpu, cpu.upload(new float[] {1}, 1, 1), cpu.upload(new float[] {1}, 1));
        Map<String, Parameter> params = lin.namedParameters();
        set(params.get("weight").grad(), 0.5f);
        set(params.get("bias").grad(), 0.5f);
        try (Sgd sgd = new Sgd(cpu, params, new Sgd.Options(0.9f, 0f, false, 0.1f, false))) {
            sgd.step(0.1f);
            sgd.step(0.1f);
            assertEquals(0.8266, cpu.toFloatArray(params.get("weight").value())[0], 1e-6);
            // The bias is excluded from decay: d = 0.5; buf 0.5 then 0.95; p = 1 - 0.05 - 0.095 = 0.855
            assertEquals(0.855, cpu.toFloatArray(params.get("bias").value())[0], 1e-6);
            assertEquals(1.134, cpu.toFloatArray(sgd.momentumBuffers().get("weight"))[0], 1e-6);
        }
        // Nesterov, no decay, p = 1, g = 1, momentum 0.9, lr 0.1: step 1: buf = 1, d = 1 + 0.9 = 1.9, p = 0.81;
        // step 2: buf = 0.9 + 1 = 1.9, d = 1 + 1.71 = 2.71, p = 0.81 - 0.271 = 0.539
        Linear n = new Linear(cpu, cpu.upload(new float[] {1}, 1, 1), null);
        set(n.weight().grad(), 1f);
        try (Sgd sgd = new Sgd(cpu, n.namedParameters(), new Sgd.Options(0.9f, 0f, true, 0f, true))) {
            sgd.step(0.1f);
            assertEquals(0.81, cpu.toFloatArray(n.weight().value())[0], 1e-6);
            sgd.step(0.1f);
            assertEquals(0.539, cpu.toFloatArray(n.weight().value())[0], 1e-6);
        }
        assertThrows(IllegalArgumentException.class, () -> new Sgd.Options(0f, 0f, true, 0f, true));
        BatchNorm2d bn = new BatchNorm2d(cpu, 2);
        assertTrue(bn.namedParameters().values().stream().noneMatch(Parameter::weightDecay), "BN parameters are excluded from decay");
    }

    @Test void schedulesMatchTheirDefinitions() {
        LrSchedule multi = LrSchedule.multiStep(0.05, 0.2, 90, 120);
        assertEquals(0.05, multi.lr(0), 1e-12);
        assertEquals(0.05, multi.lr(89.99), 1e-12);
        assertEquals(0.01, multi.lr(90), 1e-12);
        assertEquals(0.002, multi.lr(120), 1e-12);
        LrSchedule cos = LrSchedule.cosine(0.03, 200, 0);
        assertEquals(0.03, cos.lr(0), 1e-12);
        assertEquals(0.015, cos.lr(100), 1e-12);
        assertEquals(0.03 * 0.5 * (1 + Math.cos(Math.PI * 50 / 200)), cos.lr(50), 1e-12);
        assertEquals(0, cos.lr(200), 1e-12);
        LrSchedule warm = LrSchedule.constant(0.1).withWarmup(5, 0);
        assertEquals(0, warm.lr(0), 1e-12);
        assertEquals(0.05, warm.lr(2.5), 1e-12);
        assertEquals(0.1, warm.lr(5), 1e-12);
    }

    @Test void momentumEncoderAveragesParametersOnlyAndStartsAsACopy() {
        Linear q = new Linear(cpu, new Init(1), 3, 2, true), k = new Linear(cpu, new Init(2), 3, 2, true);
        try (MomentumEncoder enc = new MomentumEncoder(cpu, q, k, 0.999)) {
            assertArrayEquals(cpu.toFloatArray(q.weight().value()), cpu.toFloatArray(k.weight().value()));
            float[] before = cpu.toFloatArray(k.weight().value());
            set(q.weight().value(), 1, 2, 3, 4, 5, 6);
            enc.update();
            float[] after = cpu.toFloatArray(k.weight().value());
            for (int i = 0; i < 6; i++) {
                // PyTorch: k * 0.999 + q * (1 - 0.999), each product rounded to fp32, factors (float) 0.999, (float) 0.001
                float expected = before[i] * 0.999f + (i + 1) * (float) (1.0 - 0.999);
                assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(after[i]), "element " + i);
            }
        }
        BatchNorm2d bq = new BatchNorm2d(cpu, 2), bk = new BatchNorm2d(cpu, 2);
        set(bq.runningMean(), 5, 5);
        try (MomentumEncoder enc = new MomentumEncoder(cpu, bq, bk, 0.999)) {
            enc.update();
            assertArrayEquals(new float[] {0, 0}, cpu.toFloatArray(bk.runningMean()), "BN buffers are neither copied nor averaged");
        }
    }

    @Test void cpuTrainingStepLowersTheLossAndAllocatesNothingAfterTheFirstStep() {
        AtomicInteger allocations = new AtomicInteger();
        Backend counting = TrainingChecks.countingAllocations(cpu, allocations);
        int n = 8, classes = 4;
        try (ResNet net = ResNet.resnet18(counting, ModelConfig.smallImages(1).withHead(Head.linear(classes)).withSeed(3));
             Sgd sgd = new Sgd(counting, net.namedParameters(), Sgd.Options.compress())) {
            Tensor x = cpu.upload(Fills.uniform(4, n * 16 * 16, 0, 1), n, 1, 16, 16);
            int[] labels = {0, 1, 2, 3, 3, 2, 1, 0};
            Tensor dLogits = cpu.empty(DType.F32, n, classes);
            double first = 0, last = 0;
            int steadyAllocations = -1;
            for (int step = 0; step < 6; step++) {
                if (step == 2) allocations.set(0);
                Tensor logits = net.forward(x);
                double loss = TrainingChecks.crossEntropy(cpu.toFloatArray(logits), labels, classes, dLogits.cpuStorage().f32());
                net.backward(dLogits);
                sgd.step(0.05f);
                if (step == 0) first = loss;
                last = loss;
            }
            steadyAllocations = allocations.get();
            assertTrue(Double.isFinite(last) && last < 0.7 * first, "loss " + first + " -> " + last);
            assertEquals(0, steadyAllocations, "tensors allocated by steps 3..6");
        }
    }

}
