// Data-parallel CompRess on the CPU with Gloo, as separate processes on loopback: world sizes 2 and 3 at the same
// global batch give the single-process result (losses, banks, weights, optimizer state), every rank ends with the
// same bits, and a rank that dies or hangs makes the others fail fast with an error naming it.
//
// Tolerance (stated): the model has no batch norm, so each sample's forward pass is the single-process one; what
// differs is only the order of the sums: the gradient is (1/W) sum_r (1/b) sum_{i in shard r} g_i against
// (1/B) sum_i g_i, and the loss mean likewise. That is float32 reassociation, ~1e-7 relative per step, which 8 SGD
// steps (lr 0.5, momentum 0.9) amplify. We allow |a - ref| <= 1e-6 + 1e-5 |ref| and print the measured maximum;
// the teeth: a single-process run at the local batch size (what training without the all-reduce and the gathers
// amounts to) is checked to be far outside this tolerance.
package org.compress.engine.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.io.Safetensors;
import org.compress.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MultiProcessTrainingTest {
    static final double ATOL = 1e-6, RTOL = 1e-5;
    static final int EPOCHS = 2, BATCH = 48;

    record Rank(Process process, Path log) {}

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static List<String> workerCommand(Path out, int epochs) {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                DistWorker.class.getName(), out.toString(), Integer.toString(epochs), Integer.toString(BATCH));
    }

    static Map<String, String> cleanEnv(Map<String, String> extra) {
        Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.keySet().removeIf(k -> k.startsWith("SLURM_") || k.startsWith("OMPI_") || k.equals("MASTER_ADDR"));
        env.putAll(extra);
        return env;
    }

    /** Starts WORLD ranks of DistWorker as separate JVMs on loopback. */
    static List<Rank> launch(Path out, int world, int epochs, Map<String, String> extraEnv) throws IOException {
        return launch(out, world, epochs, extraEnv, java.util.Set.of());
    }

    /** As launch, but the ranks in `absent` are never started (their slots hold null). */
    static List<Rank> launch(Path out, int world, int epochs, Map<String, String> extraEnv, java.util.Set<Integer> absent) throws IOException {
        Files.createDirectories(out);
        int port = freePort();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Rank> ranks = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            if (absent.contains(r)) {
                ranks.add(null);
                continue;
            }
            ProcessBuilder pb = new ProcessBuilder(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"), DistWorker.class.getName(),
                    out.toString(), Integer.toString(epochs), Integer.toString(BATCH));
            Map<String, String> env = pb.environment();
            env.keySet().removeIf(k -> k.startsWith("SLURM_") || k.startsWith("OMPI_") || k.equals("MASTER_ADDR"));
            env.put("RANK", Integer.toString(r));
            env.put("WORLD_SIZE", Integer.toString(world));
            env.put("LOCAL_RANK", Integer.toString(r));
            env.put("MASTER_ADDR", "127.0.0.1");
            env.put("MASTER_PORT", Integer.toString(port));
            env.putAll(extraEnv);
            Path log = out.resolve("log-rank-" + r + ".txt");
            pb.redirectErrorStream(true).redirectOutput(log.toFile());
            ranks.add(new Rank(pb.start(), log));
        }
        return ranks;
    }

    static String log(Rank r) throws IOException { return Files.readString(r.log()); }

    /** The worker's one-line failure message ("error: ..."), or "" when there is none. */
    static String errorLine(String log) {
        return log.lines().filter(l -> l.startsWith("error: ")).findFirst().orElse("");
    }

    /**
     * The exit code of r, waiting at most `seconds` on an idle machine, scaled by the machine's load per core when
     * it is busier (each rank is a JVM that starts, trains and compiles on CPUs other work also wants): a limit that
     * only catches a rank that never ends, never a slow one. Timing assertions measure elapsed time separately.
     */
    static int await(Rank r, long seconds) throws Exception {
        long limit = (long) (seconds * loadFactor());
        if (!r.process().waitFor(limit, TimeUnit.SECONDS)) {
            r.process().destroyForcibly().waitFor();
            throw new AssertionError("rank did not finish within " + limit + " s; its log:\n" + log(r));
        }
        return r.process().exitValue();
    }

    /** max(1, one-minute load average / cores). */
    static double loadFactor() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return Math.max(1.0, os.getSystemLoadAverage() / os.getAvailableProcessors());
    }

    static List<Double> losses(Path runDir) throws IOException {
        List<Double> out = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            Map<?, ?> r = json.readValue(line, Map.class);
            if (r.get("loss") != null) out.add(((Number) r.get("loss")).doubleValue());
        }
        return out;
    }

    /** Max |a - ref| / (ATOL + RTOL |ref|) over all entries: <= 1 passes. */
    static double toleranceUsed(float[] a, float[] ref) {
        assertEquals(ref.length, a.length);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            assertTrue(Float.isFinite(a[i]), "non-finite value at " + i);
            worst = Math.max(worst, Math.abs(a[i] - ref[i]) / (ATOL + RTOL * Math.abs(ref[i])));
        }
        return worst;
    }

    static double compareStates(Map<String, Tensor> a, Map<String, Tensor> ref, String what, boolean assertWithin) {
        Backend cpu = new CpuBackend();
        assertEquals(ref.keySet(), a.keySet(), what + ": the same keys");
        double worst = 0;
        String worstKey = null;
        for (String k : ref.keySet()) {
            if (k.equals("epoch") || k.equals("sgd.steps") || k.endsWith("pointer")) {
                assertArrayEquals(cpu.toFloatArray(ref.get(k)), cpu.toFloatArray(a.get(k)), what + ": " + k);
                continue;
            }
            double used = toleranceUsed(cpu.toFloatArray(a.get(k)), cpu.toFloatArray(ref.get(k)));
            if (used > worst) {
                worst = used;
                worstKey = k;
            }
        }
        System.out.printf("%s: worst %s at %.1f%% of the tolerance (atol %.0e, rtol %.0e)%n", what, worstKey, 100 * worst, ATOL, RTOL);
        if (assertWithin) assertTrue(worst <= 1, what + ": " + worstKey + " differs beyond the tolerance (" + 100 * worst + "% used)");
        return worst;
    }

    /** The single-process reference, in this JVM. */
    static Path reference(Path dir, int globalBatch) throws Exception {
        Path out = dir.resolve("single-" + globalBatch);
        try (Backend cpu = new CpuBackend(); DistributedContext single = DistributedContext.single(cpu)) {
            Safetensors.write(Files.createDirectories(out).resolve("final-rank-0.safetensors"),
                    trainReference(cpu, single, out, globalBatch));
        }
        return out;
    }

    private static Map<String, Tensor> trainReference(Backend cpu, DistributedContext single, Path out, int globalBatch) {
        return DistWorker.train(cpu, single, out, EPOCHS, globalBatch, null);
    }

    static void assertMatchesReference(Path ref, Path dist, int world) throws Exception {
        List<Double> refLoss = losses(ref.resolve("rank-0")), loss = losses(dist.resolve("rank-0"));
        assertEquals(EPOCHS * DistWorker.IMAGES / BATCH, refLoss.size(), "one loss per step");
        assertEquals(refLoss.size(), loss.size(), "the same number of steps");
        double worstLoss = 0;
        for (int i = 0; i < loss.size(); i++) {
            worstLoss = Math.max(worstLoss, Math.abs(loss.get(i) - refLoss.get(i)) / (ATOL + RTOL * Math.abs(refLoss.get(i))));
        }
        System.out.printf("world %d: losses %s vs %s, worst at %.1f%% of the tolerance%n", world, loss, refLoss, 100 * worstLoss);
        assertTrue(worstLoss <= 1, "world " + world + ": losses " + loss + " vs single-process " + refLoss);
        // rank 0's last checkpoint: student, momentum student, SGD momentum buffers and both banks
        String ck = "checkpoints/compress-epoch-" + (EPOCHS - 1) + ".safetensors";
        compareStates(Safetensors.read(dist.resolve("rank-0").resolve(ck)), Safetensors.read(ref.resolve("rank-0").resolve(ck)),
                "world " + world + " checkpoint", true);
        // every rank ends with the same bits (the ring all-reduce gives every rank the same sums)
        Map<String, Tensor> rank0 = Safetensors.read(dist.resolve("final-rank-0.safetensors"));
        Backend cpu = new CpuBackend();
        for (int r = 1; r < world; r++) {
            Map<String, Tensor> other = Safetensors.read(dist.resolve("final-rank-" + r + ".safetensors"));
            for (String k : rank0.keySet()) {
                assertArrayEquals(cpu.toFloatArray(rank0.get(k)), cpu.toFloatArray(other.get(k)), "rank " + r + " vs rank 0: " + k);
            }
            assertTrue(Files.notExists(dist.resolve("rank-" + r).resolve(ck)), "only rank 0 writes checkpoints");
        }
    }

    @Test void worldSizesTwoAndThreeGiveTheSingleProcessResult(@TempDir Path dir) throws Exception {
        Path ref = reference(dir, BATCH);
        // world size 2 through `compress launch`'s launcher, 3 as separately started processes
        Path two = dir.resolve("world-2");
        Files.createDirectories(two);
        int code = LocalLauncher.run(new LocalLauncher.Options(2, 1, 0, "127.0.0.1", freePort(), java.time.Duration.ofSeconds(30)),
                workerCommand(two, EPOCHS), cleanEnv(Map.of()), System.err);
        assertEquals(0, code, "launcher exit code");
        assertMatchesReference(ref, two, 2);
        Path three = dir.resolve("world-3");
        List<Rank> ranks = launch(three, 3, EPOCHS, Map.of());
        for (Rank r : ranks) assertEquals(0, await(r, 180), "exit code; log:\n" + log(r));
        assertMatchesReference(ref, three, 3);
        // resuming the 3-rank run's epoch-0 checkpoint on 2 ranks re-shards the remaining epoch: the single-process result
        Path resumed = dir.resolve("resumed-on-2");
        List<String> cmd = new ArrayList<>(workerCommand(resumed, EPOCHS));
        cmd.add(three.resolve("rank-0/checkpoints/compress-epoch-0.safetensors").toString());
        Files.createDirectories(resumed);
        assertEquals(0, LocalLauncher.run(new LocalLauncher.Options(2, 1, 0, "127.0.0.1", freePort(), java.time.Duration.ofSeconds(30)), cmd,
                cleanEnv(Map.of()), System.err), "resumed job's exit code");
        String ck = "checkpoints/compress-epoch-" + (EPOCHS - 1) + ".safetensors";
        compareStates(Safetensors.read(resumed.resolve("rank-0").resolve(ck)), Safetensors.read(ref.resolve("rank-0").resolve(ck)),
                "3 ranks, resumed on 2", true);
        // teeth: ranks training alone on their local batch (no all-reduce, no gathers) would match this, not the reference
        Path local = reference(dir, BATCH / 2);
        double used = compareStates(Safetensors.read(local.resolve("final-rank-0.safetensors")),
                Safetensors.read(dir.resolve("world-2/final-rank-0.safetensors")), "local-batch run vs world 2", false);
        assertTrue(used > 100, "the tolerance must tell the global batch from the local one: only " + used * 100 + "% used");
    }

    @Test void aKilledRankMakesTheOthersFailFastNamingIt(@TempDir Path dir) throws Exception {
        // rank 2 halts (as kill -9) after reading 40 images, i.e. in its third step of 16; the others wait at most 60 s
        List<Rank> ranks = launch(dir, 3, EPOCHS, Map.of("COMPRESS_TEST_FAULT", "halt:2:40", "COMPRESS_DIST_TIMEOUT", "60"));
        assertEquals(137, await(ranks.get(2), 120));
        long start = System.nanoTime();
        for (int r = 0; r < 2; r++) {
            int code = await(ranks.get(r), 120);
            String log = log(ranks.get(r));
            assertEquals(1, code, "rank " + r + " must fail; log:\n" + log);
            assertTrue(log.contains("rank 2 exited or died"), "rank " + r + " names the dead rank:\n" + log);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("killed rank: the others stopped within %.1f s of its death (timeout 60 s)%n", seconds);
        assertTrue(seconds < 20, "failing fast, not waiting for the 60 s timeout: " + seconds + " s");
    }

    @Test void aKilledRankZeroTheStoreHostMakesTheOthersFailFastNamingIt(@TempDir Path dir) throws Exception {
        // rank 0 hosts the rendezvous store and halts (as kill -9) in its third step; the others wait at most 60 s
        List<Rank> ranks = launch(dir, 3, EPOCHS, Map.of("COMPRESS_TEST_FAULT", "halt:0:40", "COMPRESS_DIST_TIMEOUT", "60"));
        assertEquals(137, await(ranks.get(0), 120));
        long start = System.nanoTime();
        for (int r = 1; r < 3; r++) {
            int code = await(ranks.get(r), 120);
            String log = log(ranks.get(r));
            assertEquals(1, code, "rank " + r + " must fail; log:\n" + log);
            String error = errorLine(log);
            assertTrue(error.contains("rank 0") && (error.contains("died") || error.contains("unreachable")),
                    "rank " + r + " names rank 0 as gone:\n" + log);
            System.out.println("rank " + r + ": " + error);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("killed rank 0: the others stopped within %.1f s of its death (timeout 60 s)%n", seconds);
        assertTrue(seconds < 20, "failing fast, not waiting for the 60 s timeout: " + seconds + " s");
    }

    @Test void aRankThatNeverJoinsIsNamedWithinTheTimeout(@TempDir Path dir) throws Exception {
        // world size 3, but rank 2 never starts (it died before the rendezvous): ranks 0 and 1 give up after the timeout
        List<Rank> all = launch(dir, 3, EPOCHS, Map.of("COMPRESS_DIST_TIMEOUT", "8"), java.util.Set.of(2));
        long start = System.nanoTime();
        for (int r = 0; r < 2; r++) {
            int code = await(all.get(r), 120);
            String log = log(all.get(r));
            assertEquals(1, code, "rank " + r + " must fail; log:\n" + log);
            assertTrue(errorLine(log).contains("rank 2 never joined"), "rank " + r + " names the missing rank 2:\n" + log);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("missing rank: the others stopped after %.1f s (timeout 8 s)%n", seconds);
        assertTrue(seconds < 8 + 30 * loadFactor(), "stopped by the timeout, not by the test's limit: " + seconds + " s");
    }

    @Test void aRankKilledDuringTheRendezvousIsNamed(@TempDir Path dir) throws Exception {
        // rank 1 halts (as kill -9) as soon as it has joined the store, before the collectives are up
        List<Rank> ranks = launch(dir, 2, EPOCHS, Map.of("COMPRESS_TEST_FAULT", "halt-rendezvous:1", "COMPRESS_DIST_TIMEOUT", "30"));
        assertEquals(137, await(ranks.get(1), 120));
        long start = System.nanoTime();
        int code = await(ranks.get(0), 120);
        String log = log(ranks.get(0));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(1, code, "rank 0 must fail; log:\n" + log);
        assertTrue(errorLine(log).contains("rank 1 exited or died"), "rank 0 names rank 1:\n" + log);
        assertTrue(seconds < 15, "failing fast, not waiting for the 30 s timeout: " + seconds + " s");
        System.out.printf("rank killed in the rendezvous: rank 0 stopped %.1f s after its death (timeout 30 s)%n", seconds);
    }

    @Test void withoutALoadableGlooBridgeTwoRanksFailSayingSo(@TempDir Path dir) throws Exception {
        // one process never loads the bridge (every single-process test); two need it
        Path notALibrary = Files.writeString(dir.resolve("libcompress_gloo.so"), "not a shared object");
        List<Rank> ranks = launch(dir, 2, 1, Map.of("COMPRESS_GLOO_LIBRARY", notALibrary.toString(), "COMPRESS_DIST_TIMEOUT", "20"));
        for (Rank r : ranks) {
            assertEquals(1, await(r, 60));
            String log = log(r);
            assertTrue(log.contains("cannot load the Gloo bridge") && log.contains("libgloo"), log);
        }
    }

    @Test void theLauncherPropagatesARanksFailure(@TempDir Path dir) throws Exception {
        long start = System.nanoTime();
        int code = LocalLauncher.run(new LocalLauncher.Options(2, 1, 0, "127.0.0.1", freePort(), java.time.Duration.ofSeconds(30)),
                workerCommand(dir, EPOCHS), cleanEnv(Map.of("COMPRESS_TEST_FAULT", "halt:1:40", "COMPRESS_DIST_TIMEOUT", "60")), System.err);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(137, code, "the job's exit code is the first failure's");
        assertTrue(seconds < 60, "the launcher returned after " + seconds + " s");
    }

    @Test void aHungRankMakesTheOthersFailWithinTheTimeoutNamingIt(@TempDir Path dir) throws Exception {
        List<Rank> ranks = launch(dir, 2, EPOCHS, Map.of("COMPRESS_TEST_FAULT", "hang:1:40", "COMPRESS_DIST_TIMEOUT", "5"));
        try {
            long start = System.nanoTime();
            int code = await(ranks.get(0), 120);
            double seconds = (System.nanoTime() - start) / 1e9;
            String log = log(ranks.get(0));
            assertEquals(1, code, "rank 0 must fail; log:\n" + log);
            assertTrue(log.contains("rank 1 did not respond"), "rank 0 names the hung rank:\n" + log);
            System.out.printf("hung rank: rank 0 stopped after %.1f s (timeout 5 s)%n", seconds);
            assertTrue(ranks.get(1).process().isAlive(), "the hung rank is still there: the error came from the timeout");
        } finally {
            ranks.get(1).process().destroyForcibly().waitFor();
        }
    }
}
