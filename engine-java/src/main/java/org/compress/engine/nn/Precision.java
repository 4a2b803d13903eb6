// How a network computes: FP32 everywhere, or BF16-mixed as PyTorch's bf16 autocast trains: activations and
// activation gradients are BF16 tensors; every weight keeps an FP32 master (the Parameter the optimizer
// updates) and convolutions/linears read a BF16 copy of it (refreshed from the master at each forward) with
// FP32 accumulation; batch norm keeps FP32 statistics and affine parameters (BF16 in/out); weight gradients,
// the loss and the embedding handed to it are FP32 (the network casts at its input and output).
package org.compress.engine.nn;

import org.compress.engine.tensor.DType;

public enum Precision {
    FP32(DType.F32), BF16_MIXED(DType.BF16);

    private final DType activations;

    Precision(DType activations) { this.activations = activations; }

    /** The dtype of activations, activation gradients and the weight copies layers compute with. */
    public DType activationType() { return activations; }
}
