// Batched JPEG decoding with nvJPEG into device memory the caller owns, as interleaved RGB (NVJPEG_OUTPUT_RGBI):
// the hardware decoder (A100 / H100 NVJPG engines, NVJPEG_BACKEND_HARDWARE) takes the images it supports, nvJPEG's
// default (hybrid CPU Huffman + GPU) batched decoder takes the rest, on its own thread and stream so both run
// at once; `hardwareShare` < 1 also sends part of the hardware-capable images there, to use both when the
// engines are the bottleneck. Images neither decoder accepts come back to the caller for the CPU decoder.
// Every nvJPEG status goes through Native.check(NVJPEG, ...). UNVERIFIED: written without a GPU.
package org.compress.engine.data.gpu;

import static org.bytedeco.cuda.global.nvjpeg.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.LongAdder;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nvjpeg;
import org.bytedeco.cuda.nvjpeg.nvjpegDecodeParams;
import org.bytedeco.cuda.nvjpeg.nvjpegDevAllocator_t;
import org.bytedeco.cuda.nvjpeg.nvjpegHandle;
import org.bytedeco.cuda.nvjpeg.nvjpegImage_t;
import org.bytedeco.cuda.nvjpeg.nvjpegJpegState;
import org.bytedeco.cuda.nvjpeg.nvjpegJpegStream;
import org.bytedeco.cuda.nvjpeg.nvjpegPinnedAllocator_t;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.compress.engine.backend.cuda.CudaEvent;
import org.compress.engine.backend.cuda.CudaStream;
import org.compress.engine.backend.cuda.Native;
import org.compress.engine.backend.cuda.NvJpegException;
import org.compress.engine.data.DataException;

public final class NvJpegDecoder implements AutoCloseable {
    /** One JPEG bitstream in pinned host memory and where its RGB goes: width x height, rows `pitch` bytes apart. */
    public record Request(long hostAddress, long length, long deviceAddress, int pitch, int width, int height) {
        public Request {
            if (length < 1 || pitch < 3 * width || width < 1 || height < 1) {
                throw new IllegalArgumentException("nvJPEG request: expected length >= 1, size >= 1 and pitch >= 3 x width, found length "
                        + length + ", " + width + "x" + height + ", pitch " + pitch);
            }
        }
    }

    /** What one decode() did: images per decoder and the request indices left for the CPU. */
    public record Result(int hardware, int hybrid, int[] failed) {}

    /** Statuses that mean "this bitstream", not "this library": the image goes to the CPU decoder. */
    static boolean isDataError(int status) {
        return status == NVJPEG_STATUS_BAD_JPEG || status == NVJPEG_STATUS_JPEG_NOT_SUPPORTED
                || status == NVJPEG_STATUS_IMPLEMENTATION_NOT_SUPPORTED || status == NVJPEG_STATUS_INCOMPLETE_BITSTREAM;
    }

    /** null when nvJPEG loads, else why not (the GPU data path then stays off). */
    public static String unavailableReason() {
        try {
            Loader.load(nvjpeg.class);
            return null;
        } catch (Throwable t) {
            Throwable c = t;
            while (c.getCause() != null && c.getCause() != c) c = c.getCause();
            return "nvJPEG (libnvjpeg.so.13) could not be loaded: " + c.getMessage();
        }
    }

    private final int device;
    private final int maxBatch;
    private final double hardwareShare;
    private final Lane hardware;          // null without a hardware decoder
    private final Lane hybrid;
    private final String hardwareInfo;
    private final nvjpegJpegStream parsed = new nvjpegJpegStream();
    private final nvjpegDecodeParams rgbi = new nvjpegDecodeParams();
    private final CudaStream hybridStream;
    private final CudaEvent hybridStart, hybridDone;
    private final ExecutorService hybridThread;
    private final LongAdder hardwareImages = new LongAdder(), hybridImages = new LongAdder(), failedImages = new LongAdder();
    private boolean closed;

    /**
     * Decoders for batches of up to maxBatch images on CUDA device `device` (the calling thread's current device).
     * useHardware false, or no hardware decoder, sends everything to the hybrid decoder.
     */
    public NvJpegDecoder(int device, int maxBatch, boolean useHardware, double hardwareShare) {
        if (maxBatch < 1) throw new IllegalArgumentException("nvJPEG: expected maxBatch >= 1, found " + maxBatch);
        if (!(hardwareShare >= 0 && hardwareShare <= 1)) {
            throw new IllegalArgumentException("nvJPEG: expected a hardware share in [0, 1], found " + hardwareShare);
        }
        String why = unavailableReason();
        if (why != null) throw new DataException(why);
        this.device = device;
        this.maxBatch = maxBatch;
        this.hardwareShare = hardwareShare;
        Lane hybridLane = null, hw = null;
        String info;
        try {
            hybridLane = new Lane("hybrid", NVJPEG_BACKEND_DEFAULT, maxBatch);
            if (!useHardware) {
                info = "hardware decoder not requested";
            } else {
                nvjpegHandle probe = new nvjpegHandle();
                int status = nvjpegCreateEx(NVJPEG_BACKEND_HARDWARE, (nvjpegDevAllocator_t) null, (nvjpegPinnedAllocator_t) null,
                        NVJPEG_FLAGS_DEFAULT, probe);
                if (status != NVJPEG_STATUS_SUCCESS) {
                    info = "no hardware decoder (" + NvJpegException.statusName(status) + ")";
                } else {
                    int[] engines = {0}, cores = {0};
                    int s = nvjpegGetHardwareDecoderInfo(probe, engines, cores);
                    Native.check(Native.Library.NVJPEG, nvjpegDestroy(probe), "nvjpegDestroy(probe)");
                    hw = new Lane("hardware", NVJPEG_BACKEND_HARDWARE, maxBatch);
                    info = s == NVJPEG_STATUS_SUCCESS ? engines[0] + " engine(s) x " + cores[0] + " core(s)" : "hardware decoder";
                    info += hw.interpolated ? ", interpolated chroma upsampling" : "";
                }
            }
            Lane checker = hw != null ? hw : hybridLane;
            Native.check(Native.Library.NVJPEG, nvjpegJpegStreamCreate(checker.handle, parsed), "nvjpegJpegStreamCreate");
            Native.check(Native.Library.NVJPEG, nvjpegDecodeParamsCreate(checker.handle, rgbi), "nvjpegDecodeParamsCreate");
            Native.check(Native.Library.NVJPEG, nvjpegDecodeParamsSetOutputFormat(rgbi, NVJPEG_OUTPUT_RGBI), "nvjpegDecodeParamsSetOutputFormat(RGBI)");
        } catch (RuntimeException e) {
            if (hw != null) hw.close();
            if (hybridLane != null) hybridLane.close();
            throw e;
        }
        this.hybrid = hybridLane;
        this.hardware = hw;
        this.hardwareInfo = info;
        this.hybridStream = new CudaStream();
        this.hybridStart = new CudaEvent();
        this.hybridDone = new CudaEvent();
        this.hybridThread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "nvjpeg-hybrid");
            t.setDaemon(true);
            return t;
        });
    }

    public boolean hasHardware() { return hardware != null; }

    /** The hardware decoder's engines, or why it is not used. */
    public String hardwareInfo() { return hardwareInfo; }

    public long hardwareImages() { return hardwareImages.sum(); }

    public long hybridImages() { return hybridImages.sum(); }

    /** Images nvJPEG refused (handed back for the CPU decoder). */
    public long failedImages() { return failedImages.sum(); }

    /**
     * Queues the decode of every request on {@code stream} (the hybrid part on a helper stream that `stream` then
     * waits for). The bitstreams' pinned memory must stay untouched until `stream` has passed this point.
     * Returns the request indices nvJPEG could not decode; their device memory is left as it was.
     */
    public Result decode(List<Request> requests, CudaStream stream) {
        if (closed) throw new IllegalStateException("nvJPEG decoder used after close()");
        int n = requests.size();
        if (n > maxBatch) throw new IllegalArgumentException("nvJPEG: " + n + " images exceed the batch size " + maxBatch);
        int[] hw = new int[n], hy = new int[n];
        int hwCount = 0, hyCount = 0;
        List<Integer> capable = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (hardware != null && hardwareSupports(requests.get(i))) capable.add(i);
            else hy[hyCount++] = i;
        }
        int toHardware = (int) Math.round(hardwareShare * capable.size());
        for (int k = 0; k < capable.size(); k++) {
            if (k < toHardware) hw[hwCount++] = capable.get(k);
            else hy[hyCount++] = capable.get(k);
        }
        List<Integer> failedHardware = new ArrayList<>(), failedHybrid = new ArrayList<>();
        Future<?> hybridRun = null;
        if (hyCount > 0 && hwCount > 0) {
            // The hybrid decoder does its Huffman decoding on the calling thread: give it its own thread and stream.
            hybridStart.record(stream);
            int count = hyCount;
            hybridRun = hybridThread.submit(() -> {
                Native.check(Native.Library.CUDA, cudart.cudaSetDevice(device), "cudaSetDevice(" + device + ")");
                hybridStream.waitFor(hybridStart);
                hybrid.decode(requests, hy, count, hybridStream, failedHybrid);
                hybridDone.record(hybridStream);
            });
        } else if (hyCount > 0) {
            hybrid.decode(requests, hy, hyCount, stream, failedHybrid);
        }
        if (hwCount > 0) hardware.decode(requests, hw, hwCount, stream, failedHardware);
        if (hybridRun != null) {
            try {
                hybridRun.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DataException("interrupted while the hybrid nvJPEG decoder ran", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw new DataException("hybrid nvJPEG decode failed: " + e.getCause(), e.getCause());
            }
            stream.waitFor(hybridDone);
        }
        int hardwareOk = hwCount - failedHardware.size(), hybridOk = hyCount - failedHybrid.size();
        hardwareImages.add(hardwareOk);
        hybridImages.add(hybridOk);
        failedImages.add(failedHardware.size() + failedHybrid.size());
        int[] failed = java.util.stream.Stream.concat(failedHardware.stream(), failedHybrid.stream()).mapToInt(Integer::intValue).sorted().toArray();
        return new Result(hardwareOk, hybridOk, failed);
    }

    /** The hardware decoder's own verdict on this bitstream with RGBI output (progressive, 12-bit, CMYK: no). */
    private boolean hardwareSupports(Request r) {
        int status = nvjpegJpegStreamParseHeader(hardware.handle, Addresses.bytesAt(r.hostAddress()), r.length(), parsed);
        if (status != NVJPEG_STATUS_SUCCESS) return false;
        int[] supported = {-1};
        status = nvjpegDecodeBatchedSupportedEx(hardware.handle, parsed, rgbi, supported);
        return status == NVJPEG_STATUS_SUCCESS && supported[0] == 0;
    }

    /** One nvJPEG handle with two decode states used in turn, so one batch can be set up while the last decodes. */
    private static final class Lane implements AutoCloseable {
        final String name;
        final nvjpegHandle handle = new nvjpegHandle();
        final boolean interpolated;
        final nvjpegJpegState[] states = {new nvjpegJpegState(), new nvjpegJpegState()};
        final CudaEvent[] done = {new CudaEvent(), new CudaEvent()};
        final boolean[] used = new boolean[2];
        final PointerPointer<?>[] data;
        final SizeTPointer[] lengths;
        final nvjpegImage_t[] images;
        int next;

        Lane(String name, int backend, int capacity) {
            this.name = name;
            // Interpolated chroma upsampling is closer to libjpeg's "fancy" upsampling (the CPU reference decoder).
            int status = nvjpegCreateEx(backend, (nvjpegDevAllocator_t) null, (nvjpegPinnedAllocator_t) null,
                    NVJPEG_FLAGS_UPSAMPLING_WITH_INTERPOLATION, handle);
            boolean interp = status == NVJPEG_STATUS_SUCCESS;
            if (!interp) {
                status = nvjpegCreateEx(backend, (nvjpegDevAllocator_t) null, (nvjpegPinnedAllocator_t) null, NVJPEG_FLAGS_DEFAULT, handle);
            }
            Native.check(Native.Library.NVJPEG, status, "nvjpegCreateEx(" + name + ")");
            this.interpolated = interp;
            for (nvjpegJpegState s : states) Native.check(Native.Library.NVJPEG, nvjpegJpegStateCreate(handle, s), "nvjpegJpegStateCreate(" + name + ")");
            this.data = new PointerPointer<?>[] {new PointerPointer<>(capacity), new PointerPointer<>(capacity)};
            this.lengths = new SizeTPointer[] {new SizeTPointer(capacity), new SizeTPointer(capacity)};
            this.images = new nvjpegImage_t[] {new nvjpegImage_t(capacity), new nvjpegImage_t(capacity)};
        }

        /** Decodes requests[which[0..count)] on `stream`; appends the ones nvJPEG refuses to `failed`. */
        void decode(List<Request> requests, int[] which, int count, CudaStream stream, List<Integer> failed) {
            int s = next;
            next ^= 1;
            if (used[s]) done[s].synchronize();   // this state's previous batch has finished with its buffers
            used[s] = true;
            int status = batched(s, requests, which, 0, count, stream);
            if (status != NVJPEG_STATUS_SUCCESS) {
                if (!isDataError(status)) Native.check(Native.Library.NVJPEG, status, "nvjpegDecodeBatched(" + name + ", " + count + " images)");
                // Some bitstream in the batch is refused: decode one at a time to keep the good ones on the GPU.
                for (int k = 0; k < count; k++) {
                    stream.synchronize();
                    int one = batched(s, requests, which, k, 1, stream);
                    if (one == NVJPEG_STATUS_SUCCESS) continue;
                    if (!isDataError(one)) Native.check(Native.Library.NVJPEG, one, "nvjpegDecodeBatched(" + name + ", 1 image)");
                    failed.add(which[k]);
                }
            }
            done[s].record(stream);
        }

        private int batched(int s, List<Request> requests, int[] which, int from, int count, CudaStream stream) {
            PointerPointer<?> d = data[s];
            SizeTPointer len = lengths[s];
            nvjpegImage_t img = images[s];
            for (int i = 0; i < count; i++) {
                Request r = requests.get(which[from + i]);
                d.put(i, Addresses.at(r.hostAddress()));
                len.put(i, r.length());
                img.position(i).channel(0, Addresses.bytesAt(r.deviceAddress())).pitch(0, r.pitch());
                for (int c = 1; c < NVJPEG_MAX_COMPONENT; c++) img.channel(c, (BytePointer) null).pitch(c, 0);
            }
            img.position(0);
            int status = nvjpegDecodeBatchedInitialize(handle, states[s], count, 1, NVJPEG_OUTPUT_RGBI);
            if (status != NVJPEG_STATUS_SUCCESS) return status;
            return nvjpegDecodeBatched(handle, states[s], d, len, img, stream.handle());
        }

        @Override public void close() {
            for (int s = 0; s < 2; s++) {
                if (used[s]) done[s].synchronize();
                Native.check(Native.Library.NVJPEG, nvjpegJpegStateDestroy(states[s]), "nvjpegJpegStateDestroy(" + name + ")");
                done[s].close();
                data[s].close();
                lengths[s].close();
                images[s].close();
            }
            Native.check(Native.Library.NVJPEG, nvjpegDestroy(handle), "nvjpegDestroy(" + name + ")");
        }
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        hybridThread.shutdownNow();
        hybridStream.synchronize();
        Native.check(Native.Library.NVJPEG, nvjpegDecodeParamsDestroy(rgbi), "nvjpegDecodeParamsDestroy");
        Native.check(Native.Library.NVJPEG, nvjpegJpegStreamDestroy(parsed), "nvjpegJpegStreamDestroy");
        if (hardware != null) hardware.close();
        hybrid.close();
        hybridStart.close();
        hybridDone.close();
        hybridStream.close();
    }
}
