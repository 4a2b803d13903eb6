// MoCo v2's InfoNCE loss and its gradient against a memory bank of negatives.
//   logits_i = [q_i . k+_i, q_i . Q_0, ..., q_i . Q_{K-1}] / tau; loss_i = -log softmax(logits_i)_0;
//   dL/dq_i = sum_j (softmax_ij - [j = 0]) key_j / (tau B), key_0 = k+_i, key_{j+1} = Q_j. Keys get no gradient.
// q, k+ (B x D) are L2-normalised F32; the bank (K x D) is F32 or BF16.
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface InfoNceOp {
    long workspaceBytes(int b, int k, int d, DType bankType, LossPath path);

    void forwardBackward(Tensor q, Tensor kPositive, Tensor bank, float tau, Tensor lossPerQuery, Tensor lossMean,
                         Tensor gradQ, Tensor workspace, LossPath path);

    static void check(Tensor q, Tensor kPositive, Tensor bank, float tau, Tensor lossPerQuery, Tensor lossMean, Tensor gradQ) {
        Checks.rank("infonce q", q, 2);
        Checks.dtype("infonce q", q, DType.F32);
        Checks.sameShape("infonce positive keys vs queries", kPositive, q);
        Checks.dtype("infonce positive keys", kPositive, DType.F32);
        Checks.rank("infonce bank", bank, 2);
        Checks.dtype("infonce bank", bank, DType.F32, DType.BF16);
        Checks.positive("infonce batch size B", q.dim(0));
        Checks.positive("infonce bank size K", bank.dim(0));
        if (bank.dim(1) != q.dim(1)) {
            throw new ShapeMismatchException("infonce: queries are " + q.dim(1) + "-d but the bank holds "
                    + bank.dim(1) + "-d keys");
        }
        if (!(tau > 0) || !Float.isFinite(tau)) {
            throw new IllegalArgumentException("infonce: temperature must be finite and > 0, found " + tau);
        }
        Checks.shape("infonce lossPerQuery", lossPerQuery, q.dim(0));
        Checks.shape("infonce lossMean", lossMean, 1);
        Checks.sameShape("infonce gradQ vs q", gradQ, q);
        Checks.dtype("infonce gradQ", gradQ, DType.F32);
    }
}
