// DistributedDataParallel's gradient averaging: a network's parameters are grouped into buckets in the order the
// backward pass produces their gradients (recorded during the first backward, the same on every rank); as soon as
// the last parameter of a bucket has its gradient, the bucket is all-reduced on the communication thread while
// backward continues. finish() waits for the buckets and leaves grad = mean over ranks in every parameter.
// Per bucket: copy the gradients into one flat F32 tensor, all-reduce (sum), scale by 1/worldSize, copy back.
// At construction every rank takes rank 0's weights and buffers. World size 1: nothing happens (no hook, no copy).
package org.compress.engine.dist;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import org.compress.engine.backend.Backend;
import org.compress.engine.nn.Module;
import org.compress.engine.nn.Parameter;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

public final class GradientReducer implements AutoCloseable {
    private final DistributedContext dist;
    private final Backend backend;
    private final Network net;
    private final long bucketBytes;
    private final List<Bucket> buckets = new ArrayList<>();
    private final Map<Parameter, Bucket> bucketOf = new IdentityHashMap<>();
    private final LinkedHashSet<Parameter> firstOrder = new LinkedHashSet<>();   // backward order, recorded once
    private final List<Future<?>> inFlight = new ArrayList<>();
    private long reducedBuckets, overlappedBuckets;

    GradientReducer(DistributedContext dist, Backend backend, Network net, long bucketBytes) {
        if (bucketBytes < 4) throw new IllegalArgumentException("gradient bucket: expected >= 4 bytes, found " + bucketBytes);
        this.dist = dist;
        this.backend = backend;
        this.net = net;
        this.bucketBytes = bucketBytes;
        if (dist.isDistributed()) {
            // as DDP's constructor: every rank starts from rank 0's weights and buffers
            for (Tensor t : net.stateDict().values()) dist.run("broadcast", () -> dist.collectives().broadcast(t, 0));
            net.setBackwardHook(this::stageDone);
        }
    }

    /** The hook: {@code stage} has written its parameters' gradients. */
    private void stageDone(Module stage) {
        if (buckets.isEmpty()) {
            List<Parameter> ps = stage.parameters();
            for (int i = ps.size() - 1; i >= 0; i--) firstOrder.add(ps.get(i));
            return;
        }
        for (Parameter p : stage.parameters()) {
            Bucket b = bucketOf.get(p);
            if (b != null && --b.pending == 0) launch(b, true);
        }
    }

    /** Waits until every parameter's grad holds the mean over ranks (launching buckets backward did not complete). */
    public void finish() {
        if (!dist.isDistributed()) return;
        if (buckets.isEmpty()) build();
        for (Bucket b : buckets) if (!b.launched) launch(b, false);
        try {
            for (Future<?> f : inFlight) dist.await(f);
        } finally {
            inFlight.clear();
            for (Bucket b : buckets) {
                b.pending = b.params.size();
                b.launched = false;
            }
        }
    }

    /** Buckets over the recorded backward order, then the parameters backward never reached (in registration order). */
    private void build() {
        List<Parameter> order = new ArrayList<>(firstOrder);
        for (Parameter p : net.parameters()) if (!firstOrder.contains(p)) order.add(p);
        Bucket current = null;
        for (Parameter p : order) {
            if (current == null || (current.elements + p.numel()) * 4 > bucketBytes && !current.params.isEmpty()) {
                current = new Bucket();
                buckets.add(current);
            }
            current.params.add(p);
            current.elements += p.numel();
            bucketOf.put(p, current);
        }
        for (Bucket b : buckets) {
            if (b.elements > Integer.MAX_VALUE) throw new IllegalArgumentException("gradient bucket of " + b.elements + " elements");
            b.flat = backend.empty(DType.F32, (int) b.elements);
            b.pending = b.params.size();
        }
    }

    private void launch(Bucket b, boolean overlapped) {
        b.launched = true;
        reducedBuckets++;
        if (overlapped) overlappedBuckets++;
        float scale = 1f / dist.worldSize();
        inFlight.add(dist.submit("gradient all-reduce", () -> {
            int off = 0;
            for (Parameter p : b.params) {
                int n = (int) p.numel();
                backend.elementwise().copy(p.grad().reshape(n), b.flat.rows(off, n));
                off += n;
            }
            dist.collectives().allReduceSum(b.flat);
            backend.elementwise().scale(b.flat, scale);
            off = 0;
            for (Parameter p : b.params) {
                int n = (int) p.numel();
                backend.elementwise().copy(b.flat.rows(off, n), p.grad().reshape(n));
                off += n;
            }
        }));
    }

    public int bucketCount() { return buckets.size(); }

    /** Buckets launched from the backward hook (overlapping backward) / all buckets reduced so far. */
    public double overlapFraction() { return reducedBuckets == 0 ? 0 : (double) overlappedBuckets / reducedBuckets; }

    @Override public void close() {
        if (dist.isDistributed()) net.setBackwardHook(null);
        for (Bucket b : buckets) if (b.flat != null) b.flat.close();
    }

    private static final class Bucket {
        final List<Parameter> params = new ArrayList<>();
        long elements;
        Tensor flat;
        int pending;
        boolean launched;
    }
}
