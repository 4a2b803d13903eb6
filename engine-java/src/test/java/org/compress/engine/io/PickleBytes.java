// Builds small pickles opcode by opcode, and torch.save-style zip archives around them, for the reader's bad-input tests.
package org.compress.engine.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

final class PickleBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    PickleBytes op(int code) { out.write(code); return this; }

    PickleBytes proto() { return op(0x80).op(2); }

    PickleBytes global(String module, String name) {
        op('c');
        write((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        return this;
    }

    PickleBytes str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X');
        write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
        write(b);
        return this;
    }

    PickleBytes int1(int v) { return op('K').op(v); }

    PickleBytes mark() { return op('('); }
    PickleBytes tuple() { return op('t'); }
    PickleBytes emptyTuple() { return op(')'); }
    PickleBytes emptyDict() { return op('}'); }
    PickleBytes setItem() { return op('s'); }
    PickleBytes reduce() { return op('R'); }
    PickleBytes persId() { return op('Q'); }
    PickleBytes newFalse() { return op(0x89); }
    PickleBytes stop() { return op('.'); }

    /** _rebuild_tensor_v2 of storage key "0" (FloatStorage of numel elements) with the given view. */
    PickleBytes floatTensor(int numel, int offset, int[] size, int[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").int1(numel).tuple().persId();
        int1(offset);
        mark();
        for (int s : size) int1(s);
        tuple().mark();
        for (int s : stride) int1(s);
        tuple().newFalse().global("collections", "OrderedDict").emptyTuple().reduce();
        return tuple().reduce();
    }

    byte[] bytes() { return out.toByteArray(); }

    private void write(byte[] b) { out.write(b, 0, b.length); }

    /** A torch.save-shaped archive: archive/data.pkl, archive/data/&lt;key&gt; and archive/version. */
    static Path zip(Path file, byte[] pickle, Map<String, byte[]> storages) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", pickle);
        storages.forEach((k, v) -> entries.put("archive/data/" + k, v));
        entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        try (OutputStream o = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(o)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return file;
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }
}
