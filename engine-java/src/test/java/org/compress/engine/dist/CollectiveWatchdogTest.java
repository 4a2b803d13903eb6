// CollectiveWatchdog's decisions, with fake probes and hooks in place of CUDA events and NCCL (whose bindings in
// NcclCollectives need a GPU): a collective that never completes fails after the timeout and aborts the
// communicator once; a dead rank or an asynchronous error fails at once, naming it; completed collectives are
// dropped and a healthy run never fails; the failure is thrown by the next collective.
package org.compress.engine.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class CollectiveWatchdogTest {
    static class FakeHooks implements CollectiveWatchdog.Hooks {
        final AtomicReference<String> asyncError = new AtomicReference<>();
        final AtomicReference<Set<Integer>> dead = new AtomicReference<>(Set.of());
        final AtomicInteger aborts = new AtomicInteger();

        @Override public String asyncError() { return asyncError.get(); }

        @Override public Set<Integer> deadRanks() { return dead.get(); }

        @Override public void abort() { aborts.incrementAndGet(); }
    }

    static String awaitFailure(CollectiveWatchdog w, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (w.failure() == null && System.nanoTime() < deadline) Thread.sleep(5);
        return w.failure();
    }

    @Test void aCollectiveThatNeverCompletesFailsAfterTheTimeoutAndAbortsOnce() throws Exception {
        FakeHooks hooks = new FakeHooks();
        try (CollectiveWatchdog w = new CollectiveWatchdog("rank 1 (nccl)", Duration.ofMillis(300), 10, hooks)) {
            long start = System.nanoTime();
            w.started("ncclAllReduce", () -> false);
            String f = awaitFailure(w, 2000);   // the timeout plus a poll, with room for a loaded machine
            double ms = (System.nanoTime() - start) / 1e6;
            assertTrue(f != null && f.startsWith("rank 1 (nccl): ncclAllReduce #1 did not complete within"), String.valueOf(f));
            assertTrue(ms >= 300, "not before the timeout: " + ms + " ms");
            Thread.sleep(50);
            assertEquals(1, hooks.aborts.get(), "the communicator is aborted exactly once");
            CollectiveException e = assertThrows(CollectiveException.class, () -> w.started("ncclBroadcast", () -> true));
            assertEquals(f, e.getMessage(), "the next collective throws the recorded failure");
        }
    }

    @Test void aDeadRankFailsAtOnceNamingItAndThePendingCollective() throws Exception {
        FakeHooks hooks = new FakeHooks();
        try (CollectiveWatchdog w = new CollectiveWatchdog("rank 0 (nccl)", Duration.ofSeconds(60), 10, hooks)) {
            w.started("ncclAllGather", () -> false);
            hooks.dead.set(Set.of(2));
            String f = awaitFailure(w, 2000);
            assertEquals("rank 0 (nccl): rank 2 exited or died while ncclAllGather #1 was pending", f);
            assertEquals(1, hooks.aborts.get());
            assertThrows(CollectiveException.class, w::check);
        }
    }

    @Test void anAsynchronousErrorFailsAtOnceNamingIt() throws Exception {
        FakeHooks hooks = new FakeHooks();
        try (CollectiveWatchdog w = new CollectiveWatchdog("rank 3 (nccl)", Duration.ofSeconds(60), 10, hooks)) {
            w.started("ncclAllReduce", () -> false);
            hooks.asyncError.set("remote process exited or there was a network error (asynchronous NCCL error 6)");
            String f = awaitFailure(w, 2000);
            assertTrue(f != null && f.contains("ncclAllReduce #1 failed: remote process exited"), String.valueOf(f));
            assertEquals(1, hooks.aborts.get());
        }
    }

    @Test void completedCollectivesAreDroppedAndAHealthyRunNeverFails() throws Exception {
        FakeHooks hooks = new FakeHooks();
        try (CollectiveWatchdog w = new CollectiveWatchdog("rank 0 (nccl)", Duration.ofMillis(200), 5, hooks)) {
            for (int i = 0; i < 50; i++) {
                AtomicBoolean done = new AtomicBoolean();
                w.started("ncclAllReduce", done::get);
                Thread.sleep(2);
                done.set(true);   // completes long before the timeout
            }
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (w.pendingCount() > 0 && System.nanoTime() < deadline) Thread.sleep(5);
            assertEquals(0, w.pendingCount(), "completed collectives leave the watch list");
            Thread.sleep(400);   // twice the timeout with nothing pending
            assertNull(w.failure());
            assertEquals(0, hooks.aborts.get());
            w.check();
        }
    }

    @Test void aStoreThatBecomesUnreachableIsAFailureToo() throws Exception {
        FakeHooks hooks = new FakeHooks() {
            @Override public Set<Integer> deadRanks() {
                throw new DistException("store: rank 0's store at 127.0.0.1:29500 is unreachable (list dead ranks: EOF); rank 0 died or closed the job");
            }
        };
        try (CollectiveWatchdog w = new CollectiveWatchdog("rank 1 (nccl)", Duration.ofSeconds(60), 10, hooks)) {
            String f = awaitFailure(w, 2000);
            assertTrue(f != null && f.contains("rank 0 died"), String.valueOf(f));
            assertEquals(1, hooks.aborts.get());
        }
    }
}
