// MNIST / Fashion-MNIST from a pair of IDX files (images N x H x W, labels N), held in memory (47 MB for
// the Fashion-MNIST training set). Images are 1-channel; the pipeline replicates to 3 channels if asked.
package org.compress.engine.data.datasets;

import java.nio.file.Path;
import org.compress.engine.data.DataException;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.io.IdxFile;

public final class IdxDataset implements Dataset {
    private final String name;
    private final byte[] pixels;
    private final byte[] labels;
    private final int count, height, width, classes;

    public static IdxDataset open(Path images, Path labels) {
        IdxFile img = IdxFile.read(images);
        IdxFile lab = IdxFile.read(labels);
        if (img.dims().length != 3) {
            throw new DataException(images + ": expected a 3-d IDX image file (N, H, W), found rank " + img.dims().length);
        }
        if (lab.dims().length != 1) {
            throw new DataException(labels + ": expected a 1-d IDX label file (N), found rank " + lab.dims().length);
        }
        if (img.dims()[0] != lab.dims()[0]) {
            throw new DataException("IDX count mismatch: " + images + " holds " + img.dims()[0] + " images, "
                    + labels + " holds " + lab.dims()[0] + " labels");
        }
        return new IdxDataset(images.getFileName().toString(), img.data(), lab.data(), img.dims()[0], img.dims()[1], img.dims()[2]);
    }

    /** The Fashion-MNIST (or MNIST) split {@code train} or {@code t10k} in {@code dir}, gzipped or not. */
    public static IdxDataset openSplit(Path dir, String split) {
        return open(pick(dir, split + "-images-idx3-ubyte"), pick(dir, split + "-labels-idx1-ubyte"));
    }

    private static Path pick(Path dir, String stem) {
        Path gz = dir.resolve(stem + ".gz");
        return java.nio.file.Files.exists(gz) ? gz : dir.resolve(stem);
    }

    private IdxDataset(String name, byte[] pixels, byte[] labels, int count, int height, int width) {
        if (height < 1 || width < 1) throw new DataException(name + ": images of " + height + "x" + width + " pixels");
        int max = 0;
        for (byte b : labels) max = Math.max(max, b & 0xff);
        this.name = name;
        this.pixels = pixels;
        this.labels = labels;
        this.count = count;
        this.height = height;
        this.width = width;
        this.classes = count == 0 ? 0 : max + 1;
    }

    @Override public int size() { return count; }

    @Override public int numClasses() { return classes; }

    @Override public int label(int index) { return labels[index] & 0xff; }

    public int height() { return height; }

    public int width() { return width; }

    @Override public U8Image image(int index) {
        int n = height * width;
        byte[] out = new byte[n];
        System.arraycopy(pixels, index * n, out, 0, n);
        return new U8Image(height, width, 1, out);
    }

    @Override public String source(int index) { return name + "#" + index; }
}
