// `compress info` runs anywhere and, without a GPU, says exactly why CUDA is unavailable.
package org.compress.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.compress.engine.backend.cuda.CudaProbe;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class InfoCommandTest {
    @Test void printsJavaBackendAndCudaStatus() {
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(new CompressCli());
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("info"));
        String text = out.toString();
        assertTrue(text.contains("java            " + System.getProperty("java.version")), text);
        CudaProbe probe = CudaProbe.probe();
        if (probe.available()) {
            assertTrue(text.contains("cuda            available"), text);
            assertTrue(text.contains("gpu 0 "), text);
        } else {
            assertTrue(text.contains("cuda            unavailable: " + probe.reason()), text);
            assertTrue(text.contains("backend         cpu"), text);
        }
    }
}
