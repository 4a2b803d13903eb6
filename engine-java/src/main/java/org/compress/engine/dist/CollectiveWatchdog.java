// The watchdog of collectives that run asynchronously on a device stream (NCCL), as torch's ProcessGroupNCCL has:
// a collective queued on the stream returns at once, and a peer that died or hangs would leave the stream's next
// synchronisation blocked forever. Each queued collective is registered with a completion probe (NcclCollectives:
// a CUDA event recorded after it); a daemon thread looks, every poll interval, at
//  - the oldest pending collective: completed -> dropped; pending for longer than the timeout -> failure;
//  - the communicator's asynchronous error (ncclCommGetAsyncError: a peer's connection closed, a remote error);
//  - the rendezvous store's dead ranks (a rank whose connection dropped without saying goodbye).
// On the first failure it records one message naming the collective, the ranks and the timeout, and aborts the
// communicator (ncclCommAbort), which ends the blocked NCCL kernels, so the waiting synchronisation returns; the
// next collective, or check(), then throws CollectiveException with that message. The logic is tested with
// fakes (CollectiveWatchdogTest); its NCCL and CUDA hooks have not run on a GPU.
package org.compress.engine.dist;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Set;

final class CollectiveWatchdog implements AutoCloseable {
    /** Whether one queued collective has completed on the device (never blocks). */
    interface Probe {
        boolean done();
    }

    /** What the watchdog watches and how it stops the communicator. */
    interface Hooks {
        /** The communicator's asynchronous error, or null while there is none. */
        String asyncError();

        /** Ranks known to have died (the store's view); empty while there are none. */
        Set<Integer> deadRanks();

        /** Makes every pending and future collective of the communicator return (ncclCommAbort). */
        void abort();
    }

    private record Pending(long seq, String name, long startNanos, Probe probe) {}

    private final String who;
    private final Duration timeout;
    private final long pollMillis;
    private final Hooks hooks;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private final Thread thread;
    private long seq;
    private volatile String failure;
    private volatile boolean closing;

    CollectiveWatchdog(String who, Duration timeout, long pollMillis, Hooks hooks) {
        this.who = who;
        this.timeout = timeout;
        this.pollMillis = pollMillis;
        this.hooks = hooks;
        this.thread = new Thread(this::watch, "compress-collective-watchdog");
        thread.setDaemon(true);
        thread.start();
    }

    /** Registers a collective just queued; throws when an earlier one has failed. */
    synchronized void started(String name, Probe probe) {
        check();
        pending.addLast(new Pending(++seq, name, System.nanoTime(), probe));
    }

    /** Throws the recorded failure, if any. */
    void check() {
        String f = failure;
        if (f != null) throw new CollectiveException(f);
    }

    /** The recorded failure, or null. */
    String failure() { return failure; }

    synchronized int pendingCount() { return pending.size(); }

    private void watch() {
        while (!closing && failure == null) {
            try {
                String f = inspect();
                if (f != null) {
                    failure = who + ": " + f;
                    hooks.abort();
                    return;
                }
                Thread.sleep(pollMillis);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // a store that became unreachable means rank 0 is gone: that is a failure too
                failure = who + ": " + e.getMessage();
                hooks.abort();
                return;
            }
        }
    }

    /** One look: the failure it found, or null. */
    private String inspect() {
        Pending oldest;
        synchronized (this) {
            while (!pending.isEmpty() && pending.peekFirst().probe().done()) pending.removeFirst();
            oldest = pending.peekFirst();
        }
        String async = hooks.asyncError();
        if (async != null) {
            return (oldest == null ? "the communicator" : oldest.name() + " #" + oldest.seq()) + " failed: " + async + dead();
        }
        Set<Integer> dead = hooks.deadRanks();
        if (!dead.isEmpty()) {
            return (dead.size() == 1 ? "rank " + dead.iterator().next() : "ranks " + dead) + " exited or died"
                    + (oldest == null ? "" : " while " + oldest.name() + " #" + oldest.seq() + " was pending");
        }
        if (oldest != null && System.nanoTime() - oldest.startNanos() > timeout.toNanos()) {
            return oldest.name() + " #" + oldest.seq() + " did not complete within " + timeout.toSeconds()
                    + " s (COMPRESS_DIST_TIMEOUT): a rank hangs or stopped calling collectives";
        }
        return null;
    }

    private String dead() {
        Set<Integer> dead = hooks.deadRanks();
        return dead.isEmpty() ? "" : " (dead: ranks " + dead + ")";
    }

    @Override public void close() {
        closing = true;
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
