// Runs a Python script with Debian's PyTorch (/usr/bin/python3 with python3-torch and python3-torchvision), for
// tests that check a file this engine writes against PyTorch itself; available() says whether that can run here.
package org.compress.engine.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

public final class PythonTorch {
    public static final String PYTHON = "/usr/bin/python3";
    private static Boolean available;

    private PythonTorch() {}

    /** Why the PyTorch checks cannot run here, or null when they can. */
    public static synchronized String unavailableReason() {
        if (!Files.isExecutable(Path.of(PYTHON))) return PYTHON + " is missing (scripts/setup.sh --tests installs python3-torch)";
        if (available == null) {
            try {
                available = run("import torch, torchvision").exitCode() == 0;
            } catch (RuntimeException e) {
                available = false;
            }
        }
        return available ? null : "python3-torch / python3-torchvision are not importable by " + PYTHON + " (scripts/setup.sh --tests)";
    }

    public record Output(int exitCode, String text) {}

    /** Runs {@code script} with {@code args}; stdout and stderr together. */
    public static Output run(String script, String... args) {
        try {
            Path file = Files.createTempFile("compress-test", ".py");
            Files.writeString(file, script);
            List<String> cmd = new ArrayList<>(List.of(PYTHON, file.toString()));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("python timed out: " + script);
            }
            Files.deleteIfExists(file);
            return new Output(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new RuntimeException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeException(e);
        }
    }
}
