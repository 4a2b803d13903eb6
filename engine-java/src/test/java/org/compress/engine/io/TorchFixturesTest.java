// The committed PyTorch reference runs load with torchvision's names, shapes and dtypes, and are consistent with
// the definitions a replay relies on (cross-entropy mean, the fc layer, PyTorch's SGD rule, BN counters).
package org.compress.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.compress.engine.backend.HostData;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Device;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Close;
import org.compress.engine.testing.TorchParity;
import org.compress.engine.testing.TorchvisionNames;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class TorchFixturesTest {
    @Test void namesGeneratorReproducesTorchvisionsParameterCounts() {
        // torchvision's published sizes: resnet18 11,689,512 and resnet50 25,557,032 parameters (1000 classes).
        assertEquals(11_689_512L, parameterCount(TorchvisionNames.resnet18(64, 1000)));
        assertEquals(25_557_032L, parameterCount(TorchvisionNames.resnet50(64, 1000)));
    }

    @ParameterizedTest @ValueSource(strings = {"resnet18_small", "resnet50_small"})
    void fixtureHoldsTorchvisionNamesShapesAndDtypes(String fixture) {
        TorchParity fx = TorchParity.load(fixture);
        int w = fx.baseWidth(), classes = fx.numClasses();
        Map<String, int[]> expected = fx.bottleneck() ? TorchvisionNames.resnet50(w, classes) : TorchvisionNames.resnet18(w, classes);
        Map<String, Tensor> state = fx.group("state.");
        StateDictLoader.requireMatch(fixture, state, expected); // every name and shape (file order is the writer's, not torchvision's)
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            DType want = e.getKey().endsWith("num_batches_tracked") ? DType.I64 : DType.F32;
            assertEquals(want, e.getValue().dtype(), e.getKey());
        }
        List<String> params = new ArrayList<>(), buffers = new ArrayList<>();
        for (String k : expected.keySet()) (TorchvisionNames.isParameter(k) ? params : buffers).add(k);
        assertEquals(new TreeSet<>(params), new TreeSet<>(fx.group("grad.").keySet()));
        assertEquals(new TreeSet<>(params), new TreeSet<>(fx.group("sgd.").keySet()));
        assertEquals(new TreeSet<>(buffers), new TreeSet<>(fx.group("train.state.").keySet()));
        for (String p : params) assertArrayEquals(expected.get(p), fx.get("grad." + p).shape(), p);

        int featureDim = 8 * w * (fx.bottleneck() ? 4 : 1);
        assertArrayEquals(new int[] {3, 3, 40, 40}, fx.input().shape());
        assertArrayEquals(new int[] {3}, fx.labels().shape());
        assertEquals(DType.I64, fx.labels().dtype());
        assertArrayEquals(new int[] {3, classes}, fx.get("eval.logits").shape());
        assertArrayEquals(new int[] {3, featureDim}, fx.get("eval.features").shape());
        assertArrayEquals(new int[] {}, fx.get("train.loss").shape());
        for (String k : List.of("eval.logits", "eval.features", "train.logits", "grad.conv1.weight", "grad.fc.weight")) {
            Close.assertFiniteNonZero(fixture + " " + k, HostData.toFloats(fx.get(k)));
        }
    }

    @ParameterizedTest @ValueSource(strings = {"resnet18_small", "resnet50_small"})
    void fixtureAgreesWithTheDefinitionsAReplayUses(String fixture) {
        TorchParity fx = TorchParity.load(fixture);
        long[] labels = fx.labels().cpuStorage().i64();
        // train.loss = mean over the batch of -log softmax(train.logits)[label], computed here in double.
        float[] logits = HostData.toFloats(fx.get("train.logits"));
        int classes = fx.numClasses();
        double loss = 0;
        for (int n = 0; n < labels.length; n++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < classes; c++) max = Math.max(max, logits[n * classes + c]);
            for (int c = 0; c < classes; c++) sum += Math.exp(logits[n * classes + c] - max);
            loss += Math.log(sum) + max - logits[n * classes + (int) labels[n]];
        }
        loss /= labels.length;
        assertEquals(loss, fx.get("train.loss").cpuStorage().f32()[0], 1e-6 * Math.abs(loss), "cross-entropy, mean reduction");

        // eval.logits = eval.features @ fc.weight^T + fc.bias: the fc layer recomputed in double, judged by the parity table.
        float[] features = HostData.toFloats(fx.get("eval.features"));
        float[] weight = HostData.toFloats(fx.get("state.fc.weight"));
        float[] bias = HostData.toFloats(fx.get("state.fc.bias"));
        int dim = features.length / labels.length;
        float[] fc = new float[labels.length * classes];
        for (int n = 0; n < labels.length; n++) for (int c = 0; c < classes; c++) {
            double s = bias[c];
            for (int k = 0; k < dim; k++) s += (double) features[n * dim + k] * weight[c * dim + k];
            fc[n * classes + c] = (float) s;
        }
        fx.assertParity("eval.logits", Tensor.cpu(fc, labels.length, classes), Device.CPU);

        // One torch.optim.SGD step (momentum buffer starts as d_p): p' = p - lr * (g + wd * p), in fp32.
        float lr = (float) fx.lr(), wd = (float) fx.weightDecay();
        for (Map.Entry<String, Tensor> e : fx.group("grad.").entrySet()) {
            float[] p = HostData.toFloats(fx.get("state." + e.getKey()));
            float[] g = HostData.toFloats(e.getValue());
            float[] after = new float[p.length];
            for (int i = 0; i < p.length; i++) after[i] = p[i] - lr * (g[i] + wd * p[i]);
            fx.assertSgdParity(e.getKey(), Tensor.cpu(after, fx.get("state." + e.getKey()).shape()), Device.CPU);
        }

        // BN counters: 5 before, 6 after one train-mode forward; running stats moved.
        for (Map.Entry<String, Tensor> e : fx.group("train.state.").entrySet()) {
            if (e.getKey().endsWith("num_batches_tracked")) {
                assertEquals(5L, fx.get("state." + e.getKey()).cpuStorage().i64()[0]);
                assertEquals(6L, e.getValue().cpuStorage().i64()[0], e.getKey());
            }
        }
        assertTrue(HostData.toFloats(fx.get("train.state.bn1.running_mean"))[0] != HostData.toFloats(fx.get("state.bn1.running_mean"))[0]);
    }

    @Test void toleranceTableFollowsTheMeasuredNoise() {
        TorchParity fx = TorchParity.load("resnet50_small");
        double n = fx.noise("grad.layer4.0.conv3.weight");
        assertTrue(n > 1e-6 && n < 1e-4, "ResNet-50's grads carry measurable but small fp32 noise: " + n);
        assertEquals(30 * n, fx.tolerance("grad.layer4.0.conv3.weight", Device.CPU), 1e-12);
        assertEquals(1e-3, fx.tolerance("eval.logits", Device.parse("cuda:0")), 0, "the CUDA floor applies");
        assertEquals(1e-5, TorchParity.tolerance(1e-9, Device.CPU), 0, "the CPU floor applies");
        assertEquals(1e-6, fx.kinkThreshold(), 0, "ResNet-50's gradients switch ReLU/max-pool branches beyond 1e-6");
        assertEquals(1e-5, TorchParity.load("resnet18_small").kinkThreshold(), 0);
        for (String fixture : List.of("resnet18_small", "resnet50_small")) {
            TorchParity f = TorchParity.load(fixture);
            for (String key : f.group("").keySet()) {
                if (key.startsWith("eval.") || key.startsWith("train.") || key.startsWith("grad.") || key.startsWith("sgd.")) {
                    assertTrue(f.noise(key) < TorchParity.MAX_NOISE, fixture + " " + key + " is well conditioned: " + f.noise(key));
                }
            }
        }
    }

    private static long parameterCount(Map<String, int[]> shapes) {
        long n = 0;
        for (Map.Entry<String, int[]> e : shapes.entrySet()) if (TorchvisionNames.isParameter(e.getKey())) n += Tensor.numel(e.getValue());
        return n;
    }
}
