// CUDA multi-tensor SGD: one launch of kernels/optimizer.cu's sgd kernel over a table built at prepare().
package org.compress.engine.backend.cuda;

import java.util.List;
import org.compress.engine.ops.SgdOp;
import org.compress.engine.tensor.Tensor;

final class CudaSgd implements SgdOp {
    private final CudaBackend cuda;

    CudaSgd(CudaBackend cuda) { this.cuda = cuda; }

    private record CudaGroup(CudaTensorTable table, boolean hasMomenta) implements Group {
        @Override public int size() { return table.tensors; }

        @Override public void close() { table.close(); }
    }

    @Override public Group prepare(List<Tensor> params, List<Tensor> grads, List<Tensor> momenta, float[] weightDecay) {
        SgdOp.checkPrepare(params, grads, momenta, weightDecay);
        if (params.isEmpty()) throw new IllegalArgumentException("sgd: expected at least one parameter");
        List<List<Tensor>> lists = momenta == null ? List.of(params, grads) : List.of(params, grads, momenta);
        return new CudaGroup(new CudaTensorTable(cuda, lists, weightDecay), momenta != null);
    }

    @Override public void step(Group group, float lr, float momentum, float dampening, boolean nesterov, boolean firstStep) {
        CudaGroup g = (CudaGroup) group;
        SgdOp.checkStep(group, lr, momentum, dampening, nesterov, g.hasMomenta);
        CudaTensorTable t = g.table;
        Native.check(Native.Library.KERNEL, NnKernels.sgdMultiTensorF32(cuda.address(t.ptrs), t.tensors, cuda.address(t.numel),
                cuda.address(t.scalars), cuda.address(t.blockTensor), cuda.address(t.blockStart), t.blocks, lr, momentum, dampening,
                nesterov, firstStep, cuda.stream().address()), "sgd_multi_tensor_f32");
    }
}
