// Gloo collectives and the distributed context on ranks that are threads of this JVM: exact results for small
// integers, the global-batch order of gathered rows, synchronised batch norm against the single-process op,
// and the checks that must refuse (diverged replicas, mismatched configurations).
package org.compress.engine.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.ExecutionException;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;

class CollectivesTest {
    @Test void allReduceAllGatherAndBroadcastAreExactOnSmallIntegers() throws Exception {
        int world = 3;
        List<float[][]> results = InProcessRanks.run(world, (dist, cpu) -> {
            int r = dist.rank();
            float[] v = new float[1001];                     // odd length: Gloo's ring splits it unevenly
            for (int i = 0; i < v.length; i++) v[i] = (i % 7) + 10 * r;
            Tensor t = cpu.upload(v, v.length);
            dist.collectives().allReduceSum(t);
            Tensor rows = cpu.upload(new float[] {r, r + 0.5f, 100 + r, 100.5f + r}, 2, 2);   // 2 local rows
            Tensor global = dist.gatherRows(rows);
            Tensor b = cpu.upload(new float[] {r + 1, r + 2}, 2);
            dist.collectives().broadcast(b, 2);
            return new float[][] {cpu.toFloatArray(t), cpu.toFloatArray(global), cpu.toFloatArray(b)};
        });
        for (int r = 0; r < world; r++) {
            float[][] res = results.get(r);
            for (int i = 0; i < 1001; i++) assertEquals(3 * (i % 7) + 30, res[0][i], "all-reduce element " + i + " on rank " + r);
            // global row j * world + rank is rank's row j
            assertArrayEquals(new float[] {0, 0.5f, 1, 1.5f, 2, 2.5f, 100, 100.5f, 101, 101.5f, 102, 102.5f}, res[1], "gathered rows, rank " + r);
            assertArrayEquals(new float[] {3, 4}, res[2], "broadcast from rank 2");
        }
    }

    @Test void syncBatchNormEqualsBatchNormOverTheGlobalBatch() throws Exception {
        int world = 2, n = 3, c = 4, h = 5, w = 3;           // 3 images per rank, 6 in all
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        float[] x = new float[world * n * c * h * w], dy = new float[x.length], gamma = {1f, 0.5f, -2f, 3f}, beta = {0f, 1f, -1f, 0.25f};
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * 2 + 1);
            dy[i] = (float) rnd.nextGaussian();
        }
        // the reference: the backend's op over all 6 images; the gradient of the mean of the ranks' losses is dy / world
        Backend cpu = new CpuBackend();
        int per = n * c * h * w;
        Tensor rm = cpu.zeros(DType.F32, c), rv = cpu.upload(new float[] {1, 1, 1, 1}, c), sm = cpu.empty(DType.F32, c), si = cpu.empty(DType.F32, c);
        Tensor xt = cpu.upload(x, world * n, c, h, w), y = cpu.empty(DType.F32, world * n, c, h, w);
        cpu.batchNorm().forwardTraining(xt, cpu.upload(gamma, c), cpu.upload(beta, c), rm, rv, 0.1f, 1e-5f, y, sm, si);
        float[] dyGlobal = new float[dy.length];
        for (int i = 0; i < dy.length; i++) dyGlobal[i] = dy[i] / world;
        Tensor dx = cpu.empty(DType.F32, world * n, c, h, w), dg = cpu.empty(DType.F32, c), db = cpu.empty(DType.F32, c);
        cpu.batchNorm().backward(xt, cpu.upload(dyGlobal, world * n, c, h, w), cpu.upload(gamma, c), sm, si, 1e-5f, dx, dg, db);
        float[] yRef = cpu.toFloatArray(y), dxRef = cpu.toFloatArray(dx), dgRef = cpu.toFloatArray(dg), rvRef = cpu.toFloatArray(rv);

        List<float[][]> results = InProcessRanks.run(world, (dist, be) -> {
            int r = dist.rank();
            SyncBatchNorm op = new SyncBatchNorm(dist);
            Tensor xl = be.upload(java.util.Arrays.copyOfRange(x, r * per, (r + 1) * per), n, c, h, w), yl = be.empty(DType.F32, n, c, h, w);
            Tensor lrm = be.zeros(DType.F32, c), lrv = be.upload(new float[] {1, 1, 1, 1}, c), lsm = be.empty(DType.F32, c), lsi = be.empty(DType.F32, c);
            op.forwardTraining(xl, be.upload(gamma, c), be.upload(beta, c), lrm, lrv, 0.1f, 1e-5f, yl, lsm, lsi);
            Tensor dxl = be.empty(DType.F32, n, c, h, w), dgl = be.empty(DType.F32, c), dbl = be.empty(DType.F32, c);
            op.backward(xl, be.upload(java.util.Arrays.copyOfRange(dy, r * per, (r + 1) * per), n, c, h, w), be.upload(gamma, c), lsm, lsi, 1e-5f,
                    dxl, dgl, dbl);
            float[] dg2 = be.toFloatArray(dgl);
            return new float[][] {be.toFloatArray(yl), be.toFloatArray(dxl), dist.allReduceSum(dg2), be.toFloatArray(lrv)};
        });
        // tolerance: float32 sums of per-rank statistics instead of one double sum; |d| <= 1e-5 + 1e-4 |ref|
        for (int r = 0; r < world; r++) {
            float[][] res = results.get(r);
            for (int i = 0; i < per; i++) {
                close(yRef[r * per + i], res[0][i], "y");
                close(dxRef[r * per + i] * world, res[1][i], "dx (the local loss's gradient: world x the global one)");
            }
            for (int ch = 0; ch < c; ch++) {
                close(dgRef[ch] * world, res[2][ch], "sum over ranks of dGamma (the gradient all-reduce then divides by world)");
                close(rvRef[ch], res[3][ch], "running variance");
            }
        }
    }

    @Test void syncBatchNormGivesTheSameBitsInNhwcAsInNchw() throws Exception {
        // the fast CPU backend's networks are CHANNELS_LAST: the synchronised op visits each channel's values in the same
        // order in both layouts, so y, dx, dGamma, dBeta and the running statistics must be bitwise equal
        int n = 3, c = 5, h = 4, w = 6, per = n * c * h * w;
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
        float[] x = new float[2 * per], dy = new float[2 * per], gamma = {1f, 0.5f, -2f, 3f, 0.75f}, beta = {0f, 1f, -1f, 0.25f, 2f};
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * 2 + 1);
            dy[i] = (float) rnd.nextGaussian();
        }
        List<float[][]> results = InProcessRanks.run(2, (dist, be) -> {
            int r = dist.rank();
            float[][] out = new float[12][];
            int k = 0;
            for (org.compress.engine.tensor.MemoryFormat f : new org.compress.engine.tensor.MemoryFormat[] {
                    org.compress.engine.tensor.MemoryFormat.CONTIGUOUS, org.compress.engine.tensor.MemoryFormat.CHANNELS_LAST}) {
                SyncBatchNorm op = new SyncBatchNorm(dist);
                Tensor xl = layout(be, java.util.Arrays.copyOfRange(x, r * per, (r + 1) * per), f, n, c, h, w);
                Tensor dyl = layout(be, java.util.Arrays.copyOfRange(dy, r * per, (r + 1) * per), f, n, c, h, w);
                Tensor yl = be.empty(DType.F32, f, n, c, h, w), dxl = be.empty(DType.F32, f, n, c, h, w);
                Tensor rm = be.zeros(DType.F32, c), rv = be.upload(new float[] {1, 1, 1, 1, 1}, c), sm = be.empty(DType.F32, c), si = be.empty(DType.F32, c);
                Tensor dg = be.empty(DType.F32, c), db = be.empty(DType.F32, c);
                op.forwardTraining(xl, be.upload(gamma, c), be.upload(beta, c), rm, rv, 0.1f, 1e-5f, yl, sm, si);
                op.backward(xl, dyl, be.upload(gamma, c), sm, si, 1e-5f, dxl, dg, db);
                out[k++] = nchw(be, yl);
                out[k++] = nchw(be, dxl);
                out[k++] = be.toFloatArray(dg);
                out[k++] = be.toFloatArray(db);
                out[k++] = be.toFloatArray(rm);
                out[k++] = be.toFloatArray(rv);
            }
            return out;
        });
        String[] names = {"y", "dx", "dGamma", "dBeta", "running mean", "running var"};
        for (float[][] res : results) {
            for (int i = 0; i < 6; i++) org.junit.jupiter.api.Assertions.assertArrayEquals(res[i], res[i + 6], names[i] + ": NHWC vs NCHW");
        }
    }

    static Tensor layout(Backend be, float[] nchwData, org.compress.engine.tensor.MemoryFormat f, int... shape) {
        Tensor t = be.upload(nchwData, shape);
        if (f == org.compress.engine.tensor.MemoryFormat.CONTIGUOUS) return t;
        Tensor out = be.empty(DType.F32, f, shape);
        be.convert().convert(t, out);
        return out;
    }

    static float[] nchw(Backend be, Tensor t) {
        if (t.format() == org.compress.engine.tensor.MemoryFormat.CONTIGUOUS) return be.toFloatArray(t);
        Tensor out = be.empty(DType.F32, t.shape());
        be.convert().convert(t, out);
        return be.toFloatArray(out);
    }

    static void close(float ref, float actual, String what) {
        assertTrue(Math.abs(actual - ref) <= 1e-5 + 1e-4 * Math.abs(ref), what + ": " + actual + " vs " + ref);
    }

    @Test void divergedReplicasAndMismatchedConfigurationsAreRefusedNamingTheRank() throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class, () -> InProcessRanks.run(2, (dist, cpu) -> {
            dist.verifyIdentical("teacher bank", cpu.upload(new float[] {1, 2, dist.rank() == 1 ? 3.5f : 3f}, 3));
            return null;
        }));
        assertTrue(e.getCause().getMessage().contains("teacher bank diverged across ranks: ranks [1]"), e.getCause().getMessage());
        List<Object> same = InProcessRanks.run(2, (dist, cpu) -> {
            dist.verifyIdentical("teacher bank", cpu.upload(new float[] {1, 2, 3}, 3));
            dist.checkSameConfiguration("the configuration", "{\"batch\":64}");
            return null;
        });
        assertEquals(2, same.size());
        e = assertThrows(ExecutionException.class, () -> InProcessRanks.run(2, (dist, cpu) -> {
            dist.checkSameConfiguration("the configuration", "{\"batch\":" + (dist.rank() == 0 ? 64 : 32) + "}");
            return null;
        }));
        assertTrue(e.getCause().getMessage().contains("the configuration differs between rank"), e.getCause().getMessage());
        assertTrue(e.getCause().getMessage().contains("start every rank with the same options"), e.getCause().getMessage());
    }
}
