// Ring-buffer writes into a memory bank: bank[(start + i) % K] = keys[i] for i < B, converted to the bank's
// dtype (BF16: round to nearest even). One launch on the GPU, wrap-around included; requires B <= K.
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface MemoryBankOp {
    void enqueue(Tensor bank, Tensor keys, int start);

    static void check(Tensor bank, Tensor keys, int start) {
        Checks.rank("enqueue bank", bank, 2);
        Checks.dtype("enqueue bank", bank, DType.F32, DType.BF16);
        Checks.rank("enqueue keys", keys, 2);
        Checks.dtype("enqueue keys", keys, DType.F32);
        if (keys.dim(1) != bank.dim(1)) {
            throw new ShapeMismatchException("enqueue: keys are " + keys.dim(1) + "-d but the bank holds "
                    + bank.dim(1) + "-d rows");
        }
        if (keys.dim(0) > bank.dim(0)) {
            throw new ShapeMismatchException("enqueue: a batch of " + keys.dim(0) + " keys exceeds the bank's "
                    + bank.dim(0) + " rows (B must be <= K)");
        }
        if (start < 0 || start >= bank.dim(0)) {
            throw new IllegalArgumentException("enqueue: start must be in [0, " + bank.dim(0) + "), found " + start);
        }
    }
}
