// Packs a batch's AugmentParams into the kernels' AugmentJob structs (128 bytes each, the layout of
// kernels/augment_kernels.cuh) and plans the batch's device memory: each job's scratch region, the lists of jobs
// that need the finish and blur passes, and the blur taps (GaussianBlur.kernel, in double, from the CPU code).
// Plain Java (no CUDA), so the layout and the plan are tested without a GPU.
package org.compress.engine.data.gpu;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.compress.engine.data.transforms.ColorJitter;
import org.compress.engine.data.transforms.GaussianBlur;

public final class AugmentJobs {
    public static final int JOB_BYTES = 128;
    /** Must equal AugmentKernels.maxBlurSize() (kAugmentMaxBlur). */
    public static final int MAX_BLUR = 63;
    /** grid.y of the passes and grid.z / 3 of the blur bound the jobs per launch. */
    public static final int MAX_JOBS = 65535 / 3;

    // Field offsets in AugmentJob.
    static final int SRC = 0, TMP_OFFSET = 8, SRC_PITCH = 16, OUT_INDEX = 20, CROP_TOP = 24, CROP_LEFT = 28, CROP_H = 32,
            CROP_W = 36, RESIZE_H = 40, RESIZE_W = 44, WIN_TOP = 48, WIN_LEFT = 52, FLIP = 56, GRAY = 60, OP_COUNT = 64,
            OPS = 68, BLUR_SIZE = 84, BLUR_OFFSET = 88, FACTORS = 96;
    /** Regions of the upload are 256-byte aligned; scratch regions 64 floats. */
    static final int ALIGN = 256, SCRATCH_ALIGN = 64;

    /** A decoded uint8 RGB image on the device: first byte, bytes per row, size. */
    public record Source(long address, int pitch, int height, int width) {}

    private final int outH, outW, capacity;
    private final AugmentParams[] params;
    private final Source[] sources;
    private final int[] outIndex;
    private final long[] tmpOffset;
    private final int[] blurOffset;
    private final int[] finish, blur;
    private double[] taps = new double[0];
    private int jobs, finishCount, blurCount, tapCount, maxCropH, maxBlurSize, maxOutIndex = -1;
    private long scratchFloats;

    /** Room for {@code capacity} jobs of outH x outW outputs. */
    public AugmentJobs(int outH, int outW, int capacity) {
        if (outH < 1 || outW < 1) throw new IllegalArgumentException("augment jobs: expected an output size >= 1, found " + outH + "x" + outW);
        if (capacity < 1 || capacity > MAX_JOBS) {
            throw new IllegalArgumentException("augment jobs: expected 1 to " + MAX_JOBS + " jobs per batch, found " + capacity);
        }
        this.outH = outH;
        this.outW = outW;
        this.capacity = capacity;
        this.params = new AugmentParams[capacity];
        this.sources = new Source[capacity];
        this.outIndex = new int[capacity];
        this.tmpOffset = new long[capacity];
        this.blurOffset = new int[capacity];
        this.finish = new int[capacity];
        this.blur = new int[capacity];
    }

    public void clear() {
        Arrays.fill(params, 0, jobs, null);
        Arrays.fill(sources, 0, jobs, null);
        jobs = finishCount = blurCount = tapCount = maxCropH = maxBlurSize = 0;
        maxOutIndex = -1;
        scratchFloats = 0;
    }

    /** Adds one job: view `p` of image `src`, written to output sample slot `outSlot`. Checks before any change. */
    public void add(AugmentParams p, Source src, int outSlot) {
        if (jobs == capacity) throw new IllegalStateException("augment jobs: all " + capacity + " jobs are used");
        p.check(src.height(), src.width(), outH, outW);
        if (src.pitch() < 3 * src.width()) {
            throw new IllegalArgumentException("augment jobs: expected a row pitch >= 3 x width = " + 3 * src.width() + ", found " + src.pitch());
        }
        if (p.blurSize() > MAX_BLUR) {
            throw new IllegalArgumentException("augment jobs: expected a blur kernel <= " + MAX_BLUR + " on the GPU, found " + p.blurSize());
        }
        if (outSlot < 0) throw new IllegalArgumentException("augment jobs: expected an output slot >= 0, found " + outSlot);
        int j = jobs++;
        params[j] = p;
        sources[j] = src;
        outIndex[j] = outSlot;
        maxOutIndex = Math.max(maxOutIndex, outSlot);
        long region = 3L * p.cropHeight() * outW;
        if (p.hasBlur()) region = Math.max(region, 3L * outH * outW);   // the blur input reuses the region
        tmpOffset[j] = scratchFloats;
        scratchFloats += (region + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN;
        maxCropH = Math.max(maxCropH, p.cropHeight());
        if (p.hasContrast() || p.hasBlur()) finish[finishCount++] = j;
        if (p.hasBlur()) {
            blur[blurCount++] = j;
            double[] k = GaussianBlur.kernel(p.blurSize(), p.blurSigma());
            if (tapCount + k.length > taps.length) taps = Arrays.copyOf(taps, Math.max(2 * taps.length, tapCount + k.length));
            System.arraycopy(k, 0, taps, tapCount, k.length);
            blurOffset[j] = tapCount;
            tapCount += k.length;
            maxBlurSize = Math.max(maxBlurSize, p.blurSize());
        }
    }

    public int jobCount() { return jobs; }

    public int finishCount() { return finishCount; }

    public int blurCount() { return blurCount; }

    public int maxCropHeight() { return maxCropH; }

    public int maxBlurSize() { return maxBlurSize; }

    /** The largest output slot written (-1 without jobs): the output needs more samples than this. */
    public int maxOutIndex() { return maxOutIndex; }

    public int outHeight() { return outH; }

    public int outWidth() { return outW; }

    /** Floats of scratch the kernels need for these jobs. */
    public long scratchFloats() { return scratchFloats; }

    static long align(long bytes) { return (bytes + ALIGN - 1) / ALIGN * ALIGN; }

    public long tapsOffset() { return align((long) jobs * JOB_BYTES); }

    public long finishOffset() { return tapsOffset() + align(8L * tapCount); }

    public long blurOffset() { return finishOffset() + align(4L * finishCount); }

    /** Bytes of the upload: jobs, taps, finish list, blur list. */
    public long uploadBytes() { return blurOffset() + align(4L * blurCount); }

    /** Upload bytes for `jobCount` jobs at most, whatever their parameters (blur kernels up to maxBlur). */
    public static long maxUploadBytes(int jobCount, int maxBlur) {
        return align((long) jobCount * JOB_BYTES) + align(8L * jobCount * maxBlur) + 2 * align(4L * jobCount);
    }

    /** Writes the upload at dst's position 0 (native byte order, as the device reads it). */
    public void write(ByteBuffer dst) {
        if (dst.capacity() < uploadBytes()) {
            throw new IllegalArgumentException("augment jobs: the staging buffer holds " + dst.capacity() + " bytes, expected >= " + uploadBytes());
        }
        ByteBuffer b = dst.duplicate().order(ByteOrder.nativeOrder());
        for (int j = 0; j < jobs; j++) writeJob(b, j * JOB_BYTES, j);
        int taps0 = (int) tapsOffset(), fin0 = (int) finishOffset(), blur0 = (int) blurOffset();
        for (int i = 0; i < tapCount; i++) b.putDouble(taps0 + 8 * i, taps[i]);
        for (int i = 0; i < finishCount; i++) b.putInt(fin0 + 4 * i, finish[i]);
        for (int i = 0; i < blurCount; i++) b.putInt(blur0 + 4 * i, blur[i]);
    }

    private void writeJob(ByteBuffer b, int at, int j) {
        AugmentParams p = params[j];
        Source s = sources[j];
        b.putLong(at + SRC, s.address());
        b.putLong(at + TMP_OFFSET, tmpOffset[j]);
        b.putInt(at + SRC_PITCH, s.pitch());
        b.putInt(at + OUT_INDEX, outIndex[j]);
        b.putInt(at + CROP_TOP, p.cropTop());
        b.putInt(at + CROP_LEFT, p.cropLeft());
        b.putInt(at + CROP_H, p.cropHeight());
        b.putInt(at + CROP_W, p.cropWidth());
        b.putInt(at + RESIZE_H, p.resizeHeight());
        b.putInt(at + RESIZE_W, p.resizeWidth());
        b.putInt(at + WIN_TOP, p.windowTop());
        b.putInt(at + WIN_LEFT, p.windowLeft());
        b.putInt(at + FLIP, p.flip() ? 1 : 0);
        b.putInt(at + GRAY, p.grayscale() ? 1 : 0);
        int ops = 0;
        double[] factors = {0, 0, 0, 0};
        ColorJitter.Params jp = p.jitter();
        if (jp != null) {
            double[] byOp = {jp.brightness(), jp.contrast(), jp.saturation(), jp.hue()};
            for (int op : jp.order()) {
                if (Double.isNaN(byOp[op])) continue;   // a range ColorJitter leaves out, as ColorJitter.apply skips it
                b.putInt(at + OPS + 4 * ops++, op);
                factors[op] = byOp[op];
            }
        }
        for (int k = ops; k < 4; k++) b.putInt(at + OPS + 4 * k, -1);
        b.putInt(at + OP_COUNT, ops);
        b.putInt(at + BLUR_SIZE, p.blurSize());
        b.putInt(at + BLUR_OFFSET, p.hasBlur() ? blurOffset[j] : 0);
        b.putInt(at + BLUR_OFFSET + 4, 0);
        for (int k = 0; k < 4; k++) b.putDouble(at + FACTORS + 8 * k, factors[k]);
    }
}
