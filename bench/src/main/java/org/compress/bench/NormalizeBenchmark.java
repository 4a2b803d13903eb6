// JMH: row-wise L2 normalisation forward + backward (B x D), stream synchronised; GB/s = 5 B D 4 bytes / time.
package org.compress.bench;

import java.util.concurrent.TimeUnit;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Backends;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.openjdk.jmh.annotations.*;

@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class NormalizeBenchmark {
    @Param({"cuda"}) public String backend;
    @Param({"256"}) public int rows;
    @Param({"128", "2048"}) public int cols;

    Backend be;
    Tensor x, y, norms, dx;

    @Setup(Level.Trial) public void setUp() {
        be = Backends.select(backend);
        x = CompressLossBenchmark.randomNormalized(be, rows, cols, 1);
        y = be.empty(DType.F32, rows, cols);
        norms = be.empty(DType.F32, rows);
        dx = be.empty(DType.F32, rows, cols);
    }

    @Benchmark public void forwardBackward() {
        be.normalize().forward(x, y, norms);
        be.normalize().backward(y, norms, x, dx);
        be.synchronize();
    }

    @TearDown(Level.Trial) public void tearDown() { be.close(); }
}
