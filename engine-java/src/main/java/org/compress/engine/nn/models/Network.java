// A model as a flat list of named stages: the trunk (up to and including the embedding) and an optional head.
// Stage names may hold dots, so parameters keep torchvision's keys ("features.0.weight", "classifier.6.bias").
// forward(x) runs trunk and head and returns the head's output (the embedding when there is no head);
// embed(x) runs the trunk only. backward(dy) takes the gradient of whatever the last call returned.
// The first stage computes no input gradient (images need none).
package org.compress.engine.nn.models;

import java.util.ArrayList;
import java.util.List;
import org.compress.engine.backend.Backend;
import org.compress.engine.nn.Init;
import org.compress.engine.nn.Linear;
import org.compress.engine.nn.Module;
import org.compress.engine.nn.ReLU;
import org.compress.engine.nn.Sequential;
import org.compress.engine.tensor.Tensor;

public class Network extends Module {
    private final List<Module> trunk = new ArrayList<>();
    private final List<Module> head = new ArrayList<>();
    private int embeddingDim;
    private int outputDim;
    private Tensor embedding;
    private boolean headRan;

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

    @Override public void setInputGradRequired(boolean required) {
        super.setInputGradRequired(required);
        if (!trunk.isEmpty()) trunk.get(0).setInputGradRequired(required);
    }

    public int embeddingDim() { return embeddingDim; }

    /** The width of forward()'s output: the head's, or the embedding's when there is no head. */
    public int outputDim() { return outputDim; }

    public boolean hasHead() { return !head.isEmpty(); }

    /** (N, embeddingDim): runs the trunk only. */
    public Tensor embed(Tensor x) {
        Tensor h = x;
        for (Module m : trunk) h = m.forward(h);
        embedding = h;
        headRan = false;
        return h;
    }

    /** The embedding computed by the last embed/forward (owned by the network). */
    public Tensor embedding() { return embedding; }

    @Override public Tensor forward(Tensor x) {
        Tensor h = embed(x);
        for (Module m : head) h = m.forward(h);
        headRan = true;
        return h;
    }

    @Override public Tensor backward(Tensor dy) {
        Tensor g = dy;
        if (headRan) for (int i = head.size() - 1; i >= 0; i--) g = head.get(i).backward(g);
        for (int i = trunk.size() - 1; i >= 0; i--) g = trunk.get(i).backward(g);
        return g;
    }
}
