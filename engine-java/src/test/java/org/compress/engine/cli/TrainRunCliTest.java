// `compress train` never leaves a lie behind: a diverging run (a huge learning rate, a tiny temperature) stops
// with the epoch, step, tensors and last good checkpoint and writes no non-finite checkpoint; a damaged or
// non-finite checkpoint is refused on resume; a resume with other settings lists the settings that differ; two
// runs started at once never share a directory.
package org.compress.engine.cli;

import static org.compress.engine.cli.TrainValidationCliTest.run;
import static org.compress.engine.cli.TrainValidationCliTest.tiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.compress.engine.backend.HostData;
import org.compress.engine.io.Safetensors;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.train.RunDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainRunCliTest {
    @TempDir Path dir;

    private static TrainValidationCliTest.Result train(List<String> args) { return run(args.toArray(String[]::new)); }

    private static Path onlyRunDirectory(Path out) throws Exception {
        try (var s = Files.list(out)) {
            List<Path> dirs = s.filter(Files::isDirectory).toList();
            assertEquals(1, dirs.size(), "one run directory: " + dirs);
            return dirs.get(0);
        }
    }

    /** Every checkpoint with a completion marker holds only finite values. */
    private static void completeCheckpointsAreFinite(Path run) throws Exception {
        try (var s = Files.list(run.resolve("checkpoints"))) {
            for (Path f : s.filter(f -> f.toString().endsWith(".safetensors") && RunDirectory.isComplete(f)).toList()) {
                Safetensors.read(f).forEach((k, t) -> {
                    if (!t.dtype().isFloating()) return;
                    for (float v : HostData.toFloats(t)) assertTrue(Float.isFinite(v), f.getFileName() + " is marked complete but " + k + " holds " + v);
                });
            }
        }
    }

    @Test void divergingRunsStopNamingEpochStepTensorsAndTheLastGoodCheckpoint() throws Exception {
        // a huge learning rate: the weights blow up within the first epoch
        Path outLr = dir.resolve("lr");
        var lr = train(tiny(outLr, "--lr", "1e6", "--epochs", "3"));
        assertEquals(1, lr.rc(), lr.all());
        String m = lr.err().strip();
        assertTrue(m.matches("error: compress-2q diverged at epoch \\d+, step \\d+: .*; last good checkpoint: .*; try a lower --lr, a higher"
                + " --tau, or --bank-dtype F32 if BF16 banks overflowed"), m);
        Path runLr = onlyRunDirectory(outLr);
        completeCheckpointsAreFinite(runLr);
        assertFalse(Files.exists(runLr.resolve("summary.json")));

        // a tiny temperature: the loss stays finite (ln K) while the weights become NaN; caught before the epoch's checkpoint
        Path outTau = dir.resolve("tau");
        var tau = train(tiny(outTau, "--tau", "1e-30", "--epochs", "3"));
        assertEquals(1, tau.rc(), tau.all());
        String t = tau.err().strip();
        assertTrue(t.contains("compress-2q diverged at epoch 0, step 4: non-finite values in ") && t.contains("last good checkpoint: none"), t);
        assertTrue(t.matches(".*non-finite values in \\d+ tensors \\(student\\..*"), "names the tensors: " + t);
        Path runTau = onlyRunDirectory(outTau);
        completeCheckpointsAreFinite(runTau);
        assertFalse(Files.exists(runTau.resolve("checkpoints/compress-epoch-0.safetensors")), "no checkpoint of the diverged epoch");
    }

    @Test void aRunThatDivergesAfterACheckpointNamesThatCheckpointAsTheLastGoodOne() throws Exception {
        // --lr 2e5 (on these settings, between 1e5 and 4e5 all do the same): epoch 0 stays finite and is checkpointed,
        // epoch 1 leaves non-finite BatchNorm statistics, caught by the state check before its checkpoint
        Path out = dir.resolve("late");
        var r = train(tiny(out, "--lr", "2e5", "--epochs", "3"));
        assertEquals(1, r.rc(), r.all());
        Path run = onlyRunDirectory(out);
        Path good = run.resolve("checkpoints/compress-epoch-0.safetensors");
        String m = r.err().strip();
        assertTrue(m.startsWith("error: compress-2q diverged at epoch 1, step ") && m.contains(": non-finite values in "), m);
        assertTrue(m.contains("; last good checkpoint: " + good + "; try a lower --lr"), "names the epoch-0 checkpoint: " + m);
        assertTrue(!m.contains("\n") && m.length() <= 320, "one line of about 300 characters (here " + m.length() + "): " + m);
        assertTrue(RunDirectory.isComplete(good));
        assertFalse(Files.exists(run.resolve("checkpoints/compress-epoch-1.safetensors")), "no checkpoint of the diverged epoch");
        completeCheckpointsAreFinite(run);
    }

    @Test void resumeRefusesDamagedNonFiniteIncompleteAndMismatchedCheckpoints() throws Exception {
        Path out = dir.resolve("runs");
        List<String> args = tiny(out, "--epochs", "2");
        var first = train(args);
        assertEquals(0, first.rc(), first.all());
        Path run = onlyRunDirectory(out);
        Path epoch0 = run.resolve("checkpoints/compress-epoch-0.safetensors");

        // other settings: each differing key is named
        List<String> other = new ArrayList<>(args);
        set(other, "--batch-size", "16");
        set(other, "--seed", "3");
        set(other, "--method", "1q");
        other.addAll(List.of("--resume", epoch0.toString()));
        String differ = refusedResume(other);
        for (String key : new String[] {"compress.batchSize", "moco.batchSize", "seed", "compress.method"}) {
            assertTrue(differ.contains(key), key + " listed: " + differ);
        }
        List<String> other2 = new ArrayList<>(args);
        set(other2, "--train-images", "96");
        set(other2, "--student-width", "8");
        set(other2, "--queue", "32");
        other2.addAll(List.of("--resume", run.toString()));
        String differ2 = refusedResume(other2);
        for (String key : new String[] {"data.trainSubset", "student.baseWidth", "compress.queueSize", "moco.queueSize"}) {
            assertTrue(differ2.contains(key), key + " listed: " + differ2);
        }

        // other architectures and other data (the same files under another folder are other data too)
        Path sameFiles = Files.createSymbolicLink(dir.resolve("fashion-mnist-elsewhere"), Path.of("/usr/share/datasets/fashion-mnist"));
        List<String> other3 = new ArrayList<>(args);
        set(other3, "--student-arch", "resnet34");
        set(other3, "--teacher-arch", "resnet34");
        set(other3, "--data-root", sameFiles.toString());
        other3.addAll(List.of("--resume", run.toString()));
        String differ3 = refusedResume(other3);
        for (String key : new String[] {"student.arch", "teacher.arch", "data.root"}) {
            assertTrue(differ3.contains(key), key + " listed: " + differ3);
        }
        Path folder = dir.resolve("images");
        for (String split : new String[] {"train", "val"}) {
            for (String label : new String[] {"cat", "dog"}) {
                for (int i = 0; i < (split.equals("train") ? 16 : 2); i++) image(folder.resolve(split).resolve(label).resolve(i + ".png"));
            }
        }
        List<String> other4 = new ArrayList<>(args);
        for (String[] o : new String[][] {{"--dataset", "imagefolder"}, {"--data-root", folder.toString()}, {"--image-size", "32"},
                {"--train-images", "0"}, {"--test-images", "0"}}) set(other4, o[0], o[1]);
        other4.addAll(List.of("--resume", run.toString()));
        String differ4 = refusedResume(other4);
        for (String key : new String[] {"data.dataset", "data.root"}) assertTrue(differ4.contains(key), key + " listed: " + differ4);

        // bytes flipped inside a tensor, completion marker present
        Map<String, Tensor> state = Safetensors.read(epoch0);
        byte[] bytes = Files.readAllBytes(epoch0);
        bytes[bytes.length - 8] ^= (byte) 0xff;
        Path flipped = copyCheckpoint(run, "compress-epoch-7.safetensors", bytes);
        assertTrue(refusedResume(withResume(args, flipped)).contains("is damaged: its bytes have checksum"));

        // NaN written with a valid checksum (e.g. by an older engine): refused as non-finite
        Map<String, Tensor> nan = new LinkedHashMap<>(state);
        Tensor w = nan.get("student.conv1.weight");
        w.cpuStorage().f32()[0] = Float.NaN;
        Path nanFile = run.resolve("checkpoints/compress-epoch-8.safetensors");
        Safetensors.write(nanFile, nan);
        Files.write(nanFile.resolveSibling(nanFile.getFileName() + ".done"), new byte[0]);
        String nanMessage = refusedResume(withResume(args, nanFile));
        assertTrue(nanMessage.contains(nanFile + " holds non-finite values in 1 tensors (student.conv1.weight)"), nanMessage);

        // a checkpoint without a tensor the student needs: one line naming the file and the key, not a NullPointerException
        Map<String, Tensor> lacking = new LinkedHashMap<>(Safetensors.read(epoch0));
        lacking.remove("student.layer1.0.conv1.weight");
        Path lackingFile = run.resolve("checkpoints/compress-epoch-9.safetensors");
        Safetensors.write(lackingFile, lacking);
        Files.write(lackingFile.resolveSibling(lackingFile.getFileName() + ".done"), new byte[0]);
        var r = train(withResume(args, lackingFile));
        assertEquals(1, r.rc(), r.all());
        String line = r.err().strip();
        assertTrue(!line.contains("\n") && line.length() <= 320, line);
        assertTrue(line.contains(lackingFile + " (student.*) does not match the model (strict loading): 1 missing")
                && line.contains("missing: layer1.0.conv1.weight"), line);
        // without a completion marker
        Files.delete(lackingFile.resolveSibling(lackingFile.getFileName() + ".done"));
        assertTrue(refusedResume(withResume(args, lackingFile)).contains("has no .done marker"));
    }

    private static void image(Path file) throws Exception {
        Files.createDirectories(file.getParent());
        javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_INT_RGB), "png", file.toFile());
    }

    private static Path copyCheckpoint(Path run, String name, byte[] bytes) throws Exception {
        Path f = Files.write(run.resolve("checkpoints").resolve(name), bytes);
        Files.write(f.resolveSibling(name + ".done"), new byte[0]);
        return f;
    }

    private static List<String> withResume(List<String> args, Path checkpoint) {
        List<String> a = new ArrayList<>(args);
        a.addAll(List.of("--resume", checkpoint.toString()));
        return a;
    }

    private static void set(List<String> args, String option, String value) {
        int at = args.indexOf(option);
        if (at < 0) args.addAll(List.of(option, value));
        else args.set(at + 1, value);
    }

    private static String refusedResume(List<String> args) {
        var r = train(args);
        assertEquals(1, r.rc(), r.all());
        String line = r.err().strip();
        assertTrue(line.startsWith("error: ") && !line.contains("\n") && line.length() <= 320, "one short line: " + line);
        return line;
    }

    @Test void twoRunsStartedTogetherNeverShareADirectory() throws Exception {
        Path out = dir.resolve("together");
        List<String> args = tiny(out, "--epochs", "0");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<TrainValidationCliTest.Result>> runs = new ArrayList<>();
            for (int i = 0; i < 2; i++) runs.add(pool.submit((Callable<TrainValidationCliTest.Result>) () -> train(args)));
            for (var f : runs) assertEquals(0, f.get().rc(), f.get().all());
        } finally {
            pool.shutdown();
        }
        List<Path> dirs;
        try (var s = Files.list(out)) {
            dirs = s.filter(Files::isDirectory).sorted().toList();
        }
        assertEquals(2, dirs.size(), "two runs, two directories: " + dirs);
        assertNotEquals(dirs.get(0), dirs.get(1));
        for (Path d : dirs) {
            long evals = Files.readAllLines(d.resolve("metrics.jsonl")).stream().filter(l -> l.contains("\"stage\":\"eval\"")).count();
            assertEquals(6, evals, d + ": its own 3 representations x 2 k, nothing interleaved from the other run");
        }
        List<String> csv = Files.readAllLines(out.resolve("summary.csv"));
        assertEquals(3, csv.size(), "summary.csv: a header and one row per run, neither run's row lost: " + csv);
        try (var s = Files.list(out)) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList(),
                    "no temporary left behind");
        }
    }
}
