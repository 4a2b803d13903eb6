// Everything a training stage needs to continue exactly where it stopped, as one safetensors file: the networks'
// state dicts under their prefixes (CompRess: student.*, key.*; MoCo: query.*, key.*), sgd.momentum.* and sgd.steps
// (the stage's global step count), the banks (teacher_bank.*, student_bank.*; MoCo: bank.*), epoch and, for a
// checkpoint written in the middle of an epoch (on a stop request), batch = the batches of that epoch already done.
// Files: STAGE-epoch-E.safetensors (epoch E finished) and STAGE-epoch-E-batch-B.safetensors (stopped inside E).
// Written atomically with a .done marker, and only when every floating tensor is finite; read back only if complete,
// every tensor's checksum verifies, every tensor is finite and every key the objects need is there with its shape.
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.io.CheckpointException;
import org.compress.engine.io.Safetensors;
import org.compress.engine.io.StateDictLoader;
import org.compress.engine.loss.MemoryBank;
import org.compress.engine.nn.models.Network;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class TrainerCheckpoint {
    private TrainerCheckpoint() {}

    /** Where a resumed stage continues: epoch {@code epoch}, skipping its first {@code batch} batches; {@code step} steps taken. */
    record Position(int epoch, int batch, long step) {}

    /** The networks, optimizer and banks of a stage, each under its key prefix (e.g. "student." or "teacher_bank."). */
    record State(Map<String, Network> networks, Sgd sgd, Map<String, MemoryBank> banks) {}

    /** CompRess's state: student, optional momentum student, SGD, teacher bank and optional student bank. */
    static State compress(Network student, Network key, Sgd sgd, MemoryBank teacherBank, MemoryBank studentBank) {
        Map<String, Network> nets = new LinkedHashMap<>();
        nets.put("student.", student);
        if (key != null) nets.put("key.", key);
        Map<String, MemoryBank> banks = new LinkedHashMap<>();
        banks.put("teacher_bank.", teacherBank);
        if (studentBank != null) banks.put("student_bank.", studentBank);
        return new State(nets, sgd, banks);
    }

    /**
     * Writes the state after {@code batchesDone} batches of {@code epoch} (-1: the whole epoch) as
     * checkpoints/STAGE-epoch-E[-batch-B].safetensors. With a guard, the state is checked to be finite first and
     * nothing is written otherwise (TrainingDivergedException).
     */
    static Path save(Backend backend, RunDirectory run, String stage, int epoch, int batchesDone, State state, NonFiniteGuard guard) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        state.networks().forEach((prefix, net) -> put(backend, out, prefix, net.stateDict()));
        put(backend, out, "sgd.momentum.", state.sgd().momentumBuffers());
        out.put("sgd.steps", scalar(state.sgd().steps()));
        state.banks().forEach((prefix, bank) -> bank.state().forEach((name, t) -> out.put(prefix + name, t)));
        out.put("epoch", scalar(epoch));
        if (batchesDone >= 0) out.put("batch", scalar(batchesDone));
        if (guard != null) guard.checkState(out, epoch, state.sgd().steps());
        Path file = run.checkpointPath(stage + "-epoch-" + epoch + (batchesDone >= 0 ? "-batch-" + batchesDone : "") + ".safetensors");
        Safetensors.write(file, out);
        run.markComplete(file);
        if (guard != null) guard.checkpointed(file);
        run.pruneCheckpoints(stage, file); // only after the new, finite checkpoint is complete
        return file;
    }

    /** Restores {@code state} from a complete checkpoint, checking everything first; returns where to continue. */
    static Position restore(Path file, State state) {
        Map<String, Tensor> all = readVerified(file);
        for (String k : List.of("sgd.steps", "epoch")) {
            if (!all.containsKey(k)) throw new CheckpointException(file + ": no tensor '" + k + "'; not a training checkpoint of this stage");
        }
        for (Map.Entry<String, Network> e : state.networks().entrySet()) {
            Map<String, int[]> expected = new LinkedHashMap<>();
            e.getValue().stateDict().forEach((k, t) -> expected.put(k, t.shape()));
            StateDictLoader.requireMatch(file + " (" + e.getKey() + "*)", group(all, e.getKey()), expected);
        }
        Map<String, int[]> momenta = new LinkedHashMap<>();
        state.sgd().momentumBuffers().forEach((k, t) -> momenta.put(k, t.shape()));
        StateDictLoader.requireMatch(file + " (sgd.momentum.*)", group(all, "sgd.momentum."), momenta);
        for (Map.Entry<String, MemoryBank> e : state.banks().entrySet()) {
            Map<String, Tensor> g = group(all, e.getKey());
            MemoryBank bank = e.getValue();
            Tensor rows = g.get("rows");
            if (rows == null || g.get("pointer") == null || !Arrays.equals(rows.shape(), new int[] {bank.size(), bank.dim()})
                    || rows.dtype() != bank.dtype()) {
                throw new CheckpointException(file + ": bank " + e.getKey() + "* is " + (rows == null ? "missing" : rows.dtype() + " "
                        + Arrays.toString(rows.shape())) + ", this run's is " + bank.dtype() + " [" + bank.size() + ", " + bank.dim() + "]");
            }
        }
        state.networks().forEach((prefix, net) -> net.loadStateDict(group(all, prefix)));
        state.sgd().restore(group(all, "sgd.momentum."), scalarOf(all, "sgd.steps"));
        state.banks().forEach((prefix, bank) -> bank.restore(group(all, prefix)));
        int epoch = (int) scalarOf(all, "epoch");
        long steps = scalarOf(all, "sgd.steps");
        return all.containsKey("batch") ? new Position(epoch, (int) scalarOf(all, "batch"), steps) : new Position(epoch + 1, 0, steps);
    }

    /**
     * All tensors of a complete checkpoint, with every checksum verified (by the reader) and every floating tensor
     * finite; anything else is a CheckpointException naming the file.
     */
    static Map<String, Tensor> readVerified(Path file) {
        if (!RunDirectory.isComplete(file)) {
            throw new CheckpointException("checkpoint " + file + " is missing or has no .done marker (an interrupted write)");
        }
        Map<String, Tensor> all = Safetensors.read(file);
        List<String> bad = NonFiniteGuard.nonFinite(all);
        if (!bad.isEmpty()) {
            throw new CheckpointException(file + " holds non-finite values in " + bad.size() + " tensors (" + String.join(", ",
                    bad.subList(0, Math.min(3, bad.size()))) + (bad.size() > 3 ? ", ..." : "") + "); it cannot be resumed from");
        }
        return all;
    }

    private static void put(Backend backend, Map<String, Tensor> out, String prefix, Map<String, Tensor> state) {
        state.forEach((name, t) -> out.put(prefix + name, t.device().isCuda() ? backend.download(t) : t));
    }

    private static Map<String, Tensor> group(Map<String, Tensor> all, String prefix) {
        Map<String, Tensor> g = new LinkedHashMap<>();
        all.forEach((name, t) -> {
            if (name.startsWith(prefix)) g.put(name.substring(prefix.length()), t);
        });
        return g;
    }

    private static long scalarOf(Map<String, Tensor> all, String name) {
        Tensor t = all.get(name);
        if (t.dtype() != DType.I64 || t.numel() != 1) throw new CheckpointException("checkpoint tensor '" + name + "' is " + t + ", expected I64[1]");
        return t.cpuStorage().i64()[(int) t.offset()];
    }

    private static Tensor scalar(long v) {
        Tensor t = Tensor.cpuZeros(DType.I64, 1);
        t.cpuStorage().i64()[0] = v;
        return t;
    }
}
