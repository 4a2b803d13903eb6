// Tensor views, shapes and the errors for bad shapes.
package org.compress.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.compress.engine.backend.HostData;
import org.junit.jupiter.api.Test;

class TensorTest {
    @Test void viewsShareStorageWithoutCopying() {
        float[] data = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
        Tensor t = Tensor.cpu(data, 4, 3);
        Tensor middle = t.rows(1, 2);
        assertArrayEquals(new int[] {2, 3}, middle.shape());
        assertArrayEquals(new float[] {3, 4, 5, 6, 7, 8}, HostData.toFloats(middle));
        data[4] = 40;
        assertEquals(40f, HostData.toFloats(middle)[1]);
        Tensor flat = middle.reshape(6);
        assertEquals(6, flat.numel());
        assertEquals(3, flat.offset());
    }

    @Test void toStringShowsShapeDtypeDeviceNotData() {
        Tensor t = Tensor.cpuZeros(DType.BF16, 2, 3, 4, 5);
        assertEquals("Tensor[2, 3, 4, 5] BF16 on cpu", t.toString());
    }

    @Test void badShapesAreRejectedWithWhatWasExpected() {
        Tensor t = Tensor.cpu(new float[6], 2, 3);
        var e = assertThrows(ShapeMismatchException.class, () -> t.reshape(4, 2));
        assertTrue(e.getMessage().contains("cannot reshape [2, 3] (6 elements) to [4, 2] (8)"), e.getMessage());
        var r = assertThrows(ShapeMismatchException.class, () -> t.rows(1, 2));
        assertTrue(r.getMessage().contains("out of range"), r.getMessage());
        var d = assertThrows(ShapeMismatchException.class, () -> Tensor.cpu(new float[5], 2, 3));
        assertTrue(d.getMessage().contains("holds 6 elements, data has 5"), d.getMessage());
        var c = assertThrows(ShapeMismatchException.class,
                () -> new Tensor(new CpuStorage(DType.F32, 6), 0, DType.F32, MemoryFormat.CHANNELS_LAST, new int[] {2, 3}, true));
        assertTrue(c.getMessage().contains("CHANNELS_LAST needs a 4-d"), c.getMessage());
    }

    @Test void wrongDtypeAccessSaysWhatTheStorageHolds() {
        Tensor t = Tensor.cpuZeros(DType.I32, 3);
        var e = assertThrows(ShapeMismatchException.class, () -> t.cpuStorage().f32());
        assertEquals("storage holds I32, asked for F32 data", e.getMessage());
    }

    @Test void deviceParsing() {
        assertEquals(Device.CPU, Device.parse("cpu"));
        assertEquals(Device.cuda(0), Device.parse("cuda"));
        assertEquals(Device.cuda(3), Device.parse("CUDA:3"));
        var e = assertThrows(IllegalArgumentException.class, () -> Device.parse("gpu"));
        assertTrue(e.getMessage().contains("found 'gpu'"));
        assertThrows(IllegalArgumentException.class, () -> Device.parse("cuda:-1"));
    }
}
