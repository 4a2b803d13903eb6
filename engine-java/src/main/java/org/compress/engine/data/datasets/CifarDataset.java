// CIFAR-10 / CIFAR-100 "binary version" files: fixed-size records of label byte(s) then 3072 bytes of
// 32x32 R, G, B planes. CIFAR-100 records carry a coarse and a fine label; pick one.
package org.compress.engine.data.datasets;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.compress.engine.data.DataException;
import org.compress.engine.data.image.U8Image;

public final class CifarDataset implements Dataset {
    public enum Variant {
        CIFAR10(1, 0, 10), CIFAR100_COARSE(2, 0, 20), CIFAR100_FINE(2, 1, 100);

        final int labelBytes, labelOffset, classes;

        Variant(int labelBytes, int labelOffset, int classes) {
            this.labelBytes = labelBytes;
            this.labelOffset = labelOffset;
            this.classes = classes;
        }

        int recordBytes() { return labelBytes + PIXELS; }
    }

    private static final int SIDE = 32, PLANE = SIDE * SIDE, PIXELS = 3 * PLANE;

    private final Variant variant;
    private final List<byte[]> files = new ArrayList<>();
    private final List<String> names = new ArrayList<>();
    private final int[] fileStart;  // first global index of each file
    private final int count;

    /** Opens the record files in the given order (e.g. data_batch_1.bin .. data_batch_5.bin). */
    public static CifarDataset open(Variant variant, List<Path> paths) {
        if (paths.isEmpty()) throw new DataException("CIFAR: no files given");
        return new CifarDataset(variant, paths);
    }

    private CifarDataset(Variant variant, List<Path> paths) {
        this.variant = variant;
        this.fileStart = new int[paths.size()];
        long total = 0;
        int record = variant.recordBytes();
        for (int f = 0; f < paths.size(); f++) {
            Path p = paths.get(f);
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(p);
            } catch (NoSuchFileException e) {
                throw new DataException(p + ": file not found", e);
            } catch (IOException e) {
                throw new DataException(p + ": cannot read (" + e + ")", e);
            }
            if (bytes.length == 0 || bytes.length % record != 0) {
                throw new DataException(p + ": " + variant + " files hold whole records of " + record + " bytes; found "
                        + bytes.length + " bytes (" + bytes.length / record + " records + " + bytes.length % record + ")");
            }
            for (int r = 0, n = bytes.length / record; r < n; r++) {
                for (int l = 0; l < variant.labelBytes; l++) {
                    int v = bytes[r * record + l] & 0xff;
                    int limit = variant == Variant.CIFAR10 ? 10 : (l == 0 ? 20 : 100);
                    if (v >= limit) {
                        throw new DataException(p + ": record " + r + " has label " + v + ", expected < " + limit
                                + " for " + variant + " (wrong variant?)");
                    }
                }
            }
            fileStart[f] = (int) total;
            total += bytes.length / record;
            files.add(bytes);
            names.add(p.getFileName().toString());
        }
        this.count = (int) total;
    }

    @Override public int size() { return count; }

    @Override public int numClasses() { return variant.classes; }

    private int file(int index) {
        int f = fileStart.length - 1;
        while (fileStart[f] > index) f--;
        return f;
    }

    @Override public int label(int index) {
        int f = file(index);
        return files.get(f)[(index - fileStart[f]) * variant.recordBytes() + variant.labelOffset] & 0xff;
    }

    @Override public U8Image image(int index) {
        int f = file(index);
        byte[] src = files.get(f);
        int base = (index - fileStart[f]) * variant.recordBytes() + variant.labelBytes;
        byte[] out = new byte[PIXELS];
        for (int i = 0; i < PLANE; i++) {
            out[3 * i] = src[base + i];
            out[3 * i + 1] = src[base + PLANE + i];
            out[3 * i + 2] = src[base + 2 * PLANE + i];
        }
        return new U8Image(SIDE, SIDE, 3, out);
    }

    @Override public String source(int index) {
        int f = file(index);
        return names.get(f) + "#" + (index - fileStart[f]);
    }
}
