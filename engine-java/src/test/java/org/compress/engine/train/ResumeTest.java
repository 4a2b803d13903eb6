// Train k epochs, checkpoint, resume in fresh objects, train the rest = the uninterrupted run, bit for bit
// (student, momentum student, optimizer state and both banks).
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.io.Safetensors;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResumeTest {
    static final Backend CPU = new CpuBackend();

    record Nets(Network teacher, Network student, Network key) {}

    static Nets nets(TrainConfig cfg) {
        return new Nets(Models.build(CPU, cfg.teacher(), 1, Head.none(), 1), Models.build(CPU, cfg.student(), 1, Head.none(), 2),
                Models.build(CPU, cfg.student(), 1, Head.none(), 3));
    }

    @Test void resumingFromAnEpochCheckpointEqualsTheUninterruptedRun(@TempDir Path dir) throws Exception {
        TrainConfig cfg = PipelineTest.tiny("2q", 2);
        cfg = new TrainConfig(new TrainConfig.Data("fashion-mnist", "/usr/share/datasets/fashion-mnist", 192, 64, 2, 28),
                cfg.teacher(), cfg.student(), cfg.moco(), cfg.compress(), cfg.eval(), cfg.seed(), cfg.backend());
        Dataset train = Pipeline.openSplit(cfg.data(), "train");
        var view = SmallImageRecipes.compress(1, 28, Normalize.FASHION_MNIST);

        Nets whole = nets(cfg);
        try (RunDirectory run = new RunDirectory(dir.resolve("whole"), cfg)) {
            CompressTrainer.train(CPU, whole.teacher(), null, whole.student(), whole.key(), train, view, cfg.compress(), 2, 5, run, null);
        }
        // the uninterrupted run's own epoch-0 checkpoint is exactly what a run stopped after epoch 0 leaves behind
        Path checkpoint = dir.resolve("whole/checkpoints/compress-epoch-0.safetensors");
        assertTrue(RunDirectory.isComplete(checkpoint));
        TrainConfig other = new TrainConfig(cfg.data(), cfg.teacher(), cfg.student(), cfg.moco(), cfg.compress(), cfg.eval(), 99, "cpu");
        Nets resumed = new Nets(whole.teacher(), Models.build(CPU, other.student(), 1, Head.none(), 77),
                Models.build(CPU, other.student(), 1, Head.none(), 78)); // fresh weights: everything must come from the checkpoint
        try (RunDirectory run = new RunDirectory(dir.resolve("resumed"), cfg)) {
            CompressTrainer.train(CPU, resumed.teacher(), null, resumed.student(), resumed.key(), train, view, cfg.compress(), 2, 5, run,
                    checkpoint);
        }
        Map<String, Tensor> a = Safetensors.read(dir.resolve("whole/checkpoints/compress-epoch-1.safetensors"));
        Map<String, Tensor> b = Safetensors.read(dir.resolve("resumed/checkpoints/compress-epoch-1.safetensors"));
        assertTrue(a.keySet().equals(b.keySet()) && a.size() > 50, "same state keys: " + a.size());
        for (String k : a.keySet()) {
            assertArrayEquals(CPU.toFloatArray(a.get(k)), CPU.toFloatArray(b.get(k)), k + " differs after resuming");
        }
    }

    @Test void anIncompleteCheckpointIsRefused(@TempDir Path dir) throws Exception {
        Path partial = dir.resolve("compress-epoch-3.safetensors");
        Files.write(partial, new byte[] {1, 2, 3});
        TrainConfig cfg = PipelineTest.tiny("2q", 1);
        Nets n = nets(cfg);
        Dataset train = Pipeline.openSplit(cfg.data(), "train");
        try (RunDirectory run = new RunDirectory(dir.resolve("run"), cfg)) {
            var e = assertThrows(org.compress.engine.io.CheckpointException.class, () -> CompressTrainer.train(CPU, n.teacher(), null, n.student(), n.key(),
                    train, SmallImageRecipes.compress(1, 28, Normalize.FASHION_MNIST), cfg.compress(), 1, 0, run, partial));
            assertTrue(e.getMessage().contains("has no .done marker"), e.getMessage());
        }
    }
}
