// MoCo v2 InfoNCE on the CPU reference: the definition, a gradcheck in double, and bad input.
package org.compress.engine.loss;

import static org.compress.engine.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class InfoNceLossTest {
    final Backend cpu = new CpuBackend();

    @ParameterizedTest @CsvSource({"1,1,3,0.2", "5,30,8,0.2", "3,17,4,0.07"})
    void matchesTheDefinitionAndFiniteDifferences(int b, int k, int d, float tau) {
        float[] q = Fills.uniform(1, b * d, -1, 1), key = Fills.uniform(2, b * d, -1, 1);
        MemoryBank bank = MemoryBank.uniform(cpu, k, d, DType.F32, 3);
        float[] bv = cpu.toFloatArray(bank.rows());
        InfoNceLoss loss = new InfoNceLoss(cpu, new InfoNceLoss.Config(tau, LossPath.AUTO, true));
        InfoNceLoss.Result r = loss.compute(cpu.upload(q, b, d), cpu.upload(key, b, d), bank);
        double[] qd = LossReference.toDouble(q), kd = LossReference.toDouble(key);
        double expected = LossReference.infoNce(qd, kd, b, d, bv, k, tau);
        assertClose("infonce loss", cpu.toFloatArray(r.lossMean()), new double[] {expected}, 1e-7, 1e-5);
        double[] numeric = new double[b * d];
        double h = 1e-6;
        for (int i = 0; i < qd.length; i++) {
            double keep = qd[i];
            qd[i] = keep + h;
            double up = LossReference.infoNce(qd, kd, b, d, bv, k, tau);
            qd[i] = keep - h;
            double down = LossReference.infoNce(qd, kd, b, d, bv, k, tau);
            qd[i] = keep;
            numeric[i] = (up - down) / (2 * h);
        }
        assertClose("dL/dq", cpu.toFloatArray(r.gradQuery()), numeric, 2e-6, 1e-4);
    }

    @Test void mismatchedKeysAreRejected() {
        MemoryBank bank = MemoryBank.uniform(cpu, 10, 4, DType.F32, 3);
        InfoNceLoss loss = new InfoNceLoss(cpu, InfoNceLoss.Config.mocoV2());
        var e = assertThrows(ShapeMismatchException.class,
                () -> loss.compute(cpu.zeros(DType.F32, 2, 4), cpu.zeros(DType.F32, 3, 4), bank));
        assertTrue(e.getMessage().contains("infonce positive keys vs queries"), e.getMessage());
        var d = assertThrows(ShapeMismatchException.class,
                () -> loss.compute(cpu.zeros(DType.F32, 2, 5), cpu.zeros(DType.F32, 2, 5), bank));
        assertTrue(d.getMessage().contains("queries are 5-d but the bank holds 4-d keys"), d.getMessage());
    }
}
