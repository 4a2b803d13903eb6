// JMH: one ring-buffer enqueue of a batch into a 128k-anchor bank (wrap-around included), stream synchronised.
package org.compress.bench;

import java.util.concurrent.TimeUnit;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Backends;
import org.compress.engine.loss.MemoryBank;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.openjdk.jmh.annotations.*;

@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class EnqueueBenchmark {
    @Param({"cuda"}) public String backend;
    @Param({"256"}) public int batch;
    @Param({"128"}) public int dim;
    @Param({"128000"}) public int anchors;
    @Param({"F32", "BF16"}) public String bank;

    Backend be;
    MemoryBank memory;
    Tensor keys;

    @Setup(Level.Trial) public void setUp() {
        be = Backends.select(backend);
        memory = MemoryBank.uniform(be, anchors, dim, DType.valueOf(bank), 1);
        keys = CompressLossBenchmark.randomNormalized(be, batch, dim, 2);
    }

    @Benchmark public void enqueue() {
        memory.enqueue(keys);
        be.synchronize();
    }

    @TearDown(Level.Trial) public void tearDown() { be.close(); }
}
