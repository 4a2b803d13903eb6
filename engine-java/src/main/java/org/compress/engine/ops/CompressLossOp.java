// The CompRess similarity-distillation loss and its gradient, for one batch against the memory banks.
//   zt = T Qt^T / tau, zs = S Qs^T / tau; pt, ps = row softmax; loss_i = KL(pt_i || ps_i); loss = mean_i loss_i;
//   dL/dS_i = sum_j (ps_ij - pt_ij) Qs_j / (tau B).
// T (B x Dt) and S (B x Ds) are already L2-normalised F32; Qt (K x Dt) and Qs (K x Ds) are the banks as
// they were BEFORE this batch is enqueued, both F32 or both BF16. 1q passes Qs = Qt (and Ds = Dt).
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface CompressLossOp {
    /** Bytes of device workspace {@link #forwardBackward} needs for these sizes and path (0 on the CPU). */
    long workspaceBytes(int b, int k, int dt, int ds, DType bankType, LossPath path);

    /**
     * Writes lossPerQuery (B), lossMean (1) and gradStudent (B x Ds, w.r.t. the normalised S). The workspace
     * (U8, at least workspaceBytes) may be null on the CPU.
     */
    void forwardBackward(Tensor teacher, Tensor student, Tensor teacherBank, Tensor studentBank, float tau,
                         Tensor lossPerQuery, Tensor lossMean, Tensor gradStudent, Tensor workspace, LossPath path);

    static void check(Tensor teacher, Tensor student, Tensor teacherBank, Tensor studentBank, float tau,
                      Tensor lossPerQuery, Tensor lossMean, Tensor gradStudent) {
        Checks.rank("compress loss teacher", teacher, 2);
        Checks.rank("compress loss student", student, 2);
        Checks.dtype("compress loss teacher", teacher, DType.F32);
        Checks.dtype("compress loss student", student, DType.F32);
        Checks.rank("compress loss teacher bank", teacherBank, 2);
        Checks.rank("compress loss student bank", studentBank, 2);
        Checks.dtype("compress loss teacher bank", teacherBank, DType.F32, DType.BF16);
        if (studentBank.dtype() != teacherBank.dtype()) {
            throw new ShapeMismatchException("compress loss: both banks must have one dtype, found teacher bank "
                    + teacherBank + " and student bank " + studentBank);
        }
        int b = teacher.dim(0);
        if (student.dim(0) != b) {
            throw new ShapeMismatchException("compress loss: teacher has " + b + " rows, student " + student.dim(0));
        }
        Checks.positive("compress loss batch size B", b);
        if (teacherBank.dim(1) != teacher.dim(1)) {
            throw new ShapeMismatchException("compress loss: teacher embeddings are " + teacher.dim(1)
                    + "-d but the teacher bank holds " + teacherBank.dim(1) + "-d anchors");
        }
        if (studentBank.dim(1) != student.dim(1)) {
            throw new ShapeMismatchException("compress loss: student embeddings are " + student.dim(1)
                    + "-d but the student bank holds " + studentBank.dim(1) + "-d anchors"
                    + (studentBank == teacherBank ? " (1q: project the student to the teacher's dimension first)" : ""));
        }
        if (studentBank.dim(0) != teacherBank.dim(0)) {
            throw new ShapeMismatchException("compress loss: banks hold " + teacherBank.dim(0) + " and "
                    + studentBank.dim(0) + " anchors; they must match");
        }
        Checks.positive("compress loss bank size K", teacherBank.dim(0));
        if (!(tau > 0) || !Float.isFinite(tau)) {
            throw new IllegalArgumentException("compress loss: temperature must be finite and > 0, found " + tau);
        }
        Checks.shape("compress loss lossPerQuery", lossPerQuery, b);
        Checks.dtype("compress loss lossPerQuery", lossPerQuery, DType.F32);
        Checks.shape("compress loss lossMean", lossMean, 1);
        Checks.dtype("compress loss lossMean", lossMean, DType.F32);
        Checks.shape("compress loss gradStudent", gradStudent, b, student.dim(1));
        Checks.dtype("compress loss gradStudent", gradStudent, DType.F32);
    }
}
