// CUDA pooling: max pooling through cuDNN (deterministic mode, NaN propagated as PyTorch), adaptive average
// pooling through our kernel (kernels/adaptive_pool.cu; cuDNN has no uneven-bin pooling). F32 or BF16 tensors
// (cuDNN pools bf16 natively; our kernel sums in fp32 and rounds once).
package org.compress.engine.backend.cuda;

import java.util.HashMap;
import java.util.Map;
import org.bytedeco.cuda.cudnn.cudnnPoolingStruct;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.javacpp.FloatPointer;
import org.compress.engine.ops.PoolParams;
import org.compress.engine.ops.PoolingOp;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

final class CudaPooling implements PoolingOp, AutoCloseable {
    private static final Native.Library CUDNN = Native.Library.CUDNN;

    private final CudaBackend cuda;
    private final CudnnTensors descriptors = new CudnnTensors();
    private final Map<PoolParams, cudnnPoolingStruct> pools = new HashMap<>();
    private final FloatPointer one = new FloatPointer(1f);
    private final FloatPointer zero = new FloatPointer(0f);

    CudaPooling(CudaBackend cuda) { this.cuda = cuda; }

    private synchronized cudnnPoolingStruct pool(PoolParams p) {
        cudnnPoolingStruct d = pools.get(p);
        if (d != null) return d;
        d = new cudnnPoolingStruct();
        Native.check(CUDNN, cudnn.cudnnCreatePoolingDescriptor(d), "cudnnCreatePoolingDescriptor");
        Native.check(CUDNN, cudnn.cudnnSetPooling2dDescriptor(d, cudnn.CUDNN_POOLING_MAX_DETERMINISTIC, cudnn.CUDNN_PROPAGATE_NAN,
                p.kernelH(), p.kernelW(), p.padH(), p.padW(), p.strideH(), p.strideW()), "cudnnSetPooling2dDescriptor(" + p + ")");
        pools.put(p, d);
        return d;
    }

    @Override public void maxForward(Tensor x, Tensor y, PoolParams p) {
        PoolingOp.checkMax(x, y, p);
        Native.check(CUDNN, cudnn.cudnnPoolingForward(cuda.cudnn(), pool(p), one, descriptors.of(x), cuda.pointer(x), zero,
                descriptors.of(y), cuda.pointer(y)), "cudnnPoolingForward(max)");
    }

    @Override public void maxBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, PoolParams p) {
        PoolingOp.checkMaxBackward(x, y, dy, dx, p);
        sameFormat("maxpool dy vs y", y, dy);
        sameFormat("maxpool dx vs x", x, dx);
        Native.check(CUDNN, cudnn.cudnnPoolingBackward(cuda.cudnn(), pool(p), one, descriptors.of(y), cuda.pointer(y),
                descriptors.of(dy), cuda.pointer(dy), descriptors.of(x), cuda.pointer(x), zero, descriptors.of(dx), cuda.pointer(dx)),
                "cudnnPoolingBackward(max)");
    }

    @Override public void adaptiveAvgForward(Tensor x, Tensor y) {
        PoolingOp.checkAdaptive(x, y);
        sameFormat("adaptive avgpool y vs x", x, y);
        boolean cl = x.format() == MemoryFormat.CHANNELS_LAST;
        long s = cuda.stream().address();
        if (x.dtype() == DType.BF16) {
            Native.check(Native.Library.KERNEL, NnKernels.adaptiveAvgPoolForwardBf16(cuda.address(x), cuda.address(y), x.dim(0),
                    x.dim(1), x.dim(2), x.dim(3), y.dim(2), y.dim(3), cl, s), "adaptive_avg_pool_forward_bf16");
        } else {
            Native.check(Native.Library.KERNEL, NnKernels.adaptiveAvgPoolForwardF32(cuda.address(x), cuda.address(y), x.dim(0),
                    x.dim(1), x.dim(2), x.dim(3), y.dim(2), y.dim(3), cl, s), "adaptive_avg_pool_forward_f32");
        }
    }

    @Override public void adaptiveAvgBackward(Tensor dy, Tensor dx) {
        PoolingOp.checkAdaptive(dx, dy);
        sameFormat("adaptive avgpool dy vs dx", dx, dy);
        boolean cl = dx.format() == MemoryFormat.CHANNELS_LAST;
        long s = cuda.stream().address();
        if (dx.dtype() == DType.BF16) {
            Native.check(Native.Library.KERNEL, NnKernels.adaptiveAvgPoolBackwardBf16(cuda.address(dy), cuda.address(dx), dx.dim(0),
                    dx.dim(1), dx.dim(2), dx.dim(3), dy.dim(2), dy.dim(3), cl, s), "adaptive_avg_pool_backward_bf16");
        } else {
            Native.check(Native.Library.KERNEL, NnKernels.adaptiveAvgPoolBackwardF32(cuda.address(dy), cuda.address(dx), dx.dim(0),
                    dx.dim(1), dx.dim(2), dx.dim(3), dy.dim(2), dy.dim(3), cl, s), "adaptive_avg_pool_backward_f32");
        }
    }

    private static void sameFormat(String what, Tensor a, Tensor b) {
        if (a.format() != b.format()) throw new ShapeMismatchException(what + ": formats differ: " + a + " vs " + b);
    }

    @Override public synchronized void close() {
        pools.values().forEach(cudnn::cudnnDestroyPoolingDescriptor);
        pools.clear();
        descriptors.close();
    }
}
