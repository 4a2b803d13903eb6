// Reads and writes state dicts as safetensors files (https://github.com/huggingface/safetensors): the reader
// validates the whole header before any tensor is touched; the writer is atomic (temp file, fsync, rename) and
// records a CRC-32C of every tensor's bytes in __metadata__ ("checksum:NAME"), which the reader verifies.
package org.compress.engine.io;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.compress.engine.tensor.Device;
import org.compress.engine.tensor.Tensor;

public final class Safetensors {
    /** Elements encoded per write: bounds the writer's scratch buffer (16 MiB for F32) whatever the tensor size. */
    private static final int WRITE_CHUNK_ELEMENTS = 4 << 20;

    /** Metadata key prefix of the per-tensor checksums this writer adds (value "crc32c:" + 8 hex digits). */
    public static final String CHECKSUM_PREFIX = "checksum:";

    private Safetensors() {}

    /** Opens a file for reading single tensors or the header; close it when done. */
    public static SafetensorsFile open(Path file) { return SafetensorsFile.open(file); }

    /** All tensors of a file as CPU tensors, in data order. */
    public static Map<String, Tensor> read(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.readAll();
        }
    }

    /** The __metadata__ string map of a file (empty if it has none). */
    public static Map<String, String> readMetadata(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.metadata();
        }
    }

    public static void write(Path file, Map<String, Tensor> tensors) { write(file, tensors, Map.of()); }

    /**
     * Writes CPU tensors (any memory format; the file holds the logical row-major order) with names sorted,
     * data laid out in that order, and the header padded with spaces to a multiple of 8 bytes so every tensor's
     * data starts 8-byte aligned. The target appears complete or not at all: the bytes go to a temp file in the
     * same folder, which is fsynced and renamed over the target.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        TreeMap<String, Tensor> sorted = new TreeMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (name == null || t == null) throw new CheckpointException("cannot write " + file + ": null name or tensor (" + name + ")");
            if (name.equals("__metadata__")) throw new CheckpointException("cannot write " + file + ": '__metadata__' is reserved by the format");
            if (!t.device().equals(Device.CPU)) {
                throw new CheckpointException("cannot write " + file + ": tensor '" + name + "' is " + t + "; download it to the CPU first");
            }
            sorted.put(name, t);
        }
        for (Map.Entry<String, String> m : metadata.entrySet()) {
            if (m.getKey() == null || m.getValue() == null) {
                throw new CheckpointException("cannot write " + file + ": metadata holds a null key or value (" + m.getKey() + ")");
            }
            if (m.getKey().startsWith(CHECKSUM_PREFIX)) {
                throw new CheckpointException("cannot write " + file + ": metadata key '" + m.getKey() + "' uses the reserved prefix '"
                        + CHECKSUM_PREFIX + "'");
            }
        }
        // A first pass over the encoded bytes: the checksums go into the header, which precedes the data.
        Map<String, String> allMetadata = new TreeMap<>(metadata);
        ByteBuffer scratch = null;
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            Tensor t = e.getValue();
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            long n = t.numel();
            for (long done = 0; done < n; done += WRITE_CHUNK_ELEMENTS) {
                int count = (int) Math.min(WRITE_CHUNK_ELEMENTS, n - done);
                int bytes = count * t.dtype().bytes();
                if (scratch == null || scratch.capacity() < bytes) scratch = ByteBuffer.allocate(bytes);
                scratch.clear();
                TensorBytes.encode(t, done, count, scratch);
                scratch.flip();
                crc.update(scratch);
            }
            allMetadata.put(CHECKSUM_PREFIX + e.getKey(), checksum(crc));
        }
        metadata = allMetadata;

        ObjectNode header = SafetensorsFile.JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            new TreeMap<>(metadata).forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            Tensor t = e.getValue();
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", t.dtype().name());
            ArrayNode shape = entry.putArray("shape");
            for (int d : t.shape()) shape.add(d);
            entry.putArray("data_offsets").add(offset).add(offset + t.bytes());
            offset += t.bytes();
        }
        byte[] json;
        try {
            json = SafetensorsFile.JSON.writeValueAsBytes(header);
        } catch (IOException e) {
            throw new CheckpointException("cannot write " + file + ": header serialisation failed: " + e, e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] headerBytes = Arrays.copyOf(json, padded);
        Arrays.fill(headerBytes, json.length, padded, (byte) ' ');

        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Path tmp = null;
        try {
            // not Files.createTempFile: it makes the file owner-only (0600); checkpoints keep the umask's permissions
            Path fresh = AtomicFiles.temporaryFor(target);
            try (FileChannel ch = FileChannel.open(fresh, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                tmp = fresh; // ours from here on: deleted if the write fails
                ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
                head.putLong(padded).put(headerBytes).flip();
                writeFully(ch, head);
                for (Tensor t : sorted.values()) {
                    long n = t.numel();
                    for (long done = 0; done < n; done += WRITE_CHUNK_ELEMENTS) {
                        int count = (int) Math.min(WRITE_CHUNK_ELEMENTS, n - done);
                        int bytes = count * t.dtype().bytes();
                        if (scratch == null || scratch.capacity() < bytes) scratch = ByteBuffer.allocate(bytes);
                        scratch.clear();
                        TensorBytes.encode(t, done, count, scratch);
                        scratch.flip();
                        writeFully(ch, scratch);
                    }
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new CheckpointException("cannot write " + file + " atomically: the file system cannot rename " + tmp + " over it", e);
            }
            tmp = null;
            syncDirectory(dir);
        } catch (IOException e) {
            throw new CheckpointException("cannot write " + file + ": " + e, e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the original error is the one worth reporting; a stray temp file is named after the target
                }
            }
        }
    }

    static String checksum(java.util.zip.CRC32C crc) { return String.format("crc32c:%08x", crc.getValue()); }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** Makes the rename itself durable (Linux allows fsync on a directory; elsewhere this is best effort). */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException ignored) {
            // not every platform can open a directory; the data itself is already fsynced
        }
    }
}
