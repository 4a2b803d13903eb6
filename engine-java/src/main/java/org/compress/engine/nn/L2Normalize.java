// Row-wise L2 normalisation (F.normalize(x, dim=1)): input/output (N, D); wraps NormalizeOp.
package org.compress.engine.nn;

import org.compress.engine.backend.Backend;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

public final class L2Normalize extends Module {
    private Tensor output;
    private Tensor norms;

    public L2Normalize(Backend backend) { super(backend); }

    @Override public Tensor forward(Tensor x) {
        output = buffer("y", MemoryFormat.CONTIGUOUS, x.shape());
        norms = buffer("norms", MemoryFormat.CONTIGUOUS, x.dim(0));
        backend.normalize().forward(x, output, norms);
        return output;
    }

    @Override public Tensor backward(Tensor dy) {
        Tensor dx = buffer("dx", MemoryFormat.CONTIGUOUS, output.shape());
        backend.normalize().backward(output, norms, dy, dx);
        return dx;
    }
}
