// A trainable tensor and its gradient (same shape, F32, on the module's backend). weightDecay() is false for
// batch-norm weights/biases and layer biases, so an optimizer can exclude them from weight decay.
package org.compress.engine.nn;

import org.compress.engine.tensor.Tensor;

public final class Parameter implements AutoCloseable {
    private final Tensor value;
    private final Tensor grad;
    private final boolean weightDecay;

    Parameter(Tensor value, Tensor grad, boolean weightDecay) {
        this.value = value;
        this.grad = grad;
        this.weightDecay = weightDecay;
    }

    public Tensor value() { return value; }

    /** Written (not accumulated) by each backward pass. */
    public Tensor grad() { return grad; }

    /** False for BN weights/biases and biases: the group that "exclude BN and bias" leaves undecayed. */
    public boolean weightDecay() { return weightDecay; }

    public int[] shape() { return value.shape(); }

    public long numel() { return value.numel(); }

    @Override public void close() {
        value.close();
        grad.close();
    }
}
