// Fast CPU CompRess loss: the two similarity GEMMs (zt = T Qt^T / tau, zs = S Qs^T / tau) and the gradient GEMM
// (dS = (ps - pt) Qs / (tau B)) in oneDNN's sgemm, the per-row softmax / KL natively over the OpenMP pool (sums and
// KL in double). The B x K logit buffers are kept between calls. F32 banks only; BF16 banks go to the reference.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.CompressLossOp;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class DnnlCompressLoss implements CompressLossOp {
    private final CompressLossOp reference;
    private float[] zt = new float[0];
    private float[] zs = new float[0];

    DnnlCompressLoss(CompressLossOp reference) { this.reference = reference; }

    @Override public long workspaceBytes(int b, int k, int dt, int ds, DType bankType, LossPath path) { return 0; }

    @Override
    public synchronized void forwardBackward(Tensor teacher, Tensor student, Tensor teacherBank, Tensor studentBank, float tau,
                                             Tensor lossPerQuery, Tensor lossMean, Tensor gradStudent, Tensor workspace, LossPath path) {
        CompressLossOp.check(teacher, student, teacherBank, studentBank, tau, lossPerQuery, lossMean, gradStudent);
        if (teacherBank.dtype() != DType.F32) {
            reference.forwardBackward(teacher, student, teacherBank, studentBank, tau, lossPerQuery, lossMean, gradStudent, workspace, path);
            return;
        }
        int b = teacher.dim(0), k = teacherBank.dim(0), dt = teacher.dim(1), ds = student.dim(1);
        if (zt.length < b * k) {
            zt = new float[b * k];
            zs = new float[b * k];
        }
        DnnlNative.sgemm(false, true, b, k, dt, 1f / tau, teacher.cpuStorage().f32(), (int) teacher.offset(), dt,
                teacherBank.cpuStorage().f32(), (int) teacherBank.offset(), dt, 0f, zt, 0, k);
        DnnlNative.sgemm(false, true, b, k, ds, 1f / tau, student.cpuStorage().f32(), (int) student.offset(), ds,
                studentBank.cpuStorage().f32(), (int) studentBank.offset(), ds, 0f, zs, 0, k);
        float[] loss = lossPerQuery.cpuStorage().f32();
        int lo = (int) lossPerQuery.offset();
        DnnlNative.compressLossRows(b, k, zt, zs, loss, lo);
        DnnlNative.sgemm(false, false, b, ds, k, (float) (1.0 / ((double) tau * b)), zs, 0, k, studentBank.cpuStorage().f32(),
                (int) studentBank.offset(), ds, 0f, gradStudent.cpuStorage().f32(), (int) gradStudent.offset(), ds);
        double sum = 0;
        for (int i = 0; i < b; i++) sum += loss[lo + i];
        lossMean.cpuStorage().f32()[(int) lossMean.offset()] = (float) (sum / b);
    }
}
