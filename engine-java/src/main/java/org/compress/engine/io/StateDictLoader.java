// Turns a checkpoint (torch.save zip or safetensors) into the state dict a model expects: picks the state dict
// inside the checkpoint, renames keys by a preset (MoCo, SwAV, CompRess, torchvision), optionally drops heads,
// converts floating tensors to the model's dtype, and matches strictly: any missing, unexpected or mis-shaped key
// is an error listing all of them (the official code loads with strict=False and can silently use random weights).
package org.compress.engine.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.CpuStorage;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Float16;
import org.compress.engine.tensor.Tensor;

public final class StateDictLoader {
    /** Where each family of checkpoints keeps its state dict and how its keys differ from torchvision's. */
    public enum Preset {
        /** torchvision's own files (a flat state dict) or its reference scripts' {'model': ...}; keys as they are. */
        TORCHVISION("torchvision", List.of("model", "state_dict"), "", false, List.of("fc.")),
        /** MoCo main_moco.py: {'state_dict': DDP keys}; keeps only module.encoder_q.* (drops encoder_k, queue, queue_ptr). */
        MOCO("moco", List.of("state_dict"), "module.encoder_q.", true, List.of("fc.")),
        /** SwAV: a state dict (or {'state_dict': ...}) with module.* keys; its heads are projection_head.* and prototypes.*. */
        SWAV("swav", List.of("state_dict"), "module.", false, List.of("projection_head.", "prototypes.", "fc.")),
        /**
         * Official CompRess train_student.py: {'opt': argparse.Namespace, 'model': DataParallel(student).state_dict(),
         * 'optimizer', 'epoch'}; the student's fc is an empty nn.Sequential, so 'model' holds only the backbone.
         */
        COMPRESS("compress", List.of("model", "state_dict"), "module.", false, List.of("fc."));

        private final String id;
        private final List<String> containers;
        private final String prefix;
        private final boolean onlyPrefixed;
        private final List<String> heads;

        Preset(String id, List<String> containers, String prefix, boolean onlyPrefixed, List<String> heads) {
            this.id = id;
            this.containers = containers;
            this.prefix = prefix;
            this.onlyPrefixed = onlyPrefixed;
            this.heads = heads;
        }

        public String id() { return id; }

        /** Top-level keys tried, in order, for the state dict; a flat state dict is taken as it is. */
        public List<String> containers() { return containers; }

        /** Stripped from every key that has it. */
        public String prefix() { return prefix; }

        /** Key prefixes (after stripping) of projection/classification heads, dropped by dropHeads(true). */
        public List<String> heads() { return heads; }

        public static Preset byName(String name) {
            for (Preset p : values()) if (p.id.equalsIgnoreCase(name)) return p;
            List<String> ids = new ArrayList<>();
            for (Preset p : values()) ids.add(p.id);
            throw new CheckpointException("unknown checkpoint preset '" + name + "'; known: " + String.join(", ", ids));
        }
    }

    private final Preset preset;
    private boolean dropHeads;
    private final List<String> dropPrefixes = new ArrayList<>();
    private DType floatingDType;

    private StateDictLoader(Preset preset) { this.preset = preset; }

    public static StateDictLoader of(Preset preset) { return new StateDictLoader(preset); }

    public static StateDictLoader of(String presetName) { return new StateDictLoader(Preset.byName(presetName)); }

    /** Drops the preset's head keys (fc.*; SwAV's projection_head.* and prototypes.*) after renaming. */
    public StateDictLoader dropHeads(boolean drop) {
        this.dropHeads = drop;
        return this;
    }

    /** Also drops keys starting with any of these (after renaming). */
    public StateDictLoader dropPrefixes(String... prefixes) {
        dropPrefixes.addAll(Arrays.asList(prefixes));
        return this;
    }

    /** Converts every floating tensor (F32/BF16/F16) to this dtype; integer tensors (num_batches_tracked) stay. */
    public StateDictLoader convertFloatingTo(DType dtype) {
        if (!dtype.isFloating()) throw new IllegalArgumentException("convertFloatingTo: expected F32, BF16 or F16, found " + dtype);
        this.floatingDType = dtype;
        return this;
    }

    /**
     * Reads {@code file}, adapts it by the preset and options and matches it strictly against {@code expected}
     * (name -> shape, e.g. a model's parameters and buffers). Returns the tensors in {@code expected}'s order.
     */
    public Map<String, Tensor> load(Path file, Map<String, int[]> expected) {
        return load(readCheckpoint(file), file.toString(), expected);
    }

    /** As {@link #load(Path, Map)} for a checkpoint already read (e.g. to check its declared architecture first). */
    public Map<String, Tensor> load(Object checkpoint, String source, Map<String, int[]> expected) {
        Map<String, Tensor> adapted = adapt(checkpoint, source);
        requireMatch(source + " (preset " + preset.id() + ")", adapted, expected);
        Map<String, Tensor> ordered = new LinkedHashMap<>();
        for (String name : expected.keySet()) ordered.put(name, adapted.get(name));
        return ordered;
    }

    /** The preset's state dict of a loaded checkpoint, renamed, filtered and converted (no strict matching). */
    public Map<String, Tensor> adapt(Object checkpoint, String source) {
        Map<?, ?> raw = stateDictOf(checkpoint, source);
        boolean anyPrefixed = preset.prefix().isEmpty();
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : raw.entrySet()) {
            if (!(e.getKey() instanceof String key)) {
                throw new CheckpointException(source + ": state dict key " + e.getKey() + " is not a string");
            }
            String name = key;
            if (!preset.prefix().isEmpty() && key.startsWith(preset.prefix())) {
                name = key.substring(preset.prefix().length());
                anyPrefixed = true;
            } else if (preset.onlyPrefixed) {
                continue; // e.g. MoCo's module.encoder_k.*, module.queue, module.queue_ptr
            }
            if (dropped(name)) continue;
            if (out.containsKey(name)) {
                throw new CheckpointException(source + ": keys '" + key + "' and '" + preset.prefix() + name + "' both become '" + name + "'");
            }
            out.put(name, tensorOf(source, key, e.getValue()));
        }
        if (!anyPrefixed && preset.onlyPrefixed) {
            throw new CheckpointException(source + ": no key starts with '" + preset.prefix() + "' as the " + preset.id()
                    + " preset expects; the first keys are " + firstKeys(raw) + " (pick another preset?)");
        }
        return out;
    }

    private boolean dropped(String name) {
        if (dropHeads) for (String h : preset.heads()) if (name.startsWith(h)) return true;
        for (String p : dropPrefixes) if (name.startsWith(p)) return true;
        return false;
    }

    private Tensor tensorOf(String source, String key, Object value) {
        if (value instanceof TorchCheckpoint.UnsupportedTensor u) {
            throw new CheckpointException(source + ": tensor '" + key + "' is " + u + " and the engine has no such dtype (supported: "
                    + String.join(", ", SafetensorsFile.SUPPORTED) + "); convert it in PyTorch (e.g. .float()) and save again");
        }
        if (!(value instanceof Tensor t)) {
            throw new CheckpointException(source + ": state dict entry '" + key + "' is " + TorchUnpickler.describe(value) + ", not a tensor");
        }
        return floatingDType != null && t.dtype().isFloating() && t.dtype() != floatingDType ? convert(t, floatingDType) : t;
    }

    /** The state dict inside a checkpoint: the first of the preset's containers that holds a dict, else the top level. */
    private Map<?, ?> stateDictOf(Object checkpoint, String source) {
        if (!(checkpoint instanceof Map<?, ?> top)) {
            throw new CheckpointException(source + ": the checkpoint holds " + TorchUnpickler.describe(checkpoint) + ", not a dict");
        }
        for (String c : preset.containers()) {
            if (top.get(c) instanceof Map<?, ?> inner) return inner;
        }
        for (Object v : top.values()) {
            if (!(v instanceof Tensor) && !(v instanceof TorchCheckpoint.UnsupportedTensor)) {
                throw new CheckpointException(source + ": found no state dict: none of " + preset.containers() + " holds a dict and the"
                        + " top level is not a flat state dict (its keys: " + firstKeys(top) + ")");
            }
        }
        return top;
    }

    /**
     * The architecture a checkpoint says it was saved for, if it says: MoCo's top-level 'arch'; CompRess's
     * opt.student_arch (its 'model' is the student); 'arch' inside 'opt' / 'args' otherwise.
     */
    public Optional<String> declaredArchitecture(Object checkpoint) {
        if (!(checkpoint instanceof Map<?, ?> top)) return Optional.empty();
        if (top.get("arch") instanceof String s) return Optional.of(s);
        for (String holder : List.of("opt", "args")) {
            if (top.get(holder) instanceof Map<?, ?> opt) {
                if (preset == Preset.COMPRESS && opt.get("student_arch") instanceof String s) return Optional.of(s);
                if (opt.get("arch") instanceof String s) return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** Fails unless {@code arch} is known and, where the checkpoint declares one, equal to it. */
    public void checkArchitecture(Object checkpoint, String source, String arch, Collection<String> known) {
        requireKnownArchitecture(arch, known);
        Optional<String> declared = declaredArchitecture(checkpoint);
        if (declared.isPresent() && !declared.get().equalsIgnoreCase(arch)) {
            throw new UnknownArchitectureException(source + " was saved for architecture '" + declared.get() + "' but is being loaded"
                    + " into '" + arch + "'");
        }
    }

    /** Returns {@code arch} if it is one of {@code known} (case-insensitive), else fails listing the known names. */
    public static String requireKnownArchitecture(String arch, Collection<String> known) {
        for (String k : known) if (k.equalsIgnoreCase(arch)) return k;
        throw new UnknownArchitectureException("unknown architecture '" + arch + "'; known: " + String.join(", ", new TreeSet<>(known)));
    }

    /** Strict matching: collects every missing, unexpected and mis-shaped key and throws once with all of them. */
    public static void requireMatch(String source, Map<String, Tensor> stateDict, Map<String, int[]> expected) {
        List<String> missing = new ArrayList<>();
        List<String> misshaped = new ArrayList<>();
        for (Map.Entry<String, int[]> e : expected.entrySet()) {
            Tensor t = stateDict.get(e.getKey());
            if (t == null) {
                missing.add(e.getKey());
            } else if (!Arrays.equals(t.shape(), e.getValue())) {
                misshaped.add(e.getKey() + ": checkpoint " + Arrays.toString(t.shape()) + " vs model " + Arrays.toString(e.getValue()));
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String k : stateDict.keySet()) if (!expected.containsKey(k)) unexpected.add(k);
        if (!missing.isEmpty() || !unexpected.isEmpty() || !misshaped.isEmpty()) {
            throw new CheckpointMismatchException(source, missing, unexpected, misshaped);
        }
    }

    /**
     * Reads a weights file by its content: a torch.save zip archive (.pth, .pth.tar, .pt) or safetensors. Returns the
     * checkpoint's top-level object (for safetensors: the flat name -> tensor map).
     */
    public static Object readCheckpoint(Path file) {
        byte[] head = new byte[9];
        int n;
        try (InputStream s = Files.newInputStream(file)) {
            n = s.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            throw new CheckpointException("cannot open checkpoint " + file + ": " + e, e);
        }
        boolean safetensors = n == 9 && head[8] == '{' || file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".safetensors");
        return safetensors ? Safetensors.read(file) : TorchCheckpoint.load(file);
    }

    /** A CPU copy of a floating tensor in another floating dtype (round to nearest even when narrowing). */
    static Tensor convert(Tensor t, DType to) {
        CpuStorage src = t.cpuStorage();
        int off = (int) t.offset();
        int n = (int) t.numel();
        float[] f = new float[n];
        switch (t.dtype()) {
            case F32 -> System.arraycopy(src.f32(), off, f, 0, n);
            case BF16 -> { for (int i = 0; i < n; i++) f[i] = BFloat16.toFloat(src.u16()[off + i]); }
            case F16 -> { for (int i = 0; i < n; i++) f[i] = Float16.toFloat(src.u16()[off + i]); }
            default -> throw new CheckpointException("cannot convert " + t + " to " + to + ": not a floating tensor");
        }
        Tensor out = Tensor.cpuZeros(to, t.shape());
        CpuStorage dst = out.cpuStorage();
        switch (to) {
            case F32 -> System.arraycopy(f, 0, dst.f32(), 0, n);
            case BF16 -> { for (int i = 0; i < n; i++) dst.u16()[i] = BFloat16.fromFloat(f[i]); }
            case F16 -> { for (int i = 0; i < n; i++) dst.u16()[i] = Float16.fromFloat(f[i]); }
            default -> throw new CheckpointException("cannot convert " + t + " to " + to + ": not a floating dtype");
        }
        return out;
    }

    private static String firstKeys(Map<?, ?> m) {
        List<String> keys = new ArrayList<>();
        for (Object k : m.keySet()) {
            if (keys.size() == 5) {
                keys.add("... (" + m.size() + " in all)");
                break;
            }
            keys.add(String.valueOf(k));
        }
        return keys.toString();
    }
}
