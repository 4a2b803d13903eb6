// Parsing the "BxKxDtxDs" shape strings the benchmarks take as @Param values.
package org.compress.bench;

record BenchShapes(int b, int k, int dt, int ds) {
    static BenchShapes parse(String s) {
        String[] p = s.split("x");
        if (p.length != 4) throw new IllegalArgumentException("shape: expected BxKxDtxDs, found '" + s + "'");
        return new BenchShapes(Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()), Integer.parseInt(p[2].trim()),
                Integer.parseInt(p[3].trim()));
    }

    /** Tensor-core work of one forward+backward: both logits GEMMs and the two gradient accumulations. */
    double flops() { return 2.0 * b * k * (dt + ds) + 2.0 * 2 * b * k * ds; }
}
