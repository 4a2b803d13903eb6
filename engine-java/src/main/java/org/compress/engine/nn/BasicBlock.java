// ResNet-18/34 basic block (torchvision.models.resnet.BasicBlock):
// y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), shortcut = downsample (1x1 conv stride s + BN) or x.
// input: (N, inplanes, H, W); output: (N, planes, H/stride, W/stride). The final add + ReLU is one fused op;
// its gradient feeds both branches, whose input gradients are summed. In eval mode each conv + BN (+ shortcut)
// + ReLU runs as one fused call where the backend can (Conv2d.forwardFused).
package org.compress.engine.nn;

import org.compress.engine.backend.Backend;
import org.compress.engine.ops.Activation;
import org.compress.engine.tensor.Tensor;

public final class BasicBlock extends Module {
    public static final int EXPANSION = 1;

    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final ReLU relu;
    private final Conv2d conv2;
    private final BatchNorm2d bn2;
    private final Sequential downsample;
    private Tensor output;

    public BasicBlock(Backend backend, Init init, int inplanes, int planes, int stride) {
        super(backend);
        conv1 = addChild("conv1", ResNetLayers.conv3x3(backend, init, inplanes, planes, stride));
        bn1 = addChild("bn1", new BatchNorm2d(backend, planes));
        relu = addChild("relu", new ReLU(backend));
        conv2 = addChild("conv2", ResNetLayers.conv3x3(backend, init, planes, planes, 1));
        bn2 = addChild("bn2", new BatchNorm2d(backend, planes));
        downsample = stride != 1 || inplanes != planes * EXPANSION
                ? addChild("downsample", ResNetLayers.downsample(backend, init, inplanes, planes * EXPANSION, stride)) : null;
    }

    @Override public Tensor forward(Tensor x) {
        // Eval mode on a backend that fuses conv + batch norm (+ residual) + ReLU: each output written once.
        Tensor h = conv1.fusesInference(x, bn1) ? conv1.forwardFused(x, bn1, null, Activation.RELU)
                : relu.forward(bn1.forward(conv1.forward(x)));
        Tensor shortcut = downsample == null ? x : downsample.forward(x);
        if (conv2.fusesInference(h, bn2)) return output = conv2.forwardFused(h, bn2, shortcut, Activation.RELU);
        Tensor main = bn2.forward(conv2.forward(h));
        output = buffer("y", main.dtype(), main.format(), main.shape());
        backend.activation().addForward(Activation.RELU, main, shortcut, output);
        return output;
    }

    @Override public Tensor backward(Tensor dy) {
        Tensor dz = buffer("dz", output.dtype(), output.format(), output.shape());
        backend.activation().backward(Activation.RELU, output, dy, dz);
        Tensor dx = conv1.backward(bn1.backward(relu.backward(conv2.backward(bn2.backward(dz)))));
        backend.elementwise().axpy(1f, downsample == null ? dz : downsample.backward(dz), dx);
        return dx;
    }
}
