// `compress launch`'s engine (torchrun's role on one machine): starts one process per local rank with RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, and propagates failure: when a rank
// exits non-zero, the others get a grace period to fail on their own (they name the rank that stopped), then are
// killed; the first failure's exit code is returned. Ctrl-C or SIGTERM to the launcher (JVM shutdown) passes SIGTERM
// on to every rank (they checkpoint the same step and exit 143) and kills what still runs after the grace period.
package org.compress.engine.dist;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

public final class LocalLauncher {
    public record Options(int nprocPerNode, int nnodes, int nodeRank, String masterAddr, int masterPort, Duration grace) {
        public Options {
            if (nprocPerNode < 1) throw new IllegalArgumentException("--nproc-per-node: expected >= 1, found " + nprocPerNode);
            if (nnodes < 1 || nodeRank < 0 || nodeRank >= nnodes) {
                throw new IllegalArgumentException("--nnodes/--node-rank: expected 0 <= node rank < nodes, found " + nodeRank + " of " + nnodes);
            }
        }
    }

    private LocalLauncher() {}

    /**
     * The launcher itself is stopped (Ctrl-C, SIGTERM): SIGTERM to every rank, so that they agree on a step, checkpoint
     * it and exit (143); whatever still runs after the grace period is killed.
     */
    static void stopAll(List<Process> procs, Duration grace) {
        List<Process> all = List.copyOf(procs);
        all.forEach(Process::destroy);
        long deadline = System.nanoTime() + grace.toNanos();
        try {
            for (Process p : all) p.waitFor(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        all.forEach(Process::destroyForcibly);
    }

    /** Runs {@code command} (argv, one per local rank, with the rank's environment added) and returns the job's exit code. */
    public static int run(Options o, List<String> command, Map<String, String> baseEnv, PrintStream err) throws IOException, InterruptedException {
        int world = o.nnodes() * o.nprocPerNode();
        List<Process> procs = new ArrayList<>();
        Thread killer = new Thread(() -> stopAll(procs, o.grace()), "compress-launch-cleanup");
        Runtime.getRuntime().addShutdownHook(killer);
        try {
            for (int local = 0; local < o.nprocPerNode(); local++) {
                ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
                Map<String, String> env = pb.environment();
                env.clear();
                env.putAll(baseEnv);
                env.put("RANK", Integer.toString(o.nodeRank() * o.nprocPerNode() + local));
                env.put("WORLD_SIZE", Integer.toString(world));
                env.put("LOCAL_RANK", Integer.toString(local));
                env.put("LOCAL_WORLD_SIZE", Integer.toString(o.nprocPerNode()));
                env.put("MASTER_ADDR", o.masterAddr());
                env.put("MASTER_PORT", Integer.toString(o.masterPort()));
                procs.add(pb.start());
            }
            // the time each process ended, so that of two failures seen in the same poll the earlier one counts (a rank that
            // dies makes the others fail within milliseconds: the first failure is the cause, the others are its effect)
            java.util.concurrent.atomic.AtomicLongArray exitedAt = new java.util.concurrent.atomic.AtomicLongArray(procs.size());
            for (int i = 0; i < procs.size(); i++) {
                int index = i;
                procs.get(i).onExit().thenRun(() -> exitedAt.compareAndSet(index, 0, System.nanoTime()));
            }
            int firstFailure = 0;
            int failedRank = -1;
            long graceDeadline = Long.MAX_VALUE;
            while (true) {
                boolean allDone = true;
                int earliest = -1;
                for (int i = 0; i < procs.size(); i++) {
                    Process p = procs.get(i);
                    if (p.isAlive()) {
                        allDone = false;
                        continue;
                    }
                    exitedAt.compareAndSet(i, 0, System.nanoTime());   // ended before its exit callback ran
                    if (p.exitValue() != 0 && failedRank < 0 && (earliest < 0 || exitedAt.get(i) < exitedAt.get(earliest))) earliest = i;
                }
                if (earliest >= 0) {
                    failedRank = o.nodeRank() * o.nprocPerNode() + earliest;
                    firstFailure = procs.get(earliest).exitValue();
                    graceDeadline = System.nanoTime() + o.grace().toNanos();
                    err.printf("launch: rank %d exited with code %d; the other ranks get %d s to stop%n", failedRank, firstFailure,
                            o.grace().toSeconds());
                }
                if (allDone) break;
                if (System.nanoTime() > graceDeadline) {
                    for (int i = 0; i < procs.size(); i++) {
                        if (procs.get(i).isAlive()) {
                            err.printf("launch: killing rank %d (still running %d s after rank %d failed)%n", o.nodeRank() * o.nprocPerNode() + i,
                                    o.grace().toSeconds(), failedRank);
                            procs.get(i).destroyForcibly();
                        }
                    }
                    for (Process p : procs) p.waitFor();
                    break;
                }
                Thread.sleep(100);
            }
            return firstFailure;
        } finally {
            procs.forEach(Process::destroyForcibly);
            try {
                Runtime.getRuntime().removeShutdownHook(killer);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running already
            }
        }
    }
}
