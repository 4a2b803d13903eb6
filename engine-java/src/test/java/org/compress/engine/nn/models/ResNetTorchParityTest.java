// The CPU ResNets replay PyTorch's own runs (fixtures from scripts/make_torch_fixtures.py, torchvision 0.14 at narrow
// widths): eval and train forward, loss, every gradient, BN buffers and one SGD step, held to TorchParity's CPU table;
// and the MoCo / CompRess checkpoints load strictly and reproduce torchvision's features.
package org.compress.engine.nn.models;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.HostData;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.io.CheckpointMismatchException;
import org.compress.engine.io.StateDictLoader;
import org.compress.engine.nn.StateDictException;
import org.compress.engine.tensor.Device;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Close;
import org.compress.engine.testing.ResNetReplay;
import org.compress.engine.testing.TorchParity;
import org.compress.engine.testing.TorchvisionNames;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ResNetTorchParityTest {
    static final Backend cpu = new CpuBackend();

    @ParameterizedTest @ValueSource(strings = {"resnet18_small", "resnet50_small"})
    void replayMatchesPyTorchForwardLossGradientsBnBuffersAndSgd(String fixture) {
        TorchParity fx = TorchParity.load(fixture);
        try (ResNet net = ResNetReplay.build(cpu, fx)) {
            Map<String, Tensor> state = fx.group("state.");
            ResNetReplay.loadStrict(net, state, fixture);
            net.stateDict().forEach((k, t) -> Close.assertBitwise(fixture + " loaded " + k, HostData.toFloats(t), HostData.toFloats(state.get(k))));

            Map<String, Tensor> replay = ResNetReplay.run(cpu, fx, net);
            assertEquals(referenceKeys(fx), new TreeSet<>(replay.keySet()), "every reference tensor is replayed, and nothing else");

            List<Executable> checks = new ArrayList<>();
            Map<String, Measured> worst = new TreeMap<>();
            replay.forEach((key, t) -> {
                boolean sgd = key.startsWith("sgd.");
                String param = key.substring(key.indexOf('.') + 1);
                checks.add(() -> {
                    if (sgd) fx.assertSgdParity(param, t, Device.CPU);
                    else fx.assertParity(key, t, Device.CPU);
                });
                if (!fx.get(key).dtype().isFloating()) return;
                double err = sgd ? fx.sgdRelativeError(param, t) : fx.relativeError(key, t);
                double tol = sgd ? fx.sgdTolerance(param, Device.CPU) : fx.tolerance(key, Device.CPU);
                String group = key.startsWith("train.state.") ? "train.state" : key.startsWith("eval.") || key.startsWith("train.") ? key
                        : key.substring(0, key.indexOf('.'));
                worst.merge(group, new Measured(key, err, tol), (a, b) -> a.use() >= b.use() ? a : b);
            });
            for (Map.Entry<String, Tensor> e : fx.group("train.state.").entrySet()) {
                if (e.getKey().endsWith("num_batches_tracked")) {
                    checks.add(() -> assertEquals(e.getValue().cpuStorage().i64()[0], replay.get("train.state." + e.getKey()).cpuStorage().i64()[0],
                            fixture + " " + e.getKey() + " counts the train-mode forward"));
                }
            }
            // Element-wise gradient parity presumes activations within the kink threshold of PyTorch's (TorchParity);
            // the eval forward measures that (the CUDA twin gates its gradient checks on the same numbers).
            double deviation = Math.max(fx.relativeError("eval.logits", replay.get("eval.logits")),
                    fx.relativeError("eval.features", replay.get("eval.features")));
            checks.add(() -> assertTrue(deviation <= fx.kinkThreshold(), fixture + " eval deviation " + deviation
                    + " is above the gradient kink threshold " + fx.kinkThreshold()));
            // Measured max error / allowed, per group (the worst key of each): printed for reports, asserted above.
            System.out.println(fixture + " CPU replay, max |diff| / max|ref| vs tolerance: " + worst.values());
            assertAll(fixture, checks);
        }
    }

    @ParameterizedTest @ValueSource(strings = {"resnet18_small", "resnet50_small"})
    void sgdStepFromPyTorchsGradientsIsTorchOptimSgd(String fixture) {
        // The optimizer alone: PyTorch's grad.* in, so the update differs from sgd.* by rounding only.
        TorchParity fx = TorchParity.load(fixture);
        try (ResNet net = ResNetReplay.build(cpu, fx)) {
            ResNetReplay.loadStrict(net, fx.group("state."), fixture);
            Map<String, Tensor> after = ResNetReplay.sgdFromReferenceGradients(cpu, fx, net);
            assertEquals(new TreeSet<>(fx.group("sgd.").keySet()), new TreeSet<>(after.keySet().stream().map(k -> k.substring(4)).toList()));
            Measured worst = new Measured("-", 0, 1);
            for (Map.Entry<String, Tensor> e : after.entrySet()) {
                String param = e.getKey().substring("sgd.".length());
                fx.assertSgdParity(param, e.getValue(), Device.CPU);
                Measured m = new Measured(e.getKey(), fx.sgdRelativeError(param, e.getValue()), fx.sgdTolerance(param, Device.CPU));
                if (m.use() > worst.use()) worst = m;
            }
            System.out.println(fixture + " CPU SGD from PyTorch's gradients, worst update: " + worst);
        }
    }

    @Test void strictLoadingNamesARenamedKeyAndWritesNothing() {
        TorchParity fx = TorchParity.load("resnet18_small");
        try (ResNet net = ResNetReplay.build(cpu, fx)) {
            float[] before = HostData.toFloats(net.stateDict().get("conv1.weight"));
            Map<String, Tensor> renamed = new LinkedHashMap<>();
            fx.group("state.").forEach((k, t) -> renamed.put(k.equals("layer3.1.bn2.running_var") ? "layer3.1.bn2.running_variance" : k, t));

            var viaLoader = assertThrows(CheckpointMismatchException.class, () -> ResNetReplay.loadStrict(net, renamed, "renamed.safetensors"));
            assertEquals(List.of("layer3.1.bn2.running_var"), viaLoader.missing());
            assertEquals(List.of("layer3.1.bn2.running_variance"), viaLoader.unexpected());
            assertEquals(List.of(), viaLoader.misshaped());
            assertTrue(viaLoader.getMessage().startsWith("renamed.safetensors does not match the model (strict loading): 1 missing, 1 unexpected"),
                    viaLoader.getMessage());

            var viaModule = assertThrows(StateDictException.class, () -> net.loadStateDict(renamed));
            assertTrue(viaModule.getMessage().contains("missing [layer3.1.bn2.running_var], unexpected [layer3.1.bn2.running_variance]"),
                    viaModule.getMessage());
            assertArrayEquals(before, HostData.toFloats(net.stateDict().get("conv1.weight")), "a refused state dict changes nothing");
        }
    }

    @Test void fullWidthTorchvisionNamesAreTheDefaultModels() {
        // The fixtures are narrow; this pins that the same builders at torchvision's width 64 have its exact state dict.
        try (ResNet r18 = ResNet.resnet18(cpu, ModelConfig.imagenet(1000)); ResNet r50 = ResNet.resnet50(cpu, ModelConfig.imagenet(1000))) {
            assertSameShapes("resnet18", TorchvisionNames.resnet18(64, 1000), ResNetReplay.shapes(r18.stateDict()));
            assertSameShapes("resnet50", TorchvisionNames.resnet50(64, 1000), ResNetReplay.shapes(r50.stateDict()));
        }
    }

    @ParameterizedTest
    @CsvSource({"MOCO, moco_checkpoint.pth.tar, moco.features", "COMPRESS, compress_checkpoint.pth, compress.features"})
    void checkpointLoadsStrictlyAndReproducesTorchvisionsFeatures(StateDictLoader.Preset preset, String file, String key) {
        Map<String, Tensor> expected = ResNetReplay.checkpointExpected();
        try (ResNet backbone = ResNetReplay.checkpointBackbone(cpu)) {
            Tensor features = ResNetReplay.checkpointFeatures(cpu, backbone, preset, file, expected.get("moco.input"));
            double tol = ResNetReplay.checkpointTolerance(Device.CPU);
            double err = ResNetReplay.assertScaled(file + " " + key + " on cpu", features, expected.get(key), tol);
            System.out.println(file + " CPU features: " + new Measured(key, err, tol));
        }
    }

    /** Every key the replay must produce: all of the fixture's but the inputs and the initial state. */
    static Set<String> referenceKeys(TorchParity fx) {
        Set<String> keys = new TreeSet<>(fx.group("").keySet());
        keys.removeIf(k -> k.equals("input") || k.equals("labels") || k.startsWith("state."));
        return keys;
    }

    static void assertSameShapes(String model, Map<String, int[]> expected, Map<String, int[]> actual) {
        assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(actual.keySet()), model + " keys in torchvision's order");
        expected.forEach((k, s) -> assertArrayEquals(s, actual.get(k), model + " " + k));
    }

    /** A replayed key's max |diff| / max|ref| against its tolerance. */
    record Measured(String key, double error, double tolerance) {
        double use() { return error / tolerance; }

        @Override public String toString() {
            return String.format(Locale.ROOT, "%s %.2e / %.1e (%.0f%%)", key, error, tolerance, 100 * use());
        }
    }
}
