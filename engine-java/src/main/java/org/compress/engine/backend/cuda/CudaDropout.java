// CUDA inverted dropout (kernels/activation.cu): the same counter-based mask as the CPU for the same seed.
package org.compress.engine.backend.cuda;

import org.compress.engine.ops.DropoutOp;
import org.compress.engine.tensor.Tensor;

final class CudaDropout implements DropoutOp {
    private final CudaBackend cuda;

    CudaDropout(CudaBackend cuda) { this.cuda = cuda; }

    @Override public void forward(Tensor x, Tensor y, Tensor mask, float p, long seed) {
        DropoutOp.check(x, y, mask, p);
        Native.check(Native.Library.KERNEL, NnKernels.dropoutForwardF32(cuda.address(x), cuda.address(y), cuda.address(mask),
                x.numel(), p, seed, cuda.stream().address()), "dropout_forward_f32");
    }

    @Override public void backward(Tensor dy, Tensor mask, Tensor dx, float p) {
        DropoutOp.check(dy, dx, mask, p);
        Native.check(Native.Library.KERNEL, NnKernels.dropoutBackwardF32(cuda.address(dy), cuda.address(mask), cuda.address(dx),
                dy.numel(), p, cuda.stream().address()), "dropout_backward_f32");
    }
}
