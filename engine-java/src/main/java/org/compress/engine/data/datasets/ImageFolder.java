// torchvision's ImageFolder layout: root/<class>/**/<image>. Classes are the sub-folders in sorted order;
// images are listed like torchvision's make_dataset (sorted walk, sorted names), so image i is the same
// file here as in PyTorch. Files are picked by extension (jpg, jpeg, png, bmp, any case) but DECODED by
// their magic bytes; other files are ignored and counted. Structure errors (missing root, no classes, an
// empty class) fail at construction; a bad image fails only when read, as a CorruptSampleException.
package org.compress.engine.data.datasets;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.compress.engine.data.CorruptSampleException;
import org.compress.engine.data.DataException;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.io.ImageDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class ImageFolder implements Dataset {
    private static final Logger LOG = LoggerFactory.getLogger(ImageFolder.class);
    private static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png", ".bmp");

    private final Path root;
    private final List<String> classes;
    private final Path[] files;
    private final int[] labels;
    private final int ignored;

    public static ImageFolder open(Path root) {
        if (!Files.exists(root)) throw new DataException("image folder not found: " + root);
        if (!Files.isDirectory(root)) throw new DataException("image folder is not a directory: " + root);
        return new ImageFolder(root);
    }

    private ImageFolder(Path root) {
        this.root = root;
        List<Path> classDirs = new ArrayList<>();
        try (Stream<Path> s = Files.list(root)) {
            s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith(".")).forEach(classDirs::add);
        } catch (IOException e) {
            throw new DataException("cannot list image folder " + root + ": " + e, e);
        }
        classDirs.sort(Comparator.comparing(p -> p.getFileName().toString()));
        if (classDirs.isEmpty()) throw new DataException("image folder " + root + " has no class sub-folders");
        List<String> names = new ArrayList<>();
        List<Path> all = new ArrayList<>();
        List<Integer> labelList = new ArrayList<>();
        List<String> empty = new ArrayList<>();
        int skipped = 0;
        for (int c = 0; c < classDirs.size(); c++) {
            Path dir = classDirs.get(c);
            names.add(dir.getFileName().toString());
            List<Path> found = new ArrayList<>();
            try (Stream<Path> s = Files.walk(dir, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
                for (Path p : (Iterable<Path>) s.filter(Files::isRegularFile)::iterator) {
                    String n = p.getFileName().toString();
                    if (n.startsWith(".")) continue;
                    if (hasImageExtension(n)) found.add(p);
                    else skipped++;
                }
            } catch (IOException | java.io.UncheckedIOException e) {
                throw new DataException("cannot list class folder " + dir + ": " + e, e);
            }
            // sorted(os.walk(...)) then sorted(fnames): order by the containing folder's path, then the name.
            found.sort(Comparator.comparing((Path p) -> p.getParent().toString()).thenComparing(p -> p.getFileName().toString()));
            if (found.isEmpty()) empty.add(names.get(c));
            for (Path p : found) {
                all.add(p);
                labelList.add(c);
            }
        }
        if (!empty.isEmpty()) {
            throw new DataException("image folder " + root + ": class folder(s) without images (jpg/jpeg/png/bmp): " + empty);
        }
        this.classes = List.copyOf(names);
        this.files = all.toArray(new Path[0]);
        this.labels = labelList.stream().mapToInt(Integer::intValue).toArray();
        this.ignored = skipped;
        if (skipped > 0) LOG.info("{}: ignored {} file(s) without an image extension", root, skipped);
    }

    private static boolean hasImageExtension(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        for (String e : EXTENSIONS) if (lower.endsWith(e)) return true;
        return false;
    }

    public Path root() { return root; }

    public List<String> classes() { return classes; }

    /** Files under the class folders that were not taken (no image extension). */
    public int ignoredFiles() { return ignored; }

    public Path path(int index) { return files[index]; }

    /** SHA-256 of the ordered relative paths and labels: a cached-teacher store keyed by index checks this. */
    public String listingHash() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (int i = 0; i < files.length; i++) {
                md.update(root.relativize(files[i]).toString().getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(Integer.toString(labels[i]).getBytes(StandardCharsets.UTF_8));
                md.update((byte) '\n');
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    }

    @Override public int size() { return files.length; }

    @Override public int numClasses() { return classes.size(); }

    @Override public int label(int index) { return labels[index]; }

    @Override public U8Image image(int index) {
        Path p = files[index];
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(p);
        } catch (IOException e) {
            throw new CorruptSampleException(p.toString(), "unreadable (" + e + ")", e);
        }
        return ImageDecoder.decode(bytes, p.toString());
    }

    @Override public String source(int index) { return files[index].toString(); }
}
