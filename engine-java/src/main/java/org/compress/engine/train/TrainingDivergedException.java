// The loss or the training state became NaN or infinite: the run stops instead of training on garbage. Nothing
// non-finite is ever written as a complete checkpoint, so the last good checkpoint named here can be resumed.
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.List;
import org.compress.engine.EngineException;

public class TrainingDivergedException extends EngineException {
    /** What usually cures a divergence, appended to every message. */
    static final String HINT = "try a lower --lr, a higher --tau, or --bank-dtype F32 if BF16 banks overflowed";
    private static final int MESSAGE_LIMIT = 300;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TrainingDivergedException.class);

    private final String stage;
    private final int epoch;
    private final long step;
    private final List<String> tensors;
    private final Path lastGoodCheckpoint;

    public TrainingDivergedException(String message) {
        super(message);
        this.stage = null;
        this.epoch = -1;
        this.step = -1;
        this.tensors = List.of();
        this.lastGoodCheckpoint = null;
    }

    /**
     * stage: e.g. "compress-2q", or the file about to be written; epoch -1: not inside a training loop (then step is
     * not shown either). what: e.g. "the loss became NaN" or "non-finite values"; tensors: the names of the non-finite ones (may be empty);
     * lastGood: the newest complete checkpoint of the run, or null.
     */
    public TrainingDivergedException(String stage, int epoch, long step, String what, List<String> tensors, Path lastGood) {
        super(message(stage, epoch, step, what, tensors, lastGood));
        this.stage = stage;
        this.epoch = epoch;
        this.step = step;
        this.tensors = List.copyOf(tensors);
        this.lastGoodCheckpoint = lastGood;
        if (tensors.size() > 1) LOG.error("{}: every non-finite tensor ({}): {}", stage, tensors.size(), String.join(", ", tensors));
    }

    /** One line of at most about 300 characters (as the checkpoint's path allows): up to three tensor names, fewer if they do not fit. */
    private static String message(String stage, int epoch, long step, String what, List<String> tensors, Path lastGood) {
        StringBuilder head = new StringBuilder(stage).append(" diverged");
        if (epoch >= 0) head.append(" at epoch ").append(epoch).append(", step ").append(step);
        head.append(": ").append(what);
        String tail = "; last good checkpoint: " + (lastGood == null ? "none" : lastGood.toString()) + "; " + HINT;
        String named = "";
        for (int shown = Math.min(3, tensors.size()); shown >= 1; shown--) {
            named = " in " + tensors.size() + " tensor" + (tensors.size() == 1 ? "" : "s") + " (" + String.join(", ", tensors.subList(0, shown))
                    + (tensors.size() > shown ? ", ..." : "") + ")";
            if (head.length() + named.length() + tail.length() <= MESSAGE_LIMIT) break;
        }
        return head + named + tail;
    }

    public String stage() { return stage; }

    public int epoch() { return epoch; }

    public long step() { return step; }

    /** Every non-finite tensor found (the message names up to three; the log, all). */
    public List<String> tensors() { return tensors; }

    public Path lastGoodCheckpoint() { return lastGoodCheckpoint; }
}
