// `compress export`: a distilled student as torchvision-named weights, PREFIX.safetensors and PREFIX.pth (a
// torch.save file that load_state_dict(strict=True) accepts); with --probe, the linear probe's classifier as fc.
package org.compress.engine.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.compress.engine.train.StudentExport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Export a student (checkpoints/student.safetensors or compress-epoch-N.safetensors) for PyTorch.")
final class ExportCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-c", "--config"}, description = "YAML file of option: value defaults") Path config;
    @Parameters(index = "0", paramLabel = "CHECKPOINT", description = "the student checkpoint") Path checkpoint;
    @Option(names = "--probe", description = "linear-probe.safetensors of `compress eval linear`: exported as fc") Path probe;
    @Option(names = {"--output", "-o"}, description = "output prefix (default: CHECKPOINT's folder/student-export)") Path output;

    @Override public Integer call() {
        if (config != null) ConfigFile.load(config).checkKeys(spec);
        Path prefix = output != null ? output : checkpoint.toAbsolutePath().resolveSibling("student-export");
        StudentExport.Written w = StudentExport.export(checkpoint, probe, prefix);
        var out = spec.commandLine().getOut();
        out.printf("%s%n%s%n", w.safetensors(), w.pth());
        out.println(w.classes() > 0
                ? "PyTorch: m = torchvision.models.<arch>(num_classes=" + w.classes() + "); m.load_state_dict(torch.load(PTH)); "
                        + "fc acts on the L2-normalised embedding"
                : "PyTorch: m = torchvision.models.<arch>(); m.fc = torch.nn.Identity(); m.load_state_dict(torch.load(PTH))");
        return 0;
    }
}
