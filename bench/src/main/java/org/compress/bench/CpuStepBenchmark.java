// JMH: the CPU trainer's ResNet step, in images per second = batch / step time, beside bench/peer/cpu_peer.py
// (PyTorch on the same threads; scripts/cpu-bench.sh runs both, alternating, and bench/report.py --cpu prints the
// table). ResNet-18 with the small-input stem (3x3 stride-1 conv1, no max-pool) at base widths 8, 16 and 64 on
// 1x28x28 and 3x32x32, batch 256, FP32 (images arrive NCHW; the network keeps the backend's preferred layout):
//   train: forward (10-class linear head) + backward + SGD (momentum 0.9, weight decay 1e-4); the loss gradient is
//          a fixed tensor (softmax cross-entropy's gradient at a uniform prediction), as in ResNetStepBenchmark;
//   infer: eval-mode embedding (trunk only).
// -p arch=mobilenetv2: torchvision's MobileNetV2 (width 1.0, stride-1 stem for small inputs; the width parameter is
// not used), the depthwise and grouped convolutions' network.
// Each iteration prints its own "[cpu-step] ... img/s" line.
//   java -cp bench/target/benchmarks.jar org.openjdk.jmh.Main CpuStepBenchmark -p width=16 -p input=1x28
package org.compress.bench;

import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Backends;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.MobileNetV2;
import org.compress.engine.nn.models.ModelConfig;
import org.compress.engine.nn.models.Network;
import org.compress.engine.nn.models.ResNet;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.DType;
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
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 2, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx6g"})
public class CpuStepBenchmark {
    static final int CLASSES = 10;
    static final float LR = 0.01f;

    @Param({"cpu"}) public String backend;
    @Param({"resnet18"}) public String arch;
    @Param({"8", "16", "64"}) public int width;
    @Param({"1x28", "3x32"}) public String input;
    @Param({"train", "infer"}) public String mode;
    @Param({"256"}) public int batch;

    Backend be;
    Backend backendOverride;   // CpuStepProfile's timing proxy; null: Backends.select(backend)
    Network net;
    Sgd sgd;
    Tensor images;
    Tensor dLogits;
    boolean train;
    long steps;
    long iterationStart;

    @Setup(Level.Trial) public void setUp() {
        be = backendOverride != null ? backendOverride : Backends.select(backend);
        String[] in = input.split("x");
        int channels = Integer.parseInt(in[0]), size = Integer.parseInt(in[1]);
        train = mode.equals("train");
        ModelConfig config = ModelConfig.smallImages(channels).withBaseWidth(width).withHead(Head.linear(CLASSES)).withSeed(1)
                .withMemoryFormat(be.preferredFormat(DType.F32));   // NHWC on the fast CPU backend, as the trainer builds it
        net = switch (arch) {
            case "resnet18" -> ResNet.resnet18(be, config);
            case "mobilenetv2" -> new MobileNetV2(be, config);
            default -> throw new IllegalArgumentException("arch: expected resnet18 or mobilenetv2, found " + arch);
        };
        if (train) {
            net.train();
            sgd = new Sgd(be, net.namedParameters(), Sgd.Options.compress());
            dLogits = be.upload(uniformPredictionGradient(batch), batch, CLASSES);
        } else {
            net.eval();
        }
        images = be.upload(randomImages(batch * channels * size * size), batch, channels, size, size);
        runStep();   // buffers and native primitives are made here, outside the measurement
        System.out.printf(Locale.ROOT, "%n[cpu-step] %s: %s width %s %s %s batch %d %s, %.2f M parameters%n", be, arch,
                arch.equals("resnet18") ? Integer.toString(width) : "1.0", input, mode, batch, config.memoryFormat(), net.parameterCount() / 1e6);
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
    static float[] randomImages(int count) {
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[count];
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
            System.out.printf(Locale.ROOT, "[cpu-step] %s width %s %s %s: %d steps, %.2f ms/step, %.0f img/s%n", arch,
                    arch.equals("resnet18") ? Integer.toString(width) : "1.0", input, mode, steps,
                    1e3 * seconds / steps, batch * steps / seconds);
        }
    }

    @TearDown(Level.Trial) public void tearDown() {
        if (sgd != null) sgd.close();
        net.close();
        be.close();
    }
}
