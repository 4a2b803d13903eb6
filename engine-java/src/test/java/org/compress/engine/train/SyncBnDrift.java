// CompRess-2q steps of ResNet-18 students with synchronised BN (the set-up of dist.DistWorker's ResNet variant: BN-free
// MLP teacher, base width 4, global batch 48, queue 96, tau 0.04, EMA 0.9) driven through CompressTrainer.step on fixed
// global batches, one process or W ranks (threads), with the whole state recorded after every step, so that two runs can
// be compared tensor by tensor: the loss, the gradients (after the all-reduce), the student's and key's weights and BN
// running statistics, both banks. For SyncBnDriftTest and for measuring how one process parts from itself.
package org.compress.engine.train;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.datasets.IdxDataset;
import org.compress.engine.data.datasets.SubsetDataset;
import org.compress.engine.data.loader.Batch;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.dist.DistEnv;
import org.compress.engine.dist.DistributedContext;
import org.compress.engine.dist.GradientReducer;
import org.compress.engine.loss.CompressLoss;
import org.compress.engine.loss.MemoryBank;
import org.compress.engine.nn.Flatten;
import org.compress.engine.nn.Init;
import org.compress.engine.nn.Linear;
import org.compress.engine.nn.ReLU;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.compress.engine.ops.LossPath;
import org.compress.engine.optim.MomentumEncoder;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class SyncBnDrift {
    static final int IMAGES = 192, QUEUE = 96, SIZE = 28;
    static final long SEED = 5;
    static final TrainConfig.Model STUDENT = new TrainConfig.Model("resnet18", 4, true, null, "torchvision");

    private SyncBnDrift() {}

    /** The state after one step, on the host (rank 0's for a distributed run). */
    record Snapshot(double loss, Map<String, float[]> tensors) {}

    /**
     * How a one-process run departs from the plain one: nothing; every student weight moved by one ulp (a random sign
     * per element); or each batch's rows in another order (reversed, or rotated by 17), the same training in exact
     * arithmetic: the loss is a mean over the rows, BN sums over them, and the banks hold the same rows (a batch fills
     * one 48-row segment of the 96-row queues, permuted, and is put back in order in the snapshot), so only the order
     * of the float sums differs.
     */
    enum Perturbation {
        NONE, ONE_ULP, REVERSED_ROWS, ROTATED_ROWS;

        /** Row j of the batch a run sees is row source(j, b) of the global batch. */
        int source(int j, int b) {
            return switch (this) {
                case REVERSED_ROWS -> b - 1 - j;
                case ROTATED_ROWS -> (j + 17) % b;
                default -> j;
            };
        }
    }

    /** 784 -> 32 -> 16 with a ReLU between (DistWorker's teacher): no batch norm. */
    static final class Mlp extends Network {
        Mlp(Backend backend, int hidden, int out, long seed) {
            super(backend);
            Init init = new Init(seed);
            trunk("flatten", new Flatten(backend));
            trunk("fc1", new Linear(backend, init, SIZE * SIZE, hidden, true));
            trunk("relu", new ReLU(backend));
            trunk("fc2", new Linear(backend, init, hidden, out, true));
            embeddingDim(out);
        }
    }

    /** steps global batches (batch, 1, 28, 28) of the first 192 Fashion-MNIST images through the trainer's loader and view. */
    static float[][] batches(int steps, int batch, boolean noise) {
        Dataset fashion = SubsetDataset.firstN(IdxDataset.openSplit(java.nio.file.Path.of("/usr/share/datasets/fashion-mnist"), "train"), IMAGES);
        Dataset data = !noise ? fashion : new Dataset() {
            @Override public int size() { return IMAGES; }
            @Override public int numClasses() { return 10; }
            @Override public int label(int i) { return i % 10; }
            @Override public String source(int i) { return "noise#" + i; }
            @Override public org.compress.engine.data.image.U8Image image(int i) {
                byte[] px = new byte[SIZE * SIZE];
                new java.util.SplittableRandom(i).nextBytes(px);
                return new org.compress.engine.data.image.U8Image(SIZE, SIZE, 1, px);
            }
        };
        LoaderConfig cfg = LoaderConfig.of(batch).workers(1).seed(SEED).dropLast(true);
        float[][] out = new float[steps][];
        try (DataLoader loader = new DataLoader(data, SmallImageRecipes.compress(1, SIZE, Normalize.FASHION_MNIST), cfg)) {
            int s = 0;
            for (int e = 0; s < steps; e++) {
                try (DataLoader.Epoch it = loader.epoch(e)) {
                    while (it.hasNext() && s < steps) {
                        try (Batch b = it.next()) {
                            out[s++] = b.viewData(0).clone();
                        }
                    }
                }
            }
        }
        return out;
    }

    /** One process (dist single) or this rank of a run: trains on rank r's rows j * W + r of each global batch. */
    static List<Snapshot> train(Backend cpu, DistributedContext dist, float[][] global, int batch, double[] lr, Perturbation perturbation) {
        int w = dist.worldSize(), r = dist.rank(), b = batch / w, pix = SIZE * SIZE;
        List<Snapshot> out = new ArrayList<>();
        try (Network teacher = new Mlp(cpu, 32, 16, 1);
             Network student = Models.build(cpu, STUDENT, 1, Head.none(), 100);
             Network key = Models.build(cpu, STUDENT, 1, Head.none(), 101)) {
            dist.syncBatchNorm(student);
            dist.syncBatchNorm(key);
            if (perturbation == Perturbation.ONE_ULP) {
                java.util.SplittableRandom rnd = new java.util.SplittableRandom(9);
                student.namedParameters().forEach((name, p) -> {
                    float[] v = p.value().cpuStorage().f32();
                    int o = (int) p.value().offset();
                    for (int i = 0; i < p.numel(); i++) v[o + i] = rnd.nextBoolean() ? Math.nextUp(v[o + i]) : Math.nextDown(v[o + i]);
                });
            }
            teacher.eval();
            student.train();
            key.train();
            try (MemoryBank tb = CompressTrainer.newTeacherBank(cpu, QUEUE, teacher.embeddingDim(), DType.F32, SEED);
                 MemoryBank sb = CompressTrainer.newStudentBank(cpu, QUEUE, student.outputDim(), DType.F32, SEED);
                 CompressLoss loss = new CompressLoss(cpu, new CompressLoss.Config(0.04f, LossPath.UNFUSED, true));
                 Sgd sgd = new Sgd(cpu, student.namedParameters(), Sgd.Options.compress());
                 GradientReducer gradients = dist.gradientReducer(student);
                 MomentumEncoder momentum = new MomentumEncoder(cpu, student, key, 0.9)) {
                for (float[] g : global) {
                    double stepLr = lr[out.size()];
                    float[] x = new float[b * pix];
                    for (int j = 0; j < b; j++) {
                        int row = perturbation.source(j, b);
                        System.arraycopy(g, (row * w + r) * pix, x, j * pix, pix);
                    }
                    try (Tensor xt = cpu.upload(x, b, 1, SIZE, SIZE)) {
                        CompressLoss.Result res = CompressTrainer.step(CompressTrainer.Method.TWO_QUEUES, teacher, null, student, key, momentum,
                                loss, tb, sb, sgd, xt, 0, null, stepLr, dist, gradients);
                        double l = dist.mean(cpu.toFloatArray(res.lossMean())[0]);
                        Map<String, float[]> t = new LinkedHashMap<>();
                        student.namedParameters().forEach((k, p) -> t.put("grad." + k, cpu.toFloatArray(p.grad())));
                        student.stateDict().forEach((k, v) -> t.put("student." + k, floats(cpu, v)));
                        key.stateDict().forEach((k, v) -> t.put("key." + k, floats(cpu, v)));
                        t.put("bank.teacher", inOrder(cpu.toFloatArray(tb.rows()), batch, out.size() + 1, perturbation));
                        t.put("bank.student", inOrder(cpu.toFloatArray(sb.rows()), batch, out.size() + 1, perturbation));
                        out.add(new Snapshot(l, t));
                    }
                }
            }
        }
        return out;
    }

    /** The bank rows with each permuted batch segment written in the first steps put back in batch order. */
    private static float[] inOrder(float[] rows, int batch, int steps, Perturbation p) {
        if (p == Perturbation.NONE || p == Perturbation.ONE_ULP) return rows;
        if (QUEUE % batch != 0) throw new IllegalArgumentException("reversed rows: the queue must hold whole batches");
        int d = rows.length / QUEUE, segments = QUEUE / batch;
        float[] out = rows.clone();
        for (int seg = 0; seg < Math.min(steps, segments); seg++) {
            for (int j = 0; j < batch; j++) System.arraycopy(rows, (seg * batch + j) * d, out, (seg * batch + p.source(j, batch)) * d, d);
        }
        return out;
    }

    private static float[] floats(Backend cpu, Tensor t) {
        if (t.dtype() == DType.F32) return cpu.toFloatArray(t);
        long[] v = t.cpuStorage().i64();
        float[] f = new float[(int) t.numel()];
        for (int i = 0; i < f.length; i++) f[i] = v[(int) t.offset() + i];
        return f;
    }

    static List<Snapshot> single(float[][] global, int batch, double[] lr, Perturbation p) {
        try (Backend cpu = new CpuBackend(); DistributedContext one = DistributedContext.single(cpu)) {
            return train(cpu, one, global, batch, lr, p);
        }
    }

    /** world ranks as threads of this JVM (Gloo over loopback); rank 0's snapshots. */
    static List<Snapshot> ranks(int world, float[][] global, int batch, double[] lr) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<List<Snapshot>>> fs = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                DistEnv env = new DistEnv(r, world, r, world, "127.0.0.1", port, null, Duration.ofSeconds(30), "", "test threads", false);
                fs.add(pool.submit(() -> {
                    try (Backend cpu = new CpuBackend(); DistributedContext dist = DistributedContext.init(env, cpu)) {
                        List<Snapshot> s = train(cpu, dist, global, batch, lr, Perturbation.NONE);
                        dist.finish();
                        return s;
                    }
                }));
            }
            List<Snapshot> first = null;
            for (Future<List<Snapshot>> f : fs) {
                List<Snapshot> s = f.get(300, TimeUnit.SECONDS);
                if (first == null) first = s;
            }
            return first;
        } finally {
            pool.shutdownNow();
        }
    }

    /** The state compared, by tensor name: each group's distance is ||a - b|| / ||b|| over its tensors taken together. */
    enum Group {
        GRADIENTS("gradients"), STUDENT("student weights"), KEY("key weights"), RUNNING("BN running statistics"), STUDENT_BANK("student bank"),
        TEACHER_BANK("teacher bank");

        final String label;

        Group(String label) { this.label = label; }

        boolean holds(String name) {
            if (name.endsWith("num_batches_tracked")) return false;
            boolean running = name.contains("running_");
            return switch (this) {
                case GRADIENTS -> name.startsWith("grad.");
                case STUDENT -> name.startsWith("student.") && !running;
                case KEY -> name.startsWith("key.") && !running;
                case RUNNING -> running;
                case STUDENT_BANK -> name.equals("bank.student");
                case TEACHER_BANK -> name.equals("bank.teacher");
            };
        }
    }

    static double distance(Snapshot a, Snapshot b, Group g) {
        double d = 0, n = 0;
        for (Map.Entry<String, float[]> e : b.tensors().entrySet()) {
            if (!g.holds(e.getKey())) continue;
            float[] x = a.tensors().get(e.getKey()), y = e.getValue();
            for (int i = 0; i < y.length; i++) {
                d += (double) (x[i] - y[i]) * (x[i] - y[i]);
                n += (double) y[i] * y[i];
            }
        }
        return Math.sqrt(d / n);
    }
}
