// Replays a TorchParity ResNet fixture on any backend in the order PyTorch ran it (eval forward, train forward +
// cross-entropy + backward, one SGD step) and returns every replayed tensor on the host under the fixture's keys.
// Shared by the CPU replay (nn/models/ResNetTorchParityTest) and its CUDA twin, so both check the same thing.
package org.compress.engine.testing;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.HostData;
import org.compress.engine.io.Safetensors;
import org.compress.engine.io.StateDictLoader;
import org.compress.engine.nn.Parameter;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.ModelConfig;
import org.compress.engine.nn.models.ResNet;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.Device;
import org.compress.engine.tensor.Tensor;

public final class ResNetReplay {
    private ResNetReplay() {}

    /** The fixture's torchvision model: ImageNet stem (7x7/2 conv + max-pool), its base width, a linear head over numClasses. */
    public static ResNet build(Backend backend, TorchParity fx) {
        ModelConfig config = ModelConfig.imagenet(fx.numClasses()).withBaseWidth(fx.baseWidth());
        String layers = fx.metadata().get("layers");
        if (fx.bottleneck() && layers.equals("[3, 4, 6, 3]")) return ResNet.resnet50(backend, config);
        if (!fx.bottleneck() && layers.equals("[2, 2, 2, 2]")) return ResNet.resnet18(backend, config);
        throw new AssertionError(fx.name() + ": no replay for " + fx.metadata().get("block") + " " + layers);
    }

    /** name -> shape of a module's state dict: the expected side of strict matching. */
    public static Map<String, int[]> shapes(Map<String, Tensor> stateDict) {
        Map<String, int[]> out = new LinkedHashMap<>();
        stateDict.forEach((k, t) -> out.put(k, t.shape()));
        return out;
    }

    /**
     * Loads a torchvision state dict strictly: the torchvision preset (keys as they are), every missing, unexpected or
     * mis-shaped key an error, then Module.loadStateDict (itself strict on keys, shapes and dtypes).
     */
    public static void loadStrict(ResNet net, Map<String, Tensor> torchvisionState, String source) {
        Map<String, Tensor> adapted = StateDictLoader.of(StateDictLoader.Preset.TORCHVISION).adapt(torchvisionState, source);
        StateDictLoader.requireMatch(source, adapted, shapes(net.stateDict()));
        net.loadStateDict(adapted);
    }

    /** torch.optim.SGD(lr, momentum, weight_decay) as the fixture ran it: no dampening, no Nesterov, decay on every parameter. */
    public static Sgd.Options sgdOptions(TorchParity fx) {
        return new Sgd.Options((float) fx.momentum(), 0f, false, (float) fx.weightDecay(), true);
    }

    public static int[] labels(TorchParity fx) {
        long[] l = fx.labels().cpuStorage().i64();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) out[i] = Math.toIntExact(l[i]);
        return out;
    }

    /**
     * Runs the fixture's reference sequence on {@code net} (already loaded with state.*) and returns host copies of
     * eval.logits, eval.features, train.logits, train.loss, grad.*, train.state.* and sgd.*.
     */
    public static Map<String, Tensor> run(Backend backend, TorchParity fx, ResNet net) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        int classes = fx.numClasses();
        int[] labels = labels(fx);
        int n = labels.length;
        try (Tensor x = backend.upload(fx.input())) {
            net.eval();
            Tensor logits = net.forward(x);
            out.put("eval.logits", backend.download(logits));
            out.put("eval.features", backend.download(net.embedding()));

            net.train();
            logits = net.forward(x);
            Tensor trainLogits = backend.download(logits);
            out.put("train.logits", trainLogits);
            float[] dLogits = new float[n * classes];
            double loss = TrainingChecks.crossEntropy(HostData.toFloats(trainLogits), labels, classes, dLogits);
            out.put("train.loss", Tensor.cpu(new float[] {(float) loss}));
            try (Tensor dy = backend.upload(dLogits, n, classes)) {
                net.backward(dy);
            }
        }
        Map<String, Parameter> params = net.namedParameters();
        params.forEach((name, p) -> out.put("grad." + name, backend.download(p.grad())));
        net.stateDict().forEach((name, t) -> {
            if (!params.containsKey(name)) out.put("train.state." + name, backend.download(t));
        });
        try (Sgd sgd = new Sgd(backend, params, sgdOptions(fx))) {
            sgd.step((float) fx.lr());
        }
        params.forEach((name, p) -> out.put("sgd." + name, backend.download(p.value())));
        return out;
    }

    // ---- the MoCo / CompRess checkpoint replays (fixtures README: checkpoint_expected.safetensors) ----

    /** Holds the expected tensors of the checkpoint replays: moco.input, moco.features, compress.features, moco.q.*, compress.model.*. */
    public static Map<String, Tensor> checkpointExpected() { return Safetensors.read(TorchParity.locate("checkpoint_expected.safetensors")); }

    /**
     * The backbone both checkpoints hold (scripts/make_torch_fixtures.py checkpoint_fixtures): torchvision's ResNet-18 at
     * the width the expected file records (8), ImageNet stem, no fc (the features are torchvision's fc = Identity output).
     */
    public static ResNet checkpointBackbone(Backend backend) {
        int width = Integer.parseInt(Safetensors.readMetadata(TorchParity.locate("checkpoint_expected.safetensors")).get("base_width"));
        return ResNet.resnet18(backend, ModelConfig.imagenet(1).withHead(Head.none()).withBaseWidth(width));
    }

    /** Loads {@code file} through {@code preset} with its heads dropped, strictly, into the backbone; returns its eval features on moco.input. */
    public static Tensor checkpointFeatures(Backend backend, ResNet backbone, StateDictLoader.Preset preset, String file, Tensor input) {
        Map<String, Tensor> loaded = StateDictLoader.of(preset).dropHeads(true).load(TorchParity.locate(file), shapes(backbone.stateDict()));
        backbone.loadStateDict(loaded);
        backbone.eval();
        try (Tensor x = backend.upload(input)) {
            return backend.download(backbone.forward(x));
        }
    }

    /**
     * The checkpoint fixtures record no fp32-vs-fp64 noise. Their features are an eval-mode forward of the same torchvision
     * ResNet-18 code at the same width (8) as resnet18_small, whose eval.features noise is
     * measured: that is the noise the table is applied with (at 2.5e-7 it gives the floors, CPU 1e-5 and CUDA 1e-3 of max|ref|).
     */
    public static double checkpointTolerance(Device device) {
        return TorchParity.tolerance(TorchParity.load("resnet18_small").noise("eval.features"), device);
    }

    /** max |actual - reference| / max |reference|, after asserting it within {@code tolerance} (finite, same shape). */
    public static double assertScaled(String what, Tensor actual, Tensor reference, double tolerance) {
        if (!actual.sameShape(reference)) throw new AssertionError(what + ": shape " + actual + " vs reference " + reference);
        float[] a = HostData.toFloats(actual), r = HostData.toFloats(reference);
        double scale = 0, diff = 0;
        for (float v : r) scale = Math.max(scale, Math.abs(v));
        double[] bound = new double[r.length];
        Arrays.fill(bound, tolerance * scale);
        Close.assertWithin(String.format(Locale.ROOT, "%s (tolerance %.1e of max|ref| %.3e)", what, tolerance, scale), a,
                Close.toDouble(r), bound);
        Close.assertFiniteNonZero(what, a);
        for (int i = 0; i < r.length; i++) diff = Math.max(diff, Math.abs((double) a[i] - r[i]));
        return diff / scale;
    }

    /** One SGD step from PyTorch's own gradients (grad.*) on freshly loaded weights: the optimizer alone, free of any backward error. */
    public static Map<String, Tensor> sgdFromReferenceGradients(Backend backend, TorchParity fx, ResNet net) {
        Map<String, Parameter> params = net.namedParameters();
        params.forEach((name, p) -> {
            try (Tensor g = backend.upload(fx.get("grad." + name))) {
                backend.elementwise().copy(g, p.grad());
            }
        });
        try (Sgd sgd = new Sgd(backend, params, sgdOptions(fx))) {
            sgd.step((float) fx.lr());
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        params.forEach((name, p) -> out.put("sgd." + name, backend.download(p.value())));
        return out;
    }
}
