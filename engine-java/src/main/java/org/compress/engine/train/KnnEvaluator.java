// Weighted k-nearest-neighbour classification on L2-normalised embeddings, as in the CompRess paper's NN / k-NN
// evaluation (InstDisc's rule: a neighbour at cosine similarity s votes exp(s / T) for its label, T = 0.07;
// k = 1 is plain nearest neighbour). Train and test embeddings are host float arrays (N x D).
package org.compress.engine.train;

import java.util.stream.IntStream;
import org.compress.engine.tensor.ShapeMismatchException;

public final class KnnEvaluator {
    private final float[] train;
    private final int[] trainLabels;
    private final int dim;
    private final int classes;

    public KnnEvaluator(float[] trainEmbeddings, int[] trainLabels, int dim, int classes) {
        if (trainEmbeddings.length != (long) trainLabels.length * dim) {
            throw new ShapeMismatchException("knn: " + trainLabels.length + " labels need " + (long) trainLabels.length * dim
                    + " embedding values of dimension " + dim + ", found " + trainEmbeddings.length);
        }
        this.train = normalized(trainEmbeddings, dim);
        this.trainLabels = trainLabels;
        this.dim = dim;
        this.classes = classes;
    }

    /** Top-1 accuracy of k-NN with temperature-weighted votes. */
    public double accuracy(float[] testEmbeddings, int[] testLabels, int k, double temperature) {
        if (testEmbeddings.length != (long) testLabels.length * dim) {
            throw new ShapeMismatchException("knn: test set has " + testLabels.length + " labels but "
                    + testEmbeddings.length + " embedding values of dimension " + dim);
        }
        if (k < 1 || k > trainLabels.length) {
            throw new IllegalArgumentException("knn: k must be in [1, " + trainLabels.length + "], found " + k);
        }
        float[] test = normalized(testEmbeddings, dim);
        long correct = IntStream.range(0, testLabels.length).parallel()
                .filter(i -> predict(test, i, k, temperature) == testLabels[i]).count();
        return (double) correct / testLabels.length;
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
        long[] correct = new long[ks.length];
        int top = maxK;
        IntStream.range(0, testLabels.length).parallel().forEach(i -> {
            int[] best = new int[top];
            float[] bestSim = new float[top];
            neighbours(test, i, best, bestSim);
            for (int q = 0; q < ks.length; q++) {
                if (vote(best, bestSim, ks[q], temperature) == testLabels[i]) {
                    synchronized (correct) {
                        correct[q]++;
                    }
                }
            }
        });
        double[] out = new double[ks.length];
        for (int q = 0; q < ks.length; q++) out[q] = (double) correct[q] / testLabels.length;
        return out;
    }

    /** The best.length most similar training rows to test row i, most similar first. */
    private void neighbours(float[] test, int i, int[] best, float[] bestSim) {
        int k = best.length, n = trainLabels.length;
        java.util.Arrays.fill(bestSim, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j++) {
            float s = 0;
            for (int c = 0; c < dim; c++) s += test[i * dim + c] * train[j * dim + c];
            if (s > bestSim[k - 1]) {
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
    }

    private int vote(int[] best, float[] bestSim, int k, double temperature) {
        double[] votes = new double[classes];
        for (int p = 0; p < k; p++) votes[trainLabels[best[p]]] += k == 1 ? 1 : Math.exp(bestSim[p] / temperature);
        int arg = 0;
        for (int c = 1; c < classes; c++) if (votes[c] > votes[arg]) arg = c;
        return arg;
    }

    private int predict(float[] test, int i, int k, double temperature) {
        int n = trainLabels.length;
        int[] best = new int[k];
        float[] bestSim = new float[k];
        java.util.Arrays.fill(bestSim, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j++) {
            float s = 0;
            for (int c = 0; c < dim; c++) s += test[i * dim + c] * train[j * dim + c];
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
