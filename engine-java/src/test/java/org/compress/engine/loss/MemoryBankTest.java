// The memory bank: initial range, ring-buffer wrap-around when B does not divide K, state round trip, bad input.
package org.compress.engine.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;

class MemoryBankTest {
    final Backend cpu = new CpuBackend();

    @Test void startsUniformInPlusMinusOneOverSqrtDOverThree() {
        MemoryBank bank = MemoryBank.uniform(cpu, 1000, 12, DType.F32, 1);
        double stdv = 1 / Math.sqrt(12 / 3.0);
        double min = 1, max = -1, mean = 0;
        for (float v : cpu.toFloatArray(bank.rows())) {
            min = Math.min(min, v);
            max = Math.max(max, v);
            mean += v / 12000.0;
        }
        assertTrue(min >= -stdv && max <= stdv, "range [" + min + ", " + max + "] within +-" + stdv);
        assertTrue(min < -0.99 * stdv && max > 0.99 * stdv, "the whole range is used");
        assertEquals(0, mean, 0.02, "centred");
        float[] again = cpu.toFloatArray(MemoryBank.uniform(cpu, 1000, 12, DType.F32, 1).rows());
        assertArrayEquals(cpu.toFloatArray(bank.rows()), again, "seeded");
    }

    @Test void enqueueWrapsAroundWhenTheBatchDoesNotDivideK() {
        int k = 7, d = 2;
        MemoryBank bank = MemoryBank.uniform(cpu, k, d, DType.F32, 2);
        float[] expected = cpu.toFloatArray(bank.rows());
        int next = 0;
        for (int step = 0; step < 4; step++) {
            int b = 3;
            float[] keys = new float[b * d];
            for (int i = 0; i < keys.length; i++) keys[i] = 100 * step + i;
            bank.enqueue(cpu.upload(keys, b, d));
            for (int i = 0; i < b; i++) {
                int row = (next + i) % k;
                expected[row * d] = keys[i * d];
                expected[row * d + 1] = keys[i * d + 1];
            }
            next = (next + b) % k;
            assertEquals(next, bank.pointer());
            assertArrayEquals(expected, cpu.toFloatArray(bank.rows()), "after step " + step);
        }
    }

    @Test void stateRoundTripsAndIsValidated() {
        MemoryBank bank = MemoryBank.uniform(cpu, 10, 3, DType.BF16, 3);
        bank.enqueue(cpu.upload(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        Map<String, Tensor> state = bank.state();
        MemoryBank other = MemoryBank.uniform(cpu, 10, 3, DType.BF16, 4);
        other.restore(state);
        assertEquals(2, other.pointer());
        assertArrayEquals(cpu.toFloatArray(bank.rows()), cpu.toFloatArray(other.rows()));
        MemoryBank wrongShape = MemoryBank.uniform(cpu, 11, 3, DType.BF16, 4);
        var e = assertThrows(ShapeMismatchException.class, () -> wrongShape.restore(state));
        assertTrue(e.getMessage().contains("expected shape [11, 3]"), e.getMessage());
        assertEquals(0, wrongShape.pointer(), "nothing changed");
    }

    @Test void badEnqueuesAreRejected() {
        MemoryBank bank = MemoryBank.uniform(cpu, 4, 2, DType.F32, 5);
        var big = assertThrows(ShapeMismatchException.class, () -> bank.enqueue(cpu.zeros(DType.F32, 5, 2)));
        assertTrue(big.getMessage().contains("a batch of 5 keys exceeds the bank's 4 rows"), big.getMessage());
        var dim = assertThrows(ShapeMismatchException.class, () -> bank.enqueue(cpu.zeros(DType.F32, 2, 3)));
        assertTrue(dim.getMessage().contains("keys are 3-d but the bank holds 2-d rows"), dim.getMessage());
        assertThrows(ShapeMismatchException.class, () -> bank.enqueue(cpu.zeros(DType.BF16, 2, 2)));
        assertEquals(0, bank.pointer());
    }
}
