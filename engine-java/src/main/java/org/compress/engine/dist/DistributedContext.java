// What a trainer needs to run data-parallel, and nothing when it runs alone: DistributedContext.single() is a
// no-op (world size 1), so trainers take one unconditionally. With several ranks it owns the store, the
// collectives (Gloo on the CPU backend, NCCL on CUDA) and one communication thread that runs every collective
// in the order it was asked for, the same order on every rank, so gradient buckets can be reduced while the
// backward pass continues on the calling thread.
// A failed collective is rethrown with who caused it: the ranks that reported a failure, died (their store
// connection dropped) or did not answer within the timeout (hung).
package org.compress.engine.dist;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class DistributedContext implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DistributedContext.class);
    /** Default gradient bucket: 4 MiB of F32 (PyTorch uses 25 MB on GPUs; smaller buckets start earlier on CPUs). */
    public static final long DEFAULT_BUCKET_BYTES = 4L << 20;

    private final DistEnv env;
    private final Backend backend;
    private final Store store;
    private final Collectives collectives;
    private final ExecutorService comm;
    private final Map<String, Tensor> buffers = new HashMap<>();
    private final Map<String, int[]> orders = new HashMap<>();
    private long sequence;
    private boolean failed;
    private boolean finished;

    private DistributedContext(DistEnv env, Backend backend, Store store, Collectives collectives) {
        this.env = env;
        this.backend = backend;
        this.store = store;
        this.collectives = collectives;
        this.comm = env.isDistributed() ? Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "compress-comm-rank" + env.rank());
            t.setDaemon(true);
            return t;
        }) : null;
    }

    /** World size 1: every method is the identity or a no-op. */
    public static DistributedContext single(Backend backend) {
        return new DistributedContext(DistEnv.single(), backend, null, new SingleProcessCollectives(backend));
    }

    /** Joins the job {@code env} describes (blocks until every rank has joined, or the timeout). */
    public static DistributedContext init(DistEnv env, Backend backend) {
        if (!env.isDistributed()) return single(backend);
        if (!(backend instanceof CudaBackend)) GlooCollectives.load();   // a missing bridge fails every rank at once, before rendezvous
        Store store = env.storeFile() != null ? new FileStore(Path.of(env.storeFile()), env.timeout())
                : TcpStore.open(env.masterAddr(), env.masterPort(), env.rank(), env.timeout());
        try {
            Collectives c;
            if (backend instanceof CudaBackend cuda) {
                c = new NcclCollectives(cuda, env.rank(), env.worldSize(), store, env.timeout());
            } else {
                c = new GlooCollectives(env.rank(), env.worldSize(), store, glooHostname(env), env.socketInterface(), env.timeout());
            }
            DistributedContext ctx = new DistributedContext(env, backend, store, c);
            log.info("joined {} with {} collectives", env, c.name());
            return ctx;
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /** The address Gloo advertises: loopback for a loopback master, else this host's name (as torch's Gloo does). */
    private static String glooHostname(DistEnv env) {
        try {
            if (InetAddress.getByName(env.masterAddr()).isLoopbackAddress()) return "127.0.0.1";
            return InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            throw new DistException("rendezvous: cannot resolve this host's name for Gloo (" + e + "); set GLOO_SOCKET_IFNAME");
        }
    }

    public DistEnv env() { return env; }

    public int rank() { return env.rank(); }

    public int worldSize() { return env.worldSize(); }

    public boolean isMaster() { return env.isMaster(); }

    public boolean isDistributed() { return env.isDistributed(); }

    public Collectives collectives() { return collectives; }

    Backend backend() { return backend; }

    /**
     * This rank's loader: {@code global}'s batch size is the global batch, split evenly across ranks (a DistributedSampler
     * shard of the epoch order). Rank r's row j of a batch is the global batch's row j * worldSize + r.
     */
    public LoaderConfig shard(LoaderConfig global) {
        int w = worldSize();
        if (w == 1) return global;
        if (global.batchSize() % w != 0) {
            throw new DistException("the global batch size must be a multiple of the world size: found batch " + global.batchSize()
                    + " on " + w + " ranks");
        }
        return new LoaderConfig(global.batchSize() / w, global.workers(), global.prefetch(), global.seed(), global.shuffle(), global.dropLast(),
                rank(), w, global.onCorrupt(), global.logEverySeconds());
    }

    /** Gradient averaging for {@code net}'s parameters, reduced in buckets as its backward pass produces them. */
    public GradientReducer gradientReducer(Network net) { return gradientReducer(net, DEFAULT_BUCKET_BYTES); }

    public GradientReducer gradientReducer(Network net, long bucketBytes) { return new GradientReducer(this, backend, net, bucketBytes); }

    /**
     * The global batch's rows from every rank's {@code local} (b, d) rows: (b * worldSize, d) F32 in the order of the
     * single-process batch (row j * worldSize + r is rank r's row j). World size 1: {@code local} itself. The result
     * is a buffer owned by this context, valid until the next gather of the same shape.
     */
    public Tensor gatherRows(Tensor local) {
        int w = worldSize();
        if (w == 1) return local;
        int b = local.dim(0), d = local.rowLength();
        Tensor flat = local.reshape(b, d);
        Tensor byRank = buffer("byRank", b * w, d);
        Tensor global = buffer("global", b * w, d);
        run("all-gather", () -> collectives.allGather(flat, byRank));
        backend.elementwise().gatherRows(byRank, interleave(b, w), global);
        return global;
    }

    /** Every rank's {@code local} (the same length on every rank) concatenated in rank order, on the host. Not for a training step. */
    public float[] allGatherHost(float[] local) {
        if (worldSize() == 1) return local.clone();
        try (Tensor in = backend.upload(local, 1, local.length); Tensor out = backend.empty(DType.F32, worldSize(), local.length)) {
            run("all-gather", () -> collectives.allGather(in, out));
            return backend.toFloatArray(out);
        }
    }

    /** Element-wise sums of every rank's {@code values} (same length everywhere), returned in place. Small vectors (statistics). */
    public float[] allReduceSum(float[] values) {
        if (worldSize() == 1) return values;
        Tensor t = buffer("reduce", 1, values.length);
        if (t.device().isCuda()) {
            try (Tensor src = backend.upload(values, 1, values.length)) {
                backend.elementwise().copy(src, t);
            }
        } else {
            System.arraycopy(values, 0, t.cpuStorage().f32(), (int) t.offset(), values.length);
        }
        run("all-reduce", () -> collectives.allReduceSum(t));
        float[] sums = backend.toFloatArray(t);
        System.arraycopy(sums, 0, values, 0, values.length);
        return values;
    }

    /**
     * Sums of every rank's {@code values} in double precision, the same bits on every rank: each value travels as a float
     * pair (hi, lo = value - hi, ~48 bits together) in an all-gather and the ranks' pairs are added in rank order.
     * For statistics whose sums cancel (batch norm's sum of dy), where float sums would lose digits.
     */
    public double[] allReduceSumPrecise(double[] values) {
        if (worldSize() == 1) return values.clone();
        int k = values.length;
        Tensor in = buffer("preciseIn", 1, 2 * k), all = buffer("preciseAll", worldSize(), 2 * k);
        float[] pairs = new float[2 * k];
        for (int i = 0; i < k; i++) {
            float hi = (float) values[i];
            pairs[2 * i] = hi;
            pairs[2 * i + 1] = (float) (values[i] - hi);
        }
        if (in.device().isCuda()) {
            try (Tensor src = backend.upload(pairs, 1, 2 * k)) {
                backend.elementwise().copy(src, in);
            }
        } else {
            System.arraycopy(pairs, 0, in.cpuStorage().f32(), (int) in.offset(), 2 * k);
        }
        run("all-gather", () -> collectives.allGather(in, all));
        float[] g = backend.toFloatArray(all);
        double[] sums = new double[k];
        for (int r = 0; r < worldSize(); r++) {
            for (int i = 0; i < k; i++) sums[i] += (double) g[r * 2 * k + 2 * i] + g[r * 2 * k + 2 * i + 1];
        }
        return sums;
    }

    /**
     * Synchronised batch norm (torch.nn.SyncBatchNorm) in every BatchNorm2d of {@code net}: training statistics over the
     * global batch. World size 1: nothing changes. CPU backend, F32 activations only.
     */
    public void syncBatchNorm(org.compress.engine.nn.Module net) {
        if (worldSize() == 1) return;
        SyncBatchNorm op = new SyncBatchNorm(this);
        net.visit(m -> {
            if (m instanceof org.compress.engine.nn.BatchNorm2d bn) bn.setOp(op);
        });
    }

    /** The mean of a scalar across ranks (for logs: the global loss); the value itself on one rank. */
    public double mean(double value) {
        if (worldSize() == 1) return value;
        Tensor t = buffer("scalar", 1, 1);
        backend.elementwise().fill(t, (float) value);
        run("all-reduce", () -> collectives.allReduceSum(t));
        return backend.toFloatArray(t)[0] / worldSize();
    }

    /**
     * MoCo's shuffling BN across ranks: the key encoder sees the global batch in a random permutation (the same on
     * every rank, from {@code seed}), so a rank's batch-norm statistics mix samples of all ranks; the keys come back
     * in this rank's own order. World size 1: keyEncoder(localImages).
     */
    public Tensor shuffledKeys(Tensor localImages, java.util.function.UnaryOperator<Tensor> keyEncoder, long seed) {
        int w = worldSize();
        if (w == 1) return keyEncoder.apply(localImages);
        int b = localImages.dim(0);
        int[] imageShape = localImages.shape();
        Tensor all = gatherRows(localImages);                                   // (B, CHW), global order
        int[] perm = permutation(b * w, seed);
        int[] mine = java.util.Arrays.copyOfRange(perm, rank() * b, rank() * b + b);
        Tensor shuffled = buffer("shuffledImages", b, all.dim(1));
        backend.elementwise().gatherRows(all, mine, shuffled);
        Tensor keys = keyEncoder.apply(shuffled.reshape(imageShape));          // keys of global rows perm[rank*b + j]
        int d = keys.rowLength();
        Tensor byRank = buffer("keysByRank", b * w, d);
        run("all-gather", () -> collectives.allGather(keys, byRank));
        int[] inverse = new int[b * w];
        for (int i = 0; i < perm.length; i++) inverse[perm[i]] = i;
        int[] own = new int[b];
        for (int j = 0; j < b; j++) own[j] = inverse[j * w + rank()];           // this rank's rows j*w + rank
        Tensor local = buffer("keysLocal", b, d);
        backend.elementwise().gatherRows(byRank, own, local);
        return local;
    }

    /**
     * Checks that {@code t} holds the same bits on every rank (replicated state: weights, memory banks) by comparing a
     * 64-bit hash of its contents; a difference names the ranks. One tiny all-gather; on CUDA, t is downloaded.
     */
    public void verifyIdentical(String what, Tensor t) {
        if (worldSize() == 1) return;
        Tensor host = t.device().isCuda() ? backend.download(t) : t;
        long h = hash(org.compress.engine.backend.HostData.toFloats(host));
        if (host != t) host.close();
        Tensor hostHash = Tensor.cpuZeros(DType.I64, 1);
        hostHash.cpuStorage().i64()[(int) hostHash.offset()] = h;
        long[] hashes;
        try (Tensor mine = backend.upload(hostHash); Tensor all = backend.empty(DType.I64, worldSize())) {
            run("all-gather", () -> collectives.allGather(mine, all));
            Tensor back = all.device().isCuda() ? backend.download(all) : all;
            hashes = java.util.Arrays.copyOfRange(back.cpuStorage().i64(), (int) back.offset(), (int) back.offset() + worldSize());
        }
        List<Integer> differ = new ArrayList<>();
        for (int r = 1; r < worldSize(); r++) {
            if (hashes[r] != hashes[0]) differ.add(r);
        }
        if (!differ.isEmpty()) {
            throw new DistException(what + " diverged across ranks: ranks " + differ + " hold different values than rank 0"
                    + " (replicated state must stay identical; a rank skipped an update or saw other data)");
        }
    }

    private static long hash(float[] v) {
        long h = 0xcbf29ce484222325L;
        for (float f : v) h = (h ^ Float.floatToRawIntBits(f)) * 0x100000001b3L;
        return h;
    }

    /** Every rank must pass the same text (e.g. the resolved configuration); a difference names the rank and the spot. */
    public void checkSameConfiguration(String what, String text) {
        if (worldSize() == 1) return;
        store.set("config/" + what + "/" + rank(), text.getBytes(StandardCharsets.UTF_8));
        for (int r = 0; r < worldSize(); r++) {
            if (r == rank()) continue;
            String other = new String(store.get("config/" + what + "/" + r), StandardCharsets.UTF_8);
            if (!other.equals(text)) {
                int i = 0;
                while (i < Math.min(other.length(), text.length()) && other.charAt(i) == text.charAt(i)) i++;
                throw new DistException(what + " differs between rank " + rank() + " and rank " + r + " at character " + i + ": '"
                        + excerpt(text, i) + "' here, '" + excerpt(other, i) + "' on rank " + r + "; start every rank with the same options");
            }
        }
    }

    /** Rank 0's {@code value} on every rank (e.g. the run directory's name), through the store. */
    public String agree(String key, String value) {
        if (worldSize() == 1) return value;
        if (isMaster()) store.set("agree/" + key, value.getBytes(StandardCharsets.UTF_8));
        return new String(store.get("agree/" + key), StandardCharsets.UTF_8);
    }

    public void barrier() {
        if (worldSize() > 1) run("barrier", collectives::barrier);
    }

    /** Queues a collective on the communication thread (after everything queued before it). */
    Future<?> submit(String op, Runnable r) {
        if (failed) throw new DistException("rank " + rank() + ": " + op + " after a failed collective; the job cannot continue");
        long seq = ++sequence;
        return comm.submit(() -> {
            try {
                r.run();
            } catch (RuntimeException e) {
                throw diagnose(op, seq, e);
            }
            return null;
        });
    }

    /** Runs a collective on the communication thread and waits for it. */
    void run(String op, Runnable r) { await(submit(op, r)); }

    void await(Future<?> f) {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistException("rank " + rank() + ": interrupted while waiting for a collective", e);
        } catch (ExecutionException e) {
            failed = true;
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new DistException("rank " + rank() + ": collective failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * A collective failed on this rank: report it in the store, then name the ranks at fault: those that reported a
     * failure of their own first, died (store connection dropped) or stayed silent (hung) for a short grace period.
     */
    private DistException diagnose(String op, long seq, RuntimeException cause) {
        if (cause instanceof DistException d && d.getMessage().startsWith("rank ")) return d;   // already diagnosed
        String here = "rank " + rank() + ": " + op + " #" + seq + " failed (" + cause.getMessage() + ")";
        List<String> findings = new ArrayList<>();
        try {
            store.set("failed/" + rank(), (op + " #" + seq + ": " + cause.getMessage()).getBytes(StandardCharsets.UTF_8));
            Set<Integer> dead = store.deadRanks();
            long graceMillis = Math.min(2_000, env.timeout().toMillis());
            long deadline = System.nanoTime() + graceMillis * 1_000_000L;
            for (int r = 0; r < worldSize(); r++) {
                if (r == rank()) continue;
                if (dead.contains(r)) {
                    findings.add("rank " + r + " exited or died (its connection to the store closed without finishing)");
                    continue;
                }
                long left = Math.max(0, (deadline - System.nanoTime()) / 1_000_000L);
                byte[] report = store.tryGet("failed/" + r, Duration.ofMillis(left));
                if (report == null) {
                    dead = store.deadRanks();
                    findings.add(dead.contains(r) ? "rank " + r + " exited or died (its connection to the store closed without finishing)"
                            : "rank " + r + " did not respond (hung or stuck in an earlier step)");
                }
            }
        } catch (DistException storeGone) {
            findings.add(isMaster() ? "the store is unreachable (" + storeGone.getMessage() + ")"
                    : "rank 0 died or stopped (its store at " + env.masterAddr() + ":" + env.masterPort() + " is unreachable)");
        }
        String culprits = findings.isEmpty() ? "every other rank reported a failure too" : String.join("; ", findings);
        return new CollectiveException(here + ": " + culprits, cause);
    }

    private Tensor buffer(String slot, int rows, int cols) {
        String key = slot + ":" + rows + "x" + cols;
        return buffers.computeIfAbsent(key, k -> backend.empty(DType.F32, rows, cols));
    }

    /** Row j * w + r of the global batch is row r * b + j of the rank-ordered gather. */
    private int[] interleave(int b, int w) {
        return orders.computeIfAbsent(b + "x" + w, k -> {
            int[] idx = new int[b * w];
            for (int r = 0; r < w; r++) for (int j = 0; j < b; j++) idx[j * w + r] = r * b + j;
            return idx;
        });
    }

    private static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        java.util.SplittableRandom rng = new java.util.SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    private static String excerpt(String s, int at) {
        int from = Math.max(0, at - 20), to = Math.min(s.length(), at + 40);
        return s.substring(from, to);
    }

    /**
     * Marks a successful end: waits until every rank got here, so that none leaves while others still need it.
     * Without it, close() leaves as a failed rank does (the others then report this rank as exited).
     */
    public void finish() {
        barrier();
        finished = true;
    }

    @Override public void close() {
        try {
            if (comm != null) comm.shutdownNow();
            collectives.close();
            buffers.values().forEach(Tensor::close);
        } finally {
            if (store instanceof TcpStore tcp) tcp.close(finished);
            else if (store != null) store.close();
        }
    }
}
