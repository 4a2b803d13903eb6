// Spatial batch normalisation (PyTorch's BatchNorm2d): per channel c over (N, H, W),
// y = gamma * (x - mean) / sqrt(var + eps) + beta. Training uses the batch's mean and biased variance and
// updates running_mean/running_var with momentum (running_var takes the unbiased variance, as PyTorch);
// inference uses the running statistics. x, y, dx, dy: (N, C, H, W), one dtype, F32 or BF16 (statistics are
// computed in FP32 or better either way); every per-channel tensor (affine, running and saved stats): (C) F32.
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface BatchNormOp {
    /**
     * Normalises with the batch statistics, writes y, saves mean and 1/sqrt(var + eps) for backward, and
     * updates running = (1 - momentum) * running + momentum * batch (variance unbiased: * n / (n - 1)).
     */
    void forwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float momentum, float eps,
                         Tensor y, Tensor saveMean, Tensor saveInvStd);

    /** Normalises with the running statistics. */
    void forwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y);

    /** Gradients of a training-mode forward: dx, dGamma, dBeta are overwritten. */
    void backward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, float eps, Tensor dx, Tensor dGamma,
                  Tensor dBeta);

    /** counter += 1 for a 0-d I64 tensor (PyTorch's num_batches_tracked); no host synchronisation. */
    void countBatch(Tensor counter);

    static void checkActivations(String what, Tensor x, Tensor y) {
        Checks.rank(what + " x", x, 4);
        Checks.dtype(what + " x", x, DType.F32, DType.BF16);
        Checks.sameShape(what + " y vs x", y, x);
        Checks.dtype(what + " y (the dtype of x)", y, x.dtype());
        if (y.format() != x.format()) throw new ShapeMismatchException(what + ": x is " + x + " but y is " + y);
    }

    static void checkChannel(String what, Tensor x, Tensor... perChannel) {
        for (Tensor t : perChannel) {
            Checks.shape(what + " per-channel tensor", t, x.dim(1));
            Checks.dtype(what + " per-channel tensor", t, DType.F32);
        }
    }

    static void checkTraining(Tensor x, Tensor y, float momentum, float eps) {
        checkActivations("batchnorm", x, y);
        long perChannel = (long) x.dim(0) * x.dim(2) * x.dim(3);
        if (perChannel < 2) {
            throw new ShapeMismatchException("batchnorm (training): expected more than 1 value per channel, found " + x);
        }
        if (!(momentum >= 0 && momentum <= 1) || !(eps > 0)) {
            throw new IllegalArgumentException("batchnorm: expected 0 <= momentum <= 1 and eps > 0, found momentum " + momentum
                    + ", eps " + eps);
        }
    }

    static void checkCounter(Tensor counter) {
        Checks.rank("batchnorm num_batches_tracked", counter, 0);
        Checks.dtype("batchnorm num_batches_tracked", counter, DType.I64);
    }
}
