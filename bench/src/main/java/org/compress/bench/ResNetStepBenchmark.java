// JMH: one ResNet step through the Java API at issue 4's targets, in images per second = batch / step time.
//   train: forward (torchvision ResNet, 1000-class fc) + backward + SGD (momentum 0.9, weight decay 1e-4) on a
//          fixed batch; the loss gradient is a fixed tensor (softmax cross-entropy's gradient at a uniform
//          prediction), so the step is the network's work; the peer's cross-entropy is ~0.1% of its step.
//   infer: eval-mode embedding (the online teacher: trunk only, no fc).
// The images arrive as F32 NCHW (what the loader hands over); the network converts them to its numerics.
// format "auto": CHANNELS_LAST for BF16_MIXED on CUDA (cuDNN's tensor-core layout), CONTIGUOUS otherwise (FP32,
// and the CPU's NCHW-only ops). The stream is synchronised inside each measured call. JMH reports ms/op;
// bench/report.py converts to img/s beside the PyTorch peer (bench/peer/resnet_peer.py); each iteration also
// prints its own "[resnet-step] ... img/s" line. Issue 4's targets (H100): ResNet-18 train BF16 >= PyTorch's
// 12,127 img/s (channels_last + autocast), FP32 vs 3,060 img/s; ResNet-50 infer BF16 vs 12,757 img/s.
//   java -cp 'dist/lib/*' org.openjdk.jmh.Main ResNetStepBenchmark -p model=resnet18 -p mode=train
//   java -cp 'dist/lib/*' org.openjdk.jmh.Main ResNetStepBenchmark -p backend=cpu -p batch=2 -p size=32 -wi 1 -i 1
package org.compress.bench;

import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Backends;
import org.compress.engine.backend.MemoryStats;
import org.compress.engine.nn.Precision;
import org.compress.engine.nn.models.ModelConfig;
import org.compress.engine.nn.models.ResNet;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ResNetStepBenchmark {
    static final int CLASSES = 1000;
    static final float LR = 0.01f;

    @Param({"cuda"}) public String backend;
    @Param({"resnet18", "resnet50"}) public String model;
    @Param({"train", "infer"}) public String mode;
    @Param({"FP32", "BF16_MIXED"}) public String precision;
    @Param({"256"}) public int batch;
    @Param({"224"}) public int size;
    @Param({"auto"}) public String format;

    Backend be;
    ResNet net;
    Sgd sgd;
    Tensor images;
    Tensor dLogits;
    boolean train;
    MemoryFormat layout;
    long steps;
    long iterationStart;

    @Setup(Level.Trial) public void setUp() {
        be = Backends.select(backend);
        train = switch (mode) {
            case "train" -> true;
            case "infer" -> false;
            default -> throw new IllegalArgumentException("mode: expected train or infer, found " + mode);
        };
        Precision p = Precision.valueOf(precision);
        layout = format.equals("auto")
                ? (p == Precision.BF16_MIXED && be.device().isCuda() ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS)
                : MemoryFormat.valueOf(format);
        ModelConfig config = ModelConfig.imagenet(CLASSES).withSeed(1).withPrecision(p).withMemoryFormat(layout);
        net = switch (model) {
            case "resnet18" -> ResNet.resnet18(be, config);
            case "resnet50" -> ResNet.resnet50(be, config);
            default -> throw new IllegalArgumentException("model: expected resnet18 or resnet50, found " + model);
        };
        if (train) {
            net.train();
            sgd = new Sgd(be, net.namedParameters(), Sgd.Options.compress());
            dLogits = be.upload(uniformPredictionGradient(batch), batch, CLASSES);
        } else {
            net.eval();
        }
        images = be.upload(randomImages(batch, size), batch, 3, size, size);
        runStep();   // plans, workspaces and activation buffers are made here, outside the measurement
        MemoryStats m = be.memoryStats();
        System.out.printf(Locale.ROOT, "%n[resnet-step] %s %s %s %s %s batch %d, %dx%d: %.1f M parameters, device memory in use %.2f GiB "
                        + "(peak %.2f GiB)%n", backend, model, mode, precision, layout, batch, size, size, net.parameterCount() / 1e6,
                m.bytesInUse() / 1073741824.0, m.peakBytesInUse() / 1073741824.0);
    }

    /** d(mean cross-entropy)/d(logits) at a uniform prediction: (1/C - [c = label]) / N, labels i mod C. */
    static float[] uniformPredictionGradient(int n) {
        float[] g = new float[n * CLASSES];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < CLASSES; c++) g[i * CLASSES + c] = ((1f / CLASSES) - (c == i % CLASSES ? 1f : 0f)) / n;
        }
        return g;
    }

    /** Normalised-image-like values, N(0, 1), seeded. */
    static float[] randomImages(int n, int size) {
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[n * 3 * size * size];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    void runStep() {
        if (train) {
            net.forward(images);
            net.backward(dLogits);
            sgd.step(LR);
        } else {
            net.embed(images);
        }
        be.synchronize();
    }

    @Setup(Level.Iteration) public void startIteration() {
        steps = 0;
        iterationStart = System.nanoTime();
    }

    @Benchmark public void step() {
        runStep();
        steps++;
    }

    @TearDown(Level.Iteration) public void endIteration() {
        double seconds = (System.nanoTime() - iterationStart) / 1e9;
        if (steps > 0) {
            System.out.printf(Locale.ROOT, "[resnet-step] %s %s %s %s: %d steps, %.2f ms/step, %.0f img/s%n", model, mode, precision, layout,
                    steps, 1e3 * seconds / steps, batch * steps / seconds);
        }
    }

    @TearDown(Level.Trial) public void tearDown() {
        if (sgd != null) sgd.close();
        net.close();
        be.close();
    }
}
