// cuemu_runtime.cpp: the scheduler behind cuemu.h and the library's exported C interface.
//
// emu_launch runs the grid's blocks one after another on the calling OS thread. A block's threads
// are fibers (own stacks, switched by a small assembly routine on x86-64, ucontext elsewhere); a
// thread runs until it completes or reaches a barrier, then the scheduler runs the next runnable
// thread. When none is runnable it releases warp operations whose lanes have all arrived, then the
// block barrier once every live thread waits at it; if neither is possible the block is
// deadlocked and the launch fails with a description of where each thread waits. Launches on
// different OS threads are independent (all scheduler state is thread_local). Faults inside
// emulated threads become launch errors (cuemu_fiber.h).
//
// Exported: emu_launch, emu_kernel_info, emu_kernel_count, emu_kernel_name.

// Standard headers first: cuemu.h defines CUDA's __noinline__, which libstdc++ uses as an attribute.
#include <sys/mman.h>
#include <unistd.h>
#include <ucontext.h>
#include <signal.h>
#include <pthread.h>

#include <algorithm>
#include <cstdarg>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cuemu.h"
#include "cuemu_fiber.h"

namespace cuemu {
namespace {

const char* op_name(int op)
{
    switch (op)
    {
    case kSyncWarp: return "__syncwarp";
    case kShflIdx: return "__shfl_sync";
    case kShflUp: return "__shfl_up_sync";
    case kShflDown: return "__shfl_down_sync";
    case kShflXor: return "__shfl_xor_sync";
    case kBallot: return "__ballot_sync";
    case kAny: return "__any_sync";
    case kAll: return "__all_sync";
    case kReduceAddU: return "__reduce_add_sync";
    case kReduceMinU: case kReduceMinI: return "__reduce_min_sync";
    case kReduceMaxU: case kReduceMaxI: return "__reduce_max_sync";
    case kReduceAnd: return "__reduce_and_sync";
    case kReduceOr: return "__reduce_or_sync";
    case kReduceXor: return "__reduce_xor_sync";
    }
    return "warp op";
}

const char* barrier_name(int op)
{
    switch (op)
    {
    case kSyncCount: return "__syncthreads_count";
    case kSyncAnd: return "__syncthreads_and";
    case kSyncOr: return "__syncthreads_or";
    }
    return "__syncthreads";
}
// ------------------------------------------------------------------ block scheduling
std::string where(const Launch& L)
{
    return fmt("kernel %s, block (%u, %u, %u) of grid (%u, %u, %u), block size (%u, %u, %u)", L.kernel->name.c_str(),
        L.bidx.x, L.bidx.y, L.bidx.z, L.grid.x, L.grid.y, L.grid.z, L.block.x, L.block.y, L.block.z);
}

std::string tid_str(const Fiber& f)
{
    return fmt("thread %d (%u, %u, %u)", f.tid, f.idx.x, f.idx.y, f.idx.z);
}

// Source lane of a shuffle, as PTX shfl.sync computes it; -1 when the lane keeps its own value.
int shfl_source(int op, int lane, int b, int width)
{
    int segmask = (32 - width) & 31;  // high lane bits that select the segment
    int clamp = op == kShflUp ? 0 : 31;
    int maxLane = (lane & segmask) | (clamp & ~segmask);
    int minLane = lane & segmask;
    int j;
    bool ok;
    switch (op)
    {
    case kShflUp: j = lane - b; ok = j >= maxLane; break;
    case kShflDown: j = lane + b; ok = j <= maxLane; break;
    case kShflXor: j = lane ^ (b & 31); ok = j <= maxLane; break;
    default: j = minLane | (b & 31 & ~segmask); ok = j <= maxLane; break;
    }
    return ok ? j : -1;
}

// Releases the warp operations of warp w whose lanes have all arrived. Returns true if any was
// released; sets L.error on misuse.
bool release_warp(Launch& L, std::vector<std::unique_ptr<Fiber>>& F, int w)
{
    int first = w * 32, count = std::min(32, L.nthreads - first);
    unsigned exists = count == 32 ? 0xffffffffu : ((1u << count) - 1);
    bool released = false;
    for (int l0 = 0; l0 < count; l0++)
    {
        Fiber& a = *F[first + l0];
        if (a.state != kAtWarpOp) continue;
        unsigned m = a.mask & exists;
        // every lane named by the mask must be waiting at the same operation
        bool ready = true;
        for (int l = 0; l < count && ready; l++)
        {
            if (!(m >> l & 1)) continue;
            Fiber& o = *F[first + l];
            if (o.state == kDone || o.state == kFaulted)
            {
                L.error = fmt("%s: %s at %s:%u names lane %d (mask 0x%08x), which has exited; %s of warp %d waits",
                    where(L).c_str(), op_name(a.op), a.file, a.line, l, a.mask, tid_str(a).c_str(), w);
                return false;
            }
            if (o.state != kAtWarpOp) { ready = false; break; }
            bool same = o.op == a.op && (a.op == kSyncWarp || (o.file == a.file && o.line == a.line) || (strcmp(o.file, a.file) == 0 && o.line == a.line));
            if (!same || (o.mask & exists) != m)
            {
                L.error = fmt("%s: warp %d diverged: lane %d waits at %s (mask 0x%08x) at %s:%u, lane %d at %s (mask 0x%08x) at %s:%u",
                    where(L).c_str(), w, l0, op_name(a.op), a.mask, a.file, a.line, l, op_name(o.op), o.mask, o.file, o.line);
                return false;
            }
            if (a.op != kSyncWarp && o.width != a.width)
            {
                L.error = fmt("%s: warp %d: lanes %d and %d pass different widths (%d, %d) to %s at %s:%u",
                    where(L).c_str(), w, l0, l, a.width, o.width, op_name(a.op), a.file, a.line);
                return false;
            }
        }
        if (!ready) continue;
        // compute every participant's result, then let them run
        unsigned long long vote = 0, acc = 0;
        bool first_value = true;
        for (int l = 0; l < count; l++)
        {
            if (!(m >> l & 1)) continue;
            Fiber& o = *F[first + l];
            unsigned v = (unsigned)o.value;
            if (o.value) vote |= 1ull << l;
            switch (a.op)
            {
            case kReduceAddU: acc = first_value ? v : (unsigned)(acc + v); break;
            case kReduceMinU: acc = first_value ? v : std::min((unsigned)acc, v); break;
            case kReduceMaxU: acc = first_value ? v : std::max((unsigned)acc, v); break;
            case kReduceMinI: acc = (unsigned)(first_value ? (int)v : std::min((int)(unsigned)acc, (int)v)); break;
            case kReduceMaxI: acc = (unsigned)(first_value ? (int)v : std::max((int)(unsigned)acc, (int)v)); break;
            case kReduceAnd: acc = first_value ? v : ((unsigned)acc & v); break;
            case kReduceOr: acc = first_value ? v : ((unsigned)acc | v); break;
            case kReduceXor: acc = first_value ? v : ((unsigned)acc ^ v); break;
            }
            first_value = false;
        }
        for (int l = 0; l < count; l++)
        {
            if (!(m >> l & 1)) continue;
            Fiber& o = *F[first + l];
            switch (a.op)
            {
            case kShflIdx: case kShflUp: case kShflDown: case kShflXor:
            {
                int j = shfl_source(a.op, l, o.b, o.width);
                if (j < 0) o.result = o.value;
                else if (j < count && (m >> j & 1)) o.result = F[first + j]->value;
                else o.result = kPoison; // reading a lane that does not take part: undefined on a GPU
                break;
            }
            case kBallot: o.result = vote; break;
            case kAny: o.result = vote != 0; break;
            case kAll: o.result = vote == (unsigned long long)m; break;
            case kSyncWarp: o.result = 0; break;
            default: o.result = acc; break;
            }
            o.state = kRunnable;
        }
        released = true;
    }
    return released;
}

bool release_block(Launch& L, std::vector<std::unique_ptr<Fiber>>& F)
{
    int n = L.nthreads;
    const Fiber* a = nullptr;
    int waiting = 0, live = 0, count = 0;
    for (int t = 0; t < n; t++)
    {
        Fiber& f = *F[t];
        if (f.state == kDone) continue;
        live++;
        if (f.state != kAtBlockBarrier) continue;
        waiting++;
        if (!a) a = &f;
        else if (f.op != a->op || f.line != a->line || strcmp(f.file, a->file) != 0)
        {
            L.error = fmt("%s: barrier divergence: %s waits at %s (%s:%u), %s at %s (%s:%u)", where(L).c_str(),
                tid_str(*a).c_str(), barrier_name(a->op), a->file, a->line, tid_str(f).c_str(), barrier_name(f.op), f.file, f.line);
            return false;
        }
        count += f.value != 0;
    }
    if (!a || waiting != live) return false;
    for (int t = 0; t < n; t++)
    {
        Fiber& f = *F[t];
        if (f.state != kAtBlockBarrier) continue;
        f.result = a->op == kSyncCount ? count : a->op == kSyncAnd ? count == waiting : a->op == kSyncOr ? count > 0 : 0;
        f.state = kRunnable;
    }
    return true;
}

std::string describe_deadlock(const Launch& L, std::vector<std::unique_ptr<Fiber>>& F)
{
    std::string s = where(L) + ": deadlock, no thread can proceed:";
    std::map<std::string, std::vector<int>> groups;
    for (int t = 0; t < L.nthreads; t++)
    {
        const Fiber& f = *F[t];
        std::string k;
        if (f.state == kDone) k = "exited";
        else if (f.state == kAtBlockBarrier) k = fmt("wait at %s (%s:%u)", barrier_name(f.op), f.file, f.line);
        else if (f.state == kAtWarpOp) k = fmt("wait at %s mask 0x%08x (%s:%u)", op_name(f.op), f.mask, f.file, f.line);
        else k = "runnable";
        groups[k].push_back(t);
    }
    for (auto& [k, v] : groups)
    {
        s += " threads";
        // print as ranges
        for (size_t i = 0; i < v.size();)
        {
            size_t j = i;
            while (j + 1 < v.size() && v[j + 1] == v[j] + 1) j++;
            s += i == 0 ? " " : ",";
            s += j == i ? fmt("%d", v[i]) : fmt("%d-%d", v[i], v[j]);
            i = j + 1;
        }
        s += " " + k + ";";
    }
    s.pop_back();
    return s;
}

bool run_block(Launch& L, bool reverse)
{
    auto& F = ts.fibers;
    int n = L.nthreads;
    for (int t = 0; t < n; t++)
    {
        Fiber& f = *F[t];
        f.tid = t;
        f.idx = uint3{(unsigned)t % L.block.x, ((unsigned)t / L.block.x) % L.block.y, (unsigned)t / (L.block.x * L.block.y)};
        f.state = kRunnable;
        prepare(f);
    }
    blockIdx = L.bidx;
    if (L.shmem) memset(ts.smem, 0xff, L.shmem); // uninitialized shared memory reads as NaN / -1
    int nwarps = (n + 31) / 32;
    for (;;)
    {
        for (int k = 0; k < n; k++)
        {
            Fiber& f = *F[reverse ? n - 1 - k : k];
            if (f.state != kRunnable) continue;
            resume(f);
            if (ts.fault_sig)
            {
                size_t page = (size_t)getpagesize();
                auto a = static_cast<unsigned char*>(ts.fault_addr);
                bool overflow = ts.fault_sig == SIGSEGV && a >= f.map && a < f.map + page + 256;
                const char* what = ts.fault_sig == SIGSEGV ? (overflow ? "stack overflow (the emulated thread's stack is 64 KiB)" : "invalid memory access (SIGSEGV)")
                    : ts.fault_sig == SIGBUS ? "bus error (SIGBUS)"
                    : ts.fault_sig == SIGFPE ? (ts.fault_code == FPE_INTDIV ? "integer division by zero (SIGFPE)" : "arithmetic fault (SIGFPE)")
                    : "illegal instruction (SIGILL)";
                L.error = fmt("%s: %s at address %p in %s", where(L).c_str(), what, ts.fault_addr, tid_str(f).c_str());
                ts.fault_sig = 0;
                return false;
            }
            if (!L.error.empty()) return false;
        }
        bool done = true;
        for (int t = 0; t < n && done; t++) done = F[t]->state == kDone;
        if (done) return true;
        bool released = false;
        for (int w = 0; w < nwarps; w++)
        {
            released |= release_warp(L, F, w);
            if (!L.error.empty()) return false;
        }
        if (released) continue;
        if (release_block(L, F)) continue;
        if (L.error.empty()) L.error = describe_deadlock(L, F);
        return false;
    }
}

} // namespace

// ------------------------------------------------------------------ entry points used by cuemu.h
int block_barrier(int op, int pred, const char* file, unsigned line)
{
    Fiber& f = self("__syncthreads");
    f.state = kAtBlockBarrier;
    f.op = op; f.file = file; f.line = line; f.value = (unsigned long long)pred;
    yield();
    return (int)f.result;
}

unsigned long long warp_op(int op, unsigned mask, unsigned long long value, int b, int width, const char* file, unsigned line)
{
    Fiber& f = self(op_name(op));
    int lane = f.tid & 31;
    if (!(mask >> lane & 1))
        fail(fmt("%s with mask 0x%08x called by lane %d, which the mask does not name", op_name(op), mask, lane).c_str(), file, line);
    if (op != kSyncWarp && (width < 1 || width > 32 || (width & (width - 1))))
        fail(fmt("%s: width %d is not a power of two in [1, 32]", op_name(op), width).c_str(), file, line);
    f.state = kAtWarpOp;
    f.op = op; f.mask = mask; f.value = value; f.b = b; f.width = width; f.file = file; f.line = line;
    yield();
    return f.result;
}

unsigned active_mask()
{
    Fiber& f = self("__activemask");
    int first = f.tid & ~31;
    unsigned m = 0;
    for (int l = 0; l < 32 && first + l < ts.launch->nthreads; l++)
        if (ts.fibers[first + l]->state != kDone) m |= 1u << l;
    return m;
}

unsigned lane_id() { return (unsigned)(self("lane_id").tid & 31); }

void fail(const char* what, const char* file, unsigned line)
{
    Fiber& f = self(what);
    ts.launch->error = fmt("%s: %s at %s:%u in %s", where(*ts.launch).c_str(), what, file, line, tid_str(f).c_str());
    f.state = kFaulted;
    yield();
    __builtin_trap();
}

unsigned char* dyn_smem_base()
{
    if (!ts.smem)
    {
        ts.smem = static_cast<unsigned char*>(aligned_alloc(256, kMaxDynamicShared));
        if (!ts.smem) throw std::bad_alloc();
    }
    return ts.smem;
}

void register_kernel(const char* name, void* fn, void (*thunk)(void*, void**), int nparams, const int* sizes, const int* kinds)
{
    registry()[name] = Kernel{name, fn, thunk, nparams, std::vector<int>(sizes, sizes + nparams), std::vector<int>(kinds, kinds + nparams)};
}

} // namespace cuemu

using namespace cuemu;

static int set_error(char* err, int errlen, const std::string& msg)
{
    if (err && errlen > 0)
    {
        size_t n = std::min(msg.size(), (size_t)errlen - 1);
        memcpy(err, msg.data(), n);
        err[n] = 0;
    }
    return 1;
}

extern "C" __attribute__((visibility("default"))) int emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz,
    unsigned bx, unsigned by, unsigned bz, unsigned shmem, void** args, char* err, int errlen)
{
    auto& reg = registry();
    auto it = reg.find(name);
    if (it == reg.end())
    {
        std::string known;
        for (auto& [k, v] : reg) known += (known.empty() ? "" : ", ") + k;
        return set_error(err, errlen, fmt("kernel '%s' not found in the emulation library", name) + " (it has: " + known + ")");
    }
    if (ts.launch) return set_error(err, errlen, "emu_launch called from inside a kernel");
    unsigned long long threads = (unsigned long long)bx * by * bz;
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0)
        return set_error(err, errlen, fmt("kernel %s: empty launch: grid (%u, %u, %u), block (%u, %u, %u)", name, gx, gy, gz, bx, by, bz));
    if (threads > 1024 || bx > 1024 || by > 1024 || bz > 64)
        return set_error(err, errlen, fmt("kernel %s: block (%u, %u, %u) exceeds the limits (x, y <= 1024, z <= 64, 1024 threads)", name, bx, by, bz));
    if (gx > 0x7fffffffu || gy > 65535 || gz > 65535)
        return set_error(err, errlen, fmt("kernel %s: grid (%u, %u, %u) exceeds the limits (2^31 - 1, 65535, 65535)", name, gx, gy, gz));
    if (shmem > kMaxDynamicShared)
        return set_error(err, errlen, fmt("kernel %s: %u bytes of dynamic shared memory exceed the %u-byte default limit", name, shmem, kMaxDynamicShared));

    Launch L;
    L.kernel = &it->second;
    L.args = args;
    L.grid = dim3(gx, gy, gz);
    L.block = dim3(bx, by, bz);
    L.shmem = shmem;
    L.nthreads = (int)threads;
    try
    {
        while (ts.fibers.size() < threads) ts.fibers.push_back(std::make_unique<Fiber>());
        dyn_smem_base();
    }
    catch (const std::bad_alloc&)
    {
        return set_error(err, errlen, fmt("kernel %s: out of host memory for %llu fiber stacks", name, threads));
    }
    install_fault_handlers();
    LaunchSlot* slot = claim_slot();
    ts.launch = &L;
    gridDim = L.grid;
    blockDim = L.block;
    bool ok = true;
    unsigned long long linear = 0;
    for (unsigned z = 0; z < gz && ok; z++)
        for (unsigned y = 0; y < gy && ok; y++)
            for (unsigned x = 0; x < gx && ok; x++, linear++)
            {
                L.bidx = uint3{x, y, z};
                // odd blocks run their threads in reverse order, so a missing barrier between a write
                // and a read of another thread's data shows up in one direction or the other
                ok = run_block(L, (linear & 1) != 0);
            }
    ts.launch = nullptr;
    release_slot(slot);
    return ok ? 0 : set_error(err, errlen, L.error);
}

// Parameter count, sizes and kinds (1 = pointer) of a kernel; -1 if it is unknown.
extern "C" __attribute__((visibility("default"))) int emu_kernel_info(const char* name, int* sizes, int* kinds, int max)
{
    auto& reg = registry();
    auto it = reg.find(name);
    if (it == reg.end()) return -1;
    const Kernel& k = it->second;
    for (int i = 0; i < k.nparams && i < max; i++) { sizes[i] = k.sizes[i]; kinds[i] = k.kinds[i]; }
    return k.nparams;
}

extern "C" __attribute__((visibility("default"))) int emu_kernel_count() { return (int)registry().size(); }

extern "C" __attribute__((visibility("default"))) const char* emu_kernel_name(int i)
{
    auto& reg = registry();
    if (i < 0 || i >= (int)reg.size()) return nullptr;
    auto it = reg.begin();
    std::advance(it, i);
    return it->first.c_str();
}
