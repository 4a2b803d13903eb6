// A trainable tensor and its gradient (same shape, F32, on the module's backend). weightDecay() is false for
// batch-norm weights/biases and layer biases, so an optimizer can exclude them from weight decay.
// In a BF16-mixed or channels-last network a weight also has a compute copy (BF16 and/or NHWC): layers read
// compute(), the optimizer updates value() (the FP32 master), and the network refreshes the copy from the
// master before each forward (Module.refreshComputeCopies). Gradients are always FP32 and shaped as value().
package org.compress.engine.nn;

import org.compress.engine.tensor.Tensor;

public final class Parameter implements AutoCloseable {
    private final Tensor value;
    private final Tensor grad;
    private final boolean weightDecay;
    private Tensor computeCopy;

    Parameter(Tensor value, Tensor grad, boolean weightDecay) {
        this.value = value;
        this.grad = grad;
        this.weightDecay = weightDecay;
    }

    /** The FP32 master (NCHW for convolution weights): what the optimizer updates and state dicts hold. */
    public Tensor value() { return value; }

    /** Written (not accumulated) by each backward pass. */
    public Tensor grad() { return grad; }

    /** False for BN weights/biases and biases: the group that "exclude BN and bias" leaves undecayed. */
    public boolean weightDecay() { return weightDecay; }

    /** What layers compute with: the compute copy when there is one, else the master itself. */
    public Tensor compute() { return computeCopy == null ? value : computeCopy; }

    public boolean hasComputeCopy() { return computeCopy != null; }

    /** Replaces the compute copy (null: compute with the master); the parameter owns it. */
    void setComputeCopy(Tensor copy) {
        if (computeCopy != null) computeCopy.close();
        computeCopy = copy;
    }

    public int[] shape() { return value.shape(); }

    public long numel() { return value.numel(); }

    @Override public void close() {
        value.close();
        grad.close();
        if (computeCopy != null) computeCopy.close();
    }
}
