// CUDA multi-tensor EMA (momentum encoder): one launch of kernels/optimizer.cu's ema kernel per update.
package org.compress.engine.backend.cuda;

import java.util.List;
import org.compress.engine.ops.EmaOp;
import org.compress.engine.tensor.Tensor;

final class CudaEma implements EmaOp {
    private final CudaBackend cuda;

    CudaEma(CudaBackend cuda) { this.cuda = cuda; }

    private record CudaGroup(CudaTensorTable table) implements Group {
        @Override public int size() { return table.tensors; }

        @Override public void close() { table.close(); }
    }

    @Override public Group prepare(List<Tensor> targets, List<Tensor> sources) {
        EmaOp.checkPrepare(targets, sources);
        if (targets.isEmpty()) throw new IllegalArgumentException("ema: expected at least one tensor");
        return new CudaGroup(new CudaTensorTable(cuda, List.of(targets, sources), null));
    }

    @Override public void update(Group group, double m) {
        EmaOp.checkMomentum(m);
        CudaTensorTable t = ((CudaGroup) group).table;
        Native.check(Native.Library.KERNEL, NnKernels.emaMultiTensorF32(cuda.address(t.ptrs), t.tensors, cuda.address(t.numel),
                cuda.address(t.blockTensor), cuda.address(t.blockStart), t.blocks, (float) m, (float) (1.0 - m),
                cuda.stream().address()), "ema_multi_tensor_f32");
    }
}
