// Eval-mode fusion of the stage runs "Conv2d, BatchNorm2d [, ReLU / ReLU6]" into one call of the backend's fused
// convolution (Backend.convBnAct, Conv2d.forwardFused): the output is written once instead of two or three times.
// Training mode, and backends or operands that do not fuse, run the stages one by one. Sequential and Network's
// trunk run their stages through it; the ResNet blocks fuse their own conv/bn pairs.
package org.compress.engine.nn;

import java.util.List;
import org.compress.engine.ops.Activation;
import org.compress.engine.tensor.Tensor;

public final class InferenceFusion {
    private InferenceFusion() {}

    /** The stages applied in order to x, fused where they can be. */
    public static Tensor forward(List<Module> stages, Tensor x) {
        Tensor h = x;
        for (int i = 0; i < stages.size(); i++) {
            Module m = stages.get(i);
            if (m instanceof Conv2d conv && i + 1 < stages.size() && stages.get(i + 1) instanceof BatchNorm2d bn
                    && conv.fusesInference(h, bn)) {
                Activation act = Activation.IDENTITY;
                if (i + 2 < stages.size() && stages.get(i + 2) instanceof ReLU relu) {
                    act = relu.kind();
                    i++;
                }
                h = conv.forwardFused(h, bn, null, act);
                i++;
            } else {
                h = m.forward(h);
            }
        }
        return h;
    }
}
