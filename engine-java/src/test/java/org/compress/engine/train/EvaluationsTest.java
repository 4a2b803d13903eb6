// The paper's three evaluations on data whose answer is known: the Hungarian matching against brute force over
// every permutation, k-means + matching on separated blobs (perfect, whatever order the clusters come out in),
// the linear probe on linearly separable but not nearest-neighbour-friendly data, and the one-scan multi-k k-NN
// against the per-k scan.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class EvaluationsTest {
    @Test void hungarianMatchingIsTheBestPermutation() {
        Random rng = new Random(3);
        for (int trial = 0; trial < 200; trial++) {
            int rows = 1 + rng.nextInt(6), cols = 1 + rng.nextInt(6);
            long[][] counts = new long[rows][cols];
            for (long[] r : counts) for (int j = 0; j < cols; j++) r[j] = rng.nextInt(trial % 2 == 0 ? 5 : 1000);
            int[] map = ClusterAlignment.Hungarian.maximise(counts);
            long got = 0;
            boolean[] used = new boolean[cols];
            for (int i = 0; i < rows; i++) {
                if (map[i] < 0) continue;
                assertTrue(!used[map[i]], "column " + map[i] + " used twice");
                used[map[i]] = true;
                got += counts[i][map[i]];
            }
            assertEquals(best(counts, 0, new boolean[cols]), got, "trial " + trial + ": total of the matching");
            long matched = java.util.Arrays.stream(map).filter(c -> c >= 0).count();
            assertEquals(Math.min(rows, cols), matched, "every row matched while columns last");
        }
    }

    private static long best(long[][] c, int row, boolean[] used) {
        if (row == c.length) return 0;
        long b = best(c, row + 1, used);                   // this row left unmatched (only optimal when rows > cols)
        for (int j = 0; j < used.length; j++) {
            if (used[j]) continue;
            used[j] = true;
            b = Math.max(b, c[row][j] + best(c, row + 1, used));
            used[j] = false;
        }
        return b;
    }

    /** n points per class around unit vectors e_c (plus noise), labels c; D = classes + 2. */
    static Embeddings.Set blobs(int classes, int perClass, double noise, long seed) {
        Random rng = new Random(seed);
        int d = classes + 2, n = classes * perClass;
        float[] x = new float[n * d];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = (i * 7) % classes;                       // interleaved labels: no order to exploit
            for (int q = 0; q < d; q++) x[i * d + q] = (float) (noise * rng.nextGaussian() + (q == y[i] ? 1 : 0));
        }
        return new Embeddings.Set(x, y, d);
    }

    @Test void clustersOfSeparatedBlobsAlignPerfectlyAndNoiseDoesNot() {
        Embeddings.Set train = blobs(6, 50, 0.05, 1), test = blobs(6, 30, 0.05, 2);
        ClusterAlignment.Result r = ClusterAlignment.run(train, test, 6, 6, 30, 0);
        assertEquals(1.0, r.trainAccuracy());
        assertEquals(1.0, r.testAccuracy());
        // shuffled labels carry no structure: accuracy near chance (1/6), far from 1
        int[] shuffled = train.labels().clone();
        Random rng = new Random(5);
        for (int i = shuffled.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1), t = shuffled[i];
            shuffled[i] = shuffled[j];
            shuffled[j] = t;
        }
        ClusterAlignment.Result noise = ClusterAlignment.run(new Embeddings.Set(train.values(), shuffled, train.dim()), test, 6, 6, 30, 0);
        assertTrue(noise.testAccuracy() < 0.5, "labels unrelated to the clusters: " + noise.testAccuracy());
        // more clusters than classes: the unmatched ones count as wrong, so accuracy drops below 1 but stays high
        ClusterAlignment.Result more = ClusterAlignment.run(train, test, 6, 12, 30, 0);
        assertEquals(12, more.clusterToClass().length);
        assertTrue(more.testAccuracy() < 1.0 && more.testAccuracy() >= 0.4, "12 clusters for 6 classes: " + more.testAccuracy());
    }

    @Test void linearProbeSeparatesWhatNearestNeighboursConfuse() {
        // class = sign of coordinate 0, which is small next to large irrelevant coordinates: 1-NN is near chance,
        // a linear layer on standardised features finds the one direction that matters
        Random rng = new Random(11);
        int n = 2000, d = 16;
        float[] x = new float[n * d], xt = new float[n * d];
        int[] y = new int[n], yt = new int[n];
        for (float[] arr : new float[][] {x, xt}) {
            int[] lab = arr == x ? y : yt;
            for (int i = 0; i < n; i++) {
                lab[i] = rng.nextBoolean() ? 1 : 0;
                for (int q = 0; q < d; q++) arr[i * d + q] = (float) (q == 0 ? (lab[i] == 1 ? 0.3 : -0.3) + 0.05 * rng.nextGaussian()
                        : 5 + 2 * rng.nextGaussian());
            }
        }
        Embeddings.Set train = new Embeddings.Set(x, y, d), test = new Embeddings.Set(xt, yt, d);
        LinearProbe.Result r = LinearProbe.run(train, test, 2, LinearProbe.Options.official().withEpochs(10));
        assertTrue(r.testAccuracy() > 0.97, "linear probe test accuracy " + r.testAccuracy());
        double nn = new KnnEvaluator(x, y, d, 2).accuracy(xt, yt, 1, 0.07);
        assertTrue(nn < 0.75, "1-NN is confused by the irrelevant coordinates: " + nn);
        // the folded fc on L2-normalised features predicts exactly as the probe
        float[][] fc = r.classifier().asFc();
        float[] z = KnnEvaluator.normalized(xt, d);
        for (int i = 0; i < 200; i++) {
            double a = fc[1][0], b = fc[1][1];
            for (int q = 0; q < d; q++) {
                a += fc[0][q] * z[i * d + q];
                b += fc[0][d + q] * z[i * d + q];
            }
            assertEquals(r.classifier().predict(z, i * d), b > a ? 1 : 0, "row " + i);
        }
        // zero epochs: the untrained layer is near chance
        assertTrue(LinearProbe.run(train, test, 2, LinearProbe.Options.official().withEpochs(0)).testAccuracy() < 0.8);
    }

    @Test void oneScanKnnEqualsTheScanPerK() {
        Embeddings.Set train = blobs(5, 40, 0.6, 7), test = blobs(5, 20, 0.6, 8);
        KnnEvaluator knn = new KnnEvaluator(train.values(), train.labels(), train.dim(), 5);
        int[] ks = {1, 5, 20, 200};
        double[] all = knn.accuracies(test.values(), test.labels(), ks, 0.07);
        double[] each = new double[ks.length];
        for (int i = 0; i < ks.length; i++) each[i] = knn.accuracy(test.values(), test.labels(), ks[i], 0.07);
        assertArrayEquals(each, all);
        assertTrue(all[0] > 0.3 && all[0] < 1, "noisy blobs: NN " + all[0]);
    }
}
