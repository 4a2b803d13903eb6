// CPU reference dtype / memory-format conversion: each logical element (n, c, h, w) read from the source's
// storage order, written to the target's, rounded to BF16 when the target is BF16.
package org.compress.engine.backend.cpu;

import java.util.List;
import org.compress.engine.ops.ConvertOp;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

final class CpuConvert implements ConvertOp {
    private record CpuGroup(List<Tensor> sources, List<Tensor> targets) implements Group {
        @Override public int size() { return sources.size(); }

        @Override public void close() { /* holds no resources */ }
    }

    @Override public void convert(Tensor src, Tensor dst) {
        ConvertOp.check("convert", src, dst);
        CpuFloats.View s = CpuFloats.of(src), d = CpuFloats.output(dst);
        int n = (int) src.numel();
        if (src.format() == dst.format()) {
            System.arraycopy(s.a(), s.off(), d.a(), d.off(), n);
        } else {
            int c = src.dim(1), hw = src.dim(2) * src.dim(3);
            boolean fromNhwc = src.format() == MemoryFormat.CHANNELS_LAST;
            for (int b = 0; b < src.dim(0); b++) for (int ch = 0; ch < c; ch++) for (int p = 0; p < hw; p++) {
                int nchw = (b * c + ch) * hw + p, nhwc = (b * hw + p) * c + ch;
                d.a()[d.off() + (fromNhwc ? nchw : nhwc)] = s.a()[s.off() + (fromNhwc ? nhwc : nchw)];
            }
        }
        d.commit();
    }

    @Override public Group prepare(List<Tensor> sources, List<Tensor> targets) {
        ConvertOp.checkPrepare(sources, targets);
        return new CpuGroup(List.copyOf(sources), List.copyOf(targets));
    }

    @Override public void run(Group group) {
        CpuGroup g = (CpuGroup) group;
        for (int i = 0; i < g.size(); i++) convert(g.sources.get(i), g.targets.get(i));
    }
}
