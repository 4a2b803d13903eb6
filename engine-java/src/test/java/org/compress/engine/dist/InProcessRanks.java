// Runs W ranks as threads of this JVM (each with its own TcpStore connection and Gloo context on loopback), for
// fast tests of the collectives and of the rank-level logic; the multi-process tests cover separate processes.
package org.compress.engine.dist;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;

final class InProcessRanks {
    interface RankBody<T> {
        T run(DistributedContext dist, Backend backend) throws Exception;
    }

    private InProcessRanks() {}

    static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static DistEnv env(int rank, int world, int port, int timeoutSeconds) {
        return new DistEnv(rank, world, rank, world, "127.0.0.1", port, null, Duration.ofSeconds(timeoutSeconds), "", "test threads", false);
    }

    /** Runs body on every rank; returns the results in rank order (the first failure is rethrown, wrapped). */
    static <T> List<T> run(int world, RankBody<T> body) throws Exception {
        int port = freePort();
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                int rank = r;
                futures.add(pool.submit(() -> {
                    try (Backend cpu = new CpuBackend(); DistributedContext dist = DistributedContext.init(env(rank, world, port, 20), cpu)) {
                        T out = body.run(dist, cpu);
                        dist.finish();
                        return out;
                    }
                }));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) out.add(f.get(120, TimeUnit.SECONDS));
            return out;
        } finally {
            pool.shutdownNow();
        }
    }
}
