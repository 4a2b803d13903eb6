// Moves host batches to the GPU ahead of compute: a staging thread copies each batch into one of `slots`
// page-locked buffers and queues an async host-to-device copy on its own stream, recording an event the
// compute stream waits on; slots return when the compute stream has passed the consumer's release point.
// So decode/augment (workers), H2D copy (copy engine) and compute overlap. UNVERIFIED: written without a GPU.
package org.compress.engine.data.cuda;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.bytedeco.cuda.global.cudart;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.backend.cuda.CudaEvent;
import org.compress.engine.backend.cuda.CudaStream;
import org.compress.engine.backend.cuda.PinnedHostBuffer;
import org.compress.engine.data.DataException;
import org.compress.engine.data.loader.Batch;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

public final class DevicePrefetcher implements Iterator<DeviceBatch>, AutoCloseable {
    static final class Slot {
        final DevicePrefetcher owner;
        final PinnedHostBuffer pinned;
        final Tensor[] views;
        final Tensor labels;
        final CudaEvent copied = new CudaEvent();
        final CudaEvent released = new CudaEvent();
        boolean used;

        Slot(DevicePrefetcher owner, CudaBackend backend, Recipe r, int capacity) {
            this.owner = owner;
            long viewBytes = 4L * capacity * r.sampleFloats();
            this.pinned = new PinnedHostBuffer(viewBytes * r.views() + 4L * capacity);
            this.views = new Tensor[r.views()];
            for (int v = 0; v < views.length; v++) views[v] = backend.empty(DType.F32, capacity, r.channels(), r.height(), r.width());
            this.labels = backend.empty(DType.I32, capacity);
        }

        void close() {
            for (Tensor t : views) t.close();
            labels.close();
            pinned.close();
            copied.close();
            released.close();
        }
    }

    private static final Object END = new Object();

    private final CudaBackend backend;
    private final DataLoader.Epoch source;
    private final CudaStream copyStream = new CudaStream();
    private final List<Slot> slots = new ArrayList<>();
    private final BlockingQueue<Slot> free;
    private final BlockingQueue<Object> ready;
    private final Thread stager;
    private volatile boolean closed;
    private Object head;

    /** Stages the batches of {@code epoch} (from {@code loader}) through {@code slotCount} >= 2 device slots. */
    public DevicePrefetcher(CudaBackend backend, DataLoader loader, DataLoader.Epoch epoch, int slotCount) {
        if (slotCount < 2) throw new IllegalArgumentException("prefetcher: expected >= 2 slots (one filling, one in use), found " + slotCount);
        this.backend = backend;
        this.source = epoch;
        this.free = new ArrayBlockingQueue<>(slotCount);
        this.ready = new ArrayBlockingQueue<>(slotCount + 1);
        try {
            for (int i = 0; i < slotCount; i++) {
                Slot s = new Slot(this, backend, loader.recipe(), loader.config().batchSize());
                slots.add(s);
                free.add(s);
            }
            // The slots' device memory may be blocks the compute stream released moments ago (the caching allocator
            // reuses in compute-stream order): the copy stream must not write them before that work is done.
            try (CudaEvent computeDone = new CudaEvent()) {
                computeDone.record(backend.stream());
                copyStream.waitFor(computeDone);
            }
        } catch (RuntimeException e) {
            slots.forEach(Slot::close);
            copyStream.close();
            throw e;
        }
        this.stager = new Thread(this::stageAll, "data-h2d-stager");
        stager.setDaemon(true);
        stager.start();
    }

    private void stageAll() {
        try {
            // CUDA's current device is per host thread.
            int status = cudart.cudaSetDevice(backend.device().index());
            if (status != 0) throw new DataException("cudaSetDevice(" + backend.device().index() + ") failed with status " + status);
            while (source.hasNext() && !closed) {
                try (Batch b = source.next()) {
                    Slot s = free.take();
                    if (s.used) {
                        s.copied.synchronize();          // the last copy out of this pinned buffer is done
                        copyStream.waitFor(s.released);  // compute is done reading the device tensors
                    }
                    s.used = true;
                    ByteBuffer buf = s.pinned.buffer();
                    long viewBytes = 4L * b.capacity() * b.channels() * b.height() * b.width();
                    for (int v = 0; v < b.viewCount(); v++) {
                        int n = b.size() * b.channels() * b.height() * b.width();
                        buf.clear().position((int) (v * viewBytes));
                        buf.asFloatBuffer().put(b.viewData(v), 0, n);
                        backend.copyAsync(s.pinned, v * viewBytes, s.views[v].rows(0, b.size()), copyStream);
                    }
                    long labelOffset = viewBytes * b.viewCount();
                    int[] labels = b.labels();
                    buf.clear().position((int) labelOffset);
                    buf.asIntBuffer().put(labels);
                    backend.copyAsync(s.pinned, labelOffset, s.labels.rows(0, b.size()), copyStream);
                    s.copied.record(copyStream);
                    ready.put(new DeviceBatch(s, b.epoch(), b.index(), b.size(), labels, b.indices()));
                }
            }
            ready.put(END);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            try { ready.put(e); } catch (InterruptedException ie) { Thread.currentThread().interrupt(); }
        }
    }

    void recycle(Slot s) { free.add(s); }

    private Object peek() {
        if (head == null) {
            try {
                head = ready.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DataException("interrupted while waiting for a device batch", e);
            }
        }
        return head;
    }

    @Override public boolean hasNext() { return peek() != END; }

    @Override public DeviceBatch next() {
        Object h = peek();
        if (h == END) throw new NoSuchElementException("no more device batches");
        head = null;
        if (h instanceof RuntimeException e) {
            head = END;
            throw e instanceof DataException d ? d : new DataException("staging a batch failed: " + e, e);
        }
        return (DeviceBatch) h;
    }

    @Override public void close() {
        closed = true;
        stager.interrupt();
        try {
            stager.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        source.close();
        copyStream.synchronize();
        backend.synchronize();
        for (Slot s : slots) s.close();
        copyStream.close();
    }
}
