// The CPU backend's native fast path: libcompress_cpu.so (engine-native/cpu/, oneDNN + OpenMP), found at
// -Dcompress.cpu.library / $COMPRESS_CPU_LIBRARY if set, else in the engine jar (linux-x86_64/). It is loaded
// once; where it cannot load (no library in the jar, no libdnnl on the machine) available() is false and
// reason() says why, and the CPU backend runs its plain-Java ops instead.
// Threads: one OpenMP pool for every native op, sized by -Dcompress.threads / $COMPRESS_THREADS (default: all
// processors), like torch.set_num_threads. Tuning: -Dcompress.cpuTune=true / $COMPRESS_CPU_TUNE=1 (default off), like
// torch.backends.cudnn.benchmark: each convolution shape's oneDNN implementations are timed once and the fastest
// kept; faster, but not bit-reproducible from run to run.
package org.compress.engine.backend.cpu;

import java.io.File;
import java.net.URL;
import org.bytedeco.javacpp.Loader;
import org.compress.engine.EngineException;

public final class DnnlNative {
    public static final String LIBRARY_PROPERTY = "compress.cpu.library";
    public static final String LIBRARY_ENV = "COMPRESS_CPU_LIBRARY";
    public static final String THREADS_PROPERTY = "compress.threads";
    public static final String THREADS_ENV = "COMPRESS_THREADS";
    public static final String TUNE_PROPERTY = "compress.cpuTune";
    public static final String TUNE_ENV = "COMPRESS_CPU_TUNE";
    static final String RESOURCE = "/linux-x86_64/libcompress_cpu.so";

    private static boolean tried;
    private static String failure;
    private static String description;

    private DnnlNative() {}

    /** Whether the native path loaded (loads on first call). */
    public static synchronized boolean available() {
        if (!tried) {
            tried = true;
            try {
                System.load(locate().getAbsolutePath());
                int threads = setThreads(configuredThreads());
                boolean tune = configuredTuning();
                setTuning(tune ? 1 : 0);
                description = version() + " from " + locate() + ", " + threads + " threads" + (tune ? ", tuned" : "");
            } catch (EngineException | UnsatisfiedLinkError e) {
                failure = e.getMessage();
            }
        }
        return failure == null;
    }

    /** Why the native path is not available (null when it is). */
    public static synchronized String reason() { return available() ? null : failure; }

    /** Version, library file and thread count, once loaded. */
    public static synchronized String describe() { return available() ? description : "unavailable: " + failure; }

    /**
     * Sizes the native pool to {@code threads} (torch.set_num_threads): recorded as -Dcompress.threads for a library
     * not loaded yet, applied at once to a loaded one. Returns the count now in force.
     */
    public static synchronized int threads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("--threads: expected a thread count >= 1, found " + threads);
        System.setProperty(THREADS_PROPERTY, Integer.toString(threads));
        if (tried && failure == null) {
            setThreads(threads);
            description = description.replaceFirst(", \\d+ threads", ", " + threads + " threads");
        }
        return threads;
    }

    /**
     * Switches tuning on or off (torch.backends.cudnn.benchmark): recorded as -Dcompress.cpuTune for a library not
     * loaded yet, applied at once to a loaded one (to convolution shapes met from then on).
     */
    public static synchronized void tuning(boolean on) {
        System.setProperty(TUNE_PROPERTY, Boolean.toString(on));
        if (tried && failure == null) {
            setTuning(on ? 1 : 0);
            description = description.replace(", tuned", "") + (on ? ", tuned" : "");
        }
    }

    /** -Dcompress.cpuTune (true / false), else $COMPRESS_CPU_TUNE (1 / 0), else off. */
    public static boolean configuredTuning() {
        String v = System.getProperty(TUNE_PROPERTY);
        String from = TUNE_PROPERTY;
        if (v == null || v.isBlank()) {
            v = System.getenv(TUNE_ENV);
            from = TUNE_ENV;
        }
        if (v == null || v.isBlank()) return false;
        return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "1", "true", "on", "yes" -> true;
            case "0", "false", "off", "no" -> false;
            default -> throw new IllegalArgumentException(from + ": expected 1 or 0 (true or false), found '" + v + "'");
        };
    }

    /** -Dcompress.threads, else $COMPRESS_THREADS, else the processor count. */
    public static int configuredThreads() {
        String v = System.getProperty(THREADS_PROPERTY);
        if (v == null || v.isBlank()) v = System.getenv(THREADS_ENV);
        if (v == null || v.isBlank()) return Runtime.getRuntime().availableProcessors();
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= 1) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(THREADS_PROPERTY + "/" + THREADS_ENV + ": expected a thread count >= 1, found '" + v + "'");
    }

    private static File locate() {
        String override = System.getProperty(LIBRARY_PROPERTY, System.getenv(LIBRARY_ENV));
        if (override != null && !override.isBlank()) {
            File file = new File(override);
            if (!file.isFile()) {
                throw new DnnlException(LIBRARY_PROPERTY + "/" + LIBRARY_ENV + " points at " + file + ", which does not exist");
            }
            return file;
        }
        URL url = DnnlNative.class.getResource(RESOURCE);
        if (url == null) {
            throw new DnnlException("the engine jar carries no " + RESOURCE.substring(1)
                    + " (built without g++, CMake or libdnnl-dev; scripts/setup.sh installs them)");
        }
        try {
            return Loader.cacheResource(DnnlNative.class, RESOURCE);
        } catch (Exception e) {
            throw new DnnlException("could not extract " + RESOURCE + " from the engine jar: " + e);
        }
    }

    /** Sets the OpenMP pool's size (threads >= 1) and returns the size in force. */
    static native int setThreads(int threads);

    /**
     * Times each convolution shape's implementations when its primitive is made (see the header): 0 off, 1 on, 2 on
     * with the fused residual always taken as a sum post-op (for tests: which form wins is otherwise up to the clock).
     * Tuned and untuned primitives of one shape are cached apart.
     */
    static native void setTuning(int mode);

    static native String version();

    /**
     * geom: n c h w k r s oh ow strideH strideW padH padW dilationH dilationW groups, activations NHWC (1) or NCHW (0),
     * weights KRSC (1) or KCRS (0). b may be null.
     */
    static native void convForward(int[] geom, float[] x, int xo, float[] w, int wo, float[] b, int bo, float[] y, int yo);

    /**
     * Eval-mode conv + batch norm + residual + activation in one primitive (NHWC activations only):
     * y = act((conv(x, w) - mean[ch]) * scale[ch] + shift[ch] + residual), residual may be null; act as activation().
     */
    static native void convForwardFused(int[] geom, float[] x, int xo, float[] w, int wo, float[] mean, int mo, float[] scale, int so,
                                        float[] shift, int to, float[] residual, int ro, int act, float[] y, int yo);

    static native void convBackwardData(int[] geom, float[] dy, int dyo, float[] w, int wo, float[] dx, int dxo);

    static native void convBackwardFilter(int[] geom, float[] x, int xo, float[] dy, int dyo, float[] dw, int dwo);

    /** Row-major C = alpha op(A) op(B) + beta C. */
    static native void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int ao, int lda,
                             float[] b, int bo, int ldb, float beta, float[] c, int co, int ldc);

    /** Writes y and the batch's per-channel mean and biased variance. */
    static native void batchNormTraining(boolean nhwc, int n, int c, int hw, float eps, float[] x, int xo, float[] gamma, int go, float[] beta,
                                         int bo, float[] y, int yo, float[] mean, int mo, float[] var, int vo);

    /** y = (x - mean[ch]) * scale[ch] + shift[ch]. */
    static native void channelAffine(boolean nhwc, int n, int c, int hw, float[] x, int xo, float[] mean, int mo, float[] scale, int so,
                                     float[] shift, int to, float[] y, int yo);

    static native void batchNormBackward(boolean nhwc, int n, int c, int hw, float[] x, int xo, float[] dy, int dyo, float[] gamma, int go,
                                         float[] mean, int mo, float[] invStd, int io, float[] dx, int dxo, float[] dGamma, int dgo,
                                         float[] dBeta, int dbo);

    /** act: 0 identity, 1 ReLU, 2 ReLU6; y = act(a + b), or act(a) when b is null. */
    static native void activation(int act, long len, float[] a, int ao, float[] b, int bo, float[] y, int yo);

    /** y += alpha * x (len floats), bitwise as CpuElementwise.axpy. */
    static native void axpy(long len, float alpha, float[] x, int xo, float[] y, int yo);

    static native void activationBackward(int act, long len, float[] y, int yo, float[] dy, int dyo, float[] dx, int dxo);

    /** CompRess rows: zt, zs (B x K logits) in; loss[lo + i] = KL(pt_i || ps_i) and zs = ps - pt out. */
    static native void compressLossRows(int b, int k, float[] zt, float[] zs, float[] loss, int lo);

    /** InfoNCE rows: z (B x K bank logits), pos (B positive logits) in; loss, z = softmax (bank part), pos = p0 - 1 out. */
    static native void infoNceRows(int b, int k, float[] z, float[] pos, float[] loss, int lo);

    /** A oneDNN call failed, or the library could not be found or loaded; the message names the call and status. */
    public static final class DnnlException extends EngineException {
        public DnnlException(String message) { super(message); }
    }
}
