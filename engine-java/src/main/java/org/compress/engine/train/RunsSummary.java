// summary.csv in a runs folder: one row per run directory that has a summary.json, its nested values flattened
// into columns ("knn_top1.student.1"), rewritten atomically after every run so it always lists them all. Runs that
// end together in one folder take turns (a lock file, .summary.csv.lock, across processes; a monitor within one),
// so the last writer has listed every summary.json written before it and no row is lost; the temporary files of
// writes killed before their rename are deleted then.
package org.compress.engine.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

public final class RunsSummary {
    private RunsSummary() {}

    private static final Object IN_PROCESS = new Object();

    public static Path update(Path runsRoot) {
        synchronized (IN_PROCESS) {
            try (FileChannel lockFile = FileChannel.open(runsRoot.resolve(".summary.csv.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
                 FileLock ignored = lockFile.lock()) {
                removeStaleTemporaries(runsRoot);
                return rewrite(runsRoot);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + runsRoot.resolve("summary.csv") + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * Deletes ".summary.csv.*.tmp" files of writes killed before their rename: only the holder of the lock writes one,
     * so under the lock any that exists is stale.
     */
    private static void removeStaleTemporaries(Path runsRoot) throws IOException {
        try (Stream<Path> files = Files.list(runsRoot)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                if (n.startsWith(".summary.csv.") && n.endsWith(".tmp") && Files.isRegularFile(f)) Files.deleteIfExists(f);
            }
        }
    }

    private static Path rewrite(Path runsRoot) {
        ObjectMapper json = new ObjectMapper();
        List<Map<String, String>> rows = new ArrayList<>();
        Set<String> columns = new LinkedHashSet<>(List.of("run"));
        try (Stream<Path> dirs = Files.list(runsRoot)) {
            for (Path dir : dirs.filter(Files::isDirectory).sorted().toList()) {
                Path summary = dir.resolve("summary.json");
                if (!Files.isRegularFile(summary)) continue;
                Map<String, String> row = new LinkedHashMap<>();
                row.put("run", dir.getFileName().toString());
                flatten("", json.readTree(summary.toFile()), row);
                columns.addAll(row.keySet());
                rows.add(row);
            }
            StringBuilder csv = new StringBuilder(String.join(",", columns.stream().map(RunsSummary::quote).toList())).append('\n');
            for (Map<String, String> row : rows) {
                csv.append(String.join(",", columns.stream().map(c -> quote(row.getOrDefault(c, ""))).toList())).append('\n');
            }
            Path file = runsRoot.resolve("summary.csv");
            RunDirectory.writeAtomically(file, csv.toString().getBytes(StandardCharsets.UTF_8));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + runsRoot.resolve("summary.csv") + ": " + e.getMessage(), e);
        }
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> row) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), row));
        } else if (node.isArray()) {
            row.put(prefix, node.toString());
        } else {
            row.put(prefix, node.asText());
        }
    }

    private static String quote(String v) {
        return v.contains(",") || v.contains("\"") || v.contains("\n") ? "\"" + v.replace("\"", "\"\"") + "\"" : v;
    }
}
