// The runtime of the CPU execution of CUDA kernels (kernels/emu/cuda_emu.h): fibers and their scheduler, block
// barriers and warp collectives, cp.async groups, shared memory, guarded global allocations and the CUDA runtime
// calls the launchers make (a device whose SM count and shared-memory limits the test chooses; streams as
// in-order queues that run when synchronised). x86-64 Linux only (the fiber switch is 20 lines of assembly).
#include "cuda_emu.h"
#include "emu_control.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <signal.h>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

extern "C" void emu_switch(void** save_sp, void* new_sp);
extern "C" void emu_fiber_entry();
// Saves the callee-saved registers, MXCSR and the x87 control word on the current stack, stores the stack
// pointer in *save_sp, and resumes the context whose stack pointer is new_sp.
asm(R"(
    .text
    .globl emu_switch
    .hidden emu_switch
    .type emu_switch,@function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $16, %rsp
    stmxcsr 8(%rsp)
    fnstcw (%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr 8(%rsp)
    fldcw (%rsp)
    addq $16, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_switch, .-emu_switch
    .globl emu_fiber_entry
    .hidden emu_fiber_entry
    .type emu_fiber_entry,@function
emu_fiber_entry:
    movq %r12, %rdi
    callq *%r13
    ud2
    .size emu_fiber_entry, .-emu_fiber_entry
)");

extern "C" unsigned char __start_emu_shared[] __attribute__((weak));
extern "C" unsigned char __stop_emu_shared[] __attribute__((weak));

namespace emu {

Context ctx;

namespace {

constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kPage = 4096;
constexpr unsigned char kPoison = 0xFF;   // NaN as F32 and BF16

enum class State : uint8_t { Ready, Barrier, Warp, Exited };
enum Op : int { kShfl = 1, kVote, kLdmatrix, kMmaBf16, kMmaTf32 };

struct Copy {
    unsigned char* dst;
    const unsigned char* src;
    int bytes;
};

}  // namespace

struct Fiber {
    void* sp = nullptr;
    unsigned char* stack = nullptr;   // mapping (guard page first)
    uint3 tid{0, 0, 0};
    int linear = 0, lane = 0, warp = 0;
    State state = State::Ready;
    // The collective this lane waits in.
    int op = 0, kind = 0, param = 0, width = 32;
    unsigned mask = 0;
    uint64_t in[10] = {};
    uint64_t out[4] = {};
    const void* addr = nullptr;
    // cp.async: copies issued since the last commit, then committed groups, oldest first.
    std::vector<Copy> open;
    std::deque<std::vector<Copy>> groups;
};

namespace {

struct Device {
    int sms = 132;
    int smem_per_block = 48 * 1024;
    int smem_optin = 232448;
    int schedule = 0;
    uint64_t seed = 1;
    long launches = 0;
} dev;

std::set<std::string> names_run, instances_run;
std::mutex launch_mutex;   // one grid runs at a time (static shared memory is one per process)
void* sched_sp = nullptr;
std::vector<Fiber> fibers;
LaunchBody* body = nullptr;
cudaError_t last_error = cudaSuccess;
std::map<std::string, int> max_dynamic_smem;   // cudaFuncAttributeMaxDynamicSharedMemorySize per kernel name

struct Allocation {
    unsigned char* map;
    size_t map_bytes;
    unsigned char* user;
    size_t bytes;
};
std::map<uintptr_t, Allocation> allocations;   // by user address
std::map<uintptr_t, size_t> host_ranges;       // host memory a test registered (direct buffers)

// Dynamic shared memory: the region ends at a PROT_NONE page, so a read or write past its end faults.
unsigned char* smem_map = nullptr;
size_t smem_map_bytes = 0;

std::map<cudaStream_t, std::deque<std::pair<Launch, LaunchBody*>>> queues;

void fiber_main(Fiber* f);

[[noreturn]] void vfail(const char* fmt, va_list ap) {
    std::fflush(stdout);
    std::fprintf(stderr, "emu: kernel %s", ctx.kernel);
    if (ctx.cur) {
        std::fprintf(stderr, " block (%u,%u,%u) thread (%u,%u,%u)", ctx.block_idx.x, ctx.block_idx.y, ctx.block_idx.z,
                     ctx.cur->tid.x, ctx.cur->tid.y, ctx.cur->tid.z);
    }
    std::fprintf(stderr, ": ");
    std::vfprintf(stderr, fmt, ap);
    std::fprintf(stderr, "\n");
    std::fflush(stderr);
    _exit(3);
}

struct sigaction previous_segv, previous_bus;
thread_local bool running_kernel = false;   // this thread is executing a grid

void on_fault(int sig, siginfo_t* info, void* uc) {
    if (!running_kernel) {   // not ours (e.g. the JVM's own SIGSEGV use when loaded by Java): pass it on
        const struct sigaction& prev = sig == SIGSEGV ? previous_segv : previous_bus;
        if (prev.sa_flags & SA_SIGINFO) {
            prev.sa_sigaction(sig, info, uc);
        } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
            prev.sa_handler(sig);
        } else {
            signal(sig, SIG_DFL);
            raise(sig);
        }
        return;
    }
    char buf[512];
    int n = std::snprintf(buf, sizeof buf, "emu: kernel %s block (%u,%u,%u) thread (%u,%u,%u): %s at address %p "
                          "(outside every allocation, or past the end of shared memory or a fiber's stack)\n",
                          ctx.kernel, ctx.block_idx.x, ctx.block_idx.y, ctx.block_idx.z, ctx.cur ? ctx.cur->tid.x : 0,
                          ctx.cur ? ctx.cur->tid.y : 0, ctx.cur ? ctx.cur->tid.z : 0,
                          sig == SIGSEGV ? "invalid memory access" : "bus error", info->si_addr);
    if (n > 0) (void)!write(2, buf, (size_t)std::min(n, (int)sizeof buf - 1));
    _exit(3);
}

void install_fault_handler() {
#ifdef EMU_IMMEDIATE_LAUNCH
    // Inside a JVM the signal handlers belong to the JVM (it uses SIGSEGV itself): a fault in a kernel then ends
    // in the JVM's crash report (hs_err, with the address) instead of this emulator's message.
    return;
#endif
    // A fault on a fiber's guard page needs another stack to report from: one per thread that runs kernels.
    static thread_local std::vector<unsigned char> alt;
    if (alt.empty()) {
        alt.resize(1 << 16);
        stack_t ss{};
        ss.ss_sp = alt.data();
        ss.ss_size = alt.size();
        sigaltstack(&ss, nullptr);
    }
    static bool done = false;
    if (done) return;
    done = true;
    struct sigaction sa{};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, &previous_segv);
    sigaction(SIGBUS, &sa, &previous_bus);
}

bool in_range(uintptr_t a, size_t n, const unsigned char* base, size_t bytes) {
    const uintptr_t b = reinterpret_cast<uintptr_t>(base);
    return base && a >= b && a + n <= b + bytes;
}
bool in_shared(const void* p, size_t n) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    if (in_range(a, n, ctx.dyn_smem, ctx.dyn_bytes)) return true;
    return __start_emu_shared && in_range(a, n, __start_emu_shared, (size_t)(__stop_emu_shared - __start_emu_shared));
}
bool in_global(const void* p, size_t n) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    auto it = allocations.upper_bound(a);
    if (it != allocations.begin()) {
        --it;
        if (in_range(a, n, it->second.user, it->second.bytes)) return true;
    }
    auto h = host_ranges.upper_bound(a);
    if (h != host_ranges.begin()) {
        --h;
        if (a >= h->first && a + n <= h->first + h->second) return true;
    }
    return false;
}

void land(std::vector<Copy>& g) {
    for (const Copy& c : g) {
        if (c.bytes > 0) std::memcpy(c.dst, c.src, (size_t)c.bytes);
        std::memset(c.dst + c.bytes, 0, (size_t)(16 - c.bytes));
    }
    g.clear();
}

void yield_to_scheduler(State s) {
    Fiber* f = ctx.cur;
    f->state = s;
    emu_switch(&f->sp, sched_sp);
}

void fiber_main(Fiber* f) {
    body->run();
    for (auto& g : f->groups) land(g);   // outstanding copies complete when the thread exits
    f->groups.clear();
    land(f->open);
    yield_to_scheduler(State::Exited);
    std::abort();   // never resumed
}

void reset_fiber(Fiber& f) {
    if (!f.stack) {
        f.stack = static_cast<unsigned char*>(mmap(nullptr, kStackBytes + kPage, PROT_READ | PROT_WRITE,
                                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
        if (f.stack == MAP_FAILED) { std::perror("emu: fiber stack"); std::abort(); }
        mprotect(f.stack, kPage, PROT_NONE);   // stack overflow faults
    }
    unsigned char* top = f.stack + kPage + kStackBytes;
    auto* s = reinterpret_cast<uint64_t*>(top - 24);   // return slot: 8 mod 16, so the entry call is aligned
    s[0] = reinterpret_cast<uint64_t>(&emu_fiber_entry);
    s[-1] = 0;                                           // rbp
    s[-2] = 0;                                           // rbx
    s[-3] = reinterpret_cast<uint64_t>(&f);              // r12: argument
    s[-4] = reinterpret_cast<uint64_t>(&fiber_main);     // r13: function
    s[-5] = 0;
    s[-6] = 0;
    uint32_t mxcsr;
    uint16_t fpcw;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fpcw));
    auto* ctl = reinterpret_cast<unsigned char*>(&s[-8]);
    std::memcpy(ctl, &fpcw, 2);
    std::memcpy(ctl + 8, &mxcsr, 4);
    f.sp = &s[-8];
    f.state = State::Ready;
    f.open.clear();
    f.groups.clear();
}

const char* op_name(int op, int kind) {
    switch (op) {
        case kShfl: return kind == 0 ? "__shfl_sync" : kind == 1 ? "__shfl_xor_sync" : kind == 2 ? "__shfl_up_sync" : "__shfl_down_sync";
        case kVote: return kind == 0 ? "__any_sync" : kind == 1 ? "__all_sync" : "__ballot_sync";
        case kLdmatrix: return "ldmatrix";
        case kMmaBf16: return "mma.sync.m16n8k16.bf16";
        case kMmaTf32: return "mma.sync.m16n8k8.tf32";
    }
    return "?";
}

const char* state_name(State s) {
    switch (s) {
        case State::Ready: return "running";
        case State::Barrier: return "at __syncthreads";
        case State::Warp: return "in a warp collective";
        case State::Exited: return "exited";
    }
    return "?";
}

[[noreturn]] void fail_in_block(const char* fmt, ...) {
    ctx.cur = nullptr;
    va_list ap;
    va_start(ap, fmt);
    vfail(fmt, ap);
}

float bf16_lo(uint32_t r) { return __uint_as_float(r << 16); }
float bf16_hi(uint32_t r) { return __uint_as_float(r & 0xffff0000u); }
// The tensor core reads a TF32 operand's sign, exponent and top 10 mantissa bits.
double tf32_operand(uint32_t r) { return (double)__uint_as_float(r & 0xffffe000u); }

// Completes the collective of the lanes in `lanes` (all waiting in the same op with the same mask).
void complete(Fiber* const* lane, unsigned mask) {
    Fiber* f0 = nullptr;
    for (int l = 0; l < 32; ++l)
        if ((mask >> l) & 1u && lane[l]) { f0 = lane[l]; break; }
    const int op = f0->op, kind = f0->kind;
    if (op >= kLdmatrix)
        for (int l = 0; l < 32; ++l)
            if (!lane[l]) violation("%s needs a full warp; lane %d does not exist", op_name(op, kind), l);
    if (op == kShfl) {
        for (int l = 0; l < 32; ++l) {
            Fiber* f = lane[l];
            if (!f || !((mask >> l) & 1u) || f->state != State::Warp) continue;
            const int w = f->width, base = l & ~(w - 1), p = f->param;
            int src = l;
            if (kind == 0) src = base + (p & (w - 1));
            else if (kind == 1) src = l ^ p;
            else if (kind == 2) src = (l - base) >= p ? l - p : l;
            else src = (l - base) + p < w ? l + p : l;
            if (kind == 1 && (src < base || src >= base + w)) src = l;
            if (src < 0 || src >= 32 || !lane[src] || !((mask >> src) & 1u)) {
                ctx.cur = f;
                violation("%s reads lane %d, which is not in the mask 0x%08x", op_name(op, kind), src, mask);
            }
            f->out[0] = lane[src]->in[0];
        }
    } else if (op == kVote) {
        unsigned ballot = 0;
        for (int l = 0; l < 32; ++l)
            if (lane[l] && ((mask >> l) & 1u) && lane[l]->in[0]) ballot |= 1u << l;
        unsigned members = 0;
        for (int l = 0; l < 32; ++l)
            if (lane[l] && ((mask >> l) & 1u)) members |= 1u << l;
        for (int l = 0; l < 32; ++l) {
            Fiber* f = lane[l];
            if (!f || !((mask >> l) & 1u)) continue;
            f->out[0] = kind == 0 ? ballot != 0 : kind == 1 ? ballot == members : ballot;
        }
    } else if (op == kLdmatrix) {
        const int count = kind & 7;
        const bool trans = kind & 8;
        for (int l = 0; l < 32; ++l) {
            Fiber* f = lane[l];
            const int g = l >> 2, t = l & 3;
            for (int m = 0; m < count; ++m) {
                uint16_t h[2];
                for (int j = 0; j < 2; ++j) {
                    // Matrix m's row r comes from the address of lane 8 m + r; without .trans lane l receives
                    // (row g, cols 2t, 2t+1), with .trans (rows 2t, 2t+1, col g).
                    const int row = trans ? 2 * t + j : g, col = trans ? g : 2 * t + j;
                    const auto* p = static_cast<const unsigned char*>(lane[8 * m + row]->addr) + 2 * col;
                    std::memcpy(&h[j], p, 2);
                }
                f->out[m] = (uint32_t)h[0] | ((uint32_t)h[1] << 16);
            }
        }
    } else {   // mma: D = A B + C, products exact, summed exactly (double) and rounded once to FP32
        const bool bf = op == kMmaBf16;
        const int K = bf ? 16 : 8;
        double A[16][16], B[16][8];
        float C[16][8];
        for (int l = 0; l < 32; ++l) {
            const Fiber* f = lane[l];
            const int g = l >> 2, t = l & 3;
            uint32_t a[4], b[2];
            for (int i = 0; i < 4; ++i) a[i] = (uint32_t)f->in[i];
            b[0] = (uint32_t)f->in[4];
            b[1] = (uint32_t)f->in[5];
            for (int i = 0; i < 4; ++i) C[g + 8 * (i >> 1)][2 * t + (i & 1)] = __uint_as_float((uint32_t)f->in[6 + i]);
            if (bf) {
                for (int i = 0; i < 4; ++i) {
                    const int row = g + 8 * (i & 1), col = 2 * t + 8 * (i >> 1);
                    A[row][col] = bf16_lo(a[i]);
                    A[row][col + 1] = bf16_hi(a[i]);
                }
                B[2 * t][g] = bf16_lo(b[0]);
                B[2 * t + 1][g] = bf16_hi(b[0]);
                B[2 * t + 8][g] = bf16_lo(b[1]);
                B[2 * t + 9][g] = bf16_hi(b[1]);
            } else {
                A[g][t] = tf32_operand(a[0]);
                A[g + 8][t] = tf32_operand(a[1]);
                A[g][t + 4] = tf32_operand(a[2]);
                A[g + 8][t + 4] = tf32_operand(a[3]);
                B[t][g] = tf32_operand(b[0]);
                B[t + 4][g] = tf32_operand(b[1]);
            }
        }
        float D[16][8];
        for (int r = 0; r < 16; ++r)
            for (int c = 0; c < 8; ++c) {
                double s = 0;
                for (int k = 0; k < K; ++k) s += A[r][k] * B[k][c];
                D[r][c] = (float)(s + (double)C[r][c]);
            }
        for (int l = 0; l < 32; ++l) {
            const int g = l >> 2, t = l & 3;
            for (int i = 0; i < 4; ++i) lane[l]->out[i] = __float_as_uint(D[g + 8 * (i >> 1)][2 * t + (i & 1)]);
        }
    }
    for (int l = 0; l < 32; ++l)
        if (lane[l] && ((mask >> l) & 1u)) lane[l]->state = State::Ready;
}

// Completes every collective of warp w whose lanes have all arrived; returns whether one completed. A lane of
// the mask that exited, or that waits in another collective, is an error.
bool resolve_warp(int w, int nthreads) {
    Fiber* lane[32] = {};
    for (int l = 0; l < 32; ++l) {
        const int i = w * 32 + l;
        lane[l] = i < nthreads ? &fibers[i] : nullptr;
    }
    bool any = false;
    for (int l = 0; l < 32; ++l) {
        Fiber* f = lane[l];
        if (!f || f->state != State::Warp) continue;
        const unsigned mask = f->mask;
        bool complete_now = true;
        for (int m = 0; m < 32; ++m) {
            if (!((mask >> m) & 1u) || !lane[m]) continue;
            Fiber* o = lane[m];
            if (o->state == State::Exited) {
                ctx.cur = f;
                violation("%s with mask 0x%08x: lane %d of the mask has exited", op_name(f->op, f->kind), mask, m);
            }
            if (o->state == State::Warp && (o->op != f->op || o->mask != mask || o->kind != f->kind)) {
                ctx.cur = f;
                violation("%s with mask 0x%08x meets lane %d in %s with mask 0x%08x", op_name(f->op, f->kind), mask, m,
                          op_name(o->op, o->kind), o->mask);
            }
            if (o->state != State::Warp) complete_now = false;
        }
        if (complete_now) {
            complete(lane, mask);
            any = true;
        }
    }
    return any;
}

[[noreturn]] void report_stuck(int nthreads) {
    std::string msg;
    int counts[4] = {0, 0, 0, 0};
    for (int i = 0; i < nthreads; ++i) counts[(int)fibers[i].state]++;
    char buf[512];
    std::snprintf(buf, sizeof buf, "no thread can proceed: %d at __syncthreads, %d in warp collectives, %d exited",
                  counts[(int)State::Barrier], counts[(int)State::Warp], counts[(int)State::Exited]);
    msg = buf;
    int shown = 0;
    for (int i = 0; i < nthreads && shown < 8; ++i) {
        const Fiber& f = fibers[i];
        if (f.state == State::Warp || (counts[(int)State::Barrier] && f.state == State::Exited)) {
            std::snprintf(buf, sizeof buf, "; thread %d %s%s%s", i, state_name(f.state), f.state == State::Warp ? ": " : "",
                          f.state == State::Warp ? op_name(f.op, f.kind) : "");
            msg += buf;
            ++shown;
        }
    }
    if (counts[(int)State::Barrier] && !counts[(int)State::Warp])
        msg += " (a __syncthreads not reached by every thread of the block)";
    fail_in_block("%s", msg.c_str());
}

// Runs one block to completion under the current schedule.
void run_block(int nthreads, std::mt19937_64& rng) {
    const int nwarps = (nthreads + 31) / 32;
    for (int i = 0; i < nthreads; ++i) reset_fiber(fibers[i]);
    if (__start_emu_shared) std::memset(__start_emu_shared, kPoison, (size_t)(__stop_emu_shared - __start_emu_shared));
    if (ctx.dyn_bytes) std::memset(smem_map + smem_map_bytes - kPage - ((ctx.dyn_bytes + 15) & ~size_t(15)), kPoison,
                                   (ctx.dyn_bytes + 15) & ~size_t(15));
    std::vector<int> warp_order(nwarps), lane_order(32);
    for (int w = 0; w < nwarps; ++w) warp_order[w] = w;
    for (int l = 0; l < 32; ++l) lane_order[l] = l;
    const int sched = dev.schedule;   // 0 lockstep forward, 1 warp by warp forward, 2 warp by warp reverse, 3 shuffled
    if (sched == 2) {
        std::reverse(warp_order.begin(), warp_order.end());
        std::reverse(lane_order.begin(), lane_order.end());
    }
    const bool eager = sched != 0;
    for (;;) {
        bool progress = false;
        if (sched == 3) {
            std::shuffle(warp_order.begin(), warp_order.end(), rng);
            std::shuffle(lane_order.begin(), lane_order.end(), rng);
        }
        for (int w : warp_order) {
            bool again;
            do {
                again = false;
                for (int l : lane_order) {
                    const int i = w * 32 + l;
                    if (i >= nthreads || fibers[i].state != State::Ready) continue;
                    ctx.cur = &fibers[i];
                    emu_switch(&sched_sp, fibers[i].sp);
                    ctx.cur = nullptr;
                    progress = true;
                }
                if (resolve_warp(w, nthreads)) {
                    progress = true;
                    again = eager;
                }
            } while (again);
        }
        if (progress) continue;
        int at_barrier = 0, exited = 0;
        for (int i = 0; i < nthreads; ++i) {
            at_barrier += fibers[i].state == State::Barrier;
            exited += fibers[i].state == State::Exited;
        }
        if (exited == nthreads) return;
        if (at_barrier == nthreads) {
            for (int i = 0; i < nthreads; ++i) fibers[i].state = State::Ready;
            continue;
        }
        report_stuck(nthreads);
    }
}

void prepare_dynamic_smem(size_t bytes) {
    const size_t rounded = (bytes + 15) & ~size_t(15);
    const size_t need = ((rounded + kPage - 1) / kPage + 1) * kPage;
    if (need > smem_map_bytes) {
        if (smem_map) munmap(smem_map, smem_map_bytes);
        smem_map = static_cast<unsigned char*>(mmap(nullptr, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (smem_map == MAP_FAILED) { std::perror("emu: shared memory"); std::abort(); }
        smem_map_bytes = need;
        mprotect(smem_map + need - kPage, kPage, PROT_NONE);
    }
    ctx.dyn_bytes = bytes;
    ctx.dyn_smem = bytes ? smem_map + smem_map_bytes - kPage - rounded : nullptr;
}

void run_grid(const Launch& l, LaunchBody* b) {
    std::lock_guard<std::mutex> guard(launch_mutex);
    install_fault_handler();
    const int nthreads = (int)(l.block.x * l.block.y * l.block.z);
    if ((int)fibers.size() < nthreads) fibers.resize(nthreads);
    for (int i = 0; i < nthreads; ++i) {
        Fiber& f = fibers[i];
        f.linear = i;
        f.lane = i & 31;
        f.warp = i >> 5;
        f.tid = uint3{(unsigned)(i % l.block.x), (unsigned)((i / l.block.x) % l.block.y),
                      (unsigned)(i / (l.block.x * l.block.y))};
    }
    ctx.kernel = l.name;
    ctx.grid = l.grid;
    ctx.block = l.block;
    prepare_dynamic_smem(l.smem);
    body = b;
    std::mt19937_64 rng(dev.seed);
    running_kernel = true;
    for (unsigned z = 0; z < l.grid.z; ++z)
        for (unsigned y = 0; y < l.grid.y; ++y)
            for (unsigned x = 0; x < l.grid.x; ++x) {
                ctx.block_idx = uint3{x, y, z};
                run_block(nthreads, rng);
            }
    running_kernel = false;
    if (l.instance) {   // a kernel (cudaMemsetAsync has none)
        names_run.insert(l.name);
        instances_run.insert(l.instance);
    }
    body = nullptr;
    ctx.kernel = "";
    ++dev.launches;
}

void drain(cudaStream_t s) {
    auto it = queues.find(s);
    if (it == queues.end()) return;
    while (!it->second.empty()) {
        auto [l, b] = it->second.front();
        it->second.pop_front();
        run_grid(l, b);
        delete b;
    }
}
void drain_all() {
    for (auto& q : queues) drain(q.first);
}

}  // namespace

uint3 thread_idx() { return ctx.cur->tid; }

void violation(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(fmt, ap);
}

void* dynamic_shared(size_t align) {
    if (ctx.dyn_smem && (reinterpret_cast<uintptr_t>(ctx.dyn_smem) % align) != 0)
        violation("dynamic shared memory of %zu bytes is not %zu-byte aligned", ctx.dyn_bytes, align);
    return ctx.dyn_smem ? ctx.dyn_smem : smem_map + smem_map_bytes - kPage;   // zero bytes: any access faults
}

void syncthreads() { yield_to_scheduler(State::Barrier); }
void threadfence() {}

namespace {
void wait_in(int op, int kind, unsigned mask) {
    Fiber* f = ctx.cur;
    if (!((mask >> f->lane) & 1u)) violation("%s with mask 0x%08x does not name the calling lane %d", op_name(op, kind), mask, f->lane);
    f->op = op;
    f->kind = kind;
    f->mask = mask;
    yield_to_scheduler(State::Warp);
}
}  // namespace

uint64_t shfl(int kind, unsigned mask, uint64_t bits, int src, int width) {
    if (width < 1 || width > 32 || (width & (width - 1))) violation("shuffle width %d is not a power of 2 <= 32", width);
    Fiber* f = ctx.cur;
    f->in[0] = bits;
    f->param = src;
    f->width = width;
    wait_in(kShfl, kind, mask);
    return f->out[0];
}

unsigned vote(int kind, unsigned mask, bool pred) {
    Fiber* f = ctx.cur;
    f->in[0] = pred;
    wait_in(kVote, kind, mask);
    return (unsigned)f->out[0];
}

void ldmatrix(uint32_t* r, int count, bool trans, const void* row_addr) {
    Fiber* f = ctx.cur;
    if (f->lane < 8 * count) {
        if (reinterpret_cast<uintptr_t>(row_addr) % 16 != 0) violation("ldmatrix row address %p is not 16-byte aligned", row_addr);
        if (!in_shared(row_addr, 16)) violation("ldmatrix row address %p is outside shared memory", row_addr);
    }
    f->addr = row_addr;
    wait_in(kLdmatrix, count | (trans ? 8 : 0), 0xffffffffu);
    for (int m = 0; m < count; ++m) r[m] = (uint32_t)f->out[m];
}

namespace {
void mma(int op, float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
    Fiber* f = ctx.cur;
    for (int i = 0; i < 4; ++i) f->in[i] = a[i];
    f->in[4] = b0;
    f->in[5] = b1;
    for (int i = 0; i < 4; ++i) f->in[6 + i] = __float_as_uint(c[i]);
    wait_in(op, 0, 0xffffffffu);
    for (int i = 0; i < 4; ++i) c[i] = __uint_as_float((uint32_t)f->out[i]);
}
}  // namespace
void mma_bf16_m16n8k16(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) { mma(kMmaBf16, c, a, b0, b1); }
void mma_tf32_m16n8k8(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) { mma(kMmaTf32, c, a, b0, b1); }

void cp_async16(void* dst, const void* src, int src_bytes) {
    if (src_bytes < 0 || src_bytes > 16) violation("cp.async src-size %d outside [0, 16]", src_bytes);
    if (reinterpret_cast<uintptr_t>(dst) % 16 || reinterpret_cast<uintptr_t>(src) % 16)
        violation("cp.async of 16 bytes with unaligned addresses dst %p src %p", dst, src);
    if (!in_shared(dst, 16)) violation("cp.async destination %p is outside shared memory", dst);
    if (src_bytes > 0 && !in_global(src, (size_t)src_bytes)) violation("cp.async source %p (+%d bytes) is outside every allocation", src, src_bytes);
    std::memset(dst, kPoison, 16);   // until its group is waited for, the destination holds poison
    ctx.cur->open.push_back(Copy{static_cast<unsigned char*>(dst), static_cast<const unsigned char*>(src), src_bytes});
}

void cp_async_commit() {
    Fiber* f = ctx.cur;
    f->groups.push_back(std::move(f->open));
    f->open.clear();
}

void cp_async_wait(int n) {
    Fiber* f = ctx.cur;
    while ((int)f->groups.size() > n) {
        land(f->groups.front());
        f->groups.pop_front();
    }
}

float ex2_approx_ftz(float x) {
    // ex2.approx.ftz: subnormal inputs and results flush to zero. The hardware's result is within 2 ulp of 2^x;
    // this is the correctly rounded one.
    if (std::fpclassify(x) == FP_SUBNORMAL) x = 0.f;
    float y = std::exp2(x);
    if (std::fpclassify(y) == FP_SUBNORMAL) y = 0.f;
    return y;
}

float tf32_round(float x) {   // nearest, ties away from zero, low 13 mantissa bits cleared
    uint32_t u = __float_as_uint(x);
    if ((u & 0x7f800000u) == 0x7f800000u) return x;
    u += 0x1000u;
    u &= 0xffffe000u;
    return __uint_as_float(u);
}

void check_global(const void* p, size_t bytes, const char* what) {
    if (in_global(p, bytes) || in_shared(p, bytes)) return;
    violation("%s of %zu bytes at %p is outside every allocation", what, bytes, p);
}

void enqueue(const Launch& l, LaunchBody* b) {
    const long threads = (long)l.block.x * l.block.y * l.block.z;
    cudaError_t e = cudaSuccess;
    if (threads < 1 || threads > 1024 || l.block.z > 64 || l.grid.x < 1 || l.grid.y < 1 || l.grid.z < 1 ||
        l.grid.y > 65535 || l.grid.z > 65535 || l.grid.x > 2147483647u)
        e = cudaErrorInvalidConfiguration;
    if (l.smem > (size_t)dev.smem_per_block) {
        auto it = max_dynamic_smem.find(l.name);
        if (it == max_dynamic_smem.end() || (size_t)it->second < l.smem) e = cudaErrorInvalidValue;
    }
    if (e != cudaSuccess) {
        std::fprintf(stderr, "emu: launch of %s refused: grid (%u,%u,%u) block (%u,%u,%u) %zu bytes of dynamic shared memory\n",
                     l.name, l.grid.x, l.grid.y, l.grid.z, l.block.x, l.block.y, l.block.z, l.smem);
        last_error = e;
        delete b;
        return;
    }
    queues[l.stream].emplace_back(l, b);
#ifdef EMU_IMMEDIATE_LAUNCH
    // The JNI library: Java cannot synchronise an emulated stream, so each launch runs when it is enqueued
    // (still in stream order).
    drain(l.stream);
#endif
}

cudaError_t func_set_attribute(const char* kernel, cudaFuncAttribute attr, int value) {
    if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
        if (value < 0 || value > dev.smem_optin) return cudaErrorInvalidValue;
        // Keyed by the name as written, which one template's instances share: the largest opt-in counts.
        int& v = max_dynamic_smem[kernel];
        v = std::max(v, value);
    }
    return cudaSuccess;
}

// ---- emu_control.h ----
void set_device(int sms, int smem_per_block_optin) {
    dev.sms = sms;
    dev.smem_optin = smem_per_block_optin;
}
void set_schedule(int schedule, uint64_t seed) {
    dev.schedule = schedule;
    dev.seed = seed;
}
long launches() { return dev.launches; }
int kernels_run() { return (int)names_run.size(); }
int kernel_instances_run() { return (int)instances_run.size(); }
void register_host(const void* p, size_t bytes) { host_ranges[reinterpret_cast<uintptr_t>(p)] = bytes; }
void unregister_host(const void* p) { host_ranges.erase(reinterpret_cast<uintptr_t>(p)); }

}  // namespace emu

// ---- the CUDA runtime calls the launchers and tests make --------------------------------------------------
using emu::ctx;

extern "C" {

cudaError_t cudaGetDevice(int* device) {
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
    if (device != 0) return cudaErrorInvalidDevice;
    switch (attr) {
        case cudaDevAttrMultiProcessorCount: *value = emu::dev.sms; return cudaSuccess;
        case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = emu::dev.smem_optin; return cudaSuccess;
        case cudaDevAttrMaxSharedMemoryPerBlock: *value = emu::dev.smem_per_block; return cudaSuccess;
        case cudaDevAttrMaxThreadsPerBlock: *value = 1024; return cudaSuccess;
        case cudaDevAttrWarpSize: *value = 32; return cudaSuccess;
        default: return cudaErrorInvalidValue;
    }
}

cudaError_t cudaGetLastError(void) {
    cudaError_t e = emu::last_error;
    emu::last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) { return emu::last_error; }

const char* cudaGetErrorString(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "no error";
        case cudaErrorInvalidValue: return "invalid argument";
        case cudaErrorMemoryAllocation: return "out of memory";
        case cudaErrorInvalidConfiguration: return "invalid configuration argument";
        case cudaErrorNotSupported: return "operation not supported";
        case cudaErrorInvalidDevice: return "invalid device ordinal";
        default: return "cuda error (emulated runtime)";
    }
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
    // The buffer ends 16-byte-rounded at a PROT_NONE page, so reading or writing past its end faults.
    const size_t rounded = (bytes + 15) & ~size_t(15);
    const size_t map_bytes = ((rounded + emu::kPage - 1) / emu::kPage + 1) * emu::kPage;
    auto* m = static_cast<unsigned char*>(mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (m == MAP_FAILED) return cudaErrorMemoryAllocation;
    mprotect(m + map_bytes - emu::kPage, emu::kPage, PROT_NONE);
    unsigned char* user = m + map_bytes - emu::kPage - rounded;
    std::memset(user, emu::kPoison, rounded);
    emu::allocations[reinterpret_cast<uintptr_t>(user)] = emu::Allocation{m, map_bytes, user, bytes};
    *p = user;
    return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
    if (!p) return cudaSuccess;
    emu::drain_all();
    auto it = emu::allocations.find(reinterpret_cast<uintptr_t>(p));
    if (it == emu::allocations.end()) return cudaErrorInvalidValue;
    munmap(it->second.map, it->second.map_bytes);
    emu::allocations.erase(it);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind) {
    emu::drain_all();
    std::memmove(dst, src, n);
    return cudaSuccess;
}

cudaError_t cudaMemset(void* p, int value, size_t n) {
    emu::drain_all();
    std::memset(p, value, n);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* p, int value, size_t n, cudaStream_t stream) {
    // In stream order: a one-thread "grid" that writes the bytes when the queue reaches it.
    struct Body : emu::LaunchBody {
        void* p;
        int v;
        size_t n;
        void run() override {
            if (ctx.block_idx.x == 0 && emu::thread_idx().x == 0) std::memset(p, v, n);
        }
    };
    if (n && !emu::in_global(p, n)) {
        std::fprintf(stderr, "emu: cudaMemsetAsync of %zu bytes at %p is outside every allocation\n", n, p);
        return cudaErrorInvalidValue;
    }
    auto* b = new Body();
    b->p = p;
    b->v = value;
    b->n = n;
    emu::queues[stream].emplace_back(emu::Launch{"cudaMemsetAsync", dim3(1), dim3(1), 0, stream}, b);
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* s) {
    static uintptr_t next = 0x1000;
    *s = reinterpret_cast<cudaStream_t>(next += 16);
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    emu::drain(s);
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    emu::drain(s);
    return cudaGetLastError();
}
cudaError_t cudaDeviceSynchronize(void) {
    emu::drain_all();
    return cudaGetLastError();
}

}  // extern "C"
