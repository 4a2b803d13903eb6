// The batches a training loop consumes, on the backend that computes: on the CPU the loader's host batches as
// they are; on CUDA the loader's batches staged by DevicePrefetcher (pinned buffers, async copies on their own
// stream, events), so a GPU training step neither copies synchronously nor waits on the host for its input.
package org.compress.engine.train;

import java.util.Iterator;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.data.cuda.DeviceBatch;
import org.compress.engine.data.cuda.DevicePrefetcher;
import org.compress.engine.data.loader.Batch;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.tensor.Tensor;

final class TrainingBatches {
    /** One step's input; close() hands its buffers back once the work queued for it is done. */
    interface Step extends AutoCloseable {
        int size();

        /** View v, (size, C, H, W) F32 on the backend. */
        Tensor view(int v);

        int[] indices();

        @Override void close();
    }

    private TrainingBatches() {}

    static final int DEVICE_SLOTS = 3;

    /** As {@link #epoch(Backend, DataLoader, int, int)}, reporting the time spent waiting for each batch to {@code steps}. */
    static CloseableIterator epoch(Backend backend, DataLoader loader, int epoch, int firstBatch, StepLog steps) {
        CloseableIterator it = epoch(backend, loader, epoch, firstBatch);
        return new CloseableIterator() {
            @Override public boolean hasNext() {
                long t = System.nanoTime();
                boolean more = it.hasNext();
                steps.dataWait(System.nanoTime() - t);
                return more;
            }

            @Override public Step next() {
                long t = System.nanoTime();
                Step s = it.next();
                steps.dataWait(System.nanoTime() - t);
                return s;
            }

            @Override public void close() { it.close(); }
        };
    }

    /** The batches of {@code epoch}; close the iterator when done (it also stops prefetching). */
    static CloseableIterator epoch(Backend backend, DataLoader loader, int epoch) { return epoch(backend, loader, epoch, 0); }

    /** The batches of {@code epoch} from {@code firstBatch} on (a resumed run); close the iterator when done. */
    static CloseableIterator epoch(Backend backend, DataLoader loader, int epoch, int firstBatch) {
        DataLoader.Epoch host = loader.epoch(epoch, firstBatch);
        if (!(backend instanceof CudaBackend cuda)) {
            return new CloseableIterator() {
                @Override public boolean hasNext() { return host.hasNext(); }

                @Override public Step next() {
                    Batch b = host.next();
                    return new Step() {
                        @Override public int size() { return b.size(); }
                        @Override public Tensor view(int v) { return b.view(v); }
                        @Override public int[] indices() { return b.indices(); }
                        @Override public void close() { b.close(); }
                    };
                }

                @Override public void close() { host.close(); }
            };
        }
        DevicePrefetcher prefetcher = new DevicePrefetcher(cuda, loader, host, DEVICE_SLOTS);
        return new CloseableIterator() {
            @Override public boolean hasNext() { return prefetcher.hasNext(); }

            @Override public Step next() {
                DeviceBatch b = prefetcher.next();
                b.awaitOn(cuda.stream()); // compute waits for the copy on the device, not the host
                return new Step() {
                    @Override public int size() { return b.size(); }
                    @Override public Tensor view(int v) { return b.view(v); }
                    @Override public int[] indices() { return b.indices(); }
                    @Override public void close() { b.release(cuda.stream()); }
                };
            }

            @Override public void close() {
                prefetcher.close();
                host.close();
            }
        };
    }

    interface CloseableIterator extends Iterator<Step>, AutoCloseable {
        @Override void close();
    }
}
