// `compress launch --nproc-per-node N <command ...>`: runs a compress command as N processes of one data-parallel
// job on this machine (one GPU each on CUDA; Gloo over loopback on the CPU), like torchrun. With --nnodes and
// --node-rank, run it once per machine with the same --master-addr/--master-port (rank 0's machine).
package org.compress.engine.cli;

import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.compress.engine.dist.DistEnv;
import org.compress.engine.dist.LocalLauncher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "launch", mixinStandardHelpOptions = true,
        description = "Run a compress command (train, ...) as a data-parallel job of N processes on this machine, like torchrun.")
final class LaunchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--nproc-per-node", required = true, description = "processes on this machine (one per GPU on CUDA)") int nproc;
    @Option(names = "--nnodes", description = "machines in the job (default: ${DEFAULT-VALUE})") int nnodes = 1;
    @Option(names = "--node-rank", description = "this machine's index, 0 on the master (default: ${DEFAULT-VALUE})") int nodeRank = 0;
    @Option(names = "--master-addr", description = "rank 0's host (default: ${DEFAULT-VALUE})") String masterAddr = "127.0.0.1";
    @Option(names = "--master-port", description = "rank 0's store port (default: a free port on one machine, 29500 on several)")
    Integer masterPort;
    @Option(names = "--grace-seconds", description = "after a rank fails, how long the others may take to stop before they are killed"
            + " (default: ${DEFAULT-VALUE})") int grace = 30;
    @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "the compress command and its options, e.g. train --epochs 1")
    List<String> command;

    @Override public Integer call() throws Exception {
        int port = masterPort != null ? masterPort : nnodes == 1 ? freePort() : DistEnv.DEFAULT_PORT;
        List<String> argv = new ArrayList<>();
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        argv.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());   // the same JVM options (heap, native access)
        argv.add("-cp");
        argv.add(System.getProperty("java.class.path"));
        argv.add(CompressCli.class.getName());
        argv.addAll(command);
        var options = new LocalLauncher.Options(nproc, nnodes, nodeRank, masterAddr, port, Duration.ofSeconds(grace));
        return LocalLauncher.run(options, argv, System.getenv(), new java.io.PrintStream(System.err, true));
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
