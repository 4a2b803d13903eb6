// The training-parity setup shared by its fixture writer (main, run by scripts/make_training_parity_fixtures.sh) and
// TrainingLoopParityTest: tiny ResNet-18s (small-input stem) on Fashion-MNIST, 20 steps of batch 8 through our loader,
// and the initial state (weights from our init, the banks from the trainers' own factories) that PyTorch starts from.
// main writes fixtures/training_parity_inputs.safetensors; scripts/training_parity_torch.py reads it and writes what
// the official loops do from there (fixtures/training_parity_torch.safetensors).
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.datasets.IdxDataset;
import org.compress.engine.data.datasets.SubsetDataset;
import org.compress.engine.data.loader.Batch;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.io.Safetensors;
import org.compress.engine.loss.MemoryBank;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.compress.engine.optim.MomentumEncoder;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class TrainingParitySetup {
    static final String INPUTS = "training_parity_inputs.safetensors";
    static final String TORCH = "training_parity_torch.safetensors";

    static final int BATCH = 8, PER_EPOCH = 5, EPOCHS = 4, STEPS = PER_EPOCH * EPOCHS, IMAGES = BATCH * PER_EPOCH, SIZE = 28;
    static final long SEED = 3;
    static final TrainConfig.Model STUDENT = new TrainConfig.Model("resnet18", 4, true, null, "torchvision");
    static final TrainConfig.Model TEACHER = new TrainConfig.Model("resnet18", 8, true, null, "torchvision");
    /**
     * EMA momentum 0.9 (the defaults are 0.99 / 0.999): at 0.999 the key encoder moves 1e-3 of the way per step and a
     * misplaced update changes the keys by ~1e-6 relative, at the level of fp32 rounding after 20 steps, so a wrong
     * order could not be told from noise; at 0.9 it is 100x larger. The order of operations is what this test is for.
     * The queues (32, 36 rows) wrap 5 and 4 times in 20 steps; 36 is not a multiple of the batch (8), so the enqueue
     * also wraps inside a batch (the official CompRess bank allows it; MoCo's asserts K % batch == 0, hence 32).
     * Learning rates: CompRess 0.0003125 is the official 0.01 at batch 256 per image (x 8 / 256); its gradients are large
     * (tau 0.04), and at 1e-3 PyTorch's own fp32 and fp64 runs already part by 1e-3 .. 1e-1. MoCo's per-image rate
     * (0.03 x 8 / 256 ~ 1e-3) moves most weights by ~1e-5 of their size in 20 steps, where the fp32 rounding of the
     * weights themselves is 1e-2 of the change. MoCo's 0.01 is chosen from PyTorch's runs alone (fp32 vs fp64 on these
     * batches, median relative noise of the parameter changes; "events": of 8 fp32 runs from starts moved by one
     * rounding, how many had a ReLU flip that parts them from fp64 by 1e-2 .. 1e-1 from then on): 0.005: 8e-5 .. 9e-4,
     * 3 events in 5; 0.01: 1e-5 .. 2e-5, 0 in 8; 0.015: 2 in 8; 0.02: 3 in 5. The quieter the reference, the smaller the
     * error a tolerance built on it can see, and a rate with such events would need a tolerance that sees nothing.
     */
    static final TrainConfig.Moco MOCO = new TrainConfig.Moco(EPOCHS, BATCH, 0.01, 32, 0.2f, 16, 0.9, 1);

    /** CompRess: multistep at epochs 2 and 3 so the official per-epoch decay (x0.2) happens twice within the 20 steps. */
    static TrainConfig.Compress compress(CompressTrainer.Method method) {
        String id = switch (method) {
            case TWO_QUEUES -> "2q";
            case TWO_QUEUES_NO_MOMENTUM -> "2q-nomomentum";
            case ONE_QUEUE -> "1q";
        };
        return new TrainConfig.Compress(id, EPOCHS, BATCH, 0.0003125, 36, 0.04f, 0.9, "F32", "AUTO", true, 1, false, "multistep:2,3");
    }

    private TrainingParitySetup() {}

    static Dataset images() {
        return SubsetDataset.firstN(IdxDataset.openSplit(Path.of("/usr/share/datasets/fashion-mnist"), "train"), IMAGES);
    }

    /** The batches the trainers' loader hands out over EPOCHS epochs (same LoaderConfig as MocoPretrainer / CompressTrainer). */
    static float[][][] views(Recipe recipe, int batch, long seed) {
        LoaderConfig cfg = LoaderConfig.of(batch).workers(1).seed(seed).dropLast(true);
        float[][][] out = new float[STEPS][recipe.views()][];
        try (DataLoader loader = new DataLoader(images(), recipe, cfg)) {
            if (loader.batchesPerEpoch() != PER_EPOCH) throw new AssertionError("expected " + PER_EPOCH + " batches per epoch");
            int s = 0;
            for (int e = 0; e < EPOCHS; e++) {
                try (DataLoader.Epoch it = loader.epoch(e)) {
                    while (it.hasNext()) {
                        try (Batch b = it.next()) {
                            for (int v = 0; v < recipe.views(); v++) out[s][v] = b.viewData(v).clone();
                        }
                        s++;
                    }
                }
            }
        }
        return out;
    }

    static Network mocoEncoder(Backend backend, long seed) { return Models.build(backend, STUDENT, 1, Head.mlp(MOCO.headDim()), seed); }

    static Network teacher(Backend backend) { return Models.build(backend, TEACHER, 1, Head.none(), SEED + 7); }

    /** The student of the method: 1q projects to the teacher's 64-d with a linear head. */
    static Network student(Backend backend, CompressTrainer.Method method, long seed) {
        Head head = method == CompressTrainer.Method.ONE_QUEUE ? Head.linear(TEACHER.baseWidth() * 8) : Head.none();
        return Models.build(backend, STUDENT, 1, head, seed);
    }

    public static void main(String[] args) {
        Path out = Path.of(args.length > 0 ? args[0] : "engine-java/src/test/resources/fixtures/" + INPUTS);
        Backend cpu = new CpuBackend();
        Map<String, Tensor> t = new LinkedHashMap<>();
        Normalize n = Normalize.FASHION_MNIST;
        float[][][] moco = views(SmallImageRecipes.moco(1, SIZE, n), BATCH, SEED);
        t.put("moco.view_q", stack(moco, 0));
        t.put("moco.view_k", stack(moco, 1));
        float[][][] compress = views(SmallImageRecipes.compress(1, SIZE, n), BATCH, SEED);
        t.put("compress.view", stack(compress, 0));
        try (Network q = condition(mocoEncoder(cpu, SEED), SEED); Network k = mocoEncoder(cpu, SEED + 1);
             MomentumEncoder copy = new MomentumEncoder(cpu, q, k, MOCO.momentum());
             MemoryBank queue = MocoPretrainer.newQueue(cpu, MOCO.queueSize(), MOCO.headDim(), SEED)) {
            put(cpu, t, "moco.q.", q.stateDict());
            put(cpu, t, "moco.k.", k.stateDict());
            t.put("moco.queue", queue.state().get("rows"));
        }
        TrainConfig.Compress c = compress(CompressTrainer.Method.TWO_QUEUES);
        try (Network teacher = calibrate(condition(teacher(cpu), SEED + 4), compress);
             Network s = condition(student(cpu, CompressTrainer.Method.TWO_QUEUES, SEED + 2), SEED + 5);
             Network sk = student(cpu, CompressTrainer.Method.TWO_QUEUES, SEED + 3);
             MomentumEncoder copy = new MomentumEncoder(cpu, s, sk, c.momentum());
             Network s1 = condition(student(cpu, CompressTrainer.Method.ONE_QUEUE, SEED + 2), SEED + 5);
             MemoryBank tb = CompressTrainer.newTeacherBank(cpu, c.queueSize(), teacher.embeddingDim(), DType.F32, SEED);
             MemoryBank sb = CompressTrainer.newStudentBank(cpu, c.queueSize(), s.outputDim(), DType.F32, SEED)) {
            put(cpu, t, "teacher.", teacher.stateDict());
            put(cpu, t, "student.", s.stateDict());
            put(cpu, t, "student_key.", sk.stateDict());
            put(cpu, t, "student_1q.", s1.stateDict());
            t.put("compress.teacher_bank", tb.state().get("rows"));
            t.put("compress.student_bank", sb.state().get("rows"));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("description", "inputs of the training-parity fixtures (TrainingParitySetup.main): the loader's views, "
                + "our initial weights and banks; scripts/training_parity_torch.py runs the official loops from here");
        meta.put("steps", String.valueOf(STEPS));
        meta.put("per_epoch", String.valueOf(PER_EPOCH));
        meta.put("epochs", String.valueOf(EPOCHS));
        meta.put("moco", String.format(java.util.Locale.ROOT, "{\"lr\": %s, \"tau\": %s, \"m\": %s, \"width\": %d, \"head_dim\": %d}",
                MOCO.lr(), MOCO.tau(), MOCO.momentum(), STUDENT.baseWidth(), MOCO.headDim()));
        meta.put("compress", String.format(java.util.Locale.ROOT,
                "{\"lr\": %s, \"tau\": %s, \"m\": %s, \"milestones\": [2, 3], \"gamma\": 0.2, \"student_width\": %d, \"teacher_width\": %d}",
                c.lr(), c.tau(), c.momentum(), STUDENT.baseWidth(), TEACHER.baseWidth()));
        meta.put("sgd", "{\"momentum\": 0.9, \"weight_decay\": 0.0001}");
        Safetensors.write(out, t, meta);
        System.out.println("wrote " + out + " (" + t.size() + " tensors)");
    }

    /**
     * Draws gamma of the last BN of every residual branch (layerN.M.bn2.weight) from [0.1, 0.4), as trained ResNets have
     * it and as scripts/make_torch_fixtures.py (randomise_bn) does. With torchvision's gamma = 1 the residual stream of a
     * fresh narrow ResNet grows block after block, a batch's embeddings collapse onto one direction, and train-mode BN
     * and the L2 normalisation then divide nearly cancelling differences: PyTorch's own fp32 and fp64 runs of these loops
     * drifted apart to 1e-2 .. 1 (relative) within 20 steps, where no tolerance could tell a wrong loop from rounding.
     */
    static Network condition(Network net, long seed) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        net.namedParameters().forEach((name, p) -> {
            if (name.matches("layer\\d+\\.\\d+\\.bn2\\.weight")) {
                float[] v = p.value().cpuStorage().f32();
                for (int i = 0; i < v.length; i++) v[i] = (float) (0.1 + 0.3 * random.nextDouble());
            }
        });
        return net;
    }

    /**
     * Gives the teacher BN running statistics of the data, as a trained teacher has (30 train-mode forwards over the
     * batches; BN momentum 0.1 leaves 4% of the initial 0 / 1). With the initial statistics the eval-mode teacher does not
     * centre its activations and its embeddings of a batch have mean cosine 0.98; the teacher bank is then 36 nearly equal
     * rows, the KL gradient a sum of nearly cancelling terms, and PyTorch's own 1q run parts from fp64 by 2e-2 (median,
     * momentum buffers) in 20 steps. Calibrated: cosine 0.85, and 2e-6.
     */
    static Network calibrate(Network teacher, float[][][] batches) {
        teacher.train();
        for (int i = 0; i < 30; i++) {
            try (Tensor x = Tensor.cpu(batches[i % STEPS][0], BATCH, 1, SIZE, SIZE)) {
                teacher.embed(x);
            }
        }
        teacher.eval();
        return teacher;
    }

    private static Tensor stack(float[][][] views, int v) {
        int per = views[0][v].length;
        float[] all = new float[views.length * per];
        for (int s = 0; s < views.length; s++) System.arraycopy(views[s][v], 0, all, s * per, per);
        return Tensor.cpu(all, views.length, BATCH, 1, SIZE, SIZE);
    }

    /** Host copies: the networks (and their tensors) are closed before the file is written. */
    private static void put(Backend backend, Map<String, Tensor> out, String prefix, Map<String, Tensor> state) {
        state.forEach((k, v) -> out.put(prefix + k, backend.download(v)));
    }
}
