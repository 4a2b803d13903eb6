// The augmentation kernels' code (kernels/augment.cu, augment_device.cuh, unchanged) compiled with g++ and run
// through augment_batch by kernels/emu/ (a fiber per CUDA thread), against the CPU transforms. This checks the kernels' logic and the Java/C++ job
// layout on a machine without a GPU; it cannot check nvcc's code or the device (AugmentKernelsTest does, on one).
// Tolerance 2e-6 absolute on normalised values (|x| < 2.7): the kernels round every operation as the Java code
// does, so only the contrast mean differs, by its double sum running in another order (a float ulp at most).
// Skips (with the reason) without g++ or the CUDA headers.
package org.compress.engine.data.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.compress.engine.testing.Close;
import org.compress.engine.testing.CudaHeaders;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AugmentEmulationTest {
    static final double ATOL = 2e-6;
    @TempDir static Path dir;
    static Path emulator;

    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("kernels/augment_device.cuh"))) p = p.getParent();
        return p;
    }

    static int run(List<String> cmd, Path log) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    @BeforeAll static void build() throws IOException, InterruptedException {
        Path root = repoRoot();
        Assumptions.assumeTrue(root != null, "kernels/ not found above " + Path.of("").toAbsolutePath());
        Path include = CudaHeaders.include();
        Assumptions.assumeTrue(include != null, "no CUDA headers (cuda_runtime_api.h, cuda_bf16.h) to build the host emulation with");
        emulator = dir.resolve("augment_emu");
        Path log = dir.resolve("build.log");
        int rc;
        try {
            Path k = root.resolve("kernels");
            rc = run(List.of("g++", "-std=c++20", "-O2", "-ffp-contract=off", "-pthread", "-Wno-unknown-pragmas",
                    "-DCOMPRESS_EMU", "-include", k.resolve("emu/cuda_emu.h").toString(), "-I" + include, "-I" + k,
                    "-I" + k.resolve("emu"), k.resolve("emu/augment_emu.cpp").toString(), k.resolve("emu/emu_runtime.cpp").toString(),
                    "-x", "c++", k.resolve("augment.cu").toString(), "-o", emulator.toString()), log);
        } catch (IOException e) {
            Assumptions.abort("no g++ to build the host emulation: " + e.getMessage());
            return;
        }
        assertEquals(0, rc, "building the emulation failed:\n" + Files.readString(log));
    }

    static float[] emulate(AugmentCases.Case c, boolean bf16) throws IOException, InterruptedException {
        AugmentJobs jobs = c.jobs(0);   // sources as offsets into the image blob; the emulator adds its base
        ByteBuffer upload = ByteBuffer.allocate((int) jobs.uploadBytes()).order(ByteOrder.nativeOrder());
        jobs.write(upload);
        Path in = dir.resolve(c.name() + ".case"), out = dir.resolve(c.name() + ".out");
        ByteBuffer h = ByteBuffer.allocate(4 * 10 + 4 * 6 + 8 * 6).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0x41554745).putInt(c.outH()).putInt(c.outW()).putInt(jobs.jobCount()).putInt(jobs.maxCropHeight())
                .putInt(jobs.finishCount()).putInt(jobs.blurCount()).putInt(jobs.maxBlurSize()).putInt(bf16 ? 1 : 0).putInt(c.samples());
        float[] mean = c.normalize().mean(), std = c.normalize().std();
        for (int k = 0; k < 3; k++) h.putFloat(mean[k]);
        for (int k = 0; k < 3; k++) h.putFloat(std[k]);
        h.putLong(jobs.uploadBytes()).putLong(jobs.tapsOffset()).putLong(jobs.finishOffset()).putLong(jobs.blurOffset())
                .putLong(jobs.scratchFloats()).putLong(c.imageBytes());
        try (DataOutputStream o = new DataOutputStream(Files.newOutputStream(in))) {
            o.write(h.array());
            o.write(upload.array());
            o.write(c.imageBlob());
        }
        Path log = dir.resolve(c.name() + ".log");
        int rc = run(List.of(emulator.toString(), in.toString(), out.toString()), log);
        assertEquals(0, rc, "emulation of " + c.name() + " failed:\n" + Files.readString(log));
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(out)).order(ByteOrder.LITTLE_ENDIAN);
        float[] r = new float[b.remaining() / 4];
        b.asFloatBuffer().get(r);
        return r;
    }

    static float[] slots(float[] all, boolean[] written, int floats) {
        List<float[]> parts = new ArrayList<>();
        for (int s = 0; s < written.length; s++) if (written[s]) parts.add(java.util.Arrays.copyOfRange(all, s * floats, (s + 1) * floats));
        float[] out = new float[parts.size() * floats];
        for (int i = 0; i < parts.size(); i++) System.arraycopy(parts.get(i), 0, out, i * floats, floats);
        return out;
    }

    /** The cases exercise every branch of the kernels: flip, each colour op, grayscale, blur, eval's window. */
    static void assertCoverage(List<AugmentCases.Case> cases) {
        int[] seen = new int[8];
        for (AugmentCases.Case c : cases) {
            for (AugmentCases.Job j : c.jobs()) {
                AugmentParams p = j.params();
                if (p.flip()) seen[0]++;
                if (p.grayscale()) seen[1]++;
                if (p.hasBlur()) seen[2]++;
                if (p.windowTop() > 0 || p.windowLeft() > 0) seen[3]++;
                if (p.jitter() != null) for (int op : p.jitter().order()) seen[4 + op]++;
            }
        }
        for (int k = 0; k < seen.length; k++) assertTrue(seen[k] > 0, "case coverage " + k + ": " + java.util.Arrays.toString(seen));
    }

    @Test void kernelsMatchTheCpuTransforms() throws IOException, InterruptedException {
        assertCoverage(AugmentCases.all());
        for (AugmentCases.Case c : AugmentCases.all()) {
            float[] expected = c.expected(), actual = emulate(c, false);
            assertEquals(expected.length, actual.length, c.name() + ": output size");
            boolean[] w = c.written();
            float[] e = slots(expected, w, c.sampleFloats()), a = slots(actual, w, c.sampleFloats());
            Close.assertFiniteNonZero(c.name(), a);
            Close.assertClose(c.name() + " (F32)", a, e, ATOL, 0);
        }
    }

    @Test void bf16OutputIsTheRoundedF32() throws IOException, InterruptedException {
        AugmentCases.Case c = AugmentCases.custom();   // every op, blur, both flips
        float[] expected = c.expected(), actual = emulate(c, true);
        float[] rounded = new float[expected.length];
        int exact = 0;
        for (int i = 0; i < expected.length; i++) {
            rounded[i] = org.compress.engine.tensor.BFloat16.round(expected[i]);
            if (rounded[i] == actual[i]) exact++;
        }
        // A value within ATOL of a rounding boundary may round the other way: one bf16 ulp (2^-7 relative).
        Close.assertClose("custom (BF16)", actual, rounded, 1e-6, 1.0 / 128);
        assertTrue(exact > 0.99 * expected.length, exact + " of " + expected.length + " bf16 values identical");
    }
}
