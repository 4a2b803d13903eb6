// Writes an ImageNet-like JPEG folder (ImageFolder layout: OUT/<class>/<n>.jpg) for data-path benchmarks: each
// Fashion-MNIST image upscaled (bicubic) to about 400x350 (width 360-440, height 310-390, like ImageNet's
// typical 500x375 / 400x350 photos), colourised with a random garment colour on a textured two-colour background,
// plus grain noise so that, at JPEG quality 95 with 4:2:0 chroma, files average about 110 KB (-Dquality=0.95 and
// -Dgrain=44 levels are the knobs; ImageNet's train JPEGs average ~110 KB at ~400x350). Without
// Fashion-MNIST (--synthetic) the garment shape is a random blob instead. Prints the mean file size.
//   java -cp 'bench/target/benchmarks.jar' org.compress.bench.MakeImageNetLike OUT COUNT [FASHION_MNIST_DIR|--synthetic]
package org.compress.bench;

import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.compress.engine.data.datasets.IdxDataset;
import org.compress.engine.data.image.U8Image;

public final class MakeImageNetLike {
    static final float QUALITY = Float.parseFloat(System.getProperty("quality", "0.95"));
    /** Grain amplitude (levels): sets the file size (about 110 KB at 400x350, quality 95). */
    static final int GRAIN = Integer.getInteger("grain", 44);

    private MakeImageNetLike() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: MakeImageNetLike OUT COUNT [FASHION_MNIST_DIR | --synthetic]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        int count = Integer.parseInt(args[1]);
        String source = args.length > 2 ? args[2] : "/usr/share/datasets/fashion-mnist";
        IdxDataset fashion = null;
        if (!source.equals("--synthetic")) {
            Path dir = Path.of(source);
            String split = Files.exists(dir.resolve("t10k-images-idx3-ubyte.gz")) || Files.exists(dir.resolve("t10k-images-idx3-ubyte")) ? "t10k" : "train";
            fashion = IdxDataset.openSplit(dir, split);
            System.out.println("source: Fashion-MNIST " + split + " (" + fashion.size() + " images) from " + dir);
        } else {
            System.out.println("source: synthetic blobs (no Fashion-MNIST)");
        }
        IdxDataset f = fashion;
        long[] bytes = new long[count];
        IntStream.range(0, count).parallel().forEach(i -> {
            try {
                int label = f == null ? i % 10 : f.label(i % f.size());
                BufferedImage img = render(f == null ? null : f.image(i % f.size()), i);
                Path p = out.resolve(String.format(Locale.ROOT, "%02d/%06d.jpg", label, i));
                Files.createDirectories(p.getParent());
                write(img, p);
                bytes[i] = Files.size(p);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        double mean = java.util.Arrays.stream(bytes).average().orElse(0);
        System.out.printf(Locale.ROOT, "wrote %d JPEGs to %s, mean %.1f KB%n", count, out, mean / 1024);
    }

    static BufferedImage render(U8Image garment, int seed) {
        SplittableRandom r = new SplittableRandom(0x5eed_0000L + seed);
        int w = 360 + r.nextInt(81), h = 310 + r.nextInt(81);
        BufferedImage mask = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                int v;
                if (garment != null) v = garment.get(y, x, 0);
                else v = Math.hypot(x - 14 + r.nextInt(3), (y - 14) * 1.3) < 9 ? 200 + r.nextInt(56) : 0;
                mask.getRaster().setSample(x, y, 0, v);
            }
        }
        BufferedImage big = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        var g = big.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
        g.drawImage(mask, 0, 0, w, h, null);
        g.dispose();
        int[] fg = {r.nextInt(256), r.nextInt(256), r.nextInt(256)};
        int[] bg0 = {r.nextInt(256), r.nextInt(256), r.nextInt(256)}, bg1 = {r.nextInt(256), r.nextInt(256), r.nextInt(256)};
        double fx = 0.01 + 0.05 * r.nextDouble(), fy = 0.01 + 0.05 * r.nextDouble(), phase = 6.28 * r.nextDouble();
        BufferedImage rgb = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double a = big.getRaster().getSample(x, y, 0) / 255.0;
                double t = 0.5 + 0.5 * Math.sin(fx * x + fy * y + phase) * Math.cos(fy * x - fx * y);
                int px = 0;
                for (int c = 0; c < 3; c++) {
                    double background = bg0[c] * t + bg1[c] * (1 - t);
                    double shade = fg[c] * (0.6 + 0.4 * a);
                    int v = (int) Math.round(a * shade + (1 - a) * background) + r.nextInt(2 * GRAIN + 1) - GRAIN;
                    px = (px << 8) | Math.max(0, Math.min(255, v));
                }
                rgb.setRGB(x, y, px);
            }
        }
        return rgb;
    }

    static void write(BufferedImage img, Path p) throws IOException {
        Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName("jpeg");
        ImageWriter writer = it.next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(QUALITY);
        try (ImageOutputStream o = ImageIO.createImageOutputStream(p.toFile())) {
            writer.setOutput(o);
            writer.write(null, new IIOImage(img, null, null), param);
        } finally {
            writer.dispose();
        }
    }
}
