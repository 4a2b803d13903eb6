// The CPU reference against PyTorch's official formulations (committed fixture; see TorchParity).
package org.compress.engine.loss;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.List;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.ops.LossPath;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class LossTorchParityTest {
    static List<JsonNode> cases() throws IOException { return LossFixture.cases(); }

    // F32 inputs vs float64 torch: ~6e-8 relative input rounding times |logit| <= ~25 at tau = 0.04 (100 at 0.01)
    @ParameterizedTest @MethodSource("cases")
    void cpuMatchesPyTorch(JsonNode c) { LossFixture.replay(new CpuBackend(), c, LossPath.AUTO, 2e-5); }
}
