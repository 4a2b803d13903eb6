// The device-side table a multi-tensor kernel reads (kernels/optimizer.cu): the addresses of several lists of
// equally shaped tensors, their element counts, one float per tensor, and a block -> (tensor, first element)
// map with one entry per kMultiTensorChunk elements. Built and uploaded once; launches then allocate nothing.
package org.compress.engine.backend.cuda;

import java.util.ArrayList;
import java.util.List;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class CudaTensorTable implements AutoCloseable {
    /** Elements per block: must equal kMultiTensorChunk in kernels/nn_kernels.cuh. */
    static final int CHUNK = 4096;

    final int tensors;
    final int blocks;
    final Tensor ptrs;
    final Tensor numel;
    final Tensor scalars;
    final Tensor blockTensor;
    final Tensor blockStart;

    /** lists.get(l).get(t): tensor t of list l; scalars: one value per tensor (null: zeros). */
    CudaTensorTable(CudaBackend cuda, List<List<Tensor>> lists, float[] perTensor) {
        tensors = lists.get(0).size();
        Tensor hostPtrs = Tensor.cpuZeros(DType.I64, lists.size() * tensors);
        Tensor hostNumel = Tensor.cpuZeros(DType.I64, tensors);
        Tensor hostScalars = Tensor.cpuZeros(DType.F32, tensors);
        List<Integer> bt = new ArrayList<>();
        List<Long> bs = new ArrayList<>();
        for (int l = 0; l < lists.size(); l++) {
            for (int t = 0; t < tensors; t++) hostPtrs.cpuStorage().i64()[l * tensors + t] = cuda.address(lists.get(l).get(t));
        }
        for (int t = 0; t < tensors; t++) {
            long n = lists.get(0).get(t).numel();
            hostNumel.cpuStorage().i64()[t] = n;
            hostScalars.cpuStorage().f32()[t] = perTensor == null ? 0f : perTensor[t];
            for (long s = 0; s < n; s += CHUNK) {
                bt.add(t);
                bs.add(s);
            }
        }
        blocks = bt.size();
        Tensor hostBt = Tensor.cpuZeros(DType.I32, Math.max(1, blocks));
        Tensor hostBs = Tensor.cpuZeros(DType.I64, Math.max(1, blocks));
        for (int b = 0; b < blocks; b++) {
            hostBt.cpuStorage().i32()[b] = bt.get(b);
            hostBs.cpuStorage().i64()[b] = bs.get(b);
        }
        ptrs = cuda.upload(hostPtrs);
        numel = cuda.upload(hostNumel);
        scalars = cuda.upload(hostScalars);
        blockTensor = cuda.upload(hostBt);
        blockStart = cuda.upload(hostBs);
    }

    @Override public void close() {
        ptrs.close();
        numel.close();
        scalars.close();
        blockTensor.close();
        blockStart.close();
    }
}
