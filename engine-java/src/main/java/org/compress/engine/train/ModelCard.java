// What a network checkpoint of this engine is, stored in its safetensors metadata so later commands (eval, export,
// distill from a pretrain run) need only the file: role (teacher, student, probe), architecture, base width, stem,
// input channels, embedding dimension and head. Files without it (foreign checkpoints) need the options instead.
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.compress.engine.io.Safetensors;
import org.compress.engine.nn.models.Head;

public record ModelCard(String role, String arch, int baseWidth, boolean smallInput, int inChannels, int embeddingDim, Head head) {
    public static final String ROLE_TEACHER = "teacher", ROLE_STUDENT = "student";

    public TrainConfig.Model model(String checkpoint) {
        return new TrainConfig.Model(arch, baseWidth, smallInput, checkpoint, "torchvision");
    }

    public Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("compress.role", role);
        m.put("compress.arch", arch);
        m.put("compress.base_width", Integer.toString(baseWidth));
        m.put("compress.small_input", Boolean.toString(smallInput));
        m.put("compress.in_channels", Integer.toString(inChannels));
        m.put("compress.embedding_dim", Integer.toString(embeddingDim));
        m.put("compress.head", head.kind().name() + ":" + head.outDim());
        return m;
    }

    /** The card of a safetensors file written by this engine, or null (a foreign file, or a .pth). */
    public static ModelCard read(Path file) {
        if (!file.getFileName().toString().endsWith(".safetensors")) return null;
        Map<String, String> m = Safetensors.readMetadata(file);
        if (!m.containsKey("compress.role")) return null;
        String[] head = m.get("compress.head").split(":");
        return new ModelCard(m.get("compress.role"), m.get("compress.arch"), Integer.parseInt(m.get("compress.base_width")),
                Boolean.parseBoolean(m.get("compress.small_input")), Integer.parseInt(m.get("compress.in_channels")),
                Integer.parseInt(m.get("compress.embedding_dim")), new Head(Head.Kind.valueOf(head[0]), Integer.parseInt(head[1])));
    }
}
