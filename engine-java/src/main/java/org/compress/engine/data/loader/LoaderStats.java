// Progress and throughput of a loader (all epochs): images delivered, batches, skipped samples with their
// sources, and images per second since the first batch was requested. Thread-safe.
package org.compress.engine.data.loader;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

public final class LoaderStats {
    private static final int KEPT_SOURCES = 1000;
    private final AtomicLong images = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    private final List<String> skippedSources = new ArrayList<>();
    private volatile long startNanos = -1;

    void started() { if (startNanos < 0) startNanos = System.nanoTime(); }

    void delivered(int n) {
        images.addAndGet(n);
        batches.incrementAndGet();
    }

    void skipped(String source) {
        skipped.incrementAndGet();
        synchronized (skippedSources) {
            if (skippedSources.size() < KEPT_SOURCES) skippedSources.add(source);
        }
    }

    public long images() { return images.get(); }

    public long batches() { return batches.get(); }

    public long skipped() { return skipped.get(); }

    /** The first 1000 skipped samples' sources (paths), in the order they were met. */
    public List<String> skippedSources() {
        synchronized (skippedSources) { return List.copyOf(skippedSources); }
    }

    public double seconds() { return startNanos < 0 ? 0 : (System.nanoTime() - startNanos) / 1e9; }

    public double imagesPerSecond() {
        double s = seconds();
        return s == 0 ? 0 : images.get() / s;
    }

    @Override public String toString() {
        return String.format(Locale.ROOT, "%d images in %d batches, %.1f s, %.0f img/s, %d skipped",
                images(), batches(), seconds(), imagesPerSecond(), skipped());
    }
}
