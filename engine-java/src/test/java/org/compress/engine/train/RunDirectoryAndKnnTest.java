// Run directories (config, metrics, atomic checkpoints, plots) and the k-NN evaluator.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.compress.engine.tensor.ShapeMismatchException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunDirectoryAndKnnTest {
    @Test void runDirectoryHoldsConfigMetricsCheckpointsAndPlots(@TempDir Path dir) throws Exception {
        Path root = dir.resolve("run");
        try (RunDirectory run = new RunDirectory(root, Map.of("lr", 0.05, "epochs", 2))) {
            run.log(Map.of("epoch", 1, "loss", 2.5));
            run.log(Map.of("epoch", 2, "loss", 1.5));
            Path ckpt = run.checkpointPath("epoch-2.safetensors");
            RunDirectory.writeAtomically(ckpt, new byte[] {1, 2, 3});
            assertFalse(RunDirectory.isComplete(ckpt), "no marker yet");
            run.markComplete(ckpt);
            assertTrue(RunDirectory.isComplete(ckpt));
            Path png = Plots.line(root.resolve("loss.png"), "loss", run.history(), "epoch", "loss");
            assertTrue(Files.size(png) > 1000, "a real PNG");
        }
        assertTrue(Files.readString(root.resolve("config.json")).contains("\"epochs\" : 2"));
        List<String> lines = Files.readAllLines(root.resolve("metrics.jsonl"));
        assertEquals(2, lines.size());
        assertTrue(lines.get(1).contains("\"loss\":1.5"), lines.get(1));
    }

    /** An atomic write leaves the file with the permissions a plain write gets (the umask's), never owner-only. */
    @Test void atomicWritesKeepThePlainPermissionsAndLeaveNoTemporary(@TempDir Path dir) throws Exception {
        Path plain = Files.write(dir.resolve("plain.json"), new byte[] {1});
        Path atomic = dir.resolve("atomic.json");
        RunDirectory.writeAtomically(atomic, new byte[] {2});
        RunDirectory.writeAtomically(atomic, new byte[] {3});   // replacing an existing file too
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(atomic));
        assertEquals(3, Files.readAllBytes(atomic)[0]);
        try (var s = Files.list(dir)) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList());
        }
    }

    @Test void knnFindsTheNearestLabelAndWeighsVotes() {
        // train: class 0 around +x, class 1 around +y; the test point near +x but with two class-1 points close by
        float[] train = {1, 0, 0.9f, 0.1f, 0, 1, 0.6f, 0.8f, 0.55f, 0.83f};
        int[] labels = {0, 0, 1, 1, 1};
        KnnEvaluator knn = new KnnEvaluator(train, labels, 2, 2);
        float[] test = {0.95f, 0.05f, 0.1f, 0.99f};
        assertEquals(1.0, knn.accuracy(test, new int[] {0, 1}, 1, 0.07));
        // with k = 5 and a high temperature the 3 class-1 votes outweigh the 2 near class-0 ones
        assertEquals(0.5, knn.accuracy(test, new int[] {0, 1}, 5, 100.0));
        // a low temperature lets the two closest class-0 neighbours win again
        assertEquals(1.0, knn.accuracy(test, new int[] {0, 1}, 5, 0.07));
        assertThrows(ShapeMismatchException.class, () -> new KnnEvaluator(train, new int[] {0, 1}, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> knn.accuracy(test, new int[] {0, 1}, 6, 0.07));
    }
}
