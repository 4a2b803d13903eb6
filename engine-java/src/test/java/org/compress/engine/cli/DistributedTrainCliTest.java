// `compress train` on 2 ranks (two JVMs on loopback, as `compress launch` starts them): rank 0 creates the run
// directory and rank 1 keeps its metrics in RUN/ranks/rank-1; a SIGTERM sent to rank 1 only stops both ranks after
// the same step with rank 0's checkpoint (exit 143 on both, both print the command that resumes RUN); the printed
// command, run again on 2 ranks, finishes the run in the same directory. A SIGTERM to `compress launch` itself is
// passed on to its ranks, which checkpoint before the launcher exits.
package org.compress.engine.cli;

import static org.compress.engine.cli.TrainValidationCliTest.tiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.compress.engine.train.RunDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DistributedTrainCliTest {
    @TempDir Path dir;

    private List<Process> start(List<String> args, String name) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<Process> ranks = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), "-Xmx1g", CompressCli.class.getName()));
            command.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(dir.resolve(name + "-" + r + ".out").toFile())
                    .redirectError(dir.resolve(name + "-" + r + ".err").toFile());
            var env = pb.environment();
            env.keySet().removeIf(k -> k.startsWith("SLURM_") || k.startsWith("OMPI_"));
            env.put("RANK", Integer.toString(r));
            env.put("WORLD_SIZE", "2");
            env.put("LOCAL_RANK", Integer.toString(r));
            env.put("LOCAL_WORLD_SIZE", "2");
            env.put("MASTER_ADDR", "127.0.0.1");
            env.put("MASTER_PORT", Integer.toString(port));
            env.put("COMPRESS_DIST_TIMEOUT", "60");
            ranks.add(pb.start());
        }
        return ranks;
    }

    private String err(String name, int rank) throws Exception { return Files.readString(dir.resolve(name + "-" + rank + ".err")); }

    private String all(String name, int rank) throws Exception { return Files.readString(dir.resolve(name + "-" + rank + ".out")) + err(name, rank); }

    @Test void aSigtermOnOneRankStopsBothAtTheSameStepAndThePrintedCommandFinishesTheRun() throws Exception {
        Path out = dir.resolve("runs");
        // 256 images, global batch 32: 16 per rank, 8 steps in the one epoch
        List<String> args = tiny(out, "--train-images", "256", "--test-images", "32");
        List<Process> ranks = start(args, "first");
        Path run;
        try {
            run = awaitRankOne(out, ranks);
            assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(ranks.get(1).pid())).start().waitFor());
            String checkpoint = null;
            for (int r = 0; r < 2; r++) {
                assertTrue(ranks.get(r).waitFor(180, TimeUnit.SECONDS), "rank " + r + " stops");
                assertEquals(143, ranks.get(r).exitValue(), "rank " + r + " exits as rank 1 did:\n" + all("first", r));
                String e = err("first", r);
                String line = e.lines().filter(l -> l.startsWith("stopped on SIGTERM; checkpoint: ")).findFirst()
                        .orElseThrow(() -> new AssertionError(e)).substring("stopped on SIGTERM; checkpoint: ".length());
                if (checkpoint == null) checkpoint = line;
                assertEquals(checkpoint, line, "rank " + r + " names rank 0's checkpoint of the same step");
                String resume = e.lines().filter(l -> l.startsWith("resume with: bin/compress train ")).findFirst()
                        .orElseThrow(() -> new AssertionError(e));
                assertTrue(resume.endsWith(" --resume " + run), "rank " + r + " resumes the run, not its rank folder: " + resume);
            }
            Path ck = Path.of(checkpoint);
            assertTrue(ck.getFileName().toString().matches("compress-epoch-0-batch-[1-7]\\.safetensors"), checkpoint);
            assertEquals(run, ck.getParent().getParent());
            assertTrue(RunDirectory.isComplete(ck));
            assertFalse(Files.exists(run.resolve("ranks/rank-1/checkpoints/" + ck.getFileName())), "only rank 0 writes checkpoints");
        } finally {
            ranks.forEach(Process::destroyForcibly);
        }

        List<String> again = new ArrayList<>(args);
        again.addAll(List.of("--resume", run.toString()));
        List<Process> resumed = start(again, "resumed");
        try {
            for (int r = 0; r < 2; r++) {
                assertTrue(resumed.get(r).waitFor(300, TimeUnit.SECONDS), "resumed rank " + r + " finishes");
                assertEquals(0, resumed.get(r).exitValue(), all("resumed", r));
            }
        } finally {
            resumed.forEach(Process::destroyForcibly);
        }
        assertTrue(Files.exists(run.resolve("summary.json")) && RunDirectory.isComplete(run.resolve("checkpoints/compress-epoch-0.safetensors")));
        assertTrue(Files.readString(run.resolve("ranks/rank-1/config.json")).contains("resumes"), "rank 1's folder records the resume");
        try (var s = Files.list(out)) {
            assertEquals(1, s.filter(Files::isDirectory).count(), "the resumed job continued the same run directory");
        }
    }

    @Test void aSigtermToTheLauncherCheckpointsEveryRankBeforeItExits() throws Exception {
        Path out = dir.resolve("launched");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xmx1g", CompressCli.class.getName(), "launch", "--nproc-per-node", "2",
                "--master-port", Integer.toString(port), "--grace-seconds", "120"));
        command.addAll(tiny(out, "--train-images", "256", "--test-images", "32"));
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(dir.resolve("launch.out").toFile()).redirectError(dir.resolve("launch.err").toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("SLURM_") || k.startsWith("OMPI_") || k.equals("MASTER_ADDR") || k.equals("RANK")
                || k.equals("WORLD_SIZE"));
        Process launcher = pb.start();
        try {
            Path run = awaitRankOne(out, List.of(launcher));
            assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(launcher.pid())).start().waitFor());
            assertTrue(launcher.waitFor(180, TimeUnit.SECONDS), "the launcher exits after its ranks");
            String log = Files.readString(dir.resolve("launch.out")) + Files.readString(dir.resolve("launch.err"));
            List<String> stops = log.lines().filter(l -> l.startsWith("stopped on SIGTERM; checkpoint: ")).toList();
            assertEquals(2, stops.size(), "both ranks stopped on the SIGTERM the launcher passed on:\n" + log);
            assertEquals(stops.get(0), stops.get(1), "the same checkpoint on both ranks");
            Path ck = Path.of(stops.get(0).substring("stopped on SIGTERM; checkpoint: ".length()));
            assertEquals(run, ck.getParent().getParent());
            assertTrue(RunDirectory.isComplete(ck), ck + " is complete");
        } finally {
            launcher.destroyForcibly();
        }
    }

    /** Waits until rank 1 has its folder RUN/ranks/rank-1 (its signal handlers are installed before); returns RUN. */
    private static Path awaitRankOne(Path out, List<Process> ranks) throws Exception {
        long deadline = System.nanoTime() + 180_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (Process p : ranks) assertTrue(p.isAlive(), "a rank ended before training (exit " + (p.isAlive() ? "-" : p.exitValue()) + ")");
            if (Files.isDirectory(out)) {
                try (var s = Files.list(out)) {
                    var run = s.filter(d -> Files.exists(d.resolve("ranks/rank-1/metrics.jsonl"))).findFirst();
                    if (run.isPresent()) return run.get();
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no RUN/ranks/rank-1 within 180 s under " + out);
    }
}
