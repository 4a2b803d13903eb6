// Readers on real files: Debian's Fashion-MNIST (IDX, gzipped and plain), CIFAR binary records and an
// ImageFolder tree written here; and the bad inputs the issue lists, each with the error it must give.
package org.compress.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;
import javax.imageio.ImageIO;
import org.compress.engine.data.datasets.CifarDataset;
import org.compress.engine.data.datasets.IdxDataset;
import org.compress.engine.data.datasets.ImageFolder;
import org.compress.engine.data.image.U8Image;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");
    @TempDir Path tmp;

    @Test void fashionMnistFromDebian() {
        IdxDataset train = IdxDataset.openSplit(FASHION, "train");
        IdxDataset test = IdxDataset.openSplit(FASHION, "t10k");
        assertEquals(60000, train.size());
        assertEquals(10000, test.size());
        assertEquals(10, train.numClasses());
        assertEquals(28, train.height());
        assertEquals(28, train.width());
        int[] perClass = new int[10];
        for (int i = 0; i < train.size(); i++) perClass[train.label(i)]++;
        int[] six = new int[10];
        Arrays.fill(six, 6000);
        assertArrayEquals(six, perClass, "Fashion-MNIST's training set has 6000 images per class");
        assertEquals(9, train.label(0), "the first training image is an ankle boot (class 9)");
        U8Image first = train.image(0);
        assertEquals(1, first.channels());
        int nonZero = 0;
        for (byte b : first.data()) if (b != 0) nonZero++;
        assertTrue(nonZero > 100 && nonZero < 28 * 28, "image 0 has a shape on a black background: " + nonZero);
        assertEquals("train-images-idx3-ubyte.gz#5", train.source(5));
    }

    static Path gunzip(Path gz, Path out) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(gz)); OutputStream o = Files.newOutputStream(out)) {
            in.transferTo(o);
        }
        return out;
    }

    @Test void plainIdxEqualsGzipped() throws IOException {
        Path img = gunzip(FASHION.resolve("t10k-images-idx3-ubyte.gz"), tmp.resolve("t10k-images-idx3-ubyte"));
        Path lab = gunzip(FASHION.resolve("t10k-labels-idx1-ubyte.gz"), tmp.resolve("t10k-labels-idx1-ubyte"));
        IdxDataset plain = IdxDataset.open(img, lab);
        IdxDataset gz = IdxDataset.openSplit(FASHION, "t10k");
        for (int i : new int[] {0, 1, 4999, 9999}) {
            assertArrayEquals(gz.image(i).data(), plain.image(i).data());
            assertEquals(gz.label(i), plain.label(i));
        }
    }

    @Test void idxBadInputs() throws IOException {
        DataException mismatch = assertThrows(DataException.class, () -> IdxDataset.open(
                FASHION.resolve("train-images-idx3-ubyte.gz"), FASHION.resolve("t10k-labels-idx1-ubyte.gz")));
        assertTrue(mismatch.getMessage().contains("60000 images") && mismatch.getMessage().contains("10000 labels"), mismatch.getMessage());

        Path lab = gunzip(FASHION.resolve("t10k-labels-idx1-ubyte.gz"), tmp.resolve("labels"));
        byte[] full = Files.readAllBytes(lab);
        Path cut = Files.write(tmp.resolve("cut"), Arrays.copyOf(full, full.length - 10));
        DataException truncated = assertThrows(DataException.class, () -> org.compress.engine.data.io.IdxFile.read(cut));
        assertTrue(truncated.getMessage().contains("promises 10000 bytes of data, found 9990"), truncated.getMessage());

        byte[] floats = full.clone();
        floats[2] = 0x0D;
        Path f = Files.write(tmp.resolve("float"), floats);
        DataException type = assertThrows(DataException.class, () -> org.compress.engine.data.io.IdxFile.read(f));
        assertTrue(type.getMessage().contains("0xd is not supported"), type.getMessage());

        Path text = Files.writeString(tmp.resolve("text"), "hello world");
        assertTrue(assertThrows(DataException.class, () -> org.compress.engine.data.io.IdxFile.read(text))
                .getMessage().contains("not an IDX file"));
        assertTrue(assertThrows(DataException.class, () -> IdxDataset.open(tmp.resolve("nope"), lab))
                .getMessage().contains("file not found"));
        // Images passed as labels: rank 3 where 1 is expected.
        assertThrows(DataException.class, () -> IdxDataset.open(FASHION.resolve("t10k-images-idx3-ubyte.gz"),
                FASHION.resolve("t10k-images-idx3-ubyte.gz")));
    }

    static byte[] cifarRecords(int labelBytes, int n, int seed) {
        byte[] b = new byte[n * (labelBytes + 3072)];
        for (int r = 0; r < n; r++) {
            int base = r * (labelBytes + 3072);
            for (int l = 0; l < labelBytes; l++) b[base + l] = (byte) ((r + seed + l) % 10);
            for (int i = 0; i < 3072; i++) b[base + labelBytes + i] = (byte) (i * 7 + r + seed);
        }
        return b;
    }

    @Test void cifarBinary() throws IOException {
        Path a = Files.write(tmp.resolve("data_batch_1.bin"), cifarRecords(1, 3, 0));
        Path b = Files.write(tmp.resolve("data_batch_2.bin"), cifarRecords(1, 2, 5));
        CifarDataset ds = CifarDataset.open(CifarDataset.Variant.CIFAR10, List.of(a, b));
        assertEquals(5, ds.size());
        assertEquals(10, ds.numClasses());
        assertEquals(1, ds.label(1));
        assertEquals(6, ds.label(4));   // record 1 of the second file: (1 + 5) % 10
        assertEquals("data_batch_2.bin#1", ds.source(4));
        U8Image img = ds.image(4);
        // planar R,G,B in the file -> interleaved: pixel (y=2, x=3) is plane index 67.
        int i = 2 * 32 + 3;
        assertEquals((byte) (i * 7 + 1 + 5), img.data()[3 * i]);
        assertEquals((byte) ((1024 + i) * 7 + 1 + 5), img.data()[3 * i + 1]);
        assertEquals((byte) ((2048 + i) * 7 + 1 + 5), img.data()[3 * i + 2]);

        Path c100 = Files.write(tmp.resolve("train.bin"), cifarRecords(2, 4, 0));
        CifarDataset fine = CifarDataset.open(CifarDataset.Variant.CIFAR100_FINE, List.of(c100));
        assertEquals(2, fine.label(1));
        assertEquals(1, CifarDataset.open(CifarDataset.Variant.CIFAR100_COARSE, List.of(c100)).label(1));

        Path partial = Files.write(tmp.resolve("bad.bin"), Arrays.copyOf(cifarRecords(1, 2, 0), 3073 + 100));
        assertTrue(assertThrows(DataException.class, () -> CifarDataset.open(CifarDataset.Variant.CIFAR10, List.of(partial)))
                .getMessage().contains("whole records of 3073 bytes"));
        // A CIFAR-100 file read as CIFAR-10 shifts every record by a byte: caught by the record size.
        assertThrows(DataException.class, () -> CifarDataset.open(CifarDataset.Variant.CIFAR10, List.of(c100)));
    }

    static void writePng(Path p, int w, int h, int rgb) throws IOException {
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(w, h, java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, rgb);
        Files.createDirectories(p.getParent());
        ImageIO.write(img, "png", p.toFile());
    }

    @Test void imageFolderOrderLabelsAndSniffing() throws IOException {
        Path root = tmp.resolve("train");
        writePng(root.resolve("n02/b.png"), 3, 2, 0x102030);
        writePng(root.resolve("n02/a.PNG"), 3, 2, 0x405060);
        writePng(root.resolve("n02/sub/c.png"), 3, 2, 0x708090);
        writePng(root.resolve("n01/z.JPEG"), 5, 4, 0xff0000);   // a PNG with a JPEG name
        Files.writeString(root.resolve("n01/readme.txt"), "not taken");
        Files.writeString(root.resolve("n01/.hidden.png"), "not taken");
        ImageFolder ds = ImageFolder.open(root);
        assertEquals(List.of("n01", "n02"), ds.classes());
        assertEquals(4, ds.size());
        assertEquals(1, ds.ignoredFiles());
        assertEquals(List.of("n01/z.JPEG", "n02/a.PNG", "n02/b.png", "n02/sub/c.png"),
                java.util.stream.IntStream.range(0, 4).mapToObj(i -> root.relativize(ds.path(i)).toString()).toList());
        assertArrayEquals(new int[] {0, 1, 1, 1}, java.util.stream.IntStream.range(0, 4).map(ds::label).toArray());
        U8Image z = ds.image(0);
        assertEquals(255, z.get(3, 4, 0));
        assertEquals(0x40, ds.image(1).get(0, 0, 0));
        String hash = ds.listingHash();
        assertEquals(hash, ImageFolder.open(root).listingHash(), "same files, same listing hash");
        writePng(root.resolve("n01/zz.png"), 1, 1, 0);
        assertNotEquals(hash, ImageFolder.open(root).listingHash());
    }

    @Test void imageFolderBadInputs() throws IOException {
        assertTrue(assertThrows(DataException.class, () -> ImageFolder.open(tmp.resolve("missing")))
                .getMessage().contains("image folder not found"));
        Path flat = tmp.resolve("flat");
        writePng(flat.resolve("x.png"), 1, 1, 0);
        assertTrue(assertThrows(DataException.class, () -> ImageFolder.open(flat)).getMessage().contains("no class sub-folders"));
        Path withEmpty = tmp.resolve("we");
        writePng(withEmpty.resolve("cat/x.png"), 1, 1, 0);
        Files.createDirectories(withEmpty.resolve("dog"));
        Files.writeString(withEmpty.resolve("dog/notes.txt"), "no images here");
        DataException e = assertThrows(DataException.class, () -> ImageFolder.open(withEmpty));
        assertTrue(e.getMessage().contains("[dog]"), e.getMessage());

        Path bad = tmp.resolve("bad");
        writePng(bad.resolve("cat/ok.png"), 2, 2, 0);
        Files.writeString(bad.resolve("cat/text.jpg"), "I am text");
        ImageFolder ds = ImageFolder.open(bad);
        CorruptSampleException c = assertThrows(CorruptSampleException.class, () -> ds.image(1));
        assertEquals(bad.resolve("cat/text.jpg").toString(), c.source());
    }
}
