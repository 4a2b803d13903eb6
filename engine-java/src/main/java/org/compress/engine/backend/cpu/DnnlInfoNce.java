// Fast CPU InfoNCE: the bank GEMM (z = q Q^T / tau) and the gradient GEMM (dq = p Q / (tau B), plus the positive
// key's term) in oneDNN's sgemm, the per-row softmax natively over the OpenMP pool (sums in double). The B x K
// logit buffer is kept between calls. F32 banks only; a BF16 bank goes to the reference.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.InfoNceOp;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class DnnlInfoNce implements InfoNceOp {
    private final InfoNceOp reference;
    private float[] z = new float[0];
    private float[] pos = new float[0];

    DnnlInfoNce(InfoNceOp reference) { this.reference = reference; }

    @Override public long workspaceBytes(int b, int k, int d, DType bankType, LossPath path) { return 0; }

    @Override
    public synchronized void forwardBackward(Tensor q, Tensor kPositive, Tensor bank, float tau, Tensor lossPerQuery, Tensor lossMean,
                                             Tensor gradQ, Tensor workspace, LossPath path) {
        InfoNceOp.check(q, kPositive, bank, tau, lossPerQuery, lossMean, gradQ);
        if (bank.dtype() != DType.F32) {
            reference.forwardBackward(q, kPositive, bank, tau, lossPerQuery, lossMean, gradQ, workspace, path);
            return;
        }
        int b = q.dim(0), k = bank.dim(0), d = q.dim(1);
        if (z.length < b * k) z = new float[b * k];
        if (pos.length < b) pos = new float[b];
        float[] qa = q.cpuStorage().f32(), ka = kPositive.cpuStorage().f32(), ga = gradQ.cpuStorage().f32();
        int qo = (int) q.offset(), ko = (int) kPositive.offset(), go = (int) gradQ.offset();
        for (int i = 0; i < b; i++) {
            double dot = 0;
            for (int c = 0; c < d; c++) dot += (double) qa[qo + i * d + c] * ka[ko + i * d + c];
            pos[i] = (float) (dot / tau);
        }
        DnnlNative.sgemm(false, true, b, k, d, 1f / tau, qa, qo, d, bank.cpuStorage().f32(), (int) bank.offset(), d, 0f, z, 0, k);
        float[] loss = lossPerQuery.cpuStorage().f32();
        int lo = (int) lossPerQuery.offset();
        DnnlNative.infoNceRows(b, k, z, pos, loss, lo);
        float scale = (float) (1.0 / ((double) tau * b));
        DnnlNative.sgemm(false, false, b, d, k, scale, z, 0, k, bank.cpuStorage().f32(), (int) bank.offset(), d, 0f, ga, go, d);
        double sum = 0;
        for (int i = 0; i < b; i++) {
            float w = pos[i] * scale;
            for (int c = 0; c < d; c++) ga[go + i * d + c] += w * ka[ko + i * d + c];
            sum += loss[lo + i];
        }
        lossMean.cpuStorage().f32()[(int) lossMean.offset()] = (float) (sum / b);
    }
}
