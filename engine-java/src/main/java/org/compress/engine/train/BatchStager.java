// Puts a host tensor where the backend computes: the CPU uses it in place; a GPU backend gets a synchronous copy
// whose device memory comes back from the caching allocator (no cudaMalloc in steady state). Used off the hot
// path (evaluation embeddings); training batches go through TrainingBatches, the cached teacher gathers on the backend.
package org.compress.engine.train;

import org.compress.engine.backend.Backend;
import org.compress.engine.tensor.Tensor;

final class BatchStager implements AutoCloseable {
    private final Backend backend;
    private Tensor staged;

    BatchStager(Backend backend) { this.backend = backend; }

    Tensor stage(Tensor host) {
        if (!backend.device().isCuda()) return host;
        close();
        staged = backend.upload(host);
        return staged;
    }

    @Override public void close() {
        if (staged != null) staged.close();
        staged = null;
    }
}
