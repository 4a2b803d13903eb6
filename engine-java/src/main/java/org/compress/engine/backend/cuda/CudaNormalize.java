// CUDA row-wise L2 normalisation forward/backward (kernels/normalize.cu).
package org.compress.engine.backend.cuda;

import org.compress.engine.ops.NormalizeOp;
import org.compress.engine.tensor.Tensor;

final class CudaNormalize implements NormalizeOp {
    private final CudaBackend cuda;

    CudaNormalize(CudaBackend cuda) { this.cuda = cuda; }

    @Override public void forward(Tensor x, Tensor y, Tensor norms) {
        NormalizeOp.checkForward(x, y, norms);
        Native.check(Native.Library.KERNEL, NativeKernels.l2NormalizeRowsF32(cuda.address(x), cuda.address(y),
                cuda.address(norms), x.dim(0), x.dim(1), EPS, cuda.stream().address()), "l2_normalize_rows_f32");
    }

    @Override public void backward(Tensor y, Tensor norms, Tensor dy, Tensor dx) {
        NormalizeOp.checkBackward(y, norms, dy, dx);
        Native.check(Native.Library.KERNEL, NativeKernels.l2NormalizeRowsBackwardF32(cuda.address(y), cuda.address(norms),
                cuda.address(dy), cuda.address(dx), y.dim(0), y.dim(1), cuda.stream().address()),
                "l2_normalize_rows_backward_f32");
    }
}
