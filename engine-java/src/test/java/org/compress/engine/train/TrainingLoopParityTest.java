// Step-for-step parity of our training loops with the official ones: MocoPretrainer.step and CompressTrainer.step (2q,
// 2q-nomomentum, 1q) run 20 steps on our loader's batches from our initial state (the last 10 from PyTorch's state after
// 10, see tolerance()), and every per-step loss and, after 10 and after 20 steps, every parameter, BN buffer, SGD
// momentum buffer, bank and bank pointer is held against the official loops run in PyTorch
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
    /** The whole state is compared after MID steps and after STEPS (scripts/training_parity_torch.py MID). */
    static final int MID = 10;
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

    /**
     * The banks start as the official code's: MoCo's queue as unit-length Gaussian anchors (moco/builder.py), CompRess's as
     * U(+-1/sqrt(D/3)) rows, not normalised (nn/compress_loss.py). The fixture starts from the trainers' own banks.
     */
    @Test void banksStartAsTheOfficialOnes() {
        int k = 4096, d = 16;
        try (MemoryBank q = MocoPretrainer.newQueue(cpu, k, d, 0);
             MemoryBank t = CompressTrainer.newTeacherBank(cpu, k, d, DType.F32, 0)) {
            float[] v = HostData.toFloats(q.rows());
            double sum = 0, fourth = 0, worstNorm = 0;
            for (int r = 0; r < k; r++) {
                double n = 0;
                for (int j = 0; j < d; j++) {
                    double x = v[r * d + j];
                    n += x * x;
                    sum += x;
                    fourth += x * x * x * x;
                }
                worstNorm = Math.max(worstNorm, Math.abs(Math.sqrt(n) - 1));
            }
            assertTrue(worstNorm < 1e-6, "MoCo queue rows must be unit length, worst |norm - 1| " + worstNorm);
            // directions of N(0, I): mean 0 (standard error 1 / sqrt(D * k * d) = 1e-3 here) and E[x^4] = 3 / (D (D + 2))
            // (standard error ~1.5%; normalised uniform entries give ~0.0075 instead of 0.0104)
            assertTrue(Math.abs(sum / (k * d)) < 5e-3, "MoCo queue mean " + sum / (k * d));
            assertEquals(3.0 / (d * (d + 2)), fourth / (k * d), 0.05 * 3.0 / (d * (d + 2)), "MoCo queue fourth moment");
            float[] u = HostData.toFloats(t.rows());
            double bound = 1 / Math.sqrt(d / 3.0), max = 0, normSpread = 0;
            for (float x : u) max = Math.max(max, Math.abs(x));
            for (int r = 0; r < k; r++) {
                double n = 0;
                for (int j = 0; j < d; j++) n += u[r * d + j] * u[r * d + j];
                normSpread = Math.max(normSpread, Math.abs(Math.sqrt(n) - 1));
            }
            assertTrue(max <= bound && max > 0.99 * bound, "CompRess bank entries fill +-" + bound + ", max " + max);
            assertTrue(normSpread > 0.1, "CompRess bank rows are not normalised (official), |norm - 1| up to " + normSpread);
        }
        try (MemoryBank q = MocoPretrainer.newQueue(cpu, TrainingParitySetup.MOCO.queueSize(), TrainingParitySetup.MOCO.headDim(),
                TrainingParitySetup.SEED)) {
            assertEquals(Arrays.toString(HostData.toFloats(inputs.get("moco.queue"))), Arrays.toString(HostData.toFloats(q.rows())),
                    "the fixture's queue is not MocoPretrainer.newQueue's: regenerate with scripts/make_training_parity_fixtures.sh");
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
        System.out.printf(Locale.ROOT, "planted %s in %s: %d of %d checks fail; worst step's %s; worst %s%n", mistake, run, failed.size(),
                checks.size(), checks.get(0), failed.stream().filter(c -> c.tol() > 0).findFirst().map(Check::toString).orElse("-"));
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
                    if (s + 1 == MID || s + 1 == STEPS) {
                        String at = s + 1 == MID ? "mid." : "";
                        put(state, at + "query.", q.stateDict());
                        put(state, at + "key.", k.stateDict());
                        put(state, at + "momentum.", sgd.momentumBuffers());
                        state.put(at + "queue", cpu.download(bank.rows()));
                        state.put(at + "queue_ptr", pointer(bank));
                    }
                    if (s + 1 == MID) { // the last 10 steps start from PyTorch's state after 10 (see tolerance())
                        q.loadStateDict(group(torch, "moco.mid.query."));
                        k.loadStateDict(group(torch, "moco.mid.key."));
                        sgd.restore(group(torch, "moco.mid.momentum."), MID);
                        bank.restore(bankState("moco.mid.queue"));
                    }
                }
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
                                ? CompressTrainer.step(method, teacher, null, student, key, momentum, loss, tb, sb, sgd, x, 0, null, lrs[s])
                                : plantedCompressStep(mistake, method, teacher, student, key, momentum, loss, tb, sb, sgd, x, lrs[s]);
                        losses[s] = HostData.toFloats(r.lossMean())[0];
                    }
                    if (s + 1 == MID || s + 1 == STEPS) {
                        String at = s + 1 == MID ? "mid." : "";
                        // The official loop's moment_update after its last SGD step is the update our step makes first,
                        // next time (the fixture's mid.* state is taken before that step's moment_update).
                        if (twoQ && s + 1 == STEPS) momentum.update();
                        put(state, at + "query.", student.stateDict());
                        if (twoQ) put(state, at + "key.", key.stateDict());
                        put(state, at + "momentum.", sgd.momentumBuffers());
                        state.put(at + "teacher_bank", cpu.download(tb.rows()));
                        state.put(at + "teacher_bank_ptr", pointer(tb));
                        if (sb != null) {
                            state.put(at + "student_bank", cpu.download(sb.rows()));
                            state.put(at + "student_bank_ptr", pointer(sb));
                        }
                    }
                    if (s + 1 == MID) { // the last 10 steps start from PyTorch's state after 10 (see tolerance())
                        String mid = cfg.method() + ".mid.";
                        student.loadStateDict(group(torch, mid + "query."));
                        if (twoQ) key.loadStateDict(group(torch, mid + "key."));
                        sgd.restore(group(torch, mid + "momentum."), MID);
                        tb.restore(bankState(mid + "teacher_bank"));
                        if (sb != null) sb.restore(bankState(mid + "student_bank"));
                    }
                }
                put(state, "teacher.", teacher.stateDict());
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
     * a step's loss: relative to that loss; integers: exact, err 0 or 1) and the tolerance it is held to.
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
     * fp32 runs (the reference, and eight from starts moved by one rounding) land from its fp64 run, the largest of those
     * nine, measured per key by scripts/training_parity_torch.py (the loss per step; the state after 10 and after 20
     * steps). That is how far rounding alone carries a correct fp32 implementation of the loop, including what the steps
     * do to it: e.g. the update of a BN gamma near 1 that moves 2e-4 in 20 steps is quantised to the ulp of 1 (1e-3 of
     * the update). Ours differs from PyTorch in summation order and in computing the losses in double, so it sits within
     * that spread; 30x covers an unlucky ordering. One thing the spread of PyTorch's runs cannot bound: a rounding-sized
     * difference that flips a ReLU near zero. Its gradient jumps by 1e-4 .. 1e-3, more ReLUs flip, and the runs part by
     * 1e-3 .. 1e-1 a few steps later (our MoCo loop did, from step 11, while all nine PyTorch runs stayed together; the
     * first jump was in one tensor, bn1's bias, while every other stayed at 1e-6). So the state is compared after 10
     * steps, and the last 10 run from PyTorch's state after 10: the comparison covers 20 steps of the loop, and no
     * stretch is long enough for such a cascade. The planted mistakes move the tensors they touch by 1e-2 .. 1 relative
     * from the first steps on (see plantedLoopMistakesFail's report). The 1e-5 floor is ~100 fp32 ulps of the tensor's
     * largest element, for keys whose measured noise happened to be ~0.
     */
    static double tolerance(String run, String key) {
        JsonNode n = noise.get(run + "." + key);
        if (n == null) throw new AssertionError("training_parity_torch.safetensors records no noise for " + run + "." + key);
        return TorchParity.tolerance(n.asDouble(), Device.CPU);
    }

    static List<Check> compare(String run, Outcome o) {
        List<Check> checks = new ArrayList<>();
        float[] refLoss = HostData.toFloats(torch.get(run + ".loss"));
        float[] lossNoise = HostData.toFloats(torch.get(run + ".loss_noise"));
        Check loss = null;
        for (int s = 0; s < STEPS; s++) { // each step against its own tolerance; the check reported is the worst step
            Check c = new Check("loss at step " + s, Math.abs((double) o.losses[s] - refLoss[s]) / Math.abs(refLoss[s]),
                    TorchParity.tolerance(lossNoise[s], Device.CPU));
            if (loss == null || c.use() > loss.use()) loss = c;
            if (System.getProperty("parity.debug") != null) System.out.println(run + " " + c);
        }
        checks.add(loss);
        Map<String, Tensor> ref = group(torch, run + ".");
        String initialPrefix = run.equals("moco") ? "moco.q." : run.equals("1q") ? "student_1q." : "student.";
        Map<String, Tensor> initial = group(inputs, initialPrefix);
        for (Map.Entry<String, Tensor> e : ref.entrySet()) {
            String key = e.getKey();
            if (key.equals("loss") || key.equals("loss_noise") || key.equals("lr")) continue;
            Tensor ours = o.state.get(key);
            if (ours == null) throw new AssertionError(run + ": our loop has no " + key);
            float[] r = HostData.toFloats(e.getValue()), a = HostData.toFloats(ours);
            if (r.length != a.length) throw new AssertionError(run + " " + key + ": " + a.length + " values vs PyTorch's " + r.length);
            if (!e.getValue().dtype().isFloating()) {
                checks.add(new Check(key, Arrays.equals(r, a) ? 0 : 1, 0));
                continue;
            }
            String local = key.startsWith("mid.") ? key.substring(4) : key;
            String name = local.substring(local.indexOf('.') + 1);
            boolean param = (local.startsWith("query.") || local.startsWith("key.")) && o.state.containsKey("momentum." + name);
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
                + failed.stream().map(Check::toString).collect(Collectors.joining("; "))
                + " (tolerances cover the spread of PyTorch's own fp32 runs, see tolerance())");
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
        if (key.startsWith("mid.")) return "after " + MID + " steps: " + groupOf(key.substring(4));
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

    /** A bank's rows and pointer as PyTorch's loop left them (key and key_ptr in the fixture). */
    static Map<String, Tensor> bankState(String key) {
        Map<String, Tensor> s = new LinkedHashMap<>();
        s.put("rows", torch.get(key));
        s.put("pointer", torch.get(key + "_ptr"));
        return s;
    }

    static void put(Map<String, Tensor> out, String prefix, Map<String, Tensor> state) {
        state.forEach((k, v) -> out.put(prefix + k, cpu.download(v)));
    }
}
