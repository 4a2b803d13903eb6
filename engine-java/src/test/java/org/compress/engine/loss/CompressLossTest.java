// The CompRess loss on the CPU reference: against the paper's definition, a finite-difference gradcheck in
// double through the normalisation, 1q/2q, extremes (tau = 0.01, identical or orthogonal anchors) and bad input.
package org.compress.engine.loss;

import static org.compress.engine.testing.Close.assertClose;
import static org.compress.engine.testing.Close.assertFiniteNonZero;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class CompressLossTest {
    final Backend cpu = new CpuBackend();

    CompressLoss loss(float tau) { return new CompressLoss(cpu, new CompressLoss.Config(tau, LossPath.AUTO, true)); }

    @ParameterizedTest(name = "B={0} K={1} Dt={2} Ds={3} tau={4}")
    @CsvSource({"1,1,4,4,0.04", "3,7,5,3,0.04", "7,100,16,8,0.2", "4,33,6,6,0.01"})
    void matchesTheDefinitionAndFiniteDifferences(int b, int k, int dt, int ds, float tau) {
        float[] t = Fills.uniform(1, b * dt, -1, 1), s = Fills.uniform(2, b * ds, -1, 1);
        MemoryBank qt = MemoryBank.uniform(cpu, k, dt, DType.F32, 3), qs = MemoryBank.uniform(cpu, k, ds, DType.F32, 4);
        float[] qtv = cpu.toFloatArray(qt.rows()), qsv = cpu.toFloatArray(qs.rows());
        CompressLoss.Result r = loss(tau).compute(cpu.upload(t, b, dt), cpu.upload(s, b, ds), qt, qs);
        double expected = LossReference.compressLoss(LossReference.toDouble(t), LossReference.toDouble(s), b, dt, ds, qtv, qsv, k, tau);
        // the engine computes in double and rounds once: 1e-6 relative covers the float rounding of inputs/outputs
        assertClose("loss", cpu.toFloatArray(r.lossMean()), new double[] {expected}, 1e-7, 1e-5);
        double[] sd = LossReference.toDouble(s), numeric = new double[b * ds];
        double h = 1e-6;
        for (int i = 0; i < sd.length; i++) {
            double keep = sd[i];
            sd[i] = keep + h;
            double up = LossReference.compressLoss(LossReference.toDouble(t), sd, b, dt, ds, qtv, qsv, k, tau);
            sd[i] = keep - h;
            double down = LossReference.compressLoss(LossReference.toDouble(t), sd, b, dt, ds, qtv, qsv, k, tau);
            sd[i] = keep;
            numeric[i] = (up - down) / (2 * h);
        }
        // central differences in double: truncation ~h^2 * L''' (large at tau = 0.01: |z| up to ~100), round-off ~1e-16/h
        assertClose("dL/dstudent", cpu.toFloatArray(r.gradStudent()), numeric, 2e-6, tau < 0.02 ? 1e-3 : 1e-4);
    }

    @Test void identicalTeacherAndStudentGiveZeroLossAndGradient() {
        int b = 5, k = 50, d = 8;
        float[] x = Fills.uniform(5, b * d, -1, 1);
        MemoryBank bank = MemoryBank.uniform(cpu, k, d, DType.F32, 6);
        CompressLoss.Result r = loss(0.04f).compute(cpu.upload(x, b, d), cpu.upload(x, b, d), bank, bank);
        assertEquals(0f, cpu.toFloatArray(r.lossMean())[0], 1e-7f);
        for (float g : cpu.toFloatArray(r.gradStudent())) assertEquals(0f, g, 1e-7f);
    }

    @Test void lossIsNonNegativeKlAndPerQueryValuesAverageToTheMean() {
        int b = 9, k = 64, d = 16;
        MemoryBank qt = MemoryBank.uniform(cpu, k, d, DType.F32, 7), qs = MemoryBank.uniform(cpu, k, d, DType.F32, 8);
        CompressLoss.Result r = loss(0.04f).compute(cpu.upload(Fills.uniform(9, b * d, -1, 1), b, d),
                cpu.upload(Fills.uniform(10, b * d, -1, 1), b, d), qt, qs);
        float[] per = cpu.toFloatArray(r.lossPerQuery());
        double sum = 0;
        for (float v : per) {
            assertTrue(v >= 0, "KL is non-negative: " + v);
            sum += v;
        }
        assertEquals(sum / b, cpu.toFloatArray(r.lossMean())[0], 1e-5 * sum / b);
    }

    @Test void extremesStayFinite() {
        int b = 3, k = 4, d = 4;
        // anchors: the identity rows (orthogonal); query 0 equals anchor 0; tau = 0.01 gives logits of 100.
        float[] anchors = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
        MemoryBank bank = MemoryBank.uniform(cpu, k, d, DType.F32, 1);
        bank.restore(java.util.Map.of("rows", Tensor.cpu(anchors, k, d), "pointer", Tensor.cpuZeros(DType.I64, 1)));
        float[] t = {1, 0, 0, 0, 0, 1, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f};
        float[] s = {0, 0, 0, 1, 1, 0, 0, 0, 0.5f, -0.5f, 0.5f, -0.5f};
        CompressLoss.Result r = loss(0.01f).compute(cpu.upload(t, b, d), cpu.upload(s, b, d), bank, bank);
        float[] per = cpu.toFloatArray(r.lossPerQuery());
        assertFiniteNonZero("per-query loss", per);
        // query 0: pt is one-hot on anchor 0 (logit 100 vs 0), ps one-hot on anchor 3: KL = 100 - log-terms ~ 100
        assertEquals(100.0, per[0], 1e-3);
        assertFiniteNonZero("gradient", cpu.toFloatArray(r.gradStudent()));
    }

    @Test void oneQueueScoresTheProjectedStudentAgainstTheTeacherBank() {
        int b = 4, k = 20, d = 6;
        MemoryBank teacherBank = MemoryBank.uniform(cpu, k, d, DType.F32, 11);
        float[] t = Fills.uniform(12, b * d, -1, 1), s = Fills.uniform(13, b * d, -1, 1);
        CompressLoss.Result one = loss(0.04f).compute(cpu.upload(t, b, d), cpu.upload(s, b, d), teacherBank, null);
        CompressLoss.Result two = loss(0.04f).compute(cpu.upload(t, b, d), cpu.upload(s, b, d), teacherBank, teacherBank);
        assertArrayEquals(cpu.toFloatArray(two.gradStudent()), cpu.toFloatArray(one.gradStudent()));
        var e = assertThrows(ShapeMismatchException.class, () -> loss(0.04f).compute(cpu.upload(t, b, d),
                cpu.upload(new float[b * 3], b, 3), teacherBank, null));
        assertTrue(e.getMessage().contains("1q: project the student to the teacher's dimension first"), e.getMessage());
    }

    @Test void badInputIsRejectedBeforeAnythingChanges() {
        int b = 2, k = 8, d = 4;
        MemoryBank qt = MemoryBank.uniform(cpu, k, d, DType.F32, 1), qs = MemoryBank.uniform(cpu, k, 3, DType.F32, 2);
        float[] before = cpu.toFloatArray(qt.rows());
        Tensor t = cpu.upload(Fills.uniform(3, b * d, -1, 1), b, d);
        var dim = assertThrows(ShapeMismatchException.class, () -> loss(0.04f).compute(t, t, qt, qs));
        assertTrue(dim.getMessage().contains("student embeddings are 4-d but the student bank holds 3-d anchors"), dim.getMessage());
        float[] nan = Fills.uniform(4, b * d, -1, 1);
        nan[5] = Float.NaN;
        var nf = assertThrows(NonFiniteInputException.class, () -> loss(0.04f).compute(t, cpu.upload(nan, b, d), qt, qt));
        assertTrue(nf.getMessage().contains("hold 1 NaN/Inf values"), nf.getMessage());
        assertArrayEquals(before, cpu.toFloatArray(qt.rows()));
        assertThrows(IllegalArgumentException.class, () -> new CompressLoss.Config(0f, LossPath.AUTO, true));
        assertThrows(IllegalArgumentException.class, () -> MemoryBank.uniform(cpu, 0, d, DType.F32, 1));
        assertThrows(IllegalArgumentException.class, () -> MemoryBank.uniform(cpu, k, d, DType.F16, 1));
        Tensor i32 = cpu.zeros(DType.I32, b, d);
        var dtype = assertThrows(ShapeMismatchException.class, () -> loss(0.04f).compute(i32, t, qt, qt));
        assertTrue(dtype.getMessage().contains("expected dtype F32"), dtype.getMessage());
    }

    @Test void bf16BanksGiveTheLossOfTheRoundedAnchors() {
        int b = 3, k = 40, d = 8;
        MemoryBank f32 = MemoryBank.uniform(cpu, k, d, DType.F32, 21), bf16 = MemoryBank.uniform(cpu, k, d, DType.BF16, 21);
        float[] rounded = cpu.toFloatArray(bf16.rows()), exact = cpu.toFloatArray(f32.rows());
        boolean anyRounded = false;
        for (int i = 0; i < rounded.length; i++) {
            assertEquals(org.compress.engine.tensor.BFloat16.round(exact[i]), rounded[i]);
            anyRounded |= rounded[i] != exact[i];
        }
        assertTrue(anyRounded);
        float[] t = Fills.uniform(22, b * d, -1, 1), s = Fills.uniform(23, b * d, -1, 1);
        CompressLoss.Result r = loss(0.04f).compute(cpu.upload(t, b, d), cpu.upload(s, b, d), bf16, bf16);
        double expected = LossReference.compressLoss(LossReference.toDouble(t), LossReference.toDouble(s), b, d, d, rounded, rounded, k, 0.04);
        assertClose("bf16-bank loss", cpu.toFloatArray(r.lossMean()), new double[] {expected}, 1e-7, 1e-5);
    }
}
