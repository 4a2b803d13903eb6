// dist: the decisions that every rank of a data-parallel run must take alike, so that no rank trains on while another
// stopped (and the others then hang until the collective timeout):
//   - stop: a signal may reach one rank only; the stop flags are summed across ranks at each step boundary, so every
//     rank stops after the same step and checkpoints the same state;
//   - divergence: one rank's loss may become non-finite first; the guards' states travel in the same all-reduce, so
//     every rank fails at the same step;
//   - checkpoints: rank 0 alone writes them (after checking the state is finite); the others learn through the store
//     whether it was written, and its path (the last good checkpoint they name).
// With one process each method is the plain local check (no communication), as the trainers did before.
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.List;
import org.compress.engine.backend.Backend;
import org.compress.engine.dist.DistributedContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

final class DistSteps {
    private static final Logger log = LoggerFactory.getLogger(DistSteps.class);

    private DistSteps() {}

    /**
     * The non-finite guard for a stage. Distributed, its accumulator is read in {@link #stop} only (every step), so that
     * a non-finite loss is reported by every rank at the same step instead of by the one rank that saw it.
     */
    static NonFiniteGuard guard(DistributedContext dist, Backend backend, String stage, Path lastGood) {
        return dist.isDistributed() ? new NonFiniteGuard(backend, stage, lastGood, false) : new NonFiniteGuard(backend, stage, lastGood);
    }

    /**
     * Whether to stop after this step. One process: stop.requested(). Distributed: one all-reduce of (SIGINT, SIGTERM,
     * other stop requests, non-finite loss) flags; a rank that was not asked itself takes the signal another rank got
     * (SIGTERM before SIGINT), so its exit code is the same; a non-finite loss on any rank throws
     * TrainingDivergedException on every rank (guard null: between stages, only the stop flags). Costs one host read of the guard per step (a synchronisation on CUDA).
     */
    static boolean stop(DistributedContext dist, StopRequest stop, NonFiniteGuard guard, int epoch, long step) {
        if (!dist.isDistributed()) return stop.requested();
        boolean asked = stop.requested();
        String reason = stop.reason();
        TrainingDivergedException diverged = null;
        try {
            if (guard != null) guard.check(epoch, step);
        } catch (TrainingDivergedException e) {
            diverged = e;
        }
        float[] flags = {asked && "SIGINT".equals(reason) ? 1 : 0, asked && "SIGTERM".equals(reason) ? 1 : 0,
                asked && !"SIGINT".equals(reason) && !"SIGTERM".equals(reason) ? 1 : 0, diverged != null ? 1 : 0};
        dist.allReduceSum(flags);
        if (flags[3] > 0) {
            if (diverged != null) throw diverged;
            throw new TrainingDivergedException(guard.stage(), epoch, step, "the loss became non-finite on " + (int) flags[3] + " of "
                    + dist.worldSize() + " ranks (not on rank " + dist.rank() + ")", List.of(), guard.lastGood());
        }
        if (asked) return true;
        if (flags[0] + flags[1] + flags[2] == 0) return false;
        String taken = flags[1] > 0 ? "SIGTERM" : flags[0] > 0 ? "SIGINT" : "a stop request on another rank";
        log.info("rank {}: stopping with the other ranks after this step ({} there)", dist.rank(), taken);
        stop.request(taken);
        return true;
    }

    /**
     * Checkpoints {@code state} (TrainerCheckpoint.save): one process, or rank 0, writes it; the other ranks wait for rank
     * 0's outcome through the store and get the same path, or the same TrainingDivergedException when rank 0 refused a
     * non-finite state.
     */
    static Path checkpoint(DistributedContext dist, Backend backend, RunDirectory run, String stage, int epoch, int batchesDone,
                           TrainerCheckpoint.State state, NonFiniteGuard guard) {
        if (!dist.isDistributed()) return TrainerCheckpoint.save(backend, run, stage, epoch, batchesDone, state, guard);
        String key = "checkpoint/" + stage + "/" + epoch + "/" + batchesDone;
        if (dist.isMaster()) {
            Path file = null;
            try {
                file = TrainerCheckpoint.save(backend, run, stage, epoch, batchesDone, state, guard);
            } finally {
                dist.agree(key, file == null ? "" : file.toString());   // the others learn of a failure too, not by a timeout
            }
            return file;
        }
        String written = dist.agree(key, "");
        if (written.isEmpty()) {
            throw new TrainingDivergedException(guard.stage(), epoch, state.sgd().steps(), "rank 0 could not write the checkpoint"
                    + " (its log says why, e.g. the non-finite tensors)", List.of(), guard.lastGood());
        }
        Path file = Path.of(written);
        guard.checkpointed(file);
        return file;
    }
}
