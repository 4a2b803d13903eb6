// Every `native` method the Java side declares resolves to an entry point in the libcompress_native.so this
// build produced (a name or signature mismatch between Java and engine-native/src/jni_*.cpp fails here, on a
// machine without a GPU). Each method is called with zero/null arguments: the JNI layer rejects them through its
// argument checks (or the CUDA runtime reports no driver) without touching a device; only a missing symbol
// (UnsatisfiedLinkError) fails the test. Skips when the build had no nvcc or the CUDA runtime is absent.
package org.compress.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class JniLinkageTest {
    /** The classes whose natives live in libcompress_native.so (add new JNI classes here). */
    static final String[] JNI_CLASSES = {
        "org.compress.engine.backend.cuda.NativeKernels", "org.compress.engine.backend.cuda.LossKernels",
        "org.compress.engine.backend.cuda.NnKernels", "org.compress.engine.backend.cuda.AugmentKernels"};

    @Test void everyNativeMethodHasAnEntryPoint() throws Exception {
        File lib = new File("target/classes/linux-x86_64/libcompress_native.so");
        assumeTrue(lib.isFile(), "no native library in this build (no nvcc): " + lib);
        try {
            System.load(lib.getAbsolutePath());
        } catch (UnsatisfiedLinkError e) {
            assumeTrue(false, "the native library cannot be loaded here (no CUDA runtime?): " + e.getMessage());
        }
        List<String> missing = new ArrayList<>();
        int checked = 0;
        for (String name : JNI_CLASSES) {
            Class<?> cls;
            try {
                cls = Class.forName(name);
            } catch (ClassNotFoundException e) {
                continue; // a JNI class that this branch does not have yet
            }
            for (Method m : cls.getDeclaredMethods()) {
                if (!Modifier.isNative(m.getModifiers())) continue;
                checked++;
                Object[] args = new Object[m.getParameterCount()];
                Class<?>[] types = m.getParameterTypes();
                for (int i = 0; i < args.length; i++) args[i] = zero(types[i]);
                try {
                    m.setAccessible(true);
                    m.invoke(null, args);
                } catch (InvocationTargetException e) {
                    if (e.getCause() instanceof UnsatisfiedLinkError) missing.add(cls.getSimpleName() + "." + m.getName());
                }
            }
        }
        assertTrue(checked > 10, "found only " + checked + " native methods");
        assertTrue(missing.isEmpty(), "no JNI entry point for " + missing);
    }

    static Object zero(Class<?> t) {
        if (t == long.class) return 0L;
        if (t == int.class) return 0;
        if (t == float.class) return 0f;
        if (t == double.class) return 0d;
        if (t == short.class) return (short) 0;
        if (t == byte.class) return (byte) 0;
        if (t == boolean.class) return false;
        return null;
    }
}
