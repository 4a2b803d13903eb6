// Watches a training stage for NaN/Inf without a host synchronisation per step: each step's mean loss is added on
// the device into a one-element accumulator (axpy: a finite sum stays finite, one NaN or Inf makes it non-finite
// for good), and the accumulator is read only where the host waits anyway (a logged step, a checkpoint); on the CPU
// reading it costs nothing, so it is read every step. Before a checkpoint is written, every floating tensor of the
// state is checked (parameters, buffers such as BatchNorm statistics, optimizer state, banks), since a tiny
// temperature can ruin the weights behind a finite loss.
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.HostData;
import org.compress.engine.tensor.Tensor;

final class NonFiniteGuard implements AutoCloseable {
    private final Backend backend;
    private final String stage;
    private final Tensor sum;
    private final boolean readEveryStep;
    private Path lastGood;

    NonFiniteGuard(Backend backend, String stage, Path lastGood) { this(backend, stage, lastGood, !backend.device().isCuda()); }

    /** readEveryStep: false reads the accumulator only in check() (the GPU's way; tests run it on the CPU too). */
    NonFiniteGuard(Backend backend, String stage, Path lastGood, boolean readEveryStep) {
        this.backend = backend;
        this.stage = stage;
        this.sum = backend.zeros(org.compress.engine.tensor.DType.F32, 1);
        this.readEveryStep = readEveryStep;
        this.lastGood = lastGood;
    }

    /** Adds this step's loss (F32[1] on the backend) on the device; on the CPU also checks it at once. */
    void observe(Tensor lossMean, int epoch, long step) {
        backend.elementwise().axpy(1f, lossMean, sum);
        if (readEveryStep) check(epoch, step);
    }

    /** Reads the accumulator (a synchronisation on the GPU: call it where the host waits anyway). */
    void check(int epoch, long step) {
        float s = backend.toFloatArray(sum)[0];
        if (!Float.isFinite(s)) {
            throw new TrainingDivergedException(stage, epoch, step, readEveryStep ? "the loss became " + s
                    : "the loss became non-finite at or before this step", List.of(), lastGood);
        }
    }

    /** The names of the non-finite floating tensors among host tensors {@code state} (empty when all are finite). */
    static List<String> nonFinite(Map<String, Tensor> state) {
        List<String> bad = new ArrayList<>();
        state.forEach((name, t) -> {
            if (!t.dtype().isFloating()) return;
            for (float v : HostData.toFloats(t)) {
                if (!Float.isFinite(v)) {
                    bad.add(name);
                    return;
                }
            }
        });
        return bad;
    }

    /** Fails (naming the tensors) unless every floating tensor of the state about to be checkpointed is finite. */
    void checkState(Map<String, Tensor> hostState, int epoch, long step) {
        check(epoch, step);
        List<String> bad = nonFinite(hostState);
        if (!bad.isEmpty()) {
            org.slf4j.LoggerFactory.getLogger(NonFiniteGuard.class).error("{}: non-finite tensors at epoch {} step {}: {}", stage, epoch,
                    step, bad);
            throw new TrainingDivergedException(stage, epoch, step, "non-finite values", bad, lastGood);
        }
    }

    /** Records the newest complete checkpoint (named when the run diverges later). */
    void checkpointed(Path file) { lastGood = file; }

    Path lastGood() { return lastGood; }

    String stage() { return stage; }

    @Override public void close() { sum.close(); }
}
