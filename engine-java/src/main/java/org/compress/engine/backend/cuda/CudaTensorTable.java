// The device-side table a multi-tensor kernel reads (kernels/optimizer.cu): the addresses of several lists of
// equally shaped tensors, their element counts, one float per tensor, and a block -> (tensor, first element)
// map with one entry per kMultiTensorChunk elements. Built and uploaded once; launches then allocate nothing.
// The host side is plan(), a pure function of the addresses and element counts, which EmulatedKernelsTest runs
// with host buffers against the kernels compiled for the CPU (kernels/emu).
package org.compress.engine.backend.cuda;

import java.util.List;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class CudaTensorTable implements AutoCloseable {
    /** Elements per block: must equal kMultiTensorChunk in kernels/nn_kernels.cuh. */
    static final int CHUNK = 4096;

    /**
     * The table's contents. ptrs: list-major, ptrs[l * tensors + t] = tensor t of list l (the kernels read
     * ptrs[t], ptrs[tensors + t], ...); numel and scalars: one per tensor; blockTensor[b], blockStart[b]: block b
     * covers elements [blockStart[b], min(blockStart[b] + CHUNK, numel)) of tensor blockTensor[b].
     */
    record Plan(int tensors, long[] ptrs, long[] numel, float[] scalars, int[] blockTensor, long[] blockStart) {
        int blocks() { return blockTensor.length; }
    }

    /** addresses[l][t]: device address of tensor t of list l; numel[t]: its element count; perTensor: null for zeros. */
    static Plan plan(long[][] addresses, long[] numel, float[] perTensor) {
        int tensors = numel.length;
        long[] ptrs = new long[addresses.length * tensors];
        for (int l = 0; l < addresses.length; l++) {
            if (addresses[l].length != tensors) {
                throw new IllegalArgumentException("tensor table: list " + l + " has " + addresses[l].length + " tensors, expected " + tensors);
            }
            System.arraycopy(addresses[l], 0, ptrs, l * tensors, tensors);
        }
        float[] scalars = perTensor == null ? new float[tensors] : perTensor.clone();
        long blocks = 0;
        for (long n : numel) blocks += (n + CHUNK - 1) / CHUNK;
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor table: " + blocks + " blocks");
        int[] blockTensor = new int[(int) blocks];
        long[] blockStart = new long[(int) blocks];
        int b = 0;
        for (int t = 0; t < tensors; t++) {
            for (long s = 0; s < numel[t]; s += CHUNK) {
                blockTensor[b] = t;
                blockStart[b++] = s;
            }
        }
        return new Plan(tensors, ptrs, numel.clone(), scalars, blockTensor, blockStart);
    }

    final int tensors;
    final int blocks;
    final Tensor ptrs;
    final Tensor numel;
    final Tensor scalars;
    final Tensor blockTensor;
    final Tensor blockStart;

    /** lists.get(l).get(t): tensor t of list l; scalars: one value per tensor (null: zeros). */
    CudaTensorTable(CudaBackend cuda, List<List<Tensor>> lists, float[] perTensor) {
        int n = lists.get(0).size();
        long[][] addresses = new long[lists.size()][n];
        long[] counts = new long[n];
        for (int l = 0; l < lists.size(); l++) for (int t = 0; t < n; t++) addresses[l][t] = cuda.address(lists.get(l).get(t));
        for (int t = 0; t < n; t++) counts[t] = lists.get(0).get(t).numel();
        Plan p = plan(addresses, counts, perTensor);
        tensors = p.tensors();
        blocks = p.blocks();
        Tensor hostPtrs = Tensor.cpuZeros(DType.I64, p.ptrs().length);
        Tensor hostNumel = Tensor.cpuZeros(DType.I64, tensors);
        Tensor hostScalars = Tensor.cpuZeros(DType.F32, tensors);
        Tensor hostBt = Tensor.cpuZeros(DType.I32, Math.max(1, blocks));
        Tensor hostBs = Tensor.cpuZeros(DType.I64, Math.max(1, blocks));
        System.arraycopy(p.ptrs(), 0, hostPtrs.cpuStorage().i64(), 0, p.ptrs().length);
        System.arraycopy(p.numel(), 0, hostNumel.cpuStorage().i64(), 0, tensors);
        System.arraycopy(p.scalars(), 0, hostScalars.cpuStorage().f32(), 0, tensors);
        System.arraycopy(p.blockTensor(), 0, hostBt.cpuStorage().i32(), 0, blocks);
        System.arraycopy(p.blockStart(), 0, hostBs.cpuStorage().i64(), 0, blocks);
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
