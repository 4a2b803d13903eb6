// The paper's linear evaluation on frozen features, as the official CompRess script does it: features
// L2-normalised, then standardised with the training set's per-dimension mean and standard deviation, then one
// linear layer trained by SGD (momentum 0.9, weight decay 1e-4, batch 256) for 40 epochs at lr 0.01, x0.1 at
// epochs 15 and 30, on cross-entropy. Plain Java on host arrays: the features are small (N x D, D <= 2048).
package org.compress.engine.train;

import java.util.Random;
import org.compress.engine.tensor.ShapeMismatchException;

public final class LinearProbe {
    /** The optimisation settings; {@link #official()} are the official script's. */
    public record Options(int epochs, double lr, int[] milestones, double gamma, int batchSize, double momentum, double weightDecay,
                          long seed) {
        public static Options official() { return new Options(40, 0.01, new int[] {15, 30}, 0.1, 256, 0.9, 1e-4, 0); }

        public Options withEpochs(int e) { return new Options(e, lr, milestones, gamma, batchSize, momentum, weightDecay, seed); }

        public Options withSeed(long s) { return new Options(epochs, lr, milestones, gamma, batchSize, momentum, weightDecay, s); }
    }

    /**
     * The trained classifier on standardised features: logits = weight (C x D) . ((normalize(x) - mean) / std) + bias.
     * {@link #asFc()} folds the standardisation into a plain linear layer on the L2-normalised embedding.
     */
    public record Classifier(float[] weight, float[] bias, float[] mean, float[] std, int dim, int classes) {
        public int predict(float[] normalizedRow, int offset) {
            int best = 0;
            double bestLogit = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                double z = bias[c];
                for (int d = 0; d < dim; d++) z += weight[c * dim + d] * ((normalizedRow[offset + d] - mean[d]) / std[d]);
                if (z > bestLogit) {
                    bestLogit = z;
                    best = c;
                }
            }
            return best;
        }

        /** (weight', bias') with weight' x + bias' = weight ((x - mean) / std) + bias, for x L2-normalised. */
        public float[][] asFc() {
            float[] w = new float[weight.length], b = new float[classes];
            for (int c = 0; c < classes; c++) {
                double shift = bias[c];
                for (int d = 0; d < dim; d++) {
                    w[c * dim + d] = weight[c * dim + d] / std[d];
                    shift -= (double) weight[c * dim + d] * mean[d] / std[d];
                }
                b[c] = (float) shift;
            }
            return new float[][] {w, b};
        }
    }

    public record Result(double trainAccuracy, double testAccuracy, Classifier classifier) {}

    private LinearProbe() {}

    public static Result run(Embeddings.Set train, Embeddings.Set test, int classes, Options o) {
        int d = train.dim();
        if (test.dim() != d) throw new ShapeMismatchException("linear probe: train features are " + d + "-d, test features " + test.dim() + "-d");
        float[] x = KnnEvaluator.normalized(train.values(), d);
        float[] xt = KnnEvaluator.normalized(test.values(), d);
        int n = train.labels().length;
        float[] mean = new float[d], std = new float[d];
        for (int j = 0; j < d; j++) {
            double s = 0, ss = 0;
            for (int i = 0; i < n; i++) s += x[i * d + j];
            double m = s / n;
            for (int i = 0; i < n; i++) ss += (x[i * d + j] - m) * (x[i * d + j] - m);
            mean[j] = (float) m;
            std[j] = (float) Math.sqrt(ss / n + 1e-5);
        }
        float[] z = standardised(x, mean, std, d);
        Random rng = new Random(o.seed());
        float[] w = new float[classes * d], b = new float[classes];
        double bound = 1 / Math.sqrt(d);                                  // nn.Linear's default initialisation
        for (int i = 0; i < w.length; i++) w[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        for (int i = 0; i < classes; i++) b[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        float[] vw = new float[w.length], vb = new float[classes], gw = new float[w.length], gb = new float[classes];
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        double[] logits = new double[classes];
        for (int epoch = 0; epoch < o.epochs(); epoch++) {
            double lr = o.lr();
            for (int m : o.milestones()) if (epoch >= m) lr *= o.gamma();
            for (int i = n - 1; i > 0; i--) {                             // a fresh shuffle per epoch
                int j = rng.nextInt(i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            for (int start = 0; start < n; start += o.batchSize()) {
                int end = Math.min(n, start + o.batchSize()), bs = end - start;
                java.util.Arrays.fill(gw, 0);
                java.util.Arrays.fill(gb, 0);
                for (int r = start; r < end; r++) {
                    int i = order[r], off = i * d;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int c = 0; c < classes; c++) {
                        double v = b[c];
                        for (int k = 0; k < d; k++) v += w[c * d + k] * z[off + k];
                        logits[c] = v;
                        max = Math.max(max, v);
                    }
                    double sum = 0;
                    for (int c = 0; c < classes; c++) sum += logits[c] = Math.exp(logits[c] - max);
                    for (int c = 0; c < classes; c++) {
                        float g = (float) ((logits[c] / sum - (c == train.labels()[i] ? 1 : 0)) / bs);
                        gb[c] += g;
                        for (int k = 0; k < d; k++) gw[c * d + k] += g * z[off + k];
                    }
                }
                sgd(w, gw, vw, lr, o.momentum(), o.weightDecay());
                sgd(b, gb, vb, lr, o.momentum(), o.weightDecay());
            }
        }
        Classifier cls = new Classifier(w, b, mean, std, d, classes);
        return new Result(accuracy(cls, x, train.labels()), accuracy(cls, xt, test.labels()), cls);
    }

    /** PyTorch's SGD: g += wd * p; v = momentum * v + g; p -= lr * v. */
    private static void sgd(float[] p, float[] g, float[] v, double lr, double momentum, double wd) {
        for (int i = 0; i < p.length; i++) {
            double grad = g[i] + wd * p[i];
            v[i] = (float) (momentum * v[i] + grad);
            p[i] -= (float) (lr * v[i]);
        }
    }

    private static float[] standardised(float[] x, float[] mean, float[] std, int d) {
        float[] z = new float[x.length];
        for (int i = 0; i < x.length; i++) z[i] = (x[i] - mean[i % d]) / std[i % d];
        return z;
    }

    static double accuracy(Classifier cls, float[] normalized, int[] labels) {
        int d = cls.dim();
        long correct = java.util.stream.IntStream.range(0, labels.length).parallel()
                .filter(i -> cls.predict(normalized, i * d) == labels[i]).count();
        return (double) correct / labels.length;
    }
}
