// `compress info`: Java, the backend that would be chosen, the GPU(s), driver/runtime/cuDNN/cuBLAS/NCCL
// versions and where the native library came from; without a usable GPU, exactly why CUDA is unavailable.
package org.compress.engine.cli;

import java.util.concurrent.Callable;
import org.compress.engine.backend.Backends;
import org.compress.engine.backend.cuda.CudaDeviceInfo;
import org.compress.engine.backend.cuda.CudaProbe;
import org.compress.engine.backend.cuda.CudaVersions;
import org.compress.engine.backend.cuda.Mem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "info", mixinStandardHelpOptions = true, description = "Print the runtime environment: Java, backend, GPU, CUDA library versions.")
final class InfoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override public Integer call() {
        var out = spec.commandLine().getOut();
        out.printf("CompRess Engine 0.1.0%n");
        out.printf("java            %s (%s) on %s %s, %d cores%n", System.getProperty("java.version"),
                System.getProperty("java.vendor"), System.getProperty("os.name"), System.getProperty("os.arch"),
                Runtime.getRuntime().availableProcessors());
        CudaProbe p = CudaProbe.probe();
        String configured = Backends.configured();
        String chosen = configured.equalsIgnoreCase("auto") ? (p.available() ? "cuda:0" : "cpu") : configured;
        out.printf("backend         %s (requested: %s)%n", chosen, configured);
        out.printf("cuda            %s%n", p.available() ? "available" : "unavailable: " + p.reason());
        out.printf("driver          %s%n", p.driverVersion() == 0 ? "none" : "CUDA " + CudaVersions.format(p.driverVersion()));
        out.printf("cuda runtime    %s%n", CudaVersions.format(p.runtimeVersion()));
        for (CudaDeviceInfo d : p.devices()) {
            out.printf("gpu %d           %s, %s, compute capability %s, %d SMs%n", d.index(), d.name(),
                    Mem.human(d.totalMemoryBytes()), d.computeCapability(), d.multiprocessors());
        }
        out.printf("cublas          %s%n", p.cublasVersion());
        out.printf("cudnn           %s%n", p.cudnnVersion());
        out.printf("nccl            %s%n", p.ncclVersion());
        out.printf("native library  %s%n", p.nativeLibrary());
        return 0;
    }
}
