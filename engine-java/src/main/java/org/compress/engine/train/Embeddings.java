// Embeddings of a whole dataset under a network's trunk (eval mode, deterministic view), as host arrays for k-NN.
package org.compress.engine.train;

import org.compress.engine.backend.Backend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.dist.DistributedContext;
import org.compress.engine.data.loader.Batch;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.nn.models.Network;

public final class Embeddings {
    /** values: N x dim, row i the embedding of dataset image i; labels: the dataset's labels. */
    public record Set(float[] values, int[] labels, int dim) {}

    private Embeddings() {}

    public static Set of(Backend backend, Network net, Dataset data, Recipe view, int batchSize, int workers) {
        return of(backend, net, data, view, batchSize, workers, LoaderConfig.of(batchSize).seed(), 0);
    }

    /**
     * As above with the augmentation the loader draws at (seed, epoch) for each image: with a random recipe, row i
     * is the embedding of exactly the view of image i that a training loader with that seed sees at that epoch.
     */
    public static Set of(Backend backend, Network net, Dataset data, Recipe view, int batchSize, int workers, long seed, int augmentationEpoch) {
        net.eval();
        int n = data.size(), dim = net.embeddingDim();
        float[] out = new float[n * dim];
        int[] labels = new int[n];
        LoaderConfig cfg = LoaderConfig.of(batchSize).workers(workers).shuffle(false).seed(seed);
        try (DataLoader loader = new DataLoader(data, view, cfg); DataLoader.Epoch epoch = loader.epoch(augmentationEpoch);
             BatchStager stager = new BatchStager(backend)) {
            while (epoch.hasNext()) {
                try (Batch b = epoch.next()) {
                    float[] e = backend.toFloatArray(net.embed(stager.stage(b.view(0))));
                    int[] idx = b.indices(), lab = b.labels();
                    for (int i = 0; i < b.size(); i++) {
                        System.arraycopy(e, i * dim, out, idx[i] * dim, dim);
                        labels[idx[i]] = lab[i];
                    }
                }
            }
        }
        return new Set(out, labels, dim);
    }

    /**
     * As {@link #of(Backend, Network, Dataset, Recipe, int, int)}, split across {@code dist}'s ranks: each rank embeds its
     * shard (DistributedSampler order, padded to equal length) and the shards are all-gathered, so every rank returns
     * the whole set. World size 1: the single-process computation.
     */
    public static Set of(Backend backend, Network net, Dataset data, Recipe view, int batchSize, int workers, DistributedContext dist) {
        if (!dist.isDistributed()) return of(backend, net, data, view, batchSize, workers);
        net.eval();
        int n = data.size(), dim = net.embeddingDim();
        LoaderConfig cfg = LoaderConfig.of(batchSize).workers(workers).shuffle(false).shard(dist.rank(), dist.worldSize());
        int perRank = (n + dist.worldSize() - 1) / dist.worldSize();
        float[] local = new float[perRank * (dim + 2)];   // per row: the embedding, then the index and label (exact as floats below 2^24)
        if (n >= 1 << 24) throw new IllegalArgumentException("distributed embeddings: at most 2^24 images, found " + n);
        int row = 0;
        try (DataLoader loader = new DataLoader(data, view, cfg); DataLoader.Epoch epoch = loader.epoch(0);
             BatchStager stager = new BatchStager(backend)) {
            while (epoch.hasNext()) {
                try (Batch b = epoch.next()) {
                    float[] e = backend.toFloatArray(net.embed(stager.stage(b.view(0))));
                    int[] idx = b.indices(), lab = b.labels();
                    for (int i = 0; i < b.size(); i++, row++) {
                        System.arraycopy(e, i * dim, local, row * (dim + 2), dim);
                        local[row * (dim + 2) + dim] = idx[i];
                        local[row * (dim + 2) + dim + 1] = lab[i];
                    }
                }
            }
        }
        if (row != perRank) throw new IllegalStateException("rank " + dist.rank() + " embedded " + row + " images, expected " + perRank);
        float[] all = dist.allGatherHost(local);
        float[] out = new float[n * dim];
        int[] labels = new int[n];
        for (int r = 0; r < all.length / (dim + 2); r++) {   // padding repeats images: the same values land twice
            int at = r * (dim + 2), idx = (int) all[at + dim];
            System.arraycopy(all, at, out, idx * dim, dim);
            labels[idx] = (int) all[at + dim + 1];
        }
        return new Set(out, labels, dim);
    }

    /** The images themselves as vectors (the k-NN baseline a learned embedding should beat). */
    public static Set pixels(Dataset data, Recipe view, int batchSize, int workers) {
        LoaderConfig cfg = LoaderConfig.of(batchSize).workers(workers).shuffle(false);
        int dim = view.channels() * view.height() * view.width();
        float[] out = new float[data.size() * dim];
        int[] labels = new int[data.size()];
        try (DataLoader loader = new DataLoader(data, view, cfg); DataLoader.Epoch epoch = loader.epoch(0)) {
            while (epoch.hasNext()) {
                try (Batch b = epoch.next()) {
                    float[] v = b.viewData(0);
                    int[] idx = b.indices(), lab = b.labels();
                    for (int i = 0; i < b.size(); i++) {
                        System.arraycopy(v, i * dim, out, idx[i] * dim, dim);
                        labels[idx[i]] = lab[i];
                    }
                }
            }
        }
        return new Set(out, labels, dim);
    }
}
