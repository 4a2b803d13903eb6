// Builds the networks a run names (teacher, student, momentum copies) and loads checkpoints into them strictly.
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.io.StateDictLoader;
import org.compress.engine.nn.models.AlexNet;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.MobileNetV2;
import org.compress.engine.nn.models.ModelConfig;
import org.compress.engine.nn.models.Network;
import org.compress.engine.nn.models.ResNet;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

public final class Models {
    public static final java.util.Set<String> ARCHITECTURES = java.util.Set.of("resnet18", "resnet34", "resnet50", "mobilenetv2", "alexnet");

    private Models() {}

    public static Network build(Backend backend, TrainConfig.Model spec, int inChannels, Head head, long seed) {
        ModelConfig cfg = new ModelConfig(inChannels, spec.smallInput(), 1, head, seed, spec.baseWidth())
                .withPrecision(precision(spec.precision()));
        cfg = cfg.withMemoryFormat(backend.preferredFormat(cfg.precision().activationType()));
        return switch (spec.arch()) {
            case "resnet18" -> ResNet.resnet18(backend, cfg);
            case "resnet34" -> ResNet.resnet34(backend, cfg);
            case "resnet50" -> ResNet.resnet50(backend, cfg);
            case "mobilenetv2" -> new MobileNetV2(backend, cfg);
            case "alexnet" -> new AlexNet(backend, cfg);
            default -> throw new IllegalArgumentException("unknown architecture '" + spec.arch() + "': expected one of "
                    + new java.util.TreeSet<>(ARCHITECTURES));
        };
    }

    static org.compress.engine.nn.Precision precision(String p) {
        if (p == null) return org.compress.engine.nn.Precision.FP32;
        try {
            return org.compress.engine.nn.Precision.valueOf(p.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("precision: expected FP32 or BF16_MIXED, found '" + p + "'");
        }
    }

    /** Loads a checkpoint (safetensors or torch.save) into the network's trunk, strictly, dropping heads. */
    public static void load(Network net, Path checkpoint, String preset) { load(net, checkpoint, preset, null); }

    /**
     * As above; floating tensors of another precision (an FP16 or BF16 checkpoint) are converted to the network's,
     * and with {@code arch} given, a checkpoint that declares another architecture (MoCo's 'arch', CompRess's
     * opt.student_arch) is refused.
     */
    public static void load(Network net, Path checkpoint, String preset, String arch) {
        Map<String, int[]> expected = new LinkedHashMap<>();
        DType floating = DType.F32;
        for (Map.Entry<String, Tensor> e : net.stateDict().entrySet()) {
            expected.put(e.getKey(), e.getValue().shape());
            if (e.getValue().dtype().isFloating()) floating = e.getValue().dtype();
        }
        StateDictLoader loader = StateDictLoader.of(preset).dropHeads(true).convertFloatingTo(floating);
        Object raw = StateDictLoader.readCheckpoint(checkpoint);
        if (arch != null) loader.checkArchitecture(raw, checkpoint.toString(), arch, ARCHITECTURES);
        net.loadStateDict(loader.load(raw, checkpoint.toString(), expected));
    }
}
