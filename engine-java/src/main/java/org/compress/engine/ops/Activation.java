// Pointwise activations the layers use. The backward pass is computed from the OUTPUT y (so the input
// buffer need not be kept): ReLU passes the gradient where y > 0, ReLU6 where 0 < y < 6 (PyTorch's rule).
package org.compress.engine.ops;

public enum Activation {
    IDENTITY, RELU, RELU6;

    public float apply(float v) {
        return switch (this) {
            case IDENTITY -> v;
            case RELU -> v > 0f ? v : 0f;
            case RELU6 -> v > 0f ? (v < 6f ? v : 6f) : 0f;
        };
    }

    /** Whether the gradient passes at an element whose activated output is y. */
    public boolean passes(float y) {
        return switch (this) {
            case IDENTITY -> true;
            case RELU -> y > 0f;
            case RELU6 -> y > 0f && y < 6f;
        };
    }
}
