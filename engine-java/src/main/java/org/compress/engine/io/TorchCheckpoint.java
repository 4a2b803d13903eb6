// Reads PyTorch checkpoints written by torch.save (the zip format of PyTorch >= 1.6: .pth, .pt, .pth.tar) without
// Python: the pickled object comes back as plain Java values (see load) with tensors copied to the CPU.
// The legacy (pre-1.6) format is detected and refused with the conversion to run.
package org.compress.engine.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

public final class TorchCheckpoint {
    /** What torch.save's legacy format starts with: pickle PROTO 2, then LONG1 of the magic 0x1950a86a20f9469cfc6c. */
    private static final byte[] LEGACY_MAGIC = {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a,
        0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19};
    private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};

    /** A tensor whose storage type the engine has no dtype for (float64, int16, int8, complex): fails only if used. */
    public record UnsupportedTensor(String storageType, int[] shape) {
        @Override public String toString() { return storageType + Arrays.toString(shape); }
    }

    private TorchCheckpoint() {}

    /**
     * The object torch.save wrote, as plain Java: dict / OrderedDict -> LinkedHashMap (keys String, Long, ...),
     * list -> ArrayList, tuple -> unmodifiable List, int -> Long (BigInteger if wider), float -> Double, str -> String,
     * bool -> Boolean, None -> null, bytes -> byte[], tensor or Parameter -> a new contiguous CPU Tensor (views are
     * materialised with their strides; tensors that shared a storage no longer do), argparse.Namespace -> a
     * LinkedHashMap of its attributes, unsupported element types -> {@link UnsupportedTensor}.
     */
    public static Object load(Path file) {
        checkZipFormat(file);
        try (ZipFile zip = new ZipFile(file.toFile())) {
            return load(file, zip);
        } catch (ZipException e) {
            throw new CheckpointException(file + ": not a complete zip archive (truncated or corrupt?): " + e.getMessage(), e);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e, e);
        }
    }

    private static Object load(Path file, ZipFile zip) throws IOException {
        Enumeration<? extends ZipEntry> all = zip.entries();
        if (!all.hasMoreElements()) throw new CheckpointException(file + ": the zip archive is empty; not a torch.save checkpoint");
        // torch names the top folder after the file it first wrote ("archive" for streams): take it from the first entry.
        String first = all.nextElement().getName();
        int slash = first.indexOf('/');
        if (slash <= 0) throw new CheckpointException(file + ": first zip entry '" + first + "' is not inside a folder; not a torch.save checkpoint");
        String prefix = first.substring(0, slash + 1);
        ZipEntry pickle = zip.getEntry(prefix + "data.pkl");
        if (pickle == null) {
            throw new CheckpointException(file + ": no " + prefix + "data.pkl in the zip archive; not a torch.save checkpoint"
                    + " (entries start with " + first + ")");
        }
        ZipEntry byteOrder = zip.getEntry(prefix + "byteorder");
        if (byteOrder != null) {
            String order = new String(read(file, zip, byteOrder), StandardCharsets.US_ASCII).trim();
            if (!order.equals("little")) throw new CheckpointException(file + ": storages are " + order + "-endian; only little-endian is read");
        }
        Map<String, ByteBuffer> cache = new HashMap<>();
        TorchUnpickler.StorageSource storages = (key, type, numel) -> cache.computeIfAbsent(key, k -> {
            ZipEntry e = zip.getEntry(prefix + "data/" + k);
            if (e == null) throw new CheckpointException(file + ": storage '" + k + "' is referenced but " + prefix + "data/" + k + " is missing");
            long needed = numel * type.elementBytes();
            if (e.getSize() >= 0 && e.getSize() < needed) {
                throw new CheckpointException(file + ": storage '" + k + "' holds " + e.getSize() + " bytes but " + numel + " elements of "
                        + type.name() + " need " + needed + " (truncated?)");
            }
            try {
                byte[] b = read(file, zip, e);
                if (b.length < needed) {
                    throw new CheckpointException(file + ": storage '" + k + "' holds " + b.length + " bytes but " + numel + " elements of "
                            + type.name() + " need " + needed + " (truncated?)");
                }
                return ByteBuffer.wrap(b);
            } catch (IOException ex) {
                throw new CheckpointException(file + ": cannot read storage '" + k + "': " + ex, ex);
            }
        });
        return new TorchUnpickler(read(file, zip, pickle), file.toString(), storages).load();
    }

    private static byte[] read(Path file, ZipFile zip, ZipEntry e) throws IOException {
        if (e.getSize() > Integer.MAX_VALUE - 8) {
            throw new CheckpointException(file + ": entry " + e.getName() + " has " + e.getSize() + " bytes; the reader handles up to 2 GiB per storage");
        }
        try (InputStream s = zip.getInputStream(e)) {
            return s.readAllBytes();
        }
    }

    /** Looks at the first bytes and explains any format this reader does not take. */
    private static void checkZipFormat(Path file) {
        byte[] head = new byte[512];
        int n;
        try (InputStream s = Files.newInputStream(file)) {
            n = s.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            throw new CheckpointException("cannot open PyTorch checkpoint " + file + ": " + e, e);
        }
        if (startsWith(head, n, ZIP_MAGIC)) return;
        if (startsWith(head, n, LEGACY_MAGIC)) {
            throw new CheckpointException(file + " is in PyTorch's legacy serialization format (written by torch.save before"
                    + " PyTorch 1.6, or with _use_new_zipfile_serialization=False), which the engine does not read. Convert it"
                    + " once with PyTorch >= 1.6: python3 -c \"import torch; torch.save(torch.load('OLD.pth', map_location='cpu'),"
                    + " 'NEW.pth')\" (writes the zip format), or to safetensors: python3 -c \"import torch; from safetensors.torch"
                    + " import save_file; sd = torch.load('OLD.pth', map_location='cpu'); save_file({k: v.contiguous() for k, v in"
                    + " sd.get('state_dict', sd).items()}, 'NEW.safetensors')\"");
        }
        if (n >= 262 && new String(head, 257, 5, StandardCharsets.US_ASCII).equals("ustar")) {
            throw new CheckpointException(file + " is a tar archive: PyTorch's oldest (pre-0.4) checkpoint format, which the engine"
                    + " does not read; load and re-save it with torch.save in a recent PyTorch");
        }
        if (n == 0) throw new CheckpointException(file + ": empty file; not a PyTorch checkpoint");
        if ((head[0] & 0xff) == 0x80) {
            throw new CheckpointException(file + " is a bare pickle, not a torch.save zip archive; the engine reads only torch.save's"
                    + " zip format and safetensors");
        }
        throw new CheckpointException(file + ": not a PyTorch checkpoint (no zip header; starts with " + hex(head, Math.min(n, 8)) + ")");
    }

    static boolean startsWith(byte[] head, int n, byte[] magic) {
        if (n < magic.length) return false;
        for (int i = 0; i < magic.length; i++) if (head[i] != magic[i]) return false;
        return true;
    }

    private static String hex(byte[] b, int n) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < n; i++) parts.add(String.format("%02x", b[i] & 0xff));
        return String.join(" ", parts);
    }
}
