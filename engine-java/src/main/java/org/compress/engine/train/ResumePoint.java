// Where `--resume auto|RUN_DIR|CHECKPOINT` continues: the run directory and its newest complete checkpoint (CompRess
// before MoCo, later epochs and batches first). auto: the newest run directory of the same kind under the runs folder
// that has not finished (no summary.json) and holds a complete checkpoint, or none (then a new run starts).
package org.compress.engine.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public record ResumePoint(Path runDirectory, Path checkpoint, String stage) {
    private static final Pattern NAME = Pattern.compile("(moco|compress)-epoch-(\\d+)(?:-batch-(\\d+))?\\.safetensors");

    /** "moco" or "compress": the stage the checkpoint belongs to. */
    public boolean isMoco() { return stage.equals("moco"); }

    /**
     * Resolves the --resume argument; empty for "auto" when nothing is resumable. Fails (IllegalArgumentException)
     * for a path that is neither a run directory nor a checkpoint in one.
     */
    public static Optional<ResumePoint> resolve(String arg, Path runsRoot) { return resolve(arg, runsRoot, null); }

    /**
     * As above; "auto" looks only at run directories of {@code kind} (named yyyyMMdd-HHmmss-KIND or ...-KIND-N, as
     * StageRunner names them; null: any), so an unfinished `pretrain` is not taken for the `distill` being resumed.
     */
    public static Optional<ResumePoint> resolve(String arg, Path runsRoot, String kind) {
        if (arg == null) return Optional.empty();
        if (arg.equals("auto")) return auto(runsRoot, kind);
        Path p = Path.of(arg);
        if (Files.isDirectory(p)) {
            if (!Files.isRegularFile(p.resolve("config.json"))) {
                throw new IllegalArgumentException("--resume " + p + ": not a run directory (it has no config.json)");
            }
            return Optional.of(newest(p).orElseThrow(() -> new IllegalArgumentException("--resume " + p
                    + ": the run directory holds no complete checkpoint (checkpoints/*-epoch-*.safetensors with .done)")));
        }
        if (!Files.isRegularFile(p)) throw new IllegalArgumentException("--resume " + p + ": no such run directory or checkpoint file");
        Matcher m = NAME.matcher(p.getFileName().toString());
        Path dir = p.toAbsolutePath().getParent().getParent();
        if (!m.matches() || !Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalArgumentException("--resume " + p + ": expected RUN_DIR/checkpoints/(moco|compress)-epoch-N[-batch-B].safetensors");
        }
        return Optional.of(new ResumePoint(dir, p.toAbsolutePath(), m.group(1)));
    }

    /** The newest complete training checkpoint of a run directory. */
    static Optional<ResumePoint> newest(Path runDir) {
        Path folder = runDir.resolve("checkpoints");
        if (!Files.isDirectory(folder)) return Optional.empty();
        List<Path> found = new ArrayList<>();
        try (var files = Files.list(folder)) {
            files.filter(f -> NAME.matcher(f.getFileName().toString()).matches() && RunDirectory.isComplete(f)).forEach(found::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + folder, e);
        }
        return found.stream().max(Comparator.comparingLong(ResumePoint::order))
                .map(f -> new ResumePoint(runDir.toAbsolutePath(), f.toAbsolutePath(), stageOf(f)));
    }

    private static Optional<ResumePoint> auto(Path runsRoot, String kind) {
        if (!Files.isDirectory(runsRoot)) return Optional.empty();
        Pattern named = kind == null ? null : Pattern.compile("\\d{8}-\\d{6}-" + Pattern.quote(kind) + "(-\\d+)?");
        List<Path> dirs = new ArrayList<>();
        try (var files = Files.list(runsRoot)) {
            files.filter(d -> Files.isRegularFile(d.resolve("config.json")) && !Files.exists(d.resolve("summary.json")))
                    .filter(d -> named == null || named.matcher(d.getFileName().toString()).matches()).forEach(dirs::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + runsRoot, e);
        }
        dirs.sort(Comparator.comparing((Path d) -> {
            try {
                return Files.getLastModifiedTime(d.resolve("metrics.jsonl").toFile().exists() ? d.resolve("metrics.jsonl") : d);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).reversed());
        for (Path d : dirs) {
            Optional<ResumePoint> p = newest(d);
            if (p.isPresent()) return p;
        }
        return Optional.empty();
    }

    private static String stageOf(Path f) {
        Matcher m = NAME.matcher(f.getFileName().toString());
        if (!m.matches()) throw new IllegalArgumentException(f + " is not a training checkpoint");
        return m.group(1);
    }

    /** Whether {@code f} is named as a training checkpoint of {@code stage} ("moco" or "compress"). */
    static boolean isCheckpointOf(String stage, Path f) {
        Matcher m = NAME.matcher(f.getFileName().toString());
        return m.matches() && m.group(1).equals(stage);
    }

    /** Later is larger: CompRess after MoCo, then epoch, then batch (a finished epoch after all its batches). */
    static long order(Path f) {
        Matcher m = NAME.matcher(f.getFileName().toString());
        m.matches();
        long stage = m.group(1).equals("compress") ? 1 : 0;
        long epoch = Long.parseLong(m.group(2));
        long batch = m.group(3) == null ? (1L << 30) : Long.parseLong(m.group(3));
        return (stage << 62) | (epoch << 31) | batch;
    }
}
