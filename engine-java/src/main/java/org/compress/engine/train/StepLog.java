// Step bookkeeping shared by the trainers: images/s, the share of time spent waiting for data, a metrics record
// every `every` steps (reading the loss from the device only then, since that read synchronises), and the
// progress bar on a terminal (Progress; its mode comes from the run directory).
package org.compress.engine.train;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;

final class StepLog implements AutoCloseable {
    private final String stage;
    private final RunDirectory run;
    private final Logger log;
    private final int every;
    private long step;
    private long images;
    private long windowStart = System.nanoTime();
    private long windowImages;
    private long windowWaitNanos;
    private Progress progress;

    StepLog(String stage, RunDirectory run, Logger log, int every) { this(stage, run, log, every, 0); }

    /** firstStep: the steps already taken (a resumed stage), so step numbers in metrics.jsonl continue. */
    StepLog(String stage, RunDirectory run, Logger log, int every, long firstStep) {
        this.step = firstStep;
        this.stage = stage;
        this.run = run;
        this.log = log;
        this.every = Math.max(1, every);
    }

    /** The steps this stage will take from here (for the progress bar's ETA). */
    void expect(long totalSteps) {
        if (progress != null) progress.close();
        progress = Progress.open(run.progress(), stage, totalSteps);
    }

    /** Time the training loop spent blocked on its input (TrainingBatches reports it). */
    void dataWait(long nanos) { windowWaitNanos += nanos; }

    /** Counts a step of {@code batch} images; every `every` steps logs the loss (read through {@code loss}). */
    void step(int epoch, int batch, double lr, DoubleSupplier loss) {
        step++;
        images += batch;
        windowImages += batch;
        if (step % every != 0) {
            if (progress != null) progress.step(Double.NaN, 0, 0);
            return;
        }
        long now = System.nanoTime();
        double seconds = (now - windowStart) / 1e9;
        double value = loss.getAsDouble();
        if (!Double.isFinite(value)) {
            throw new TrainingDivergedException(stage, epoch, step, "the loss became " + value, java.util.List.of(), null);
        }
        double waitShare = Math.min(1, windowWaitNanos / 1e9 / seconds);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("stage", stage);
        r.put("epoch", epoch);
        r.put("step", step);
        r.put("loss", value);
        r.put("lr", lr);
        r.put("images_per_s", windowImages / seconds);
        r.put("data_wait_share", waitShare);
        run.log(r);
        if (progress != null) progress.step(value, windowImages / seconds, waitShare);
        if (progress == null || !progress.drawing()) {
            log.info(String.format(Locale.ROOT, "%s epoch %d step %d: loss %.4f, lr %.4g, %.0f img/s, data wait %.0f%%", stage, epoch, step,
                    value, lr, windowImages / seconds, 100 * waitShare));
        }
        windowStart = now;
        windowImages = 0;
        windowWaitNanos = 0;
    }

    long steps() { return step; }

    long images() { return images; }

    @Override public void close() {
        if (progress != null) progress.close();
        progress = null;
    }
}
