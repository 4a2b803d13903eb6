// The state dict names and shapes torchvision's ResNet(block, layers, num_classes) produces, in torchvision's order,
// for any base width (64 = torchvision's own models): the expected side of strict loading and of fixture checks.
package org.compress.engine.testing;

import java.util.LinkedHashMap;
import java.util.Map;

public final class TorchvisionNames {
    private TorchvisionNames() {}

    public static Map<String, int[]> resnet18(int width, int numClasses) { return resnet(false, new int[] {2, 2, 2, 2}, width, numClasses); }

    public static Map<String, int[]> resnet50(int width, int numClasses) { return resnet(true, new int[] {3, 4, 6, 3}, width, numClasses); }

    /** numClasses 0 means no fc (the backbone CompRess and MoCo linear evaluation use). */
    public static Map<String, int[]> resnet(boolean bottleneck, int[] layers, int width, int numClasses) {
        Map<String, int[]> m = new LinkedHashMap<>();
        int expansion = bottleneck ? 4 : 1;
        m.put("conv1.weight", new int[] {width, 3, 7, 7});
        batchNorm(m, "bn1", width);
        int inplanes = width;
        for (int stage = 0; stage < 4; stage++) {
            int planes = width << stage;
            int stride = stage == 0 ? 1 : 2;
            for (int b = 0; b < layers[stage]; b++) {
                String p = "layer" + (stage + 1) + "." + b + ".";
                if (bottleneck) {
                    m.put(p + "conv1.weight", new int[] {planes, inplanes, 1, 1});
                    batchNorm(m, p + "bn1", planes);
                    m.put(p + "conv2.weight", new int[] {planes, planes, 3, 3});
                    batchNorm(m, p + "bn2", planes);
                    m.put(p + "conv3.weight", new int[] {planes * 4, planes, 1, 1});
                    batchNorm(m, p + "bn3", planes * 4);
                } else {
                    m.put(p + "conv1.weight", new int[] {planes, inplanes, 3, 3});
                    batchNorm(m, p + "bn1", planes);
                    m.put(p + "conv2.weight", new int[] {planes, planes, 3, 3});
                    batchNorm(m, p + "bn2", planes);
                }
                if (b == 0 && (stride != 1 || inplanes != planes * expansion)) {
                    m.put(p + "downsample.0.weight", new int[] {planes * expansion, inplanes, 1, 1});
                    batchNorm(m, p + "downsample.1", planes * expansion);
                }
                inplanes = planes * expansion;
            }
        }
        if (numClasses > 0) {
            m.put("fc.weight", new int[] {numClasses, inplanes});
            m.put("fc.bias", new int[] {numClasses});
        }
        return m;
    }

    /** The names that are parameters (have gradients): everything but BN running statistics and counters. */
    public static boolean isParameter(String name) {
        return !name.endsWith(".running_mean") && !name.endsWith(".running_var") && !name.endsWith(".num_batches_tracked");
    }

    private static void batchNorm(Map<String, int[]> m, String p, int c) {
        m.put(p + ".weight", new int[] {c});
        m.put(p + ".bias", new int[] {c});
        m.put(p + ".running_mean", new int[] {c});
        m.put(p + ".running_var", new int[] {c});
        m.put(p + ".num_batches_tracked", new int[] {});
    }
}
