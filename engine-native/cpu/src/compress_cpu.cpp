// JNI entry points of the CPU backend's fast path (org.compress.engine.backend.cpu.DnnlNative): convolutions and
// SGEMM through oneDNN, and OpenMP loops for batch norm and the ReLU family. Operands are the Java arrays of the
// CPU tensors, pinned with GetPrimitiveArrayCritical for the call (no copies); offsets are in elements.
// Convolution primitives are created once per shape and cached with their reorder buffers and scratchpads, so a
// steady training step allocates nothing here. Threads: one OpenMP pool, sized by setThreads.
#include <jni.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "dnnl.hpp"

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

dnnl::engine& cpu_engine() {
    static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    return eng;
}

void throw_java(JNIEnv* env, const std::string& what) {
    jclass cls = env->FindClass("org/compress/engine/backend/cpu/DnnlNative$DnnlException");
    if (cls) env->ThrowNew(cls, what.c_str());
}

// Pins Java float arrays for one call; released (without copy-back cost: critical arrays are the heap itself).
class Pinned {
  public:
    Pinned(JNIEnv* env) : env_(env) {}
    float* pin(jfloatArray a, jint off) {
        if (!a) return nullptr;
        auto* p = static_cast<float*>(env_->GetPrimitiveArrayCritical(a, nullptr));
        held_.push_back({a, p});
        return p + off;
    }
    ~Pinned() {
        for (auto it = held_.rbegin(); it != held_.rend(); ++it) env_->ReleasePrimitiveArrayCritical(it->first, it->second, 0);
    }

  private:
    JNIEnv* env_;
    std::vector<std::pair<jfloatArray, void*>> held_;
};

// COMPRESS_DNNL_LAYOUT=plain makes NCHW convolutions run in NCHW (oneDNN's im2col + GEMM): for measurements.
bool plain_layouts() {
    static bool plain = [] {
        const char* v = std::getenv("COMPRESS_DNNL_LAYOUT");
        return v && std::string(v) == "plain";
    }();
    return plain;
}

// Convolution geometry, the cache key: n c h w k r s oh ow sh sw ph pw dh dw groups, then the layouts: activations
// NHWC (1) or NCHW (0), weights KRSC (1) or KCRS (0), then the tuning mode in force when it was made (tuned and
// untuned primitives of one shape are kept apart).
struct Geometry {
    int v[19];
    int n() const { return v[0]; } int c() const { return v[1]; } int h() const { return v[2]; } int w() const { return v[3]; }
    int k() const { return v[4]; } int r() const { return v[5]; } int s() const { return v[6]; }
    int oh() const { return v[7]; } int ow() const { return v[8]; }
    int sh() const { return v[9]; } int sw() const { return v[10]; } int ph() const { return v[11]; } int pw() const { return v[12]; }
    int dh() const { return v[13]; } int dw() const { return v[14]; } int groups() const { return v[15]; }
    bool nhwc() const { return v[16] != 0; } bool krsc() const { return v[17] != 0; }
    int tune() const { return v[18]; }
    bool operator<(const Geometry& o) const { return std::memcmp(v, o.v, sizeof v) < 0; }

    memory::desc src(tag t) const { return memory::desc({n(), c(), h(), w()}, dt::f32, t); }
    memory::desc dst(tag t) const { return memory::desc({n(), k(), oh(), ow()}, dt::f32, t); }
    memory::desc wei(tag t) const {
        if (groups() == 1) return memory::desc({k(), c(), r(), s()}, dt::f32, t);
        return memory::desc({groups(), k() / groups(), c() / groups(), r(), s()}, dt::f32, t);
    }
    tag wei_plain() const {
        if (krsc()) return groups() == 1 ? tag::ohwi : tag::gohwi;
        return groups() == 1 ? tag::oihw : tag::goihw;
    }
    tag act_plain() const { return nhwc() ? tag::nhwc : tag::nchw; }
    // The layout the primitive computes in: NHWC activations stay NHWC (oneDNN's AVX-512 kernels take them as
    // they are: no reorder); NCHW ones are reordered to what oneDNN prefers (a blocked layout), as PyTorch does.
    tag act_inner() const { return nhwc() ? tag::nhwc : plain_layouts() ? tag::nchw : tag::any; }
    tag wei_inner() const { return plain_layouts() ? wei_plain() : tag::any; }
    memory::dims strides() const { return {sh(), sw()}; }
    memory::dims dil() const { return {dh() - 1, dw() - 1}; }
    memory::dims pad_l() const { return {ph(), pw()}; }
    // oneDNN wants the right/bottom padding that makes the output size exact (PyTorch drops the remainder).
    memory::dims pad_r() const {
        return {(oh() - 1) * sh() + (r() - 1) * dh() + 1 - h() - ph(), (ow() - 1) * sw() + (s() - 1) * dw() + 1 - w() - pw()};
    }
};

// A user (plain NCHW/OIHW) operand and, where the primitive prefers another layout, its reorder and buffer.
struct Operand {
    memory user;
    memory inner;
    dnnl::reorder to_inner;   // user -> inner (inputs)
    dnnl::reorder to_user;    // inner -> user (outputs)
    bool reordered = false;

    void init(const memory::desc& plain, const memory::desc& wanted, bool input) {
        auto& eng = cpu_engine();
        user = memory(plain, eng, DNNL_MEMORY_NONE);
        reordered = wanted != plain;
        if (reordered) {
            inner = memory(wanted, eng);
            if (input) to_inner = dnnl::reorder(user, inner);
            else to_user = dnnl::reorder(inner, user);
        } else {
            inner = user;
        }
    }
    void bind(float* p) { user.set_data_handle(p); }
    void in(dnnl::stream& st) { if (reordered) to_inner.execute(st, user, inner); }
    void out(dnnl::stream& st) { if (reordered) to_user.execute(st, inner, user); }
};

dnnl::primitive_attr user_scratchpad() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

// The training-mode forward convolution in the layouts the primitive computes in (with or without a bias).
dnnl::convolution_forward::desc forward_desc(const Geometry& g, bool bias) {
    tag any = g.act_inner(), wany = g.wei_inner();
    return bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                  g.src(any), g.wei(wany), memory::desc({g.k()}, dt::f32, tag::x), g.dst(any),
                                                  g.strides(), g.dil(), g.pad_l(), g.pad_r())
                : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                  g.src(any), g.wei(wany), g.dst(any), g.strides(), g.dil(), g.pad_l(), g.pad_r());
}

// oneDNN's first choice for it: the backward primitives' hint.
dnnl::convolution_forward::primitive_desc forward_pd(const Geometry& g, bool bias) {
    return dnnl::convolution_forward::primitive_desc(forward_desc(g, bias), user_scratchpad(), cpu_engine());
}

dnnl::stream& cpu_stream();

// Tuning (DnnlNative.tuning, like torch.backends.cudnn.benchmark): when a convolution primitive is first made, every
// implementation oneDNN offers for it is timed and the fastest kept. Off by default: which one wins can change from
// one run to the next on a busy machine, and implementations round differently, so tuned runs are not
// bit-reproducible. Modes: 0 off, 1 on, 2 on with the fused residual always taken as a sum (a test hook: which form
// wins is otherwise up to the clock).
std::atomic<int> tune_mode{0};

// Copies n floats with the pool's threads.
void parallel_copy(float* dst, const float* src, size_t n) {
    if (dst == src) return;
    const long chunks = long((n + 65535) / 65536);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < chunks; i++) {
        size_t b = size_t(i) * 65536, e = std::min(n, b + 65536);
        std::memcpy(dst + b, src + b, (e - b) * sizeof(float));
    }
}

using Args = std::unordered_map<int, memory>;

// The best of 3 timed runs (after one untimed) of the implementation pd points at, on throwaway operands of the
// layouts it asks for (its typed descriptor queries: a convolution's source, weights, bias, destination, their
// gradients and the scratchpad; the residual of a binary-add post-op when `binary_residual`); `before` runs ahead of
// each run and is timed with it. An implementation whose first run takes more than 3x `beaten` (the best so far) is
// not run again.
double time_impl(const dnnl::primitive_desc_base& pd, const std::function<void(Args&)>& before, double beaten,
                 bool binary_residual = false) {
    const std::pair<int, memory::desc> wanted[] = {
        {DNNL_ARG_SRC, pd.src_desc(0)},           {DNNL_ARG_WEIGHTS, pd.weights_desc(0)},
        {DNNL_ARG_BIAS, pd.weights_desc(1)},      {DNNL_ARG_DST, pd.dst_desc(0)},
        {DNNL_ARG_DIFF_SRC, pd.diff_src_desc(0)}, {DNNL_ARG_DIFF_WEIGHTS, pd.diff_weights_desc(0)},
        {DNNL_ARG_DIFF_BIAS, pd.diff_weights_desc(1)}, {DNNL_ARG_DIFF_DST, pd.diff_dst_desc(0)},
        {DNNL_ARG_SCRATCHPAD, pd.scratchpad_desc()},
        {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, binary_residual ? pd.dst_desc(0) : memory::desc()}};
    Args args;
    for (const auto& [kind, md] : wanted) {
        if (md.get_size() == 0) continue;
        memory m(md, cpu_engine());
        float* p = static_cast<float*>(m.get_data_handle());
        for (size_t i = 0; i < md.get_size() / sizeof(float); i++) p[i] = 0.01f * float(i % 97);
        args[kind] = m;
    }
    dnnl::primitive prim(pd.get());
    auto& st = cpu_stream();
    double best = 1e30;
    for (int i = 0; i < 4; i++) {
        auto t0 = std::chrono::steady_clock::now();
        if (before) before(args);
        prim.execute(st, args);
        st.wait();
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (i == 0 && ms > 3 * beaten) return ms;
        if (i > 0) best = std::min(best, ms);
    }
    return best;
}

// The place, in oneDNN's list of implementations for what make() describes, of the fastest, and its time. make()
// returns a fresh primitive_desc each call; the list is walked on one of them (oneDNN 2.6 keeps pointers to the op
// descriptor and attributes while walking: make() must build from ones that outlive it).
// Only implementations for the instruction set of oneDNN's first choice compete (its name's ":avx512_core" part, say):
// the lower ones it lists after it (avx2, sse41, gemm, reference loops) never won in the measurements of
// bench/native/conv_impls.cpp, and each costs a JIT compile and a run.
template <typename PD, typename Make>
std::pair<int, double> fastest(Make make, const std::function<void(Args&)>& before = {}, bool binary_residual = false) {
    PD pd = make();
    int best_place = 0, place = 0;
    double best = 1e30;
    const std::string first = pd.impl_info_str();
    const std::string isa = first.find(':') == std::string::npos ? first : first.substr(first.find(':'));
    do {
        const std::string name = pd.impl_info_str();
        if (name.size() < isa.size() || name.compare(name.size() - isa.size(), isa.size(), isa) != 0) continue;
        double ms = time_impl(pd, before, best, binary_residual);
        if (ms < best) best = ms, best_place = place;
    } while (++place, pd.next_impl());
    return {best_place, best};
}

// make()'s primitive_desc moved to the fastest implementation when tuning is on, else oneDNN's first choice.
template <typename PD, typename Make>
PD tuned(const Geometry& g, Make make) {
    int place = g.tune() != 0 ? fastest<PD>(make).first : 0;
    PD pd = make();
    for (int i = 0; i < place; i++) pd.next_impl();
    return pd;
}

struct ConvForward {
    std::mutex busy;   // a cached primitive's memories are re-pointed per call: one call at a time
    dnnl::convolution_forward prim;
    Operand src, wei, dst;
    memory bias, scratch;
    std::unordered_map<int, memory> args;   // made once: the memories are handles, re-pointed at every call
    bool has_bias;
    ConvForward(const Geometry& g, bool with_bias) : has_bias(with_bias) {
        auto d = forward_desc(g, with_bias);   // outlives the tuning's walk over implementations
        auto attr = user_scratchpad();
        using PD = dnnl::convolution_forward::primitive_desc;
        auto pd = tuned<PD>(g, [&] { return PD(d, attr, cpu_engine()); });
        prim = dnnl::convolution_forward(pd);
        src.init(g.src(g.act_plain()), pd.src_desc(), true);
        wei.init(g.wei(g.wei_plain()), pd.weights_desc(), true);
        dst.init(g.dst(g.act_plain()), pd.dst_desc(), false);
        scratch = memory(pd.scratchpad_desc(), cpu_engine());
        args = {{DNNL_ARG_SRC, src.inner}, {DNNL_ARG_WEIGHTS, wei.inner}, {DNNL_ARG_DST, dst.inner}, {DNNL_ARG_SCRATCHPAD, scratch}};
        if (with_bias) {
            bias = memory(memory::desc({g.k()}, dt::f32, tag::x), cpu_engine(), DNNL_MEMORY_NONE);
            args[DNNL_ARG_BIAS] = bias;
        }
    }
};

struct ConvBackwardData {
    std::mutex busy;   // a cached primitive's memories are re-pointed per call: one call at a time
    dnnl::convolution_backward_data prim;
    Operand diff_dst, wei, diff_src;
    memory scratch;
    std::unordered_map<int, memory> args;
    explicit ConvBackwardData(const Geometry& g) {
        auto hint = forward_pd(g, false);
        tag any = g.act_inner(), wany = g.wei_inner();
        dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, g.src(any), g.wei(wany), g.dst(any),
                                                g.strides(), g.dil(), g.pad_l(), g.pad_r());
        auto attr = user_scratchpad();
        using PD = dnnl::convolution_backward_data::primitive_desc;
        auto pd = tuned<PD>(g, [&] { return PD(d, attr, cpu_engine(), hint); });
        prim = dnnl::convolution_backward_data(pd);
        diff_dst.init(g.dst(g.act_plain()), pd.diff_dst_desc(), true);
        wei.init(g.wei(g.wei_plain()), pd.weights_desc(), true);
        diff_src.init(g.src(g.act_plain()), pd.diff_src_desc(), false);
        scratch = memory(pd.scratchpad_desc(), cpu_engine());
        args = {{DNNL_ARG_DIFF_DST, diff_dst.inner}, {DNNL_ARG_WEIGHTS, wei.inner}, {DNNL_ARG_DIFF_SRC, diff_src.inner},
                {DNNL_ARG_SCRATCHPAD, scratch}};
    }
};

struct ConvBackwardWeights {
    std::mutex busy;   // a cached primitive's memories are re-pointed per call: one call at a time
    dnnl::convolution_backward_weights prim;
    Operand src, diff_dst, diff_wei;
    memory scratch;
    std::unordered_map<int, memory> args;
    explicit ConvBackwardWeights(const Geometry& g) {
        auto hint = forward_pd(g, false);
        tag any = g.act_inner(), wany = g.wei_inner();
        dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, g.src(any), g.wei(wany), g.dst(any),
                                                   g.strides(), g.dil(), g.pad_l(), g.pad_r());
        auto attr = user_scratchpad();
        using PD = dnnl::convolution_backward_weights::primitive_desc;
        auto pd = tuned<PD>(g, [&] { return PD(d, attr, cpu_engine(), hint); });
        prim = dnnl::convolution_backward_weights(pd);
        src.init(g.src(g.act_plain()), pd.src_desc(), true);
        diff_dst.init(g.dst(g.act_plain()), pd.diff_dst_desc(), true);
        diff_wei.init(g.wei(g.wei_plain()), pd.diff_weights_desc(), false);
        scratch = memory(pd.scratchpad_desc(), cpu_engine());
        args = {{DNNL_ARG_SRC, src.inner}, {DNNL_ARG_DIFF_DST, diff_dst.inner}, {DNNL_ARG_DIFF_WEIGHTS, diff_wei.inner},
                {DNNL_ARG_SCRATCHPAD, scratch}};
    }
};

// Inference fusion (eval mode): one forward primitive computes act(bn(conv(x, w)) [+ residual]), bn with the running
// statistics folded into the convolution, as inference engines do: w' = w * scale[k], bias' = shift - mean * scale
// (other roundings than the separate ops, a few ulps of the terms), then the residual and the activation as post-ops.
// Measured against the separate convolution, batch norm and activation passes (width 16, 1x28 and 3x32 inference,
// 2 threads): 11-14 % faster; batch norm as three per-channel binary post-ops (the separate ops' bits) was no faster
// than the separate passes (bench/results/2026-12-02-cpu-backend.md).
// The residual is a binary-add post-op read in place; with tuning on, a sum post-op (the residual copied into the
// destination first) competes too: oneDNN 2.6's brgemm convolutions take a sum but not a full-tensor binary add.
// NHWC only (the residual is read in the destination's layout, which NHWC keeps plain).
struct ConvFused {
    std::mutex busy;   // a cached primitive's memories are re-pointed per call: one call at a time
    dnnl::convolution_forward prim;
    Operand src, wei;
    memory dst, residual, bias, scratch;
    std::unordered_map<int, memory> args;
    std::vector<float> folded_w, folded_b;   // the scaled weights (plain layout) and the folded bias
    bool sum_residual = false;               // the residual is copied into dst and added by a sum post-op

    // oneDNN 2.6's primitive_desc keeps pointers to its op descriptor and attributes while it walks the list of
    // implementations (next_impl): the three live together here.
    struct Desc {
        dnnl::primitive_attr attr;
        dnnl::convolution_forward::desc op;
        dnnl::convolution_forward::primitive_desc pd;
        static dnnl::primitive_attr attributes(const Geometry& g, bool with_residual, bool as_sum, int act) {
            dnnl::post_ops po;
            if (with_residual && as_sum) po.append_sum(1.f);
            if (with_residual && !as_sum) po.append_binary(dnnl::algorithm::binary_add, g.dst(tag::nhwc));
            if (act == 1) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
            if (act == 2) po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f);
            dnnl::primitive_attr attr = user_scratchpad();
            attr.set_post_ops(po);
            return attr;
        }
        Desc(const Geometry& g, bool with_residual, bool as_sum, int act)
            : attr(attributes(g, with_residual, as_sum, act)),
              op(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, g.src(tag::nhwc), g.wei(g.wei_inner()),
                 memory::desc({g.k()}, dt::f32, tag::x), g.dst(tag::nhwc), g.strides(), g.dil(), g.pad_l(), g.pad_r()),
              pd(op, attr, cpu_engine()) {}
    };

    ConvFused(const Geometry& g, bool with_residual, int act) {
        auto& eng = cpu_engine();
        using PD = dnnl::convolution_forward::primitive_desc;
        int place = 0;
        if (g.tune() != 0) {
            // the residual as a binary add read in place, or copied into dst ahead of a sum post-op
            Desc binary(g, with_residual, false, act);
            auto best = fastest<PD>([&] { return binary.pd; }, {}, with_residual);
            if (with_residual) {
                Desc sum(g, true, true, act);
                std::vector<float> res(g.dst(tag::nhwc).get_size() / sizeof(float), 0.5f);
                auto copy = [&res](Args& a) { parallel_copy(static_cast<float*>(a.at(DNNL_ARG_DST).get_data_handle()), res.data(), res.size()); };
                auto by_sum = fastest<PD>([&] { return sum.pd; }, copy);
                if (by_sum.second < best.second || g.tune() == 2) best = by_sum, sum_residual = true;
            }
            place = best.first;
        }
        Desc chosen(g, with_residual, sum_residual, act);
        for (int i = 0; i < place; i++) chosen.pd.next_impl();
        const auto& pd = chosen.pd;
        prim = dnnl::convolution_forward(pd);
        src.init(g.src(tag::nhwc), pd.src_desc(), true);
        wei.init(g.wei(g.wei_plain()), pd.weights_desc(), true);
        dst = memory(g.dst(tag::nhwc), eng, DNNL_MEMORY_NONE);
        scratch = memory(pd.scratchpad_desc(), eng);
        folded_w.resize(size_t(g.k()) * (g.c() / g.groups()) * g.r() * g.s());
        folded_b.resize(g.k());
        memory::desc bias_desc({g.k()}, dt::f32, tag::x);
        bias = memory(bias_desc, eng, folded_b.data());
        wei.bind(folded_w.data());
        args = {{DNNL_ARG_SRC, src.inner}, {DNNL_ARG_WEIGHTS, wei.inner}, {DNNL_ARG_DST, dst}, {DNNL_ARG_BIAS, bias},
                {DNNL_ARG_SCRATCHPAD, scratch}};
        if (with_residual) {
            residual = memory(g.dst(tag::nhwc), eng, DNNL_MEMORY_NONE);
            if (!sum_residual) args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = residual;
        }
    }
};

std::mutex cache_mutex;
std::map<std::pair<Geometry, bool>, std::unique_ptr<ConvForward>> forward_cache;
std::map<std::tuple<Geometry, bool, int>, std::unique_ptr<ConvFused>> fused_cache;
std::map<Geometry, std::unique_ptr<ConvBackwardData>> data_cache;
std::map<Geometry, std::unique_ptr<ConvBackwardWeights>> weights_cache;

template <typename T, typename K, typename F>
T& cached(std::map<K, std::unique_ptr<T>>& cache, const K& key, F make) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(key);
    if (it == cache.end()) it = cache.emplace(key, make()).first;
    return *it->second;
}

Geometry geometry(JNIEnv* env, jintArray geom) {
    Geometry g;
    env->GetIntArrayRegion(geom, 0, 18, g.v);
    g.v[18] = tune_mode;
    return g;
}

// One stream per calling thread: backends used from several threads never share one.
dnnl::stream& cpu_stream() {
    static thread_local dnnl::stream st(cpu_engine());
    return st;
}

template <typename F>
void guarded(JNIEnv* env, const char* what, F body) {
    try {
        body();
    } catch (const dnnl::error& e) {
        throw_java(env, std::string(what) + ": oneDNN status " + std::to_string(static_cast<int>(e.status)) + ": " + e.what());
    } catch (const std::exception& e) {
        throw_java(env, std::string(what) + ": " + e.what());
    }
}

}  // namespace

extern "C" {

JNIEXPORT jint JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_setThreads(JNIEnv*, jclass, jint threads) {
    if (threads > 0) omp_set_num_threads(threads);
    return omp_get_max_threads();
}

JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_setTuning(JNIEnv*, jclass, jint mode) { tune_mode = mode; }

JNIEXPORT jstring JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_version(JNIEnv* env, jclass) {
    const dnnl_version_t* v = dnnl_version();
    std::string s = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
                    (v->cpu_runtime == DNNL_RUNTIME_OMP ? " (OpenMP)" : " (CPU runtime " + std::to_string(v->cpu_runtime) + ")");
    return env->NewStringUTF(s.c_str());
}

JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_convForward(JNIEnv* env, jclass, jintArray geom, jfloatArray x,
                                                                                 jint xo, jfloatArray w, jint wo, jfloatArray b, jint bo,
                                                                                 jfloatArray y, jint yo) {
    Geometry g = geometry(env, geom);
    guarded(env, "convolution forward", [&] {
        ConvForward& c = cached(forward_cache, std::make_pair(g, b != nullptr), [&] { return std::make_unique<ConvForward>(g, b != nullptr); });
        std::lock_guard<std::mutex> lock(c.busy);
        Pinned pin(env);
        c.src.bind(pin.pin(x, xo));
        c.wei.bind(pin.pin(w, wo));
        if (b) c.bias.set_data_handle(pin.pin(b, bo));
        c.dst.bind(pin.pin(y, yo));
        auto& st = cpu_stream();
        c.src.in(st);
        c.wei.in(st);
        c.prim.execute(st, c.args);
        c.dst.out(st);
        st.wait();
    });
}

JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_convForwardFused(
    JNIEnv* env, jclass, jintArray geom, jfloatArray x, jint xo, jfloatArray w, jint wo, jfloatArray mean, jint mo, jfloatArray scale,
    jint so, jfloatArray shift, jint to, jfloatArray residual, jint ro, jint act, jfloatArray y, jint yo) {
    Geometry g = geometry(env, geom);
    guarded(env, "fused convolution forward", [&] {
        if (!g.nhwc()) throw std::invalid_argument("the fused inference convolution takes NHWC activations only");
        auto key = std::make_tuple(g, residual != nullptr, int(act));
        ConvFused& c = cached(fused_cache, key, [&] { return std::make_unique<ConvFused>(g, residual != nullptr, act); });
        std::lock_guard<std::mutex> lock(c.busy);
        Pinned pin(env);
        c.src.bind(pin.pin(x, xo));
        // Plain weight layouts (OIHW / OHWI, grouped or not) keep each output channel's weights contiguous.
        const float* pw = pin.pin(w, wo);
        const float* pm = pin.pin(mean, mo);
        const float* ps = pin.pin(scale, so);
        const float* pt = pin.pin(shift, to);
        const size_t per = c.folded_w.size() / c.folded_b.size();
        for (size_t k = 0; k < c.folded_b.size(); k++) {
            for (size_t j = 0; j < per; j++) c.folded_w[k * per + j] = pw[k * per + j] * ps[k];
            c.folded_b[k] = pt[k] - pm[k] * ps[k];
        }
        float* py = pin.pin(y, yo);
        c.dst.set_data_handle(py);
        if (residual && c.sum_residual) parallel_copy(py, pin.pin(residual, ro), c.dst.get_desc().get_size() / sizeof(float));
        else if (residual) c.residual.set_data_handle(pin.pin(residual, ro));
        auto& st = cpu_stream();
        c.src.in(st);
        c.wei.in(st);
        c.prim.execute(st, c.args);
        st.wait();
    });
}

JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_convBackwardData(JNIEnv* env, jclass, jintArray geom,
                                                                                      jfloatArray dy, jint dyo, jfloatArray w, jint wo,
                                                                                      jfloatArray dx, jint dxo) {
    Geometry g = geometry(env, geom);
    guarded(env, "convolution backward-data", [&] {
        ConvBackwardData& c = cached(data_cache, g, [&] { return std::make_unique<ConvBackwardData>(g); });
        std::lock_guard<std::mutex> lock(c.busy);
        Pinned pin(env);
        c.diff_dst.bind(pin.pin(dy, dyo));
        c.wei.bind(pin.pin(w, wo));
        c.diff_src.bind(pin.pin(dx, dxo));
        auto& st = cpu_stream();
        c.diff_dst.in(st);
        c.wei.in(st);
        c.prim.execute(st, c.args);
        c.diff_src.out(st);
        st.wait();
    });
}

JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_convBackwardFilter(JNIEnv* env, jclass, jintArray geom,
                                                                                        jfloatArray x, jint xo, jfloatArray dy, jint dyo,
                                                                                        jfloatArray dw, jint dwo) {
    Geometry g = geometry(env, geom);
    guarded(env, "convolution backward-filter", [&] {
        ConvBackwardWeights& c = cached(weights_cache, g, [&] { return std::make_unique<ConvBackwardWeights>(g); });
        std::lock_guard<std::mutex> lock(c.busy);
        Pinned pin(env);
        c.src.bind(pin.pin(x, xo));
        c.diff_dst.bind(pin.pin(dy, dyo));
        c.diff_wei.bind(pin.pin(dw, dwo));
        auto& st = cpu_stream();
        c.src.in(st);
        c.diff_dst.in(st);
        c.prim.execute(st, c.args);
        c.diff_wei.out(st);
        st.wait();
    });
}

// Row-major C = alpha * op(A) op(B) + beta * C (oneDNN's sgemm, which threads over the same OpenMP pool).
JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_sgemm(JNIEnv* env, jclass, jboolean ta, jboolean tb, jint m,
                                                                           jint n, jint k, jfloat alpha, jfloatArray a, jint ao, jint lda,
                                                                           jfloatArray b, jint bo, jint ldb, jfloat beta, jfloatArray c,
                                                                           jint co, jint ldc) {
    dnnl_status_t s;
    {
        Pinned pin(env);
        float* pa = pin.pin(a, ao);
        float* pb = pin.pin(b, bo);
        float* pc = pin.pin(c, co);
        s = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }
    if (s != dnnl_success) throw_java(env, "dnnl_sgemm: status " + std::to_string(static_cast<int>(s)));
}

}  // extern "C"

namespace {

// Per-thread scratch, grown once and reused: a steady step allocates nothing here.
float* float_scratch(size_t n) {
    static thread_local std::vector<float> v;
    if (v.size() < n) v.resize(n);
    return v.data();
}

// Per-channel sums over an NHWC tensor (rows of C values): s1[c] = sum x[., c] - shift1[c] (or of dy when dy is
// given), s2[c] = sum (x - mu)^2, or sum dy * (x - mu) when dy is given. Each thread sums blocks of rows in float
// and adds the blocks into its own double row; the threads' rows are added in a fixed order (deterministic).
void nhwc_channel_sums(const float* x, const float* dy, const float* mu, long rows, int c, double* s1, double* s2) {
    static thread_local std::vector<double> acc;   // grown once, reused: a steady step allocates nothing here
    const int threads = omp_get_max_threads();
    if (acc.size() < size_t(threads) * 2 * c) acc.resize(size_t(threads) * 2 * c);
    double* all = acc.data();
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        double* d1 = all + size_t(t) * 2 * c;
        double* d2 = d1 + c;
        for (int ch = 0; ch < c; ch++) d1[ch] = d2[ch] = 0;
        const long r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
        float* f1 = float_scratch(2 * size_t(c));
        for (long b0 = r0; b0 < r1; b0 += 64) {
            const long b1 = std::min(r1, b0 + 64);
            std::fill(f1, f1 + 2 * c, 0.f);
            float* f2 = f1 + c;
            for (long r = b0; r < b1; r++) {
                const float* xr = x + r * c;
                if (dy) {
                    const float* gr = dy + r * c;
#pragma omp simd
                    for (int ch = 0; ch < c; ch++) {
                        f1[ch] += gr[ch];
                        f2[ch] += gr[ch] * (xr[ch] - mu[ch]);
                    }
                } else if (mu) {
#pragma omp simd
                    for (int ch = 0; ch < c; ch++) f2[ch] += (xr[ch] - mu[ch]) * (xr[ch] - mu[ch]);
                } else {
#pragma omp simd
                    for (int ch = 0; ch < c; ch++) f1[ch] += xr[ch];
                }
            }
            for (int ch = 0; ch < c; ch++) {
                d1[ch] += f1[ch];
                d2[ch] += f2[ch];
            }
        }
    }
    for (int ch = 0; ch < c; ch++) {
        s1[ch] = s2[ch] = 0;
        for (int t = 0; t < threads; t++) {
            s1[ch] += all[size_t(t) * 2 * c + ch];
            s2[ch] += all[size_t(t) * 2 * c + c + ch];
        }
    }
}

// y = (x - m[ch]) * a[ch] + b[ch] over NCHW (planes of hw) or NHWC (rows of c). Subtracting the mean first keeps
// the float error relative to y, not to x (a channel with a large mean would otherwise lose digits).
void channel_affine(bool nhwc, long n, int c, int hw, const float* x, const float* m, const float* a, const float* b, float* y) {
    if (nhwc) {
#pragma omp parallel for schedule(static)
        for (long r = 0; r < n * hw; r++) {
            const float* xr = x + r * c;
            float* yr = y + r * c;
#pragma omp simd
            for (int ch = 0; ch < c; ch++) yr[ch] = (xr[ch] - m[ch]) * a[ch] + b[ch];
        }
    } else {
#pragma omp parallel for schedule(static)
        for (long plane = 0; plane < n * c; plane++) {
            const float sm = m[plane % c], sa = a[plane % c], sb = b[plane % c];
            const float* row = x + plane * hw;
            float* out = y + plane * hw;
#pragma omp simd
            for (int i = 0; i < hw; i++) out[i] = (row[i] - sm) * sa + sb;
        }
    }
}

std::vector<double>& per_channel(size_t n) {
    static thread_local std::vector<double> v;
    if (v.size() < n) v.resize(n);
    return v;
}

}  // namespace

extern "C" {

// Batch norm, training: per channel over (N, H, W): mean and biased variance (two passes; float sums per row or
// row block, double across them), then y = (x - mean) * gamma / sqrt(var + eps) + beta. Writes mean and var (C floats each) for the Java
// side's saved and running statistics. nhwc: the activations are NHWC, else NCHW.
JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_batchNormTraining(
    JNIEnv* env, jclass, jboolean nhwc, jint n, jint c, jint hw, jfloat eps, jfloatArray x, jint xo, jfloatArray gamma, jint go,
    jfloatArray beta, jint bo, jfloatArray y, jint yo, jfloatArray mean, jint mo, jfloatArray var, jint vo) {
    Pinned pin(env);
    const float* px = pin.pin(x, xo);
    const float* pg = pin.pin(gamma, go);
    const float* pb = pin.pin(beta, bo);
    float* py = pin.pin(y, yo);
    float* pm = pin.pin(mean, mo);
    float* pv = pin.pin(var, vo);
    const double count = double(n) * hw;
    if (nhwc) {
        std::vector<double>& d = per_channel(2 * size_t(c));
        double* s1 = d.data();
        double* s2 = s1 + c;
        nhwc_channel_sums(px, nullptr, nullptr, long(n) * hw, c, s1, s2);
        for (int ch = 0; ch < c; ch++) pm[ch] = float(s1[ch] / count);
        nhwc_channel_sums(px, nullptr, pm, long(n) * hw, c, s1, s2);
        float* a = float_scratch(size_t(c));
        for (int ch = 0; ch < c; ch++) {
            const double v = s2[ch] / count;
            pv[ch] = float(v);
            a[ch] = float(pg[ch] / std::sqrt(v + eps));
        }
        channel_affine(true, n, c, hw, px, pm, a, pb, py);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < c; ch++) {
        double sum = 0;
        for (int b = 0; b < n; b++) {
            const float* row = px + (size_t(b) * c + ch) * hw;
            float s = 0;
#pragma omp simd reduction(+ : s)
            for (int i = 0; i < hw; i++) s += row[i];
            sum += s;
        }
        const float muf = float(sum / count);
        double sq = 0;
        for (int b = 0; b < n; b++) {
            const float* row = px + (size_t(b) * c + ch) * hw;
            float s = 0;
#pragma omp simd reduction(+ : s)
            for (int i = 0; i < hw; i++) s += (row[i] - muf) * (row[i] - muf);
            sq += s;
        }
        const double v = sq / count;
        const float scale = float(pg[ch] / std::sqrt(v + eps)), shift = pb[ch];
        for (int b = 0; b < n; b++) {
            const float* row = px + (size_t(b) * c + ch) * hw;
            float* out = py + (size_t(b) * c + ch) * hw;
#pragma omp simd
            for (int i = 0; i < hw; i++) out[i] = (row[i] - muf) * scale + shift;
        }
        pm[ch] = muf;
        pv[ch] = float(v);
    }
}

// y = (x - mean[ch]) * scale[ch] + shift[ch] (inference batch norm: running mean, gamma / sqrt(running var + eps), beta).
JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_channelAffine(JNIEnv* env, jclass, jboolean nhwc, jint n, jint c,
                                                                                   jint hw, jfloatArray x, jint xo, jfloatArray mean,
                                                                                   jint mo, jfloatArray scale, jint so, jfloatArray shift,
                                                                                   jint to, jfloatArray y, jint yo) {
    Pinned pin(env);
    const float* px = pin.pin(x, xo);
    const float* pm = pin.pin(mean, mo);
    const float* ps = pin.pin(scale, so);
    const float* pt = pin.pin(shift, to);
    float* py = pin.pin(y, yo);
    channel_affine(nhwc, n, c, hw, px, pm, ps, pt, py);
}

// Batch norm backward from the saved mean and inverse std:
// dx = gamma * invStd / M * (M * dy - sum(dy) - xhat * sum(dy * xhat)), dGamma = sum(dy * xhat), dBeta = sum(dy).
JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_batchNormBackward(
    JNIEnv* env, jclass, jboolean nhwc, jint n, jint c, jint hw, jfloatArray x, jint xo, jfloatArray dy, jint dyo, jfloatArray gamma,
    jint go, jfloatArray mean, jint mo, jfloatArray inv_std, jint io, jfloatArray dx, jint dxo, jfloatArray dgamma, jint dgo,
    jfloatArray dbeta, jint dbo) {
    Pinned pin(env);
    const float* px = pin.pin(x, xo);
    const float* pdy = pin.pin(dy, dyo);
    const float* pg = pin.pin(gamma, go);
    const float* pm = pin.pin(mean, mo);
    const float* pi = pin.pin(inv_std, io);
    float* pdx = pin.pin(dx, dxo);
    float* pdg = pin.pin(dgamma, dgo);
    float* pdb = pin.pin(dbeta, dbo);
    const double count = double(n) * hw;
    if (nhwc) {
        std::vector<double>& d = per_channel(2 * size_t(c));
        double* s1 = d.data();
        double* s2 = s1 + c;
        nhwc_channel_sums(px, pdy, pm, long(n) * hw, c, s1, s2);
        float* k = float_scratch(3 * size_t(c));
        float* mdy = k + c;
        float* mx = mdy + c;
        for (int ch = 0; ch < c; ch++) {
            const double sum_dy_xhat = s2[ch] * pi[ch];
            k[ch] = float(pg[ch] * pi[ch] / count);
            mdy[ch] = float(s1[ch]);
            mx[ch] = float(sum_dy_xhat * pi[ch]);
            pdg[ch] = float(sum_dy_xhat);
            pdb[ch] = float(s1[ch]);
        }
        const float a = float(count);
        const long rows = long(n) * hw;
#pragma omp parallel for schedule(static)
        for (long r = 0; r < rows; r++) {
            const float* xr = px + r * c;
            const float* gr = pdy + r * c;
            float* out = pdx + r * c;
#pragma omp simd
            for (int ch = 0; ch < c; ch++) out[ch] = k[ch] * (a * gr[ch] - mdy[ch] - (xr[ch] - pm[ch]) * mx[ch]);
        }
        return;
    }
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < c; ch++) {
        const float mu = pm[ch], is = pi[ch];
        double sum_dy = 0, sum_dy_x = 0;
        for (int b = 0; b < n; b++) {
            const size_t base = (size_t(b) * c + ch) * hw;
            float s = 0, sx = 0;
#pragma omp simd reduction(+ : s, sx)
            for (int i = 0; i < hw; i++) {
                s += pdy[base + i];
                sx += pdy[base + i] * (px[base + i] - mu);
            }
            sum_dy += s;
            sum_dy_x += sx;
        }
        const double sum_dy_xhat = sum_dy_x * is;
        const float k = float(pg[ch] * is / count);
        const float a = float(count), m_dy = float(sum_dy), m_x = float(sum_dy_xhat * is);
        for (int b = 0; b < n; b++) {
            const size_t base = (size_t(b) * c + ch) * hw;
#pragma omp simd
            for (int i = 0; i < hw; i++) pdx[base + i] = k * (a * pdy[base + i] - m_dy - (px[base + i] - mu) * m_x);
        }
        pdg[ch] = float(sum_dy_xhat);
        pdb[ch] = float(sum_dy);
    }
}

// act: 0 identity, 1 ReLU, 2 ReLU6. y = act(a + b) when b is given, else act(a); y may alias a or b.
JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_activation(JNIEnv* env, jclass, jint act, jlong len,
                                                                                jfloatArray a, jint ao, jfloatArray b, jint bo,
                                                                                jfloatArray y, jint yo) {
    Pinned pin(env);
    const float* pa = pin.pin(a, ao);
    const float* pb = pin.pin(b, bo);
    float* py = pin.pin(y, yo);
    const float hi = act == 2 ? 6.f : INFINITY;
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < len; i++) {
        float v = pb ? pa[i] + pb[i] : pa[i];
        if (act != 0) v = v > 0.f ? (v < hi ? v : hi) : 0.f;
        py[i] = v;
    }
}

// y += alpha * x over the OpenMP pool: the residual gradient's add. alpha * x is rounded before the add, as the
// plain-Java CpuElementwise.axpy does (no fused multiply-add: -ffp-contract=off), so the result is bitwise the same.
JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_axpy(JNIEnv* env, jclass, jlong len, jfloat alpha,
                                                                          jfloatArray x, jint xo, jfloatArray y, jint yo) {
    Pinned pin(env);
    const float* px = pin.pin(x, xo);
    float* py = pin.pin(y, yo);
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < len; i++) py[i] += alpha * px[i];
}

// dx = dy where the activation passes at its output y (ReLU: y > 0; ReLU6: 0 < y < 6), else 0; dx may alias dy.
JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_activationBackward(JNIEnv* env, jclass, jint act, jlong len,
                                                                                        jfloatArray y, jint yo, jfloatArray dy,
                                                                                        jint dyo, jfloatArray dx, jint dxo) {
    Pinned pin(env);
    const float* py = pin.pin(y, yo);
    const float* pdy = pin.pin(dy, dyo);
    float* pdx = pin.pin(dx, dxo);
    // dy is loaded unconditionally and then selected: a load under the condition is a branch per element, which
    // mispredicts on ReLU's half-positive outputs (measured: 8.3 ms against 0.3 ms for the forward pass on
    // 256 x 16 x 28 x 28 floats, 2 threads).
    if (act == 0) {
#pragma omp parallel for simd schedule(static)
        for (long i = 0; i < len; i++) pdx[i] = pdy[i];
    } else if (act == 1) {
#pragma omp parallel for simd schedule(static)
        for (long i = 0; i < len; i++) {
            const float g = pdy[i];
            pdx[i] = py[i] > 0.f ? g : 0.f;
        }
    } else {
#pragma omp parallel for simd schedule(static)
        for (long i = 0; i < len; i++) {
            const float g = pdy[i], v = py[i];
            pdx[i] = (v > 0.f) & (v < 6.f) ? g : 0.f;
        }
    }
}

// The per-row part of the CompRess loss (the GEMMs around it are sgemm calls from the Java side). On entry zt and
// zs (B x K) hold the logits T Qt^T / tau and S Qs^T / tau; per row i: pt, ps = softmax, loss[i] = KL(pt || ps) in
// double, and zs is overwritten with ps - pt (the gradient's weights before the 1 / (tau B) factor).
JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_compressLossRows(JNIEnv* env, jclass, jint b, jint k,
                                                                                      jfloatArray zt, jfloatArray zs,
                                                                                      jfloatArray loss, jint lo) {
    Pinned pin(env);
    const float* pt_all = pin.pin(zt, 0);
    float* ps_all = pin.pin(zs, 0);
    float* pl = pin.pin(loss, lo);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < b; i++) {
        const float* t = pt_all + size_t(i) * k;
        float* s = ps_all + size_t(i) * k;
        float mt = -INFINITY, ms = -INFINITY;
        for (int j = 0; j < k; j++) {
            mt = std::max(mt, t[j]);
            ms = std::max(ms, s[j]);
        }
        double st = 0, ss = 0;
        for (int j = 0; j < k; j++) {
            st += std::exp(t[j] - mt);
            ss += std::exp(s[j] - ms);
        }
        const double lt = mt + std::log(st), ls = ms + std::log(ss);
        double kl = 0;
        for (int j = 0; j < k; j++) {
            const double log_pt = t[j] - lt, log_ps = s[j] - ls;
            const double p_t = std::exp(log_pt), p_s = std::exp(log_ps);
            kl += p_t * (log_pt - log_ps);
            s[j] = float(p_s - p_t);
        }
        pl[i] = float(kl);
    }
}

// The per-row part of InfoNCE: on entry z (B x K) holds q Q^T / tau and pos (B) the positive logits q . k+ / tau;
// per row: loss[i] = logsumexp([pos_i, z_i]) - pos_i, z is overwritten with softmax_j (j >= 1) and pos with
// softmax_0 - 1 (the gradient's weights before the 1 / (tau B) factor).
JNIEXPORT void JNICALL Java_org_compress_engine_backend_cpu_DnnlNative_infoNceRows(JNIEnv* env, jclass, jint b, jint k, jfloatArray z,
                                                                                 jfloatArray pos, jfloatArray loss, jint lo) {
    Pinned pin(env);
    float* pz = pin.pin(z, 0);
    float* pp = pin.pin(pos, 0);
    float* pl = pin.pin(loss, lo);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < b; i++) {
        float* row = pz + size_t(i) * k;
        float m = pp[i];
        for (int j = 0; j < k; j++) m = std::max(m, row[j]);
        double sum = std::exp(double(pp[i]) - m);
        for (int j = 0; j < k; j++) sum += std::exp(row[j] - m);
        const double lse = m + std::log(sum);
        pl[i] = float(lse - pp[i]);
        for (int j = 0; j < k; j++) row[j] = float(std::exp(row[j] - lse));
        pp[i] = float(std::exp(pp[i] - lse) - 1.0);
    }
}

}  // extern "C"
