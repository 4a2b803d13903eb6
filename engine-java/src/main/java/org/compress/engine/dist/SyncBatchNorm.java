// Synchronised batch norm (torch.nn.SyncBatchNorm) on the CPU: the training statistics are those of the global
// batch, so a data-parallel run normalises as the single-process run does. Per layer and step: forward sums the
// per-channel sums and count over ranks, then the centred sums of squares (two passes, as CpuBatchNorm, so no
// cancellation); backward sums sum(dy) and sum(dy * xhat) and, as PyTorch, uses them with the local dy. The sums
// are taken in double (DistributedContext.allReduceSumPrecise), as CpuBatchNorm accumulates:
//   dx = gamma * invStd / N * (N * dy - SUM(dy) - xhat * SUM(dy * xhat))   (N, SUM: over every rank)
// dGamma and dBeta stay local sums; the gradient all-reduce then averages them like any parameter's gradient.
// Inference uses the running statistics, which every rank updates with the same global values. NCHW or CHANNELS_LAST
// (NHWC, the fast CPU backend's layout) activations: each channel's values are visited in the same (n, h, w) order
// in both, so the two layouts give the same bits.
package org.compress.engine.dist;

import org.compress.engine.ops.BatchNormOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

final class SyncBatchNorm implements BatchNormOp {
    private final DistributedContext dist;

    SyncBatchNorm(DistributedContext dist) { this.dist = dist; }

    @Override public void forwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float momentum, float eps,
                                          Tensor y, Tensor saveMean, Tensor saveInvStd) {
        BatchNormOp.checkTraining(x, y, momentum, eps);
        BatchNormOp.checkChannel("sync batchnorm", x, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        check(x);
        check(y);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3), st = stride(x);
        float[] xa = x.cpuStorage().f32(), ya = y.cpuStorage().f32();
        int xo = (int) x.offset(), yo = (int) y.offset();
        double[] sums = new double[c + 1];
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int b = 0; b < n; b++) for (int i = 0, base = xo + base(x, b, ch); i < hw; i++) sum += xa[base + i * st];
            sums[ch] = sum;
        }
        sums[c] = (long) n * hw;
        sums = dist.allReduceSumPrecise(sums);
        double count = sums[c];
        double[] mean = new double[c];
        double[] sq = new double[c];
        for (int ch = 0; ch < c; ch++) {
            mean[ch] = sums[ch] / count;
            double s = 0;
            for (int b = 0; b < n; b++) {
                for (int i = 0, base = xo + base(x, b, ch); i < hw; i++) {
                    double d = xa[base + i * st] - mean[ch];
                    s += d * d;
                }
            }
            sq[ch] = s;
        }
        sq = dist.allReduceSumPrecise(sq);
        for (int ch = 0; ch < c; ch++) {
            double var = sq[ch] / count, invStd = 1.0 / Math.sqrt(var + eps);
            double scale = get(gamma, ch) * invStd, shift = get(beta, ch) - mean[ch] * scale;
            for (int b = 0; b < n; b++) {
                int xb = xo + base(x, b, ch), yb = yo + base(y, b, ch);
                for (int i = 0; i < hw; i++) ya[yb + i * st] = (float) (xa[xb + i * st] * scale + shift);
            }
            set(saveMean, ch, (float) mean[ch]);
            set(saveInvStd, ch, (float) invStd);
            set(runningMean, ch, (float) ((1 - momentum) * get(runningMean, ch) + momentum * mean[ch]));
            set(runningVar, ch, (float) ((1 - momentum) * get(runningVar, ch) + momentum * var * count / (count - 1)));
        }
    }

    @Override public void forwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y) {
        local().forwardInference(x, gamma, beta, runningMean, runningVar, eps, y);
    }

    @Override public void backward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, float eps, Tensor dx, Tensor dGamma,
                                   Tensor dBeta) {
        BatchNormOp.checkActivations("sync batchnorm backward", x, dy);
        BatchNormOp.checkActivations("sync batchnorm backward", x, dx);
        BatchNormOp.checkChannel("sync batchnorm backward", x, gamma, saveMean, saveInvStd, dGamma, dBeta);
        check(x);
        check(dy);
        check(dx);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3), st = stride(x);
        if (dy.format() != x.format() || dx.format() != x.format()) {
            throw new UnsupportedOperationException("sync batchnorm backward: x, dy and dx must share one layout, found " + x + ", " + dy + ", " + dx);
        }
        float[] xa = x.cpuStorage().f32(), ga = dy.cpuStorage().f32(), da = dx.cpuStorage().f32();
        int xo = (int) x.offset(), go = (int) dy.offset(), dxo = (int) dx.offset();
        double[] sums = new double[2 * c + 1];
        for (int ch = 0; ch < c; ch++) {
            double mean = get(saveMean, ch), invStd = get(saveInvStd, ch), sumDy = 0, sumDyXhat = 0;
            for (int b = 0; b < n; b++) {
                int xb = xo + base(x, b, ch), gb = go + base(x, b, ch);
                for (int i = 0; i < hw; i++) {
                    sumDy += ga[gb + i * st];
                    sumDyXhat += ga[gb + i * st] * ((xa[xb + i * st] - mean) * invStd);
                }
            }
            set(dBeta, ch, (float) sumDy);         // local: averaged with the other gradients
            set(dGamma, ch, (float) sumDyXhat);
            sums[ch] = sumDy;
            sums[c + ch] = sumDyXhat;
        }
        sums[2 * c] = (long) n * hw;
        sums = dist.allReduceSumPrecise(sums);
        double count = sums[2 * c];
        for (int ch = 0; ch < c; ch++) {
            double mean = get(saveMean, ch), invStd = get(saveInvStd, ch);
            double k = get(gamma, ch) * invStd / count;
            for (int b = 0; b < n; b++) {
                int xb = xo + base(x, b, ch), gb = go + base(x, b, ch), db = dxo + base(x, b, ch);
                for (int i = 0; i < hw; i++) {
                    double xhat = (xa[xb + i * st] - mean) * invStd;
                    da[db + i * st] = (float) (k * (count * ga[gb + i * st] - sums[ch] - xhat * sums[c + ch]));
                }
            }
        }
    }

    @Override public void countBatch(Tensor counter) { local().countBatch(counter); }

    private BatchNormOp local() { return dist.backend().batchNorm(); }

    private static void check(Tensor t) {
        if (t.device().isCuda() || t.dtype() != DType.F32
                || (t.format() != MemoryFormat.CONTIGUOUS && t.format() != MemoryFormat.CHANNELS_LAST)) {
            throw new UnsupportedOperationException("synchronised batch norm runs on the CPU backend with F32 NCHW or NHWC activations, found " + t);
        }
    }

    /** Offset of element (b, ch, h = 0, w = 0) of a 4-d tensor; stride() steps to the next (h, w) position. */
    private static int base(Tensor t, int b, int ch) {
        int c = t.dim(1), hw = t.dim(2) * t.dim(3);
        return t.format() == MemoryFormat.CHANNELS_LAST ? b * hw * c + ch : (b * c + ch) * hw;
    }

    private static int stride(Tensor t) { return t.format() == MemoryFormat.CHANNELS_LAST ? t.dim(1) : 1; }

    private static float get(Tensor t, int i) { return t.cpuStorage().f32()[(int) t.offset() + i]; }

    private static void set(Tensor t, int i, float v) { t.cpuStorage().f32()[(int) t.offset() + i] = v; }
}
