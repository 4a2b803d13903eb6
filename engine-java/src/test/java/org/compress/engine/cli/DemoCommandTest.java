// `compress demo` at the tiny scale: it retrains its teacher, trains the four students on one budget, evaluates all
// six representations four ways and writes the table (markdown, CSV per seed) and the bar plot; without a teacher
// it stops at once with a one-line error that names the way out.
package org.compress.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.compress.engine.train.Demo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {
    @Test void tinyDemoWritesThePapersTableForEveryMethod(@TempDir Path dir) throws Exception {
        CommandsTest.Run r = CommandsTest.cli("demo", "--scale", "tiny", "--retrain-teacher", "--backend", "cpu", "--progress", "OFF",
                "--out", dir.toString(), "--seeds", "0,1", "--train-images", "128", "--test-images", "100").ok();
        Path folder;
        try (Stream<Path> s = Files.list(dir)) {
            folder = s.filter(p -> p.getFileName().toString().endsWith("-demo-tiny")).findFirst().orElseThrow();
        }
        String table = Files.readString(folder.resolve("demo-table.md"));
        assertTrue(r.out().contains("| Method | NN | 20-NN | Linear | Cluster |"), r.out());
        for (String row : Demo.ROWS) assertTrue(table.contains("| " + row + " |"), row + " in\n" + table);
        List<String> csv = Files.readAllLines(folder.resolve("demo-table.csv"));
        assertEquals(1 + 2 * Demo.ROWS.size(), csv.size(), "header + 6 methods x 2 seeds");
        for (String line : csv.subList(1, csv.size())) {
            String[] f = line.split(",");
            for (int i = 2; i < f.length; i++) {
                double a = Double.parseDouble(f[i]);
                assertTrue(a >= 0 && a <= 1, line);
            }
        }
        assertTrue(Files.size(folder.resolve("demo-accuracy.png")) > 1000);
        // every stage is its own run directory, all listed in the demo folder's summary.csv
        List<String> runs = Files.readAllLines(folder.resolve("summary.csv"));
        assertEquals(1 + 1 + 2 * 5, runs.size(), "teacher + (baselines, 2q, 1q, moco, supervised) per seed: " + runs);
        // the untrained student of seed 0 and of seed 1 are different initialisations: the seed reaches the runs
        String untrained0 = csv.stream().filter(l -> l.startsWith("0,Untrained")).findFirst().orElseThrow();
        String untrained1 = csv.stream().filter(l -> l.startsWith("1,Untrained")).findFirst().orElseThrow();
        assertTrue(!untrained0.substring(2).equals(untrained1.substring(2)), untrained0 + " vs " + untrained1);
    }

    /**
     * The shipped teacher is what the CPU scale's --retrain-teacher would train: a teacher card of the scale's width,
     * at most 20 MB, and its model card (models/fashion-mnist-teacher.md) records the very command the scale runs.
     */
    @Test void theShippedTeacherIsTheCpuScalesTeacher() throws Exception {
        Path root = Path.of("..").toAbsolutePath().normalize();
        Path teacher = root.resolve(DemoCommand.SHIPPED_TEACHER);
        assertTrue(Files.isRegularFile(teacher), teacher + " is shipped");
        assertTrue(Files.size(teacher) <= 20L << 20, teacher + ": " + Files.size(teacher) + " bytes, at most 20 MB");
        org.compress.engine.train.ModelCard card = org.compress.engine.train.ModelCard.read(teacher);
        Demo.Scale cpu = Demo.Scale.cpu();
        assertEquals("teacher", card.role());
        assertEquals("resnet18", card.arch());
        assertEquals(cpu.teacherWidth(), card.baseWidth());
        String modelCard = Files.readString(teacher.resolveSibling("fashion-mnist-teacher.md"));
        assertTrue(modelCard.contains(cpu.teacher().command()), "the model card records `" + cpu.teacher().command() + "`");
    }

    @Test void withoutATeacherTheDemoSaysWhatToDo(@TempDir Path dir) {
        CommandsTest.cli("demo", "--scale", "tiny", "--teacher", dir.resolve("missing.safetensors").toString(), "--out", dir.toString())
                .fails("does not exist: pass --teacher FILE, or --retrain-teacher");
        CommandsTest.cli("demo", "--scale", "huge", "--out", dir.toString()).fails("expected auto, cpu, gpu or tiny, found 'huge'");
    }
}
