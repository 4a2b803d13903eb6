// Data-parallel benchmark, one process per rank (start with bench/dist-bench.sh, or any launcher that sets RANK,
// WORLD_SIZE, MASTER_ADDR, MASTER_PORT):
//   allreduce  Gloo all-reduce (sum, F32) of 4 KiB .. 64 MiB: algorithm bandwidth bytes/time and bus bandwidth
//              algbw * 2(W-1)/W (the nccl-tests convention: what each link carries in a ring).
//   step       the CompRess-2q training step (ResNet-18 base width 8 teacher and student, Fashion-MNIST, global batch
//              64) through CompressTrainer: images/s of the global batch, median over steps 3..12.
// Rank 0 prints one JSON object per measurement.
package org.compress.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.data.datasets.IdxDataset;
import org.compress.engine.data.datasets.SubsetDataset;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.dist.DistEnv;
import org.compress.engine.dist.DistributedContext;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.train.CompressTrainer;
import org.compress.engine.train.Models;
import org.compress.engine.train.RunDirectory;
import org.compress.engine.train.SmallImageRecipes;
import org.compress.engine.train.TrainConfig;

public final class DistBench {
    private DistBench() {}

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "allreduce";
        DistEnv env = DistEnv.fromEnvironment();
        try (Backend cpu = new CpuBackend(); DistributedContext dist = DistributedContext.init(env, cpu)) {
            if (mode.equals("allreduce")) allReduce(cpu, dist);
            else step(cpu, dist);
            dist.finish();
        }
    }

    static void allReduce(Backend cpu, DistributedContext dist) {
        for (int floats = 1 << 10; floats <= 1 << 24; floats <<= 2) {
            try (Tensor t = cpu.zeros(DType.F32, floats)) {
                for (int i = 0; i < 3; i++) dist.collectives().allReduceSum(t);
                int iters = Math.max(3, (int) Math.min(200, (256L << 20) / (4L * floats)));
                dist.barrier();
                long start = System.nanoTime();
                for (int i = 0; i < iters; i++) dist.collectives().allReduceSum(t);
                double seconds = (System.nanoTime() - start) / 1e9 / iters;
                double bytes = 4.0 * floats, alg = bytes / seconds / 1e9, w = dist.worldSize();
                if (dist.isMaster()) {
                    System.out.printf(Locale.ROOT, "{\"bench\":\"allreduce\",\"world\":%d,\"bytes\":%d,\"ms\":%.4f,\"algbw_GBps\":%.4f,\"busbw_GBps\":%.4f}%n",
                            dist.worldSize(), (long) bytes, seconds * 1e3, alg, alg * 2 * (w - 1) / w);
                }
            }
        }
    }

    static void step(Backend cpu, DistributedContext dist) throws Exception {
        int batch = 64, steps = 12;
        var data = SubsetDataset.firstN(IdxDataset.openSplit(Path.of("/usr/share/datasets/fashion-mnist"), "train"), batch * steps);
        var model = new TrainConfig.Model("resnet18", 8, true, null, "torchvision");
        Network teacher = Models.build(cpu, model, 1, Head.none(), 1), student = Models.build(cpu, model, 1, Head.none(), 2),
                key = Models.build(cpu, model, 1, Head.none(), 3);
        var cfg = new TrainConfig.Compress("2q", 1, batch, 0.05, 1024, 0.04f, 0.999, "F32", "AUTO", false, 1, false, "cosine");
        Path dir = Files.createTempDirectory("dist-bench");
        List<Map<String, Object>> history;
        try (RunDirectory run = new RunDirectory(dir.resolve("rank-" + dist.rank()), Map.of())) {
            CompressTrainer.train(cpu, teacher, null, student, key, data, SmallImageRecipes.compress(1, 28, Normalize.FASHION_MNIST), cfg, 1, 5, run,
                    null, dist);
            history = run.history();
        }
        List<Double> rates = new ArrayList<>();
        for (Map<String, Object> r : history) {
            if (r.get("images_per_s") != null && ((Number) r.get("step")).intValue() >= 3) rates.add(((Number) r.get("images_per_s")).doubleValue());
        }
        rates.sort(Double::compare);
        if (dist.isMaster()) {
            System.out.printf(Locale.ROOT, "{\"bench\":\"step\",\"world\":%d,\"global_batch\":%d,\"images_per_s\":%.2f,\"steps_timed\":%d}%n",
                    dist.worldSize(), batch, rates.get(rates.size() / 2), rates.size());
        }
    }
}
