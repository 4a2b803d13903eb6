// The resolved configuration of a `compress train` run (written to the run's config.json). The defaults are the
// embedded demo: Fashion-MNIST from Debian's dataset-fashion-mnist, a narrow ResNet-18 teacher pretrained with
// MoCo v2 for a few epochs, compressed with CompRess-2q into a narrower ResNet-18, evaluated by k-NN. They are
// sized to finish in minutes on 2 CPU cores; the paper's settings are the same code with bigger numbers.
package org.compress.engine.train;

public record TrainConfig(Data data, Model teacher, Model student, Moco moco, Compress compress, Eval eval,
                          long seed, String backend) {

    /** Dataset: "fashion-mnist" (IDX files under root) or "imagefolder" (root/train, root/val); subsets of 0 mean all. */
    public record Data(String dataset, String root, int trainSubset, int testSubset, int workers, int imageSize) {}

    /**
     * A network: arch resnet18|resnet34|resnet50|mobilenetv2|alexnet, ResNet base width, small-input stem, and its
     * training precision (FP32 or BF16_MIXED, see nn/Precision).
     */
    public record Model(String arch, int baseWidth, boolean smallInput, String checkpoint, String checkpointPreset, String precision) {
        public Model(String arch, int baseWidth, boolean smallInput, String checkpoint, String checkpointPreset) {
            this(arch, baseWidth, smallInput, checkpoint, checkpointPreset, "FP32");
        }

        public Model withPrecision(String p) { return new Model(arch, baseWidth, smallInput, checkpoint, checkpointPreset, p); }
    }

    /** MoCo v2 pretraining of the teacher (skipped when the teacher has a checkpoint or epochs is 0). */
    public record Moco(int epochs, int batchSize, double lr, int queueSize, float tau, int headDim, double momentum, int logEvery) {}

    /**
     * CompRess: method "2q" (student bank filled by a momentum encoder), "2q-nomomentum" (by the student itself)
     * or "1q" (student projected to the teacher's dimension, scored against the teacher bank). cachedTeacher: teacher
     * embeddings computed once per image (deterministic view) and looked up by index instead of run every step.
     * lrSchedule: "multistep:90,120" (the official CompRess schedule: x0.2 at each milestone epoch) or "cosine".
     */
    public record Compress(String method, int epochs, int batchSize, double lr, int queueSize, float tau, double momentum,
                           String bankDtype, String lossPath, boolean checkFinite, int logEvery, boolean cachedTeacher,
                           String lrSchedule) {}

    /** k-NN evaluation on the test split against the training split's embeddings. */
    public record Eval(int[] k, double temperature) {}

    public static TrainConfig fashionMnistDemo() {
        return new TrainConfig(
                new Data("fashion-mnist", "/usr/share/datasets/fashion-mnist", 4000, 1000, 2, 28),
                new Model("resnet18", 16, true, null, "torchvision"),
                new Model("resnet18", 8, true, null, "torchvision"),
                new Moco(2, 128, 0.06, 4096, 0.2f, 64, 0.99, 10),
                new Compress("2q", 2, 128, 0.05, 4096, 0.04f, 0.999, "F32", "AUTO", false, 10, false, "multistep:90,120"),
                new Eval(new int[] {1, 20}, 0.07),
                0L, "auto");
    }
}
