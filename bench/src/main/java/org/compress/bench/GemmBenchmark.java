// JMH: GEMM through the Java API (cuBLAS on CUDA, the reference loops on the CPU) in FP32, TF32 and BF16,
// stream synchronised inside the measurement. TFLOP/s = 2 M N K / time.
package org.compress.bench;

import java.util.concurrent.TimeUnit;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Backends;
import org.compress.engine.ops.GemmPrecision;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.openjdk.jmh.annotations.*;

@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class GemmBenchmark {
    @Param({"cuda"}) public String backend;
    @Param({"4096"}) public int size;
    @Param({"FP32", "TF32", "BF16"}) public String precision;

    Backend be;
    Tensor a, b, c;
    GemmPrecision p;

    @Setup(Level.Trial) public void setUp() {
        be = Backends.select(backend);
        p = GemmPrecision.valueOf(precision);
        a = be.empty(p.inputType(), size, size);
        b = be.empty(p.inputType(), size, size);
        c = be.empty(DType.F32, size, size);
        be.elementwise().fill(a, 0.5f);
        be.elementwise().fill(b, 0.25f);
    }

    @Benchmark public void gemm() {
        be.gemm().gemm(false, false, 1f, a, b, 0f, c, p);
        be.synchronize();
    }

    @TearDown(Level.Trial) public void tearDown() { be.close(); }
}
