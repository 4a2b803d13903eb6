// Locates committed test fixtures (engine-java/src/test/resources/fixtures/, written by the scripts in scripts/):
// -Dcompress.fixtures.dir first, then the test classpath. A fixture inside a jar (the dist/ test runner) is
// copied to a temporary file once, since the readers memory-map paths.
package org.compress.engine.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

public final class Fixtures {
    public static final String DIR_PROPERTY = "compress.fixtures.dir";
    private static final Map<String, Path> EXTRACTED = new ConcurrentHashMap<>();

    private Fixtures() {}

    /** Whether the fixture can be found (a lean GPU bundle may leave large ones out). */
    public static boolean available(String name) {
        String dir = System.getProperty(DIR_PROPERTY);
        return (dir != null && Files.exists(Path.of(dir, name))) || Fixtures.class.getResource("/fixtures/" + name) != null;
    }

    public static Path path(String name) {
        String dir = System.getProperty(DIR_PROPERTY);
        if (dir != null && Files.exists(Path.of(dir, name))) return Path.of(dir, name);
        URL url = Fixtures.class.getResource("/fixtures/" + name);
        if (url == null) {
            throw new AssertionError("fixture " + name + " is missing: run the script in scripts/ that writes it, where PyTorch exists");
        }
        if (!"jar".equals(url.getProtocol())) {
            try {
                return Path.of(url.toURI());
            } catch (URISyntaxException e) {
                throw new AssertionError(e);
            }
        }
        return EXTRACTED.computeIfAbsent(name, n -> {
            try (InputStream in = url.openStream()) {
                Path tmp = Files.createTempFile("fixture-", "-" + n.replace('/', '_'));
                tmp.toFile().deleteOnExit();
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                return tmp;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot extract fixture " + n, e);
            }
        });
    }
}
