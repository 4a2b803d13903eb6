// MoCo's momentum ("key") encoder: key = m * key + (1 - m) * query over the PARAMETERS only (m = 0.999 by
// default), one multi-tensor launch per update. At construction the key's parameters are copied from the
// query, as MoCo's __init__ does. BN buffers (running_mean/var, num_batches_tracked) are NOT averaged or
// copied: like the official MoCo and CompRess code, which iterate encoder.parameters() only, the key
// encoder's running statistics come from its own forward passes in training mode.
package org.compress.engine.optim;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.nn.Module;
import org.compress.engine.nn.Parameter;
import org.compress.engine.ops.EmaOp;
import org.compress.engine.tensor.Tensor;

public final class MomentumEncoder implements AutoCloseable {
    public static final double DEFAULT_MOMENTUM = 0.999;

    private final Backend backend;
    private final double momentum;
    private final EmaOp.Group group;

    public MomentumEncoder(Backend backend, Module query, Module key, double momentum) {
        EmaOp.checkMomentum(momentum);
        this.backend = backend;
        this.momentum = momentum;
        Map<String, Parameter> q = query.namedParameters(), k = key.namedParameters();
        if (!q.keySet().equals(k.keySet())) {
            throw new IllegalArgumentException("momentum encoder: query and key have different parameters: " + q.keySet() + " vs " + k.keySet());
        }
        List<Tensor> targets = new ArrayList<>(), sources = new ArrayList<>();
        q.forEach((name, p) -> {
            targets.add(k.get(name).value());
            sources.add(p.value());
        });
        this.group = backend.ema().prepare(targets, sources); // checks shapes before anything is written
        for (int i = 0; i < targets.size(); i++) backend.elementwise().copy(sources.get(i), targets.get(i));
    }

    public double momentum() { return momentum; }

    public void update() { backend.ema().update(group, momentum); }

    @Override public void close() { group.close(); }
}
