// Progress of a GpuBatchPipeline: images and batches delivered, how each image was decoded (NVJPG hardware,
// nvJPEG hybrid, CPU with the reason), skipped samples with their sources, images per second. Thread-safe.
package org.compress.engine.data.gpu;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

public final class GpuPipelineStats {
    private static final int KEPT_SOURCES = 1000;
    private final LongAdder images = new LongAdder(), batches = new LongAdder(), skipped = new LongAdder();
    private final LongAdder hardware = new LongAdder(), hybrid = new LongAdder();
    private final Map<String, LongAdder> cpu = new ConcurrentHashMap<>();
    private final List<String> skippedSources = new ArrayList<>();
    private volatile long startNanos = -1;

    void started() { if (startNanos < 0) startNanos = System.nanoTime(); }

    void delivered(int n) {
        images.add(n);
        batches.increment();
    }

    void decoded(int onHardware, int onHybrid) {
        hardware.add(onHardware);
        hybrid.add(onHybrid);
    }

    void cpuDecoded(String reason) { cpu.computeIfAbsent(reason, k -> new LongAdder()).increment(); }

    void skipped(String source) {
        skipped.increment();
        synchronized (skippedSources) {
            if (skippedSources.size() < KEPT_SOURCES) skippedSources.add(source);
        }
    }

    public long images() { return images.sum(); }

    public long batches() { return batches.sum(); }

    public long skipped() { return skipped.sum(); }

    /** Images decoded by the NVJPG hardware decoder. */
    public long hardwareDecoded() { return hardware.sum(); }

    /** Images decoded by nvJPEG's hybrid (CPU Huffman + GPU) decoder. */
    public long hybridDecoded() { return hybrid.sum(); }

    /** Images decoded on the CPU, by reason (PNG, BMP, CMYK/YCCK JPEG, "refused by nvJPEG", ...). */
    public Map<String, Long> cpuDecoded() {
        Map<String, Long> m = new TreeMap<>();
        cpu.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    public long cpuDecodedTotal() { return cpu.values().stream().mapToLong(LongAdder::sum).sum(); }

    public List<String> skippedSources() {
        synchronized (skippedSources) { return List.copyOf(skippedSources); }
    }

    public double seconds() { return startNanos < 0 ? 0 : (System.nanoTime() - startNanos) / 1e9; }

    public double imagesPerSecond() {
        double s = seconds();
        return s == 0 ? 0 : images() / s;
    }

    @Override public String toString() {
        return String.format(Locale.ROOT, "%d images in %d batches, %.1f s, %.0f img/s; decoded: %d hardware, %d hybrid, %d cpu %s; %d skipped",
                images(), batches(), seconds(), imagesPerSecond(), hardwareDecoded(), hybridDecoded(), cpuDecodedTotal(), cpuDecoded(), skipped());
    }
}
