// A test backend that emulates BF16-mixed on FP32 tensors: every op of the wrapped backend runs in FP32 and then
// its activation-side output is rounded in place to the nearest bf16 value (BFloat16.round), at the sites where
// the BF16 path stores a BF16 tensor. FP32-side results stay unrounded: BN statistics and affine gradients, the
// bias gradient, and the GEMMs whose result a Linear keeps in FP32 (y = x W^T before its bias add, which is the
// rounding site; dW = dy^T x); the GEMM dx = dy W is rounded.
package org.compress.engine.nn.models;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.ops.ActivationOp;
import org.compress.engine.ops.BatchNormOp;
import org.compress.engine.ops.BiasOp;
import org.compress.engine.ops.ConvolutionOp;
import org.compress.engine.ops.ElementwiseOps;
import org.compress.engine.ops.GemmOp;
import org.compress.engine.ops.PoolingOp;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class RoundingBackend {
    private RoundingBackend() {}

    static void roundInPlace(Tensor t) {
        if (t.dtype() != DType.F32) throw new IllegalArgumentException("expected an F32 host tensor, found " + t);
        float[] a = t.cpuStorage().f32();
        int o = (int) t.offset();
        for (int i = 0; i < t.numel(); i++) a[o + i] = BFloat16.round(a[o + i]);
    }

    /** Index of the argument each method writes at a rounding site (absent: nothing is rounded). */
    private static final Map<String, Integer> SITES = Map.ofEntries(
            Map.entry("ConvolutionOp.forward", 3), Map.entry("ConvolutionOp.backwardData", 2), Map.entry("ConvolutionOp.backwardFilter", 2),
            Map.entry("BatchNormOp.forwardTraining", 7), Map.entry("BatchNormOp.forwardInference", 6), Map.entry("BatchNormOp.backward", 6),
            Map.entry("PoolingOp.maxForward", 1), Map.entry("PoolingOp.maxBackward", 3), Map.entry("PoolingOp.adaptiveAvgForward", 1),
            Map.entry("PoolingOp.adaptiveAvgBackward", 1), Map.entry("ActivationOp.forward", 2), Map.entry("ActivationOp.addForward", 3),
            Map.entry("ActivationOp.backward", 3), Map.entry("ElementwiseOps.axpy", 2), Map.entry("BiasOp.forward", 0));

    static <T> T rounding(Class<T> iface, T target) {
        return iface.cast(Proxy.newProxyInstance(iface.getClassLoader(), new Class<?>[] {iface}, (proxy, method, args) -> {
            Object result;
            try {
                result = method.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            Integer site = SITES.get(iface.getSimpleName() + "." + method.getName());
            if (site != null) roundInPlace((Tensor) args[site]);
            return result;
        }));
    }

    static Backend over(Backend inner) {
        ConvolutionOp conv = rounding(ConvolutionOp.class, inner.convolution());
        BatchNormOp bn = rounding(BatchNormOp.class, inner.batchNorm());
        PoolingOp pool = rounding(PoolingOp.class, inner.pooling());
        ActivationOp act = rounding(ActivationOp.class, inner.activation());
        ElementwiseOps elementwise = rounding(ElementwiseOps.class, inner.elementwise());
        BiasOp bias = rounding(BiasOp.class, inner.bias());
        GemmOp gemm = (transA, transB, alpha, a, b, beta, c, precision) -> {
            inner.gemm().gemm(transA, transB, alpha, a, b, beta, c, precision);
            if (!transA && !transB) roundInPlace(c);   // Linear's dx = dy W
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, method, args) -> {
            switch (method.getName()) {
                case "convolution": return conv;
                case "batchNorm": return bn;
                case "pooling": return pool;
                case "activation": return act;
                case "elementwise": return elementwise;
                case "bias": return bias;
                case "gemm": return gemm;
                default:
                    try {
                        return method.invoke(inner, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
            }
        });
    }
}
