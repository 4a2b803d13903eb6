// `compress demo`: the paper's claim in miniature on Fashion-MNIST. A strong MoCo v2 teacher is given (shipped, or
// retrained with --retrain-teacher); with one student budget (architecture, epochs, images, batch, seed) it trains
// CompRess-2q, CompRess-1q, the same student by MoCo v2 alone, and supervised (the upper bound), keeps the
// untrained student (the lower bound), and evaluates all of them and the teacher by NN, 20-NN, linear probe and
// cluster alignment on the test split. Every stage is a run directory under one demo folder, which also receives
// demo-table.md (the paper's table format), demo-table.csv and demo-accuracy.png.
package org.compress.engine.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class Demo {
    private static final Logger log = LoggerFactory.getLogger(Demo.class);

    /** The rows of the table, in the paper's order, and its columns. */
    public static final List<String> ROWS = List.of("Teacher (MoCo v2)", "Supervised (upper bound)", "CompRess-2q", "CompRess-1q",
            "MoCo v2 alone", "Untrained (lower bound)");
    public static final List<String> METRICS = List.of("nn", "knn20", "linear", "clusters");

    /**
     * How the demo's teacher is pretrained (--retrain-teacher; the shipped teacher's model card records the same
     * command): MoCo v2 on `images` training images (0 = all), ResNet-18 at base width `width`, an MLP head of
     * `headDim`, cosine lr, temperature 0.2. Far longer than the student budget, as the paper's 800-epoch teacher.
     */
    public record Teacher(int images, int width, int epochs, int batch, double lr, int queue, double momentum, int headDim) {
        /** The bin/compress pretrain flags that train this teacher. */
        public String command() {
            return String.format(Locale.ROOT, "bin/compress pretrain --width %d --epochs %d --batch-size %d --lr %s --moco-k %d --moco-m %s"
                    + " --moco-dim %d --train-images %d --seed 0", width, epochs, batch, trim(lr), queue, trim(momentum), headDim, images);
        }

        private static String trim(double v) {
            return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
        }
    }

    /**
     * One budget: the student (ResNet-18 at studentWidth) trains `epochs` epochs on trainImages images at batch size
     * `batch` for every method; the teacher is given (or pretrained as `teacher` says).
     */
    public record Scale(String name, int trainImages, int testImages, Teacher teacher, int studentWidth, int epochs,
                        int batch, int compressQueue, int mocoQueue, double compressLr, double mocoLr, double supervisedLr, int linearEpochs) {
        /**
         * 2 CPU cores: the scale of the PyTorch reference (10,000 images, a width-8 student for 6 epochs); the teacher,
         * width 16, saw all 60,000 images for 20 epochs (20x the student's images).
         */
        public static Scale cpu() {
            return new Scale("cpu", 10_000, 10_000, new Teacher(0, 16, 20, 256, 0.06, 16384, 0.99, 128), 8, 6, 128, 4096, 4096,
                    0.05, 0.06, 0.05, 40);
        }

        /** One H100-class GPU: all 60,000 images and wider networks. */
        public static Scale gpu() {
            return new Scale("gpu", 60_000, 10_000, new Teacher(0, 32, 100, 256, 0.06, 16384, 0.99, 128), 16, 15, 256, 16384, 16384,
                    0.05, 0.06, 0.1, 40);
        }

        /** Seconds to run the tests: tiny networks on a slice. */
        public static Scale tiny() {
            return new Scale("tiny", 256, 200, new Teacher(256, 4, 2, 64, 0.06, 256, 0.99, 64), 4, 1, 64, 256, 256, 0.05, 0.06, 0.05, 2);
        }

        public static Scale named(String name, boolean gpu) {
            return switch (name) {
                case "auto" -> gpu ? gpu() : cpu();
                case "cpu" -> cpu();
                case "gpu" -> gpu();
                case "tiny" -> tiny();
                default -> throw new IllegalArgumentException("demo scale: expected auto, cpu, gpu or tiny, found '" + name + "'");
            };
        }

        public int teacherWidth() { return teacher.width(); }

        public Scale withEpochs(int e) {
            return new Scale(name, trainImages, testImages, teacher, studentWidth, e, batch, compressQueue, mocoQueue,
                    compressLr, mocoLr, supervisedLr, linearEpochs);
        }

        public Scale withImages(int train, int test) {
            return new Scale(name, train, test, teacher, studentWidth, epochs, batch, compressQueue, mocoQueue,
                    compressLr, mocoLr, supervisedLr, linearEpochs);
        }
    }

    /** The table: row -> metric -> test top-1 (mean over seeds), plus per-seed values and the wall time. */
    public record Result(Path folder, Map<String, Map<String, Double>> table, Map<Long, Map<String, Map<String, Double>>> perSeed,
                         Path teacher, double seconds) {}

    private Demo() {}

    /** The model a teacher file written by `compress pretrain` describes (its ModelCard); anything else is refused. */
    private static TrainConfig.Model teacherModel(Path teacherFile) {
        ModelCard card = ModelCard.read(teacherFile);
        if (card == null || !card.role().equals(ModelCard.ROLE_TEACHER)) {
            throw new org.compress.engine.io.CheckpointException("demo teacher " + teacherFile + " is not a teacher written by `compress pretrain`"
                    + " (its safetensors metadata has no compress.role=teacher)");
        }
        return card.model(teacherFile.toString());
    }

    /**
     * teacher: the given teacher (a ModelCard safetensors of a width-scale.teacherWidth ResNet-18), or null to
     * pretrain one first as scale.teacher() says (--retrain-teacher).
     */
    public static Result run(Scale s, Path teacher, String dataRoot, String backend, int workers, long[] seeds, Path runsRoot,
                             Progress.Mode progress) {
        long start = System.nanoTime();
        TrainConfig.Data data = new TrainConfig.Data("fashion-mnist", dataRoot, s.trainImages(), s.testImages(), workers, 28);
        TrainConfig.Model teacherSpec = new TrainConfig.Model("resnet18", s.teacherWidth(), true, null, "torchvision");
        TrainConfig.Model studentSpec = new TrainConfig.Model("resnet18", s.studentWidth(), true, null, "torchvision");
        TrainConfig.Eval knn = new TrainConfig.Eval(new int[] {1, 20}, 0.07);
        // every run of the demo is validated before its folder exists (each run validates itself again when it starts)
        if (seeds.length == 0) throw new InvalidConfigurationException(List.of("--seeds: expected at least one seed"));
        TrainConfig.Model planned = teacher != null ? teacherModel(teacher) : teacherSpec;
        Teacher tp = s.teacher();
        TrainConfig.Data teacherData = new TrainConfig.Data("fashion-mnist", dataRoot, tp.images(), s.testImages(), workers, 28);
        TrainConfig teacherRun = new TrainConfig(teacherData, teacherSpec, teacherSpec, new TrainConfig.Moco(tp.epochs(), tp.batch(), tp.lr(),
                tp.queue(), 0.2f, tp.headDim(), tp.momentum(), 50), compress(s, "2q"), knn, 0, backend);
        if (teacher == null) ConfigValidator.validate(teacherRun);
        for (String method : new String[] {"2q", "1q"}) {
            ConfigValidator.validate(new TrainConfig(data, planned, studentSpec, new TrainConfig.Moco(s.epochs(), s.batch(), s.mocoLr(), s.mocoQueue(),
                    0.2f, 64, 0.99, 20), compress(s, method), knn, seeds[0], backend));
        }
        Path folder = StageRunner.freshDirectory(runsRoot, "demo-" + s.name());
        StageRunner.Options opts = new StageRunner.Options(folder, 0, progress);
        Stages.EvalSettings eval = new Stages.EvalSettings(new int[] {1, 20}, 0.07, LinearProbe.Options.official().withEpochs(s.linearEpochs()), 0, 30);
        Set<String> all = Set.of("knn", "linear", "clusters");

        if (teacher == null) {
            var o = StageRunner.run("teacher", teacherRun, teacherRun, opts, c -> Stages.pretrain(c).embeddingDim());
            teacher = o.runDirectory().resolve("checkpoints/teacher.safetensors");
            log.info("demo teacher pretrained in {} s: {}", String.format(Locale.ROOT, "%.0f", o.seconds()), teacher);
        }
        Path teacherFile = teacher;
        TrainConfig.Model given = teacherModel(teacherFile);

        Map<Long, Map<String, Map<String, Double>>> perSeed = new LinkedHashMap<>();
        for (long seed : seeds) {
            Map<String, Map<String, Double>> rows = new LinkedHashMap<>();
            TrainConfig base = new TrainConfig(data, given, studentSpec, new TrainConfig.Moco(s.epochs(), s.batch(), s.mocoLr(), s.mocoQueue(),
                    0.2f, 64, 0.99, 20), compress(s, "2q"), knn, seed, backend);
            rows.putAll(StageRunner.run("baselines-seed" + seed, base, base, opts, c -> {
                Map<String, Map<String, Double>> r = new LinkedHashMap<>();
                Network t = Stages.loadTeacher(c);
                r.put(ROWS.get(0), Stages.evaluate(c, "teacher", Stages.embed(c, t), all, eval));
                Network untrained = Models.build(c.backend(), studentSpec, c.data().channels(), Head.none(), seed + 2);
                r.put(ROWS.get(5), Stages.evaluate(c, "untrained", Stages.embed(c, untrained), all, eval));
                c.summary().put("top1", r);
                return r;
            }).value());
            for (String method : new String[] {"2q", "1q"}) {
                TrainConfig cfg = new TrainConfig(data, given, studentSpec, base.moco(), compress(s, method), knn, seed, backend);
                String row = method.equals("2q") ? ROWS.get(2) : ROWS.get(3);
                rows.put(row, StageRunner.run("compress-" + method + "-seed" + seed, cfg, cfg, opts, c -> {
                    Network student = Stages.distill(c, Stages.loadTeacher(c), null);
                    Map<String, Double> r = Stages.evaluate(c, "student", Stages.embed(c, student), all, eval);
                    c.summary().put("top1", r);
                    return r;
                }).value());
            }
            rows.put(ROWS.get(4), StageRunner.run("moco-seed" + seed, base, base, opts, c -> {
                Network student = Stages.pretrain(c, studentSpec, "student.safetensors", ModelCard.ROLE_STUDENT);
                Map<String, Double> r = Stages.evaluate(c, "student", Stages.embed(c, student), all, eval);
                c.summary().put("top1", r);
                return r;
            }).value());
            rows.put(ROWS.get(1), StageRunner.run("supervised-seed" + seed, base, base, opts, c -> {
                Network student = Models.build(c.backend(), studentSpec, c.data().channels(), Head.linear(c.data().train().numClasses()), seed + 2);
                SupervisedTrainer.train(c.backend(), student, c.data().train(), c.data().view(), s.epochs(), s.batch(), s.supervisedLr(),
                        workers, seed, c.run(), 20);
                Stages.checkpoint(c, "student.safetensors", student, ModelCard.ROLE_STUDENT, studentSpec);
                Map<String, Double> r = Stages.evaluate(c, "student", Stages.embed(c, student), all, eval);
                c.summary().put("top1", r);
                return r;
            }).value());
            perSeed.put(seed, rows);
        }
        Map<String, Map<String, Double>> table = new LinkedHashMap<>();
        for (String row : ROWS) {
            Map<String, Double> mean = new LinkedHashMap<>();
            for (String m : METRICS) mean.put(m, perSeed.values().stream().mapToDouble(r -> r.get(row).get(m)).average().orElse(Double.NaN));
            table.put(row, mean);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Result result = new Result(folder, table, perSeed, teacherFile, seconds);
        write(result, s);
        try {                                      // the demo is one row of the runs folder's summary.csv
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("kind", "demo-" + s.name());
            summary.put("top1", table);
            summary.put("seconds", seconds);
            RunDirectory.writeAtomically(folder.resolve("summary.json"),
                    new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(summary));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        RunsSummary.update(runsRoot);
        return result;
    }

    static TrainConfig.Compress compress(Scale s, String method) {
        return new TrainConfig.Compress(method, s.epochs(), s.batch(), s.compressLr(), s.compressQueue(), 0.04f, 0.999, "F32", "AUTO", false,
                20, false, "cosine");
    }

    /** The table in the paper's format (top-1 %, test split): markdown, and the same numbers per seed as CSV. */
    public static String markdown(Result r, Scale s) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Fashion-MNIST, ResNet-18 student at base width %d, %d epochs on %d training images (batch %d);"
                        + " teacher ResNet-18 at base width %d; top-1 %% on %d test images, mean of %d seed(s); %.0f s%n%n",
                s.studentWidth(), s.epochs(), s.trainImages(), s.batch(), teacherModel(r.teacher()).baseWidth(), s.testImages(),
                r.perSeed().size(), r.seconds()));
        b.append("| Method | NN | 20-NN | Linear | Cluster |\n|---|---:|---:|---:|---:|\n");
        r.table().forEach((row, m) -> b.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f |%n", row,
                100 * m.get("nn"), 100 * m.get("knn20"), 100 * m.get("linear"), 100 * m.get("clusters"))));
        return b.toString();
    }

    private static void write(Result r, Scale s) {
        try {
            RunDirectory.writeAtomically(r.folder().resolve("demo-table.md"), markdown(r, s).getBytes(StandardCharsets.UTF_8));
            StringBuilder csv = new StringBuilder("seed,method," + String.join(",", METRICS) + "\n");
            r.perSeed().forEach((seed, rows) -> rows.forEach((row, m) -> {
                csv.append(seed).append(',').append(row);
                for (String metric : METRICS) csv.append(',').append(String.format(Locale.ROOT, "%.4f", m.get(metric)));
                csv.append('\n');
            }));
            RunDirectory.writeAtomically(r.folder().resolve("demo-table.csv"), csv.toString().getBytes(StandardCharsets.UTF_8));
            System.setProperty("java.awt.headless", "true");
            CategoryChart chart = new CategoryChartBuilder().width(1000).height(500).title("Fashion-MNIST: one student budget, test top-1")
                    .xAxisTitle("evaluation").yAxisTitle("top-1 %").build();
            List<String> columns = List.of("NN", "20-NN", "Linear", "Cluster");
            r.table().forEach((row, m) -> {
                List<Double> ys = new ArrayList<>();
                for (String metric : METRICS) ys.add(100 * m.get(metric));
                chart.addSeries(row, columns, ys);
            });
            BitmapEncoder.saveBitmap(chart, r.folder().resolve("demo-accuracy").toString(), BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the demo table in " + r.folder() + ": " + e.getMessage(), e);
        }
        if (!Files.exists(r.folder().resolve("demo-accuracy.png"))) throw new IllegalStateException("the bar plot was not written");
    }
}
