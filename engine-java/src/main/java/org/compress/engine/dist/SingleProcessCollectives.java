// World size 1: every collective is the identity (all-gather a copy), so trainers need no special case.
package org.compress.engine.dist;

import org.compress.engine.backend.Backend;
import org.compress.engine.tensor.Tensor;

public final class SingleProcessCollectives implements Collectives {
    private final Backend backend;

    public SingleProcessCollectives(Backend backend) { this.backend = backend; }

    @Override public int rank() { return 0; }

    @Override public int worldSize() { return 1; }

    @Override public String name() { return "single"; }

    @Override public void allReduceSum(Tensor t) {}

    @Override public void allGather(Tensor in, Tensor out) {
        Collectives.checkGather(in, out, 1);
        backend.elementwise().copy(in, out.reshape(in.shape()));
    }

    @Override public void broadcast(Tensor t, int root) {}

    @Override public void barrier() {}

    @Override public void close() {}
}
