// SIGTERM and SIGINT during `compress train` (a real JVM, signalled by kill): the step in progress finishes, a
// complete checkpoint is written, the resume command is printed, and the exit code is 143 / 130; the printed
// command then finishes the run in the same directory. A second signal exits at once without saving.
package org.compress.engine.cli;

import static org.compress.engine.cli.TrainValidationCliTest.run;
import static org.compress.engine.cli.TrainValidationCliTest.tiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.compress.engine.train.RunDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainSignalsTest {
    @TempDir Path dir;

    @Test void sigtermAndSigintCheckpointPrintTheResumeCommandAndExit143And130() throws Exception {
        String resumeLine = null;
        for (String signal : new String[] {"TERM", "INT"}) {
            if (ignoredHere(signal.equals("INT") ? 2 : 15)) { // inherited by the child: it can never arrive there
                System.out.println("SIG" + signal + " is ignored by this process (a background job?); its part is skipped");
                continue;
            }
            Path out = dir.resolve(signal);
            // 256 images in batches of 32: 8 steps in the one epoch; the signal comes as soon as the run directory exists
            List<String> args = tiny(out, "--train-images", "256", "--test-images", "32");
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), "-Xmx2g", CompressCli.class.getName()));
            command.addAll(args);
            Path log = dir.resolve(signal + ".out"), err = dir.resolve(signal + ".err");
            Process p = new ProcessBuilder(command).redirectOutput(log.toFile()).redirectError(err.toFile()).start();
            try {
                Path run = awaitRunDirectory(out, p);
                long sent = System.nanoTime();
                assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor());
                assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the run stops after its current step");
                String stderr = Files.readString(err);
                assertEquals(signal.equals("TERM") ? 143 : 130, p.exitValue(), stderr + Files.readString(log));
                assertTrue(stderr.contains("SIG" + signal + ": finishing the current step and writing a checkpoint"), stderr);
                String checkpoint = stderr.lines().filter(l -> l.startsWith("stopped on SIG" + signal + "; checkpoint: ")).findFirst()
                        .orElseThrow(() -> new AssertionError(stderr)).substring(("stopped on SIG" + signal + "; checkpoint: ").length());
                assertTrue(Path.of(checkpoint).getFileName().toString().matches("compress-epoch-0-batch-\\d+\\.safetensors"), checkpoint);
                assertTrue(RunDirectory.isComplete(Path.of(checkpoint)), checkpoint + " is complete");
                assertEquals(run, Path.of(checkpoint).getParent().getParent());
                String resume = stderr.lines().filter(l -> l.startsWith("resume with: bin/compress train ")).findFirst()
                        .orElseThrow(() -> new AssertionError(stderr));
                assertTrue(resume.endsWith(" --resume " + run), resume);
                System.out.printf("SIG%s: stopped %.1f s after the signal%n", signal, (System.nanoTime() - sent) / 1e9);
                resumeLine = resume; // the last signalled run is resumed below
            } finally {
                p.destroyForcibly();
            }
        }
        // the printed command, as a user would paste it, finishes the run in its own directory
        if (resumeLine == null) return;
        String[] resumeArgs = resumeLine.substring("resume with: bin/compress ".length()).split(" ");
        var r = run(resumeArgs);
        assertEquals(0, r.rc(), r.all());
        Path run = Path.of(resumeArgs[resumeArgs.length - 1]);
        assertTrue(Files.exists(run.resolve("summary.json")) && RunDirectory.isComplete(run.resolve("checkpoints/compress-epoch-0.safetensors")));
        assertTrue(r.out().contains("run directory: " + run), r.out());
    }

    @Test void aSecondSigtermExitsAtOnceWithoutACheckpoint() throws Exception {
        if (ignoredHere(15)) {
            System.out.println("SIGTERM is ignored by this process; the test is skipped");
            return;
        }
        // width-16 networks in batches of 128: the first step takes long enough for the second signal to come during it
        Path out = dir.resolve("twice");
        List<String> args = tiny(out, "--train-images", "512", "--test-images", "32", "--teacher-width", "16", "--student-width", "16",
                "--batch-size", "128", "--queue", "256");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xmx2g", CompressCli.class.getName()));
        command.addAll(args);
        Path err = dir.resolve("twice.err");
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
        try {
            Path run = awaitRunDirectory(out, p);
            assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor());
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!Files.readString(err).contains("SIGTERM: finishing the current step")) {
                assertTrue(p.isAlive() && System.nanoTime() < deadline, "the first SIGTERM was not taken: " + Files.readString(err));
                Thread.sleep(5);
            }
            long second = System.nanoTime();
            assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            double seconds = (System.nanoTime() - second) / 1e9;
            String stderr = Files.readString(err);
            assertEquals(143, p.exitValue(), stderr);
            assertTrue(stderr.contains("second SIGTERM: exiting without a checkpoint"), stderr);
            assertTrue(!stderr.contains("stopped on SIGTERM; checkpoint:"), "the first stop did not finish: " + stderr);
            try (var files = Files.list(run.resolve("checkpoints"))) {
                assertEquals(List.of(), files.filter(f -> f.toString().endsWith(".safetensors")).toList(), "nothing saved");
            } catch (java.nio.file.NoSuchFileException none) {
                // no checkpoints folder at all: nothing saved either
            }
            System.out.printf("second SIGTERM: exited %.2f s after it%n", seconds);
        } finally {
            p.destroyForcibly();
        }
    }

    /** Whether this process ignores the signal (Linux: the SigIgn mask of /proc/self/status); a child inherits that. */
    static boolean ignoredHere(int signal) throws Exception {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) return false;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("SigIgn:")) return (Long.parseUnsignedLong(line.substring(7).trim(), 16) >>> (signal - 1) & 1) == 1;
        }
        return false;
    }

    /** Waits until the run has created its directory (the signal handlers are installed before); returns it. */
    static Path awaitRunDirectory(Path out, Process p) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            assertTrue(p.isAlive(), "the run ended before it started training (exit " + (p.isAlive() ? "-" : p.exitValue()) + ")");
            if (Files.isDirectory(out)) {
                try (var s = Files.list(out)) {
                    Optional<Path> run = s.filter(d -> Files.exists(d.resolve("metrics.jsonl"))).findFirst();
                    if (run.isPresent()) return run.get();
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no run directory within 120 s under " + out + " " + Arrays.toString(out.toFile().list()));
    }
}
