// --threads: the size of the CPU backend's one native thread pool (like torch.set_num_threads), shared by every
// command that computes. Set while the command line is parsed, so before any backend exists.
package org.compress.engine.cli;

import org.compress.engine.backend.cpu.DnnlNative;
import picocli.CommandLine.Option;

final class ThreadsOption {
    @Option(names = "--threads", paramLabel = "N",
            description = "threads of the CPU backend's native pool (default: $COMPRESS_THREADS, else every processor)")
    void threads(int n) { DnnlNative.threads(n); }
}
