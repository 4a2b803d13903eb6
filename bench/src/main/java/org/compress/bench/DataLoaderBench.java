// Loader throughput in images per second (JMH Throughput mode, one op = one image): a Fashion-MNIST epoch
// (60,000 images, ToTensor + Normalize) and the CPU JPEG path (ImageFolder of 500x375 JPEGs written at setup,
// decoded + `compress` recipe to 224x224). Run:
//   java -jar bench/target/benchmarks.jar DataLoaderBench -p workers=2
// The Fashion-MNIST files are Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
package org.compress.bench;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.compress.engine.data.datasets.IdxDataset;
import org.compress.engine.data.datasets.ImageFolder;
import org.compress.engine.data.loader.Batch;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.data.transforms.Recipes;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@Warmup(iterations = 2)
@Measurement(iterations = 3)
@State(Scope.Benchmark)
public class DataLoaderBench {
    static final int JPEGS = 128;

    @Param({"2"}) int workers;
    /** An ImageFolder to read instead of generated JPEGs (scripts/compare_cpu_loader.sh passes one). */
    @Param({""}) String jpegFolder;

    DataLoader fashion;
    DataLoader jpeg;
    Path jpegDir;
    DataLoader fashionAugmented;
    int epoch;

    @Setup(Level.Trial) public void setup() throws IOException {
        IdxDataset train = IdxDataset.openSplit(Path.of("/usr/share/datasets/fashion-mnist"), "train");
        fashion = new DataLoader(train, Recipes.plain(1, 28, 28, Normalize.FASHION_MNIST), LoaderConfig.of(256).workers(workers));
        // what `compress train` feeds the networks: RandomResizedCrop(28, (0.2, 1)) + flip + Normalize
        fashionAugmented = new DataLoader(train, org.compress.engine.train.SmallImageRecipes.compress(1, 28, Normalize.FASHION_MNIST),
                LoaderConfig.of(256).workers(workers));
        if (!jpegFolder.isEmpty()) {
            ImageFolder given = ImageFolder.open(Path.of(jpegFolder));
            if (given.size() != JPEGS) throw new IllegalArgumentException(jpegFolder + ": expected " + JPEGS + " images, found " + given.size());
            jpeg = new DataLoader(given, Recipes.compress(224), LoaderConfig.of(32).workers(workers));
            return;
        }
        jpegDir = Files.createTempDirectory("bench-jpegs");
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < JPEGS; i++) {
            BufferedImage img = new BufferedImage(500, 375, BufferedImage.TYPE_3BYTE_BGR);
            int a = r.nextInt(1 << 24), b = r.nextInt(1 << 24);
            for (int y = 0; y < 375; y++) for (int x = 0; x < 500; x++) {
                // A two-colour ramp plus noise: compresses like a photo, not like a flat fill.
                int t = (x + y) * 255 / 874, noise = r.nextInt(24);
                int rr = (((a >> 16) & 0xff) * t + ((b >> 16) & 0xff) * (255 - t)) / 255;
                int gg = (((a >> 8) & 0xff) * t + ((b >> 8) & 0xff) * (255 - t)) / 255;
                int bb = ((a & 0xff) * t + (b & 0xff) * (255 - t)) / 255;
                img.setRGB(x, y, (Math.min(255, rr + noise) << 16) | (Math.min(255, gg + noise) << 8) | Math.min(255, bb + noise));
            }
            Path p = jpegDir.resolve("c" + (i % 4) + "/" + i + ".jpg");
            Files.createDirectories(p.getParent());
            ImageIO.write(img, "jpeg", p.toFile());
        }
        jpeg = new DataLoader(ImageFolder.open(jpegDir), Recipes.compress(224), LoaderConfig.of(32).workers(workers));
    }

    @TearDown(Level.Trial) public void tearDown() throws IOException {
        fashion.close();
        fashionAugmented.close();
        jpeg.close();
        if (jpegDir == null) return;
        try (Stream<Path> s = Files.walk(jpegDir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static void drain(DataLoader loader, int epoch, Blackhole bh) {
        try (DataLoader.Epoch e = loader.epoch(epoch)) {
            while (e.hasNext()) {
                try (Batch b = e.next()) {
                    bh.consume(b.viewData(0)[0]);
                }
            }
        }
    }

    /** Fashion-MNIST training epoch prepared as normalised 1x28x28 floats; score = img/s. */
    @Benchmark @OperationsPerInvocation(60000)
    public void fashionMnistEpoch(Blackhole bh) { drain(fashion, epoch++, bh); }

    @Benchmark @OperationsPerInvocation(60000)
    public void fashionMnistEpochCompressRecipe(Blackhole bh) { drain(fashionAugmented, epoch++, bh); }

    /** CPU path: JPEG decode + RandomResizedCrop 224 + flip + normalise; score = img/s. */
    @Benchmark @OperationsPerInvocation(JPEGS)
    public void jpegCompressRecipeCpu(Blackhole bh) { drain(jpeg, epoch++, bh); }
}
