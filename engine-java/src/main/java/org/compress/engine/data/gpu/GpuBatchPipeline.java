// The GPU data path: CPU workers only read files (plus the JPEG frame header, and the rare PNG/BMP/CMYK file
// they decode themselves) and draw each sample's augmentation parameters from Rng.forSample(seed, epoch, index)
// exactly as the CPU DataLoader does; a feeder thread then, per batch and in order, queues on the pipeline's own
// stream: nvJPEG batched decode (NvJpegDecoder) into a shared device area, the augmentation kernels
// (GpuAugmenter) into one of `slots` device output buffers, the labels, and an event the training stream waits on.
// Slots come back when the training stream has passed the consumer's release point, so file reading, decoding,
// augmentation and training overlap. The CPU DataLoader stays the reference and the fallback (DeviceInput chooses).
// UNVERIFIED: written without a GPU.
package org.compress.engine.data.gpu;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.cuda.global.cudart;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.backend.cuda.CudaEvent;
import org.compress.engine.backend.cuda.CudaStream;
import org.compress.engine.backend.cuda.DeviceBuffer;
import org.compress.engine.backend.cuda.Native;
import org.compress.engine.backend.cuda.PinnedHostBuffer;
import org.compress.engine.data.CorruptSampleException;
import org.compress.engine.data.DataException;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.io.ImageDecoder;
import org.compress.engine.data.io.ImageFormat;
import org.compress.engine.data.io.JpegInfo;
import org.compress.engine.data.loader.CorruptPolicy;
import org.compress.engine.data.loader.EpochOrder;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.data.transforms.Rng;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class GpuBatchPipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GpuBatchPipeline.class);
    private static final AtomicInteger POOL_ID = new AtomicInteger();
    private static final long ALIGN = 256;
    private static final Object END = new Object();

    /** One sample after the CPU stage: JPEG bytes for nvJPEG, or RGB decoded here (cpuReason says why). */
    record Prepared(int index, int label, String source, byte[] bytes, U8Image rgb, String cpuReason, int height, int width,
                    AugmentParams[] views) {
        long decodedBytes() { return align((long) height * width * 3); }
    }

    record HostBatch(int epoch, int index, List<Prepared> samples) {}

    /** Device output buffers of one batch plus the pinned staging that feeds them. */
    static final class Slot {
        final GpuBatchPipeline owner;
        final int views, capacity;
        final Tensor output;                 // [views * capacity, 3, H, W]
        final Tensor labels;                 // I32 [capacity]
        final PinnedHostBuffer params, pinnedLabels;
        PinnedHostBuffer bitstreams, rgb, late;
        final CudaEvent done = new CudaEvent(), released = new CudaEvent();
        boolean used;

        Slot(GpuBatchPipeline owner, CudaBackend backend, GpuRecipe recipe, int capacity, DType out) {
            this.owner = owner;
            this.views = recipe.views();
            this.capacity = capacity;
            this.output = backend.empty(out, views * capacity, 3, recipe.height(), recipe.width());
            this.labels = backend.empty(DType.I32, capacity);
            this.params = new PinnedHostBuffer(AugmentJobs.maxUploadBytes(views * capacity, AugmentJobs.MAX_BLUR));
            this.pinnedLabels = new PinnedHostBuffer(4L * capacity);
        }

        void close() {
            output.close();
            labels.close();
            for (PinnedHostBuffer b : new PinnedHostBuffer[] {params, pinnedLabels, bitstreams, rgb, late}) if (b != null) b.close();
            done.close();
            released.close();
        }
    }

    private final CudaBackend backend;
    private final EncodedDataset dataset;
    private final GpuRecipe recipe;
    private final LoaderConfig config;
    private final GpuPipelineOptions options;
    private final ExecutorService workers;
    private final CudaStream stream = new CudaStream();
    private final NvJpegDecoder decoder;
    private final GpuAugmenter augmenter;
    private final AugmentJobs jobs;
    private final List<Slot> slots = new ArrayList<>();
    private final BlockingQueue<Slot> free = new LinkedBlockingQueue<>();
    private final GpuPipelineStats stats = new GpuPipelineStats();
    private DeviceBuffer decoded;          // every image of the batch being decoded / augmented (one stream: shared)
    private volatile int generation;       // bumped when an epoch closes: releases of older batches are ignored
    private Epoch active;
    private boolean closed;

    public GpuBatchPipeline(CudaBackend backend, EncodedDataset dataset, GpuRecipe recipe, LoaderConfig config, GpuPipelineOptions options) {
        if (dataset.size() == 0) throw new DataException("gpu pipeline: the dataset is empty");
        if ((long) recipe.views() * config.batchSize() > AugmentJobs.MAX_JOBS) {
            throw new IllegalArgumentException("gpu pipeline: " + recipe.views() + " views x batch " + config.batchSize()
                    + " exceed the " + AugmentJobs.MAX_JOBS + " jobs one launch takes");
        }
        this.backend = backend;
        this.dataset = dataset;
        this.recipe = recipe;
        this.config = config;
        this.options = options;
        this.jobs = new AugmentJobs(recipe.height(), recipe.width(), recipe.views() * config.batchSize());
        this.augmenter = new GpuAugmenter(backend, recipe, options.output());   // checks the native layout first
        NvJpegDecoder d = null;
        try {
            d = new NvJpegDecoder(backend.device().index(), config.batchSize(), options.hardwareDecoder(), options.hardwareShare());
            for (int i = 0; i < options.slots(); i++) {
                Slot s = new Slot(this, backend, recipe, config.batchSize(), options.output());
                slots.add(s);
                free.add(s);
            }
        } catch (RuntimeException e) {
            for (Slot s : slots) s.close();
            if (d != null) d.close();
            augmenter.close();
            stream.close();
            throw e;
        }
        this.decoder = d;
        int id = POOL_ID.incrementAndGet();
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(config.workers(), r -> {
            Thread t = new Thread(r, "gpudata-" + id + "-reader-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        LOG.info("GPU data path: {} on {}, nvJPEG {}", recipe, backend, decoder.hardwareInfo());
    }

    public GpuPipelineStats stats() { return stats; }

    public GpuRecipe recipe() { return recipe; }

    public LoaderConfig config() { return config; }

    /** The NVJPG hardware decoder's engines, or why it is not used. */
    public String decoderInfo() { return decoder.hardwareInfo(); }

    public int batchesPerEpoch() {
        int n = EpochOrder.indices(dataset.size(), 0, 0, false, config.rank(), config.worldSize(), config.dropLast()).length;
        return config.dropLast() ? n / config.batchSize() : (n + config.batchSize() - 1) / config.batchSize();
    }

    /** The batches of {@code epoch}; one epoch at a time. Close it to stop early. */
    public synchronized Epoch epoch(int epoch) {
        if (closed) throw new IllegalStateException("gpu pipeline used after close()");
        if (active != null && !active.closed) {
            throw new IllegalStateException("gpu pipeline: epoch " + active.epoch + " is still open; close it before starting epoch " + epoch);
        }
        int[] order = EpochOrder.indices(dataset.size(), config.seed(), epoch, config.shuffle(), config.rank(),
                config.worldSize(), config.dropLast());
        active = new Epoch(epoch, order);
        return active;
    }

    void recycle(Slot s, int batchGeneration) {
        if (batchGeneration == generation) free.add(s);   // else the slot went back when its epoch closed
    }

    static long align(long bytes) { return (bytes + ALIGN - 1) / ALIGN * ALIGN; }

    // ------------------------------------------------------------------ CPU stage (reader threads)

    private HostBatch prepare(int epoch, int batchIndex, int[] order, int start, int end) {
        List<Prepared> out = new ArrayList<>(end - start);
        for (int p = start; p < end; p++) {
            int idx = order[p];
            try {
                out.add(prepareOne(epoch, idx));
            } catch (CorruptSampleException e) {
                skipOrFail(idx, e);
            }
        }
        if (Thread.currentThread().isInterrupted()) throw new DataException("gpu pipeline closed");
        return new HostBatch(epoch, batchIndex, out);
    }

    private Prepared prepareOne(int epoch, int idx) {
        String source = dataset.source(idx);
        byte[] bytes = dataset.bytes(idx);
        ImageFormat format = ImageFormat.sniff(bytes);
        JpegInfo info = format == ImageFormat.JPEG ? JpegInfo.read(bytes, source) : null;
        String cpuReason = cpuReason(format, info);
        int h, w;
        U8Image rgb = null;
        if (cpuReason == null) {
            h = info.height();
            w = info.width();
        } else {
            rgb = ImageDecoder.decode(bytes, source).toRgb();   // names a corrupt or unknown file
            h = rgb.height();
            w = rgb.width();
        }
        AugmentParams[] views = recipe.sample(Rng.forSample(config.seed(), epoch, idx), h, w);
        return new Prepared(idx, dataset.label(idx), source, cpuReason == null ? bytes : null, rgb, cpuReason, h, w, views);
    }

    /** null when nvJPEG should decode these bytes, else why the CPU decodes them. */
    static String cpuReason(byte[] bytes, String source) {
        ImageFormat format = ImageFormat.sniff(bytes);
        return cpuReason(format, format == ImageFormat.JPEG ? JpegInfo.read(bytes, source) : null);
    }

    private static String cpuReason(ImageFormat format, JpegInfo info) {
        if (format == ImageFormat.UNKNOWN) return "not an image";
        if (format != ImageFormat.JPEG) return format.name();
        if (info.components() == 4) return "CMYK/YCCK JPEG";
        if (info.components() == 3 && info.adobeTransform() == 0) return "RGB JPEG (Adobe transform 0)";
        if (info.components() != 1 && info.components() != 3) return info.components() + "-component JPEG";
        if (info.width() < 1 || info.height() < 1) return "JPEG without a size in its frame header";
        return null;
    }

    private void skipOrFail(int idx, CorruptSampleException e) {
        if (config.onCorrupt() == CorruptPolicy.FAIL) {
            throw new DataException("corrupt sample (onCorrupt = FAIL): " + e.getMessage(), e);
        }
        LOG.warn("skipping corrupt sample (dataset index {}): {}", idx, e.getMessage());
        stats.skipped(e.source());
    }

    // ------------------------------------------------------------------ GPU stage (feeder thread)

    private GpuBatch fill(Slot s, HostBatch hb) {
        if (s.used) s.done.synchronize();   // the slot's last batch is through: its pinned staging is free
        s.used = true;
        List<Prepared> all = hb.samples();
        int n = all.size();
        // Decoded-image layout: nvJPEG's images first, then the CPU-decoded ones, contiguous so one copy moves them.
        long[] offset = new long[n];
        long total = 0, bitstreamBytes = 0;
        for (int i = 0; i < n; i++) {
            Prepared p = all.get(i);
            if (p.rgb() != null) continue;
            offset[i] = total;
            total += p.decodedBytes();
            bitstreamBytes += align(p.bytes().length);
        }
        long cpuStart = total;
        for (int i = 0; i < n; i++) {
            Prepared p = all.get(i);
            if (p.rgb() == null) continue;
            offset[i] = total;
            total += p.decodedBytes();
        }
        long cpuBytes = total - cpuStart;
        if (decoded == null || decoded.bytes() < total) {
            if (decoded != null) {
                stream.synchronize();   // queued work may still read the old area
                decoded.close();
            }
            decoded = backend.allocator().allocate(Math.max(total + total / 4, ALIGN));
        }
        long base = decoded.address();

        // CPU-decoded images: one copy from pinned memory, laid out as on the device.
        if (cpuBytes > 0) {
            s.rgb = grow(s.rgb, cpuBytes);
            ByteBuffer b = s.rgb.buffer();
            for (int i = 0; i < n; i++) {
                Prepared p = all.get(i);
                if (p.rgb() != null) {
                    b.put((int) (offset[i] - cpuStart), p.rgb().data());
                    stats.cpuDecoded(p.cpuReason());
                }
            }
            Native.check(Native.Library.CUDA, cudart.cudaMemcpyAsync(Addresses.at(base + cpuStart), Addresses.at(s.rgb.address()),
                    cpuBytes, cudart.cudaMemcpyHostToDevice, stream.handle()), "cudaMemcpyAsync(CPU-decoded images H2D)");
        }

        // JPEG bitstreams into pinned memory, then nvJPEG.
        boolean[] skip = new boolean[n];
        if (bitstreamBytes > 0) {
            s.bitstreams = grow(s.bitstreams, bitstreamBytes);
            ByteBuffer b = s.bitstreams.buffer();
            List<NvJpegDecoder.Request> requests = new ArrayList<>();
            List<Integer> requestSample = new ArrayList<>();
            long at = 0;
            for (int i = 0; i < n; i++) {
                Prepared p = all.get(i);
                if (p.rgb() != null) continue;
                b.put((int) at, p.bytes());
                requests.add(new NvJpegDecoder.Request(s.bitstreams.address() + at, p.bytes().length, base + offset[i],
                        3 * p.width(), p.width(), p.height()));
                requestSample.add(i);
                at += align(p.bytes().length);
            }
            NvJpegDecoder.Result r = decoder.decode(requests, stream);
            stats.decoded(r.hardware(), r.hybrid());
            if (r.failed().length > 0) decodeRefused(s, all, requestSample, r.failed(), offset, base, skip);
        }

        // Jobs: every view of every kept sample, compacted into the first `kept` output slots.
        jobs.clear();
        int[] labels = new int[n], indices = new int[n];
        int kept = 0;
        for (int i = 0; i < n; i++) {
            if (skip[i]) continue;
            Prepared p = all.get(i);
            AugmentJobs.Source src = new AugmentJobs.Source(base + offset[i], 3 * p.width(), p.height(), p.width());
            for (int v = 0; v < s.views; v++) jobs.add(p.views()[v], src, v * s.capacity + kept);
            labels[kept] = p.label();
            indices[kept] = p.index();
            kept++;
        }
        labels = java.util.Arrays.copyOf(labels, kept);
        indices = java.util.Arrays.copyOf(indices, kept);
        stream.waitFor(s.released);   // the training stream is done with this slot's last batch (no-op before first use)
        augmenter.run(jobs, s.params, s.output, stream);
        s.pinnedLabels.buffer().clear();
        s.pinnedLabels.buffer().asIntBuffer().put(labels);
        backend.copyAsync(s.pinnedLabels, 0, s.labels.rows(0, kept), stream);
        s.done.record(stream);
        return new GpuBatch(s, generation, hb.epoch(), hb.index(), kept, labels, indices);
    }

    /** Images nvJPEG refused: decode them here (the CPU decoder names a corrupt file), or skip / fail. */
    private void decodeRefused(Slot s, List<Prepared> all, List<Integer> requestSample, int[] failed, long[] offset, long base,
                               boolean[] skip) {
        List<Integer> samples = new ArrayList<>();
        List<U8Image> images = new ArrayList<>();
        long bytes = 0;
        for (int f : failed) {
            int i = requestSample.get(f);
            Prepared p = all.get(i);
            try {
                U8Image rgb = ImageDecoder.decode(p.bytes(), p.source()).toRgb();
                if (rgb.height() != p.height() || rgb.width() != p.width()) {
                    throw new DataException(p.source() + ": the JPEG header says " + p.height() + "x" + p.width()
                            + " but the decoder made " + rgb.height() + "x" + rgb.width());
                }
                samples.add(i);
                images.add(rgb);
                bytes += p.decodedBytes();
                stats.cpuDecoded("refused by nvJPEG");
            } catch (CorruptSampleException e) {
                skipOrFail(p.index(), e);
                skip[i] = true;
            }
        }
        if (samples.isEmpty()) return;
        s.late = grow(s.late, bytes);
        ByteBuffer b = s.late.buffer();
        long at = 0;
        for (int k = 0; k < samples.size(); k++) {
            byte[] px = images.get(k).data();
            b.put((int) at, px);
            Native.check(Native.Library.CUDA, cudart.cudaMemcpyAsync(Addresses.at(base + offset[samples.get(k)]),
                    Addresses.at(s.late.address() + at), px.length, cudart.cudaMemcpyHostToDevice, stream.handle()),
                    "cudaMemcpyAsync(refused image H2D)");
            at += align(px.length);
        }
    }

    /** A pinned buffer of at least `bytes`; only called when the slot's previous batch is through with it. */
    private static PinnedHostBuffer grow(PinnedHostBuffer b, long bytes) {
        if (b != null && b.bytes() >= bytes) return b;
        long size = b == null ? bytes : Math.max(bytes, b.bytes() + b.bytes() / 4);
        if (size > Integer.MAX_VALUE) throw new DataException("gpu pipeline: a batch needs " + size + " bytes of staging (over 2 GiB)");
        if (b != null) b.close();
        return new PinnedHostBuffer(size);
    }

    // ------------------------------------------------------------------ one epoch

    public final class Epoch implements Iterator<GpuBatch>, AutoCloseable {
        private final int epoch;
        private final int[] order;
        private final int batches;
        private final ArrayDeque<Future<HostBatch>> inFlight = new ArrayDeque<>();
        private final BlockingQueue<Object> ready;
        private final Thread feeder;
        private volatile boolean closed;
        private int submitted, taken;
        private Object head;
        private long lastLog = System.nanoTime();

        private Epoch(int epoch, int[] order) {
            this.epoch = epoch;
            this.order = order;
            this.batches = config.dropLast() ? order.length / config.batchSize()
                    : (order.length + config.batchSize() - 1) / config.batchSize();
            this.ready = new ArrayBlockingQueue<>(options.slots() + 1);
            stats.started();
            this.feeder = new Thread(this::feed, "gpudata-feeder-epoch-" + epoch);
            feeder.setDaemon(true);
            feeder.start();
        }

        private void submitNext() {
            int b = submitted++;
            int start = b * config.batchSize(), end = Math.min(order.length, start + config.batchSize());
            inFlight.add(workers.submit(() -> prepare(epoch, b, order, start, end)));
        }

        private void feed() {
            try {
                int device = backend.device().index();
                Native.check(Native.Library.CUDA, cudart.cudaSetDevice(device), "cudaSetDevice(" + device + ")");
                while (submitted < batches && inFlight.size() < config.prefetch()) submitNext();
                for (int b = 0; b < batches && !closed; b++) {
                    HostBatch hb = inFlight.poll().get();
                    if (submitted < batches) submitNext();
                    Slot s = free.take();
                    try {
                        ready.put(fill(s, hb));
                    } catch (RuntimeException e) {
                        free.add(s);
                        throw e;
                    }
                }
                ready.put(END);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                offer(c instanceof DataException d ? d : new DataException("gpu pipeline: reading a batch failed: " + c, c));
            } catch (RuntimeException e) {
                offer(e);
            }
        }

        private void offer(RuntimeException e) {
            try {
                ready.put(e);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        }

        private Object peek() {
            if (head == null) {
                try {
                    head = ready.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DataException("interrupted while waiting for a GPU batch", e);
                }
            }
            return head;
        }

        @Override public boolean hasNext() { return !closed && peek() != END; }

        @Override public GpuBatch next() {
            if (!hasNext()) throw new NoSuchElementException("epoch " + epoch + " has no more batches");
            Object h = head;
            head = null;
            if (h instanceof RuntimeException e) {
                head = END;
                throw e instanceof DataException d ? d : new DataException("gpu pipeline: batch " + taken + " of epoch " + epoch + " failed: " + e, e);
            }
            GpuBatch b = (GpuBatch) h;
            taken++;
            stats.delivered(b.size());
            maybeLog();
            return b;
        }

        private void maybeLog() {
            if (config.logEverySeconds() <= 0) return;
            long now = System.nanoTime();
            if (now - lastLog >= config.logEverySeconds() * 1e9 || taken == batches) {
                lastLog = now;
                LOG.info("epoch {} batch {}/{} (GPU data path): {}", epoch, taken, batches, stats);
            }
        }

        /** Stops reading and decoding; batches already handed out must not be used afterwards. */
        @Override public void close() {
            if (closed) return;
            closed = true;
            feeder.interrupt();
            try {
                feeder.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            for (Future<HostBatch> f : inFlight) f.cancel(true);
            inFlight.clear();
            // Every slot is free again once the device has finished what was queued.
            stream.synchronize();
            backend.synchronize();
            generation++;
            free.clear();
            free.addAll(slots);
        }
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        if (active != null) active.close();
        workers.shutdownNow();
        stream.synchronize();
        backend.synchronize();
        decoder.close();
        augmenter.close();
        if (decoded != null) decoded.close();
        for (Slot s : slots) s.close();
        stream.close();
    }
}
