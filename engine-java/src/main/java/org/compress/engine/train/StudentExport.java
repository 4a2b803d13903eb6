// `compress export`: a trained student as torchvision-named weights, in safetensors and as a torch.save .pth that
// PyTorch's load_state_dict(strict=True) accepts: the backbone alone (for a model whose fc is nn.Identity()), or
// backbone + a linear probe's classifier as fc (loads into torchvision.models.resnet18(num_classes=C) when the
// student is torchvision's shape). The probe was trained on standardised L2-normalised features; its fc is folded
// to act on the L2-normalised embedding (fc(F.normalize(features)) gives the probe's predictions).
package org.compress.engine.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.io.CheckpointException;
import org.compress.engine.io.Safetensors;
import org.compress.engine.io.TorchSaveWriter;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.Tensor;

public final class StudentExport {
    /** The files written; classes is 0 for a backbone-only export. */
    public record Written(Path safetensors, Path pth, int classes, int embeddingDim) {}

    /** A student's architecture (from its ModelCard, or its run's config.json) and backbone weights (no head). */
    public record Student(ModelCard card, Map<String, Tensor> backbone) {}

    private StudentExport() {}

    public static Written export(Path checkpoint, Path probe, Path outPrefix) {
        Student s = read(checkpoint);
        Map<String, Tensor> out = new LinkedHashMap<>(s.backbone());
        int classes = 0;
        if (probe != null) {
            Map<String, Tensor> fc = readProbe(probe);
            Tensor w = fc.get("fc.weight");
            if (w.dim(1) != s.card().embeddingDim()) {
                throw new CheckpointException("probe " + probe + " classifies " + w.dim(1) + "-d features but the student " + checkpoint
                        + " embeds in " + s.card().embeddingDim() + "-d: evaluate this student with `compress eval linear` first");
            }
            out.putAll(fc);
            classes = w.dim(0);
        }
        Path st = Path.of(outPrefix + ".safetensors"), pth = Path.of(outPrefix + ".pth");
        ModelCard card = new ModelCard("export", s.card().arch(), s.card().baseWidth(), s.card().smallInput(), s.card().inChannels(),
                s.card().embeddingDim(), classes > 0 ? Head.linear(classes) : Head.none());
        Safetensors.write(st, out, card.metadata());
        TorchSaveWriter.write(pth, out);
        return new Written(st, pth, classes, s.card().embeddingDim());
    }

    /**
     * The student in checkpoints/student.safetensors of a distill run (ModelCard role "student") or in one of its
     * epoch checkpoints (student.* keys; the architecture from the run's config.json); anything else is refused.
     */
    public static Student read(Path file) {
        if (!Files.isRegularFile(file)) throw new CheckpointException("checkpoint " + file + " does not exist");
        ModelCard card = ModelCard.read(file);
        Map<String, Tensor> state;
        if (card != null) {
            if (!card.role().equals(ModelCard.ROLE_STUDENT)) {
                throw new CheckpointException(file + " is a " + card.role() + " checkpoint, not a student: export takes a distill run's"
                        + " checkpoints/student.safetensors or compress-epoch-N.safetensors");
            }
            state = Safetensors.read(file);
        } else {
            Map<String, Tensor> all = file.toString().endsWith(".safetensors") ? Safetensors.read(file) : Map.of();
            state = new LinkedHashMap<>();
            all.forEach((k, t) -> {
                if (k.startsWith("student.")) state.put(k.substring("student.".length()), t);
            });
            if (state.isEmpty()) {
                throw new CheckpointException(file + " is not a student checkpoint of this engine (no student ModelCard, no student.* keys):"
                        + " export takes a distill run's checkpoints/student.safetensors or compress-epoch-N.safetensors");
            }
            card = cardFromRun(file, state);
        }
        Network net = Models.build(new CpuBackend(), card.model(null), card.inChannels(), Head.none(), 0);
        Map<String, Tensor> backbone = new LinkedHashMap<>();
        for (String k : net.stateDict().keySet()) {
            Tensor t = state.get(k);
            if (t == null) throw new CheckpointException(file + " lacks the student key " + k + " of a " + card.arch() + " of base width " + card.baseWidth());
            backbone.put(k, t);
        }
        for (String k : state.keySet()) {
            if (!backbone.containsKey(k) && !k.startsWith("fc.")) {
                throw new CheckpointException(file + " holds " + k + ", which a " + card.arch() + " student does not have");
            }
        }
        net.loadStateDict(backbone); // shapes and dtypes checked strictly
        return new Student(card, backbone);
    }

    /** An epoch checkpoint's student: the run's config.json (two folders up) says what it is. */
    private static ModelCard cardFromRun(Path file, Map<String, Tensor> state) {
        Path config = file.toAbsolutePath().getParent().getParent().resolve("config.json");
        try {
            JsonNode root = new ObjectMapper().readTree(config.toFile());
            JsonNode resolved = root.has("resolved") ? root.get("resolved") : root;
            JsonNode s = resolved.get("student");
            int channels = "fashion-mnist".equals(resolved.get("data").get("dataset").asText()) ? 1 : 3;
            Tensor conv1 = state.get("conv1.weight");
            if (conv1 != null) channels = conv1.dim(1);
            TrainConfig.Model m = new TrainConfig.Model(s.get("arch").asText(), s.get("baseWidth").asInt(), s.get("smallInput").asBoolean(), null, "torchvision");
            Network net = Models.build(new CpuBackend(), m, channels, Head.none(), 0);
            return new ModelCard(ModelCard.ROLE_STUDENT, m.arch(), m.baseWidth(), m.smallInput(), channels, net.embeddingDim(), Head.none());
        } catch (IOException | NullPointerException e) {
            throw new CheckpointException(file + " holds a student but its run's " + config + " is missing or does not describe it", e);
        }
    }

    /** The probe's classifier folded onto the L2-normalised embedding, as fc.weight (C x D) and fc.bias (C). */
    public static void writeProbe(Path file, LinearProbe.Classifier c) {
        float[][] fc = c.asFc();
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("fc.weight", Tensor.cpu(fc[0], c.classes(), c.dim()));
        t.put("fc.bias", Tensor.cpu(fc[1], c.classes()));
        Safetensors.write(file, t, Map.of("compress.role", "linear-probe", "compress.input", "L2-normalised embedding"));
    }

    static Map<String, Tensor> readProbe(Path file) {
        if (!Files.isRegularFile(file)) throw new CheckpointException("probe " + file + " does not exist");
        if (!"linear-probe".equals(Safetensors.readMetadata(file).get("compress.role"))) {
            throw new CheckpointException(file + " is not a linear probe (make one with `compress eval linear`)");
        }
        Map<String, Tensor> all = Safetensors.read(file);
        Map<String, Tensor> fc = new LinkedHashMap<>();
        fc.put("fc.weight", all.get("fc.weight"));
        fc.put("fc.bias", all.get("fc.bias"));
        return fc;
    }
}
