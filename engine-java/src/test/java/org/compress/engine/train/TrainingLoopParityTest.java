// Step-for-step parity of our training loops with the official ones: MocoPretrainer.step and CompressTrainer.step (2q,
// 2q-nomomentum, 1q) run 20 steps on our loader's batches from our initial state, and every per-step loss and, at the end,
// every parameter, BN buffer, SGD momentum buffer, bank and bank pointer is held against the official loops run in PyTorch
// from the same state (fixtures: scripts/make_training_parity_fixtures.sh; the loops: scripts/training_parity_torch.py).
// Tolerances come from the run's own sensitivity (see tolerance()). Planted loop mistakes, run through a copy of the
// step with one thing out of place, must fail the same comparison.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.HostData;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.io.Safetensors;
import org.compress.engine.loss.CompressLoss;
import org.compress.engine.loss.InfoNceLoss;
import org.compress.engine.loss.MemoryBank;
import org.compress.engine.nn.models.Network;
import org.compress.engine.ops.LossPath;
import org.compress.engine.optim.LrSchedule;
import org.compress.engine.optim.MomentumEncoder;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Device;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fixtures;
import org.compress.engine.testing.TorchParity;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class TrainingLoopParityTest {
    static final Backend cpu = new CpuBackend();
    static final int B = TrainingParitySetup.BATCH, STEPS = TrainingParitySetup.STEPS, PER_EPOCH = TrainingParitySetup.PER_EPOCH;
    static Map<String, Tensor> inputs, torch;
    static JsonNode noise;

    /** One thing out of place in a copy of the step (plantedMocoStep / plantedCompressStep); NONE runs the trainers' own step. */
    enum Mistake { NONE, EMA_AFTER_KEYS, ENQUEUE_BEFORE_LOGITS, KEYS_FROM_QUERY }

    @BeforeAll static void load() throws IOException {
        inputs = Safetensors.read(Fixtures.path(TrainingParitySetup.INPUTS));
        torch = Safetensors.read(Fixtures.path(TrainingParitySetup.TORCH));
        noise = new ObjectMapper().readTree(Safetensors.readMetadata(Fixtures.path(TrainingParitySetup.TORCH)).get("fp32_vs_fp64_relative_noise"));
    }

    @Test void mocoV2IsTheOfficialLoop() {
        Outcome o = runMoco(Mistake.NONE);
        assertRateSchedule("moco", o);
        assertParity("moco", o);
    }

    @ParameterizedTest @ValueSource(strings = {"2q", "2q-nomomentum", "1q"})
    void compressIsTheOfficialLoop(String method) {
        Outcome o = runCompress(CompressTrainer.Method.parse(method), Mistake.NONE);
        assertRateSchedule(method, o);
        assertParity(method, o);
        // the frozen teacher: eval mode leaves its BN statistics as they were (bitwise)
        for (Map.Entry<String, Tensor> e : group(inputs, "teacher.").entrySet()) {
            assertEquals(Arrays.toString(HostData.toFloats(e.getValue())), Arrays.toString(HostData.toFloats(o.state.get("teacher." + e.getKey()))),
                    method + ": teacher " + e.getKey() + " changed during training");
        }
    }

    /** Each planted mistake must take at least one compared tensor beyond its tolerance (and is reported by how far). */
    @ParameterizedTest
    @CsvSource({"moco, EMA_AFTER_KEYS", "moco, ENQUEUE_BEFORE_LOGITS", "moco, KEYS_FROM_QUERY",
                "2q, EMA_AFTER_KEYS", "2q, ENQUEUE_BEFORE_LOGITS", "2q, KEYS_FROM_QUERY",
                "2q-nomomentum, ENQUEUE_BEFORE_LOGITS", "1q, ENQUEUE_BEFORE_LOGITS"})
    void plantedLoopMistakesFail(String run, Mistake mistake) {
        Outcome o = run.equals("moco") ? runMoco(mistake) : runCompress(CompressTrainer.Method.parse(run), mistake);
        List<Check> checks = compare(run, o);
        List<Check> failed = checks.stream().filter(c -> !c.ok()).sorted((a, b) -> Double.compare(b.use(), a.use())).toList();
        Check loss = checks.get(0);
        System.out.printf(Locale.ROOT, "planted %s in %s: %d of %d checks fail; %s; worst %s%n", mistake, run, failed.size(), checks.size(),
                loss, failed.stream().filter(c -> c.tol() > 0).findFirst().map(Check::toString).orElse("-"));
        assertTrue(!failed.isEmpty(), run + " with " + mistake + " passed the parity checks: they cannot see this mistake");
    }

    // ---- our loops on the fixture's batches ----

    record Outcome(float[] losses, double[] lrs, Map<String, Tensor> state) {}

    static Outcome runMoco(Mistake mistake) {
        TrainConfig.Moco cfg = TrainingParitySetup.MOCO;
        float[] losses = new float[STEPS];
        double[] lrs = new double[STEPS];
        Map<String, Tensor> state = new LinkedHashMap<>();
        try (Network q = TrainingParitySetup.mocoEncoder(cpu, 0); Network k = TrainingParitySetup.mocoEncoder(cpu, 1)) {
            q.loadStateDict(group(inputs, "moco.q."));
            k.loadStateDict(group(inputs, "moco.k."));
            try (MomentumEncoder momentum = new MomentumEncoder(cpu, q, k, cfg.momentum());
                 MemoryBank bank = restored(MocoPretrainer.newQueue(cpu, cfg.queueSize(), cfg.headDim(), TrainingParitySetup.SEED), "moco.queue");
                 InfoNceLoss loss = new InfoNceLoss(cpu, new InfoNceLoss.Config(cfg.tau(), LossPath.AUTO, false));
                 Sgd sgd = new Sgd(cpu, q.namedParameters(), Sgd.Options.compress());
                 Scratch scratch = new Scratch(cfg.headDim())) {
                LrSchedule schedule = MocoPretrainer.schedule(cfg);
                q.train();
                k.train();
                for (int s = 0; s < STEPS; s++) {
                    lrs[s] = schedule.lr(s / PER_EPOCH + (double) (s % PER_EPOCH) / PER_EPOCH); // as MocoPretrainer.train
                    try (Tensor v1 = batch("moco.view_q", s); Tensor v2 = batch("moco.view_k", s)) {
                        InfoNceLoss.Result r = mistake == Mistake.NONE ? MocoPretrainer.step(q, k, momentum, loss, bank, sgd, v1, v2, lrs[s])
                                : plantedMocoStep(mistake, q, k, momentum, loss, bank, sgd, v1, v2, lrs[s], scratch);
                        losses[s] = HostData.toFloats(r.lossMean())[0];
                    }
                }
                put(state, "query.", q.stateDict());
                put(state, "key.", k.stateDict());
                put(state, "momentum.", sgd.momentumBuffers());
                state.put("queue", cpu.download(bank.rows()));
                state.put("queue_ptr", pointer(bank));
            }
        }
        return new Outcome(losses, lrs, state);
    }

    static Outcome runCompress(CompressTrainer.Method method, Mistake mistake) {
        TrainConfig.Compress cfg = TrainingParitySetup.compress(method);
        boolean twoQ = method == CompressTrainer.Method.TWO_QUEUES;
        float[] losses = new float[STEPS];
        double[] lrs = new double[STEPS];
        Map<String, Tensor> state = new LinkedHashMap<>();
        try (Network teacher = TrainingParitySetup.teacher(cpu); Network student = TrainingParitySetup.student(cpu, method, 0);
             Network key = twoQ ? TrainingParitySetup.student(cpu, method, 1) : null) {
            teacher.loadStateDict(group(inputs, "teacher."));
            student.loadStateDict(group(inputs, method == CompressTrainer.Method.ONE_QUEUE ? "student_1q." : "student."));
            if (twoQ) key.loadStateDict(group(inputs, "student_key."));
            teacher.eval(); // as CompressTrainer.train
            student.train();
            if (twoQ) key.train();
            try (MemoryBank tb = restored(CompressTrainer.newTeacherBank(cpu, cfg.queueSize(), teacher.embeddingDim(), DType.F32, 0), "compress.teacher_bank");
                 MemoryBank sb = method == CompressTrainer.Method.ONE_QUEUE ? null
                         : restored(CompressTrainer.newStudentBank(cpu, cfg.queueSize(), student.outputDim(), DType.F32, 0), "compress.student_bank");
                 CompressLoss loss = new CompressLoss(cpu, new CompressLoss.Config(cfg.tau(), LossPath.valueOf(cfg.lossPath()), cfg.checkFinite()));
                 Sgd sgd = new Sgd(cpu, student.namedParameters(), Sgd.Options.compress());
                 MomentumEncoder momentum = twoQ ? new MomentumEncoder(cpu, student, key, cfg.momentum()) : null) {
                LrSchedule schedule = CompressTrainer.schedule(cfg);
                for (int s = 0; s < STEPS; s++) {
                    lrs[s] = schedule.lr(s / PER_EPOCH + (double) (s % PER_EPOCH) / PER_EPOCH); // as CompressTrainer.train
                    try (Tensor x = batch("compress.view", s)) {
                        CompressLoss.Result r = mistake == Mistake.NONE
                                ? CompressTrainer.step(method, teacher, null, student, key, momentum, loss, tb, sb, sgd, x, null, lrs[s])
                                : plantedCompressStep(mistake, method, teacher, student, key, momentum, loss, tb, sb, sgd, x, lrs[s]);
                        losses[s] = HostData.toFloats(r.lossMean())[0];
                    }
                }
                // The official loop's moment_update after its last SGD step is the update our step makes first, next time.
                if (twoQ) momentum.update();
                put(state, "query.", student.stateDict());
                if (twoQ) put(state, "key.", key.stateDict());
                put(state, "momentum.", sgd.momentumBuffers());
                put(state, "teacher.", teacher.stateDict());
                state.put("teacher_bank", cpu.download(tb.rows()));
                state.put("teacher_bank_ptr", pointer(tb));
                if (sb != null) {
                    state.put("student_bank", cpu.download(sb.rows()));
                    state.put("student_bank_ptr", pointer(sb));
                }
            }
        }
        return new Outcome(losses, lrs, state);
    }

    // ---- the planted mistakes: copies of MocoPretrainer.step / CompressTrainer.step with one thing out of place ----

    /** Buffers for the mistakes that normalise keys outside the loss. */
    static final class Scratch implements AutoCloseable {
        final Tensor normalized, norms;

        Scratch(int dim) {
            normalized = cpu.empty(DType.F32, B, dim);
            norms = cpu.empty(DType.F32, B);
        }

        Tensor normalize(Tensor x) {
            cpu.normalize().forward(x, normalized, norms);
            return normalized;
        }

        @Override public void close() {
            normalized.close();
            norms.close();
        }
    }

    static InfoNceLoss.Result plantedMocoStep(Mistake mistake, Network query, Network key, MomentumEncoder momentum, InfoNceLoss loss,
                                              MemoryBank bank, Sgd sgd, Tensor v1, Tensor v2, double lr, Scratch scratch) {
        Tensor kOut;
        Tensor keysFromQuery = null;
        if (mistake == Mistake.KEYS_FROM_QUERY) keysFromQuery = cpu.download(query.forward(v2)); // the query encoder, BN stats and all
        Tensor qOut = query.forward(v1);
        if (mistake == Mistake.EMA_AFTER_KEYS) {
            kOut = key.forward(v2);
            momentum.update();
        } else {
            momentum.update();
            kOut = mistake == Mistake.KEYS_FROM_QUERY ? keysFromQuery : key.forward(v2);
        }
        if (mistake == Mistake.ENQUEUE_BEFORE_LOGITS) bank.enqueue(scratch.normalize(kOut));
        InfoNceLoss.Result r = loss.compute(qOut, kOut, bank);
        query.backward(r.gradQuery());
        sgd.step((float) lr);
        if (mistake != Mistake.ENQUEUE_BEFORE_LOGITS) bank.enqueue(r.keysNormalized());
        if (keysFromQuery != null) keysFromQuery.close();
        return r;
    }

    static CompressLoss.Result plantedCompressStep(Mistake mistake, CompressTrainer.Method method, Network teacher, Network student,
                                                   Network keyStudent, MomentumEncoder momentum, CompressLoss loss, MemoryBank tb,
                                                   MemoryBank sb, Sgd sgd, Tensor x, double lr) {
        Tensor t = teacher.embed(x);
        Tensor s = student.forward(x);
        Tensor keys = null;
        if (method == CompressTrainer.Method.TWO_QUEUES) {
            if (mistake == Mistake.EMA_AFTER_KEYS) {
                keys = keyStudent.forward(x);
                momentum.update();
            } else {
                momentum.update();
                keys = keyStudent.forward(x);
            }
        }
        if (mistake == Mistake.ENQUEUE_BEFORE_LOGITS) {
            tb.enqueue(loss.normalize(t));
            if (method == CompressTrainer.Method.TWO_QUEUES) sb.enqueue(loss.normalize(keys));
            else if (method == CompressTrainer.Method.TWO_QUEUES_NO_MOMENTUM) sb.enqueue(loss.normalize(s));
        }
        CompressLoss.Result r = loss.compute(t, s, tb, sb);
        student.backward(r.gradStudent());
        sgd.step((float) lr);
        if (mistake != Mistake.ENQUEUE_BEFORE_LOGITS) {
            tb.enqueue(r.teacherNormalized());
            if (method == CompressTrainer.Method.TWO_QUEUES) sb.enqueue(mistake == Mistake.KEYS_FROM_QUERY ? r.studentNormalized() : loss.normalize(keys));
            else if (method == CompressTrainer.Method.TWO_QUEUES_NO_MOMENTUM) sb.enqueue(r.studentNormalized());
        }
        return r;
    }

    // ---- comparison ----

    /**
     * One compared tensor: err = max |ours - PyTorch| / max |PyTorch| (parameters: of their change over the 20 steps;
     * losses: per step, relative to that step's loss; integers: exact, err 0 or 1) and the tolerance it is held to.
     */
    record Check(String key, double err, double tol) {
        boolean ok() { return err <= tol; }

        /** err / tol; integer tensors (tol 0) are 0 when equal and infinite when not. */
        double use() { return err == 0 ? 0 : err / tol; }

        @Override public String toString() {
            return tol == 0 ? key + (err == 0 ? " equal" : " DIFFERENT")
                    : String.format(Locale.ROOT, "%s %.2e (%.0f%% of %.1e)", key, err, 100 * use(), tol);
        }
    }

    /**
     * The tolerance of a key: TorchParity's CPU table, max(1e-5, 30 x noise), where noise is how far the PyTorch loop's own
     * fp32 runs (the reference, and three from starts moved by one rounding) land from its fp64 run after these 20 steps,
     * measured per key by scripts/training_parity_torch.py. That is the distance rounding alone puts between two correct
     * fp32 implementations of the loop, including what 20 steps do to it: the update of a parameter near 1 that moves 2e-4
     * is quantised to its ulp (noise ~1e-3 for BN gammas), a ReLU that flips under a rounding-sized change moves a
     * gradient once, and later steps carry it on. Ours differs from PyTorch in summation order only, so it sits within a
     * few times that noise; 30x covers an unlucky ordering and stays far below what a misplaced step does (the planted
     * mistakes move the tensors they touch by 1e-2 .. 1 relative, see plantedLoopMistakesFail's report). The 1e-5
     * floor is ~100 fp32 ulps of the tensor's largest element, for keys whose measured noise happened to be ~0.
     */
    static double tolerance(String run, String key) {
        JsonNode n = noise.get(run + "." + key);
        if (n == null) throw new AssertionError("training_parity_torch.safetensors records no noise for " + run + "." + key);
        return TorchParity.tolerance(n.asDouble(), Device.CPU);
    }

    static List<Check> compare(String run, Outcome o) {
        List<Check> checks = new ArrayList<>();
        float[] refLoss = HostData.toFloats(torch.get(run + ".loss"));
        double lossErr = 0;
        for (int s = 0; s < STEPS; s++) lossErr = Math.max(lossErr, Math.abs((double) o.losses[s] - refLoss[s]) / Math.abs(refLoss[s]));
        checks.add(new Check("loss (per step)", lossErr, tolerance(run, "loss")));
        Map<String, Tensor> ref = group(torch, run + ".");
        String initialPrefix = run.equals("moco") ? "moco.q." : run.equals("1q") ? "student_1q." : "student.";
        Map<String, Tensor> initial = group(inputs, initialPrefix);
        for (Map.Entry<String, Tensor> e : ref.entrySet()) {
            String key = e.getKey();
            if (key.equals("loss") || key.equals("lr")) continue;
            Tensor ours = o.state.get(key);
            if (ours == null) throw new AssertionError(run + ": our loop has no " + key);
            float[] r = HostData.toFloats(e.getValue()), a = HostData.toFloats(ours);
            if (r.length != a.length) throw new AssertionError(run + " " + key + ": " + a.length + " values vs PyTorch's " + r.length);
            if (!e.getValue().dtype().isFloating()) {
                checks.add(new Check(key, Arrays.equals(r, a) ? 0 : 1, 0));
                continue;
            }
            String name = key.substring(key.indexOf('.') + 1);
            boolean param = (key.startsWith("query.") || key.startsWith("key.")) && o.state.containsKey("momentum." + name);
            if (param) { // the change over the run: the parameters' magnitude would hide an error in the updates
                float[] p0 = HostData.toFloats(initial.get(name));
                for (int i = 0; i < r.length; i++) {
                    r[i] -= p0[i];
                    a[i] -= p0[i];
                }
            }
            double scale = 0, d = 0;
            for (int i = 0; i < r.length; i++) {
                scale = Math.max(scale, Math.abs(r[i]));
                d = Math.max(d, Math.abs((double) a[i] - r[i]));
            }
            checks.add(new Check(key, scale == 0 ? d : d / scale, tolerance(run, key)));
        }
        return checks;
    }

    static void assertParity(String run, Outcome o) {
        List<Check> checks = compare(run, o);
        Map<String, Check> worst = new LinkedHashMap<>();
        for (Check c : checks) worst.merge(groupOf(c.key()), c, (x, y) -> x.use() >= y.use() ? x : y);
        System.out.println(run + " vs the official loop in PyTorch, worst per group: " + worst.values());
        List<Check> failed = checks.stream().filter(c -> !c.ok()).toList();
        assertTrue(failed.isEmpty(), run + ": " + failed.size() + " of " + checks.size() + " tensors beyond tolerance: "
                + failed.stream().map(Check::toString).collect(Collectors.joining("; ")));
    }

    /** The learning rate of every step equals the one PyTorch's loop used (fixture lr), to 1e-12 relative. */
    static void assertRateSchedule(String run, Outcome o) {
        Tensor ref = torch.get(run + ".lr");
        float[] r = HostData.toFloats(ref);
        for (int s = 0; s < STEPS; s++) {
            assertEquals(r[s], o.lrs[s], 1e-7 * Math.abs(r[s]), run + " learning rate at step " + s);
        }
    }

    static String groupOf(String key) {
        if (key.startsWith("loss")) return "loss";
        String head = key.contains(".") ? key.substring(0, key.indexOf('.')) : key;
        if (key.contains("running_") || key.contains("num_batches")) return head + " BN buffers";
        return head;
    }

    // ---- fixture plumbing ----

    static Map<String, Tensor> group(Map<String, Tensor> all, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        all.forEach((k, v) -> {
            if (k.startsWith(prefix)) out.put(k.substring(prefix.length()), v);
        });
        return out;
    }

    static Tensor batch(String key, int step) {
        Tensor all = inputs.get(key);
        float[] v = HostData.toFloats(all);
        int per = v.length / all.dim(0);
        return Tensor.cpu(Arrays.copyOfRange(v, step * per, (step + 1) * per), all.dim(1), all.dim(2), all.dim(3), all.dim(4));
    }

    static MemoryBank restored(MemoryBank bank, String key) {
        Map<String, Tensor> s = new LinkedHashMap<>();
        s.put("rows", inputs.get(key));
        s.put("pointer", Tensor.cpuZeros(DType.I64, 1));
        bank.restore(s);
        return bank;
    }

    static Tensor pointer(MemoryBank bank) { return bank.state().get("pointer"); }

    static void put(Map<String, Tensor> out, String prefix, Map<String, Tensor> state) {
        state.forEach((k, v) -> out.put(prefix + k, cpu.download(v)));
    }
}
