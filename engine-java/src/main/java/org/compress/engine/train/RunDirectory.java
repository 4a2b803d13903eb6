// A training run as a directory a person can read: config.json (the resolved configuration), metrics.jsonl
// (one JSON object per logged step or epoch), checkpoints written atomically with a completion marker, and PNG plots.
package org.compress.engine.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class RunDirectory implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper JSON_LINE = new ObjectMapper();

    private final Path root;
    private final BufferedWriter metrics;
    private final List<Map<String, Object>> history = new ArrayList<>();
    private int keepLast;
    private Progress.Mode progress = Progress.Mode.AUTO;

    public RunDirectory(Path root, Object resolvedConfig) {
        this.root = root;
        try {
            Files.createDirectories(root.resolve("checkpoints"));
            writeAtomically(root.resolve("config.json"), JSON.writeValueAsBytes(resolvedConfig));
            metrics = Files.newBufferedWriter(root.resolve("metrics.jsonl"), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create run directory " + root + ": " + e.getMessage(), e);
        }
    }

    public Path root() { return root; }

    /** Keep only the last {@code k} epoch checkpoints of each kind (0 = keep all). */
    public void keepLast(int k) {
        if (k < 0) throw new IllegalArgumentException("keep-last: expected 0 (all) or more, found " + k);
        keepLast = k;
    }

    public int keepLast() { return keepLast; }

    void progress(Progress.Mode mode) { progress = mode; }

    Progress.Mode progress() { return progress; }

    /**
     * After checkpoints/PREFIX-EPOCH.safetensors was completed: deletes PREFIX-E.safetensors (marker first, so a
     * crash in between leaves an incomplete file, never a marked one) for every E <= epoch - keepLast.
     */
    public void pruneEpochCheckpoints(String prefix, int epoch) {
        if (keepLast == 0) return;
        for (int e = epoch - keepLast; e >= 0; e--) {
            Path file = checkpointPath(prefix + e + ".safetensors");
            try {
                Files.deleteIfExists(file.resolveSibling(file.getFileName() + ".done"));
                if (!Files.deleteIfExists(file)) break;   // older ones were pruned before
            } catch (IOException ex) {
                throw new UncheckedIOException("cannot delete old checkpoint " + file + ": " + ex.getMessage(), ex);
            }
        }
    }

    /** Appends one metrics record (flushed at once, so a crash loses nothing already logged). */
    public synchronized void log(Map<String, Object> record) {
        Map<String, Object> copy = new LinkedHashMap<>(record);
        history.add(copy);
        try {
            metrics.write(JSON_LINE.writeValueAsString(copy));
            metrics.newLine();
            metrics.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + root.resolve("metrics.jsonl"), e);
        }
    }

    public synchronized List<Map<String, Object>> history() { return List.copyOf(history); }

    /** checkpoints/NAME, written to a temporary file, fsynced and renamed; then NAME.done marks it complete. */
    public Path checkpointPath(String name) { return root.resolve("checkpoints").resolve(name); }

    public void markComplete(Path checkpoint) {
        try {
            writeAtomically(checkpoint.resolveSibling(checkpoint.getFileName() + ".done"), new byte[0]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static boolean isComplete(Path checkpoint) {
        return Files.exists(checkpoint) && Files.exists(checkpoint.resolveSibling(checkpoint.getFileName() + ".done"));
    }

    /** Writes via a temporary file in the same folder, fsync, then an atomic rename. */
    public static void writeAtomically(Path target, byte[] bytes) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(bytes));
            ch.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Override public synchronized void close() {
        try {
            metrics.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
