// Timing of the CPU path (tagged slow, not in the default suite): ResNet-18 with the small-input stem on
// Fashion-MNIST-sized batches (N x 1 x 28 x 28), forward (eval) and a full training step (forward, backward,
// SGD). Prints milliseconds per batch and images per second; asserts only that the work ran and is finite.
package org.compress.engine.nn.models;

import static org.compress.engine.testing.Close.assertFiniteNonZero;

import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("slow")
class CpuSpeedTest {
    @Test void resNet18SmallOn28PixelBatches() {
        Backend cpu = new CpuBackend();
        int n = Integer.getInteger("speed.batch", 64), reps = Integer.getInteger("speed.reps", 3);
        try (ResNet net = ResNet.resnet18(cpu, ModelConfig.smallImages(1).withHead(Head.linear(10)));
             Sgd sgd = new Sgd(cpu, net.namedParameters(), Sgd.Options.compress())) {
            Tensor x = cpu.upload(Fills.uniform(1, n * 28 * 28, 0, 1), n, 1, 28, 28);
            Tensor dy = cpu.upload(Fills.uniform(2, n * 10, -0.01f, 0.01f), n, 10);
            net.eval();
            net.forward(x);
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) net.forward(x);
            double fwd = (System.nanoTime() - t0) / 1e6 / reps;
            net.train();
            net.forward(x);
            net.backward(dy);
            t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                net.forward(x);
                net.backward(dy);
                sgd.step(0.01f);
            }
            double step = (System.nanoTime() - t0) / 1e6 / reps;
            System.out.printf("ResNet-18 small, %dx1x28x28, %d cores: forward %.0f ms (%.0f img/s), train step %.0f ms (%.0f img/s)%n",
                    n, Runtime.getRuntime().availableProcessors(), fwd, n * 1000 / fwd, step, n * 1000 / step);
            assertFiniteNonZero("logits", cpu.toFloatArray(net.forward(x)));
        }
    }
}
