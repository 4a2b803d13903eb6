// Collectives over Gloo's TCP transport (the library PyTorch's CPU backend uses), through libcompress_gloo.so
// (engine-native/gloo/). Host tensors are staged through one direct buffer per direction, since Gloo needs
// addresses the garbage collector never moves. Rendezvous: Gloo's connectFullMesh publishes each rank's
// address in the Store and reads the others'. Every operation has the job's timeout.
package org.compress.engine.dist;

import java.io.File;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import org.bytedeco.javacpp.Loader;
import org.compress.engine.tensor.CpuStorage;
import org.compress.engine.tensor.Tensor;

public final class GlooCollectives implements Collectives {
    public static final String PROPERTY = "compress.gloo.library";
    public static final String ENV = "COMPRESS_GLOO_LIBRARY";
    static final String RESOURCE = "/linux-x86_64/libcompress_gloo.so";

    private static String loadFailure;
    private static boolean loaded;

    private final int rank, size;
    private long handle;
    private int tag;
    private ByteBuffer send = ByteBuffer.allocateDirect(0), recv = ByteBuffer.allocateDirect(0);

    /** Connects this rank to the others (blocks until all have joined, or the timeout). */
    public GlooCollectives(int rank, int size, Store store, String hostname, String iface, Duration timeout) {
        load();
        this.rank = rank;
        this.size = size;
        this.handle = create(rank, size, store, "gloo/", hostname, iface == null ? "" : iface, timeout.toMillis());
        if (handle == 0) throw new CollectiveException("gloo rendezvous of rank " + rank + " returned no context");
    }

    /** Loads the bridge once; a missing library throws DistException saying how to get it. */
    public static synchronized void load() {
        if (loaded) return;
        if (loadFailure != null) throw new DistException(loadFailure);
        try {
            String override = System.getProperty(PROPERTY, System.getenv(ENV));
            File file;
            if (override != null && !override.isBlank()) {
                file = new File(override);
                if (!file.isFile()) throw new DistException(PROPERTY + "/" + ENV + " points at " + file + ", which does not exist");
            } else {
                URL url = GlooCollectives.class.getResource(RESOURCE);
                if (url == null) {
                    throw new DistException("world size > 1 on the CPU needs Gloo, but the engine jar carries no " + RESOURCE.substring(1)
                            + " (it was built without Debian's libgloo-dev); install it (scripts/setup.sh) and rebuild, or run one process");
                }
                file = Loader.cacheResource(GlooCollectives.class, RESOURCE);
            }
            System.load(file.getAbsolutePath());
            loaded = true;
        } catch (DistException e) {
            loadFailure = e.getMessage();
            throw e;
        } catch (Exception | UnsatisfiedLinkError e) {
            loadFailure = "cannot load the Gloo bridge " + RESOURCE.substring(1) + ": " + e.getMessage()
                    + " (is Debian's libgloo0 installed? scripts/setup.sh installs it)";
            throw new DistException(loadFailure, e);
        }
    }

    @Override public int rank() { return rank; }

    @Override public int worldSize() { return size; }

    @Override public String name() { return "gloo"; }

    @Override public synchronized void allReduceSum(Tensor t) {
        float[] a = host(t, "all-reduce").f32();
        int off = (int) t.offset(), n = (int) t.numel();
        ByteBuffer b = staging(true, 4L * n);
        b.asFloatBuffer().put(a, off, n);
        allReduceSumF32(live(), b, 0, n, nextTag());
        b.asFloatBuffer().get(a, off, n);
    }

    @Override public synchronized void allGather(Tensor in, Tensor out) {
        Collectives.checkGather(in, out, size);
        long bytes = in.bytes();
        ByteBuffer s = staging(true, bytes), r = staging(false, bytes * size);
        put(in, s);
        allGather(live(), s, 0, r, 0, bytes, nextTag());
        get(r, out);
    }

    @Override public synchronized void broadcast(Tensor t, int root) {
        ByteBuffer b = staging(true, t.bytes());
        put(t, b);
        broadcast(live(), b, 0, t.bytes(), root, nextTag());
        get(b, t);
    }

    @Override public synchronized void barrier() { barrier(live(), nextTag()); }

    @Override public synchronized void close() {
        if (handle != 0) destroy(handle);
        handle = 0;
    }

    private long live() {
        if (handle == 0) throw new IllegalStateException("gloo collectives of rank " + rank + " are closed");
        return handle;
    }

    private int nextTag() { return tag = (tag + 1) & 0x3fffffff; }

    private ByteBuffer staging(boolean first, long bytes) {
        if (bytes > Integer.MAX_VALUE) throw new IllegalArgumentException("collective of " + bytes + " bytes: at most 2 GiB at once");
        ByteBuffer b = first ? send : recv;
        if (b.capacity() < bytes) {
            b = ByteBuffer.allocateDirect((int) Math.max(bytes, b.capacity() * 2L > Integer.MAX_VALUE ? bytes : b.capacity() * 2L))
                    .order(ByteOrder.nativeOrder());
            if (first) send = b; else recv = b;
        }
        b.clear();
        return b;
    }

    private static CpuStorage host(Tensor t, String op) {
        if (t.device().isCuda()) throw new IllegalArgumentException("gloo " + op + ": expected a CPU tensor, found " + t + " (use NCCL on CUDA)");
        return t.cpuStorage();
    }

    private static void put(Tensor t, ByteBuffer b) {
        CpuStorage s = host(t, "copy");
        int off = (int) t.offset(), n = (int) t.numel();
        switch (t.dtype()) {
            case F32 -> b.asFloatBuffer().put(s.f32(), off, n);
            case BF16, F16 -> b.asShortBuffer().put(s.u16(), off, n);
            case I32 -> b.asIntBuffer().put(s.i32(), off, n);
            case I64 -> b.asLongBuffer().put(s.i64(), off, n);
            case U8 -> b.duplicate().put(s.u8(), off, n);
            default -> throw new IllegalArgumentException("gloo: unsupported dtype " + t.dtype());
        }
    }

    private static void get(ByteBuffer b, Tensor t) {
        CpuStorage s = host(t, "copy");
        int off = (int) t.offset(), n = (int) t.numel();
        switch (t.dtype()) {
            case F32 -> b.asFloatBuffer().get(s.f32(), off, n);
            case BF16, F16 -> b.asShortBuffer().get(s.u16(), off, n);
            case I32 -> b.asIntBuffer().get(s.i32(), off, n);
            case I64 -> b.asLongBuffer().get(s.i64(), off, n);
            case U8 -> b.duplicate().get(s.u8(), off, n);
            default -> throw new IllegalArgumentException("gloo: unsupported dtype " + t.dtype());
        }
    }

    private static native long create(int rank, int size, Store store, String prefix, String hostname, String iface, long timeoutMs);

    private static native void destroy(long handle);

    private static native void allReduceSumF32(long handle, ByteBuffer buffer, long offset, long count, int tag);

    private static native void allGather(long handle, ByteBuffer in, long inOffset, ByteBuffer out, long outOffset, long bytes, int tag);

    private static native void broadcast(long handle, ByteBuffer buffer, long offset, long bytes, int root, int tag);

    private static native void barrier(long handle, int tag);
}
