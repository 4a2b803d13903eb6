// cuDNN convolution forward, backward-data and backward-filter. For each distinct (direction, shapes, formats,
// geometry) a plan is built once: descriptors, the fastest algorithm from cudnnFind*Algorithm, and its
// workspace from the caching allocator; later calls with the same shapes reuse it and allocate nothing.
// FP32 data runs with CUDNN_FMA_MATH (no TF32 rounding), so it matches the CPU reference to fp32 accuracy.
// BF16 data (x, w, y all BFLOAT16) runs cuDNN's pseudo-bf16 configuration: FLOAT compute type (fp32
// accumulation) with CUDNN_TENSOR_OP_MATH, the tensor-core path; NHWC tensors with an NHWC (KRSC) filter are
// its fast layout. A bias is added by cudnnAddTensor and needs FP32 y (ConvolutionOp's check).
package org.compress.engine.backend.cuda;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.ConvolutionOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

final class CudaConvolution implements ConvolutionOp, AutoCloseable {
    private static final Native.Library CUDNN = Native.Library.CUDNN;
    private static final int REQUESTED_ALGOS = 8;

    private enum Direction { FORWARD, BACKWARD_DATA, BACKWARD_FILTER }

    private final CudaBackend cuda;
    private final Map<List<Object>, Plan> plans = new HashMap<>();
    private final FloatPointer one = new FloatPointer(1f);
    private final FloatPointer zero = new FloatPointer(0f);

    CudaConvolution(CudaBackend cuda) { this.cuda = cuda; }

    private static final class Plan implements AutoCloseable {
        final cudnnTensorStruct x = new cudnnTensorStruct();
        final cudnnTensorStruct y = new cudnnTensorStruct();
        final cudnnTensorStruct bias = new cudnnTensorStruct();
        final cudnnFilterStruct w = new cudnnFilterStruct();
        final cudnnConvolutionStruct conv = new cudnnConvolutionStruct();
        int algo;
        boolean bf16;
        DeviceBuffer workspace;

        Pointer workspacePointer() { return workspace == null ? null : DevicePointers.at(workspace.address()); }

        long workspaceBytes() { return workspace == null ? 0 : workspace.bytes(); }

        @Override public void close() {
            cudnn.cudnnDestroyTensorDescriptor(x);
            cudnn.cudnnDestroyTensorDescriptor(y);
            cudnn.cudnnDestroyTensorDescriptor(bias);
            cudnn.cudnnDestroyFilterDescriptor(w);
            cudnn.cudnnDestroyConvolutionDescriptor(conv);
            if (workspace != null) workspace.close();
        }
    }

    @Override public synchronized void forward(Tensor x, Tensor w, Tensor bias, Tensor y, Conv2dParams p) {
        ConvolutionOp.checkForward(x, w, bias, y, p);
        Plan plan = plan(Direction.FORWARD, x, w, y, p);
        Native.check(CUDNN, cudnn.cudnnConvolutionForward(cuda.cudnn(), one, plan.x, cuda.pointer(x), plan.w, cuda.pointer(w),
                plan.conv, plan.algo, plan.workspacePointer(), plan.workspaceBytes(), zero, plan.y, cuda.pointer(y)),
                "cudnnConvolutionForward");
        if (bias != null) {
            Native.check(CUDNN, cudnn.cudnnAddTensor(cuda.cudnn(), one, plan.bias, cuda.pointer(bias), one, plan.y, cuda.pointer(y)),
                    "cudnnAddTensor(bias)");
        }
    }

    @Override public synchronized void backwardData(Tensor dy, Tensor w, Tensor dx, Conv2dParams p) {
        ConvolutionOp.checkBackwardData(dy, w, dx, p);
        Plan plan = plan(Direction.BACKWARD_DATA, dx, w, dy, p);
        Native.check(CUDNN, cudnn.cudnnConvolutionBackwardData(cuda.cudnn(), one, plan.w, cuda.pointer(w), plan.y, cuda.pointer(dy),
                plan.conv, plan.algo, plan.workspacePointer(), plan.workspaceBytes(), zero, plan.x, cuda.pointer(dx)),
                "cudnnConvolutionBackwardData");
    }

    @Override public synchronized void backwardFilter(Tensor x, Tensor dy, Tensor dw, Conv2dParams p) {
        ConvolutionOp.checkBackwardFilter(x, dy, dw, p);
        Plan plan = plan(Direction.BACKWARD_FILTER, x, dw, dy, p);
        Native.check(CUDNN, cudnn.cudnnConvolutionBackwardFilter(cuda.cudnn(), one, plan.x, cuda.pointer(x), plan.y, cuda.pointer(dy),
                plan.conv, plan.algo, plan.workspacePointer(), plan.workspaceBytes(), zero, plan.w, cuda.pointer(dw)),
                "cudnnConvolutionBackwardFilter");
    }

    private Plan plan(Direction direction, Tensor x, Tensor w, Tensor y, Conv2dParams p) {
        List<Object> key = List.of(direction, Arrays.toString(x.shape()), x.format(), Arrays.toString(w.shape()), w.format(),
                y.format(), x.dtype(), p);
        Plan plan = plans.get(key);
        if (plan == null) {
            plan = buildPlan(direction, x, w, y, p);
            plans.put(key, plan);
        }
        return plan;
    }

    private static int format(MemoryFormat f) {
        return f == MemoryFormat.CHANNELS_LAST ? cudnn.CUDNN_TENSOR_NHWC : cudnn.CUDNN_TENSOR_NCHW;
    }

    private Plan buildPlan(Direction direction, Tensor x, Tensor w, Tensor y, Conv2dParams p) {
        Plan plan = new Plan();
        try {
            describe(plan, x, w, y, p);
            chooseAlgorithm(direction, plan, x, w, p);
            return plan;
        } catch (RuntimeException e) {
            plan.close();
            throw e;
        }
    }

    private static void describe(Plan plan, Tensor x, Tensor w, Tensor y, Conv2dParams p) {
        int f32 = cudnn.CUDNN_DATA_FLOAT, data = CudnnTensors.dataType(x.dtype());
        boolean bf16 = x.dtype() == DType.BF16;
        plan.bf16 = bf16;
        Native.check(CUDNN, cudnn.cudnnCreateTensorDescriptor(plan.x), "cudnnCreateTensorDescriptor");
        Native.check(CUDNN, cudnn.cudnnCreateTensorDescriptor(plan.y), "cudnnCreateTensorDescriptor");
        Native.check(CUDNN, cudnn.cudnnCreateTensorDescriptor(plan.bias), "cudnnCreateTensorDescriptor");
        Native.check(CUDNN, cudnn.cudnnCreateFilterDescriptor(plan.w), "cudnnCreateFilterDescriptor");
        Native.check(CUDNN, cudnn.cudnnCreateConvolutionDescriptor(plan.conv), "cudnnCreateConvolutionDescriptor");
        Native.check(CUDNN, cudnn.cudnnSetTensor4dDescriptor(plan.x, format(x.format()), data, x.dim(0), x.dim(1), x.dim(2), x.dim(3)),
                "cudnnSetTensor4dDescriptor(x)");
        Native.check(CUDNN, cudnn.cudnnSetTensor4dDescriptor(plan.y, format(y.format()), data, y.dim(0), y.dim(1), y.dim(2), y.dim(3)),
                "cudnnSetTensor4dDescriptor(y)");
        Native.check(CUDNN, cudnn.cudnnSetTensor4dDescriptor(plan.bias, cudnn.CUDNN_TENSOR_NCHW, f32, 1, y.dim(1), 1, 1),
                "cudnnSetTensor4dDescriptor(bias)");
        Native.check(CUDNN, cudnn.cudnnSetFilter4dDescriptor(plan.w, data, format(w.format()), w.dim(0), w.dim(1), w.dim(2), w.dim(3)),
                "cudnnSetFilter4dDescriptor");
        Native.check(CUDNN, cudnn.cudnnSetConvolution2dDescriptor(plan.conv, p.padH(), p.padW(), p.strideH(), p.strideW(),
                p.dilationH(), p.dilationW(), cudnn.CUDNN_CROSS_CORRELATION, f32), "cudnnSetConvolution2dDescriptor");
        Native.check(CUDNN, cudnn.cudnnSetConvolutionGroupCount(plan.conv, p.groups()), "cudnnSetConvolutionGroupCount");
        Native.check(CUDNN, cudnn.cudnnSetConvolutionMathType(plan.conv, bf16 ? cudnn.CUDNN_TENSOR_OP_MATH : cudnn.CUDNN_FMA_MATH),
                "cudnnSetConvolutionMathType");
    }

    /** Runs cuDNN's search once for this shape and keeps the fastest algorithm that succeeded, with its workspace. */
    private void chooseAlgorithm(Direction direction, Plan plan, Tensor x, Tensor w, Conv2dParams p) {
        int[] found = {0};
        List<String> tried = new ArrayList<>();
        String call;
        switch (direction) {
            case FORWARD -> {
                call = "cudnnFindConvolutionForwardAlgorithm";
                try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(REQUESTED_ALGOS)) {
                    Native.check(CUDNN, cudnn.cudnnFindConvolutionForwardAlgorithm(cuda.cudnn(), plan.x, plan.w, plan.conv, plan.y,
                            REQUESTED_ALGOS, found, perf), call);
                    for (int i = 0; i < found[0]; i++) {
                        cudnnConvolutionFwdAlgoPerf_t r = perf.getPointer(i);
                        tried.add("algo " + r.algo() + ": status " + r.status() + ", math " + r.mathType());
                        if (usable(plan, r.status(), r.mathType())) {
                            take(plan, r.algo(), r.memory(), r.mathType());
                            return;
                        }
                    }
                }
            }
            case BACKWARD_DATA -> {
                call = "cudnnFindConvolutionBackwardDataAlgorithm";
                try (cudnnConvolutionBwdDataAlgoPerf_t perf = new cudnnConvolutionBwdDataAlgoPerf_t(REQUESTED_ALGOS)) {
                    Native.check(CUDNN, cudnn.cudnnFindConvolutionBackwardDataAlgorithm(cuda.cudnn(), plan.w, plan.y, plan.conv, plan.x,
                            REQUESTED_ALGOS, found, perf), call);
                    for (int i = 0; i < found[0]; i++) {
                        cudnnConvolutionBwdDataAlgoPerf_t r = perf.getPointer(i);
                        tried.add("algo " + r.algo() + ": status " + r.status() + ", math " + r.mathType());
                        if (usable(plan, r.status(), r.mathType())) {
                            take(plan, r.algo(), r.memory(), r.mathType());
                            return;
                        }
                    }
                }
            }
            default -> {
                call = "cudnnFindConvolutionBackwardFilterAlgorithm";
                try (cudnnConvolutionBwdFilterAlgoPerf_t perf = new cudnnConvolutionBwdFilterAlgoPerf_t(REQUESTED_ALGOS)) {
                    Native.check(CUDNN, cudnn.cudnnFindConvolutionBackwardFilterAlgorithm(cuda.cudnn(), plan.x, plan.y, plan.conv, plan.w,
                            REQUESTED_ALGOS, found, perf), call);
                    for (int i = 0; i < found[0]; i++) {
                        cudnnConvolutionBwdFilterAlgoPerf_t r = perf.getPointer(i);
                        tried.add("algo " + r.algo() + ": status " + r.status() + ", math " + r.mathType());
                        if (usable(plan, r.status(), r.mathType())) {
                            take(plan, r.algo(), r.memory(), r.mathType());
                            return;
                        }
                    }
                }
            }
        }
        throw new CudnnException(call, cudnn.CUDNN_STATUS_NOT_SUPPORTED, "no usable algorithm",
                "for x " + x + ", w " + w + ", " + p + "; tried " + tried);
    }

    /**
     * A search result we may use: it succeeded and, for FP32 data, it does not round through TF32 (the plan's promise
     * of fp32 accuracy). cuDNN measures each result under its own math type, which take() then applies.
     */
    private static boolean usable(Plan plan, int status, int mathType) {
        return status == cudnn.CUDNN_STATUS_SUCCESS && (plan.bf16 || mathType == cudnn.CUDNN_FMA_MATH || mathType == cudnn.CUDNN_DEFAULT_MATH);
    }

    /** Keeps the algorithm with the math type it was measured under, and its workspace. */
    private void take(Plan plan, int algo, long workspaceBytes, int mathType) {
        Native.check(CUDNN, cudnn.cudnnSetConvolutionMathType(plan.conv, mathType), "cudnnSetConvolutionMathType(chosen)");
        plan.algo = algo;
        plan.workspace = workspaceBytes > 0 ? cuda.allocator().allocate(workspaceBytes) : null;
    }

    @Override public synchronized void close() {
        plans.values().forEach(Plan::close);
        plans.clear();
    }
}
