// Seeded weight initialisation with torchvision's rules: kaiming_normal_(mode="fan_out", relu) for ResNet and
// MobileNetV2 convolutions, PyTorch's default Conv2d/Linear init (kaiming_uniform_(a=sqrt(5)), i.e.
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias), normal(0, 0.01) for MobileNetV2's classifier.
// Values are drawn on the host from one SplittableRandom, so a seed gives the same model on every backend.
package org.compress.engine.nn;

import java.util.SplittableRandom;
import org.compress.engine.backend.Backend;
import org.compress.engine.tensor.Tensor;

public final class Init {
    private final SplittableRandom random;

    public Init(long seed) { this.random = new SplittableRandom(seed); }

    /** fan_in of a weight (out, in, kh, kw) or (out, in): in * kh * kw. */
    static int fanIn(int[] shape) {
        int f = shape[1];
        for (int i = 2; i < shape.length; i++) f *= shape[i];
        return f;
    }

    /** fan_out of a weight: out * kh * kw (torch ignores groups here too). */
    static int fanOut(int[] shape) {
        int f = shape[0];
        for (int i = 2; i < shape.length; i++) f *= shape[i];
        return f;
    }

    public Tensor kaimingNormalFanOut(Backend backend, int... shape) {
        return normal(backend, Math.sqrt(2.0 / fanOut(shape)), shape);
    }

    public Tensor normal(Backend backend, double std, int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (random.nextGaussian() * std);
        return backend.upload(v, shape);
    }

    public Tensor uniform(Backend backend, double bound, int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) ((2 * random.nextDouble() - 1) * bound);
        return backend.upload(v, shape);
    }

    public static Tensor constant(Backend backend, float value, int... shape) {
        Tensor t = backend.empty(org.compress.engine.tensor.DType.F32, shape);
        backend.elementwise().fill(t, value);
        return t;
    }
}
