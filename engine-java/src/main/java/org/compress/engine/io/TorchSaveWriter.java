// Writes a state dict as PyTorch's torch.save zip format (PyTorch >= 1.6), so that torch.load + load_state_dict
// (strict=True) accept it: archive/data.pkl is a protocol-2 pickle of an OrderedDict of tensors, each rebuilt by
// torch._utils._rebuild_tensor_v2 from a persistent id ('storage', torch.<T>Storage, key, 'cpu', numel) whose
// bytes are archive/data/<key> (little-endian, row-major); archive/version ("3") and archive/byteorder close it.
// Entries are stored uncompressed with their data 64-byte aligned, as PyTorch's own writer does.
package org.compress.engine.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Device;
import org.compress.engine.tensor.Tensor;

public final class TorchSaveWriter {
    private static final String ARCHIVE = "archive";

    private TorchSaveWriter() {}

    /** Writes CPU tensors in map order (use a LinkedHashMap for torchvision's order), atomically (temp file + rename). */
    public static void write(Path file, Map<String, Tensor> stateDict) {
        List<Entry> entries = new ArrayList<>();
        ByteArrayOutputStream pickle = new ByteArrayOutputStream();
        Pickler p = new Pickler(pickle);
        p.proto2();
        p.global("collections", "OrderedDict");
        p.op(')');                      // EMPTY_TUPLE
        p.op('R');                      // REDUCE: OrderedDict()
        p.op('(');                      // MARK
        int key = 0;
        for (Map.Entry<String, Tensor> e : stateDict.entrySet()) {
            Tensor t = e.getValue();
            if (!t.device().equals(Device.CPU)) {
                throw new CheckpointException("cannot write " + file + ": tensor '" + e.getKey() + "' is " + t + "; download it to the CPU first");
            }
            String storageKey = Integer.toString(key++);
            p.string(e.getKey());
            p.global("torch._utils", "_rebuild_tensor_v2");
            p.op('(');                  // MARK of the argument tuple
            p.op('(');                  // MARK of the persistent id
            p.string("storage");
            p.global("torch", storageType(t.dtype(), file, e.getKey()));
            p.string(storageKey);
            p.string("cpu");
            p.integer(t.numel());
            p.op('t');                  // TUPLE
            p.op('Q');                  // BINPERSID
            p.integer(0);               // storage offset
            int[] shape = t.shape();
            p.op('(');
            for (int d : shape) p.integer(d);
            p.op('t');
            p.op('(');
            long stride = 1;
            long[] strides = new long[shape.length];
            for (int d = shape.length - 1; d >= 0; d--) {
                strides[d] = stride;
                stride *= shape[d];
            }
            for (long s : strides) p.integer(s);
            p.op('t');
            p.op(0x89);                 // NEWFALSE: requires_grad
            p.global("collections", "OrderedDict");
            p.op(')');
            p.op('R');                  // backward hooks: OrderedDict()
            p.op('t');                  // the argument tuple
            p.op('R');                  // REDUCE: _rebuild_tensor_v2(...)
            entries.add(new Entry("data/" + storageKey, bytesOf(t)));
        }
        p.op('u');                      // SETITEMS
        p.op('.');                      // STOP
        List<Entry> all = new ArrayList<>();
        all.add(new Entry("data.pkl", pickle.toByteArray()));
        all.addAll(entries);
        all.add(new Entry("version", "3\n".getBytes(StandardCharsets.US_ASCII)));
        all.add(new Entry("byteorder", "little".getBytes(StandardCharsets.US_ASCII)));
        Path tmp = file.toAbsolutePath().resolveSibling("." + file.getFileName() + ".tmp");
        try {
            if (file.toAbsolutePath().getParent() != null) Files.createDirectories(file.toAbsolutePath().getParent());
            try (OutputStream out = Files.newOutputStream(tmp)) {
                new StoredZip(out).write(all);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new CheckpointException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static String storageType(DType dtype, Path file, String name) {
        return switch (dtype) {
            case F32 -> "FloatStorage";
            case BF16 -> "BFloat16Storage";
            case F16 -> "HalfStorage";
            case I64 -> "LongStorage";
            case I32 -> "IntStorage";
            case U8 -> "ByteStorage";
        };
    }

    private static byte[] bytesOf(Tensor t) {
        long n = t.bytes();
        if (n > Integer.MAX_VALUE) throw new CheckpointException("tensor of " + n + " bytes is too large for one zip entry here");
        ByteBuffer buf = ByteBuffer.allocate((int) n).order(ByteOrder.LITTLE_ENDIAN);
        TensorBytes.encode(t, 0, (int) t.numel(), buf);
        return buf.array();
    }

    private record Entry(String name, byte[] data) {}

    /** The few pickle opcodes a state dict needs (protocol 2). */
    private static final class Pickler {
        private final ByteArrayOutputStream out;

        Pickler(ByteArrayOutputStream out) { this.out = out; }

        void op(int code) { out.write(code); }

        void proto2() {
            out.write(0x80);
            out.write(2);
        }

        void global(String module, String name) {
            op('c');
            byte[] b = (module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII);
            out.write(b, 0, b.length);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');                    // BINUNICODE
            le32(b.length);
            out.write(b, 0, b.length);
        }

        void integer(long v) {
            if (v >= 0 && v < 256) {
                op('K');                // BININT1
                out.write((int) v);
            } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
                op('J');                // BININT
                le32((int) v);
            } else {
                op(0x8a);               // LONG1: 8 little-endian two's-complement bytes
                out.write(8);
                for (int i = 0; i < 8; i++) out.write((int) (v >>> (8 * i)) & 0xff);
            }
        }

        private void le32(int v) {
            for (int i = 0; i < 4; i++) out.write((v >>> (8 * i)) & 0xff);
        }
    }

    /** A zip of STORED entries whose data start at 64-byte boundaries (padding in the local header's extra field). */
    private static final class StoredZip {
        private final OutputStream out;
        private long pos;

        StoredZip(OutputStream out) { this.out = out; }

        void write(List<Entry> entries) throws IOException {
            ByteArrayOutputStream central = new ByteArrayOutputStream();
            for (Entry e : entries) {
                byte[] name = (ARCHIVE + "/" + e.name()).getBytes(StandardCharsets.UTF_8);
                CRC32 crc = new CRC32();
                crc.update(e.data());
                long headerOffset = pos;
                int pad = (int) ((64 - (pos + 30 + name.length + 4) % 64) % 64);
                int extraLen = 4 + pad;  // one extra field (id 0xCAFE "padding") of `pad` bytes
                le32(0x04034b50);
                le16(20);                // version needed
                le16(0x0800);            // flags: UTF-8 names
                le16(0);                 // STORED
                le16(0);
                le16(0x21);              // DOS time/date (1980-01-01)
                le32((int) crc.getValue());
                le32(e.data().length);
                le32(e.data().length);
                le16(name.length);
                le16(extraLen);
                bytes(name);
                le16(0xCAFE);
                le16(pad);
                bytes(new byte[pad]);
                bytes(e.data());
                ByteArrayOutputStream c = central;
                writeLe32(c, 0x02014b50);
                writeLe16(c, 20);
                writeLe16(c, 20);
                writeLe16(c, 0x0800);
                writeLe16(c, 0);
                writeLe16(c, 0);
                writeLe16(c, 0x21);
                writeLe32(c, (int) crc.getValue());
                writeLe32(c, e.data().length);
                writeLe32(c, e.data().length);
                writeLe16(c, name.length);
                writeLe16(c, 0);         // no extra field in the central directory
                writeLe16(c, 0);         // comment
                writeLe16(c, 0);         // disk
                writeLe16(c, 0);         // internal attributes
                writeLe32(c, 0);         // external attributes
                writeLe32(c, (int) headerOffset);
                c.write(name, 0, name.length);
            }
            if (pos > 0xFFFFFFFFL - 1) throw new IOException("archive over 4 GiB needs zip64, which this writer does not do");
            long centralOffset = pos;
            byte[] dir = central.toByteArray();
            bytes(dir);
            le32(0x06054b50);
            le16(0);
            le16(0);
            le16(entries.size());
            le16(entries.size());
            le32(dir.length);
            le32((int) centralOffset);
            le16(0);
        }

        private void bytes(byte[] b) throws IOException {
            out.write(b);
            pos += b.length;
        }

        private void le16(int v) throws IOException {
            out.write(v & 0xff);
            out.write((v >>> 8) & 0xff);
            pos += 2;
        }

        private void le32(int v) throws IOException {
            for (int i = 0; i < 4; i++) out.write((v >>> (8 * i)) & 0xff);
            pos += 4;
        }

        private static void writeLe16(ByteArrayOutputStream c, int v) {
            c.write(v & 0xff);
            c.write((v >>> 8) & 0xff);
        }

        private static void writeLe32(ByteArrayOutputStream c, int v) {
            for (int i = 0; i < 4; i++) c.write((v >>> (8 * i)) & 0xff);
        }
    }
}
