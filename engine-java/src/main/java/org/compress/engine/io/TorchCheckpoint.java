// Reads PyTorch checkpoints written by torch.save (the zip format of PyTorch >= 1.6: .pth, .pt, .pth.tar) without
// Python: the pickled object comes back as plain Java values (see load) with tensors copied to the CPU. Every zip
// member's CRC-32 is checked. The legacy format (torch.save before PyTorch 1.6, or _use_new_zipfile_serialization=False)
// is read too: pickles of the magic number, protocol version and sys_info, then the object (storages as persistent
// ids), then the list of storage keys, then per key an int64 element count and the raw little-endian elements.
// Both go through the same pickle reader, which never imports or runs anything named in the file.
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
        if (checkZipFormat(file)) return loadLegacy(file);
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
        byte[] bytes;
        try (InputStream s = zip.getInputStream(e)) {
            bytes = s.readAllBytes();
        }
        if (e.getCrc() != -1) { // java.util.zip does not check stored (uncompressed) members itself; torch stores them all
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            crc.update(bytes);
            if (crc.getValue() != e.getCrc()) {
                throw new CheckpointException(String.format("%s: zip member %s is damaged: CRC-32 %08x, the archive records %08x", file,
                        e.getName(), crc.getValue(), e.getCrc()));
            }
        }
        return bytes;
    }

    /** The legacy (pre-1.6) format: several pickles back to back, then the raw storages (see the file comment). */
    private static Object loadLegacy(Path file) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new CheckpointException("cannot read PyTorch checkpoint " + file + ": " + e, e);
        }
        ByteBuffer in = ByteBuffer.wrap(all);
        String source = file.toString();
        new TorchUnpickler(in, source, null).load(); // magic number (already checked by its bytes)
        Object protocol = new TorchUnpickler(in, source, null).load();
        if (!Long.valueOf(1001).equals(protocol)) {
            throw new CheckpointException(file + ": legacy format protocol version " + protocol + ", expected 1001");
        }
        Object sysInfo = new TorchUnpickler(in, source, null).load();
        if (sysInfo instanceof Map<?, ?> info && Boolean.FALSE.equals(info.get("little_endian"))) {
            throw new CheckpointException(file + ": written on a big-endian machine; only little-endian storages are read");
        }
        TorchUnpickler main = new TorchUnpickler(in, source, null);
        Object root = main.load();
        Object keys = new TorchUnpickler(in, source, null).load();
        if (!(keys instanceof List<?> keyList)) {
            throw new CheckpointException(file + ": the legacy storage key list is " + TorchUnpickler.describe(keys) + ", not a list");
        }
        Map<String, TorchUnpickler.PendingTensor> needed = TorchUnpickler.pendingStorages(root);
        Map<String, ByteBuffer> storages = new HashMap<>();
        for (Object k : keyList) {
            String key = String.valueOf(k);
            TorchUnpickler.PendingTensor p = needed.get(key);
            if (in.remaining() < 8) throw new CheckpointException(file + ": truncated before storage '" + key + "'");
            long numel = in.order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
            TorchUnpickler.StorageType type = main.storageType(key);
            if (type == null) throw new CheckpointException(file + ": storage '" + key + "' is listed but the pickle never references it");
            int elementBytes = type.elementBytes();
            if (numel < 0 || numel > (long) in.remaining() / elementBytes) {
                throw new CheckpointException(file + ": storage '" + key + "' claims " + numel + " elements but only " + in.remaining()
                        + " bytes remain (truncated?)");
            }
            if (p != null && numel < p.numel()) {
                throw new CheckpointException(file + ": storage '" + key + "' holds " + numel + " elements, the tensors need " + p.numel());
            }
            int bytes = Math.toIntExact(numel * elementBytes);
            storages.put(key, in.slice(in.position(), bytes));
            in.position(in.position() + bytes);
        }
        for (String key : needed.keySet()) {
            if (!storages.containsKey(key)) throw new CheckpointException(file + ": storage '" + key + "' is referenced but not stored");
        }
        return TorchUnpickler.resolve(root, (key, type, numel) -> storages.get(key));
    }

    /** Looks at the first bytes and explains any format this reader does not take. */
    private static boolean checkZipFormat(Path file) {
        byte[] head = new byte[512];
        int n;
        try (InputStream s = Files.newInputStream(file)) {
            n = s.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            throw new CheckpointException("cannot open PyTorch checkpoint " + file + ": " + e, e);
        }
        if (startsWith(head, n, ZIP_MAGIC)) return false;
        if (startsWith(head, n, LEGACY_MAGIC)) return true;
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
