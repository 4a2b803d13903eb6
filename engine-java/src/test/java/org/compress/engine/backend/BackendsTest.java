// Backend selection: explicit choices, the automatic fallback, and the error when CUDA is forced but absent.
package org.compress.engine.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.compress.engine.backend.cuda.CudaProbe;
import org.junit.jupiter.api.Test;

class BackendsTest {
    @Test void cpuIsAlwaysAvailable() {
        try (Backend b = Backends.select("cpu")) {
            assertEquals("cpu", b.name());
        }
    }

    @Test void autoFallsBackToCpuWithoutAGpu() {
        CudaProbe probe = CudaProbe.probe();
        assumeFalse(probe.available(), "a GPU is usable here");
        assertFalse(probe.reason().isBlank(), "the probe says why CUDA is unavailable");
        try (Backend b = Backends.select("auto")) {
            assertEquals("cpu", b.name());
        }
    }

    @Test void forcingCudaWithoutAGpuSaysWhy() {
        CudaProbe probe = CudaProbe.probe();
        assumeFalse(probe.available(), "a GPU is usable here");
        var e = assertThrows(BackendUnavailableException.class, () -> Backends.select("cuda:0"));
        assertTrue(e.getMessage().startsWith("CUDA backend unavailable: "), e.getMessage());
        assertTrue(e.getMessage().contains(probe.reason()), e.getMessage());
    }

    @Test void unknownChoicesAreRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> Backends.select("tpu"));
        assertTrue(e.getMessage().contains("found 'tpu'"), e.getMessage());
    }
}
