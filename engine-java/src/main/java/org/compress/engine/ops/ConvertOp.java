// Conversion between dtypes and memory formats: dst[n,c,h,w] = (dst dtype) src[n,c,h,w], F32 <-> BF16 (round to
// nearest even, as __float2bfloat16_rn) and NCHW <-> NHWC storage of a 4-d tensor (other ranks are CONTIGUOUS).
// Where a BF16-mixed or channels-last network meets the outside (images in, embedding out, the loss gradient in)
// and for weights: FP32 masters -> the copies layers compute with (prepare/run: one launch for all of them), and
// a weight gradient back from the copy's dtype/format to its FP32 NCHW master gradient.
package org.compress.engine.ops;

import java.util.List;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface ConvertOp {
    /** A fixed list of (source, target) pairs; close it to free its device table. */
    interface Group extends AutoCloseable {
        int size();

        @Override void close();
    }

    /** dst = src in dst's dtype and memory format. src and dst must not overlap. */
    void convert(Tensor src, Tensor dst);

    /** Fixes a list of conversions for run(); checks every pair first. */
    Group prepare(List<Tensor> sources, List<Tensor> targets);

    /** Every conversion of the group (one launch on the GPU); allocates nothing. */
    void run(Group group);

    static void check(String what, Tensor src, Tensor dst) {
        Checks.dtype(what + " source", src, DType.F32, DType.BF16);
        Checks.dtype(what + " target", dst, DType.F32, DType.BF16);
        Checks.sameShape(what, src, dst);
        if (src.storage() == dst.storage()) {
            throw new IllegalArgumentException(what + ": source and target share storage (" + src + " -> " + dst + ")");
        }
    }

    static void checkPrepare(List<Tensor> sources, List<Tensor> targets) {
        if (sources.size() != targets.size()) {
            throw new ShapeMismatchException("convert: expected as many targets as sources, found " + targets.size() + " vs " + sources.size());
        }
        for (int i = 0; i < sources.size(); i++) check("convert " + i, sources.get(i), targets.get(i));
    }
}
