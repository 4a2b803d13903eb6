// A run stopped inside MoCo pretraining, resumed, stopped again inside CompRess, and resumed again ends exactly
// where the uninterrupted run ends (same teacher, student, losses and k-NN accuracies), in one run directory whose
// metrics.jsonl counts steps without gaps or repeats, whose config.json records both resumes, and from which the
// temporary files of killed writes are gone.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.io.Safetensors;
import org.compress.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InterruptedRunTest {
    /** 128 training images in batches of 32: 4 steps per epoch; one MoCo epoch, two CompRess epochs, every step logged. */
    static TrainConfig small() {
        TrainConfig t = PipelineTest.tiny("2q", 2);
        return new TrainConfig(new TrainConfig.Data("fashion-mnist", "/usr/share/datasets/fashion-mnist", 128, 64, 2, 28),
                t.teacher(), t.student(), new TrainConfig.Moco(1, 32, 0.06, 64, 0.2f, 16, 0.99, 1),
                new TrainConfig.Compress("2q", 2, 32, 0.1, 64, 0.04f, 0.999, "F32", "AUTO", false, 1, false, "cosine"), t.eval(), 7L, "cpu");
    }

    /** Asks to stop at the n-th poll (the trainers poll after every step). */
    static StopRequest stopAtPoll(int n) {
        return new StopRequest() {
            private int polls;

            @Override public boolean requested() {
                if (++polls >= n) request("test stop at poll " + n);
                return super.requested();
            }
        };
    }

    @Test void stoppedInMocoAndInCompressThenResumedTwiceEqualsTheUninterruptedRun(@TempDir Path dir) throws Exception {
        TrainConfig cfg = small();
        Pipeline.Summary whole = Pipeline.run(cfg, dir.resolve("whole"));

        Path runs = dir.resolve("runs");
        var first = assertThrows(TrainingInterruptedException.class, () -> Pipeline.run(cfg, runs, null, stopAtPoll(2)));
        Path run = first.runDirectory();
        assertEquals(run.resolve("checkpoints/moco-epoch-0-batch-2.safetensors"), first.checkpoint(), "stopped after MoCo step 2");
        assertTrue(RunDirectory.isComplete(first.checkpoint()));
        Path stale = Files.write(run.resolve("checkpoints/.compress-epoch-0.safetensors.4711.tmp"), new byte[100]); // a killed write

        // resumed by its run directory: MoCo steps 3-4 (polls 1-2), the epoch-end poll (3), CompRess steps 1-2 (polls 4-5)
        var second = assertThrows(TrainingInterruptedException.class, () -> Pipeline.run(cfg, runs, run.toString(), stopAtPoll(5)));
        assertEquals(run, second.runDirectory(), "a resumed run continues its own directory");
        assertEquals(run.resolve("checkpoints/compress-epoch-0-batch-2.safetensors"), second.checkpoint());
        assertFalse(Files.exists(stale), "the temporary file of a killed write is removed on resume");
        assertTrue(RunDirectory.isComplete(run.resolve("checkpoints/teacher.safetensors")));
        assertTrue(RunDirectory.isComplete(run.resolve("checkpoints/moco-epoch-0.safetensors")), "MoCo checkpoints every epoch");

        Pipeline.Summary last = Pipeline.run(cfg, runs, "auto", new StopRequest()); // auto finds the unfinished run
        assertEquals(run, last.runDirectory());
        assertEquals(whole.knn(), last.knn(), "same k-NN accuracies as the uninterrupted run");
        for (String f : new String[] {"teacher.safetensors", "student.safetensors", "compress-epoch-1.safetensors"}) {
            Map<String, Tensor> a = Safetensors.read(whole.runDirectory().resolve("checkpoints").resolve(f));
            Map<String, Tensor> b = Safetensors.read(run.resolve("checkpoints").resolve(f));
            assertEquals(a.keySet(), b.keySet(), f);
            try (CpuBackend cpu = new CpuBackend()) {
                for (String k : a.keySet()) assertArrayEquals(cpu.toFloatArray(a.get(k)), cpu.toFloatArray(b.get(k)), f + ": " + k);
            }
        }
        // metrics.jsonl: the same steps and losses as the uninterrupted run, each step once, in order
        for (String stage : new String[] {"moco", "compress-2q"}) {
            List<long[]> wholeSteps = steps(whole.runDirectory(), stage), resumedSteps = steps(run, stage);
            assertEquals(stage.equals("moco") ? 4 : 8, resumedSteps.size(), stage + " steps logged once each");
            for (int i = 0; i < resumedSteps.size(); i++) {
                assertArrayEquals(wholeSteps.get(i), resumedSteps.get(i), stage + " record " + i + " (step, loss bits)");
                assertEquals(i + 1, resumedSteps.get(i)[0], stage + ": continuous step numbers");
            }
        }
        JsonNode config = new ObjectMapper().readTree(run.resolve("config.json").toFile());
        assertEquals(2, config.get("resumes").size(), "config.json records both resumes: " + config.get("resumes"));
        assertEquals("moco", config.get("resumes").get(0).get("stage").asText());
        assertEquals(first.checkpoint().toString(), config.get("resumes").get(0).get("checkpoint").asText());
        assertEquals(2, config.get("resumes").get(1).get("step").asLong());
        // the plots are drawn from the whole history, so the resumed run's plot is the uninterrupted run's plot
        assertEquals(Files.size(whole.runDirectory().resolve("loss-compress-2q.png")), Files.size(run.resolve("loss-compress-2q.png")));
        assertNotEquals(0, Files.size(run.resolve("loss-moco.png")));
    }

    /** (step, raw bits of the loss) of every record of a stage, in file order. */
    static List<long[]> steps(Path run, String stage) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<long[]> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode r = json.readTree(line);
            if (stage.equals(r.path("stage").asText()) && r.has("loss")) {
                out.add(new long[] {r.get("step").asLong(), Double.doubleToLongBits(r.get("loss").asDouble())});
            }
        }
        return out;
    }

    @Test void twoRunsStartedInTheSameSecondGetTheirOwnDirectories(@TempDir Path dir) {
        RunDirectory a = RunDirectory.create(dir, "20260101-000000-compress-2q", Map.of("run", "a"));
        RunDirectory b = RunDirectory.create(dir, "20260101-000000-compress-2q", Map.of("run", "b"));
        try (a; b) {
            assertNotEquals(a.root(), b.root());
            assertEquals(dir.resolve("20260101-000000-compress-2q-2"), b.root());
            // the same directory cannot be taken over by a second live run
            var busy = assertThrows(RunDirectory.RunDirectoryInUseException.class,
                    () -> RunDirectory.resume(a.root(), Map.of("checkpoint", "x"), r -> true));
            assertTrue(busy.getMessage().contains("in use by another running process"), busy.getMessage());
        }
    }
}
