// Weighted k-nearest-neighbour classification on L2-normalised embeddings, as in the CompRess paper's NN / k-NN
// evaluation (InstDisc's rule: a neighbour at cosine similarity s votes exp(s / T) for its label, T = 0.07;
// k = 1 is plain nearest neighbour). Train and test embeddings are host float arrays (N x D). Given a backend,
// the similarities are computed a block of test rows at a time by its GEMM (oneDNN's sgemm on the fast CPU backend,
// cuBLAS on CUDA) instead of the host loop; the top-k selection and votes are the same either way.
package org.compress.engine.train;

import java.util.stream.IntStream;
import org.compress.engine.backend.Backend;
import org.compress.engine.ops.GemmPrecision;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public final class KnnEvaluator {
    private final float[] train;
    private final int[] trainLabels;
    private final int dim;
    private final int classes;
    private final Backend backend;
    private static final int BLOCK = 512;   // test rows per similarity GEMM: a block of 512 x N floats on the backend

    public KnnEvaluator(float[] trainEmbeddings, int[] trainLabels, int dim, int classes) {
        this(trainEmbeddings, trainLabels, dim, classes, null);
    }

    /** backend: where the similarity GEMMs run (null: the host loop). */
    public KnnEvaluator(float[] trainEmbeddings, int[] trainLabels, int dim, int classes, Backend backend) {
        if (trainEmbeddings.length != (long) trainLabels.length * dim) {
            throw new ShapeMismatchException("knn: " + trainLabels.length + " labels need " + (long) trainLabels.length * dim
                    + " embedding values of dimension " + dim + ", found " + trainEmbeddings.length);
        }
        this.train = normalized(trainEmbeddings, dim);
        this.trainLabels = trainLabels;
        this.dim = dim;
        this.classes = classes;
        this.backend = backend;
    }

    /** Top-1 accuracy of k-NN with temperature-weighted votes. */
    public double accuracy(float[] testEmbeddings, int[] testLabels, int k, double temperature) {
        return accuracies(testEmbeddings, testLabels, new int[] {k}, temperature)[0];
    }

    /**
     * Top-1 accuracy for each k in {@code ks} from one scan of the training set per test image (the neighbours of
     * the largest k, sorted, serve every smaller k); equal to calling accuracy() once per k.
     */
    public double[] accuracies(float[] testEmbeddings, int[] testLabels, int[] ks, double temperature) {
        if (testEmbeddings.length != (long) testLabels.length * dim) {
            throw new ShapeMismatchException("knn: test set has " + testLabels.length + " labels but "
                    + testEmbeddings.length + " embedding values of dimension " + dim);
        }
        int maxK = 0;
        for (int k : ks) {
            if (k < 1 || k > trainLabels.length) throw new IllegalArgumentException("knn: k must be in [1, " + trainLabels.length + "], found " + k);
            maxK = Math.max(maxK, k);
        }
        float[] test = normalized(testEmbeddings, dim);
        int n = trainLabels.length, queries = testLabels.length, top = maxK;
        java.util.concurrent.atomic.AtomicLongArray correct = new java.util.concurrent.atomic.AtomicLongArray(ks.length);
        if (backend == null) {
            IntStream.range(0, queries).parallel().forEach(i -> score(topK(j -> {
                float s = 0;
                for (int c = 0; c < dim; c++) s += test[i * dim + c] * train[j * dim + c];
                return s;
            }, n, top), testLabels[i], ks, temperature, correct));
        } else {
            try (Tensor trainT = backend.upload(train, n, dim); Tensor sims = backend.empty(DType.F32, Math.min(BLOCK, queries), n)) {
                for (int q0 = 0; q0 < queries; q0 += BLOCK) {
                    int rows = Math.min(BLOCK, queries - q0);
                    float[] block = java.util.Arrays.copyOfRange(test, q0 * dim, (q0 + rows) * dim);
                    Tensor s = sims.rows(0, rows);
                    try (Tensor queryT = backend.upload(block, rows, dim)) {
                        backend.gemm().gemm(false, true, 1f, queryT, trainT, 0f, s, GemmPrecision.FP32);
                    }
                    float[] sim = backend.toFloatArray(s);
                    int first = q0;
                    IntStream.range(0, rows).parallel()
                            .forEach(i -> score(topK(j -> sim[i * n + j], n, top), testLabels[first + i], ks, temperature, correct));
                }
            }
        }
        double[] out = new double[ks.length];
        for (int q = 0; q < ks.length; q++) out[q] = (double) correct.get(q) / queries;
        return out;
    }

    private void score(Neighbours nb, int label, int[] ks, double temperature, java.util.concurrent.atomic.AtomicLongArray correct) {
        for (int q = 0; q < ks.length; q++) if (vote(nb, ks[q], temperature) == label) correct.incrementAndGet(q);
    }

    private interface Similarity { float at(int j); }

    private record Neighbours(int[] best, float[] bestSim) {}

    /** The k most similar train rows, most similar first (the earlier row wins a tie). */
    private static Neighbours topK(Similarity sim, int n, int k) {
        int[] best = new int[k];
        float[] bestSim = new float[k];
        java.util.Arrays.fill(bestSim, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j++) {
            float s = sim.at(j);
            if (s > bestSim[k - 1]) {            // insertion into the sorted top-k
                int p = k - 1;
                while (p > 0 && bestSim[p - 1] < s) {
                    bestSim[p] = bestSim[p - 1];
                    best[p] = best[p - 1];
                    p--;
                }
                bestSim[p] = s;
                best[p] = j;
            }
        }
        return new Neighbours(best, bestSim);
    }

    private int vote(Neighbours nb, int k, double temperature) {
        int[] best = nb.best();
        float[] bestSim = nb.bestSim();
        double[] votes = new double[classes];
        for (int p = 0; p < k; p++) votes[trainLabels[best[p]]] += k == 1 ? 1 : Math.exp(bestSim[p] / temperature);
        int arg = 0;
        for (int c = 1; c < classes; c++) if (votes[c] > votes[arg]) arg = c;
        return arg;
    }

    static float[] normalized(float[] x, int dim) {
        float[] y = new float[x.length];
        for (int r = 0; r < x.length / dim; r++) {
            double ss = 0;
            for (int c = 0; c < dim; c++) ss += (double) x[r * dim + c] * x[r * dim + c];
            float inv = (float) (1 / Math.max(Math.sqrt(ss), 1e-12));
            for (int c = 0; c < dim; c++) y[r * dim + c] = x[r * dim + c] * inv;
        }
        return y;
    }
}
