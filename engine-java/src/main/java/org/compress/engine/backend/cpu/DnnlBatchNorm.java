// Fast CPU batch normalisation: the per-channel passes run natively over the OpenMP pool (libcompress_cpu.so:
// float sums per (image, channel) row, double across rows); the per-channel bookkeeping (saved inverse std,
// running statistics, the inference scale) stays here, in double as the reference.
// F32 NCHW or CHANNELS_LAST (NHWC); BF16 goes to the reference.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.BatchNormOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

final class DnnlBatchNorm implements BatchNormOp {
    private final BatchNormOp reference;
    private float[] mean = new float[0];
    private float[] var = new float[0];

    DnnlBatchNorm(BatchNormOp reference) { this.reference = reference; }

    private static boolean fast(Tensor... ts) {
        for (Tensor t : ts) if (t.dtype() != DType.F32 || t.format() != ts[0].format()) return false;
        return true;
    }

    private static boolean nhwc(Tensor x) { return x.format() == MemoryFormat.CHANNELS_LAST; }

    private void scratch(int c) {
        if (mean.length < c) {
            mean = new float[c];
            var = new float[c];
        }
    }

    /**
     * scale[ch] = gamma / sqrt(running_var + eps), rounded once from double: inference computes
     * (x - running_mean) * scale + beta in float (channelAffine); the fused convolution folds the same scale.
     */
    static void inferenceScale(Tensor gamma, Tensor runningVar, float eps, float[] scale) {
        float[] g = a(gamma), rv = a(runningVar);
        for (int ch = 0; ch < gamma.dim(0); ch++) scale[ch] = (float) (g[o(gamma) + ch] / Math.sqrt((double) rv[o(runningVar) + ch] + eps));
    }

    private static float[] a(Tensor t) { return t.cpuStorage().f32(); }

    private static int o(Tensor t) { return (int) t.offset(); }

    @Override public synchronized void forwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                       float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        BatchNormOp.checkTraining(x, y, momentum, eps);
        BatchNormOp.checkChannel("batchnorm", x, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        if (!fast(x, y)) {
            reference.forwardTraining(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
            return;
        }
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        scratch(c);
        DnnlNative.batchNormTraining(nhwc(x), n, c, hw, eps, a(x), o(x), a(gamma), o(gamma), a(beta), o(beta), a(y), o(y), mean, 0, var, 0);
        long count = (long) n * hw;
        float[] rm = a(runningMean), rv = a(runningVar), sm = a(saveMean), si = a(saveInvStd);
        for (int ch = 0; ch < c; ch++) {
            sm[o(saveMean) + ch] = mean[ch];
            si[o(saveInvStd) + ch] = (float) (1.0 / Math.sqrt((double) var[ch] + eps));
            rm[o(runningMean) + ch] = (float) ((1 - momentum) * rm[o(runningMean) + ch] + momentum * (double) mean[ch]);
            rv[o(runningVar) + ch] = (float) ((1 - momentum) * rv[o(runningVar) + ch] + momentum * (double) var[ch] * count / (count - 1));
        }
    }

    @Override public synchronized void forwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                        float eps, Tensor y) {
        BatchNormOp.checkActivations("batchnorm", x, y);
        BatchNormOp.checkChannel("batchnorm", x, gamma, beta, runningMean, runningVar);
        if (!fast(x, y)) {
            reference.forwardInference(x, gamma, beta, runningMean, runningVar, eps, y);
            return;
        }
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        scratch(c);
        inferenceScale(gamma, runningVar, eps, mean);
        DnnlNative.channelAffine(nhwc(x), n, c, hw, a(x), o(x), a(runningMean), o(runningMean), mean, 0, a(beta), o(beta), a(y), o(y));
    }

    @Override public synchronized void backward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, float eps,
                                                 Tensor dx, Tensor dGamma, Tensor dBeta) {
        BatchNormOp.checkActivations("batchnorm backward", x, dy);
        BatchNormOp.checkActivations("batchnorm backward", x, dx);
        BatchNormOp.checkChannel("batchnorm backward", x, gamma, saveMean, saveInvStd, dGamma, dBeta);
        if (!fast(x, dy, dx)) {
            reference.backward(x, dy, gamma, saveMean, saveInvStd, eps, dx, dGamma, dBeta);
            return;
        }
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        DnnlNative.batchNormBackward(nhwc(x), n, c, hw, a(x), o(x), a(dy), o(dy), a(gamma), o(gamma), a(saveMean), o(saveMean),
                a(saveInvStd), o(saveInvStd), a(dx), o(dx), a(dGamma), o(dGamma), a(dBeta), o(dBeta));
    }

    @Override public void countBatch(Tensor counter) { reference.countBatch(counter); }
}
