// Modules applied in order (torch.nn.Sequential). Children are named "0", "1", ... unless a name is given;
// a name may contain dots ("classifier.6") so flat stage lists keep torchvision's nested parameter names.
package org.compress.engine.nn;

import java.util.ArrayList;
import java.util.List;
import org.compress.engine.backend.Backend;
import org.compress.engine.tensor.Tensor;

public class Sequential extends Module {
    private final List<Module> stages = new ArrayList<>();

    public Sequential(Backend backend) { super(backend); }

    public Sequential add(Module m) { return add(Integer.toString(stages.size()), m); }

    public Sequential add(String name, Module m) {
        addChild(name, m);
        stages.add(m);
        if (stages.size() == 1) m.setInputGradRequired(inputGradRequired());
        return this;
    }

    public List<Module> stages() { return stages; }

    @Override public void setInputGradRequired(boolean required) {
        super.setInputGradRequired(required);
        if (!stages.isEmpty()) stages.get(0).setInputGradRequired(required);
    }

    /** The stages in order; in eval mode conv -> batch norm [-> ReLU] runs are fused where the backend can (InferenceFusion). */
    @Override public Tensor forward(Tensor x) { return InferenceFusion.forward(stages, x); }

    @Override public Tensor backward(Tensor dy) {
        Tensor g = dy;
        for (int i = stages.size() - 1; i >= 0; i--) g = stages.get(i).backward(g);
        return g;
    }
}
