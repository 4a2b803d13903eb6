// SIGINT / SIGTERM during training: the first one asks the trainer to stop after its current step (it writes a
// complete checkpoint and returns through TrainingInterruptedException, which the command maps to exit code 130 /
// 143); a second one exits at once without saving. The previous handlers come back on close().
package org.compress.engine.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import org.compress.engine.train.StopRequest;
import sun.misc.Signal;
import sun.misc.SignalHandler;

final class SignalStop implements AutoCloseable {
    private static final Map<String, Integer> NUMBERS = Map.of("INT", 2, "TERM", 15);
    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();

    private SignalStop(StopRequest stop, PrintWriter err) {
        for (String name : new String[] {"INT", "TERM"}) {
            Signal signal = new Signal(name);
            try {
                previous.put(signal, Signal.handle(signal, s -> {
                    if (stop.requested()) {
                        err.println("second SIG" + name + ": exiting without a checkpoint");
                        err.flush();
                        Runtime.getRuntime().halt(exitCode("SIG" + name));
                    }
                    err.println("SIG" + name + ": finishing the current step and writing a checkpoint (again to exit at once)");
                    err.flush();
                    stop.request("SIG" + name);
                }));
            } catch (IllegalArgumentException ignoredByTheShell) {
                // the signal is ignored in this process (e.g. SIGINT of a background job): nothing can arrive
            }
        }
    }

    static SignalStop install(StopRequest stop, PrintWriter err) { return new SignalStop(stop, err); }

    /** 128 + the signal's number, as shells report a process a signal ended: 130 for SIGINT, 143 for SIGTERM. */
    static int exitCode(String reason) {
        Integer n = reason != null && reason.startsWith("SIG") ? NUMBERS.get(reason.substring(3)) : null;
        return n == null ? 1 : 128 + n;
    }

    @Override public void close() { previous.forEach(Signal::handle); }
}
