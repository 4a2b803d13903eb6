// The loader: same seed -> same batches whatever the worker count; epochs reshuffle; shards cover the data
// exactly once; corrupt files are counted and named (SKIP) or fail the epoch (FAIL); values are right.
package org.compress.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.datasets.IdxDataset;
import org.compress.engine.data.datasets.ImageFolder;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.loader.Batch;
import org.compress.engine.data.loader.CorruptPolicy;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.loader.EpochOrder;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.data.transforms.Recipes;
import org.compress.engine.testing.Close;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataLoaderTest {
    @TempDir Path tmp;

    /** n random RGB images of varying odd sizes, label = index % 7. */
    static Dataset synthetic(int n) {
        return new Dataset() {
            @Override public int size() { return n; }
            @Override public int numClasses() { return 7; }
            @Override public int label(int i) { return i % 7; }
            @Override public String source(int i) { return "synthetic#" + i; }
            @Override public U8Image image(int i) {
                int h = 9 + i % 5, w = 7 + i % 3;
                byte[] b = new byte[h * w * 3];
                new SplittableRandom(i).nextBytes(b);
                return new U8Image(h, w, 3, b);
            }
        };
    }

    record Epoch(List<float[]> data, List<int[]> indices, List<int[]> labels) {}

    static Epoch run(Dataset ds, LoaderConfig cfg, int epoch) {
        try (DataLoader loader = new DataLoader(ds, Recipes.mocov2(8), cfg); DataLoader.Epoch it = loader.epoch(epoch)) {
            Epoch e = new Epoch(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
            while (it.hasNext()) {
                try (Batch b = it.next()) {
                    assertEquals(2, b.viewCount());
                    float[] both = new float[2 * b.size() * 3 * 8 * 8];
                    System.arraycopy(b.viewData(0), 0, both, 0, both.length / 2);
                    System.arraycopy(b.viewData(1), 0, both, both.length / 2, both.length / 2);
                    e.data.add(both);
                    e.indices.add(b.indices());
                    e.labels.add(b.labels());
                    for (int k = 0; k < b.size(); k++) assertEquals(ds.label(b.indices()[k]), b.labels()[k]);
                }
            }
            return e;
        }
    }

    static int[] flat(List<int[]> l) {
        return l.stream().flatMapToInt(Arrays::stream).toArray();
    }

    @Test void sameSeedSameBatchesWhateverTheWorkerCount() {
        Dataset ds = synthetic(53);
        LoaderConfig cfg = LoaderConfig.of(8).seed(11);
        Epoch one = run(ds, cfg.workers(1).prefetch(1), 0);
        Epoch three = run(ds, cfg.workers(3), 0);
        assertEquals(7, one.data.size());
        for (int b = 0; b < one.data.size(); b++) {
            Close.assertBitwise("batch " + b, three.data.get(b), one.data.get(b));
            assertArrayEquals(one.indices.get(b), three.indices.get(b));
        }
        Close.assertFiniteNonZero("batch 0", one.data.get(0));
        int[] order0 = flat(one.indices);
        int[] sorted = order0.clone();
        Arrays.sort(sorted);
        assertArrayEquals(java.util.stream.IntStream.range(0, 53).toArray(), sorted, "one epoch = every sample once");
        int[] order1 = flat(run(ds, cfg.workers(2), 1).indices);
        assertFalse(Arrays.equals(order0, order1), "epoch 1 has another order");
        assertFalse(Arrays.equals(order0, flat(run(ds, cfg.seed(12), 0).indices)), "another seed, another order");
        // The two MoCo views of a sample differ (independent draws).
        float[] first = one.data.get(0);
        assertFalse(Arrays.equals(Arrays.copyOfRange(first, 0, 192), Arrays.copyOfRange(first, first.length / 2, first.length / 2 + 192)));
    }

    @Test void shardsCoverTheDatasetExactlyOnce() {
        for (int n : new int[] {52, 53, 1, 257}) {
            for (int ws : new int[] {1, 4, 3}) {
                int[] count = new int[n];
                int len = -1;
                for (int r = 0; r < ws; r++) {
                    int[] shard = EpochOrder.indices(n, 5, 2, true, r, ws, false);
                    if (len >= 0) assertEquals(len, shard.length, "equal-length shards");
                    len = shard.length;
                    for (int i : shard) count[i]++;
                }
                int pad = len * ws - n, extra = 0;
                for (int c : count) {
                    assertTrue(c >= 1, "n " + n + " ws " + ws + ": a sample never seen");
                    extra += c - 1;
                }
                assertEquals(pad, extra, "only the padding repeats");
                int[] seen = new int[n];
                for (int r = 0; r < ws; r++) for (int i : EpochOrder.indices(n, 5, 2, true, r, ws, true)) seen[i]++;
                int missing = 0;
                for (int c : seen) {
                    assertTrue(c <= 1);
                    if (c == 0) missing++;
                }
                assertEquals(n % ws, missing, "dropLast trims the tail only");
            }
        }
        DataLoader loader = new DataLoader(synthetic(53), Recipes.compress(4), LoaderConfig.of(5).shard(1, 4).dropLast(true));
        assertEquals(2, loader.batchesPerEpoch());   // 13 samples on the rank, batches of 5, last dropped
        loader.close();
    }

    static void png(Path p, int rgb) throws IOException {
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(6, 5, java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 5; y++) for (int x = 0; x < 6; x++) img.setRGB(x, y, rgb + x * 3 + y);
        Files.createDirectories(p.getParent());
        javax.imageio.ImageIO.write(img, "png", p.toFile());
    }

    @Test void corruptFilesAreCountedAndNamedOrFailTheRun() throws IOException {
        Path root = tmp.resolve("set");
        for (int i = 0; i < 6; i++) png(root.resolve("a/" + i + ".png"), 0x203040 * i);
        for (int i = 0; i < 5; i++) png(root.resolve("b/" + i + ".png"), 0x102030 * i);
        Files.writeString(root.resolve("a/broken.jpg"), "<html>not an image</html>");
        byte[] good = Files.readAllBytes(root.resolve("b/0.png"));
        Files.write(root.resolve("b/cut.png"), Arrays.copyOf(good, good.length / 2));
        ImageFolder ds = ImageFolder.open(root);
        assertEquals(13, ds.size());
        try (DataLoader loader = new DataLoader(ds, Recipes.compress(4), LoaderConfig.of(4).seed(3))) {
            int delivered = 0;
            try (DataLoader.Epoch e = loader.epoch(0)) {
                while (e.hasNext()) try (Batch b = e.next()) { delivered += b.size(); }
            }
            assertEquals(11, delivered);
            assertEquals(2, loader.stats().skipped());
            assertEquals(11, loader.stats().images());
            List<String> sources = loader.stats().skippedSources();
            assertTrue(sources.contains(root.resolve("a/broken.jpg").toString()), sources.toString());
            assertTrue(sources.contains(root.resolve("b/cut.png").toString()), sources.toString());
        }
        try (DataLoader loader = new DataLoader(ds, Recipes.compress(4), LoaderConfig.of(4).onCorrupt(CorruptPolicy.FAIL));
             DataLoader.Epoch e = loader.epoch(0)) {
            DataException failure = assertThrows(DataException.class, () -> { while (e.hasNext()) e.next().close(); });
            assertTrue(failure.getMessage().contains("broken.jpg") || failure.getMessage().contains("cut.png"), failure.getMessage());
        }
    }

    @Test void fashionMnistBatchesHoldTheNormalisedPixels() {
        IdxDataset ds = IdxDataset.openSplit(DatasetsTest.FASHION, "t10k");
        try (DataLoader loader = new DataLoader(ds, Recipes.plain(1, 28, 28, Normalize.FASHION_MNIST), LoaderConfig.of(257).workers(2));
             DataLoader.Epoch e = loader.epoch(0)) {
            int total = 0;
            while (e.hasNext()) {
                try (Batch b = e.next()) {
                    if (total == 0) {
                        int idx = b.indices()[3];
                        byte[] px = ds.image(idx).data();
                        float[] ref = new float[784];
                        for (int i = 0; i < 784; i++) ref[i] = ((px[i] & 0xff) / 255f - 0.2860f) / 0.3530f;
                        Close.assertBitwise("sample 3", Arrays.copyOfRange(b.viewData(0), 3 * 784, 4 * 784), ref);
                        assertArrayEquals(new int[] {257, 1, 28, 28}, b.view(0).shape());
                    }
                    total += b.size();
                }
            }
            assertEquals(10000, total);
            assertEquals(39, loader.stats().batches());   // ceil(10000 / 257)
        }
    }

    @Test void badConfigurationsSayWhatIsWrong() {
        assertThrows(IllegalArgumentException.class, () -> LoaderConfig.of(0));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoaderConfig.of(4).shard(4, 4))
                .getMessage().contains("rank 4, worldSize 4"));
        assertThrows(IllegalArgumentException.class, () -> LoaderConfig.of(4).workers(0));
        // The plain recipe needs images of its size; a mismatch is a configuration error, not a skipped sample.
        try (DataLoader loader = new DataLoader(synthetic(3), Recipes.plain(3, 28, 28, Normalize.IMAGENET), LoaderConfig.of(2));
             DataLoader.Epoch e = loader.epoch(0)) {
            assertTrue(assertThrows(DataException.class, e::next).getMessage().contains("expected 28x28 images"));
        }
    }
}
