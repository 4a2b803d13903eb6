// The README's "Using it as a library" example, taken from README.md as it stands, compiled against the engine and
// run: it must compile, and the CompRess loss of its hand-written student must fall.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LibraryExampleTest {
    static String readmeExample() throws Exception {
        Path readme = Path.of("..", "README.md");
        String text = Files.readString(readme);
        int section = text.indexOf("## Using it as a library");
        assertTrue(section >= 0, "README.md has the section 'Using it as a library'");
        int start = text.indexOf("```java\n", section) + "```java\n".length();
        return text.substring(start, text.indexOf("```", start));
    }

    @Test void theReadmeExampleCompilesRunsAndItsLossFalls(@TempDir Path dir) throws Exception {
        Path src = dir.resolve("LibraryExample.java");
        Files.writeString(src, readmeExample());
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, diagnostics, diagnostics, "-cp", System.getProperty("java.class.path"), "-d", dir.toString(), src.toString());
        assertEquals(0, rc, "the README example does not compile:\n" + diagnostics);

        PrintStream stdout = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
            System.setOut(new PrintStream(out, true));
            loader.loadClass("LibraryExample").getMethod("main", String[].class).invoke(null, (Object) new String[0]);
        } finally {
            System.setOut(stdout);
        }
        List<Double> losses = out.toString().lines().filter(l -> l.startsWith("step ")).map(l -> Double.parseDouble(l.split(" ")[3])).toList();
        assertEquals(3, losses.size(), "steps 0, 100 and 200 print their loss: " + out);
        assertTrue(losses.get(2) < 0.5 * losses.get(0), "the student learns the teacher's similarities: " + losses);
    }
}
