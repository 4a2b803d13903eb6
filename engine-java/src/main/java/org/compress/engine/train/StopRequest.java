// A request to stop training cleanly (SIGINT / SIGTERM, or a caller): the trainers poll it after every step, write a
// complete checkpoint and throw TrainingInterruptedException. Set from a signal handler: only a volatile write.
package org.compress.engine.train;

public class StopRequest {
    private volatile String reason;

    /** Asks the running trainer to stop after its current step; reason e.g. "SIGINT". The first reason is kept. */
    public void request(String why) {
        if (reason == null) reason = why;
    }

    /** Whether to stop now; polled once after every training step (a subclass may decide, e.g. by a step budget). */
    public boolean requested() { return reason != null; }

    /** The first reason given, or null. */
    public String reason() { return reason; }

    /** Throws TrainingInterruptedException if a stop was requested (used between stages, where there is nothing to save). */
    void checkBetweenStages(RunDirectory run, java.nio.file.Path lastCheckpoint) {
        if (reason != null) throw new TrainingInterruptedException(reason, run.root(), lastCheckpoint);
    }
}
