// --keep-last K with resumable runs: pruning keeps the newest K complete checkpoints of the stage that wrote one
// (epoch and mid-epoch ones alike), never the one just written (the last good one, the one --resume picks), never
// another stage's, never an unmarked file; and --resume auto looks only at runs of the command's own kind.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointPruningTest {
    @TempDir Path dir;

    private static Path checkpoint(RunDirectory run, String name, boolean complete) throws Exception {
        Path f = run.checkpointPath(name);
        Files.write(f, new byte[] {1});
        if (complete) run.markComplete(f);
        return f;
    }

    private static TreeSet<String> files(Path folder) throws Exception {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toCollection(TreeSet::new));
        }
    }

    @Test void keepsTheNewestCompleteCheckpointsOfTheStageAndTheOneJustWritten() throws Exception {
        try (RunDirectory run = RunDirectory.create(dir, "run", Map.of("a", 1))) {
            run.keepLast(2);
            checkpoint(run, "moco-epoch-0.safetensors", true);
            for (int e = 0; e < 3; e++) checkpoint(run, "compress-epoch-" + e + ".safetensors", true);
            checkpoint(run, "compress-epoch-1-batch-3.safetensors", true);
            checkpoint(run, "compress-epoch-5.safetensors", false);            // an interrupted write: not counted, not touched
            Path newest = checkpoint(run, "compress-epoch-3-batch-2.safetensors", true); // written on a stop request
            run.pruneCheckpoints("compress", newest);
            assertEquals(new TreeSet<>(List.of("moco-epoch-0.safetensors", "moco-epoch-0.safetensors.done",
                    "compress-epoch-2.safetensors", "compress-epoch-2.safetensors.done",
                    "compress-epoch-3-batch-2.safetensors", "compress-epoch-3-batch-2.safetensors.done",
                    "compress-epoch-5.safetensors")), files(run.root().resolve("checkpoints")));
            assertEquals(Optional.of(newest.toAbsolutePath()), ResumePoint.newest(run.root()).map(ResumePoint::checkpoint),
                    "what --resume picks survives");

            // a run resumed from an earlier checkpoint writes one that is not the newest by name: it is still kept
            run.keepLast(1);
            Path rewritten = checkpoint(run, "compress-epoch-2-batch-1.safetensors", true);
            run.pruneCheckpoints("compress", rewritten);
            assertTrue(RunDirectory.isComplete(rewritten) && RunDirectory.isComplete(newest), files(run.root().resolve("checkpoints")).toString());
            assertTrue(!Files.exists(run.checkpointPath("compress-epoch-2.safetensors")));
        }
    }

    @Test void resumeAutoTakesOnlyRunsOfTheSameKind(@TempDir Path runs) throws Exception {
        Path distill = runs.resolve("20260101-000000-distill-2q"), pretrain = runs.resolve("20260101-000100-pretrain");
        try (RunDirectory d = new RunDirectory(distill, Map.of("a", 1)); RunDirectory p = new RunDirectory(pretrain, Map.of("a", 1))) {
            checkpoint(d, "compress-epoch-0.safetensors", true);
            Thread.sleep(20);
            checkpoint(p, "moco-epoch-0.safetensors", true);
            d.log(Map.of("step", 1));
            Thread.sleep(20);
            p.log(Map.of("step", 1));                                           // the pretraining is the newest unfinished run
        }
        assertEquals(pretrain.toAbsolutePath(), ResumePoint.resolve("auto", runs).orElseThrow().runDirectory());
        assertEquals(distill.toAbsolutePath(), ResumePoint.resolve("auto", runs, "distill-2q").orElseThrow().runDirectory());
        assertEquals(pretrain.toAbsolutePath(), ResumePoint.resolve("auto", runs, "pretrain").orElseThrow().runDirectory());
        assertEquals(Optional.empty(), ResumePoint.resolve("auto", runs, "distill-1q"));
    }
}
