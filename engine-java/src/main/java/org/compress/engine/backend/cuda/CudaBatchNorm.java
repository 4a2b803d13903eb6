// cuDNN spatial batch normalisation (cudnnBatchNormalizationForwardTraining / ForwardInference / Backward).
// cuDNN updates the running variance with the unbiased batch variance and saves 1/sqrt(var + eps), the same
// contract as BatchNormOp; num_batches_tracked is incremented by a one-thread kernel (no host sync). BF16 x/y
// (NCHW or NHWC) run with FLOAT per-channel tensors: cuDNN keeps statistics and affine parameters in fp32.
package org.compress.engine.backend.cuda;

import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.javacpp.FloatPointer;
import org.compress.engine.ops.BatchNormOp;
import org.compress.engine.tensor.Tensor;

final class CudaBatchNorm implements BatchNormOp, AutoCloseable {
    private static final Native.Library CUDNN = Native.Library.CUDNN;

    private final CudaBackend cuda;
    private final CudnnTensors descriptors = new CudnnTensors();
    private final FloatPointer one = new FloatPointer(1f);
    private final FloatPointer zero = new FloatPointer(0f);

    CudaBatchNorm(CudaBackend cuda) { this.cuda = cuda; }

    @Override public void forwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                          float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        BatchNormOp.checkTraining(x, y, momentum, eps);
        BatchNormOp.checkChannel("batchnorm", x, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        checkEps(eps);
        cudnnTensorStruct xd = descriptors.of(x), cd = descriptors.channels(x.dim(1));
        Native.check(CUDNN, cudnn.cudnnBatchNormalizationForwardTraining(cuda.cudnn(), cudnn.CUDNN_BATCHNORM_SPATIAL, one, zero,
                xd, cuda.pointer(x), xd, cuda.pointer(y), cd, cuda.pointer(gamma), cuda.pointer(beta), momentum,
                cuda.pointer(runningMean), cuda.pointer(runningVar), eps, cuda.pointer(saveMean), cuda.pointer(saveInvStd)),
                "cudnnBatchNormalizationForwardTraining");
    }

    @Override public void forwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps,
                                           Tensor y) {
        BatchNormOp.checkActivations("batchnorm", x, y);
        BatchNormOp.checkChannel("batchnorm", x, gamma, beta, runningMean, runningVar);
        checkEps(eps);
        cudnnTensorStruct xd = descriptors.of(x), cd = descriptors.channels(x.dim(1));
        Native.check(CUDNN, cudnn.cudnnBatchNormalizationForwardInference(cuda.cudnn(), cudnn.CUDNN_BATCHNORM_SPATIAL, one, zero,
                xd, cuda.pointer(x), xd, cuda.pointer(y), cd, cuda.pointer(gamma), cuda.pointer(beta),
                cuda.pointer(runningMean), cuda.pointer(runningVar), eps), "cudnnBatchNormalizationForwardInference");
    }

    @Override public void backward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, float eps, Tensor dx,
                                   Tensor dGamma, Tensor dBeta) {
        BatchNormOp.checkActivations("batchnorm backward", x, dy);
        BatchNormOp.checkActivations("batchnorm backward", x, dx);
        BatchNormOp.checkChannel("batchnorm backward", x, gamma, saveMean, saveInvStd, dGamma, dBeta);
        checkEps(eps);
        cudnnTensorStruct xd = descriptors.of(x), cd = descriptors.channels(x.dim(1));
        Native.check(CUDNN, cudnn.cudnnBatchNormalizationBackward(cuda.cudnn(), cudnn.CUDNN_BATCHNORM_SPATIAL, one, zero, one, zero,
                xd, cuda.pointer(x), xd, cuda.pointer(dy), xd, cuda.pointer(dx), cd, cuda.pointer(gamma), cuda.pointer(dGamma),
                cuda.pointer(dBeta), eps, cuda.pointer(saveMean), cuda.pointer(saveInvStd)), "cudnnBatchNormalizationBackward");
    }

    @Override public void countBatch(Tensor counter) {
        BatchNormOp.checkCounter(counter);
        Native.check(Native.Library.KERNEL, NnKernels.incrementI64(cuda.address(counter), cuda.stream().address()), "increment_i64");
    }

    private static void checkEps(float eps) {
        if (eps < cudnn.CUDNN_BN_MIN_EPSILON) {
            throw new IllegalArgumentException("batchnorm (cuDNN): expected eps >= " + cudnn.CUDNN_BN_MIN_EPSILON + ", found " + eps);
        }
    }

    @Override public void close() { descriptors.close(); }
}
