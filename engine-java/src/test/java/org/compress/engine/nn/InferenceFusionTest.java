// Eval-mode fusion (InferenceFusion, Conv2d.forwardFused, Backend.convBnAct) inside whole networks: a model on the
// fast CPU backend, where conv -> batch norm [-> residual] [-> ReLU/ReLU6] runs as one oneDNN primitive (batch
// norm folded into it, residual and activation as post-ops), against the same model (same seed, same running
// statistics and affine parameters) on the same backend with fusion switched off (convBnAct() = NONE), which runs
// the three ops. The fused op folds batch norm into the
// weights (w * scale rounded to float) and may sum in another order, a relative difference of ~1e-6 per layer
// (DnnlOpsTest bounds one layer); over 20-53 layers the embeddings are held to 1e-5 of their largest value
// (measured: 2e-7 .. 1e-6), and every conv of the network must have gone through the fused op (counted). Training
// mode never fuses (its backward needs the intermediate tensors), which is checked too.
// Skipped where libcompress_cpu.so does not load.
package org.compress.engine.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.nn.models.MobileNetV2;
import org.compress.engine.nn.models.ModelConfig;
import org.compress.engine.nn.models.Network;
import org.compress.engine.nn.models.ResNet;
import org.compress.engine.ops.ConvBnActOp;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Close;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class InferenceFusionTest {
    static CpuBackend fast;

    @BeforeAll static void load() {
        fast = CpuBackend.fast();
        assumeTrue(fast.isFast(), "no native CPU path here (libcompress_cpu.so did not load)");
    }

    /** The fast backend; fused = false hides its fusion (convBnAct() = NONE); calls counts forwardInference calls. */
    static Backend backend(boolean fused, AtomicInteger calls) {
        ConvBnActOp counted = new ConvBnActOp() {
            @Override public boolean supports(Tensor x, Tensor w, org.compress.engine.ops.Conv2dParams p) { return fast.convBnAct().supports(x, w, p); }

            @Override public void forwardInference(Tensor x, Tensor w, org.compress.engine.ops.Conv2dParams p, Tensor gamma, Tensor beta,
                                                   Tensor mean, Tensor var, float eps, Tensor residual, org.compress.engine.ops.Activation act,
                                                   Tensor y) {
                calls.incrementAndGet();
                fast.convBnAct().forwardInference(x, w, p, gamma, beta, mean, var, eps, residual, act, y);
            }
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) -> {
            if (m.getName().equals("convBnAct")) return fused ? counted : ConvBnActOp.NONE;
            try {
                return m.invoke(fast, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    /** Non-trivial batch-norm state: gamma in [0.5, 1.5], beta, running mean and var drawn per layer. */
    static void randomiseBatchNorms(Network net, long seed) {
        long[] s = {seed};
        net.visit(m -> {
            if (m instanceof BatchNorm2d bn) {
                int c = bn.runningMean().dim(0);
                copy(Fills.uniform(s[0]++, c, 0.5f, 1.5f), bn.weight().value());
                copy(Fills.uniform(s[0]++, c, -0.5f, 0.5f), bn.bias().value());
                copy(Fills.uniform(s[0]++, c, -0.3f, 0.3f), bn.runningMean());
                copy(Fills.uniform(s[0]++, c, 0.5f, 2f), bn.runningVar());
            }
        });
    }

    static void copy(float[] v, Tensor t) { System.arraycopy(v, 0, t.cpuStorage().f32(), (int) t.offset(), v.length); }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"resnet18,1,28,8,20", "resnet50,3,16,4,53", "mobilenet_v2,3,16,1,52"})
    void fusedEvalForwardEqualsTheSeparateOps(String arch, int channels, int size, int width, int convs) {
        ModelConfig config = ModelConfig.smallImages(channels).withBaseWidth(width).withSeed(7).withMemoryFormat(MemoryFormat.CHANNELS_LAST);
        Map<String, BiFunction<Backend, ModelConfig, Network>> builders = Map.of("resnet18", ResNet::resnet18, "resnet50", ResNet::resnet50,
                "mobilenet_v2", MobileNetV2::new);
        AtomicInteger fusedCalls = new AtomicInteger(), unusedCalls = new AtomicInteger();
        int n = 6;
        Tensor x = fast.upload(Fills.uniform(3, n * channels * size * size, -1, 1), n, channels, size, size);
        try (Network fused = builders.get(arch).apply(backend(true, fusedCalls), config);
             Network plain = builders.get(arch).apply(backend(false, unusedCalls), config)) {
            randomiseBatchNorms(fused, 100);
            randomiseBatchNorms(plain, 100);
            fused.train();
            fused.embed(x);
            assertEquals(0, fusedCalls.get(), "training mode must not fuse");
            randomiseBatchNorms(fused, 100);   // the training forward moved the running statistics
            fused.eval();
            plain.eval();
            float[] got = fast.toFloatArray(fused.embed(x)), want = fast.toFloatArray(plain.embed(x));
            assertEquals(convs, fusedCalls.get(), "every conv + batch norm pair of " + arch + " must run fused");
            assertEquals(0, unusedCalls.get());
            double max = 0;
            for (float v : want) max = Math.max(max, Math.abs(v));
            assertTrue(max > 0.01, "the embedding must not vanish (max |y| = " + max + ")");
            double worst = 0;
            for (int i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
            System.out.printf("%s: fused vs separate ops, max |d| = %.3g (%.2g of the largest value)%n", arch, worst, worst / max);
            Close.assertClose(arch + " embedding", got, want, 1e-5 * max, 0);
        }
    }
}
