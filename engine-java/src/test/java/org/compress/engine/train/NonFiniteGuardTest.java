// NonFiniteGuard: on the CPU a NaN/Inf loss stops the run at the very step; on the GPU's path (accumulate on the
// device, read at the next sync point) one bad step is never forgotten; the state check names every bad tensor.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;

class NonFiniteGuardTest {
    private static final CpuBackend CPU = new CpuBackend();
    private static final Path GOOD = Path.of("runs/r/checkpoints/compress-epoch-0.safetensors");

    private static Tensor loss(float v) { return Tensor.cpu(new float[] {v}, 1); }

    @Test void onTheCpuTheStepThatGoesNonFiniteIsTheOneNamed() {
        try (NonFiniteGuard g = new NonFiniteGuard(CPU, "compress-2q", GOOD)) {
            g.observe(loss(1.5f), 1, 5);
            g.observe(loss(9.9f), 1, 6);
            var e = assertThrows(TrainingDivergedException.class, () -> g.observe(loss(Float.NaN), 1, 7));
            assertEquals(7, e.step());
            assertEquals(GOOD, e.lastGoodCheckpoint());
            assertEquals("compress-2q diverged at epoch 1, step 7: the loss became NaN; last good checkpoint: " + GOOD + "; "
                    + TrainingDivergedException.HINT, e.getMessage());
        }
    }

    @Test void theDeviceAccumulatorRemembersABadStepUntilItIsRead() {
        try (NonFiniteGuard g = new NonFiniteGuard(CPU, "moco", null, false)) {
            for (int step = 1; step <= 50; step++) g.observe(loss(10f), 0, step); // finite losses sum to a finite value
            assertDoesNotThrow(() -> g.check(0, 50));
            g.observe(loss(Float.POSITIVE_INFINITY), 0, 51); // no read here: no synchronisation
            g.observe(loss(2f), 0, 52);
            g.observe(loss(Float.NEGATIVE_INFINITY), 0, 53); // +Inf + -Inf = NaN: still non-finite
            var e = assertThrows(TrainingDivergedException.class, () -> g.check(0, 60));
            assertTrue(e.getMessage().startsWith("moco diverged at epoch 0, step 60: the loss became non-finite at or before this step;"
                    + " last good checkpoint: none"), e.getMessage());
        }
    }

    @Test void theStateCheckNamesEveryNonFiniteTensorAndIgnoresIntegers() {
        Map<String, Tensor> state = new LinkedHashMap<>();
        state.put("student.conv1.weight", Tensor.cpu(new float[] {1, 2, 3}, 3));
        state.put("student.bn1.running_var", Tensor.cpu(new float[] {1, Float.POSITIVE_INFINITY}, 2));
        state.put("student.bn1.num_batches_tracked", Tensor.cpuZeros(DType.I64, 1));
        Tensor bank = Tensor.cpuZeros(DType.BF16, 2, 2);
        bank.cpuStorage().u16()[3] = (short) 0x7fc0; // a BF16 NaN
        state.put("teacher_bank.rows", bank);
        assertEquals(List.of("student.bn1.running_var", "teacher_bank.rows"), NonFiniteGuard.nonFinite(state));
        try (NonFiniteGuard g = new NonFiniteGuard(CPU, "compress-2q", GOOD)) {
            var e = assertThrows(TrainingDivergedException.class, () -> g.checkState(state, 2, 12));
            assertEquals(List.of("student.bn1.running_var", "teacher_bank.rows"), e.tensors());
            assertTrue(e.getMessage().contains("at epoch 2, step 12: non-finite values in 2 tensors (student.bn1.running_var,"
                    + " teacher_bank.rows); last good checkpoint: " + GOOD), e.getMessage());
        }
    }
}
