// Helpers the run commands share: the config-file check and --print-config, what config.json records, the model a
// checkpoint holds (from its ModelCard when this engine wrote it, else from the options), and how a training command
// meets SIGINT / SIGTERM (a checkpoint, the resume command, exit 130 / 143).
package org.compress.engine.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.compress.engine.EngineException;
import org.compress.engine.train.ModelCard;
import org.compress.engine.train.StopRequest;
import org.compress.engine.train.TrainConfig;
import org.compress.engine.train.TrainingInterruptedException;
import picocli.CommandLine.Model.CommandSpec;

final class Commands {
    private Commands() {}

    /** Checks the config file's keys; returns true when --print-config was asked (the YAML is then printed). */
    static boolean printedConfig(CommandSpec spec, RunOptions run) {
        if (run.config != null) ConfigFile.load(run.config).checkKeys(spec);
        if (!run.printConfig) return false;
        spec.commandLine().getOut().print(ConfigFile.print(spec));
        spec.commandLine().getOut().flush();
        return true;
    }

    /** config.json: the command, its resolved options, and the resolved training configuration. */
    static Map<String, Object> recorded(CommandSpec spec, TrainConfig cfg) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("command", spec.name());
        m.put("options", ConfigFile.options(spec));
        m.put("resolved", cfg);
        return m;
    }

    /** The model in {@code file}: its ModelCard's, or (a foreign checkpoint) the one the options describe. */
    static TrainConfig.Model model(Path file, String arch, int width, boolean smallInput, String preset) {
        if (!Files.isRegularFile(file)) throw new EngineException("checkpoint " + file + " does not exist");
        ModelCard card = ModelCard.read(file);
        return card != null ? card.model(file.toString()) : new TrainConfig.Model(arch, width, smallInput, file.toString(), preset);
    }

    /** A training command's work, given the stop request that SIGINT / SIGTERM set; returns the exit code. */
    interface Training {
        int run(StopRequest stop);
    }

    /**
     * Runs {@code work} with SIGINT / SIGTERM handled: the trainer finishes its step, writes a complete checkpoint
     * and stops; the command then prints where it stopped and the command line that resumes it, and returns 130 /
     * 143 (128 + the signal's number, as a shell reports it).
     */
    static int training(CommandSpec spec, Training work) {
        StopRequest stop = new StopRequest();
        try (SignalStop signals = SignalStop.install(stop, spec.commandLine().getErr())) {
            return work.run(stop);
        } catch (TrainingInterruptedException e) {
            var err = spec.commandLine().getErr();
            err.println("stopped on " + e.reason() + "; checkpoint: " + (e.checkpoint() == null ? "none" : e.checkpoint()));
            err.println("resume with: " + resumeCommand(spec, e.runDirectory()));
            err.flush();
            return SignalStop.exitCode(e.reason());
        }
    }

    /** This command line with --resume RUN_DIR in place of any --resume it had. */
    static String resumeCommand(CommandSpec spec, Path runDirectory) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("bin/compress", spec.name()));
        var original = spec.commandLine().getParseResult().originalArgs();
        for (int i = 0; i < original.size(); i++) {
            String a = original.get(i);
            if (a.equals("--resume")) {
                i++;
                continue;
            }
            if (a.startsWith("--resume=") || (i == 0 && a.equals(spec.name()))) continue;
            args.add(a.contains(" ") ? "'" + a + "'" : a);
        }
        args.add("--resume");
        args.add(runDirectory.toString());
        return String.join(" ", args);
    }

    static TrainConfig.Moco noMoco() { return new TrainConfig.Moco(0, 256, 0.03, 65536, 0.2f, 128, 0.999, 50); }

    static TrainConfig.Compress noCompress(int batch) {
        return new TrainConfig.Compress("2q", 0, batch, 0.01, 128000, 0.04f, 0.999, "F32", "AUTO", false, 50, false, "multistep:90,120");
    }

    static TrainConfig.Eval knnEval() { return new TrainConfig.Eval(new int[] {1, 20, 200}, 0.07); }
}
