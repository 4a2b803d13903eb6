// The collectives data-parallel training needs, on tensors of one backend. Every rank must call the same
// collectives in the same order (as with torch.distributed); all of them block until the result is in place
// (on CUDA: until it is queued on the backend's stream). Implementations: SingleProcessCollectives (world size 1),
// GlooCollectives (CPU tensors, TCP, libcompress_gloo.so) and NcclCollectives (CUDA tensors).
package org.compress.engine.dist;

import org.compress.engine.tensor.Tensor;

public interface Collectives extends AutoCloseable {
    int rank();

    int worldSize();

    /** "gloo", "nccl" or "single". */
    String name();

    /** t <- sum over ranks of t (F32, in place). The same bits on every rank. */
    void allReduceSum(Tensor t);

    /** out (worldSize * in.rows, ...) <- the ranks' {@code in} concatenated in rank order along the first dimension. */
    void allGather(Tensor in, Tensor out);

    /** t <- root's t on every rank. */
    void broadcast(Tensor t, int root);

    void barrier();

    @Override void close();

    /** Checks the shapes of an all-gather before anything is sent. */
    static void checkGather(Tensor in, Tensor out, int worldSize) {
        if (in.dtype() != out.dtype() || out.numel() != in.numel() * worldSize) {
            throw new IllegalArgumentException("all-gather: expected an output of " + worldSize + " x " + in + ", found " + out);
        }
    }
}
