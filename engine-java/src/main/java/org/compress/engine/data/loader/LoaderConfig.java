// Loader settings. Shards are equal-length like torch's DistributedSampler: the epoch order is padded by
// repeating its head to a multiple of worldSize, or (dropLast) trimmed to one; dropLast also drops the
// shard's last incomplete batch, like DataLoader(drop_last=True).
package org.compress.engine.data.loader;

public record LoaderConfig(int batchSize, int workers, int prefetch, long seed, boolean shuffle, boolean dropLast,
                           int rank, int worldSize, CorruptPolicy onCorrupt, double logEverySeconds) {
    public LoaderConfig {
        if (batchSize < 1) throw new IllegalArgumentException("loader: expected batchSize >= 1, found " + batchSize);
        if (workers < 1) throw new IllegalArgumentException("loader: expected workers >= 1, found " + workers);
        if (prefetch < 1) throw new IllegalArgumentException("loader: expected prefetch >= 1 batch, found " + prefetch);
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("loader: expected 0 <= rank < worldSize, found rank " + rank + ", worldSize " + worldSize);
        }
    }

    /** Shuffled, one process, 2 workers, 2 batches in flight per worker, skip corrupt files, seed 0. */
    public static LoaderConfig of(int batchSize) {
        return new LoaderConfig(batchSize, 2, 4, 0L, true, false, 0, 1, CorruptPolicy.SKIP, 0);
    }

    public LoaderConfig workers(int n) { return new LoaderConfig(batchSize, n, Math.max(prefetch, 2 * n), seed, shuffle, dropLast, rank, worldSize, onCorrupt, logEverySeconds); }

    public LoaderConfig prefetch(int batches) { return new LoaderConfig(batchSize, workers, batches, seed, shuffle, dropLast, rank, worldSize, onCorrupt, logEverySeconds); }

    public LoaderConfig seed(long s) { return new LoaderConfig(batchSize, workers, prefetch, s, shuffle, dropLast, rank, worldSize, onCorrupt, logEverySeconds); }

    public LoaderConfig shuffle(boolean on) { return new LoaderConfig(batchSize, workers, prefetch, seed, on, dropLast, rank, worldSize, onCorrupt, logEverySeconds); }

    public LoaderConfig dropLast(boolean on) { return new LoaderConfig(batchSize, workers, prefetch, seed, shuffle, on, rank, worldSize, onCorrupt, logEverySeconds); }

    public LoaderConfig shard(int r, int size) { return new LoaderConfig(batchSize, workers, prefetch, seed, shuffle, dropLast, r, size, onCorrupt, logEverySeconds); }

    public LoaderConfig onCorrupt(CorruptPolicy p) { return new LoaderConfig(batchSize, workers, prefetch, seed, shuffle, dropLast, rank, worldSize, p, logEverySeconds); }

    /** Log a progress line (img/s, skipped) at most this often; 0 = never. */
    public LoaderConfig logEvery(double seconds) { return new LoaderConfig(batchSize, workers, prefetch, seed, shuffle, dropLast, rank, worldSize, onCorrupt, seconds); }
}
