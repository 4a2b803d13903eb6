// Every hand-written CUDA kernel of kernels/ executed on the CPU: the unchanged sources compiled with g++ against
// kernels/emu (a fiber per CUDA thread, block barriers, warp collectives, ldmatrix / mma.sync with the hardware's
// operand rounding, cp.async groups that land at their wait, poisoned and bounds-checked memory), run through their
// production launchers by the C++ drivers kernels/emu/loss_emu_test.cpp and kernels_emu_test.cpp against double
// references, each case under two or more thread schedules that must agree bit for bit. Here the quick loss set on
// 7 SMs and the whole layer set; .ci/run runs the full loss set on 1, 3, 7 and 132 SMs and the mutation check.
// It says nothing about nvcc's code generation, timing or the hardware memory model (the GPU tests do).
package org.compress.engine.emu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.compress.engine.testing.CudaHeaders;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class KernelEmulationTest {
    static Path root, build;

    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("kernels/emu/Makefile"))) p = p.getParent();
        return p;
    }

    record Result(int rc, String output) {}

    static Result run(List<String> cmd, int timeoutSeconds) throws IOException, InterruptedException {
        Path log = Files.createTempFile("kernel-emu", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out after " + timeoutSeconds + " s: " + cmd + "\n" + Files.readString(log));
            }
            return new Result(p.exitValue(), Files.readString(log));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    @BeforeAll static void buildDrivers() throws IOException, InterruptedException {
        root = repoRoot();
        Assumptions.assumeTrue(root != null, "kernels/emu not found above " + Path.of("").toAbsolutePath());
        Path include = CudaHeaders.include();
        Assumptions.assumeTrue(include != null, "no CUDA headers (cuda_runtime_api.h, cuda_bf16.h) to compile the kernels with g++");
        // The build folder is shared with .ci/run (make is incremental), so CI compiles the kernels once.
        build = root.resolve("kernels/emu/build");
        Result r;
        try {
            r = run(List.of("make", "-s", "-j2", "-C", root.resolve("kernels/emu").toString(), "CUDA_INCLUDE=" + include,
                    "BUILD=" + build), 900);
        } catch (IOException e) {
            Assumptions.abort("no make/g++ to build the kernel emulation: " + e.getMessage());
            return;
        }
        assertEquals(0, r.rc(), "building kernels/emu failed:\n" + r.output());
    }

    /** A driver passes when it exits 0 and its summary line reports cases and no failures. */
    static void assertPasses(Result r, String summaryStart) {
        String summary = r.output().lines().filter(l -> l.startsWith(summaryStart)).findFirst().orElse("(no summary line)");
        System.out.println(summary);
        assertEquals(0, r.rc(), "driver failed (exit " + r.rc() + "):\n" + r.output());
        assertTrue(summary.matches(".*: [1-9][0-9]* kernels \\([1-9][0-9]* compiled instances\\), [1-9][0-9]* cases, [1-9][0-9]* runs, "
                + "[1-9][0-9]* launches, 0 failures"),
                "unexpected summary: " + summary);
    }

    @Test void theEmulatorStopsBrokenKernelsAndMatchesThePtxSemantics() throws IOException, InterruptedException {
        Result r = run(List.of(build.resolve("emu_selftest").toString()), 120);
        String summary = r.output().lines().filter(l -> l.startsWith("emulator self-test")).findFirst().orElse("(no summary line)");
        System.out.println(summary);
        assertEquals(0, r.rc(), "emulator self-test failed:\n" + r.output());
        assertTrue(summary.matches("emulator self-test: [1-9][0-9]* checks, 0 failures"), "unexpected summary: " + summary);
    }

    @Test void lossKernelsMatchTheReferenceUnderEveryScheduleOnSevenSms() throws IOException, InterruptedException {
        assertPasses(run(List.of(build.resolve("loss_emu_test").toString(), "--sms", "7", "--quick"), 600), "loss kernels on 7 SMs");
    }

    @Test void layerAndTrainingKernelsMatchTheReference() throws IOException, InterruptedException {
        assertPasses(run(List.of(build.resolve("kernels_emu_test").toString()), 600), "layer/training kernels");
    }
}
