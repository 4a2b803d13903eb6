// Row-wise L2 normalisation, as torch.nn.functional.normalize(x, dim=1): y = x / max(||x||, eps), eps = 1e-12.
// Backward: dx = (dy - y * <y, dy>) / max(||x||, eps)  (the clamp's branch has zero gradient w.r.t. the norm).
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

public interface NormalizeOp {
    float EPS = 1e-12f;

    /** x, y: (B, D) F32; norms: (B) F32 receives max(||x_i||, eps) for the backward pass. */
    void forward(Tensor x, Tensor y, Tensor norms);

    /** y, dy, dx: (B, D) F32; norms from forward. dx may alias dy. */
    void backward(Tensor y, Tensor norms, Tensor dy, Tensor dx);

    static void checkForward(Tensor x, Tensor y, Tensor norms) {
        Checks.rank("normalize x", x, 2);
        Checks.dtype("normalize x", x, DType.F32);
        Checks.sameShape("normalize y vs x", y, x);
        Checks.dtype("normalize y", y, DType.F32);
        Checks.shape("normalize norms", norms, x.dim(0));
        Checks.dtype("normalize norms", norms, DType.F32);
    }

    static void checkBackward(Tensor y, Tensor norms, Tensor dy, Tensor dx) {
        checkForward(y, dx, norms);
        Checks.sameShape("normalize dy vs y", dy, y);
        Checks.dtype("normalize dy", dy, DType.F32);
    }
}
