// The CUDA twin of nn/models/ResNetTorchParityTest: the same PyTorch replays on CudaBackend, held to TorchParity's
// CUDA rows. Forward outputs, the loss, BN buffers, fc gradients and the checkpoints' features always; trunk gradients
// (and the SGD step built on them) only where the replay's activations stay within the fixture's kink threshold.
package org.compress.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.compress.engine.io.StateDictLoader;
import org.compress.engine.nn.models.ResNet;
import org.compress.engine.tensor.Device;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.GpuTest;
import org.compress.engine.testing.ResNetReplay;
import org.compress.engine.testing.TorchParity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

@GpuTest
class CudaResNetTorchParityTest {
    static CudaBackend gpu;
    static Device device;
    /** One replay per fixture (host copies), shared by the tests below. */
    static final Map<String, Map<String, Tensor>> replays = new HashMap<>();

    @BeforeAll static void open() {
        gpu = CudaBackend.open(0);
        device = gpu.device();
    }

    @AfterAll static void close() { if (gpu != null) gpu.close(); }

    static Map<String, Tensor> replay(TorchParity fx) {
        return replays.computeIfAbsent(fx.name(), name -> {
            try (ResNet net = ResNetReplay.build(gpu, fx)) {
                ResNetReplay.loadStrict(net, fx.group("state."), name);
                return ResNetReplay.run(gpu, fx, net);
            }
        });
    }

    /**
     * Forward outputs, the loss and the BN buffers are continuous in the weights, so the table holds them whatever
     * algorithms cuDNN picked. So are the fc gradients: dL/dfc = softmax(logits) - onehot times the features (or 1),
     * with no ReLU or max-pool between them and the loss.
     */
    @ParameterizedTest @ValueSource(strings = {"resnet18_small", "resnet50_small"})
    void forwardLossBnBuffersAndFcGradientsMatchPyTorch(String fixture) {
        TorchParity fx = TorchParity.load(fixture);
        Map<String, Tensor> r = replay(fx);
        List<Executable> checks = new ArrayList<>();
        List<String> measured = new ArrayList<>();
        r.forEach((key, t) -> {
            boolean always = key.startsWith("eval.") || key.startsWith("train.") || key.startsWith("grad.fc.");
            if (!always) return;
            checks.add(() -> fx.assertParity(key, t, device));
            if (fx.get(key).dtype().isFloating()) measured.add(measure(key, fx.relativeError(key, t), fx.tolerance(key, device)));
        });
        System.out.println(fixture + " on " + device + ": " + measured);
        assertAll(fixture + " on " + device, checks);
    }

    /**
     * Element-wise gradient parity needs the replay's activations within kinkThreshold() of PyTorch's: beyond it ReLU
     * masks and max-pool choices switch and single gradients jump by 10-70% (TorchParity). cuDNN chooses its algorithms
     * by speed (Winograd / FFT ones sit ~1e-4 off), so the check runs only when the measured forward deviation allows
     * it and otherwise reports as skipped with the numbers. The yardstick is the eval-mode forward (eval.logits and
     * eval.features; same convolution shapes, so the same cuDNN plans as the train forward): the threshold is a
     * relative weight perturbation, which moves the eval outputs by about as much, whereas batch-3 train-mode BN
     * amplifies it in train.logits (the CPU replay of resnet50_small: train.logits 1.8e-6 off, above its 1e-6
     * threshold, eval.features 2.8e-7, and every gradient holds at 12% of the CPU tolerance or less).
     */
    @ParameterizedTest @ValueSource(strings = {"resnet18_small", "resnet50_small"})
    void trunkGradientsAndSgdStepMatchPyTorchWhereActivationsAreCloseEnough(String fixture) {
        TorchParity fx = TorchParity.load(fixture);
        Map<String, Tensor> r = replay(fx);
        double deviation = Math.max(fx.relativeError("eval.logits", r.get("eval.logits")), fx.relativeError("eval.features", r.get("eval.features")));
        Assumptions.assumeTrue(deviation <= fx.kinkThreshold(), String.format(Locale.ROOT,
                "%s on %s: forward deviation %.2e exceeds the gradient kink threshold %.0e (cuDNN's algorithms): only forward,"
                        + " loss, BN buffers and fc gradients are held to the table", fixture, device, deviation, fx.kinkThreshold()));
        List<Executable> checks = new ArrayList<>();
        r.forEach((key, t) -> {
            if (key.startsWith("grad.")) checks.add(() -> fx.assertParity(key, t, device));
            if (key.startsWith("sgd.")) checks.add(() -> fx.assertSgdParity(key.substring("sgd.".length()), t, device));
        });
        assertAll(fixture + " gradients on " + device + " (forward deviation " + deviation + ")", checks);
    }

    /** The optimizer alone, from PyTorch's gradients: no backward error, so the table holds it always. */
    @ParameterizedTest @ValueSource(strings = {"resnet18_small", "resnet50_small"})
    void sgdStepFromPyTorchsGradientsIsTorchOptimSgd(String fixture) {
        TorchParity fx = TorchParity.load(fixture);
        try (ResNet net = ResNetReplay.build(gpu, fx)) {
            ResNetReplay.loadStrict(net, fx.group("state."), fixture);
            Map<String, Tensor> after = ResNetReplay.sgdFromReferenceGradients(gpu, fx, net);
            assertEquals(fx.group("sgd.").size(), after.size());
            List<Executable> checks = new ArrayList<>();
            after.forEach((key, t) -> checks.add(() -> fx.assertSgdParity(key.substring("sgd.".length()), t, device)));
            assertAll(fixture + " SGD on " + device, checks);
        }
    }

    @ParameterizedTest
    @CsvSource({"MOCO, moco_checkpoint.pth.tar, moco.features", "COMPRESS, compress_checkpoint.pth, compress.features"})
    void checkpointLoadsStrictlyAndReproducesTorchvisionsFeatures(StateDictLoader.Preset preset, String file, String key) {
        Map<String, Tensor> expected = ResNetReplay.checkpointExpected();
        try (ResNet backbone = ResNetReplay.checkpointBackbone(gpu)) {
            Tensor features = ResNetReplay.checkpointFeatures(gpu, backbone, preset, file, expected.get("moco.input"));
            double tol = ResNetReplay.checkpointTolerance(device);
            double err = ResNetReplay.assertScaled(file + " " + key + " on " + device, features, expected.get(key), tol);
            System.out.println(file + " on " + device + ": " + measure(key, err, tol));
        }
    }

    private static String measure(String key, double err, double tol) {
        return String.format(Locale.ROOT, "%s %.2e / %.1e (%.0f%%)", key, err, tol, 100 * err / tol);
    }
}
