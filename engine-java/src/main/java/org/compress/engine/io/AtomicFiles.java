// Whole-file writes that a reader never sees half done: a uniquely named temporary in the target's folder, fsync,
// then an atomic rename. Not Files.createTempFile, which makes the file owner-only (0600): what is written here keeps
// the umask's permissions, like any other file the user writes.
package org.compress.engine.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.Random;

public final class AtomicFiles {
    private static final Random TEMP_NAMES = new SecureRandom();

    private AtomicFiles() {}

    /** A fresh name ".NAME.<random>.tmp" beside {@code target} for a temporary that is renamed onto it. */
    public static Path temporaryFor(Path target) {
        return target.resolveSibling("." + target.getFileName() + "." + Long.toUnsignedString(TEMP_NAMES.nextLong(), 36) + ".tmp");
    }

    /**
     * Writes {@code bytes} to {@code target} via ".NAME.<random>.tmp" beside it (unique, so two writers of one file
     * never write into or rename each other's temporary); the temporary is gone afterwards, whatever happens.
     */
    public static void write(Path target, byte[] bytes) throws IOException {
        Path tmp = temporaryFor(target);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) ch.write(buf);
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
