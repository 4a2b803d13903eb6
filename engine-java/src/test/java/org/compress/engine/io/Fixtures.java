// Locates the committed PyTorch fixtures (written by scripts/make_torch_fixtures.py) on the test classpath.
package org.compress.engine.io;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

final class Fixtures {
    private Fixtures() {}

    static Path path(String name) {
        URL url = Fixtures.class.getResource("/fixtures/" + name);
        if (url == null) {
            throw new AssertionError("fixture " + name + " is missing: run scripts/make_torch_fixtures.py where PyTorch exists");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }
}
