// How a GEMM multiplies: FP32 (exact fp32 FMA), TF32 (fp32 data, tensor cores with 10-bit mantissa inputs),
// BF16 (bf16 inputs, fp32 accumulation). Accumulation is fp32 on the GPU in all three.
package org.compress.engine.ops;

import org.compress.engine.tensor.DType;

public enum GemmPrecision {
    FP32(DType.F32), TF32(DType.F32), BF16(DType.BF16);

    private final DType inputType;

    GemmPrecision(DType inputType) { this.inputType = inputType; }

    /** The dtype A and B must have. */
    public DType inputType() { return inputType; }
}
