// The run guarantees of `compress train` hold for the separate training commands too, since all of them go through
// the one StageRunner: `distill` refuses bad options before any work (nothing under --out), and `pretrain` stopped by
// SIGTERM writes a complete MoCo checkpoint, prints its resume command, exits 143, and `--resume auto` finishes it
// in the same directory with the uninterrupted run's teacher, bit for bit; a diverging `pretrain` stops at the very
// step its loss became NaN (the per-step guard), saving nothing.
package org.compress.engine.cli;

import static org.compress.engine.cli.CommandsTest.args;
import static org.compress.engine.cli.CommandsTest.cli;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.io.Safetensors;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.train.Models;
import org.compress.engine.train.RunDirectory;
import org.compress.engine.train.TrainConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingCommandsTest {
    static final String[] TINY = {"--train-images", "256", "--test-images", "64", "--workers", "2", "--backend", "cpu", "--seed", "3",
            "--progress", "OFF"};

    @TempDir Path dir;

    @Test void distillRefusesBadOptionsBeforeAnyWork() throws Exception {
        Path teacher = dir.resolve("teacher.safetensors");
        try (CpuBackend cpu = new CpuBackend()) {
            Network t = Models.build(cpu, new TrainConfig.Model("resnet18", 4, true, null, "torchvision"), 1, Head.none(), 0);
            Safetensors.write(teacher, t.stateDict());
        }
        String[] distill = args("distill", TINY, "--teacher", teacher, "--teacher-arch", "resnet18", "--teacher-width", "4",
                "--teacher-preset", "torchvision", "--width", "4", "-b", "32", "--queue", "64", "--epochs", "1");
        String[][] cases = {
            {"--tau", "0", "--lr", "NaN"},        // two problems, one line naming both
            {"--batch-size", "512"},              // more than the 256 images: an epoch would have no step
            {"--bank-dtype", "F64"},
            {"--keep-last", "-1"},
            {"--resume", dir.resolve("no-such-run").toString()},
        };
        String[] expected = {"--tau: expected a finite value > 0, found 0.0", "--batch-size 512 exceeds the 256 training images",
            "--bank-dtype: expected F32 or BF16, found 'F64'", "--keep-last: expected 0 (all) or more, found -1", "no such run directory"};
        for (int i = 0; i < cases.length; i++) {
            Path out = dir.resolve("runs-" + i);
            long t0 = System.nanoTime();
            cli(args(distill, "--out", out, cases[i])).fails(expected[i]);
            assertFalse(Files.exists(out), String.join(" ", cases[i]) + ": nothing created under --out");
            assertTrue((System.nanoTime() - t0) / 1e9 < 60, "refused before any training");
        }
        Path out = dir.resolve("runs-0");
        cli(args(distill, "--out", out, "--tau", "0", "--lr", "NaN")).fails("--lr: expected a finite value > 0, found NaN");
    }

    @Test void aDivergingMocoStageStopsAtTheFirstNonFiniteStepEvenWhereNothingIsLogged() throws Exception {
        // --lr 1e6: the MoCo loss becomes NaN within the first epoch (256 images in batches of 32: 8 steps an epoch)
        String[] pretrain = args("pretrain", TINY, "--width", "4", "--epochs", "3", "-b", "32", "--moco-k", "64", "--moco-dim", "16",
                "--lr", "1e6");
        // every step logged: the finite losses before the divergence
        Path logged = dir.resolve("logged");
        CommandsTest.Run every = cli(args(pretrain, "--log-every", "1", "--out", logged));
        long first = divergedAt(every);
        List<Long> steps = CommandsTest.steps(CommandsTest.runDir(logged, "-pretrain"), "moco");
        List<Double> losses = CommandsTest.losses(CommandsTest.runDir(logged, "-pretrain"), "moco");
        assertEquals(java.util.stream.LongStream.range(1, first).boxed().toList(), steps, "steps 1 to " + (first - 1) + " logged, finite");
        assertTrue(losses.stream().allMatch(Double::isFinite), losses.toString());
        // the default logging (every 10th step): the same step is named, though it is neither logged nor an epoch's end
        Path quiet = dir.resolve("quiet");
        CommandsTest.Run tenth = cli(args(pretrain, "--out", quiet));
        assertEquals(first, divergedAt(tenth), tenth.err());
        assertTrue(first % 10 != 0 && first % 8 != 0, "the step (" + first + ") must be one the trainer checks only by its per-step guard");
        System.out.println("MoCo with --lr 1e6: the loss became non-finite at step " + first);
        Path run = CommandsTest.runDir(quiet, "-pretrain");
        try (Stream<Path> files = Files.list(run.resolve("checkpoints"))) {
            assertEquals(List.of(), files.toList(), "nothing saved from the diverged stage");
        }
    }

    /** The step a `moco diverged at epoch 0, step S: the loss became NaN` error names. */
    private static long divergedAt(CommandsTest.Run r) {
        assertEquals(1, r.code(), r.out() + r.err());
        String line = r.err().strip();
        var m = java.util.regex.Pattern.compile("error: moco diverged at epoch 0, step (\\d+): the loss became (NaN|Infinity|-Infinity); last good"
                + " checkpoint: none; try a lower --lr.*").matcher(line);
        assertTrue(m.matches(), line);
        return Long.parseLong(m.group(1));
    }

    @Test void pretrainStopsOnSigtermWithExit143AndResumesAutoToTheUninterruptedTeacher() throws Exception {
        Assumptions.assumeFalse(TrainSignalsTest.ignoredHere(15), "SIGTERM is ignored by this process, so by its child too");
        // 256 images in batches of 16: 16 steps an epoch, 3 epochs; the signal comes as soon as the run directory exists
        String[] pretrain = args("pretrain", TINY, "--width", "4", "--epochs", "3", "-b", "16", "--moco-k", "64", "--moco-dim", "16",
                "--lr", "0.06", "--log-every", "1");
        Path whole = dir.resolve("whole"), stopped = dir.resolve("stopped");
        cli(args(pretrain, "--out", whole)).ok();

        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), "-Xmx2g", CompressCli.class.getName()));
        command.addAll(Arrays.asList(args(pretrain, "--out", stopped)));
        Path log = dir.resolve("stopped.out"), err = dir.resolve("stopped.err");
        Process p = new ProcessBuilder(command).redirectOutput(log.toFile()).redirectError(err.toFile()).start();
        Path run;
        try {
            run = TrainSignalsTest.awaitRunDirectory(stopped, p);
            assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor());
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the run stops after its current step");
        } finally {
            p.destroyForcibly();
        }
        String stderr = Files.readString(err);
        assertEquals(143, p.exitValue(), stderr + Files.readString(log));
        String prefix = "stopped on SIGTERM; checkpoint: ";
        Path checkpoint = Path.of(stderr.lines().filter(l -> l.startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError(stderr)).substring(prefix.length()));
        assertTrue(checkpoint.getFileName().toString().matches("moco-epoch-\\d+(-batch-\\d+)?\\.safetensors"), checkpoint.toString());
        assertTrue(RunDirectory.isComplete(checkpoint) && checkpoint.getParent().getParent().equals(run), checkpoint.toString());
        assertTrue(stderr.lines().anyMatch(l -> l.startsWith("resume with: bin/compress pretrain ") && l.endsWith(" --resume " + run)), stderr);
        assertFalse(Files.exists(run.resolve("summary.json")), "an interrupted run is not finished");

        cli(args(pretrain, "--out", stopped, "--resume", "auto")).ok();
        try (Stream<Path> runs = Files.list(stopped)) {
            assertEquals(List.of(run), runs.filter(Files::isDirectory).toList(), "resumed in its own directory");
        }
        Path wholeRun = CommandsTest.runDir(whole, "-pretrain");
        Map<String, Tensor> a = Safetensors.read(wholeRun.resolve("checkpoints/teacher.safetensors"));
        Map<String, Tensor> b = Safetensors.read(run.resolve("checkpoints/teacher.safetensors"));
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            if (a.get(k).dtype() == DType.F32) assertArrayEquals(a.get(k).cpuStorage().f32(), b.get(k).cpuStorage().f32(), k);
        }
        assertEquals(CommandsTest.steps(wholeRun, "moco"), CommandsTest.steps(run, "moco"), "step numbers continue across the resume");
    }
}
