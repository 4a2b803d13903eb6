// A training run as a directory a person can read: config.json (the resolved configuration), metrics.jsonl
// (one JSON object per logged step or epoch), checkpoints written atomically with a completion marker, and PNG plots.
// A new run gets a directory of its own (created exclusively); a resumed run continues its directory. While a run
// is live it holds a lock on .lock, so two processes never write one directory.
package org.compress.engine.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

public final class RunDirectory implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper JSON_LINE = new ObjectMapper();

    private final Path root;
    private final BufferedWriter metrics;
    private final List<Map<String, Object>> history = new ArrayList<>();
    private final FileChannel lockChannel;
    private final FileLock lock;
    private int keepLast;
    private Progress.Mode progress = Progress.Mode.AUTO;

    /** A run directory at {@code root} (created if needed; an existing one is taken over as it is). */
    public RunDirectory(Path root, Object resolvedConfig) {
        this(root, resolvedConfig, false, null);
    }

    private RunDirectory(Path root, Object resolvedConfig, boolean resuming, Predicate<Map<String, Object>> keep) {
        this.root = root;
        FileChannel ch = null;
        try {
            Files.createDirectories(root.resolve("checkpoints"));
            ch = FileChannel.open(root.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (java.nio.channels.OverlappingFileLockException e) {
                l = null;
            }
            if (l == null) throw new RunDirectoryInUseException(root);
            lockChannel = ch;
            lock = l;
            if (resuming) {
                removeStaleTemporaries(root);
                recordResume(root, resolvedConfig);
                keepHistory(root.resolve("metrics.jsonl"), keep);
            } else {
                writeAtomically(root.resolve("config.json"), JSON.writeValueAsBytes(resolvedConfig));
            }
            metrics = Files.newBufferedWriter(root.resolve("metrics.jsonl"), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new UncheckedIOException("cannot create run directory " + root + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    /**
     * A new run directory runsRoot/NAME, created exclusively: if another run (another process started in the same
     * second) already took NAME, NAME-2, NAME-3, ... are tried, so two runs never share a directory.
     */
    public static RunDirectory create(Path runsRoot, String name, Object resolvedConfig) {
        try {
            Files.createDirectories(runsRoot);
            for (int n = 1; ; n++) {
                Path dir = runsRoot.resolve(n == 1 ? name : name + "-" + n);
                try {
                    Files.createDirectory(dir);
                    return new RunDirectory(dir, resolvedConfig);
                } catch (FileAlreadyExistsException taken) {
                    if (n == 1000) throw new UncheckedIOException("cannot create a run directory " + runsRoot.resolve(name) + "-N", taken);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create run directory under " + runsRoot + ": " + e.getMessage(), e);
        }
    }

    /**
     * Continues an existing run directory: temporary files of interrupted writes are deleted, config.json gains a
     * "resumes" entry (checkpoint and time; {@code resume} describes it), and metrics.jsonl keeps only the records
     * {@code keep} accepts (those up to the checkpoint), so its step numbers and the plots run on without repeats.
     */
    public static RunDirectory resume(Path dir, Map<String, Object> resume, Predicate<Map<String, Object>> keep) {
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalArgumentException("resume: " + dir + " is not a run directory (no config.json)");
        }
        return new RunDirectory(dir, resume, true, keep);
    }

    /** Deletes ".NAME*.tmp" files that killed writes left in the run directory and its checkpoints/ folder. */
    static int removeStaleTemporaries(Path root) throws IOException {
        int removed = 0;
        for (Path folder : List.of(root, root.resolve("checkpoints"))) {
            if (!Files.isDirectory(folder)) continue;
            try (var files = Files.list(folder)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    String n = f.getFileName().toString();
                    if (n.startsWith(".") && n.endsWith(".tmp") && Files.isRegularFile(f)) {
                        Files.delete(f);
                        removed++;
                    }
                }
            }
        }
        if (removed > 0) org.slf4j.LoggerFactory.getLogger(RunDirectory.class).info("removed {} stale temporary files in {}", removed, root);
        return removed;
    }

    private static void recordResume(Path root, Object resume) throws IOException {
        Path file = root.resolve("config.json");
        com.fasterxml.jackson.databind.node.ObjectNode config = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(file.toFile());
        com.fasterxml.jackson.databind.node.ArrayNode resumes = config.has("resumes") ? (com.fasterxml.jackson.databind.node.ArrayNode)
                config.get("resumes") : config.putArray("resumes");
        resumes.add(JSON.valueToTree(resume));
        writeAtomically(file, JSON.writeValueAsBytes(config));
    }

    @SuppressWarnings("unchecked")
    private void keepHistory(Path file, Predicate<Map<String, Object>> keep) throws IOException {
        if (!Files.exists(file)) return;
        StringBuilder kept = new StringBuilder();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            Map<String, Object> r;
            try {
                r = JSON_LINE.readValue(line, LinkedHashMap.class);
            } catch (IOException torn) { // the last line of a killed run may be cut short
                continue;
            }
            if (keep.test(r)) {
                history.add(r);
                kept.append(line).append('\n');
            }
        }
        writeAtomically(file, kept.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch == null) return;
        try {
            ch.close();
        } catch (IOException ignored) {
            // already failing; the original error is reported
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
     * After {@code newest} (a checkpoint of {@code stage}: "moco" or "compress") was completed: keeps the newest
     * keepLast complete checkpoints of that stage (epoch and mid-epoch ones, ordered as ResumePoint orders them) and
     * deletes the older ones, marker first, so a crash in between leaves an unmarked file, never a marked one.
     * {@code newest} itself is never deleted: it is the last good checkpoint and the one --resume picks. Files without
     * a .done marker are neither counted nor touched.
     */
    public void pruneCheckpoints(String stage, Path newest) {
        if (keepLast == 0) return;
        List<Path> complete = new ArrayList<>();
        try (var files = Files.list(root.resolve("checkpoints"))) {
            files.filter(f -> ResumePoint.isCheckpointOf(stage, f) && isComplete(f)).forEach(complete::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root.resolve("checkpoints") + ": " + e.getMessage(), e);
        }
        complete.sort(java.util.Comparator.comparingLong(ResumePoint::order).reversed());
        for (Path file : complete.subList(Math.min(keepLast, complete.size()), complete.size())) {
            if (file.toAbsolutePath().equals(newest.toAbsolutePath())) continue;
            try {
                Files.deleteIfExists(file.resolveSibling(file.getFileName() + ".done"));
                Files.deleteIfExists(file);
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

    /**
     * Writes via a temporary file in the same folder, fsync, then an atomic rename (AtomicFiles.write): the temporary
     * name is unique, so two writers of one file (two runs updating their folder's summary.csv) never write into or
     * rename each other's temporary.
     */
    public static void writeAtomically(Path target, byte[] bytes) throws IOException {
        org.compress.engine.io.AtomicFiles.write(target, bytes);
    }

    @Override public synchronized void close() {
        try {
            metrics.close();
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Another live process holds the run directory (a run being resumed twice at once). */
    public static final class RunDirectoryInUseException extends org.compress.engine.EngineException {
        RunDirectoryInUseException(Path root) {
            super("run directory " + root + " is in use by another running process");
        }
    }
}
