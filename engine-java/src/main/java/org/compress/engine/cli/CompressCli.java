// `compress`: the command-line entry point (picocli). Subcommands do the work; this class only wires them.
package org.compress.engine.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "compress", mixinStandardHelpOptions = true, version = "CompRess Engine 0.1.0",
        description = "Compress a self-supervised teacher into a small student (CompRess, NeurIPS 2020).",
        subcommands = {InfoCommand.class, TrainCommand.class, PretrainCommand.class, DistillCommand.class, CacheTeacherCommand.class,
                EvalCommand.class, ExportCommand.class, DemoCommand.class, LaunchCommand.class, CommandLine.HelpCommand.class})
public final class CompressCli implements Runnable {
    @Override public void run() { new CommandLine(this).usage(System.out); }

    /** Runs the CLI and returns its exit code (main() is the only place that exits). */
    public static int execute(String... args) {
        return execute(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
    }

    /** As execute(args), writing the commands' output and errors to the given writers; -c config.yaml gives defaults. */
    public static int execute(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cli = commandLine();
        cli.setOut(out);
        cli.setErr(err);
        try {
            ConfigFile config = ConfigFile.fromArgs(args);          // -c config.yaml: defaults that flags override
            if (config != null) cli.setDefaultValueProvider(config);
        } catch (RuntimeException e) {
            cli.getErr().println("error: " + e.getMessage());
            cli.getErr().flush();
            return 2;
        }
        return cli.execute(args);
    }

    /**
     * The configured command line (errors: one line "error: ..." and exit code 1; the last of a repeated flag wins),
     * e.g. to redirect its output in tests. A config file (-c) is read by execute(), not by this command line alone.
     */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new CompressCli());
        cli.setOverwrittenOptionsAllowed(true);
        cli.getSubcommands().get("launch").setStopAtPositional(true);   // launch's options end where the command starts
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("error: " + e.getMessage());
            if (Boolean.getBoolean("compress.debug")) e.printStackTrace(cmd.getErr());
            cmd.getErr().flush();
            return 1;
        });
        return cli;
    }

    public static void main(String[] args) { System.exit(execute(args)); }
}
