// --threads and --cpu-tune: the CPU backend's one native thread pool (like torch.set_num_threads) and its
// convolution tuning (like torch.backends.cudnn.benchmark), shared by every command that computes. Set while the
// command line is parsed, so before any backend exists.
package org.compress.engine.cli;

import org.compress.engine.backend.cpu.DnnlNative;
import picocli.CommandLine.Option;

final class ThreadsOption {
    @Option(names = "--threads", paramLabel = "N",
            description = "threads of the CPU backend's native pool (default: $COMPRESS_THREADS, else every processor)")
    void threads(int n) { DnnlNative.threads(n); }

    @Option(names = "--cpu-tune", negatable = true,
            description = "experimental: time oneDNN's implementations of each convolution shape once and keep the fastest (like "
                    + "torch.backends.cudnn.benchmark): faster, but runs are not bit-reproducible (default: $COMPRESS_CPU_TUNE, else off)")
    void tune(boolean on) { DnnlNative.tuning(on); }
}
