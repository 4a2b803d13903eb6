// The loss or the training state became NaN or infinite: the run stops instead of training on garbage. Nothing
// non-finite is ever written as a complete checkpoint, so the last good checkpoint named here can be resumed.
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.List;
import org.compress.engine.EngineException;

public class TrainingDivergedException extends EngineException {
    /** What usually cures a divergence, appended to every message. */
    static final String HINT = "try a lower --lr, a higher --tau, or --bank-dtype F32 if BF16 banks overflowed";

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
    }

    private static String message(String stage, int epoch, long step, String what, List<String> tensors, Path lastGood) {
        StringBuilder b = new StringBuilder(stage).append(" diverged");
        if (epoch >= 0) b.append(" at epoch ").append(epoch).append(", step ").append(step);
        b.append(": ").append(what);
        if (!tensors.isEmpty()) {
            b.append(" in ").append(tensors.size()).append(" tensor").append(tensors.size() == 1 ? "" : "s").append(" (")
                    .append(String.join(", ", tensors.subList(0, Math.min(3, tensors.size()))))
                    .append(tensors.size() > 3 ? ", ..." : "").append(')');
        }
        b.append("; last good checkpoint: ").append(lastGood == null ? "none" : lastGood.toString()).append("; ").append(HINT);
        return b.toString();
    }

    public String stage() { return stage; }

    public int epoch() { return epoch; }

    public long step() { return step; }

    /** Every non-finite tensor found (the message names the first three). */
    public List<String> tensors() { return tensors; }

    public Path lastGoodCheckpoint() { return lastGoodCheckpoint; }
}
