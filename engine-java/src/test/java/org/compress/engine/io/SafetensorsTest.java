// Safetensors reader/writer: round trips of every dtype and odd shapes, files laid out the way the reference
// Python/Rust writer lays them out (built byte by byte here), every header validation error, truncation, atomicity.
package org.compress.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.CpuStorage;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Float16;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir Path dir;

    @Test void roundTripKeepsEveryDtypeShapeAndBitAndSortsNames() throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("z.f32", Tensor.cpu(Fills.uniform(1, 3 * 5 * 2, -3, 3), 3, 5, 2));
        in.put("a.bf16", filled(DType.BF16, new int[] {7}, i -> BFloat16.fromFloat(i * 0.37f - 1)));
        in.put("m.f16", filled(DType.F16, new int[] {1, 7}, i -> Float16.fromFloat(i * -0.5f + 0.25f)));
        in.put("i32", filled(DType.I32, new int[] {257}, i -> i * 65537 - 9));
        in.put("i64", filled(DType.I64, new int[] {2, 3}, i -> (i - 3) * 0x1_0000_0001L));
        in.put("u8", filled(DType.U8, new int[] {3, 1, 3}, i -> i * 31));
        in.put("scalar", Tensor.cpu(new float[] {2.5f}));
        in.put("empty", Tensor.cpuZeros(DType.F32, 0, 4));
        Path f = dir.resolve("round.safetensors");
        Safetensors.write(f, in, Map.of("format", "pt", "note", "ünïcode ok"));

        Map<String, Tensor> out = Safetensors.read(f);
        assertEquals(List.of("a.bf16", "empty", "i32", "i64", "m.f16", "scalar", "u8", "z.f32"), List.copyOf(out.keySet()),
                "names sorted, data laid out in that order");
        for (String name : in.keySet()) assertSameTensor(name, in.get(name), out.get(name));
        assertEquals(Map.of("format", "pt", "note", "ünïcode ok"), Safetensors.readMetadata(f));

        byte[] bytes = Files.readAllBytes(f);
        long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + headerLength) % 8, "data section starts 8-byte aligned");
        String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\":{\"checksum:a.bf16\":\"crc32c:") && header.contains("\"format\":\"pt\""), header);
        assertTrue(header.endsWith("}") || header.matches("(?s).*} +"), "padded with spaces only: [" + header + "]");
        try (SafetensorsFile sf = Safetensors.open(f)) {
            assertEquals(0, sf.entry("a.bf16").begin());
            assertEquals(7 * 2, sf.entry("a.bf16").end());
            assertEquals(257 * 4, sf.entry("i32").end() - sf.entry("i32").begin());
        }
    }

    @Test void channelsLastTensorsAreWrittenInLogicalOrder() {
        int n = 2, c = 3, h = 2, w = 5;
        float[] logical = Fills.uniform(2, n * c * h * w, -1, 1);
        float[] nhwc = new float[logical.length];
        for (int in = 0; in < n; in++) for (int ic = 0; ic < c; ic++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
            nhwc[((in * h + y) * w + x) * c + ic] = logical[((in * c + ic) * h + y) * w + x];
        }
        Tensor cl = new Tensor(CpuStorage.wrap(nhwc), 0, DType.F32, MemoryFormat.CHANNELS_LAST, new int[] {n, c, h, w}, true);
        Path f = dir.resolve("cl.safetensors");
        Safetensors.write(f, Map.of("x", cl));
        Tensor back = Safetensors.read(f).get("x");
        assertEquals(MemoryFormat.CONTIGUOUS, back.format());
        assertArrayEquals(new int[] {n, c, h, w}, back.shape());
        assertArrayEquals(logical, back.cpuStorage().f32());
    }

    @Test void viewsWriteOnlyTheirOwnElements() {
        Tensor whole = Tensor.cpu(Fills.uniform(3, 5 * 4, -1, 1), 5, 4);
        Path f = dir.resolve("view.safetensors");
        Safetensors.write(f, Map.of("rows", whole.rows(2, 2)));
        float[] expected = Arrays.copyOfRange(whole.cpuStorage().f32(), 8, 16);
        assertArrayEquals(expected, Safetensors.read(f).get("rows").cpuStorage().f32());
    }

    /** A file as the reference writer emits it: metadata first, tensors ordered by (dtype size desc, name), space padding. */
    @Test void readsTheReferenceWritersLayoutByteForByte() throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"b\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,32]},"
                + "\"c\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[32,38]}}";
        ByteBuffer data = ByteBuffer.allocate(38).order(ByteOrder.LITTLE_ENDIAN);
        data.putLong(-5).putLong(1L << 40);
        data.putFloat(1f).putFloat(-2f).putFloat(0.5f).putFloat(3.25f);
        data.putShort(BFloat16.fromFloat(1.5f)).putShort(BFloat16.fromFloat(-0.125f)).putShort(BFloat16.fromFloat(256f));
        Path f = writeRaw("ref.safetensors", padded(header), data.array());

        Map<String, Tensor> t = Safetensors.read(f);
        assertEquals(List.of("b", "a", "c"), List.copyOf(t.keySet()), "data order");
        assertArrayEquals(new long[] {-5, 1L << 40}, t.get("b").cpuStorage().i64());
        assertArrayEquals(new int[] {2, 2}, t.get("a").shape());
        assertArrayEquals(new float[] {1f, -2f, 0.5f, 3.25f}, t.get("a").cpuStorage().f32());
        short[] c = t.get("c").cpuStorage().u16();
        assertEquals(1.5f, BFloat16.toFloat(c[0]));
        assertEquals(-0.125f, BFloat16.toFloat(c[1]));
        assertEquals(256f, BFloat16.toFloat(c[2]));
        assertEquals(Map.of("format", "pt"), Safetensors.readMetadata(f));
        try (SafetensorsFile sf = Safetensors.open(f)) {
            assertEquals(DType.BF16, sf.entry("c").dtype());
            assertArrayEquals(new float[] {1f, -2f, 0.5f, 3.25f}, sf.read("a").cpuStorage().f32(), "single-tensor read");
        }
    }

    @Test void emptyFileWithOnlyAnEmptyHeaderIsValid() throws IOException {
        Path f = writeRaw("empty.safetensors", padded("{}"), new byte[0]);
        assertTrue(Safetensors.read(f).isEmpty());
    }

    @Test void everyHeaderErrorSaysWhatIsWrong() throws IOException {
        String okA = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        byte[] eight = new byte[8];
        expectError("not JSON", padded("{\"a\":"), eight, "the header is not valid JSON");
        expectError("array header", padded("[1]  "), eight, "the header must start with '{', found byte 0x5b");
        expectError("dup", padded("{" + okA + "," + okA + "}"), eight, "not valid JSON: Duplicate field 'a'");
        expectError("trailing", padded("{" + okA + "} x"), eight, "not valid JSON");
        expectError("f64", padded("{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}"), eight,
                "tensor 'w' has dtype F64, which the engine does not read (supported: F32, BF16, F16, I64, I32, U8)");
        expectError("bogus dtype", padded("{\"w\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,8]}}"), eight,
                "tensor 'w' has unknown dtype 'Q7'");
        expectError("no shape", padded("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}"), eight, "tensor 'w': missing 'shape'");
        expectError("neg shape", padded("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}"), eight,
                "tensor 'w': shape [2,-1] must hold non-negative integers");
        expectError("float shape", padded("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}"), eight,
                "must hold non-negative integers");
        expectError("offsets arity", padded("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}"), eight,
                "tensor 'w': data_offsets must be [begin, end], found [0]");
        expectError("reversed", padded("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}"), eight,
                "data_offsets [8,0] end before they begin");
        expectError("byte count", padded("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}"), eight,
                "tensor 'w': data_offsets [0, 8] span 8 bytes, but shape [3] of F32 needs 12");
        expectError("overlap", padded("{" + okA + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}"), eight,
                "tensors 'a' [0, 8) and 'b' [4, 8) overlap");
        expectError("gap", padded("{" + okA + ",\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[12,16]}}"), new byte[16],
                "gap between 'a' (ends at 8) and 'b' (starts at 12)");
        expectError("late start", padded("{\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}"), eight,
                "the first tensor 'b' starts at byte 4 of the data section, not 0");
        expectError("extra bytes", padded("{" + okA + "}"), new byte[12], "4 bytes after the last tensor are not described by the header");
        expectError("meta type", padded("{\"__metadata__\":{\"epoch\":3}," + okA + "}"), eight,
                "__metadata__ must map strings to strings; key 'epoch' holds a NUMBER");
        expectError("entry type", padded("{\"a\":[1,2]}"), eight, "tensor 'a': expected an object with dtype, shape and data_offsets");
        expectError("huge dim", padded("{\"w\":{\"dtype\":\"U8\",\"shape\":[3000000000],\"data_offsets\":[0,3000000000]}}"), eight,
                "dimension 3000000000 in shape [3000000000] exceeds the engine's limit");
    }

    @Test void truncatedFilesAreReportedAsTruncated() throws IOException {
        Map<String, Tensor> in = Map.of("w", Tensor.cpu(Fills.uniform(4, 100, -1, 1), 10, 10), "b", Tensor.cpu(new float[] {1, 2}, 2));
        Path f = dir.resolve("full.safetensors");
        Safetensors.write(f, in);
        byte[] bytes = Files.readAllBytes(f);

        var cut = assertThrows(CheckpointException.class, () -> Safetensors.read(writeRaw("cut.safetensors", Arrays.copyOf(bytes, bytes.length - 3))));
        assertTrue(cut.getMessage().contains("truncated: tensor 'w' ends at byte 408 of the data section but the file holds only 405 data bytes (3 bytes missing)"),
                cut.getMessage());
        var inHeader = assertThrows(CheckpointException.class, () -> Safetensors.read(writeRaw("cut2.safetensors", Arrays.copyOf(bytes, 20))));
        assertTrue(inHeader.getMessage().contains("truncated: the header length says"), inHeader.getMessage());
        var tiny = assertThrows(CheckpointException.class, () -> Safetensors.read(writeRaw("cut3.safetensors", Arrays.copyOf(bytes, 5))));
        assertTrue(tiny.getMessage().contains("truncated: the file has 5 bytes"), tiny.getMessage());
        var notSt = assertThrows(CheckpointException.class, () -> Safetensors.read(writeRaw("zip.safetensors",
                new byte[] {'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0, 0, 0})));
        assertTrue(notSt.getMessage().contains("outside the format's limit"), notSt.getMessage());
    }

    @Test void failedWriteLeavesTheOldFileAndNoTempFiles() throws IOException {
        Path f = dir.resolve("keep.safetensors");
        Safetensors.write(f, Map.of("a", Tensor.cpu(new float[] {1, 2, 3}, 3)));
        byte[] before = Files.readAllBytes(f);
        Map<String, Tensor> bad = new LinkedHashMap<>();
        bad.put("a", Tensor.cpu(new float[] {9}, 1));
        bad.put("__metadata__", Tensor.cpu(new float[] {9}, 1));
        var e = assertThrows(CheckpointException.class, () -> Safetensors.write(f, bad));
        assertTrue(e.getMessage().contains("'__metadata__' is reserved"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(f));

        Safetensors.write(f, Map.of("b", Tensor.cpu(new float[] {4}, 1)));
        assertEquals(List.of("b"), List.copyOf(Safetensors.read(f).keySet()), "overwrites in place");
        try (var files = Files.list(dir)) {
            assertEquals(List.of(f), files.toList(), "no temp files left behind");
        }
        var missingDir = assertThrows(CheckpointException.class,
                () -> Safetensors.write(dir.resolve("no/such/dir/x.safetensors"), Map.of("a", Tensor.cpu(new float[] {1}, 1))));
        assertTrue(missingDir.getMessage().startsWith("cannot write "), missingDir.getMessage());
        assertFalse(Files.exists(dir.resolve("no")));
    }

    /** A written file has the permissions a plain write gets (the umask's), never owner-only, new or replaced. */
    @Test void writtenFilesKeepThePlainPermissionsAndLeaveNoTemporary() throws IOException {
        Path plain = Files.write(dir.resolve("plain.bin"), new byte[] {1});
        Path f = dir.resolve("perm.safetensors");
        Safetensors.write(f, Map.of("a", Tensor.cpu(new float[] {1, 2}, 2)));
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(f));
        Safetensors.write(f, Map.of("a", Tensor.cpu(new float[] {3, 4}, 2)));   // replacing an existing file too
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(f));
        assertArrayEquals(new float[] {3, 4}, Safetensors.read(f).get("a").cpuStorage().f32());
        try (var s = Files.list(dir)) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList());
        }
    }

    @Test void askingForAnAbsentTensorNamesIt() {
        Path f = dir.resolve("one.safetensors");
        Safetensors.write(f, Map.of("a", Tensor.cpu(new float[] {1}, 1)));
        try (SafetensorsFile sf = Safetensors.open(f)) {
            var e = assertThrows(CheckpointException.class, () -> sf.read("b"));
            assertTrue(e.getMessage().contains("no tensor named 'b' (it holds 1 tensors)"), e.getMessage());
        }
    }

    // ---- helpers ----

    private void expectError(String what, byte[] header, byte[] data, String fragment) throws IOException {
        Path f = writeRaw(what.replace(' ', '_') + ".safetensors", header, data);
        var e = assertThrows(CheckpointException.class, () -> Safetensors.read(f), what);
        assertTrue(e.getMessage().contains(fragment), what + ": " + e.getMessage());
        assertTrue(e.getMessage().startsWith(f.toString()), what + ": the message names the file: " + e.getMessage());
    }

    /** Length prefix + header (padded with spaces to a multiple of 8, as the reference writer does). */
    static byte[] padded(String json) {
        byte[] j = json.getBytes(StandardCharsets.UTF_8);
        int n = (j.length + 7) / 8 * 8;
        byte[] out = new byte[8 + n];
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(n);
        System.arraycopy(j, 0, out, 8, j.length);
        Arrays.fill(out, 8 + j.length, out.length, (byte) ' ');
        return out;
    }

    private Path writeRaw(String name, byte[]... parts) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) b.write(p);
        Path f = dir.resolve(name);
        Files.write(f, b.toByteArray());
        return f;
    }

    interface IntToLong { long apply(int i); }

    static Tensor filled(DType dtype, int[] shape, IntToLong value) {
        Tensor t = Tensor.cpuZeros(dtype, shape);
        CpuStorage s = t.cpuStorage();
        for (int i = 0; i < t.numel(); i++) {
            long v = value.apply(i);
            switch (dtype) {
                case F32 -> s.f32()[i] = v;
                case BF16, F16 -> s.u16()[i] = (short) v;
                case I32 -> s.i32()[i] = (int) v;
                case I64 -> s.i64()[i] = v;
                case U8 -> s.u8()[i] = (byte) v;
            }
        }
        return t;
    }

    static void assertSameTensor(String what, Tensor expected, Tensor actual) {
        assertEquals(expected.dtype(), actual.dtype(), what + " dtype");
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        int off = (int) expected.offset(), n = (int) expected.numel();
        CpuStorage e = expected.cpuStorage(), a = actual.cpuStorage();
        switch (expected.dtype()) {
            case F32 -> {
                int[] eb = new int[n], ab = new int[n];
                for (int i = 0; i < n; i++) {
                    eb[i] = Float.floatToRawIntBits(e.f32()[off + i]);
                    ab[i] = Float.floatToRawIntBits(a.f32()[(int) actual.offset() + i]);
                }
                assertArrayEquals(eb, ab, what);
            }
            case BF16, F16 -> assertArrayEquals(Arrays.copyOfRange(e.u16(), off, off + n), Arrays.copyOfRange(a.u16(), (int) actual.offset(), (int) actual.offset() + n), what);
            case I32 -> assertArrayEquals(Arrays.copyOfRange(e.i32(), off, off + n), Arrays.copyOfRange(a.i32(), (int) actual.offset(), (int) actual.offset() + n), what);
            case I64 -> assertArrayEquals(Arrays.copyOfRange(e.i64(), off, off + n), Arrays.copyOfRange(a.i64(), (int) actual.offset(), (int) actual.offset() + n), what);
            case U8 -> assertArrayEquals(Arrays.copyOfRange(e.u8(), off, off + n), Arrays.copyOfRange(a.u8(), (int) actual.offset(), (int) actual.offset() + n), what);
        }
    }

    @Test void everyTensorCarriesAChecksumThatTheReaderVerifies() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("a", Tensor.cpu(new float[] {1, 2, 3, 4}, 2, 2));
        tensors.put("b", Tensor.cpu(new float[] {5, 6, 7}, 3));
        Path f = dir.resolve("sums.safetensors");
        Safetensors.write(f, tensors, Map.of("format", "pt"));
        try (SafetensorsFile file = Safetensors.open(f)) {
            assertEquals(List.of("a", "b"), List.copyOf(file.checksums().keySet()));
            assertTrue(file.checksums().get("a").matches("crc32c:[0-9a-f]{8}"), file.checksums().toString());
            assertEquals(Map.of("format", "pt"), file.metadata(), "the checksums are not user metadata");
        }
        // flip one bit of b's last element: the header still parses, the data no longer matches its checksum
        byte[] bytes = Files.readAllBytes(f);
        bytes[bytes.length - 1] ^= 0x01;
        Path damaged = Files.write(dir.resolve("damaged.safetensors"), bytes);
        assertArrayEquals(new float[] {1, 2, 3, 4}, Safetensors.open(damaged).read("a").cpuStorage().f32(), "an intact tensor still reads");
        var e = assertThrows(CheckpointException.class, () -> Safetensors.read(damaged));
        assertTrue(e.getMessage().startsWith(damaged + ": tensor 'b' is damaged: its bytes have checksum crc32c:"), e.getMessage());
        var reserved = assertThrows(CheckpointException.class, () -> Safetensors.write(dir.resolve("r.safetensors"), tensors,
                Map.of(Safetensors.CHECKSUM_PREFIX + "a", "x")));
        assertTrue(reserved.getMessage().contains("reserved prefix"), reserved.getMessage());
    }
}
