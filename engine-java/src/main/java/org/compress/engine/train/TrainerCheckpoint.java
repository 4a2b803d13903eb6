// Everything a CompRess run needs to continue exactly where it stopped, as one safetensors file per epoch:
// student.* and key.* (state dicts), sgd.momentum.* and sgd.steps, teacher_bank.* and student_bank.* (rows and
// pointer), and epoch (the last one finished). Written atomically with a .done marker; read back only if complete.
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.io.Safetensors;
import org.compress.engine.loss.MemoryBank;
import org.compress.engine.nn.models.Network;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class TrainerCheckpoint {
    private TrainerCheckpoint() {}

    static Path save(Backend backend, RunDirectory run, int epoch, Network student, Network key, Sgd sgd, MemoryBank teacherBank,
                     MemoryBank studentBank) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        put(backend, out, "student.", student.stateDict());
        if (key != null) put(backend, out, "key.", key.stateDict());
        put(backend, out, "sgd.momentum.", sgd.momentumBuffers());
        out.put("sgd.steps", scalar(sgd.steps()));
        bank(out, "teacher_bank.", teacherBank);
        if (studentBank != null) bank(out, "student_bank.", studentBank);
        out.put("epoch", scalar(epoch));
        Path file = run.checkpointPath("compress-epoch-" + epoch + ".safetensors");
        Safetensors.write(file, out);
        run.markComplete(file);
        run.pruneEpochCheckpoints("compress-epoch-", epoch);
        return file;
    }

    /** Restores the state into the given objects (checked before anything is written); returns the epoch finished. */
    static int restore(Path file, Network student, Network key, Sgd sgd, MemoryBank teacherBank, MemoryBank studentBank) {
        if (!RunDirectory.isComplete(file)) {
            throw new IllegalArgumentException("checkpoint " + file + " is missing or has no .done marker (an interrupted write)");
        }
        Map<String, Tensor> all = Safetensors.read(file);
        Map<String, Tensor> s = group(all, "student."), k = group(all, "key."), m = group(all, "sgd.momentum.");
        student.loadStateDict(s);
        if (key != null) key.loadStateDict(k);
        sgd.restore(m, all.get("sgd.steps").cpuStorage().i64()[0]);
        teacherBank.restore(group(all, "teacher_bank."));
        if (studentBank != null) studentBank.restore(group(all, "student_bank."));
        return (int) all.get("epoch").cpuStorage().i64()[0];
    }

    private static void put(Backend backend, Map<String, Tensor> out, String prefix, Map<String, Tensor> state) {
        state.forEach((name, t) -> out.put(prefix + name, t.device().isCuda() ? backend.download(t) : t));
    }

    private static void bank(Map<String, Tensor> out, String prefix, MemoryBank bank) {
        bank.state().forEach((name, t) -> out.put(prefix + name, t));
    }

    private static Map<String, Tensor> group(Map<String, Tensor> all, String prefix) {
        Map<String, Tensor> g = new LinkedHashMap<>();
        all.forEach((name, t) -> {
            if (name.startsWith(prefix)) g.put(name.substring(prefix.length()), t);
        });
        return g;
    }

    private static Tensor scalar(long v) {
        Tensor t = Tensor.cpuZeros(DType.I64, 1);
        t.cpuStorage().i64()[0] = v;
        return t;
    }
}
