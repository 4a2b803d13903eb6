// A training stage's progress on a terminal: a bar (me.tongfei:progressbar) with the loss, images/s, the share
// of step time spent waiting for data, and the ETA; off a terminal (a log file, CI) nothing is drawn and the
// plain log lines of StepLog carry the same numbers.
package org.compress.engine.train;

import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

public final class Progress implements AutoCloseable {
    /** AUTO: a bar when the JVM has a console; ON / OFF force it. */
    public enum Mode { AUTO, ON, OFF }

    private final ProgressBar bar;

    private Progress(ProgressBar bar) { this.bar = bar; }

    static Progress open(Mode mode, String stage, long totalSteps) {
        boolean on = switch (mode) {
            case ON -> true;
            case OFF -> false;
            case AUTO -> System.console() != null;
        };
        if (!on || totalSteps <= 0) return new Progress(null);
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(stage).setInitialMax(totalSteps).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(500).setUnit(" steps", 1).showSpeed();
        if (System.console() == null) b.setConsumer(new ConsoleProgressBarConsumer(System.err, 160)); // forced ON into a file or pipe
        return new Progress(b.build());
    }

    boolean drawing() { return bar != null; }

    void step(double loss, double imagesPerSecond, double dataWaitShare) {
        if (bar == null) return;
        bar.step();
        if (!Double.isNaN(loss)) {
            bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f, %.0f img/s, data wait %.0f%%", loss, imagesPerSecond,
                    100 * dataWaitShare));
        }
    }

    @Override public void close() {
        if (bar != null) bar.close();
    }
}
