// ResNet-50 bottleneck block, torchvision v1.5 (stride on the 3x3 conv), with an optional width multiplier
// for SimCLR's wide ResNets: y = relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)).
// conv1 1x1 inplanes->planes, conv2 3x3 stride s, conv3 1x1 planes->planes*4. input: (N, inplanes, H, W);
// output: (N, 4*planes, H/stride, W/stride).
package org.compress.engine.nn;

import org.compress.engine.backend.Backend;
import org.compress.engine.ops.Activation;
import org.compress.engine.tensor.Tensor;

public final class Bottleneck extends Module {
    public static final int EXPANSION = 4;

    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final Conv2d conv2;
    private final BatchNorm2d bn2;
    private final Conv2d conv3;
    private final BatchNorm2d bn3;
    private final ReLU relu1;
    private final ReLU relu2;
    private final Sequential downsample;
    private Tensor output;

    public Bottleneck(Backend backend, Init init, int inplanes, int planes, int stride) {
        super(backend);
        conv1 = addChild("conv1", ResNetLayers.conv1x1(backend, init, inplanes, planes, 1));
        bn1 = addChild("bn1", new BatchNorm2d(backend, planes));
        conv2 = addChild("conv2", ResNetLayers.conv3x3(backend, init, planes, planes, stride));
        bn2 = addChild("bn2", new BatchNorm2d(backend, planes));
        conv3 = addChild("conv3", ResNetLayers.conv1x1(backend, init, planes, planes * EXPANSION, 1));
        bn3 = addChild("bn3", new BatchNorm2d(backend, planes * EXPANSION));
        // torchvision shares one parameterless "relu"; ours are two modules because each keeps its output.
        relu1 = addChild("relu1", new ReLU(backend));
        relu2 = addChild("relu2", new ReLU(backend));
        downsample = stride != 1 || inplanes != planes * EXPANSION
                ? addChild("downsample", ResNetLayers.downsample(backend, init, inplanes, planes * EXPANSION, stride)) : null;
    }

    @Override public Tensor forward(Tensor x) {
        // Eval mode on a backend that fuses conv + batch norm (+ residual) + ReLU: each output written once.
        Tensor h = conv1.fusesInference(x, bn1) ? conv1.forwardFused(x, bn1, null, Activation.RELU)
                : relu1.forward(bn1.forward(conv1.forward(x)));
        h = conv2.fusesInference(h, bn2) ? conv2.forwardFused(h, bn2, null, Activation.RELU) : relu2.forward(bn2.forward(conv2.forward(h)));
        Tensor shortcut = downsample == null ? x : downsample.forward(x);
        if (conv3.fusesInference(h, bn3)) return output = conv3.forwardFused(h, bn3, shortcut, Activation.RELU);
        Tensor main = bn3.forward(conv3.forward(h));
        output = buffer("y", main.dtype(), main.format(), main.shape());
        backend.activation().addForward(Activation.RELU, main, shortcut, output);
        return output;
    }

    @Override public Tensor backward(Tensor dy) {
        Tensor dz = buffer("dz", output.dtype(), output.format(), output.shape());
        backend.activation().backward(Activation.RELU, output, dy, dz);
        Tensor g = relu2.backward(conv3.backward(bn3.backward(dz)));
        g = relu1.backward(conv2.backward(bn2.backward(g)));
        Tensor dx = conv1.backward(bn1.backward(g));
        backend.elementwise().axpy(1f, downsample == null ? dz : downsample.backward(dz), dx);
        return dx;
    }
}
