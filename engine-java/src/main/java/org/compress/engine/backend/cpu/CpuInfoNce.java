// CPU reference for MoCo v2's InfoNCE: logits [q.k+, q.Q_j] / tau in double, cross-entropy with target 0,
// gradient (softmax - onehot) . keys / (tau B). Queries run in parallel; each is sequential.
package org.compress.engine.backend.cpu;

import java.util.stream.IntStream;
import org.compress.engine.backend.HostData;
import org.compress.engine.ops.InfoNceOp;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class CpuInfoNce implements InfoNceOp {
    @Override public long workspaceBytes(int b, int k, int d, DType bankType, LossPath path) { return 0; }

    @Override
    public void forwardBackward(Tensor q, Tensor kPositive, Tensor bank, float tau, Tensor lossPerQuery, Tensor lossMean,
                                Tensor gradQ, Tensor workspace, LossPath path) {
        InfoNceOp.check(q, kPositive, bank, tau, lossPerQuery, lossMean, gradQ);
        int b = q.dim(0), d = q.dim(1), k = bank.dim(0);
        float[] qa = HostData.toFloats(q), kp = HostData.toFloats(kPositive), qb = HostData.toFloats(bank);
        double[] losses = new double[b];
        double[][] grads = new double[b][];
        IntStream.range(0, b).parallel().forEach(i -> {
            double[] z = new double[k + 1];
            double pos = 0;
            for (int c = 0; c < d; c++) pos += (double) qa[i * d + c] * kp[i * d + c];
            z[0] = pos / tau;
            double[] neg = CpuCompressLoss.logits(qa, i, d, qb, k, tau);
            System.arraycopy(neg, 0, z, 1, k);
            double lse = CpuCompressLoss.logSumExp(z);
            losses[i] = lse - z[0];
            double[] g = new double[d];
            double scale = 1.0 / ((double) tau * b);
            double w0 = (Math.exp(z[0] - lse) - 1) * scale;
            for (int c = 0; c < d; c++) g[c] += w0 * kp[i * d + c];
            for (int j = 0; j < k; j++) {
                double w = Math.exp(z[j + 1] - lse) * scale;
                for (int c = 0; c < d; c++) g[c] += w * qb[j * d + c];
            }
            grads[i] = g;
        });
        float[] lq = lossPerQuery.cpuStorage().f32(), gq = gradQ.cpuStorage().f32();
        int lo = (int) lossPerQuery.offset(), go = (int) gradQ.offset();
        double sum = 0;
        for (int i = 0; i < b; i++) {
            lq[lo + i] = (float) losses[i];
            sum += losses[i];
            for (int c = 0; c < d; c++) gq[go + i * d + c] = (float) grads[i][c];
        }
        lossMean.cpuStorage().f32()[(int) lossMean.offset()] = (float) (sum / b);
    }
}
