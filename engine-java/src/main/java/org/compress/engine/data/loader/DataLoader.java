// Batches from a Dataset through a Recipe on worker threads: each batch is one task (read, decode, augment
// every sample into the batch arrays); at most `prefetch` batches are in flight; batches come out in order.
// Every sample's random parameters come from Rng.forSample(seed, epoch, datasetIndex), so the output
// depends only on (dataset, recipe, config, epoch), never on the worker count or thread timing.
// Plain Java: no CUDA here (data.cuda.DevicePrefetcher moves batches to a GPU).
package org.compress.engine.data.loader;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.compress.engine.data.CorruptSampleException;
import org.compress.engine.data.DataException;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.data.transforms.Rng;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class DataLoader implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DataLoader.class);
    private static final AtomicInteger POOL_ID = new AtomicInteger();

    private final Dataset dataset;
    private final Recipe recipe;
    private final LoaderConfig config;
    private final ExecutorService workers;
    private final LoaderStats stats = new LoaderStats();
    private final ConcurrentLinkedQueue<float[][]> freeBuffers = new ConcurrentLinkedQueue<>();

    public DataLoader(Dataset dataset, Recipe recipe, LoaderConfig config) {
        if (dataset.size() == 0) throw new DataException("loader: the dataset is empty");
        this.dataset = dataset;
        this.recipe = recipe;
        this.config = config;
        int id = POOL_ID.incrementAndGet();
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(config.workers(), r -> {
            Thread t = new Thread(r, "data-" + id + "-worker-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    public LoaderConfig config() { return config; }

    public Recipe recipe() { return recipe; }

    public LoaderStats stats() { return stats; }

    /** Samples this rank sees per epoch (before skips). */
    public int samplesPerEpoch() {
        int n = EpochOrder.indices(dataset.size(), 0, 0, false, config.rank(), config.worldSize(), config.dropLast()).length;
        return config.dropLast() ? (n / config.batchSize()) * config.batchSize() : n;
    }

    public int batchesPerEpoch() {
        int n = EpochOrder.indices(dataset.size(), 0, 0, false, config.rank(), config.worldSize(), config.dropLast()).length;
        return config.dropLast() ? n / config.batchSize() : (n + config.batchSize() - 1) / config.batchSize();
    }

    /** The batches of {@code epoch} on this rank; close the Epoch to cancel what is still in flight. */
    public Epoch epoch(int epoch) { return epoch(epoch, 0); }

    /**
     * The batches of {@code epoch} from batch {@code firstBatch} on (a run resumed in the middle of an epoch): the same
     * batches, with the same augmentations, as the full epoch's, since both depend only on (seed, epoch, sample).
     */
    public Epoch epoch(int epoch, int firstBatch) {
        int[] order = EpochOrder.indices(dataset.size(), config.seed(), epoch, config.shuffle(), config.rank(),
                config.worldSize(), config.dropLast());
        return new Epoch(epoch, order, firstBatch);
    }

    public final class Epoch implements Iterator<Batch>, AutoCloseable {
        private final int epoch;
        private final int[] order;
        private final int batches;
        private final ArrayDeque<Future<Batch>> inFlight = new ArrayDeque<>();
        private int submitted, taken;
        private long lastLog = System.nanoTime();

        private Epoch(int epoch, int[] order, int firstBatch) {
            this.epoch = epoch;
            this.order = order;
            this.batches = config.dropLast() ? order.length / config.batchSize()
                    : (order.length + config.batchSize() - 1) / config.batchSize();
            if (firstBatch < 0 || firstBatch > batches) {
                throw new IllegalArgumentException("epoch " + epoch + " has " + batches + " batches; cannot start at batch " + firstBatch);
            }
            submitted = taken = firstBatch;
            stats.started();
            while (submitted < batches && inFlight.size() < config.prefetch()) submitNext();
        }

        private void submitNext() {
            int b = submitted++;
            int start = b * config.batchSize(), end = Math.min(order.length, start + config.batchSize());
            inFlight.add(workers.submit(() -> build(epoch, b, order, start, end)));
        }

        @Override public boolean hasNext() { return taken < batches; }

        @Override public Batch next() {
            if (!hasNext()) throw new NoSuchElementException("epoch " + epoch + " has " + batches + " batches");
            Future<Batch> head = inFlight.poll();
            Batch batch;
            try {
                batch = head.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                close();
                throw new DataException("interrupted while waiting for batch " + taken + " of epoch " + epoch, e);
            } catch (ExecutionException e) {
                close();
                Throwable cause = e.getCause();
                if (cause instanceof DataException d) throw d;
                throw new DataException("batch " + taken + " of epoch " + epoch + " failed: " + cause, cause);
            }
            taken++;
            if (submitted < batches) submitNext();
            stats.delivered(batch.size());
            maybeLog();
            return batch;
        }

        private void maybeLog() {
            if (config.logEverySeconds() <= 0) return;
            long now = System.nanoTime();
            if (now - lastLog >= config.logEverySeconds() * 1e9 || taken == batches) {
                lastLog = now;
                LOG.info("epoch {} batch {}/{}: {}", epoch, taken, batches, stats);
            }
        }

        @Override public void close() {
            for (Future<Batch> f : inFlight) f.cancel(true);
            inFlight.clear();
            taken = batches;
        }
    }

    private Batch build(int epoch, int batchIndex, int[] order, int start, int end) {
        int capacity = config.batchSize();
        int floats = recipe.sampleFloats();
        float[][] views = freeBuffers.poll();
        if (views == null) views = new float[recipe.views()][capacity * floats];
        int[] labels = new int[capacity], indices = new int[capacity];
        int slot = 0;
        for (int p = start; p < end; p++) {
            int idx = order[p];
            U8Image img;
            try {
                img = dataset.image(idx);
            } catch (CorruptSampleException e) {
                if (config.onCorrupt() == CorruptPolicy.FAIL) {
                    throw new DataException("corrupt sample (onCorrupt = FAIL): " + e.getMessage(), e);
                }
                LOG.warn("skipping corrupt sample (dataset index {}): {}", idx, e.getMessage());
                stats.skipped(e.source());
                continue;
            }
            recipe.apply(img, Rng.forSample(config.seed(), epoch, idx), views, slot * floats);
            labels[slot] = dataset.label(idx);
            indices[slot] = idx;
            slot++;
        }
        if (Thread.currentThread().isInterrupted()) throw new DataException("loader closed");
        return new Batch(epoch, batchIndex, slot, capacity, recipe.channels(), recipe.height(), recipe.width(),
                views, labels, indices, this::recycle);
    }

    private void recycle(float[][] views) {
        // Keep about as many buffers as can be in flight; let the GC take the rest.
        if (freeBuffers.size() < config.prefetch() + 2) freeBuffers.add(views);
    }

    @Override public void close() {
        workers.shutdownNow();
    }
}
