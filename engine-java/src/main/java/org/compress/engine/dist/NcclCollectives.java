// Collectives over NCCL (bytedeco's org.bytedeco.cuda.nccl) for CUDA tensors, one GPU per rank. Rank 0 makes the
// unique id and publishes it in the Store; every rank joins with ncclCommInitRank. Operations are queued on the
// backend's stream, so they follow the compute that produced their inputs without a host synchronisation.
// NOTE: written against NCCL's documented API and compiled here, but never run: the machines this was developed
// on have no GPU, and one GPU can only run world size 1. Multi-GPU runs are unverified.
package org.compress.engine.dist;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.cuda.global.nccl;
import org.bytedeco.cuda.nccl.ncclComm;
import org.bytedeco.cuda.nccl.ncclUniqueId;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

public final class NcclCollectives implements Collectives {
    private static final int UNIQUE_ID_BYTES = 128; // NCCL_UNIQUE_ID_BYTES

    private final CudaBackend backend;
    private final int rank, size;
    private final ncclComm comm = new ncclComm();

    public NcclCollectives(CudaBackend backend, int rank, int size, Store store) {
        try {
            Loader.load(nccl.class);
        } catch (Throwable e) {
            throw new DistException("world size > 1 on CUDA needs NCCL 2 (libnccl.so.2) on the library path: " + e.getMessage(), e);
        }
        this.backend = backend;
        this.rank = rank;
        this.size = size;
        ncclUniqueId id = new ncclUniqueId();
        if (rank == 0) {
            check(nccl.ncclGetUniqueId(id), "ncclGetUniqueId");
            byte[] bytes = new byte[UNIQUE_ID_BYTES];
            id.internal().get(bytes);
            store.set("nccl/unique-id", bytes);
        } else {
            byte[] bytes = store.get("nccl/unique-id");
            id.internal().put(bytes);
        }
        check(nccl.ncclCommInitRank(comm, size, id, rank), "ncclCommInitRank(rank " + rank + " of " + size + ")");
    }

    @Override public int rank() { return rank; }

    @Override public int worldSize() { return size; }

    @Override public String name() { return "nccl"; }

    @Override public void allReduceSum(Tensor t) {
        if (t.dtype() != DType.F32) throw new IllegalArgumentException("nccl all-reduce: expected F32, found " + t);
        Pointer p = at(t);
        check(nccl.ncclAllReduce(p, p, t.numel(), nccl.ncclFloat32, nccl.ncclSum, comm, backend.stream().handle()), "ncclAllReduce");
    }

    @Override public void allGather(Tensor in, Tensor out) {
        Collectives.checkGather(in, out, size);
        check(nccl.ncclAllGather(at(in), at(out), in.bytes(), nccl.ncclUint8, comm, backend.stream().handle()), "ncclAllGather");
    }

    @Override public void broadcast(Tensor t, int root) {
        Pointer p = at(t);
        check(nccl.ncclBroadcast(p, p, t.bytes(), nccl.ncclUint8, root, comm, backend.stream().handle()), "ncclBroadcast");
    }

    /** A one-element all-reduce, then a stream synchronisation: returns when every rank has reached it. */
    @Override public void barrier() {
        try (Tensor one = backend.zeros(DType.F32, 1)) {
            allReduceSum(one);
            backend.synchronize();
        }
    }

    /** Aborts rather than destroys: a communicator whose peer died would block ncclCommDestroy forever. */
    @Override public void close() { nccl.ncclCommAbort(comm); }

    private Pointer at(Tensor t) {
        long address = backend.address(t);
        return new Pointer() {
            {
                this.address = address;
            }
        };
    }

    private void check(int status, String call) {
        if (status != nccl.ncclSuccess) {
            throw new CollectiveException(call + " on rank " + rank + " failed: " + nccl.ncclGetErrorString(status).getString()
                    + " (status " + status + ")");
        }
    }
}
