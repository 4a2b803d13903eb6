// Test cases for the augmentation kernels: decoded images placed in one byte blob (with row padding, so the
// pitch is honoured), the jobs that point into it, and the CPU reference output (AugmentParams.applyOnCpu +
// Normalize: the CPU transforms). Shared by the host-emulation test and the GPU test.
package org.compress.engine.data.gpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.data.transforms.Rng;

final class AugmentCases {
    private AugmentCases() {}

    record Job(int image, AugmentParams params, int outIndex) {}

    record Case(String name, int outH, int outW, List<U8Image> images, int[] pitch, long[] offset, long imageBytes,
                List<Job> jobs, int samples, Normalize normalize) {
        int sampleFloats() { return 3 * outH * outW; }

        /** The images as the device holds them: rows `pitch` bytes apart; padding bytes are 0xAB (never read). */
        byte[] imageBlob() {
            byte[] blob = new byte[(int) imageBytes];
            Arrays.fill(blob, (byte) 0xAB);
            for (int i = 0; i < images.size(); i++) {
                U8Image img = images.get(i);
                for (int y = 0; y < img.height(); y++) {
                    System.arraycopy(img.data(), y * img.width() * 3, blob, (int) offset[i] + y * pitch[i], img.width() * 3);
                }
            }
            return blob;
        }

        /** The jobs with image i at address base + offset[i]. */
        AugmentJobs jobs(long base) {
            AugmentJobs j = new AugmentJobs(outH, outW, jobs.size());
            for (Job job : jobs) {
                U8Image img = images.get(job.image());
                j.add(job.params(), new AugmentJobs.Source(base + offset[job.image()], pitch[job.image()], img.height(), img.width()), job.outIndex());
            }
            return j;
        }

        /** CPU reference, [samples, 3, outH, outW]; slots no job writes stay 0. */
        float[] expected() {
            float[] out = new float[samples * sampleFloats()];
            for (Job job : jobs) {
                normalize.apply(job.params().applyOnCpu(images.get(job.image()), outH, outW), out, job.outIndex() * sampleFloats());
            }
            return out;
        }

        /** Which output slots some job writes (the rest are not compared). */
        boolean[] written() {
            boolean[] w = new boolean[samples];
            for (Job job : jobs) w[job.outIndex()] = true;
            return w;
        }
    }

    static U8Image noise(int h, int w, long seed) {
        // Smooth gradients plus noise: every colour op and the blur change something.
        SplittableRandom r = new SplittableRandom(seed);
        byte[] b = new byte[h * w * 3];
        int a0 = r.nextInt(256), a1 = r.nextInt(256), a2 = r.nextInt(256);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int base = (y * w + x) * 3;
                b[base] = (byte) Math.min(255, (a0 + 3 * x + r.nextInt(40)) % 256);
                b[base + 1] = (byte) Math.min(255, (a1 + 2 * y + r.nextInt(40)) % 256);
                b[base + 2] = (byte) ((a2 + x * y + r.nextInt(40)) % 256);
            }
        }
        return new U8Image(h, w, 3, b);
    }

    static U8Image grayAsRgb(int h, int w, long seed) {
        byte[] g = new byte[h * w];
        new SplittableRandom(seed).nextBytes(g);
        return new U8Image(h, w, 1, g).toRgb();
    }

    private static Case build(String name, int outH, int outW, List<U8Image> images, List<Job> jobs, int samples, Normalize n) {
        int[] pitch = new int[images.size()];
        long[] offset = new long[images.size()];
        long at = 0;
        for (int i = 0; i < images.size(); i++) {
            pitch[i] = images.get(i).width() * 3 + (i % 2 == 0 ? 0 : 5);   // odd images get padded rows
            offset[i] = at;
            at += ((long) pitch[i] * images.get(i).height() + 255) / 256 * 256;
        }
        return new Case(name, outH, outW, images, pitch, offset, Math.max(at, 256), jobs, samples, n);
    }

    /** `perImage` samples of each image through recipe r (parameters from Rng.forSample), views like the pipeline lays them out. */
    static Case recipe(GpuRecipe r, List<U8Image> images, int perImage, long seed) {
        int samples = images.size() * perImage;
        List<Job> jobs = new ArrayList<>();
        int k = 0;
        for (int i = 0; i < images.size(); i++) {
            for (int s = 0; s < perImage; s++, k++) {
                AugmentParams[] p = r.sample(Rng.forSample(seed, 0, k), images.get(i).height(), images.get(i).width());
                for (int v = 0; v < p.length; v++) jobs.add(new Job(i, p[v], v * samples + k));
            }
        }
        return build(r.name(), r.height(), r.width(), images, jobs, samples * r.views(), r.normalize());
    }

    /** Hand-made parameters for a non-square output: every op, both flips, blur tiles with ragged edges. */
    static Case custom() {
        List<U8Image> images = List.of(noise(41, 57, 21), noise(23, 19, 22));
        var jitter = new org.compress.engine.data.transforms.ColorJitter(0.4, 0.4, 0.4, 0.1);
        List<Job> jobs = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(5);
        int slot = 0;
        for (int i = 0; i < 12; i++) {
            int img = i % 2;
            U8Image im = images.get(img);
            int ch = 1 + r.nextInt(im.height()), cw = 1 + r.nextInt(im.width());
            int top = r.nextInt(im.height() - ch + 1), left = r.nextInt(im.width() - cw + 1);
            var p = new AugmentParams(top, left, ch, cw, 19 + (i % 3), 23 + (i % 4), i % 3, i % 4, i % 2 == 1,
                    i % 4 == 3 ? null : jitter.sample(r), i % 5 == 0, i % 3 == 0 ? 0 : (i % 3 == 1 ? 5 : 9), 0.3 + 0.2 * i);
            jobs.add(new Job(img, p, slot++));
        }
        return build("custom", 19, 23, images, jobs, slot, Normalize.IMAGENET);
    }

    /** The cases both tests run. */
    static List<Case> all() {
        List<U8Image> imgs = List.of(noise(37, 53, 1), noise(64, 29, 2), grayAsRgb(30, 30, 3), noise(7, 300, 4), noise(24, 24, 6));
        return List.of(
                recipe(GpuRecipe.compress(24), imgs, 2, 1),
                recipe(GpuRecipe.eval(27, 24), imgs, 1, 2),
                recipe(GpuRecipe.mocov2(40), List.of(noise(71, 93, 7), noise(50, 44, 8), grayAsRgb(45, 60, 9)), 3, 3),
                custom());
    }
}
