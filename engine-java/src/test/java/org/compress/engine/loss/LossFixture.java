// Replays compress_loss_torch.json (scripts/make_loss_fixture.py: the official CompRess and MoCo v2 formulations in
// PyTorch, float64) on a backend. Inputs are rounded to F32 here, so the tolerances below cover that rounding
// amplified by 1/tau (logits move by ~1e-7 * |x| / tau) plus the engine's own fp32 outputs.
package org.compress.engine.loss;

import static org.compress.engine.testing.Close.assertClose;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.compress.engine.backend.Backend;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

public final class LossFixture {
    private LossFixture() {}

    public static List<JsonNode> cases() throws IOException {
        try (InputStream in = LossFixture.class.getResourceAsStream("/fixtures/compress_loss_torch.json")) {
            List<JsonNode> out = new ArrayList<>();
            new ObjectMapper().readTree(in).get("cases").forEach(out::add);
            return out;
        }
    }

    static float[] floats(JsonNode array) {
        float[] a = new float[array.size()];
        for (int i = 0; i < a.length; i++) a[i] = (float) array.get(i).asDouble();
        return a;
    }

    static double[] doubles(JsonNode array) {
        double[] a = new double[array.size()];
        for (int i = 0; i < a.length; i++) a[i] = array.get(i).asDouble();
        return a;
    }

    static MemoryBank bankFrom(Backend be, JsonNode values, int k, int d, DType dtype) {
        MemoryBank bank = MemoryBank.uniform(be, k, d, dtype, 0);
        bank.restore(java.util.Map.of("rows", castTo(Tensor.cpu(floats(values), k, d), dtype), "pointer", Tensor.cpuZeros(DType.I64, 1)));
        return bank;
    }

    private static Tensor castTo(Tensor f32, DType dtype) {
        if (dtype == DType.F32) return f32;
        Tensor t = Tensor.cpuZeros(dtype, f32.shape());
        new org.compress.engine.backend.cpu.CpuBackend().elementwise().cast(f32, t);
        return t;
    }

    /** Runs one fixture case on {@code be} with F32 banks and asserts loss and gradient against PyTorch. */
    public static void replay(Backend be, JsonNode c, LossPath path, double rtol) {
        float tau = (float) c.get("tau").asDouble();
        String name = c.get("kind").asText() + " B=" + c.get("b") + " K=" + c.get("k") + " tau=" + tau + " on " + be.name();
        int b = c.get("b").asInt(), k = c.get("k").asInt();
        if (c.get("kind").asText().equals("compress")) {
            int dt = c.get("dt").asInt(), ds = c.get("ds").asInt();
            MemoryBank qt = bankFrom(be, c.get("teacher_bank"), k, dt, DType.F32);
            MemoryBank qs = c.get("one_queue").asBoolean() ? null : bankFrom(be, c.get("student_bank"), k, ds, DType.F32);
            try (CompressLoss loss = new CompressLoss(be, new CompressLoss.Config(tau, path, true))) {
                CompressLoss.Result r = loss.compute(be.upload(floats(c.get("teacher")), b, dt), be.upload(floats(c.get("student")), b, ds), qt, qs);
                assertClose(name + " loss", be.toFloatArray(r.lossMean()), new double[] {c.get("loss").asDouble()}, 1e-6, rtol);
                assertClose(name + " gradient", be.toFloatArray(r.gradStudent()), doubles(c.get("grad_student")), 1e-6, rtol);
            }
        } else {
            int d = c.get("d").asInt();
            MemoryBank bank = bankFrom(be, c.get("bank"), k, d, DType.F32);
            try (InfoNceLoss loss = new InfoNceLoss(be, new InfoNceLoss.Config(tau, path, true))) {
                InfoNceLoss.Result r = loss.compute(be.upload(floats(c.get("query")), b, d), be.upload(floats(c.get("key")), b, d), bank);
                assertClose(name + " loss", be.toFloatArray(r.lossMean()), new double[] {c.get("loss").asDouble()}, 1e-6, rtol);
                assertClose(name + " gradient", be.toFloatArray(r.gradQuery()), doubles(c.get("grad_query")), 1e-6, rtol);
            }
        }
    }
}
