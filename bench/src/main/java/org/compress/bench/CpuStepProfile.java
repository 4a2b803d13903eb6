// Where a CPU ResNet step goes: the same step as CpuStepBenchmark, with every backend op call timed through a
// proxy (interface.method -> total ms per step and share of the step); "other" is what runs outside the ops (the
// layers' Java). A diagnostic, not a benchmark: the proxy adds a few microseconds per call.
//   java -cp bench/target/benchmarks.jar org.compress.bench.CpuStepProfile [backend] [width] [input] [mode] [steps] [arch]
package org.compress.bench;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Backends;

public final class CpuStepProfile {
    private static final Map<String, long[]> TIMES = new TreeMap<>();   // name -> {nanos, calls}

    private CpuStepProfile() {}

    /** A backend whose op objects time each call of their interface methods. */
    static Backend timed(Backend inner) {
        Map<Object, Object> wrapped = new HashMap<>();
        InvocationHandler h = (proxy, m, args) -> {
            Object r = call(inner, m, args);
            Class<?> t = m.getReturnType();
            if (r != null && t.isInterface() && t.getPackageName().endsWith(".ops") && m.getParameterCount() == 0) {
                return wrapped.computeIfAbsent(r, op -> Proxy.newProxyInstance(t.getClassLoader(), new Class<?>[] {t}, (p2, m2, a2) -> {
                    long t0 = System.nanoTime();
                    try {
                        return call(op, m2, a2);
                    } finally {
                        long[] acc = TIMES.computeIfAbsent(t.getSimpleName() + "." + m2.getName(), k -> new long[2]);
                        acc[0] += System.nanoTime() - t0;
                        acc[1]++;
                    }
                }));
            }
            return r;
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, h);
    }

    private static Object call(Object target, Method m, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    public static void main(String[] args) {
        CpuStepBenchmark b = new CpuStepBenchmark();
        b.backend = args.length > 0 ? args[0] : "cpu";
        b.width = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        b.input = args.length > 2 ? args[2] : "1x28";
        b.mode = args.length > 3 ? args[3] : "train";
        b.arch = args.length > 5 ? args[5] : "resnet18";
        int steps = args.length > 4 ? Integer.parseInt(args[4]) : 20;
        b.batch = 256;
        b.backendOverride = timed(Backends.select(b.backend));
        b.setUp();
        for (int i = 0; i < 3; i++) b.runStep();
        TIMES.clear();
        long t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) b.runStep();
        double stepMs = (System.nanoTime() - t0) / 1e6 / steps;
        System.out.printf(Locale.ROOT, "%s width %d %s %s: %.2f ms/step, %.0f img/s%n", b.backend, b.width, b.input, b.mode, stepMs,
                256e3 / stepMs);
        double inOps = 0;
        for (long[] v : TIMES.values()) inOps += v[0] / 1e6 / steps;
        TIMES.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue()[0], x.getValue()[0])).forEach(e -> {
            double ms = e.getValue()[0] / 1e6 / steps;
            System.out.printf(Locale.ROOT, "  %-34s %8.2f ms %5.1f %%  %5d calls/step%n", e.getKey(), ms, 100 * ms / stepMs,
                    e.getValue()[1] / steps);
        });
        System.out.printf(Locale.ROOT, "  %-34s %8.2f ms %5.1f %%%n", "other (outside the ops)", stepMs - inOps, 100 * (stepMs - inOps) / stepMs);
        b.tearDown();
    }
}
