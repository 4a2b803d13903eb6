// CPU reference for the CompRess loss: per query, the K logits of both sides in double, log-sum-exp,
// KL(pt || ps) and the gradient (ps - pt) Qs / (tau B). Queries are independent, so they run in parallel;
// each query's arithmetic is sequential and identical run to run.
package org.compress.engine.backend.cpu;

import java.util.stream.IntStream;
import org.compress.engine.backend.HostData;
import org.compress.engine.ops.CompressLossOp;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class CpuCompressLoss implements CompressLossOp {
    @Override public long workspaceBytes(int b, int k, int dt, int ds, DType bankType, LossPath path) { return 0; }

    @Override
    public void forwardBackward(Tensor teacher, Tensor student, Tensor teacherBank, Tensor studentBank, float tau,
                                Tensor lossPerQuery, Tensor lossMean, Tensor gradStudent, Tensor workspace, LossPath path) {
        CompressLossOp.check(teacher, student, teacherBank, studentBank, tau, lossPerQuery, lossMean, gradStudent);
        int b = teacher.dim(0), k = teacherBank.dim(0), dt = teacher.dim(1), ds = student.dim(1);
        float[] t = HostData.toFloats(teacher), s = HostData.toFloats(student);
        float[] qt = HostData.toFloats(teacherBank);
        float[] qs = studentBank == teacherBank ? qt : HostData.toFloats(studentBank);
        double[] losses = new double[b];
        double[][] grads = new double[b][];
        IntStream.range(0, b).parallel().forEach(i -> {
            double[] zt = logits(t, i, dt, qt, k, tau);
            double[] zs = logits(s, i, ds, qs, k, tau);
            double lseT = logSumExp(zt), lseS = logSumExp(zs);
            double kl = 0;
            double[] g = new double[ds];
            for (int j = 0; j < k; j++) {
                double logPt = zt[j] - lseT, logPs = zs[j] - lseS;
                double pt = Math.exp(logPt), ps = Math.exp(logPs);
                kl += pt * (logPt - logPs);
                double w = (ps - pt) / ((double) tau * b);
                for (int d = 0; d < ds; d++) g[d] += w * qs[j * ds + d];
            }
            losses[i] = kl;
            grads[i] = g;
        });
        float[] lq = lossPerQuery.cpuStorage().f32();
        float[] gs = gradStudent.cpuStorage().f32();
        int lo = (int) lossPerQuery.offset(), go = (int) gradStudent.offset();
        double sum = 0;
        for (int i = 0; i < b; i++) {
            lq[lo + i] = (float) losses[i];
            sum += losses[i];
            for (int d = 0; d < ds; d++) gs[go + i * ds + d] = (float) grads[i][d];
        }
        lossMean.cpuStorage().f32()[(int) lossMean.offset()] = (float) (sum / b);
    }

    /** z_j = (x_i . bank_j) / tau in double. */
    static double[] logits(float[] x, int i, int d, float[] bank, int k, float tau) {
        double[] z = new double[k];
        for (int j = 0; j < k; j++) {
            double dot = 0;
            for (int c = 0; c < d; c++) dot += (double) x[i * d + c] * bank[j * d + c];
            z[j] = dot / tau;
        }
        return z;
    }

    static double logSumExp(double[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) max = Math.max(max, v);
        double sum = 0;
        for (double v : z) sum += Math.exp(v - max);
        return max + Math.log(sum);
    }
}
