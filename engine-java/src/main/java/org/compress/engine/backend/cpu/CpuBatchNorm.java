// CPU reference batch normalisation: per-channel loops with double accumulation of the statistics. BF16
// activations are read widened and written rounded once; the per-channel tensors are always F32.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.BatchNormOp;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.Tensor;

final class CpuBatchNorm implements BatchNormOp {
    @Override public void forwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                          float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        BatchNormOp.checkTraining(x, y, momentum, eps);
        BatchNormOp.checkChannel("batchnorm", x, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        contiguous(x, y);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        CpuFloats.View xv = CpuFloats.of(x), yv = CpuFloats.output(y);
        float[] xa = xv.a(), ya = yv.a();
        int xo = xv.off(), yo = yv.off();
        long count = (long) n * hw;
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int b = 0; b < n; b++) {
                int base = xo + (b * c + ch) * hw;
                for (int i = 0; i < hw; i++) sum += xa[base + i];
            }
            double mean = sum / count;
            double sq = 0;
            for (int b = 0; b < n; b++) {
                int base = xo + (b * c + ch) * hw;
                for (int i = 0; i < hw; i++) {
                    double d = xa[base + i] - mean;
                    sq += d * d;
                }
            }
            double var = sq / count;
            double invStd = 1.0 / Math.sqrt(var + eps);
            double scale = get(gamma, ch) * invStd, shift = get(beta, ch) - mean * scale;
            for (int b = 0; b < n; b++) {
                int xb = xo + (b * c + ch) * hw, yb = yo + (b * c + ch) * hw;
                for (int i = 0; i < hw; i++) ya[yb + i] = (float) (xa[xb + i] * scale + shift);
            }
            set(saveMean, ch, (float) mean);
            set(saveInvStd, ch, (float) invStd);
            set(runningMean, ch, (float) ((1 - momentum) * get(runningMean, ch) + momentum * mean));
            set(runningVar, ch, (float) ((1 - momentum) * get(runningVar, ch) + momentum * var * count / (count - 1)));
        }
        yv.commit();
    }

    @Override public void forwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps,
                                           Tensor y) {
        BatchNormOp.checkActivations("batchnorm", x, y);
        BatchNormOp.checkChannel("batchnorm", x, gamma, beta, runningMean, runningVar);
        contiguous(x, y);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        CpuFloats.View xv = CpuFloats.of(x), yv = CpuFloats.output(y);
        float[] xa = xv.a(), ya = yv.a();
        int xo = xv.off(), yo = yv.off();
        for (int ch = 0; ch < c; ch++) {
            double scale = get(gamma, ch) / Math.sqrt((double) get(runningVar, ch) + eps);
            double shift = get(beta, ch) - get(runningMean, ch) * scale;
            for (int b = 0; b < n; b++) {
                int xb = xo + (b * c + ch) * hw, yb = yo + (b * c + ch) * hw;
                for (int i = 0; i < hw; i++) ya[yb + i] = (float) (xa[xb + i] * scale + shift);
            }
        }
        yv.commit();
    }

    @Override public void backward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, float eps, Tensor dx,
                                   Tensor dGamma, Tensor dBeta) {
        BatchNormOp.checkActivations("batchnorm backward", x, dy);
        BatchNormOp.checkActivations("batchnorm backward", x, dx);
        BatchNormOp.checkChannel("batchnorm backward", x, gamma, saveMean, saveInvStd, dGamma, dBeta);
        contiguous(x, dy);
        Checks.contiguous("batchnorm dx (CPU)", dx);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        CpuFloats.View xv = CpuFloats.of(x), gv = CpuFloats.of(dy), dv = CpuFloats.output(dx);
        float[] xa = xv.a(), ga = gv.a(), da = dv.a();
        int xo = xv.off(), go = gv.off(), dxo = dv.off();
        long count = (long) n * hw;
        for (int ch = 0; ch < c; ch++) {
            double mean = get(saveMean, ch), invStd = get(saveInvStd, ch);
            double sumDy = 0, sumDyXhat = 0;
            for (int b = 0; b < n; b++) {
                int xb = xo + (b * c + ch) * hw, gb = go + (b * c + ch) * hw;
                for (int i = 0; i < hw; i++) {
                    sumDy += ga[gb + i];
                    sumDyXhat += ga[gb + i] * ((xa[xb + i] - mean) * invStd);
                }
            }
            // dx = gamma * invStd / n * (n * dy - sum(dy) - xhat * sum(dy * xhat))
            double k = get(gamma, ch) * invStd / count;
            for (int b = 0; b < n; b++) {
                int xb = xo + (b * c + ch) * hw, gb = go + (b * c + ch) * hw, db = dxo + (b * c + ch) * hw;
                for (int i = 0; i < hw; i++) {
                    double xhat = (xa[xb + i] - mean) * invStd;
                    da[db + i] = (float) (k * (count * ga[gb + i] - sumDy - xhat * sumDyXhat));
                }
            }
            set(dGamma, ch, (float) sumDyXhat);
            set(dBeta, ch, (float) sumDy);
        }
        dv.commit();
    }

    @Override public void countBatch(Tensor counter) {
        BatchNormOp.checkCounter(counter);
        counter.cpuStorage().i64()[(int) counter.offset()]++;
    }

    private static void contiguous(Tensor a, Tensor b) {
        Checks.contiguous("batchnorm (CPU)", a);
        Checks.contiguous("batchnorm (CPU)", b);
    }

    private static float get(Tensor t, int i) { return t.cpuStorage().f32()[(int) t.offset() + i]; }

    private static void set(Tensor t, int i, float v) { t.cpuStorage().f32()[(int) t.offset() + i] = v; }
}
