// Base of every layer and model: named parameters, buffers and children (PyTorch's naming, so state dicts
// use torchvision's keys), train/eval mode, and the static memory plan.
//
// Contract: forward(x) returns a tensor the module owns and reuses: it stays valid until the next forward
// of this module, and backward(dy) uses what forward saved (the input, or its own output). backward returns
// dL/dx in a buffer the module owns (or null when inputGradRequired is false, e.g. for the image input) and
// WRITES each parameter's grad (no accumulation, so there is no zero_grad). Activation and gradient buffers
// come from buffer(slot, shape): allocated the first time a shape is seen and reused after, so a training
// step at a fixed batch shape allocates nothing after the first one.
//
// Numerics (setNumerics, set once on the root before training): the precision and memory format activations
// use. Layers follow their input's dtype and format; layers with weights give them compute copies in the
// activation dtype/format (numericsChanged), which refreshComputeCopies() rewrites from the FP32 masters.
package org.compress.engine.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.compress.engine.backend.Backend;
import org.compress.engine.ops.ConvertOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

public abstract class Module implements AutoCloseable {
    protected final Backend backend;
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private final Map<String, Tensor> workspace = new HashMap<>();
    private boolean training = true;
    private boolean inputGradRequired = true;
    private Precision precision = Precision.FP32;
    private MemoryFormat memoryFormat = MemoryFormat.CONTIGUOUS;
    private ConvertOp.Group copyRefresh;
    private boolean copyRefreshPrepared;

    protected Module(Backend backend) { this.backend = backend; }

    public abstract Tensor forward(Tensor x);

    /** dL/dx for the last forward's input given dL/dy for its output; null when the input needs no gradient. */
    public abstract Tensor backward(Tensor dy);

    public Backend backend() { return backend; }

    // ---- registration (constructors only) ----

    protected final Parameter addParameter(String name, Tensor value, boolean weightDecay) {
        Tensor grad = backend.zeros(DType.F32, value.shape());
        Parameter p = new Parameter(value, grad, weightDecay);
        parameters.put(name, p);
        return p;
    }

    protected final Tensor addBuffer(String name, Tensor value) {
        buffers.put(name, value);
        return value;
    }

    protected final <M extends Module> M addChild(String name, M child) {
        if (children.containsKey(name)) throw new IllegalArgumentException("duplicate child name " + name);
        children.put(name, child);
        return child;
    }

    protected final Map<String, Module> children() { return children; }

    /** This module and every descendant, depth first (e.g. to switch batch norms to synchronised ones). */
    public final void visit(java.util.function.Consumer<Module> f) {
        f.accept(this);
        for (Module c : children.values()) c.visit(f);
    }

    // ---- the static memory plan ----

    /** The F32 buffer for `slot` with this shape: the same tensor as last time when the shape is unchanged. */
    protected final Tensor buffer(String slot, MemoryFormat format, int... shape) {
        return buffer(slot, DType.F32, format, shape);
    }

    protected final Tensor buffer(String slot, DType dtype, MemoryFormat format, int... shape) {
        Tensor t = workspace.get(slot);
        if (t != null && Arrays.equals(t.shape(), shape) && t.dtype() == dtype && t.format() == format) return t;
        if (t != null) t.close();
        t = backend.empty(dtype, format, shape);
        workspace.put(slot, t);
        return t;
    }

    // ---- numerics ----

    /**
     * Switches this module and its children to `precision` and `format` for activations: children first, then
     * this module's numericsChanged (which builds weight compute copies, filled from the masters now).
     */
    public final Module setNumerics(Precision precision, MemoryFormat format) {
        if (precision == null || format == null) {
            throw new IllegalArgumentException("numerics: expected a precision and a memory format, found " + precision + ", " + format);
        }
        for (Module c : children.values()) c.setNumerics(precision, format);
        numericsChanged(precision, format);
        this.precision = precision;
        this.memoryFormat = format;
        closeCopyRefresh();
        return this;
    }

    /** Hook for layers with weights: give them compute copies (computeAs); checks first, before any change. */
    protected void numericsChanged(Precision precision, MemoryFormat format) {}

    public final Precision precision() { return precision; }

    /** The memory format activations use inside this module (4-d ones; others are always CONTIGUOUS). */
    public final MemoryFormat memoryFormat() { return memoryFormat; }

    /**
     * Gives p a compute copy in `dtype` and `format` (4-d weights only may be NHWC), or drops it when that is the
     * master's own F32 NCHW, and fills it from the master.
     */
    protected final void computeAs(Parameter p, DType dtype, MemoryFormat format) {
        MemoryFormat f = p.value().rank() == 4 ? format : MemoryFormat.CONTIGUOUS;
        if (dtype == p.value().dtype() && f == p.value().format()) {
            p.setComputeCopy(null);
            return;
        }
        Tensor copy = backend.empty(dtype, f, p.shape());
        backend.convert().convert(p.value(), copy);
        p.setComputeCopy(copy);
    }

    /**
     * Rewrites every compute copy in this subtree from its FP32 master: one multi-tensor conversion (prepared at
     * the first call). Networks call it at each forward, so copies always follow the last optimizer step.
     */
    public final void refreshComputeCopies() {
        if (!copyRefreshPrepared) {
            List<Tensor> masters = new ArrayList<>(), copies = new ArrayList<>();
            for (Parameter p : namedParameters().values()) {
                if (p.hasComputeCopy()) {
                    masters.add(p.value());
                    copies.add(p.compute());
                }
            }
            copyRefresh = masters.isEmpty() ? null : backend.convert().prepare(masters, copies);
            copyRefreshPrepared = true;
        }
        if (copyRefresh != null) backend.convert().run(copyRefresh);
    }

    private void closeCopyRefresh() {
        if (copyRefresh != null) copyRefresh.close();
        copyRefresh = null;
        copyRefreshPrepared = false;
    }

    // ---- modes ----

    public final Module train() { return setTraining(true); }

    public final Module eval() { return setTraining(false); }

    public Module setTraining(boolean on) {
        training = on;
        for (Module c : children.values()) c.setTraining(on);
        return this;
    }

    public final boolean isTraining() { return training; }

    /** Whether backward must compute dL/dx (false for a network's first layer: the images need none). */
    public void setInputGradRequired(boolean required) { inputGradRequired = required; }

    public final boolean inputGradRequired() { return inputGradRequired; }

    // ---- state ----

    /** Every parameter, depth first, with PyTorch's dotted names (own parameters before children's). */
    public final Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collectParameters("", out);
        return out;
    }

    private void collectParameters(String prefix, Map<String, Parameter> out) {
        parameters.forEach((n, p) -> out.put(prefix + n, p));
        children.forEach((n, c) -> c.collectParameters(prefix + n + ".", out));
    }

    public final List<Parameter> parameters() { return new ArrayList<>(namedParameters().values()); }

    public final Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collectState("", out, false);
        return out;
    }

    /**
     * Parameters and buffers in torch's state_dict order and names (e.g. conv1.weight, bn1.running_mean,
     * bn1.num_batches_tracked, layer1.0.conv1.weight, fc.weight). The tensors are the live ones.
     */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collectState("", out, true);
        return out;
    }

    private void collectState(String prefix, Map<String, Tensor> out, boolean withParameters) {
        if (withParameters) parameters.forEach((n, p) -> out.put(prefix + n, p.value()));
        buffers.forEach((n, b) -> out.put(prefix + n, b));
        children.forEach((n, c) -> c.collectState(prefix + n + ".", out, withParameters));
    }

    public final long parameterCount() {
        long n = 0;
        for (Parameter p : namedParameters().values()) n += p.numel();
        return n;
    }

    /**
     * Copies every tensor of `source` (any device) into this module's state. Strict: the key sets must be
     * equal and each tensor must have the same shape and dtype; nothing is written unless all of them fit.
     */
    public final void loadStateDict(Map<String, Tensor> source) {
        Map<String, Tensor> own = stateDict();
        TreeSet<String> missing = new TreeSet<>(own.keySet());
        missing.removeAll(source.keySet());
        TreeSet<String> unexpected = new TreeSet<>(source.keySet());
        unexpected.removeAll(own.keySet());
        List<String> wrong = new ArrayList<>();
        own.forEach((k, t) -> {
            Tensor s = source.get(k);
            if (s != null && (!t.sameShape(s) || t.dtype() != s.dtype())) {
                wrong.add(k + ": expected " + Arrays.toString(t.shape()) + " " + t.dtype() + ", found "
                        + Arrays.toString(s.shape()) + " " + s.dtype());
            }
        });
        if (!missing.isEmpty() || !unexpected.isEmpty() || !wrong.isEmpty()) {
            throw new StateDictException("state dict does not fit " + getClass().getSimpleName() + ": missing " + missing
                    + ", unexpected " + unexpected + ", wrong shape/dtype " + wrong);
        }
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor s = source.get(e.getKey()), t = e.getValue();
            if (!s.device().equals(t.device()) && s.device().isCuda()) {
                throw new StateDictException("loadStateDict: " + e.getKey() + " is on " + s.device() + ", this module on "
                        + t.device() + "; pass host or same-device tensors");
            }
        }
        own.forEach((k, t) -> {
            Tensor s = source.get(k);
            if (s.device().equals(t.device())) {
                backend.elementwise().copy(s, t);
            } else {
                try (Tensor staged = backend.upload(s)) {
                    backend.elementwise().copy(staged, t);
                }
            }
        });
    }

    /** Releases parameters (and their compute copies), buffers, activation buffers and children. */
    @Override public void close() {
        closeCopyRefresh();
        parameters.values().forEach(Parameter::close);
        buffers.values().forEach(Tensor::close);
        workspace.values().forEach(Tensor::close);
        workspace.clear();
        children.values().forEach(Module::close);
    }
}
