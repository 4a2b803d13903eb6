// CUDA per-channel bias: cudnnAddTensor (broadcast add) and cudnnConvolutionBackwardBias (sum over N, H, W).
package org.compress.engine.backend.cuda;

import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.javacpp.FloatPointer;
import org.compress.engine.ops.BiasOp;
import org.compress.engine.tensor.Tensor;

final class CudaBias implements BiasOp, AutoCloseable {
    private final CudaBackend cuda;
    private final CudnnTensors descriptors = new CudnnTensors();
    private final FloatPointer one = new FloatPointer(1f);
    private final FloatPointer zero = new FloatPointer(0f);

    CudaBias(CudaBackend cuda) { this.cuda = cuda; }

    @Override public void forward(Tensor y, Tensor bias) {
        BiasOp.check(y, bias);
        Native.check(Native.Library.CUDNN, cudnn.cudnnAddTensor(cuda.cudnn(), one, descriptors.channels(y.dim(1)), cuda.pointer(bias),
                one, descriptors.of(y), cuda.pointer(y)), "cudnnAddTensor(bias)");
    }

    @Override public void backward(Tensor dy, Tensor dBias) {
        BiasOp.check(dy, dBias);
        Native.check(Native.Library.CUDNN, cudnn.cudnnConvolutionBackwardBias(cuda.cudnn(), one, descriptors.of(dy), cuda.pointer(dy),
                zero, descriptors.channels(dy.dim(1)), cuda.pointer(dBias)), "cudnnConvolutionBackwardBias");
    }

    @Override public void close() { descriptors.close(); }
}
