// CUDA dtype / memory-format conversion (kernels/mixed_precision.cu): one launch per tensor, or one launch for a
// prepared list (a network's weight copies, refreshed from their FP32 masters every forward).
package org.compress.engine.backend.cuda;

import java.util.List;
import org.compress.engine.ops.ConvertOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

final class CudaConvert implements ConvertOp {
    private final CudaBackend cuda;

    CudaConvert(CudaBackend cuda) { this.cuda = cuda; }

    /** The pointer table (sources, targets) and one (C, HW, flags) triple per tensor. */
    private record CudaGroup(CudaTensorTable table, Tensor meta) implements Group {
        @Override public int size() { return table.tensors; }

        @Override public void close() {
            table.close();
            meta.close();
        }
    }

    /** kConvert* flags of nn_kernels.cuh. */
    static int flags(Tensor src, Tensor dst) {
        return (src.dtype() == DType.BF16 ? 1 : 0) | (dst.dtype() == DType.BF16 ? 2 : 0)
                | (src.format() == MemoryFormat.CHANNELS_LAST ? 4 : 0) | (dst.format() == MemoryFormat.CHANNELS_LAST ? 8 : 0);
    }

    /** Dimension 1 and the product of dimensions 2 and 3 of a 4-d tensor (what NCHW <-> NHWC moves), else 1 and 1. */
    static long[] channelsAndPlane(Tensor t) {
        if (t.rank() != 4) return new long[] {1, 1};
        return new long[] {Math.max(1, t.dim(1)), Math.max(1, (long) t.dim(2) * t.dim(3))};
    }

    /** convert_multi_tensor's meta table: (C, HW, flags) of each pair, from the tensors' shapes, dtypes and formats only. */
    static long[] meta(List<Tensor> sources, List<Tensor> targets) {
        long[] m = new long[3 * sources.size()];
        for (int t = 0; t < sources.size(); t++) {
            long[] cp = channelsAndPlane(sources.get(t));
            m[3 * t] = cp[0];
            m[3 * t + 1] = cp[1];
            m[3 * t + 2] = flags(sources.get(t), targets.get(t));
        }
        return m;
    }

    @Override public void convert(Tensor src, Tensor dst) {
        ConvertOp.check("convert", src, dst);
        if (src.dtype() == dst.dtype() && src.format() == dst.format()) {
            cuda.elementwise().copy(src, dst);
            return;
        }
        long[] cp = channelsAndPlane(src);
        Native.check(Native.Library.KERNEL, NnKernels.convertTensor(cuda.address(src), cuda.address(dst), src.numel(), cp[0], cp[1],
                flags(src, dst), cuda.stream().address()), "convert_tensor(" + src + " -> " + dst + ")");
    }

    @Override public Group prepare(List<Tensor> sources, List<Tensor> targets) {
        ConvertOp.checkPrepare(sources, targets);
        if (sources.isEmpty()) throw new IllegalArgumentException("convert: expected at least one tensor to prepare");
        Tensor hostMeta = Tensor.cpuZeros(DType.I64, 3 * sources.size());
        long[] m = meta(sources, targets);
        System.arraycopy(m, 0, hostMeta.cpuStorage().i64(), 0, m.length);
        CudaTensorTable table = new CudaTensorTable(cuda, List.of(sources, targets), null);
        return new CudaGroup(table, cuda.upload(hostMeta));
    }

    @Override public void run(Group group) {
        CudaGroup g = (CudaGroup) group;
        CudaTensorTable t = g.table;
        Native.check(Native.Library.KERNEL, NnKernels.convertMultiTensor(cuda.address(t.ptrs), t.tensors, cuda.address(t.numel),
                cuda.address(g.meta), cuda.address(t.blockTensor), cuda.address(t.blockStart), t.blocks, cuda.stream().address()),
                "convert_multi_tensor");
    }
}
