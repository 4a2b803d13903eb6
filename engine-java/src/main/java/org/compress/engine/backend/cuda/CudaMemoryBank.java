// CUDA ring-buffer enqueue: one kernel launch writes B rows with wrap-around (kernels/memory_bank.cu).
package org.compress.engine.backend.cuda;

import org.compress.engine.ops.MemoryBankOp;
import org.compress.engine.tensor.Tensor;

final class CudaMemoryBank implements MemoryBankOp {
    private final CudaBackend cuda;

    CudaMemoryBank(CudaBackend cuda) { this.cuda = cuda; }

    @Override public void enqueue(Tensor bank, Tensor keys, int start) {
        MemoryBankOp.check(bank, keys, start);
        Native.check(Native.Library.KERNEL, LossKernels.enqueue(cuda.address(bank), CudaCompressLoss.bankType(bank.dtype()),
                bank.dim(0), bank.dim(1), cuda.address(keys), keys.dim(0), start, cuda.stream().address()), "enqueue");
    }
}
