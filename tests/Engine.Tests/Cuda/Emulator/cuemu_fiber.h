// cuemu_fiber.h: the emulator's per-thread state, its fibers (context switching) and the capture
// of faults inside emulated threads. Private to cuemu_runtime.cpp, which includes it once.
//
// A block's threads are fibers with their own mmap'd stacks (a PROT_NONE guard page below each),
// switched by a small assembly routine on x86-64 (callee-saved registers, MXCSR and the x87 control
// word; no signal-mask system call) and by ucontext elsewhere. Faults inside an emulated thread
// (SIGSEGV from a wild pointer or a fiber stack overflow, SIGFPE from an integer division by zero,
// SIGBUS, SIGILL) are turned into launch errors: the handler marks the thread faulted and jumps
// back to the scheduler, which abandons the block. Signals raised anywhere else go to the handler
// installed before ours (the .NET runtime's).
#pragma once

#if defined(__x86_64__) && defined(__ELF__) && !defined(CUEMU_USE_UCONTEXT)
#define CUEMU_ASM_SWITCH 1
#endif

namespace cuemu {
namespace {

constexpr size_t kStackBytes = 64 * 1024;      // per emulated thread
constexpr unsigned kMaxDynamicShared = 48 * 1024; // the default limit without cuFuncSetAttribute
constexpr unsigned long long kPoison = 0x7ff8dead7fc0deadull; // NaN as f32 (low word) and f64

struct Kernel
{
    std::string name;
    void* fn;
    void (*thunk)(void*, void**);
    int nparams;
    std::vector<int> sizes, kinds;
};

std::map<std::string, Kernel>& registry()
{
    static std::map<std::string, Kernel> r;
    return r;
}

enum State : int { kRunnable, kAtBlockBarrier, kAtWarpOp, kDone, kFaulted };

struct Fiber
{
    void* sp = nullptr; // saved stack pointer (assembly switch)
#ifndef CUEMU_ASM_SWITCH
    ucontext_t uc;
#endif
    unsigned char* map = nullptr; // mmap'd region: guard page + stack
    int tid = 0;
    uint3 idx{};
    State state = kRunnable;
    // where it waits
    int op = 0;
    const char* file = "";
    unsigned line = 0;
    unsigned mask = 0;
    unsigned long long value = 0, result = 0;
    int b = 0, width = 32;
};

struct Launch
{
    const Kernel* kernel = nullptr;
    void** args = nullptr;
    dim3 grid, block;
    unsigned shmem = 0;
    uint3 bidx{};
    int nthreads = 0;
    std::string error;
};

struct ThreadState
{
    std::vector<std::unique_ptr<Fiber>> fibers;
    Fiber* current = nullptr;
    Launch* launch = nullptr;
    void* sched_sp = nullptr;
#ifndef CUEMU_ASM_SWITCH
    ucontext_t sched_uc;
#endif
    unsigned char* smem = nullptr;
    // a fault caught in a fiber (set by the signal handler, read by the scheduler)
    int fault_sig = 0, fault_code = 0;
    void* fault_addr = nullptr;
    unsigned char* altstack = nullptr; // ours, when the thread had no alternate signal stack

    ~ThreadState()
    {
        for (auto& f : fibers)
            if (f->map) munmap(f->map, kStackBytes + (size_t)getpagesize());
        free(smem);
        if (altstack)
        {
            stack_t none{};
            none.ss_flags = SS_DISABLE;
            sigaltstack(&none, nullptr);
            free(altstack);
        }
    }
};

thread_local ThreadState ts;

std::string fmt(const char* f, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}
// ------------------------------------------------------------------ context switching
#ifdef CUEMU_ASM_SWITCH
extern "C" void cuemu_switch(void** save_sp, void* new_sp);
extern "C" void cuemu_fiber_start();
// Saves the callee-saved registers, MXCSR and the x87 control word on the current stack, stores
// the stack pointer in *save_sp, and resumes the context saved at new_sp.
asm(R"(
    .text
    .p2align 4
    .type cuemu_switch, @function
cuemu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size cuemu_switch, .-cuemu_switch

    .p2align 4
    .type cuemu_fiber_start, @function
cuemu_fiber_start:
    movq %r12, %rdi
    callq *%r13
    ud2
    .size cuemu_fiber_start, .-cuemu_fiber_start
)");
#endif

void fiber_main(void* arg);

#ifndef CUEMU_ASM_SWITCH
void fiber_main_uc(unsigned hi, unsigned lo)
{
    fiber_main(reinterpret_cast<void*>(((uintptr_t)hi << 32) | lo));
}
#endif

void prepare(Fiber& f)
{
    size_t page = (size_t)getpagesize();
    if (!f.map)
    {
        void* m = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) throw std::bad_alloc();
        mprotect(m, page, PROT_NONE); // stack overflow faults instead of corrupting a neighbour
        f.map = static_cast<unsigned char*>(m);
    }
    unsigned char* lo = f.map + page;
#ifdef CUEMU_ASM_SWITCH
    auto top = reinterpret_cast<uint64_t*>(((uintptr_t)(lo + kStackBytes)) & ~(uintptr_t)15);
    uint32_t csr[2];
    asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(csr[0]), "=m"(csr[1]));
    top[-1] = (uint64_t)&cuemu_fiber_start;  // return address of the first switch
    top[-2] = 0;                             // rbp
    top[-3] = 0;                             // rbx
    top[-4] = (uint64_t)&f;                  // r12: argument
    top[-5] = (uint64_t)&fiber_main;         // r13: entry
    top[-6] = 0;                             // r14
    top[-7] = 0;                             // r15
    top[-8] = (uint64_t)(csr[0] | ((uint64_t)(csr[1] & 0xffff) << 32)); // mxcsr, x87 cw
    f.sp = top - 8;
#else
    getcontext(&f.uc);
    f.uc.uc_stack.ss_sp = lo;
    f.uc.uc_stack.ss_size = kStackBytes;
    f.uc.uc_link = nullptr;
    uintptr_t p = reinterpret_cast<uintptr_t>(&f);
    makecontext(&f.uc, reinterpret_cast<void (*)()>(&fiber_main_uc), 2, (unsigned)(p >> 32), (unsigned)p);
#endif
}

// Scheduler -> fiber.
void resume(Fiber& f)
{
    ts.current = &f;
    threadIdx = f.idx;
#ifdef CUEMU_ASM_SWITCH
    cuemu_switch(&ts.sched_sp, f.sp);
#else
    swapcontext(&ts.sched_uc, &f.uc);
#endif
    ts.current = nullptr;
}

// Fiber -> scheduler.
void yield()
{
    Fiber& f = *ts.current;
#ifdef CUEMU_ASM_SWITCH
    cuemu_switch(&f.sp, ts.sched_sp);
#else
    swapcontext(&f.uc, &ts.sched_uc);
#endif
    threadIdx = f.idx; // the scheduler restored it before resuming; kept for clarity
}

void fiber_main(void* arg)
{
    Fiber& f = *static_cast<Fiber*>(arg);
    try
    {
        ts.launch->kernel->thunk(ts.launch->kernel->fn, ts.launch->args);
        f.state = kDone;
    }
    catch (const std::exception& e)
    {
        ts.launch->error = fmt("C++ exception in thread %d: %s", f.tid, e.what());
        f.state = kFaulted;
    }
    catch (...)
    {
        ts.launch->error = fmt("C++ exception in thread %d", f.tid);
        f.state = kFaulted;
    }
    yield();
    __builtin_trap(); // a finished fiber is never resumed
}

Fiber& self(const char* what)
{
    if (!ts.current) { fprintf(stderr, "cuemu: %s called outside a kernel\n", what); abort(); }
    return *ts.current;
}

// ------------------------------------------------------------------ faults
constexpr int kFaultSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
struct sigaction g_previous[4];
std::once_flag g_handlers_once;

void chain(int sig, siginfo_t* info, void* uctx)
{
    for (int i = 0; i < 4; i++)
    {
        if (kFaultSignals[i] != sig) continue;
        const struct sigaction& old = g_previous[i];
        if (old.sa_flags & SA_SIGINFO) { old.sa_sigaction(sig, info, uctx); return; }
        if (old.sa_handler == SIG_IGN) return;
        if (old.sa_handler != SIG_DFL) { old.sa_handler(sig); return; }
        // default action: reinstall it and let the signal recur when the instruction is retried
        struct sigaction dfl{};
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(sig, &dfl, nullptr);
        return;
    }
}

// The threads inside emu_launch, found by the handler without touching thread-local storage (a
// first TLS access on a foreign thread may allocate, which a signal handler must not do).
struct LaunchSlot
{
    std::atomic<pid_t> tid{0};
    std::atomic<ThreadState*> state{nullptr};
};
LaunchSlot g_slots[256];

LaunchSlot* claim_slot()
{
    pid_t me = gettid();
    for (auto& s : g_slots)
    {
        pid_t expect = 0;
        if (s.tid.compare_exchange_strong(expect, me))
        {
            s.state.store(&ts);
            return &s;
        }
    }
    return nullptr; // more concurrent launches than slots: this one runs without fault capture
}

void release_slot(LaunchSlot* s)
{
    if (!s) return;
    s->state.store(nullptr);
    s->tid.store(0);
}

void on_fault(int sig, siginfo_t* info, void* uctx)
{
    pid_t me = gettid();
    ThreadState* st = nullptr;
    for (auto& s : g_slots)
        if (s.tid.load(std::memory_order_relaxed) == me) { st = s.state.load(); break; }
    Fiber* f = st ? st->current : nullptr;
    if (!f) { chain(sig, info, uctx); return; }
    st->fault_sig = sig;
    st->fault_code = info ? info->si_code : 0;
    st->fault_addr = info ? info->si_addr : nullptr;
    f->state = kFaulted;
    // Leave the handler for the scheduler without returning: unblock the signal first (it is
    // blocked while its handler runs) so the next fault on this thread is caught as well.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
#ifdef CUEMU_ASM_SWITCH
    void* abandoned;
    cuemu_switch(&abandoned, st->sched_sp);
#else
    setcontext(&st->sched_uc);
#endif
    __builtin_trap();
}

void install_fault_handlers()
{
    std::call_once(g_handlers_once, [] {
        for (int i = 0; i < 4; i++)
        {
            struct sigaction sa{};
            sa.sa_sigaction = &on_fault;
            sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
            sigemptyset(&sa.sa_mask);
            sigaction(kFaultSignals[i], &sa, &g_previous[i]);
        }
    });
    // A stack overflow of a fiber can only be handled on another stack.
    stack_t cur{};
    if (!ts.altstack && sigaltstack(nullptr, &cur) == 0 && (cur.ss_flags & SS_DISABLE))
    {
        size_t size = 64 * 1024;
        auto* mem = static_cast<unsigned char*>(malloc(size));
        stack_t ss{};
        ss.ss_sp = mem;
        ss.ss_size = size;
        if (mem && sigaltstack(&ss, nullptr) == 0) ts.altstack = mem;
        else free(mem);
    }
}

} // namespace
} // namespace cuemu
