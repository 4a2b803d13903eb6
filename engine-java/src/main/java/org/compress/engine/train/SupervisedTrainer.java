// Supervised training of a classifier (the demo's upper bound): the CompRess view, cross-entropy on the labels,
// SGD (momentum 0.9, weight decay 1e-4), cosine learning rate. The softmax and its gradient are computed on the
// host from the (B x classes) logits: a few hundred floats per step, so no device op is needed for a baseline.
package org.compress.engine.train;

import org.compress.engine.backend.Backend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.nn.models.Network;
import org.compress.engine.optim.LrSchedule;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class SupervisedTrainer {
    private static final Logger log = LoggerFactory.getLogger(SupervisedTrainer.class);

    private SupervisedTrainer() {}

    /** Trains {@code net} (a classifier head over data.numClasses()) in place. */
    public static void train(Backend backend, Network net, Dataset data, Recipe view, int epochs, int batchSize, double lr, int workers,
                             long seed, RunDirectory run, int logEvery) {
        if (net.outputDim() != data.numClasses()) {
            throw new IllegalArgumentException("supervised: the network outputs " + net.outputDim() + " logits for " + data.numClasses() + " classes");
        }
        LoaderConfig loaderCfg = LoaderConfig.of(batchSize).workers(workers).seed(seed).dropLast(true);
        int classes = data.numClasses();
        try (DataLoader loader = new DataLoader(data, view, loaderCfg);
             Sgd sgd = new Sgd(backend, net.namedParameters(), Sgd.Options.compress())) {
            LrSchedule schedule = LrSchedule.cosine(lr, epochs, 0);
            StepLog steps = new StepLog("supervised", run, log, logEvery);
            int perEpoch = loader.batchesPerEpoch();
            steps.expect((long) perEpoch * epochs);
            net.train();
            for (int epoch = 0; epoch < epochs; epoch++) {
                try (TrainingBatches.CloseableIterator it = TrainingBatches.epoch(backend, loader, epoch, 0, steps)) {
                    int i = 0;
                    while (it.hasNext()) {
                        try (TrainingBatches.Step b = it.next()) {
                            double rate = schedule.lr(epoch + (double) i++ / perEpoch);
                            float[] logits = backend.toFloatArray(net.forward(b.view(0)));
                            int n = b.size();
                            int[] labels = new int[n];
                            for (int r = 0; r < n; r++) labels[r] = data.label(b.indices()[r]);
                            float[] grad = new float[n * classes];
                            double loss = crossEntropy(logits, labels, classes, grad);
                            Tensor g = Tensor.cpu(grad, n, classes);
                            if (backend.device().isCuda()) {
                                try (Tensor dev = backend.upload(g)) {
                                    net.backward(dev);
                                }
                            } else {
                                net.backward(g);
                            }
                            sgd.step((float) rate);
                            steps.step(epoch, n, rate, () -> loss);
                        }
                    }
                }
            }
            steps.close();
        }
    }

    /** Mean cross-entropy of rows of logits; writes d(loss)/d(logits) = (softmax - onehot) / n into grad. */
    static double crossEntropy(float[] logits, int[] labels, int classes, float[] grad) {
        int n = labels.length;
        double total = 0;
        for (int r = 0; r < n; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) max = Math.max(max, logits[r * classes + c]);
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.exp(logits[r * classes + c] - max);
            total += Math.log(sum) + max - logits[r * classes + labels[r]];
            for (int c = 0; c < classes; c++) {
                double p = Math.exp(logits[r * classes + c] - max) / sum;
                grad[r * classes + c] = (float) ((p - (c == labels[r] ? 1 : 0)) / n);
            }
        }
        return total / n;
    }
}
