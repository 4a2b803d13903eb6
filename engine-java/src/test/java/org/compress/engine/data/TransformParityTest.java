// Each transform against torchvision 0.14 outputs for fixed parameters (fixture written by
// src/test/python/make_transform_fixtures.py). Tolerances, and why:
//   copies (crop, center crop with padding, flip): bitwise, nothing is computed;
//   pointwise colour ops and normalize: 2e-6, the same float32 operations in the same order give a few ulps
//     (contrast's mean is summed in double here, pairwise in float in torch);
//   hue: 2e-6, likewise (HSV round trip in float32, same formulas);
//   resize / resized crop: 1e-5, weights and sums in double here, float32 in torch (a few ulps per tap over
//     up to ~2*scale taps per axis);
//   gaussian blur: 1e-5, separable in double here, one 2-d float32 convolution in torch;
//   PIL-path resize (uint8): 1 level of 255 plus 1e-3; PIL rounds its first pass to uint8 (<= 0.5) and its
//     output (<= 0.5), we do neither: that bounds how far the float path is from the PIL path.
package org.compress.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.compress.engine.data.image.Image;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.transforms.ColorJitter;
import org.compress.engine.data.transforms.ColorOps;
import org.compress.engine.data.transforms.GaussianBlur;
import org.compress.engine.data.transforms.Geometry;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.data.transforms.Resize;
import org.compress.engine.testing.Close;
import org.junit.jupiter.api.Test;

class TransformParityTest {
    static JsonNode fixture;
    static float[] blob;

    static synchronized void load() throws IOException {
        if (fixture != null) return;
        try (InputStream j = TransformParityTest.class.getResourceAsStream("/data/transforms/fixture.json");
             InputStream b = TransformParityTest.class.getResourceAsStream("/data/transforms/fixture.bin")) {
            fixture = new ObjectMapper().readTree(j);
            ByteBuffer buf = ByteBuffer.wrap(b.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
            blob = new float[buf.remaining() / 4];
            buf.asFloatBuffer().get(blob);
        }
    }

    static JsonNode fixture() throws IOException {
        load();
        return fixture;
    }

    static U8Image input(String name) {
        JsonNode in = fixture.get("inputs").get(name);
        JsonNode px = in.get("u8_hwc");
        byte[] data = new byte[px.size()];
        for (int i = 0; i < data.length; i++) data[i] = (byte) px.get(i).asInt();
        return new U8Image(in.get("height").asInt(), in.get("width").asInt(), in.get("channels").asInt(), data);
    }

    static float[] output(JsonNode c, int[] shapeOut) {
        JsonNode o = c.get("output");
        int n = 1;
        JsonNode shape = o.get("shape");
        for (int i = 0; i < shape.size(); i++) {
            shapeOut[i] = shape.get(i).asInt();
            n *= shapeOut[i];
        }
        int off = o.get("offset").asInt();
        float[] out = new float[n];
        System.arraycopy(blob, off, out, 0, n);
        return out;
    }

    static Image run(String op, JsonNode p, U8Image in) {
        Image x = in.toFloat();
        return switch (op) {
            case "resized_crop", "pil_resized_crop" -> Resize.resizedCrop(in, p.get("top").asInt(), p.get("left").asInt(),
                    p.get("height").asInt(), p.get("width").asInt(), p.get("out_h").asInt(), p.get("out_w").asInt());
            case "resize_shorter" -> {
                int[] hw = Resize.shorterSideSize(in.height(), in.width(), p.get("size").asInt());
                yield Resize.resize(x, hw[0], hw[1]);
            }
            case "center_crop" -> Geometry.centerCrop(x, p.get("height").asInt(), p.get("width").asInt());
            case "hflip" -> Geometry.hflip(x);
            case "brightness" -> ColorOps.adjustBrightness(x, p.get("factor").asDouble());
            case "contrast" -> ColorOps.adjustContrast(x, p.get("factor").asDouble());
            case "saturation" -> ColorOps.adjustSaturation(x, p.get("factor").asDouble());
            case "hue" -> ColorOps.adjustHue(x, p.get("factor").asDouble());
            case "grayscale" -> ColorOps.grayscale(x, p.get("channels").asInt());
            case "blur" -> GaussianBlur.blur(x, p.get("kernel").asInt(), p.get("sigma").asDouble());
            case "normalize" -> new Normalize(floats(p.get("mean")), floats(p.get("std"))).apply(x);
            case "color_jitter" -> {
                int[] order = new int[4];
                for (int i = 0; i < 4; i++) order[i] = p.get("order").get(i).asInt();
                yield ColorJitter.apply(x, new ColorJitter.Params(order, p.get("brightness").asDouble(),
                        p.get("contrast").asDouble(), p.get("saturation").asDouble(), p.get("hue").asDouble()));
            }
            default -> throw new AssertionError("fixture op " + op + " has no Java counterpart");
        };
    }

    static float[] floats(JsonNode a) {
        float[] f = new float[a.size()];
        for (int i = 0; i < f.length; i++) f[i] = (float) a.get(i).asDouble();
        return f;
    }

    static double tolerance(String op) {
        return switch (op) {
            case "center_crop", "hflip" -> 0;
            case "brightness", "contrast", "saturation", "grayscale", "normalize", "hue", "color_jitter" -> 2e-6;
            case "resized_crop", "resize_shorter", "blur" -> 1e-5;
            case "pil_resized_crop" -> 1.0 + 1e-3;
            default -> throw new AssertionError(op);
        };
    }

    @Test void everyTransformMatchesTorchvision() throws IOException {
        JsonNode fx = fixture();
        List<String> report = new ArrayList<>();
        for (JsonNode c : fx.get("cases")) {
            String name = c.get("name").asText(), op = c.get("op").asText();
            int[] shape = new int[3];
            float[] ref = output(c, shape);
            Image out = run(op, c.get("params"), input(c.get("input").asText()));
            assertArrayEquals(shape, new int[] {out.channels(), out.height(), out.width()}, name + " shape");
            float[] actual = out.data();
            if (op.equals("pil_resized_crop")) {
                actual = actual.clone();
                for (int i = 0; i < actual.length; i++) actual[i] *= 255f;
            }
            double tol = tolerance(op);
            if (tol == 0) Close.assertBitwise(name, actual, ref);
            else Close.assertClose(name, actual, ref, tol, 0);
            double worst = 0;
            for (int i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(actual[i] - ref[i]));
            report.add(String.format(java.util.Locale.ROOT, "%s %.2e", name, worst));
        }
        assertEquals(35, report.size(), "every fixture case ran");
        System.out.println("torchvision parity, max |diff| per case: " + report);
    }

    @Test void badParametersAreRejected() {
        Image x = Image.zeros(3, 4, 4);
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> GaussianBlur.blur(x, 9, 1.0)).getMessage().contains("reflect padding"));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> GaussianBlur.blur(x, 4, 1.0));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> ColorOps.adjustHue(x, 0.6));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> ColorOps.adjustBrightness(x, -1));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Resize.resize(x, 0, 3));
        U8Image u = new U8Image(4, 4, 3, new byte[48]);
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Resize.resizedCrop(u, 2, 0, 3, 4, 2, 2)).getMessage().contains("outside a 4x4 image"));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new Normalize(new float[] {0.5f}, new float[] {0f}));
    }
}
