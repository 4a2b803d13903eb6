// CUDA InfoNCE (MoCo v2). FUSED: one pass over the bank (kernels/infonce.cu). UNFUSED: logits B x (K+1) built by
// a batched 1x1 GEMM for the positives (column 0) and a GEMM against the bank (columns 1..K, ldc = K+1), the
// row kernel, then gradQ = diff[:, 1:] . bank + diff[:, 0] * k+ (a batched rank-1 update).
package org.compress.engine.backend.cuda;

import org.compress.engine.backend.Workspace;
import org.compress.engine.ops.GemmPrecision;
import org.compress.engine.ops.InfoNceOp;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

final class CudaInfoNce implements InfoNceOp {
    private final CudaBackend cuda;

    CudaInfoNce(CudaBackend cuda) { this.cuda = cuda; }

    @Override public long workspaceBytes(int b, int k, int d, DType bankType, LossPath path) {
        if (CudaCompressLoss.resolve(path, d) == LossPath.FUSED) {
            return CudaCompressLoss.checkedBytes(LossKernels.infoNceWorkspaceBytes(b, k, d, CudaCompressLoss.bankType(bankType)), "infonce");
        }
        long logits = (long) b * (k + 1);
        return bankType == DType.BF16
                ? Workspace.sizeOf(DType.F32, logits, DType.BF16, logits, DType.BF16, (long) b * d)
                : Workspace.sizeOf(DType.F32, logits);
    }

    @Override
    public void forwardBackward(Tensor q, Tensor kPositive, Tensor bank, float tau, Tensor lossPerQuery, Tensor lossMean,
                                Tensor gradQ, Tensor workspace, LossPath path) {
        InfoNceOp.check(q, kPositive, bank, tau, lossPerQuery, lossMean, gradQ);
        int b = q.dim(0), d = q.dim(1), k = bank.dim(0);
        LossPath chosen = CudaCompressLoss.resolve(path, d);
        long need = workspaceBytes(b, k, d, bank.dtype(), chosen);
        if (need > 0 && (workspace == null || workspace.bytes() < need)) {
            throw new ShapeMismatchException("infonce (" + chosen + "): workspace of " + need + " bytes needed, found "
                    + (workspace == null ? "none" : workspace.bytes() + " bytes"));
        }
        long stream = cuda.stream().address();
        int bankType = CudaCompressLoss.bankType(bank.dtype());
        if (chosen == LossPath.FUSED) {
            Native.check(Native.Library.KERNEL, LossKernels.infoNceFused(cuda.address(q), cuda.address(kPositive),
                    cuda.address(bank), bankType, b, k, d, 1f / tau, cuda.address(lossPerQuery), cuda.address(lossMean),
                    cuda.address(gradQ), need > 0 ? cuda.address(workspace) : 0L, need, stream), "infonce_fused");
            return;
        }
        Workspace ws = new Workspace(workspace);
        int width = k + 1;
        Tensor logits = ws.take(DType.F32, b, width);
        long logitsAt = cuda.address(logits);
        RowMajorBlas blas = cuda.blas();
        boolean bf16 = bank.dtype() == DType.BF16;
        GemmPrecision precision = bf16 ? GemmPrecision.BF16 : GemmPrecision.TF32;
        Tensor diff16 = bf16 ? ws.take(DType.BF16, b, width) : null;
        RowMajorBlas.Operand qOp = RowMajorBlas.Operand.f32(cuda.address(q), d);
        if (bf16) {
            Tensor q16 = ws.take(DType.BF16, b, d);
            cuda.elementwise().cast(q, q16);
            qOp = RowMajorBlas.Operand.bf16(cuda.address(q16), d);
        }
        RowMajorBlas.Operand bankOp = new RowMajorBlas.Operand(cuda.address(bank), qOp.type(), d, 0);
        // positives: logits[i][0] = q_i . k+_i as B batched (1 x D) (D x 1) products, in F32
        blas.gemmBatched(false, true, 1, 1, d, 1f, RowMajorBlas.Operand.f32(cuda.address(q), d).strided(d),
                RowMajorBlas.Operand.f32(cuda.address(kPositive), d).strided(d), 0f,
                RowMajorBlas.Operand.f32(logitsAt, width).strided(width), b, GemmPrecision.FP32, "infonce positives");
        blas.gemm(false, true, b, k, d, 1f, qOp, bankOp, 0f, RowMajorBlas.Operand.f32(logitsAt + 4, width), precision,
                "infonce negatives");
        Native.check(Native.Library.KERNEL, LossKernels.infoNceRows(logitsAt, b, width, 1f / tau, cuda.address(lossPerQuery),
                logitsAt, stream), "infonce_rows");
        RowMajorBlas.Operand diffNeg = RowMajorBlas.Operand.f32(logitsAt + 4, width);
        if (bf16) {
            cuda.elementwise().cast(logits, diff16);
            diffNeg = RowMajorBlas.Operand.bf16(cuda.address(diff16) + 2, width);
        }
        long gradAt = cuda.address(gradQ);
        blas.gemm(false, false, b, d, k, 1f, diffNeg, bankOp, 0f, RowMajorBlas.Operand.f32(gradAt, d), precision,
                "infonce gradient (negatives)");
        blas.gemmBatched(false, false, 1, d, 1, 1f, RowMajorBlas.Operand.f32(logitsAt, width).strided(width),
                RowMajorBlas.Operand.f32(cuda.address(kPositive), d).strided(d), 1f,
                RowMajorBlas.Operand.f32(gradAt, d).strided(d), b, GemmPrecision.FP32, "infonce gradient (positives)");
        Native.check(Native.Library.KERNEL, LossKernels.meanF32(cuda.address(lossPerQuery), b, cuda.address(lossMean), stream),
                "mean_f32");
    }
}
