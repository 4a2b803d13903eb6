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
    private Tensor rows;

    public TeacherCache(Backend backend, float[] embeddings, int size, int dim) {
        if (embeddings.length != (long) size * dim) {
            throw new ShapeMismatchException("teacher cache: " + size + " images of " + dim + "-d need " + (long) size * dim
                    + " values, found " + embeddings.length);
        }
        this.backend = backend;
        this.table = backend.upload(Tensor.cpu(embeddings, size, dim));
    }

    /** Runs the teacher once over the dataset (eval mode, the given deterministic view). */
    public static TeacherCache compute(Backend backend, Network teacher, Dataset data, Recipe view, int batchSize, int workers) {
        Embeddings.Set set = Embeddings.of(backend, teacher, data, view, batchSize, workers);
        return new TeacherCache(backend, set.values(), data.size(), set.dim());
    }

    public int dim() { return table.dim(1); }

    public int size() { return table.dim(0); }

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
        java.util.Map<String, String> meta = new java.util.LinkedHashMap<>();
        meta.put("compress.role", "teacher-cache");
        meta.put("compress.dataset_hash", listingHash(data));
        meta.put("compress.images", Integer.toString(data.size()));
        meta.put("compress.teacher", teacher);
        org.compress.engine.io.Safetensors.write(file,
                java.util.Map.of("embeddings", Tensor.cpu(embeddings.values(), data.size(), embeddings.dim())), meta);
    }

    /** Loads a cache written by save(), refusing one made for another dataset listing than {@code data}'s. */
    public static TeacherCache load(Backend backend, java.nio.file.Path file, Dataset data) {
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
        Tensor t = org.compress.engine.io.Safetensors.read(file).get("embeddings");
        return new TeacherCache(backend, t.cpuStorage().f32().length == t.numel() ? t.cpuStorage().f32()
                : java.util.Arrays.copyOfRange(t.cpuStorage().f32(), (int) t.offset(), (int) (t.offset() + t.numel())), t.dim(0), t.dim(1));
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
