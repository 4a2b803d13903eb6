// The `compress train` job end to end on a slice of Fashion-MNIST with tiny networks: the run directory is
// complete, the student's loss falls, the checkpoints reload into networks that reproduce the embeddings,
// and every CompRess method runs.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineTest {
    static TrainConfig tiny(String method, int compressEpochs) {
        return new TrainConfig(
                new TrainConfig.Data("fashion-mnist", "/usr/share/datasets/fashion-mnist", 256, 128, 2, 28),
                new TrainConfig.Model("resnet18", 4, true, null, "torchvision"),
                new TrainConfig.Model("resnet18", 4, true, null, "torchvision"),
                new TrainConfig.Moco(1, 64, 0.06, 256, 0.2f, 16, 0.99, 1),
                new TrainConfig.Compress(method, compressEpochs, 64, 0.1, 256, 0.04f, 0.999, "F32", "AUTO", true, 1, false, "cosine"),
                new TrainConfig.Eval(new int[] {1, 5}, 0.07), 7L, "cpu");
    }

    @Test void runDirectoryIsCompleteAndCheckpointsReproduceTheEmbeddings(@TempDir Path runs) throws Exception {
        Pipeline.Summary s = Pipeline.run(tiny("2q", 1), runs);
        Path dir = s.runDirectory();
        for (String f : new String[] {"config.json", "metrics.jsonl", "summary.json", "loss-moco.png", "loss-compress-2q.png"}) {
            assertTrue(Files.size(dir.resolve(f)) > 0, f);
        }
        for (String c : new String[] {"teacher.safetensors", "student.safetensors"}) {
            assertTrue(RunDirectory.isComplete(dir.resolve("checkpoints").resolve(c)), c + " with its completion marker");
        }
        for (String rep : new String[] {"pixels", "teacher", "student"}) {
            for (int k : new int[] {1, 5}) {
                double a = s.knn().get(rep).get(k);
                assertTrue(a > 0.1 && a <= 1, rep + " k=" + k + " accuracy " + a + " (10 classes: chance is 0.1)");
            }
        }
        List<String> metrics = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertTrue(metrics.stream().anyMatch(l -> l.contains("\"stage\":\"moco\"")), "MoCo steps logged");
        assertTrue(metrics.stream().anyMatch(l -> l.contains("\"stage\":\"compress-2q\"")), "CompRess steps logged");
        assertEquals(6, metrics.stream().filter(l -> l.contains("\"stage\":\"eval\"")).count());

        // the pretrained teacher, loaded from its checkpoint (MLP head dropped), embeds exactly as it did
        TrainConfig first = tiny("2q", 1);
        TrainConfig fromCheckpoint = new TrainConfig(first.data(), new TrainConfig.Model("resnet18", 4, true,
                dir.resolve("checkpoints/teacher.safetensors").toString(), "torchvision"), first.student(), first.moco(),
                first.compress(), first.eval(), first.seed(), first.backend());
        Pipeline.Summary again = Pipeline.run(fromCheckpoint, runs.resolve("again"));
        assertEquals(s.knn().get("teacher"), again.knn().get("teacher"), "same teacher, same k-NN accuracies");

        // a fresh student loaded from the checkpoint embeds the test images exactly as the k-NN evaluation saw them
        Backend cpu = new CpuBackend();
        TrainConfig cfg = tiny("2q", 1);
        Network reloaded = Models.build(cpu, cfg.student(), 1, Head.none(), 99);
        Models.load(reloaded, dir.resolve("checkpoints/student.safetensors"), "torchvision");
        Dataset test = Pipeline.openSplit(cfg.data(), "test");
        var view = SmallImageRecipes.eval(1, 28, Normalize.FASHION_MNIST);
        Embeddings.Set a = Embeddings.of(cpu, reloaded, test, view, 64, 1);
        Embeddings.Set b = Embeddings.of(cpu, reloaded, test, view, 32, 2);
        assertArrayEquals(a.values(), b.values(), "batching and workers do not change embeddings");
        assertEquals(test.label(0), a.labels()[0]);
    }

    @Test void theStudentLossFallsForEveryMethodAndTheCachedTeacher(@TempDir Path runs) {
        for (String method : new String[] {"2q", "2q-nomomentum", "1q", "2q-cached"}) {
            boolean cached = method.endsWith("-cached");
            method = cached ? "2q" : method;
            TrainConfig cfg = tiny(method, 3);
            TrainConfig.Compress c = cfg.compress();
            cfg = new TrainConfig(cfg.data(), cfg.teacher(), cfg.student(), new TrainConfig.Moco(0, 64, 0.06, 256, 0.2f, 16, 0.99, 1),
                    new TrainConfig.Compress(c.method(), c.epochs(), c.batchSize(), c.lr(), c.queueSize(), c.tau(), c.momentum(),
                            c.bankDtype(), c.lossPath(), c.checkFinite(), c.logEvery(), cached, c.lrSchedule()),
                    cfg.eval(), cfg.seed(), cfg.backend());
            Pipeline.Summary s = Pipeline.run(cfg, runs.resolve(method + (cached ? "-cached" : "")));
            List<Double> losses = lossesOf(s.runDirectory(), "compress-" + method);
            assertEquals(12, losses.size(), "3 epochs of 4 batches, each logged");
            double first = (losses.get(0) + losses.get(1)) / 2, last = (losses.get(10) + losses.get(11)) / 2;
            assertTrue(last < 0.9 * first, method + ": loss " + first + " -> " + last + " should fall by > 10%");
        }
    }

    @Test void anImageFolderOfRgbImagesRunsEndToEnd(@TempDir Path dir) throws Exception {
        // two classes of 40x40 RGB PNGs: reddish horizontal stripes vs bluish vertical ones, with per-image phase
        for (String split : new String[] {"train", "val"}) {
            for (int c = 0; c < 2; c++) {
                Path folder = Files.createDirectories(dir.resolve("data").resolve(split).resolve("class" + c));
                for (int i = 0; i < 12; i++) {
                    java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(40, 40, java.awt.image.BufferedImage.TYPE_INT_RGB);
                    for (int y = 0; y < 40; y++) for (int x = 0; x < 40; x++) {
                        int v = ((c == 0 ? y : x) + i) % 8 < 4 ? 220 : 30;
                        img.setRGB(x, y, c == 0 ? (v << 16) | (40 << 8) | 40 : (40 << 16) | (40 << 8) | v);
                    }
                    javax.imageio.ImageIO.write(img, "png", folder.resolve("img" + i + ".png").toFile());
                }
            }
        }
        TrainConfig t = tiny("2q", 1);
        TrainConfig cfg = new TrainConfig(new TrainConfig.Data("imagefolder", dir.resolve("data").toString(), 0, 0, 2, 32),
                new TrainConfig.Model("resnet18", 4, true, null, "torchvision"), new TrainConfig.Model("resnet18", 4, true, null, "torchvision"),
                new TrainConfig.Moco(1, 8, 0.06, 16, 0.2f, 16, 0.99, 1),
                new TrainConfig.Compress("2q", 1, 8, 0.05, 16, 0.04f, 0.999, "F32", "AUTO", true, 1, false, "multistep:90,120"), t.eval(), 3, "cpu");
        Pipeline.Summary s = Pipeline.run(cfg, dir.resolve("runs"));
        assertTrue(Files.exists(s.runDirectory().resolve("summary.json")));
        assertEquals(java.util.Set.of("pixels", "teacher", "student"), s.knn().keySet());
        assertEquals(1.0, s.knn().get("pixels").get(1), "the stripes are trivially separable in pixel space");
        for (var acc : s.knn().values()) for (double a : acc.values()) assertTrue(a >= 0 && a <= 1, "accuracy " + a);
    }

    @Test void badConfigurationsAreRejectedWithTheReason(@TempDir Path runs) {
        TrainConfig bad = tiny("3q", 1);
        var e = assertThrows(InvalidConfigurationException.class, () -> Pipeline.run(bad, runs));
        assertTrue(e.getMessage().contains("expected 2q, 2q-nomomentum or 1q, found '3q'"), e.getMessage());
        TrainConfig c = tiny("2q", 1);
        TrainConfig missing = new TrainConfig(new TrainConfig.Data("fashion-mnist", "/nonexistent", 10, 10, 1, 28), c.teacher(),
                c.student(), c.moco(), c.compress(), c.eval(), 0, "cpu");
        var m = assertThrows(InvalidConfigurationException.class, () -> Pipeline.run(missing, runs));
        assertTrue(m.getMessage().contains("/nonexistent does not exist"), m.getMessage());
    }

    @SuppressWarnings("unchecked")
    static List<Double> lossesOf(Path dir, String stage) {
        try {
            var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
            return Files.readAllLines(dir.resolve("metrics.jsonl")).stream()
                    .map(l -> {
                        try {
                            return (Map<String, Object>) mapper.readValue(l, Map.class);
                        } catch (Exception ex) {
                            throw new RuntimeException(ex);
                        }
                    })
                    .filter(r -> stage.equals(r.get("stage")))
                    .map(r -> ((Number) r.get("loss")).doubleValue()).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
