// The paper's cluster-alignment evaluation: k-means on the L2-normalised training embeddings (as many clusters as
// classes by default; the paper uses 1000 on ImageNet), clusters matched one-to-one to classes by the Hungarian
// algorithm on the training confusion counts, then each test image takes the class of its nearest centroid's
// match (a cluster left without a class counts as wrong). Plain Java on host arrays.
package org.compress.engine.train;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;
import org.compress.engine.tensor.ShapeMismatchException;

public final class ClusterAlignment {
    public record Result(double trainAccuracy, double testAccuracy, int clusters, int[] clusterToClass) {}

    private ClusterAlignment() {}

    public static Result run(Embeddings.Set train, Embeddings.Set test, int classes, int clusters, int iterations, long seed) {
        int d = train.dim();
        if (test.dim() != d) throw new ShapeMismatchException("cluster alignment: train features are " + d + "-d, test " + test.dim() + "-d");
        int n = train.labels().length;
        if (clusters < 1 || clusters > n) throw new IllegalArgumentException("cluster alignment: clusters must be in [1, " + n + "], found " + clusters);
        float[] x = KnnEvaluator.normalized(train.values(), d);
        float[] centroids = kMeans(x, n, d, clusters, iterations, seed);
        int[] assign = nearest(x, n, centroids, clusters, d);
        long[][] counts = new long[clusters][classes];
        for (int i = 0; i < n; i++) counts[assign[i]][train.labels()[i]]++;
        int[] map = Hungarian.maximise(counts);
        float[] xt = KnnEvaluator.normalized(test.values(), d);
        int[] testAssign = nearest(xt, test.labels().length, centroids, clusters, d);
        return new Result(accuracy(assign, map, train.labels()), accuracy(testAssign, map, test.labels()), clusters, map);
    }

    private static double accuracy(int[] assign, int[] map, int[] labels) {
        long ok = 0;
        for (int i = 0; i < labels.length; i++) if (map[assign[i]] == labels[i]) ok++;
        return (double) ok / labels.length;
    }

    /** Lloyd's algorithm from a k-means++ start; an emptied cluster is re-seeded at the point farthest from its centroid. */
    static float[] kMeans(float[] x, int n, int d, int k, int iterations, long seed) {
        Random rng = new Random(seed);
        float[] c = new float[k * d];
        double[] dist = new double[n];
        Arrays.fill(dist, Double.POSITIVE_INFINITY);
        int first = rng.nextInt(n);
        System.arraycopy(x, first * d, c, 0, d);
        for (int j = 1; j < k; j++) {
            int prev = j - 1;
            double total = 0;
            for (int i = 0; i < n; i++) {
                dist[i] = Math.min(dist[i], sq(x, i * d, c, prev * d, d));
                total += dist[i];
            }
            double r = rng.nextDouble() * total;
            int pick = n - 1;
            for (int i = 0; i < n; i++) {
                r -= dist[i];
                if (r <= 0) {
                    pick = i;
                    break;
                }
            }
            System.arraycopy(x, pick * d, c, j * d, d);
        }
        int[] assign = new int[n];
        for (int it = 0; it < iterations; it++) {
            int[] next = nearest(x, n, c, k, d);
            boolean changed = it == 0 || !Arrays.equals(next, assign);
            assign = next;
            double[] sum = new double[k * d];
            int[] count = new int[k];
            for (int i = 0; i < n; i++) {
                count[assign[i]]++;
                for (int q = 0; q < d; q++) sum[assign[i] * d + q] += x[i * d + q];
            }
            for (int j = 0; j < k; j++) {
                if (count[j] == 0) {
                    int far = 0;
                    double farD = -1;
                    for (int i = 0; i < n; i++) {
                        double v = sq(x, i * d, c, assign[i] * d, d);
                        if (v > farD) {
                            farD = v;
                            far = i;
                        }
                    }
                    System.arraycopy(x, far * d, c, j * d, d);
                    changed = true;
                } else {
                    for (int q = 0; q < d; q++) c[j * d + q] = (float) (sum[j * d + q] / count[j]);
                }
            }
            if (!changed) break;
        }
        return c;
    }

    static int[] nearest(float[] x, int n, float[] c, int k, int d) {
        int[] out = new int[n];
        IntStream.range(0, n).parallel().forEach(i -> {
            int best = 0;
            double bestD = Double.POSITIVE_INFINITY;
            for (int j = 0; j < k; j++) {
                double v = sq(x, i * d, c, j * d, d);
                if (v < bestD) {
                    bestD = v;
                    best = j;
                }
            }
            out[i] = best;
        });
        return out;
    }

    private static double sq(float[] a, int ao, float[] b, int bo, int d) {
        double s = 0;
        for (int q = 0; q < d; q++) {
            double t = a[ao + q] - b[bo + q];
            s += t * t;
        }
        return s;
    }

    /** The Hungarian (Kuhn-Munkres) algorithm, O(n^3), on a rectangular count matrix padded to square. */
    static final class Hungarian {
        private Hungarian() {}

        /** rows -> column maximising the total count, each column used at most once; -1 where a row got none. */
        static int[] maximise(long[][] counts) {
            int rows = counts.length, cols = counts[0].length, m = Math.max(rows, cols);
            long max = 0;
            for (long[] r : counts) for (long v : r) max = Math.max(max, v);
            long[][] cost = new long[m + 1][m + 1];                    // 1-based, minimisation of (max - count)
            for (int i = 1; i <= m; i++) {
                for (int j = 1; j <= m; j++) cost[i][j] = (i <= rows && j <= cols) ? max - counts[i - 1][j - 1] : max;
            }
            long[] u = new long[m + 1], v = new long[m + 1];
            int[] p = new int[m + 1], way = new int[m + 1];
            for (int i = 1; i <= m; i++) {
                p[0] = i;
                int j0 = 0;
                long[] minv = new long[m + 1];
                Arrays.fill(minv, Long.MAX_VALUE);
                boolean[] used = new boolean[m + 1];
                do {
                    used[j0] = true;
                    int i0 = p[j0], j1 = 0;
                    long delta = Long.MAX_VALUE;
                    for (int j = 1; j <= m; j++) {
                        if (used[j]) continue;
                        long cur = cost[i0][j] - u[i0] - v[j];
                        if (cur < minv[j]) {
                            minv[j] = cur;
                            way[j] = j0;
                        }
                        if (minv[j] < delta) {
                            delta = minv[j];
                            j1 = j;
                        }
                    }
                    for (int j = 0; j <= m; j++) {
                        if (used[j]) {
                            u[p[j]] += delta;
                            v[j] -= delta;
                        } else {
                            minv[j] -= delta;
                        }
                    }
                    j0 = j1;
                } while (p[j0] != 0);
                do {
                    int j1 = way[j0];
                    p[j0] = p[j1];
                    j0 = j1;
                } while (j0 != 0);
            }
            int[] rowToCol = new int[rows];
            Arrays.fill(rowToCol, -1);
            for (int j = 1; j <= m; j++) if (p[j] >= 1 && p[j] <= rows && j <= cols) rowToCol[p[j] - 1] = j - 1;
            return rowToCol;
        }
    }
}
