// torchvision's ResNet building helpers: 3x3 / 1x1 convolutions without bias, the downsample shortcut
// (1x1 conv stride s + BN, named "0" and "1"), and its weight init (kaiming_normal_, fan_out, relu).
package org.compress.engine.nn;

import org.compress.engine.backend.Backend;

public final class ResNetLayers {
    private ResNetLayers() {}

    public static Conv2d conv3x3(Backend backend, Init init, int in, int out, int stride) {
        return kaiming(backend, init, in, out, 3, stride, 1, 1);
    }

    public static Conv2d conv1x1(Backend backend, Init init, int in, int out, int stride) {
        return kaiming(backend, init, in, out, 1, stride, 0, 1);
    }

    public static Sequential downsample(Backend backend, Init init, int in, int out, int stride) {
        return new Sequential(backend).add(conv1x1(backend, init, in, out, stride)).add(new BatchNorm2d(backend, out));
    }

    /** A bias-free conv with kaiming_normal_(mode="fan_out", nonlinearity="relu") weights, as torchvision. */
    public static Conv2d kaiming(Backend backend, Init init, int in, int out, int kernel, int stride, int padding, int groups) {
        return new Conv2d(backend, init.kaimingNormalFanOut(backend, out, in / groups, kernel, kernel), null, stride, padding, groups);
    }
}
