// A stop request (a signal) or a non-finite loss seen by one rank only must stop every rank at the same step: the
// trainers agree on both at each step boundary (train/DistSteps), rank 0 writes the one checkpoint, and the resumed
// job finishes with the weights of the uninterrupted one. Two ranks as threads (InProcessRanks), CompRess-2q on the
// BN-free MLPs of DistWorker: 192 images, global batch 48, so 4 steps per epoch.
package org.compress.engine.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.train.CompressTrainer;
import org.compress.engine.train.RunDirectory;
import org.compress.engine.train.SmallImageRecipes;
import org.compress.engine.train.StopRequest;
import org.compress.engine.train.TrainConfig;
import org.compress.engine.train.TrainingDivergedException;
import org.compress.engine.train.TrainingInterruptedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgreedStopTest {
    private static final int EPOCHS = 2, BATCH = 48;
    /** DistWorker's configuration without the loss's own input check, so that the trainer's guard sees the NaN. */
    private static final TrainConfig.Compress CONFIG = new TrainConfig.Compress("2q", EPOCHS, BATCH, 0.5, DistWorker.QUEUE, 0.04f, 0.9, "F32",
            "UNFUSED", false, 1, false, "cosine");

    /** What one rank's training ended with: its final student weights, or the exception it threw. */
    record Outcome(float[] weights, RuntimeException error) {}

    /** A stop request that asks for itself (as SIGTERM) at its n-th poll. */
    static StopRequest stopAtPoll(int n) {
        return new StopRequest() {
            private int polls;

            @Override public boolean requested() {
                if (++polls >= n) request("SIGTERM");
                return super.requested();
            }
        };
    }

    private static Outcome train(Backend cpu, DistributedContext dist, Path out, StopRequest stop, Path resume, boolean nanTeacher) {
        long init = 100 + 17L * dist.rank();   // rank 0's weights reach the others through the gradient reducer
        Network teacher = new DistWorker.Mlp(cpu, 32, 16, 1), student = new DistWorker.Mlp(cpu, 24, 16, init),
                key = new DistWorker.Mlp(cpu, 24, 16, init + 1);
        if (nanTeacher) {
            Tensor w = teacher.namedParameters().get("fc2.weight").value();   // after the ReLU, which would map NaN to 0
            java.util.Arrays.fill(w.cpuStorage().f32(), (int) w.offset(), (int) (w.offset() + w.numel()), Float.NaN);
        }
        try (RunDirectory run = new RunDirectory(out.resolve("rank-" + dist.rank()), Map.of("worldSize", dist.worldSize()))) {
            CompressTrainer.train(cpu, teacher, null, student, key, DistWorker.data(null, dist.rank(), false),
                    SmallImageRecipes.compress(1, 28, Normalize.FASHION_MNIST), CONFIG, 1, 5, run, resume, stop, dist);
            return new Outcome(cpu.toFloatArray(student.namedParameters().get("fc1.weight").value()), null);
        } catch (TrainingInterruptedException | TrainingDivergedException e) {
            return new Outcome(null, e);
        }
    }

    @Test void aStopOnOneRankStopsEveryRankAfterTheSameStepAndResumesExactly(@TempDir Path dir) throws Exception {
        Path whole = dir.resolve("whole"), parts = dir.resolve("parts");
        List<Outcome> reference = InProcessRanks.run(2, (dist, cpu) -> train(cpu, dist, whole, new StopRequest(), null, false));
        List<Outcome> stopped = InProcessRanks.run(2, (dist, cpu) ->
                train(cpu, dist, parts, dist.rank() == 1 ? stopAtPoll(3) : new StopRequest(), null, false));   // only rank 1 is "signalled"

        Path checkpoint = parts.resolve("rank-0/checkpoints/compress-epoch-0-batch-3.safetensors").toAbsolutePath();
        for (int r = 0; r < 2; r++) {
            var e = assertInstanceOf(TrainingInterruptedException.class, stopped.get(r).error(), "rank " + r + " must stop too");
            assertEquals("SIGTERM", e.reason(), "rank " + r + " takes the signal rank 1 got (same exit code)");
            assertEquals(checkpoint, e.checkpoint().toAbsolutePath(), "rank " + r + ": rank 0's checkpoint after step 3");
        }
        assertTrue(RunDirectory.isComplete(checkpoint));
        assertFalse(Files.exists(parts.resolve("rank-1/checkpoints/compress-epoch-0-batch-3.safetensors")), "only rank 0 writes");

        List<Outcome> resumed = InProcessRanks.run(2, (dist, cpu) -> train(cpu, dist, parts, new StopRequest(), checkpoint, false));
        for (int r = 0; r < 2; r++) {
            assertNull(resumed.get(r).error(), "rank " + r + " finishes after the resume");
            assertArrayEquals(reference.get(r).weights(), resumed.get(r).weights(), "rank " + r + ": resumed = uninterrupted, bitwise");
        }
    }

    @Test void aNonFiniteLossOnOneRankStopsEveryRankAtTheSameStep(@TempDir Path dir) throws Exception {
        List<Outcome> out = InProcessRanks.run(2, (dist, cpu) -> train(cpu, dist, dir, new StopRequest(), null, dist.rank() == 1));
        for (int r = 0; r < 2; r++) {
            var e = assertInstanceOf(TrainingDivergedException.class, out.get(r).error(), "rank " + r + " must fail as a divergence, not hang");
            assertEquals(0, e.epoch(), "rank " + r);
            assertEquals(1, e.step(), "rank " + r + ": the first step, where rank 1's teacher made its loss NaN");
        }
        assertFalse(Files.exists(dir.resolve("rank-0/checkpoints/compress-epoch-0.safetensors")), "nothing non-finite is checkpointed");
    }
}
