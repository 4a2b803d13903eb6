// A model as a flat list of named stages: the trunk (up to and including the embedding) and an optional head.
// Stage names may hold dots, so parameters keep torchvision's keys ("features.0.weight", "classifier.6.bias").
// forward(x) runs trunk and head and returns the head's output (the embedding when there is no head);
// embed(x) runs the trunk only. backward(dy) takes the gradient of whatever the last call returned.
// The first stage computes no input gradient (images need none).
// Numerics (ModelConfig's precision and memory format, applied by the model with numerics(config)): the input
// is converted once to the activation dtype/format (e.g. F32 NCHW images -> BF16 NHWC), weight compute copies
// are refreshed from their FP32 masters at every forward, and what leaves the network (the embedding, the
// head's output) is converted back to F32 (NCHW), as is the gradient coming in (F32 -> activation dtype).
package org.compress.engine.nn.models;

import java.util.ArrayList;
import java.util.List;
import org.compress.engine.backend.Backend;
import org.compress.engine.nn.InferenceFusion;
import org.compress.engine.nn.Init;
import org.compress.engine.nn.Linear;
import org.compress.engine.nn.Module;
import org.compress.engine.nn.ReLU;
import org.compress.engine.nn.Sequential;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

public class Network extends Module {
    private final List<Module> trunk = new ArrayList<>();
    private final List<Module> head = new ArrayList<>();
    private int embeddingDim;
    private int outputDim;
    private Tensor embedding;
    private Tensor trunkOutput;
    private boolean headRan;
    private java.util.function.Consumer<Module> backwardHook;   // data-parallel gradient buckets (dist/GradientReducer)

    protected Network(Backend backend) {
        super(backend);
        setInputGradRequired(false);
    }

    protected final <M extends Module> M trunk(String name, M m) {
        addChild(name, m);
        if (trunk.isEmpty()) m.setInputGradRequired(inputGradRequired());
        trunk.add(m);
        return m;
    }

    protected final <M extends Module> M head(String name, M m) {
        addChild(name, m);
        head.add(m);
        return m;
    }

    protected final void embeddingDim(int d) {
        embeddingDim = d;
        if (outputDim == 0) outputDim = d;
    }

    protected final void outputDim(int d) { outputDim = d; }

    /** Adds the configured head under `slot` (its Linear's default init unless a model re-initialises it). */
    protected final Module addHead(String slot, Head spec, Init init) {
        Module m = switch (spec.kind()) {
            case NONE -> null;
            case LINEAR -> new Linear(backend, init, embeddingDim, spec.outDim(), true);
            case MLP -> new Sequential(backend).add(new Linear(backend, init, embeddingDim, embeddingDim, true)).add(new ReLU(backend))
                    .add(new Linear(backend, init, embeddingDim, spec.outDim(), true));
        };
        if (m != null) {
            head(slot, m);
            outputDim = spec.outDim();
        }
        return m;
    }

    /** Applies the config's precision and memory format to every layer (call at the end of a model's constructor). */
    protected final void numerics(ModelConfig config) { setNumerics(config.precision(), config.memoryFormat()); }

    @Override public void setInputGradRequired(boolean required) {
        super.setInputGradRequired(required);
        if (!trunk.isEmpty()) trunk.get(0).setInputGradRequired(required);
    }

    public int embeddingDim() { return embeddingDim; }

    /** The width of forward()'s output: the head's, or the embedding's when there is no head. */
    public int outputDim() { return outputDim; }

    public boolean hasHead() { return !head.isEmpty(); }

    /** (N, embeddingDim) F32: runs the trunk only. */
    public Tensor embed(Tensor x) {
        refreshComputeCopies();
        Tensor h = toActivations("input", x);
        h = InferenceFusion.forward(trunk, h);   // eval mode: conv -> batch norm [-> ReLU] runs fused where the backend can
        trunkOutput = h;
        embedding = toF32("embeddingF32", h);
        headRan = false;
        return embedding;
    }

    /** The embedding computed by the last embed/forward (owned by the network; F32). */
    public Tensor embedding() { return embedding; }

    @Override public Tensor forward(Tensor x) {
        Tensor h = embed(x);
        if (head.isEmpty()) {
            headRan = true;
            return h;
        }
        h = trunkOutput;
        for (Module m : head) h = m.forward(h);
        headRan = true;
        return toF32("outputF32", h);
    }

    /** dy: F32, the gradient of what the last embed/forward returned. */
    @Override public Tensor backward(Tensor dy) {
        Tensor g = toActivations("gradIn", dy);
        if (headRan) for (int i = head.size() - 1; i >= 0; i--) g = stageBackward(head.get(i), g);
        for (int i = trunk.size() - 1; i >= 0; i--) g = stageBackward(trunk.get(i), g);
        return g;
    }

    private Tensor stageBackward(Module stage, Tensor g) {
        Tensor dx = stage.backward(g);
        if (backwardHook != null) backwardHook.accept(stage);
        return dx;
    }

    /** Called after each stage's backward has written its parameters' gradients (null: none). For data-parallel training. */
    public void setBackwardHook(java.util.function.Consumer<Module> hook) { backwardHook = hook; }

    /** t in the activation dtype and (4-d) memory format: t itself when it already is, else a converted copy. */
    private Tensor toActivations(String slot, Tensor t) {
        DType dtype = precision().activationType();
        MemoryFormat format = t.rank() == 4 ? memoryFormat() : MemoryFormat.CONTIGUOUS;
        if (t.dtype() == dtype && t.format() == format) return t;
        Tensor converted = buffer(slot, dtype, format, t.shape());
        backend.convert().convert(t, converted);
        return converted;
    }

    /** What leaves the network: F32 NCHW. */
    private Tensor toF32(String slot, Tensor t) {
        if (t.dtype() == DType.F32 && t.format() == MemoryFormat.CONTIGUOUS) return t;
        Tensor converted = buffer(slot, DType.F32, MemoryFormat.CONTIGUOUS, t.shape());
        backend.convert().convert(t, converted);
        return converted;
    }
}
