// One rank of the multi-process tests (and the in-process single-rank reference): CompRess-2q on 192 Fashion-MNIST
// images with tiny BN-free MLPs (no batch norm, so a rank's forward pass does not depend on the other ranks' samples
// and a sharded run can equal the single-process one), through the real CompressTrainer with a DistributedContext.
// Variant: ResNet-18 students with synchronised BN instead, on uniform-noise images (SyncBnResNetTest).
// Writes <out>/rank-R/ (its run directory, rank 0's with the epoch checkpoints) and <out>/final-rank-R.safetensors.
// Faults for the failure tests (COMPRESS_TEST_FAULT=halt:RANK:IMAGES or hang:RANK:IMAGES): that rank's data set halts
// the JVM (as kill -9 would) or blocks forever once it has read IMAGES images; halt-rendezvous:RANK halts that rank
// as soon as it has joined the rendezvous store, before the collectives are set up.
package org.compress.engine.dist;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.datasets.IdxDataset;
import org.compress.engine.data.datasets.SubsetDataset;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.io.Safetensors;
import org.compress.engine.nn.Flatten;
import org.compress.engine.nn.Init;
import org.compress.engine.nn.Linear;
import org.compress.engine.nn.ReLU;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.train.CompressTrainer;
import org.compress.engine.train.RunDirectory;
import org.compress.engine.train.SmallImageRecipes;
import org.compress.engine.train.TrainConfig;

public final class DistWorker {
    static final int IMAGES = 192, QUEUE = 96;

    /** 784 -> hidden -> out with a ReLU between: no batch norm. */
    static final class Mlp extends Network {
        Mlp(Backend backend, int hidden, int out, long seed) {
            super(backend);
            Init init = new Init(seed);
            trunk("flatten", new Flatten(backend));
            trunk("fc1", new Linear(backend, init, 28 * 28, hidden, true));
            trunk("relu", new ReLU(backend));
            trunk("fc2", new Linear(backend, init, hidden, out, true));
            embeddingDim(out);
        }
    }

    /** What a test trains: BN-free MLPs on Fashion-MNIST at lr 0.5 (the default), or ResNet-18s with synchronised BN. */
    record Variant(boolean resnet, boolean noiseImages, double lr) {
        static final Variant MLP = new Variant(false, false, 0.5);
    }

    static TrainConfig.Compress config(int epochs, int globalBatch, double lr) {
        return new TrainConfig.Compress("2q", epochs, globalBatch, lr, QUEUE, 0.04f, 0.9, "F32", "UNFUSED", true, 1, false, "cosine");
    }

    static Dataset data(String fault, int rank, boolean noise) {
        Dataset d0 = SubsetDataset.firstN(IdxDataset.openSplit(Path.of("/usr/share/datasets/fashion-mnist"), "train"), IMAGES);
        Dataset d = !noise ? d0 : new Dataset() {
            @Override public int size() { return IMAGES; }
            @Override public int numClasses() { return 10; }
            @Override public int label(int i) { return i % 10; }
            @Override public String source(int i) { return "noise#" + i; }
            @Override public U8Image image(int i) {
                byte[] px = new byte[28 * 28];
                new java.util.SplittableRandom(i).nextBytes(px);
                return new U8Image(28, 28, 1, px);
            }
        };
        if (fault == null || fault.isBlank()) return d;
        String[] f = fault.split(":");
        if (Integer.parseInt(f[1]) != rank) return d;
        int after = Integer.parseInt(f[2]);
        AtomicInteger reads = new AtomicInteger();
        return new Dataset() {
            @Override public int size() { return d.size(); }
            @Override public int numClasses() { return d.numClasses(); }
            @Override public int label(int i) { return d.label(i); }
            @Override public String source(int i) { return d.source(i); }
            @Override public U8Image image(int i) {
                if (reads.incrementAndGet() > after) {
                    if (f[0].equals("halt")) Runtime.getRuntime().halt(137);
                    try {
                        Thread.sleep(Long.MAX_VALUE);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return d.image(i);
            }
        };
    }

    /** Trains this rank; returns the final student and key state (host tensors). */
    static Map<String, Tensor> train(Backend cpu, DistributedContext dist, Path out, int epochs, int globalBatch, String fault) {
        return train(cpu, dist, out, epochs, globalBatch, fault, Variant.MLP, null);
    }

    static Map<String, Tensor> train(Backend cpu, DistributedContext dist, Path out, int epochs, int globalBatch, String fault, Variant v) {
        return train(cpu, dist, out, epochs, globalBatch, fault, v, null);
    }

    /** resume: an epoch checkpoint (of a run at any world size) to continue from, or null. */
    static Map<String, Tensor> train(Backend cpu, DistributedContext dist, Path out, int epochs, int globalBatch, String fault, Variant v,
                                     Path resume) {
        // every rank builds its networks from its own seed: the reducer must make them rank 0's before training
        long init = 100 + 17L * dist.rank();
        Network teacher = new Mlp(cpu, 32, 16, 1), student = new Mlp(cpu, 24, 16, init), key = new Mlp(cpu, 24, 16, init + 1);
        if (v.resnet()) {
            var m = new TrainConfig.Model("resnet18", 4, true, null, "torchvision");
            student = org.compress.engine.train.Models.build(cpu, m, 1, org.compress.engine.nn.models.Head.none(), init);
            key = org.compress.engine.train.Models.build(cpu, m, 1, org.compress.engine.nn.models.Head.none(), init + 1);
            dist.syncBatchNorm(student);
            dist.syncBatchNorm(key);
        }
        try (RunDirectory run = new RunDirectory(out.resolve("rank-" + dist.rank()), Map.of("worldSize", dist.worldSize()))) {
            CompressTrainer.train(cpu, teacher, null, student, key, data(fault, dist.rank(), v.noiseImages()), SmallImageRecipes.compress(1, 28, Normalize.FASHION_MNIST),
                    config(epochs, globalBatch, v.lr()), 1, 5, run, resume, dist);
        }
        Map<String, Tensor> state = new LinkedHashMap<>();
        student.stateDict().forEach((k, t) -> state.put("student." + k, t));
        key.stateDict().forEach((k, t) -> state.put("key." + k, t));
        return state;
    }

    /** args: OUT EPOCHS GLOBAL_BATCH [RESUME_CHECKPOINT]; the rank comes from the environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT). */
    public static void main(String[] args) {
        Path out = Path.of(args[0]);
        String fault = System.getenv("COMPRESS_TEST_FAULT");
        if (fault != null && fault.startsWith("halt-rendezvous:")) {
            DistEnv env = DistEnv.fromEnvironment();
            if (env.rank() == Integer.parseInt(fault.substring("halt-rendezvous:".length()))) {
                TcpStore.open(env.masterAddr(), env.masterPort(), env.rank(), env.timeout());   // joined the store, no collectives yet
                Runtime.getRuntime().halt(137);
            }
        }
        try (Backend cpu = new CpuBackend(); DistributedContext dist = DistributedContext.init(DistEnv.fromEnvironment(), cpu)) {
            Map<String, Tensor> state = train(cpu, dist, out, Integer.parseInt(args[1]), Integer.parseInt(args[2]), System.getenv("COMPRESS_TEST_FAULT"),
                    Variant.MLP, args.length > 3 ? Path.of(args[3]) : null);
            Safetensors.write(out.resolve("final-rank-" + dist.rank() + ".safetensors"), state);
            dist.finish();
        } catch (RuntimeException e) {
            System.err.println("error: " + e.getMessage());
            System.err.flush();
            System.exit(1);
        }
    }
}
