// CUDA CompRess loss. FUSED: one kernel pass over the anchors (kernels/compress_loss.cu), never
// materialising B x K, with a deterministic split merge. UNFUSED (the baseline): cuBLAS logits GEMMs ->
// row softmax/KL kernel -> cuBLAS gradient GEMM, in the bank's precision (TF32 for F32 banks, BF16 for
// BF16 banks, queries cast to BF16 for the latter). AUTO takes FUSED while Dt, Ds <= 256.
package org.compress.engine.backend.cuda;

import org.compress.engine.backend.Workspace;
import org.compress.engine.ops.CompressLossOp;
import org.compress.engine.ops.GemmPrecision;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

final class CudaCompressLoss implements CompressLossOp {
    static final int FUSED_MAX_DIM = 256;

    private final CudaBackend cuda;

    CudaCompressLoss(CudaBackend cuda) { this.cuda = cuda; }

    static LossPath resolve(LossPath path, int... dims) {
        int max = 0;
        for (int d : dims) max = Math.max(max, d);
        if (path == LossPath.AUTO) return max <= FUSED_MAX_DIM ? LossPath.FUSED : LossPath.UNFUSED;
        if (path == LossPath.FUSED && max > FUSED_MAX_DIM) {
            throw new ShapeMismatchException("the fused loss kernel supports embeddings up to " + FUSED_MAX_DIM
                    + "-d, found " + max + "-d; use the UNFUSED or AUTO path");
        }
        return path;
    }

    static int bankType(DType t) { return t == DType.BF16 ? 1 : 0; }

    /** The kernels answer -1 for sizes they reject; say why instead of launching with no workspace. */
    static long checkedBytes(long bytes, String what) {
        if (bytes < 0) {
            throw new ShapeMismatchException(what + ": the fused kernel rejects these sizes: " + NativeKernels.lastErrorWhere());
        }
        return bytes;
    }

    @Override public long workspaceBytes(int b, int k, int dt, int ds, DType bankType, LossPath path) {
        if (resolve(path, dt, ds) == LossPath.FUSED) {
            return checkedBytes(LossKernels.compressLossWorkspaceBytes(b, k, dt, ds, bankType(bankType)), "compress loss");
        }
        long bk = (long) b * k;
        return bankType == DType.BF16
                ? Workspace.sizeOf(DType.F32, bk, DType.F32, bk, DType.BF16, bk, DType.BF16, (long) b * dt, DType.BF16, (long) b * ds)
                : Workspace.sizeOf(DType.F32, bk, DType.F32, bk);
    }

    @Override
    public void forwardBackward(Tensor teacher, Tensor student, Tensor teacherBank, Tensor studentBank, float tau,
                                Tensor lossPerQuery, Tensor lossMean, Tensor gradStudent, Tensor workspace, LossPath path) {
        CompressLossOp.check(teacher, student, teacherBank, studentBank, tau, lossPerQuery, lossMean, gradStudent);
        int b = teacher.dim(0), k = teacherBank.dim(0), dt = teacher.dim(1), ds = student.dim(1);
        DType bank = teacherBank.dtype();
        LossPath chosen = resolve(path, dt, ds);
        long need = workspaceBytes(b, k, dt, ds, bank, chosen);
        if (need > 0 && (workspace == null || workspace.bytes() < need)) {
            throw new ShapeMismatchException("compress loss (" + chosen + "): workspace of " + need + " bytes needed, found "
                    + (workspace == null ? "none" : workspace.bytes() + " bytes"));
        }
        long stream = cuda.stream().address();
        if (chosen == LossPath.FUSED) {
            Native.check(Native.Library.KERNEL, LossKernels.compressLossFused(cuda.address(teacher), cuda.address(student),
                    cuda.address(teacherBank), cuda.address(studentBank), bankType(bank), b, k, dt, ds, 1f / tau,
                    cuda.address(lossPerQuery), cuda.address(lossMean), cuda.address(gradStudent),
                    need > 0 ? cuda.address(workspace) : 0L, need, stream), "compress_loss_fused");
            return;
        }
        Workspace ws = new Workspace(workspace);
        Tensor zt = ws.take(DType.F32, b, k);
        Tensor zs = ws.take(DType.F32, b, k);
        GemmPrecision precision = bank == DType.BF16 ? GemmPrecision.BF16 : GemmPrecision.TF32;
        Tensor t = teacher, s = student;
        Tensor diff16 = null;
        if (bank == DType.BF16) {
            diff16 = ws.take(DType.BF16, b, k);
            t = ws.take(DType.BF16, b, dt);
            s = ws.take(DType.BF16, b, ds);
            cuda.elementwise().cast(teacher, t);
            cuda.elementwise().cast(student, s);
        }
        cuda.gemm().gemm(false, true, 1f, t, teacherBank, 0f, zt, precision);
        cuda.gemm().gemm(false, true, 1f, s, studentBank, 0f, zs, precision);
        Native.check(Native.Library.KERNEL, LossKernels.compressLossRows(cuda.address(zt), cuda.address(zs), b, k, 1f / tau,
                cuda.address(lossPerQuery), cuda.address(zs), stream), "compress_loss_rows");
        Tensor diff = zs;
        if (diff16 != null) {
            cuda.elementwise().cast(zs, diff16);
            diff = diff16;
        }
        cuda.gemm().gemm(false, false, 1f, diff, studentBank, 0f, gradStudent, precision);
        Native.check(Native.Library.KERNEL, LossKernels.meanF32(cuda.address(lossPerQuery), b, cuda.address(lossMean), stream),
                "mean_f32");
    }
}
