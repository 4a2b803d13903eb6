// What a run trains on: the train and test splits, their channel count and the three views the job uses
// (the CompRess view shared by teacher and student, MoCo v2's two views for teacher pretraining, and the
// deterministic evaluation view). fashion-mnist: Debian's IDX files at 28 px, gray; imagefolder: root/train and
// root/val (or root/test) class folders, RGB, the ImageNet recipes at imageSize.
package org.compress.engine.train;

import java.nio.file.Files;
import java.nio.file.Path;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.datasets.IdxDataset;
import org.compress.engine.data.datasets.ImageFolder;
import org.compress.engine.data.datasets.SubsetDataset;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.data.transforms.Recipes;

public record DataSpec(Dataset train, Dataset test, int channels, Recipe view, Recipe mocoViews, Recipe evalView) {
    public static DataSpec of(TrainConfig.Data data) {
        Path root = Path.of(data.root());
        if (!Files.isDirectory(root)) {
            throw new IllegalArgumentException("data folder " + root + " does not exist"
                    + (data.dataset().equals("fashion-mnist") ? " (apt-get install dataset-fashion-mnist, or --data-root)" : ""));
        }
        int size = data.imageSize();
        return switch (data.dataset()) {
            case "fashion-mnist" -> {
                Normalize n = Normalize.FASHION_MNIST;
                yield new DataSpec(subset(IdxDataset.openSplit(root, "train"), data.trainSubset()),
                        subset(IdxDataset.openSplit(root, "t10k"), data.testSubset()), 1,
                        SmallImageRecipes.compress(1, 28, n), SmallImageRecipes.moco(1, 28, n), SmallImageRecipes.eval(1, 28, n));
            }
            case "imagefolder" -> {
                Path val = Files.isDirectory(root.resolve("val")) ? root.resolve("val") : root.resolve("test");
                yield new DataSpec(subset(ImageFolder.open(root.resolve("train")), data.trainSubset()),
                        subset(ImageFolder.open(val), data.testSubset()), 3,
                        Recipes.compress(size), Recipes.mocov2(size), Recipes.eval(size * 256 / 224, size));
            }
            default -> throw new IllegalArgumentException("dataset '" + data.dataset() + "': expected fashion-mnist or imagefolder");
        };
    }

    private static Dataset subset(Dataset d, int n) { return SubsetDataset.firstN(d, n); }
}
