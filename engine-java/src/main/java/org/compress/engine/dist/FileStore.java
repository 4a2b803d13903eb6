// Key-value store in a folder on a file system every rank sees (COMPRESS_STORE_FILE, like torch's FileStore):
// one file per key, written atomically (AtomicFiles: temp file + rename); get() polls. It cannot tell which rank died.
package org.compress.engine.dist;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import org.compress.engine.io.AtomicFiles;

public final class FileStore implements Store {
    private final Path dir;
    private final Duration timeout;

    public FileStore(Path dir, Duration timeout) {
        this.dir = dir;
        this.timeout = timeout;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new DistException("store: cannot create the shared store folder " + dir + ": " + e, e);
        }
    }

    private Path file(String key) { return dir.resolve(HexFormat.of().formatHex(key.getBytes(StandardCharsets.UTF_8))); }

    @Override public void set(String key, byte[] value) {
        Path target = file(key);
        try {
            AtomicFiles.write(target, value);   // the umask's permissions: ranks may run as other users of a group
        } catch (IOException e) {
            throw new DistException("store: cannot write key '" + key + "' to " + target + ": " + e, e);
        }
    }

    @Override public byte[] get(String key) {
        byte[] v = tryGet(key, timeout);
        if (v == null) {
            throw new DistException("store: key '" + key + "' did not appear in " + dir + " within " + timeout.toSeconds() + " s");
        }
        return v;
    }

    @Override public byte[] tryGet(String key, Duration wait) {
        Path f = file(key);
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            try {
                if (Files.exists(f)) return Files.readAllBytes(f);
            } catch (IOException e) {
                throw new DistException("store: cannot read key '" + key + "' from " + f + ": " + e, e);
            }
            if (System.nanoTime() >= deadline) return null;
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }

    @Override public void close() {}
}
