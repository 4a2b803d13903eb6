// JMH: the CompRess loss forward + gradient through the Java API, fused vs unfused, F32 vs BF16 banks, at the
// default shape (B=256, K=128000, D=128), the paper's shapes (Dt=2048, Ds=512 for 2q; 2048/2048 for 1q) and a
// bank-size sweep. The stream is synchronised inside each measured call. bench/report.py turns the JSON into
// TFLOP/s, % of peak and the ratio to the PyTorch peer measured in the same run.
package org.compress.bench;

import java.util.concurrent.TimeUnit;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Backends;
import org.compress.engine.backend.Workspace;
import org.compress.engine.ops.LossPath;
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
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class CompressLossBenchmark {
    @Param({"cuda"}) public String backend;
    @Param({"256x128000x128x128", "256x128000x2048x512", "256x128000x2048x2048",
            "256x16384x128x128", "256x65536x128x128", "256x1048576x128x128"})
    public String shape;
    @Param({"BF16", "F32"}) public String bank;
    @Param({"FUSED", "UNFUSED"}) public String path;

    Backend be;
    Tensor t, s, qt, qs, lossPer, mean, grad, ws;
    LossPath lossPath;

    @Setup(Level.Trial) public void setUp() {
        BenchShapes sh = BenchShapes.parse(shape);
        be = Backends.select(backend);
        lossPath = LossPath.valueOf(path);
        DType dtype = DType.valueOf(bank);
        t = randomNormalized(be, sh.b(), sh.dt(), 1);
        s = randomNormalized(be, sh.b(), sh.ds(), 2);
        qt = randomBank(be, sh.k(), sh.dt(), dtype, 3);
        qs = sh.ds() == sh.dt() && shape.endsWith("2048x2048") ? qt : randomBank(be, sh.k(), sh.ds(), dtype, 4);
        lossPer = be.empty(DType.F32, sh.b());
        mean = be.empty(DType.F32, 1);
        grad = be.empty(DType.F32, sh.b(), sh.ds());
        long bytes = be.compressLoss().workspaceBytes(sh.b(), sh.k(), sh.dt(), sh.ds(), dtype, lossPath);
        ws = bytes > 0 ? Workspace.allocate(be, bytes) : null;
        System.out.printf("%n[compress-loss] %s %s %s bank %s: workspace %d bytes (%.2f MiB), %.1f GFLOP per call%n",
                backend, shape, path, bank, bytes, bytes / 1048576.0, sh.flops() / 1e9);
    }

    @Benchmark public void forwardBackward() {
        be.compressLoss().forwardBackward(t, s, qt, qs, 0.04f, lossPer, mean, grad, ws, lossPath);
        be.synchronize();
    }

    @TearDown(Level.Trial) public void tearDown() { be.close(); }

    static Tensor randomNormalized(Backend be, int rows, int cols, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        float[] x = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            double ss = 0;
            for (int c = 0; c < cols; c++) {
                x[i * cols + c] = (float) r.nextGaussian();
                ss += x[i * cols + c] * x[i * cols + c];
            }
            for (int c = 0; c < cols; c++) x[i * cols + c] /= (float) Math.sqrt(ss);
        }
        return be.upload(x, rows, cols);
    }

    static Tensor randomBank(Backend be, int k, int d, DType dtype, long seed) {
        try (org.compress.engine.loss.MemoryBank bank = org.compress.engine.loss.MemoryBank.uniform(be, k, d, dtype, seed)) {
            Tensor copy = be.empty(dtype, k, d);
            be.elementwise().copy(bank.rows(), copy);
            return copy;
        }
    }
}
