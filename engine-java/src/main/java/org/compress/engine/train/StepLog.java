// Step bookkeeping shared by the trainers: images/s, and a metrics record every `every` steps (reading the loss
// from the device only then, since that read synchronises).
package org.compress.engine.train;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;

final class StepLog {
    private final String stage;
    private final RunDirectory run;
    private final Logger log;
    private final int every;
    private long step;
    private long images;
    private long windowStart = System.nanoTime();
    private long windowImages;

    StepLog(String stage, RunDirectory run, Logger log, int every) { this(stage, run, log, every, 0); }

    /** firstStep: the steps already taken (a resumed stage), so step numbers in metrics.jsonl continue. */
    StepLog(String stage, RunDirectory run, Logger log, int every, long firstStep) {
        this.step = firstStep;
        this.stage = stage;
        this.run = run;
        this.log = log;
        this.every = Math.max(1, every);
    }

    /** Counts a step of {@code batch} images; every `every` steps logs the loss (read through {@code loss}). */
    void step(int epoch, int batch, double lr, DoubleSupplier loss) {
        step++;
        images += batch;
        windowImages += batch;
        if (step % every != 0) return;
        double seconds = (System.nanoTime() - windowStart) / 1e9;
        double value = loss.getAsDouble();
        if (!Double.isFinite(value)) {
            throw new TrainingDivergedException(stage, epoch, step, "the loss became " + value, java.util.List.of(), null);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("stage", stage);
        r.put("epoch", epoch);
        r.put("step", step);
        r.put("loss", value);
        r.put("lr", lr);
        r.put("images_per_s", windowImages / seconds);
        run.log(r);
        log.info(String.format(Locale.ROOT, "%s epoch %d step %d: loss %.4f, lr %.4g, %.0f img/s", stage, epoch, step, value, lr,
                windowImages / seconds));
        windowStart = System.nanoTime();
        windowImages = 0;
    }

    long steps() { return step; }

    long images() { return images; }
}
