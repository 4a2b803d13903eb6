// Collectives over NCCL (bytedeco's org.bytedeco.cuda.nccl) for CUDA tensors, one GPU per rank. Rank 0 makes the
// unique id and publishes it in the Store; every rank joins with ncclCommInitRank. Operations are queued on the
// backend's stream, so they follow the compute that produced their inputs without a host synchronisation. A CUDA
// event recorded after each one lets CollectiveWatchdog see it complete; a collective pending past the timeout, an
// asynchronous NCCL error or a dead rank in the store makes the watchdog abort the communicator, and the next
// collective (or barrier) throws naming what failed.
// NOTE: written against NCCL's documented API and compiled here, but never run: the machines this was developed
// on have no GPU, and one GPU can only run world size 1. Multi-GPU runs are unverified.
package org.compress.engine.dist;

import java.time.Duration;
import java.util.Set;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.global.cudart;
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
    private static final int EVENTS = 256;        // completion events in flight, reused in turn
    private static final long POLL_MILLIS = 100;

    private final ncclComm comm = new ncclComm();
    private final CUevent_st[] events = new CUevent_st[EVENTS];
    private final CollectiveWatchdog watchdog;
    private long issued;
    private volatile boolean aborted;

    public NcclCollectives(CudaBackend backend, int rank, int size, Store store, Duration timeout) {
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
        for (int i = 0; i < EVENTS; i++) {
            events[i] = new CUevent_st();
            cuda(cudart.cudaEventCreateWithFlags(events[i], cudart.cudaEventDisableTiming), "cudaEventCreateWithFlags");
        }
        watchdog = new CollectiveWatchdog("rank " + rank + " (nccl)", timeout, POLL_MILLIS, new Hooks(backend.device().index(), store));
    }

    /** The watchdog's view of this communicator; its calls run on the watchdog's thread, bound to this rank's GPU. */
    private final class Hooks implements CollectiveWatchdog.Hooks {
        private final int device;
        private final Store store;
        private final int[] status = new int[1];
        private boolean bound;

        Hooks(int device, Store store) {
            this.device = device;
            this.store = store;
        }

        @Override public String asyncError() {
            bind();
            int st = nccl.ncclCommGetAsyncError(comm, status);
            if (st != nccl.ncclSuccess) return "ncclCommGetAsyncError: " + nccl.ncclGetErrorString(st).getString();
            int e = status[0];
            return e == nccl.ncclSuccess || e == nccl.ncclInProgress ? null
                    : nccl.ncclGetErrorString(e).getString() + " (asynchronous NCCL error " + e + ")";
        }

        @Override public Set<Integer> deadRanks() { return store.deadRanks(); }

        @Override public void abort() { abortOnce(); }

        void bind() {
            if (!bound) {
                cudart.cudaSetDevice(device);   // the events and the communicator belong to this rank's GPU
                bound = true;
            }
        }
    }

    private synchronized void abortOnce() {
        if (!aborted) {
            aborted = true;
            nccl.ncclCommAbort(comm);
        }
    }

    /** Records the completion event of the collective just queued and hands it to the watchdog. */
    private void queued(String call) {
        CUevent_st e = events[(int) (issued++ % EVENTS)];
        if (watchdog.pendingCount() >= EVENTS) cudart.cudaEventSynchronize(e);   // its slot's previous collective first
        cuda(cudart.cudaEventRecord(e, backend.stream().handle()), "cudaEventRecord");
        watchdog.started(call, () -> cudart.cudaEventQuery(e) != cudart.cudaErrorNotReady);
    }

    @Override public int rank() { return rank; }

    @Override public int worldSize() { return size; }

    @Override public String name() { return "nccl"; }

    @Override public void allReduceSum(Tensor t) {
        if (t.dtype() != DType.F32) throw new IllegalArgumentException("nccl all-reduce: expected F32, found " + t);
        watchdog.check();
        Pointer p = at(t);
        check(nccl.ncclAllReduce(p, p, t.numel(), nccl.ncclFloat32, nccl.ncclSum, comm, backend.stream().handle()), "ncclAllReduce");
        queued("ncclAllReduce");
    }

    @Override public void allGather(Tensor in, Tensor out) {
        Collectives.checkGather(in, out, size);
        watchdog.check();
        check(nccl.ncclAllGather(at(in), at(out), in.bytes(), nccl.ncclUint8, comm, backend.stream().handle()), "ncclAllGather");
        queued("ncclAllGather");
    }

    @Override public void broadcast(Tensor t, int root) {
        watchdog.check();
        Pointer p = at(t);
        check(nccl.ncclBroadcast(p, p, t.bytes(), nccl.ncclUint8, root, comm, backend.stream().handle()), "ncclBroadcast");
        queued("ncclBroadcast");
    }

    /** A one-element all-reduce, then a stream synchronisation: returns when every rank has reached it. */
    @Override public void barrier() {
        try (Tensor one = backend.zeros(DType.F32, 1)) {
            allReduceSum(one);
            backend.synchronize();   // returns once every rank is here, or once the watchdog aborted the communicator
            watchdog.check();
        }
    }

    /** Aborts rather than destroys: a communicator whose peer died would block ncclCommDestroy forever. */
    /** Aborts rather than destroys: a communicator whose peer died would block ncclCommDestroy forever. */
    @Override public void close() {
        watchdog.close();
        abortOnce();
        for (CUevent_st e : events) if (e != null && !e.isNull()) cudart.cudaEventDestroy(e);
    }

    private Pointer at(Tensor t) {
        long address = backend.address(t);
        return new Pointer() {
            {
                this.address = address;
            }
        };
    }

    private void cuda(int status, String call) {
        if (status != cudart.cudaSuccess) {
            throw new CollectiveException(call + " on rank " + rank + " failed: " + cudart.cudaGetErrorString(status).getString());
        }
    }

    private void check(int status, String call) {
        if (status != nccl.ncclSuccess) {
            String earlier = watchdog == null ? null : watchdog.failure();
            if (earlier != null) throw new CollectiveException(earlier);
            throw new CollectiveException(call + " on rank " + rank + " failed: " + nccl.ncclGetErrorString(status).getString()
                    + " (status " + status + ")");
        }
    }
}
