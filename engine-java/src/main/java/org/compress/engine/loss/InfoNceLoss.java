// MoCo v2's InfoNCE for a training step: normalises queries and positive keys, scores each query against its
// positive and the K negatives in the bank (as it is before this batch is enqueued), and returns the
// gradient w.r.t. the raw query embedding. Keys come from the momentum encoder and get no gradient.
package org.compress.engine.loss;

import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Workspace;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

public final class InfoNceLoss implements AutoCloseable {
    /** MoCo v2 defaults: tau 0.2. */
    public record Config(float tau, LossPath path, boolean checkFinite) {
        public Config {
            if (!(tau > 0) || !Float.isFinite(tau)) {
                throw new IllegalArgumentException("temperature must be finite and > 0, found " + tau);
            }
        }

        public static Config mocoV2() { return new Config(0.2f, LossPath.AUTO, true); }
    }

    /** Views valid until the next call; keysNormalized is what to enqueue. */
    public record Result(Tensor lossMean, Tensor lossPerQuery, Tensor gradQuery, Tensor keysNormalized) {}

    private final Backend backend;
    private final Config config;
    private Tensor qNorm, qNorms, kNorm, kNorms, lossPerQuery, lossMean, gradNormalized, gradQuery, workspace;
    private int batch = -1, dim = -1;

    public InfoNceLoss(Backend backend, Config config) {
        this.backend = backend;
        this.config = config;
    }

    public Result compute(Tensor query, Tensor key, MemoryBank bank) {
        Checks.rank("infonce queries", query, 2);
        Checks.sameShape("infonce positive keys vs queries", key, query);
        if (config.checkFinite()) {
            for (Tensor t : new Tensor[] {query, key}) {
                long bad = backend.elementwise().countNonFinite(t);
                if (bad > 0) throw new NonFiniteInputException("infonce: " + t + " holds " + bad + " NaN/Inf values");
            }
        }
        int b = query.dim(0), d = query.dim(1);
        long ws = backend.infoNce().workspaceBytes(b, bank.size(), d, bank.dtype(), config.path());
        if (b != batch || d != dim || (ws > 0 && (workspace == null || workspace.bytes() < ws))) allocate(b, d, ws);
        backend.normalize().forward(query, qNorm, qNorms);
        backend.normalize().forward(key, kNorm, kNorms);
        backend.infoNce().forwardBackward(qNorm, kNorm, bank.rows(), config.tau(), lossPerQuery, lossMean, gradNormalized,
                workspace, config.path());
        backend.normalize().backward(qNorm, qNorms, gradNormalized, gradQuery);
        return new Result(lossMean, lossPerQuery, gradQuery, kNorm);
    }

    private void allocate(int b, int d, long ws) {
        close();
        batch = b;
        dim = d;
        qNorm = backend.empty(DType.F32, b, d);
        qNorms = backend.empty(DType.F32, b);
        kNorm = backend.empty(DType.F32, b, d);
        kNorms = backend.empty(DType.F32, b);
        lossPerQuery = backend.empty(DType.F32, b);
        lossMean = backend.empty(DType.F32, 1);
        gradNormalized = backend.empty(DType.F32, b, d);
        gradQuery = backend.empty(DType.F32, b, d);
        workspace = ws > 0 ? Workspace.allocate(backend, ws) : null;
    }

    @Override public void close() {
        for (Tensor t : new Tensor[] {qNorm, qNorms, kNorm, kNorms, lossPerQuery, lossMean, gradNormalized, gradQuery, workspace}) {
            if (t != null) t.close();
        }
        batch = -1;
    }
}
