// JMH: the CPU trainer's loss step and evaluation pass, beside bench/peer/cpu_peer.py --loss (PyTorch, same threads;
// scripts/cpu-bench.sh runs both, alternating):
//   compress2q: one CompRess-2q loss step, batch 256, 128-d embeddings, two F32 banks of 16,384 anchors (tau 0.04):
//               L2-normalise both sides, loss and student gradient, enqueue both banks (CompressLoss + MemoryBank);
//               reported as embeddings per second (256 / step time);
//   knn:        k-NN (k = 20, InstDisc votes) of 10,000 queries against 60,000 128-d features (KnnEvaluator with the
//               backend: similarities by GEMM); reported as queries per second.
package org.compress.bench;

import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Backends;
import org.compress.engine.loss.CompressLoss;
import org.compress.engine.loss.MemoryBank;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.train.KnnEvaluator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
@Warmup(iterations = 1, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx6g"})
public class CpuLossBenchmark {
    static final int B = 256, D = 128, BANK = 16_384, KNN_TRAIN = 60_000, KNN_QUERIES = 10_000, KNN_K = 20, CLASSES = 10;

    @Param({"cpu"}) public String backend;
    @Param({"compress2q", "knn"}) public String work;

    Backend be;
    CompressLoss loss;
    MemoryBank teacherBank, studentBank;
    Tensor teacher, student;
    KnnEvaluator knn;
    float[] queries;
    int[] queryLabels;

    @Setup public void setUp() {
        be = Backends.select(backend);
        if (work.equals("compress2q")) {
            loss = new CompressLoss(be, CompressLoss.Config.defaults());
            teacherBank = MemoryBank.uniform(be, BANK, D, DType.F32, 1);
            studentBank = MemoryBank.uniform(be, BANK, D, DType.F32, 2);
            teacher = be.upload(gaussian(3, B * D), B, D);
            student = be.upload(gaussian(4, B * D), B, D);
        } else {
            int[] labels = new int[KNN_TRAIN];
            for (int i = 0; i < KNN_TRAIN; i++) labels[i] = i % CLASSES;
            knn = new KnnEvaluator(gaussian(5, KNN_TRAIN * D), labels, D, CLASSES, be);
            queries = gaussian(6, KNN_QUERIES * D);
            queryLabels = new int[KNN_QUERIES];
        }
        System.out.printf(Locale.ROOT, "%n[cpu-loss] %s on %s%n", work, be);
    }

    static float[] gaussian(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    @Benchmark public double step() {
        if (knn != null) return knn.accuracy(queries, queryLabels, KNN_K, 0.07);
        CompressLoss.Result r = loss.compute(teacher, student, teacherBank, studentBank);
        teacherBank.enqueue(r.teacherNormalized());
        studentBank.enqueue(r.studentNormalized());
        be.synchronize();
        return 0;
    }

    @TearDown public void tearDown() {
        if (loss != null) {
            loss.close();
            teacherBank.close();
            studentBank.close();
        }
        be.close();
    }
}
