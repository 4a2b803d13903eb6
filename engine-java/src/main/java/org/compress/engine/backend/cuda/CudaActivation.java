// CUDA activations, fused add + activation and the activation gradient (kernels/activation.cu), F32 or BF16.
package org.compress.engine.backend.cuda;

import org.compress.engine.ops.Activation;
import org.compress.engine.ops.ActivationOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class CudaActivation implements ActivationOp {
    private final CudaBackend cuda;

    CudaActivation(CudaBackend cuda) { this.cuda = cuda; }

    @Override public void forward(Activation act, Tensor x, Tensor y) {
        ActivationOp.checkSame("activation", x, y);
        long s = cuda.stream().address();
        if (x.dtype() == DType.BF16) {
            Native.check(Native.Library.KERNEL, NnKernels.activationForwardBf16(cuda.address(x), cuda.address(y), x.numel(), act.ordinal(),
                    s), "activation_forward_bf16(" + act + ")");
        } else {
            Native.check(Native.Library.KERNEL, NnKernels.activationForwardF32(cuda.address(x), cuda.address(y), x.numel(), act.ordinal(),
                    s), "activation_forward_f32(" + act + ")");
        }
    }

    @Override public void addForward(Activation act, Tensor a, Tensor b, Tensor y) {
        ActivationOp.checkSame("add+activation", a, b, y);
        long s = cuda.stream().address();
        if (a.dtype() == DType.BF16) {
            Native.check(Native.Library.KERNEL, NnKernels.addActivationForwardBf16(cuda.address(a), cuda.address(b), cuda.address(y),
                    a.numel(), act.ordinal(), s), "add_activation_forward_bf16(" + act + ")");
        } else {
            Native.check(Native.Library.KERNEL, NnKernels.addActivationForwardF32(cuda.address(a), cuda.address(b), cuda.address(y),
                    a.numel(), act.ordinal(), s), "add_activation_forward_f32(" + act + ")");
        }
    }

    @Override public void backward(Activation act, Tensor y, Tensor dy, Tensor dx) {
        ActivationOp.checkSame("activation backward", y, dy, dx);
        long s = cuda.stream().address();
        if (y.dtype() == DType.BF16) {
            Native.check(Native.Library.KERNEL, NnKernels.activationBackwardBf16(cuda.address(y), cuda.address(dy), cuda.address(dx),
                    y.numel(), act.ordinal(), s), "activation_backward_bf16(" + act + ")");
        } else {
            Native.check(Native.Library.KERNEL, NnKernels.activationBackwardF32(cuda.address(y), cuda.address(dy), cuda.address(dx),
                    y.numel(), act.ordinal(), s), "activation_backward_f32(" + act + ")");
        }
    }
}
