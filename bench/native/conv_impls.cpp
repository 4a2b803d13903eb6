// Every oneDNN implementation of the eval-mode 3x3 convolutions of ResNet-18 (small-input stem, base width 16, 1x28,
// batch 256, NHWC, f32) timed on this machine, with no post-op residual, a binary-add residual (what the fused
// inference path uses by default) and a sum residual, and whether the Winograd algorithm is offered at all: the
// measurement behind the fast CPU backend's convolution tuning (bench/results/2026-12-03-cpu-backend.md).
//   g++ -O2 -std=c++17 bench/native/conv_impls.cpp -ldnnl -o /tmp/conv_impls && OMP_NUM_THREADS=2 /tmp/conv_impls
#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <unordered_map>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static engine eng(engine::kind::cpu, 0);

// Best of 12 runs after 3 untimed, in ms.
static double best_ms(primitive& p, std::unordered_map<int, memory>& args, stream& s) {
    for (int i = 0; i < 3; i++) p.execute(s, args);
    s.wait();
    double best = 1e30;
    for (int i = 0; i < 12; i++) {
        auto t0 = std::chrono::steady_clock::now();
        p.execute(s, args);
        s.wait();
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (ms < best) best = ms;
    }
    return best;
}

static memory zeros(const memory::desc& md) {
    memory m(md, eng);
    std::memset(m.get_data_handle(), 0, md.get_size());
    return m;
}

// residual: 0 none, 1 binary add, 2 sum
static void run(int n, int c, int h, int residual, algorithm alg) {
    static const char* forms[] = {"relu", "binary+relu", "sum+relu"};
    memory::desc sd({n, c, h, h}, dt::f32, tag::nhwc), wd({c, c, 3, 3}, dt::f32, tag::any), bd({c}, dt::f32, tag::x);
    post_ops po;
    if (residual == 1) po.append_binary(algorithm::binary_add, sd);
    if (residual == 2) po.append_sum(1.f);
    po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    primitive_attr attr;
    attr.set_post_ops(po);
    // the descriptor and attributes must outlive the walk over implementations (next_impl)
    convolution_forward::desc d(prop_kind::forward_inference, alg, sd, wd, bd, sd, {1, 1}, {0, 0}, {1, 1}, {1, 1});
    const char* algo = alg == algorithm::convolution_winograd ? "winograd" : "direct";
    convolution_forward::primitive_desc pd;
    try {
        pd = convolution_forward::primitive_desc(d, attr, eng);
    } catch (const error&) {
        std::printf("c %3d  %2dx%-2d  %-11s %-8s not offered\n", c, h, h, forms[residual], algo);
        return;
    }
    stream s(eng);
    memory src = zeros(sd), dst = zeros(sd), res = zeros(sd), bias = zeros(bd);
    do {
        if (std::strncmp(pd.impl_info_str(), "ref", 3) == 0) continue;
        convolution_forward p(pd);
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, zeros(pd.weights_desc())}, {DNNL_ARG_DST, dst},
                                             {DNNL_ARG_BIAS, bias}};
        if (residual == 1) args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = res;
        double ms = best_ms(p, args, s);
        std::printf("c %3d  %2dx%-2d  %-11s %-8s %-22s %7.3f ms  %5.0f GFLOP/s\n", c, h, h, forms[residual], algo, pd.impl_info_str(), ms,
                    2.0 * n * c * c * 9 * h * h / ms / 1e6);
    } while (pd.next_impl());
}

int main() {
    const int channels[] = {16, 32, 64, 128}, sizes[] = {28, 14, 7, 4};
    for (int i = 0; i < 4; i++) {
        for (int r = 0; r < 3; r++) run(256, channels[i], sizes[i], r, algorithm::convolution_direct);
        run(256, channels[i], sizes[i], 0, algorithm::convolution_winograd);
    }
}
