// The one stage runner: out of GPU memory becomes one line that suggests a batch size; the configuration (the data
// here) is validated before a run directory exists; two runs started in the same second get two directories.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.compress.engine.EngineException;
import org.compress.engine.backend.cuda.DeviceOutOfMemoryException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StageRunnerTest {
    @Test void outOfDeviceMemorySuggestsHalfTheBatch(@TempDir Path runs) {
        TrainConfig cfg = PipelineTest.tiny("2q", 1);        // batch 64
        EngineException e = assertThrows(EngineException.class, () -> StageRunner.run("oom", cfg, cfg, StageRunner.Options.in(runs), c -> {
            throw new DeviceOutOfMemoryException("cuda:0", 1L << 30, 1L << 20, 80L << 30, 70L << 30, 1L << 30);
        }));
        assertTrue(e.getMessage().startsWith("out of memory on cuda:0") && e.getMessage().endsWith("try a smaller batch, e.g. --batch-size 32"),
                e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
    }

    @Test void missingDataFailsBeforeARunDirectoryIsMade(@TempDir Path runs) {
        TrainConfig c = PipelineTest.tiny("2q", 1);
        TrainConfig bad = new TrainConfig(new TrainConfig.Data("fashion-mnist", "/nonexistent", 10, 10, 1, 28), c.teacher(), c.student(),
                c.moco(), c.compress(), c.eval(), 0, "cpu");
        var e = assertThrows(InvalidConfigurationException.class, () -> StageRunner.run("x", bad, bad, StageRunner.Options.in(runs), ctx -> 0));
        assertTrue(e.getMessage().contains("data folder /nonexistent does not exist"), e.getMessage());
        assertFalse(Files.exists(runs) && runs.toFile().list().length > 0, "nothing written");
    }

    @Test void runsOfTheSameSecondGetTheirOwnDirectories(@TempDir Path runs) {
        TrainConfig cfg = PipelineTest.tiny("2q", 1);
        Path a = StageRunner.run("same", cfg, cfg, StageRunner.Options.in(runs), c -> 1).runDirectory();
        Path b = StageRunner.run("same", cfg, cfg, StageRunner.Options.in(runs), c -> 2).runDirectory();
        assertTrue(!a.equals(b) && Files.exists(a.resolve("summary.json")) && Files.exists(b.resolve("summary.json")), a + " " + b);
        assertEquals(3, assertDoesNotThrowLines(runs.resolve("summary.csv")), "header + 2 runs");
    }

    private static int assertDoesNotThrowLines(Path f) {
        try {
            return Files.readAllLines(f).size();
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
