// `compress train` stopped and resumed at the command line ends exactly where the uninterrupted run ends (weights,
// k-NN accuracies, metrics.jsonl, loss plots): stopped twice in CompRess and resumed twice (by the printed command,
// then by the checkpoint file), with both resumes in config.json and the temporary files of killed writes gone;
// stopped inside its MoCo stage and resumed. The runs stop on a real SIGTERM, raised in this JVM while the command
// runs in-process.
package org.compress.engine.cli;

import static org.compress.engine.cli.TrainValidationCliTest.run;
import static org.compress.engine.cli.TrainValidationCliTest.tiny;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.compress.engine.backend.HostData;
import org.compress.engine.io.Safetensors;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.train.RunDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sun.misc.Signal;
import sun.misc.SignalHandler;

class TrainResumeCliTest {
    @TempDir Path dir;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test void stoppedTwiceAndResumedTwiceEqualsTheUninterruptedRun() throws Exception {
        // 256 images in batches of 32: 8 steps per epoch, 3 epochs (steps 10 and 20 logged)
        String[] settings = {"--train-images", "256", "--epochs", "3"};
        var whole = run(tiny(dir.resolve("whole"), settings).toArray(String[]::new));
        assertEquals(0, whole.rc(), whole.all());
        Path wholeRun = onlyRunDirectory(dir.resolve("whole"));

        Path out = dir.resolve("stopped");
        List<String> args = tiny(out, settings);
        // stopped once epoch 0's checkpoint is complete
        var first = stoppedWhen(args, newCheckpoint(out, "compress", Set.of()));
        Path run = onlyRunDirectory(out);
        Path stop1 = printedCheckpoint(first, run);
        // resumed by the printed command (--resume RUN_DIR), stopped again once a later epoch's checkpoint is complete
        String[] printed = printedResume(first, run);
        var second = stoppedWhen(List.of(printed), newCheckpoint(out, "compress", completeCheckpoints(run)));
        assertEquals(run, onlyRunDirectory(out), "a resumed run continues its own directory");
        Path stop2 = printedCheckpoint(second, run);
        assertNotEquals(stop1, stop2);
        System.out.println("stopped at " + stop1.getFileName() + ", then at " + stop2.getFileName());
        // temporary files as writes killed before their rename leave them, in the run and in --out
        Files.write(run.resolve("checkpoints/.compress-epoch-2.safetensors.k1ll3d.tmp"), new byte[100]);
        Files.write(out.resolve(".summary.csv.k1ll3d.tmp"), new byte[10]);
        // resumed again, this time by the checkpoint file (--resume CHECKPOINT)
        List<String> fromFile = new ArrayList<>(args);
        fromFile.addAll(List.of("--resume", stop2.toString()));
        var last = run(fromFile.toArray(String[]::new));
        assertEquals(0, last.rc(), last.all());
        assertTrue(last.out().contains("run directory: " + run), last.out());
        assertEquals(run, onlyRunDirectory(out));

        assertEquals(knn(whole), knn(last), "the same k-NN accuracies as the uninterrupted run");
        for (String f : new String[] {"student.safetensors", "compress-epoch-2.safetensors"}) sameTensors(wholeRun, run, f);
        sameHistory(wholeRun, run, "compress-2q");
        samePlot(wholeRun, run, "loss-compress-2q.png");
        try (var all = Files.walk(out)) {
            assertEquals(List.of(), all.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList(), "stale temporary files are removed");
        }
        JsonNode resumes = JSON.readTree(run.resolve("config.json").toFile()).get("resumes");
        assertEquals(2, resumes == null ? 0 : resumes.size(), "config.json records both resumes: " + resumes);
        assertEquals(stop1.toString(), resumes.get(0).get("checkpoint").asText());
        assertEquals(stop2.toString(), resumes.get(1).get("checkpoint").asText());
    }

    @Test void trainStoppedInsideItsMocoStageResumesToTheUninterruptedRun() throws Exception {
        // 320 images in batches of 32: 10 steps per epoch, 2 MoCo epochs, 1 CompRess epoch (step 10 logged in each stage)
        String[] settings = {"--moco-epochs", "2", "--train-images", "320", "--epochs", "1"};
        var whole = run(tiny(dir.resolve("whole"), settings).toArray(String[]::new));
        assertEquals(0, whole.rc(), whole.all());
        Path wholeRun = onlyRunDirectory(dir.resolve("whole"));

        Path out = dir.resolve("stopped");
        List<String> args = tiny(out, settings);
        // stopped once MoCo epoch 0's checkpoint is complete: inside MoCo epoch 1, before the teacher exists
        var stopped = stoppedWhen(args, newCheckpoint(out, "moco", Set.of()));
        Path run = onlyRunDirectory(out);
        Path checkpoint = printedCheckpoint(stopped, run);
        assertTrue(checkpoint.getFileName().toString().startsWith("moco-epoch-"), "stopped in MoCo: " + checkpoint);
        System.out.println("stopped at " + checkpoint.getFileName());
        assertFalse(Files.exists(run.resolve("checkpoints/teacher.safetensors")), "the stop came before the teacher was done");
        var resumed = run(printedResume(stopped, run));
        assertEquals(0, resumed.rc(), resumed.all());
        assertEquals(run, onlyRunDirectory(out));

        assertEquals(knn(whole), knn(resumed), "the same k-NN accuracies as the uninterrupted run");
        for (String f : new String[] {"teacher.safetensors", "student.safetensors"}) sameTensors(wholeRun, run, f);
        sameHistory(wholeRun, run, "moco");
        sameHistory(wholeRun, run, "compress-2q");
        samePlot(wholeRun, run, "loss-moco.png");
        samePlot(wholeRun, run, "loss-compress-2q.png");
        JsonNode resumes = JSON.readTree(run.resolve("config.json").toFile()).get("resumes");
        assertEquals(1, resumes.size(), resumes.toString());
        assertEquals("moco", resumes.get(0).get("stage").asText());

        // a CompRess checkpoint whose run lacks its pretrained teacher cannot be resumed
        Files.delete(run.resolve("checkpoints/teacher.safetensors.done"));
        List<String> again = new ArrayList<>(args);
        again.addAll(List.of("--resume", run.resolve("checkpoints/compress-epoch-0.safetensors").toString()));
        var refused = run(again.toArray(String[]::new));
        assertEquals(1, refused.rc(), refused.all());
        String line = refused.err().strip();
        assertTrue(line.startsWith("error: ") && !line.contains("\n") && line.length() <= 320, line);
        assertTrue(line.contains("--resume " + run + ": its pretrained teacher checkpoints/teacher.safetensors is missing or incomplete"), line);
    }

    /**
     * Runs `compress args` in-process and raises SIGTERM in this JVM as soon as {@code when} holds; asserts that the
     * run stopped on it (exit 143). A handler of this test catches the signal should the command's not be installed.
     */
    static TrainValidationCliTest.Result stoppedWhen(List<String> args, BooleanSupplier when) throws Exception {
        Signal term = new Signal("TERM");
        AtomicInteger stray = new AtomicInteger();
        SignalHandler previous;
        try {
            previous = Signal.handle(term, s -> stray.incrementAndGet());
        } catch (IllegalArgumentException ignored) {
            assumeTrue(false, "SIGTERM cannot be handled in this JVM");
            return null;
        }
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<TrainValidationCliTest.Result> f = pool.submit(() -> run(args.toArray(String[]::new)));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
            while (!when.getAsBoolean()) {
                if (f.isDone()) throw new AssertionError("the run ended before its stop point: " + f.get().all());
                assertTrue(System.nanoTime() < deadline, "no stop point within 240 s");
                Thread.sleep(5);
            }
            Signal.raise(term);
            TrainValidationCliTest.Result r = f.get(240, TimeUnit.SECONDS);
            assertEquals(0, stray.get(), "the signal came after the command had finished: " + r.all());
            assertEquals(143, r.rc(), r.all());
            return r;
        } finally {
            pool.shutdownNow();
            Signal.handle(term, previous);
        }
    }

    /** Holds once a complete {@code stage}-epoch-N checkpoint that is not in {@code before} exists in a run under out. */
    static BooleanSupplier newCheckpoint(Path out, String stage, Set<Path> before) {
        return () -> {
            if (!Files.isDirectory(out)) return false;
            try (var runs = Files.list(out)) {
                for (Path r : runs.toList()) {
                    for (Path c : completeCheckpoints(r)) {
                        if (c.getFileName().toString().matches(stage + "-epoch-\\d+\\.safetensors") && !before.contains(c)) return true;
                    }
                }
            } catch (java.io.IOException raced) {
                return false;
            }
            return false;
        };
    }

    static Set<Path> completeCheckpoints(Path run) {
        Set<Path> found = new HashSet<>();
        Path folder = run.resolve("checkpoints");
        if (!Files.isDirectory(folder)) return found;
        try (var files = Files.list(folder)) {
            files.filter(f -> f.getFileName().toString().endsWith(".safetensors") && RunDirectory.isComplete(f)).forEach(found::add);
        } catch (java.io.IOException raced) {
            // listed again at the next poll
        }
        return found;
    }

    static Path onlyRunDirectory(Path out) throws Exception {
        try (var s = Files.list(out)) {
            List<Path> dirs = s.filter(Files::isDirectory).toList();
            assertEquals(1, dirs.size(), "one run directory: " + dirs);
            return dirs.get(0);
        }
    }

    /** The complete checkpoint the stopped command printed, in its own run directory. */
    static Path printedCheckpoint(TrainValidationCliTest.Result r, Path run) {
        String prefix = "stopped on SIGTERM; checkpoint: ";
        Path c = Path.of(r.err().lines().filter(l -> l.startsWith(prefix)).findFirst().orElseThrow(() -> new AssertionError(r.all()))
                .substring(prefix.length()));
        assertEquals(run.resolve("checkpoints"), c.getParent());
        assertTrue(RunDirectory.isComplete(c), c + " is complete");
        return c;
    }

    /** The arguments of the resume command the stopped command printed (its own options with --resume RUN_DIR). */
    static String[] printedResume(TrainValidationCliTest.Result r, Path run) {
        String line = r.err().lines().filter(l -> l.startsWith("resume with: bin/compress train ")).findFirst()
                .orElseThrow(() -> new AssertionError(r.all()));
        assertTrue(line.endsWith(" --resume " + run), line);
        return line.substring("resume with: bin/compress ".length()).split(" ");
    }

    /** The k-NN lines the command printed. */
    static List<String> knn(TrainValidationCliTest.Result r) {
        return r.out().lines().dropWhile(l -> !l.startsWith("k-NN top-1")).toList();
    }

    /** The file holds bitwise the same tensors in both runs. */
    static void sameTensors(Path a, Path b, String name) {
        Map<String, Tensor> x = Safetensors.read(a.resolve("checkpoints").resolve(name)), y = Safetensors.read(b.resolve("checkpoints").resolve(name));
        assertEquals(x.keySet(), y.keySet(), name);
        for (String k : x.keySet()) {
            assertEquals(x.get(k).dtype(), y.get(k).dtype(), name + ": " + k);
            assertArrayEquals(x.get(k).shape(), y.get(k).shape(), name + ": " + k);
            if (x.get(k).dtype().isFloating()) assertArrayEquals(HostData.toFloats(x.get(k)), HostData.toFloats(y.get(k)), name + ": " + k);
        }
    }

    /** The plot is drawn over the whole run: byte for byte the uninterrupted run's (a plot of the last part alone would differ). */
    static void samePlot(Path a, Path b, String name) throws Exception {
        assertArrayEquals(Files.readAllBytes(a.resolve(name)), Files.readAllBytes(b.resolve(name)), name);
    }

    /** metrics.jsonl: the stage's records (step, loss bits) are the uninterrupted run's, each once, steps increasing. */
    static void sameHistory(Path a, Path b, String stage) throws Exception {
        List<List<Long>> x = history(a, stage), y = history(b, stage);
        assertFalse(x.isEmpty(), stage + " logged no step");
        System.out.println(stage + " steps logged: " + y.stream().map(r -> r.get(0)).toList());
        assertEquals(x, y, stage + ": the resumed run's records (step, loss bits) are the uninterrupted run's");
        for (int i = 1; i < y.size(); i++) assertTrue(y.get(i).get(0) > y.get(i - 1).get(0), stage + ": steps increase " + y);
    }

    private static List<List<Long>> history(Path run, String stage) throws Exception {
        List<List<Long>> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode r = JSON.readTree(line);
            if (stage.equals(r.path("stage").asText()) && r.has("loss") && r.has("step")) {
                out.add(List.of(r.get("step").asLong(), Double.doubleToLongBits(r.get("loss").asDouble())));
            }
        }
        return out;
    }
}
