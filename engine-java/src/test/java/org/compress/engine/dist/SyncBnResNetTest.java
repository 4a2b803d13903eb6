// A ResNet-18 (base width 4) with synchronised batch norm on 2 ranks (threads): one forward/backward on a rank's half
// of a batch, then the bucketed gradient all-reduce (small buckets, so most start during backward), gives the
// single-process gradients of the whole batch. Tolerance per tensor: |a - e| <= 1e-5 max|e| + 1e-4 |e|. A weight
// gradient is a float sum over N*H*W products whose terms cancel; reassociating it (per-rank partial sums) errs by
// about eps * sum|terms|, which scales with the tensor's magnitude, not with the (possibly tiny) element.
package org.compress.engine.dist;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.nn.Parameter;
import org.compress.engine.nn.models.ModelConfig;
import org.compress.engine.nn.models.ResNet;
import org.compress.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;

class SyncBnResNetTest {
    @Test void gradientsOfTheGlobalBatch() throws Exception {
        int world = 2, b = 3, n = world * b, pix = 28 * 28;
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
        float[] x = new float[n * pix];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        Backend cpu = new CpuBackend();
        ResNet ref = ResNet.resnet18(cpu, ModelConfig.smallImages(1).withBaseWidth(4));
        ref.train();
        Tensor out = ref.forward(cpu.upload(x, n, 1, 28, 28));
        int d = out.dim(1);
        float[] dy = new float[n * d];
        for (int i = 0; i < dy.length; i++) dy[i] = (float) Math.sin(i) / n;   // gradient of a mean over the n images
        ref.backward(cpu.upload(dy, n, d));
        Map<String, float[]> refGrads = new java.util.LinkedHashMap<>();
        ref.namedParameters().forEach((k, p) -> refGrads.put(k, cpu.toFloatArray(p.grad())));

        List<Map<String, float[]>> got = InProcessRanks.run(world, (dist, be) -> {
            ResNet net = ResNet.resnet18(be, ModelConfig.smallImages(1).withBaseWidth(4));
            net.train();
            dist.syncBatchNorm(net);
            int r = dist.rank();
            float[] xl = new float[b * pix], dyl = new float[b * d];
            for (int j = 0; j < b; j++) {                       // rank r's row j is global row j * world + r
                System.arraycopy(x, (j * world + r) * pix, xl, j * pix, pix);
                for (int k = 0; k < d; k++) dyl[j * d + k] = dy[(j * world + r) * d + k] * world;   // the local mean's gradient
            }
            try (GradientReducer g = dist.gradientReducer(net, 4096)) {
                for (int step = 0; step < 2; step++) {          // the first backward records the order; the second overlaps
                    net.forward(be.upload(xl, b, 1, 28, 28));
                    net.backward(be.upload(dyl, b, d));
                    g.finish();
                }
                assertTrue(g.bucketCount() > 5 && g.overlapFraction() >= 0.45, "buckets " + g.bucketCount() + ", overlapped " + g.overlapFraction());
            }
            Map<String, float[]> grads = new java.util.LinkedHashMap<>();
            net.namedParameters().forEach((k, p) -> grads.put(k, be.toFloatArray(p.grad())));
            return grads;
        });
        double worst = 0;
        String where = "";
        for (String k : refGrads.keySet()) {
            float[] a = got.get(0).get(k), e = refGrads.get(k);
            double scale = 0;
            for (float v : e) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < e.length; i++) {
                double used = Math.abs(a[i] - e[i]) / (1e-5 * scale + 1e-4 * Math.abs(e[i]));
                if (used > worst) { worst = used; where = k + "[" + i + "] " + a[i] + " vs " + e[i]; }
            }
        }
        System.out.println("worst " + worst + " at " + where);
        assertTrue(worst <= 1, where);
    }
    /**
     * Eight CompRess-2q steps of ResNet-18 students with synchronised BN, 2 ranks (threads) against one process: the
     * losses agree within 2e-4 relative (measured: 3e-5 at worst). On uniform-noise images: on Fashion-MNIST the
     * runs part from the second step at any learning rate > 0 (1e-2 relative by step 4; at learning rate 0 they agree
     * to 1e-7), as one process parts from itself when only the order of its float sums changes (a one-ulp change of
     * the weights flips a ReLU of the last block there and moves every gradient by 0.5 .. 4 %). train.SyncBnDriftTest
     * measures it and bounds the 2-rank run by reordered single-process runs step by step.
     */
    @Test void trainingMatchesOneProcessOnNoiseImages(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        DistWorker.Variant v = new DistWorker.Variant(true, true, 0.02);
        java.nio.file.Path single = dir.resolve("single");
        try (Backend cpu = new CpuBackend(); DistributedContext one = DistributedContext.single(cpu)) {
            DistWorker.train(cpu, one, single, 2, 48, null, v);
        }
        InProcessRanks.run(2, (dist, be) -> DistWorker.train(be, dist, dir.resolve("two"), 2, 48, null, v));
        List<Double> a = MultiProcessTrainingTest.losses(single.resolve("rank-0")), b = MultiProcessTrainingTest.losses(dir.resolve("two/rank-0"));
        assertTrue(a.size() == 8 && b.size() == 8, a + " / " + b);
        for (int i = 0; i < a.size(); i++) {
            assertTrue(Math.abs(a.get(i) - b.get(i)) <= 2e-4 * Math.abs(a.get(i)), "step " + i + ": " + b + " vs one process " + a);
        }
    }
}
