// The CUDA loss paths against PyTorch's official formulations (the committed fixture), F32 banks. TF32 tensor
// cores round inputs to 10-bit mantissas (~5e-4 relative), amplified by 1/tau in the logits: 2% relative.
package org.compress.engine.backend.cuda;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.List;
import org.compress.engine.loss.LossFixture;
import org.compress.engine.ops.LossPath;
import org.compress.engine.testing.GpuTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

@GpuTest
class CudaLossTorchParityTest {
    static CudaBackend gpu;

    @BeforeAll static void open() { gpu = CudaBackend.open(0); }

    @AfterAll static void close() { if (gpu != null) gpu.close(); }

    static List<JsonNode> cases() throws IOException { return LossFixture.cases(); }

    @ParameterizedTest @MethodSource("cases")
    void fusedMatchesPyTorch(JsonNode c) { LossFixture.replay(gpu, c, LossPath.FUSED, 2e-2); }

    @ParameterizedTest @MethodSource("cases")
    void unfusedMatchesPyTorch(JsonNode c) { LossFixture.replay(gpu, c, LossPath.UNFUSED, 2e-2); }
}
