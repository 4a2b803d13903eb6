// An opened safetensors file: the validated header (names, dtypes, shapes, offsets, __metadata__) and tensor reads
// that copy from a memory map of the data section. Format: u64 little-endian header length N, N bytes of JSON
// header, then the data section; every tensor's data_offsets are relative to the data section's start.
package org.compress.engine.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

public final class SafetensorsFile implements AutoCloseable {
    /** The format's own cap on the header (the reference implementation refuses larger ones). */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    /** One map call covers at most this many bytes (a MappedByteBuffer is int-indexed). */
    private static final long MAP_CHUNK_BYTES = 1L << 30;
    static final List<String> SUPPORTED = List.of("F32", "BF16", "F16", "I64", "I32", "U8");
    /** Dtypes the format defines that the engine does not read: named as such in the error. */
    private static final List<String> FORMAT_ONLY = List.of("BOOL", "I8", "I16", "U16", "U32", "U64", "F64",
            "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64");

    /** One tensor of the header; begin/end are byte offsets into the data section. */
    public record Entry(String name, DType dtype, int[] shape, long begin, long end) {
        public long numel() { return Tensor.numel(shape); }
        @Override public String toString() {
            return name + " " + dtype + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;       // in data order
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Opens and validates the header; tensor data is read (and checked against the header) on demand. */
    public static SafetensorsFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new CheckpointException("cannot open safetensors file " + path + ": " + e, e);
        }
        try {
            return parse(path, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafetensorsFile parse(Path path, FileChannel ch) {
        long size;
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        try {
            size = ch.size();
            if (size < 8) {
                throw fail(path, "truncated: the file has " + size + " bytes; a safetensors file starts with an 8-byte header length");
            }
            readFully(ch, lengthBytes, 0);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read: " + e, e);
        }
        long headerLength = lengthBytes.getLong(0);
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
            throw fail(path, "header length " + Long.toUnsignedString(headerLength) + " is outside the format's limit of "
                    + MAX_HEADER_BYTES + " bytes (not a safetensors file?)");
        }
        if (headerLength > size - 8) {
            throw fail(path, "truncated: the header length says " + headerLength + " bytes but only " + (size - 8)
                    + " bytes follow the 8-byte length");
        }
        if (headerLength < 2) throw fail(path, "header of " + headerLength + " bytes cannot hold a JSON object");
        ByteBuffer header = ByteBuffer.allocate((int) headerLength);
        try {
            readFully(ch, header, 8);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read the header: " + e, e);
        }
        byte first = header.get(0);
        if (first != '{') {
            throw fail(path, String.format("the header must start with '{', found byte 0x%02x (not a safetensors file?)", first & 0xff));
        }
        JsonNode root;
        try {
            root = JSON.readTree(new String(header.array(), StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw fail(path, "the header is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw fail(path, "the header is not a JSON object");

        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> list = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals("__metadata__")) {
                readMetadata(path, f.getValue(), metadata);
            } else {
                list.add(readEntry(path, f.getKey(), f.getValue()));
            }
        }
        long dataSize = size - 8 - headerLength;
        checkLayout(path, list, dataSize);
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Entry e : list) entries.put(e.name(), e);
        return new SafetensorsFile(path, ch, 8 + headerLength, Collections.unmodifiableMap(entries),
                Collections.unmodifiableMap(metadata));
    }

    private static void readMetadata(Path path, JsonNode node, Map<String, String> into) {
        if (!node.isObject()) throw fail(path, "__metadata__ must be a JSON object of strings, found " + node.getNodeType());
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!f.getValue().isTextual()) {
                throw fail(path, "__metadata__ must map strings to strings; key '" + f.getKey() + "' holds a "
                        + f.getValue().getNodeType());
            }
            into.put(f.getKey(), f.getValue().textValue());
        }
    }

    private static Entry readEntry(Path path, String name, JsonNode node) {
        String what = "tensor '" + name + "'";
        if (!node.isObject()) {
            throw fail(path, what + ": expected an object with dtype, shape and data_offsets, found " + node.getNodeType());
        }
        JsonNode dtypeNode = node.get("dtype");
        JsonNode shapeNode = node.get("shape");
        JsonNode offsetsNode = node.get("data_offsets");
        if (dtypeNode == null || shapeNode == null || offsetsNode == null) {
            throw fail(path, what + ": missing " + (dtypeNode == null ? "'dtype'" : shapeNode == null ? "'shape'" : "'data_offsets'")
                    + " (each tensor needs dtype, shape and data_offsets)");
        }
        if (!dtypeNode.isTextual()) throw fail(path, what + ": dtype must be a string, found " + dtypeNode);
        DType dtype = dtypeOf(path, name, dtypeNode.textValue());
        if (!shapeNode.isArray()) throw fail(path, what + ": shape must be an array of integers, found " + shapeNode);
        int[] shape = new int[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                throw fail(path, what + ": shape " + shapeNode + " must hold non-negative integers");
            }
            if (d.longValue() > Integer.MAX_VALUE) {
                throw fail(path, what + ": dimension " + d.longValue() + " in shape " + shapeNode + " exceeds the engine's limit of "
                        + Integer.MAX_VALUE);
            }
            shape[i] = d.intValue();
        }
        if (!offsetsNode.isArray() || offsetsNode.size() != 2) {
            throw fail(path, what + ": data_offsets must be [begin, end], found " + offsetsNode);
        }
        long[] o = new long[2];
        for (int i = 0; i < 2; i++) {
            JsonNode v = offsetsNode.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw fail(path, what + ": data_offsets " + offsetsNode + " must hold non-negative integers");
            }
            o[i] = v.longValue();
        }
        if (o[1] < o[0]) throw fail(path, what + ": data_offsets " + offsetsNode + " end before they begin");
        long bytes;
        try {
            long numel = 1;
            for (int d : shape) numel = Math.multiplyExact(numel, (long) d);
            bytes = Math.multiplyExact(numel, (long) dtype.bytes());
        } catch (ArithmeticException e) {
            throw fail(path, what + ": shape " + Arrays.toString(shape) + " has more elements than a long can count");
        }
        if (o[1] - o[0] != bytes) {
            throw fail(path, what + ": data_offsets [" + o[0] + ", " + o[1] + "] span " + (o[1] - o[0]) + " bytes, but shape "
                    + Arrays.toString(shape) + " of " + dtype + " needs " + bytes);
        }
        return new Entry(name, dtype, shape, o[0], o[1]);
    }

    private static DType dtypeOf(Path path, String tensor, String name) {
        if (SUPPORTED.contains(name)) return DType.valueOf(name);
        if (FORMAT_ONLY.contains(name)) {
            throw fail(path, "tensor '" + tensor + "' has dtype " + name + ", which the engine does not read (supported: "
                    + String.join(", ", SUPPORTED) + "); convert it before saving, e.g. tensor.float() in PyTorch");
        }
        throw fail(path, "tensor '" + tensor + "' has unknown dtype '" + name + "' (supported: " + String.join(", ", SUPPORTED) + ")");
    }

    /** Tensors must tile the data section exactly: start at 0, no gaps, no overlaps, end at its last byte. */
    private static void checkLayout(Path path, List<Entry> list, long dataSize) {
        list.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expected = 0;
        Entry previous = null;
        for (Entry e : list) {
            if (e.begin() < expected) {
                throw fail(path, "tensors '" + previous.name() + "' [" + previous.begin() + ", " + previous.end() + ") and '"
                        + e.name() + "' [" + e.begin() + ", " + e.end() + ") overlap");
            }
            if (e.begin() > expected) {
                throw fail(path, previous == null
                        ? "the first tensor '" + e.name() + "' starts at byte " + e.begin() + " of the data section, not 0 (a gap)"
                        : "gap between '" + previous.name() + "' (ends at " + previous.end() + ") and '" + e.name()
                                + "' (starts at " + e.begin() + ")");
            }
            expected = e.end();
            previous = e;
        }
        if (expected > dataSize) {
            throw fail(path, "truncated: tensor '" + previous.name() + "' ends at byte " + expected + " of the data section but the file"
                    + " holds only " + dataSize + " data bytes (" + (expected - dataSize) + " bytes missing)");
        }
        if (expected < dataSize) {
            throw fail(path, (dataSize - expected) + " bytes after the last tensor are not described by the header");
        }
    }

    public Path path() { return path; }

    /** The header's __metadata__ (empty if absent), without the per-tensor checksums (see {@link #checksums()}). */
    public Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>(metadata);
        m.keySet().removeIf(k -> k.startsWith(Safetensors.CHECKSUM_PREFIX));
        return Collections.unmodifiableMap(m);
    }

    /** Tensor name -> recorded checksum ("crc32c:..."), for the tensors that have one (files this engine wrote). */
    public Map<String, String> checksums() {
        Map<String, String> m = new LinkedHashMap<>();
        metadata.forEach((k, v) -> {
            if (k.startsWith(Safetensors.CHECKSUM_PREFIX)) m.put(k.substring(Safetensors.CHECKSUM_PREFIX.length()), v);
        });
        return m;
    }

    /** Every tensor's header entry in data order. */
    public List<Entry> entries() { return List.copyOf(entries.values()); }

    public boolean contains(String name) { return entries.containsKey(name); }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new CheckpointException(path + ": no tensor named '" + name + "' (it holds " + entries.size() + " tensors)");
        return e;
    }

    /** Copies one tensor out of the memory map into a new CPU tensor. */
    public Tensor read(String name) {
        Entry e = entry(name);
        if (e.numel() > Integer.MAX_VALUE - 8) {
            throw new CheckpointException(path + ": tensor '" + name + "' has " + e.numel() + " elements; a CPU tensor holds at most "
                    + (Integer.MAX_VALUE - 8));
        }
        Tensor t = Tensor.cpuZeros(e.dtype(), e.shape());
        long total = e.numel();
        long perChunk = MAP_CHUNK_BYTES / e.dtype().bytes();
        String expected = metadata.get(Safetensors.CHECKSUM_PREFIX + name);
        java.util.zip.CRC32C crc = expected == null ? null : new java.util.zip.CRC32C();
        try {
            for (long done = 0; done < total; done += perChunk) {
                int count = (int) Math.min(perChunk, total - done);
                MappedByteBuffer map = channel.map(FileChannel.MapMode.READ_ONLY,
                        dataStart + e.begin() + done * e.dtype().bytes(), (long) count * e.dtype().bytes());
                if (crc != null) crc.update(map.duplicate());
                TensorBytes.decodeInto(map, t, (int) done, count);
            }
        } catch (IOException ex) {
            throw new CheckpointException(path + ": cannot read tensor '" + name + "': " + ex, ex);
        }
        if (crc != null && !Safetensors.checksum(crc).equals(expected)) {
            throw new CheckpointException(path + ": tensor '" + name + "' is damaged: its bytes have checksum " + Safetensors.checksum(crc)
                    + ", the header records " + expected);
        }
        return t;
    }

    /** Every tensor, in data order. */
    public Map<String, Tensor> readAll() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : entries.keySet()) out.put(name, read(name));
        return out;
    }

    @Override public void close() { closeQuietly(channel); }

    static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static CheckpointException fail(Path path, String message) {
        return new CheckpointException(path + ": " + message);
    }

    private static void readFully(FileChannel ch, ByteBuffer into, long position) throws IOException {
        while (into.hasRemaining()) {
            int n = ch.read(into, position + into.position());
            if (n < 0) throw new IOException("unexpected end of file");
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // read-only channel: nothing was written that a failed close could lose
        }
    }
}
