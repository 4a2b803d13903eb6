// Errors of the native library loader that can be checked without a GPU: a missing override file and a
// library built for another CUDA major version.
package org.compress.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NativeLibraryTest {
    @Test void aMissingOverrideFileIsNamed() {
        String before = System.getProperty(NativeLibrary.PROPERTY);
        System.setProperty(NativeLibrary.PROPERTY, "/nonexistent/libcompress_native.so");
        try {
            var e = assertThrows(NativeLibrary.NativeLibraryException.class, NativeLibrary::locate);
            assertTrue(e.getMessage().contains("points at /nonexistent/libcompress_native.so, which does not exist"), e.getMessage());
        } finally {
            if (before == null) System.clearProperty(NativeLibrary.PROPERTY);
            else System.setProperty(NativeLibrary.PROPERTY, before);
        }
    }

    @Test void anotherCudaMajorVersionIsRefused() {
        var e = assertThrows(NativeLibrary.NativeLibraryException.class, () -> NativeLibrary.checkCudaMajor("lib.so", 12040, 13000));
        assertEquals("lib.so was built for CUDA 12.4 but the CUDA runtime loaded here is 13.0; rebuild it with this CUDA major version",
                e.getMessage());
        NativeLibrary.checkCudaMajor("lib.so", 13000, 13010); // same major: accepted
    }

    @Test void versionsAreFormattedForPeople() {
        assertEquals("13.0", CudaVersions.format(13000));
        assertEquals("12.4", CudaVersions.format(12040));
        assertEquals("9.19.0", CudaVersions.formatCudnn(91900));
        assertEquals("none", CudaVersions.format(0));
    }
}
