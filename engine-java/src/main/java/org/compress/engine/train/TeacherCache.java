// CompRess's cached teacher: teacher embeddings computed once per training image (on its deterministic view)
// and looked up by the image's stable dataset index each step, so the teacher never runs during distillation.
// The table lives on the backend; a step gathers its rows there (on the GPU: an async index copy + one kernel).
// save/load keep it as a file (`compress cache-teacher`): row i is image i, and the metadata holds a hash of the
// dataset listing (size, classes, each image's source and label), so a cache made for other data is refused.
package org.compress.engine.train;

import org.compress.engine.backend.Backend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public final class TeacherCache implements AutoCloseable {
    private final Backend backend;
    private final Tensor table;
    private final int images;
    private final int views;
    private int[] shiftedRows;
    private Tensor rows;

    /** One deterministic (centre-crop) embedding per image: row i = image i. */
    public TeacherCache(Backend backend, float[] embeddings, int size, int dim) { this(backend, embeddings, size, dim, 0); }

    /**
     * views = 0: one deterministic embedding per image. views = V > 0: V blocks of {@code size} rows, block v holding
     * the embedding of each image's augmented view as the training loader draws it at epoch v (same seed); training
     * epoch e then uses block e mod V and the loader's augmentation of epoch e mod V (see loaderEpoch).
     */
    public TeacherCache(Backend backend, float[] embeddings, int size, int dim, int views) {
        long rowsNeeded = (long) size * Math.max(1, views);
        if (embeddings.length != rowsNeeded * dim) {
            throw new ShapeMismatchException("teacher cache: " + rowsNeeded + " rows of " + dim + "-d need " + rowsNeeded * dim
                    + " values, found " + embeddings.length);
        }
        this.backend = backend;
        this.images = size;
        this.views = views;
        this.table = backend.upload(Tensor.cpu(embeddings, (int) rowsNeeded, dim));
    }

    public int views() { return views; }

    /** The loader epoch whose augmentation matches the cached view that training epoch {@code epoch} uses. */
    public int loaderEpoch(int epoch) { return views == 0 ? epoch : epoch % views; }

    /** The cached embeddings of images {@code indices} for training epoch {@code epoch} (its view block). */
    public Tensor lookup(int epoch, int[] indices) {
        if (views == 0) return lookup(indices);
        int base = (epoch % views) * images;
        int[] rowsOf = shiftedBuffer(indices.length);
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] < 0 || indices[i] >= images) {
                throw new ShapeMismatchException("teacher cache holds images 0.." + (images - 1) + ", asked for " + indices[i]);
            }
            rowsOf[i] = base + indices[i];
        }
        return lookup(rowsOf);
    }

    private int[] shiftedBuffer(int n) {
        if (shiftedRows == null || shiftedRows.length != n) shiftedRows = new int[n];   // once per batch size
        return shiftedRows;
    }

    /** Runs the teacher once over the dataset (eval mode, the given deterministic view). */
    public static TeacherCache compute(Backend backend, Network teacher, Dataset data, Recipe view, int batchSize, int workers) {
        Embeddings.Set set = Embeddings.of(backend, teacher, data, view, batchSize, workers);
        return new TeacherCache(backend, set.values(), data.size(), set.dim());
    }

    public int dim() { return table.dim(1); }

    public int size() { return images; }

    /** SHA-256 of the dataset listing: size, class count, then each image's source and label, in index order. */
    public static String listingHash(Dataset data) {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            md.update((data.size() + "/" + data.numClasses() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            for (int i = 0; i < data.size(); i++) {
                md.update((data.source(i) + "\t" + data.label(i) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }

    /** Writes {@code embeddings} (N x D, row i = image i of {@code data}) with the listing hash and a description. */
    public static void save(java.nio.file.Path file, Embeddings.Set embeddings, Dataset data, String teacher) {
        if (embeddings.labels().length != data.size()) {
            throw new ShapeMismatchException("teacher cache: " + embeddings.labels().length + " embeddings for " + data.size() + " images");
        }
        save(file, embeddings.values(), embeddings.dim(), 0, 0, data, teacher);
    }

    /** Writes V = views blocks of N x D rows (views = 0: one deterministic block), made with the loader seed {@code seed}. */
    public static void save(java.nio.file.Path file, float[] values, int dim, int views, long seed, Dataset data, String teacher) {
        int rows = data.size() * Math.max(1, views);
        if (values.length != (long) rows * dim) throw new ShapeMismatchException("teacher cache: " + rows + " rows of " + dim + "-d, found "
                + values.length + " values");
        java.util.Map<String, String> meta = new java.util.LinkedHashMap<>();
        meta.put("compress.views", Integer.toString(views));
        meta.put("compress.seed", Long.toString(seed));
        meta.put("compress.role", "teacher-cache");
        meta.put("compress.dataset_hash", listingHash(data));
        meta.put("compress.images", Integer.toString(data.size()));
        meta.put("compress.teacher", teacher);
        org.compress.engine.io.Safetensors.write(file, java.util.Map.of("embeddings", Tensor.cpu(values, rows, dim)), meta);
    }

    /**
     * Loads a cache written by save(), refusing one made for another dataset listing than {@code data}'s, or (a cache
     * of augmented views) with another loader seed than {@code seed}, whose augmentations would not be the run's.
     */
    public static TeacherCache load(Backend backend, java.nio.file.Path file, Dataset data, long seed) {
        int views = check(file, data, seed);
        Tensor t = org.compress.engine.io.Safetensors.read(file).get("embeddings");
        float[] values = t.cpuStorage().f32().length == t.numel() ? t.cpuStorage().f32()
                : java.util.Arrays.copyOfRange(t.cpuStorage().f32(), (int) t.offset(), (int) (t.offset() + t.numel()));
        return new TeacherCache(backend, values, data.size(), t.dim(1), views);
    }

    /** The embedding dimension of the cache in {@code file}, read from its header only. */
    public static int dim(java.nio.file.Path file) {
        try (var f = org.compress.engine.io.Safetensors.open(file)) {
            return f.entries().stream().filter(e -> e.name().equals("embeddings")).findFirst()
                    .orElseThrow(() -> new org.compress.engine.io.CheckpointException(file + " has no 'embeddings' tensor; not a teacher cache"))
                    .shape()[1];
        }
    }

    /**
     * The checks of load() from the file's metadata alone (cheap: run before any work): the cache's role, its dataset
     * listing against {@code data}'s, the seed of augmented views. Returns the number of views (0: centre crops).
     */
    public static int check(java.nio.file.Path file, Dataset data, long seed) {
        java.util.Map<String, String> meta = org.compress.engine.io.Safetensors.readMetadata(file);
        if (!"teacher-cache".equals(meta.get("compress.role"))) {
            throw new org.compress.engine.io.CheckpointException(file + " is not a teacher cache (no compress.role=teacher-cache in its metadata);"
                    + " make one with `compress cache-teacher`");
        }
        String expected = listingHash(data);
        if (!expected.equals(meta.get("compress.dataset_hash"))) {
            throw new org.compress.engine.io.CheckpointException("teacher cache " + file + " was made for other data (" + meta.get("compress.images")
                    + " images, listing hash " + meta.get("compress.dataset_hash").substring(0, 12) + "...), this run has " + data.size()
                    + " images with hash " + expected.substring(0, 12) + "...: run cache-teacher on this data");
        }
        int views = Integer.parseInt(meta.getOrDefault("compress.views", "0"));
        long cacheSeed = Long.parseLong(meta.getOrDefault("compress.seed", "0"));
        if (views > 0 && cacheSeed != seed) {
            throw new org.compress.engine.io.CheckpointException("teacher cache " + file + " holds augmented views drawn with seed " + cacheSeed
                    + ", this run uses seed " + seed + ": its images would not be the cached ones (use --seed " + cacheSeed + ")");
        }
        return views;
    }

    /** The cached embeddings of images {@code indices} (B x dim, on the backend), valid until the next lookup. */
    public Tensor lookup(int[] indices) {
        for (int index : indices) {
            if (index < 0 || index >= table.dim(0)) {
                throw new ShapeMismatchException("teacher cache holds images 0.." + (table.dim(0) - 1) + ", asked for " + index);
            }
        }
        if (rows == null || rows.dim(0) != indices.length) {
            if (rows != null) rows.close();
            rows = backend.empty(org.compress.engine.tensor.DType.F32, indices.length, table.dim(1));
        }
        backend.elementwise().gatherRows(table, indices, rows);
        return rows;
    }

    @Override public void close() {
        if (rows != null) rows.close();
        table.close();
    }
}
