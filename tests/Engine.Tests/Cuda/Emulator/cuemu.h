// cuemu.h: host emulation of the CUDA C dialect used by src/Kernels/kernels-cu, so that the same
// kernel sources compile with g++ (C++20) and run on the CPU for parity tests without a GPU.
//
// How a kernel runs (cuemu_runtime.cpp): blocks one after another on the calling OS thread; the
// threads of a block are user-space fibers that switch only at __syncthreads, __syncwarp and the
// warp intrinsics (shuffles, votes, reductions). A barrier completes when every live thread of
// the block (every lane of the mask, for warp operations) has reached it; threads that wait at
// different barriers, or warp operations whose lanes exited or diverged, abort the launch with a
// message naming the kernel, the block, the threads and the source lines.
//
// Source conventions the test build relies on (EmulatorLibrary.cs):
// - each kernel file is compiled as its own translation unit: this header, then common.cuh, then
//   the file (NVRTC's arrangement);
// - `extern __shared__ T name[];` is rewritten by the build to CUEMU_DYNAMIC_SHARED(T, name), a
//   per-OS-thread buffer of the launch's dynamic shared memory (poisoned with 0xff at each block);
// - `__shared__` variables are `static thread_local`: one instance per emulating OS thread, shared
//   by the fibers of the block being run (blocks never run concurrently on one OS thread);
// - kernels are found by their `__global__` marker after preprocessing and registered by name.
//
// Not modelled: CUDA's math library ulp errors (glibc's functions are used), fast-math intrinsics'
// reduced accuracy (__expf is expf), memory races between blocks, texture/constant memory APIs,
// cooperative groups, dynamic parallelism. Floating-point contraction follows NVRTC's default
// (--fmad=true) when the build passes -ffp-contract=fast; the __f*_rn / __d*_rn intrinsics are
// never contracted.
#pragma once

// NVRTC has no standard library, so kernel files may define their own fixed-width integer types
// (`typedef unsigned long long uint64_t;`); glibc's would conflict. The standard headers below
// declare them under other names, and the names are free again after the includes (unless a
// translation unit included <stdint.h> before this header, as cuemu_runtime.cpp does).
#ifndef _STDINT_H
#define CUEMU_RENAMED_STDINT
#define int8_t cuemu_std_int8_t
#define int16_t cuemu_std_int16_t
#define int32_t cuemu_std_int32_t
#define int64_t cuemu_std_int64_t
#define uint8_t cuemu_std_uint8_t
#define uint16_t cuemu_std_uint16_t
#define uint32_t cuemu_std_uint32_t
#define uint64_t cuemu_std_uint64_t
#define intptr_t cuemu_std_intptr_t
#define uintptr_t cuemu_std_uintptr_t
#define intmax_t cuemu_std_intmax_t
#define uintmax_t cuemu_std_uintmax_t
#endif

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <float.h>
#include <limits.h>
#include <fenv.h>
#include <cmath>
#include <atomic>
#include <limits>
#include <new>
#include <source_location>
#include <type_traits>
#include <utility>

#ifdef CUEMU_RENAMED_STDINT
#undef int8_t
#undef int16_t
#undef int32_t
#undef int64_t
#undef uint8_t
#undef uint16_t
#undef uint32_t
#undef uint64_t
#undef intptr_t
#undef uintptr_t
#undef intmax_t
#undef uintmax_t
#undef CUEMU_RENAMED_STDINT
#endif

// ------------------------------------------------------------------ dialect macros
#define __CUDACC__ 1
#define __CUDACC_RTC__ 1
#ifndef __CUDA_ARCH__
#define __CUDA_ARCH__ 800
#endif
#define CUEMU 1

// Marker found in the preprocessed text by the build's kernel scanner; keep in sync with
// EmulatorLibrary.KernelMarker.
#define __global__ __attribute__((noinline, used))
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
#define __shared__ static thread_local
#define __constant__ static
#define __managed__ static
#define CUEMU_DYNAMIC_SHARED(T, name) \
    static thread_local T* const name = reinterpret_cast<T*>(::cuemu::dyn_smem_base())

// ------------------------------------------------------------------ built-in vector types
#define CUEMU_VEC2(T, N, A) struct __attribute__((aligned(A))) N##2 { T x, y; }; \
    inline N##2 make_##N##2(T x, T y) { return N##2{x, y}; }
#define CUEMU_VEC3(T, N) struct N##3 { T x, y, z; }; \
    inline N##3 make_##N##3(T x, T y, T z) { return N##3{x, y, z}; }
#define CUEMU_VEC4(T, N, A) struct __attribute__((aligned(A))) N##4 { T x, y, z, w; }; \
    inline N##4 make_##N##4(T x, T y, T z, T w) { return N##4{x, y, z, w}; }
CUEMU_VEC2(float, float, 8) CUEMU_VEC3(float, float) CUEMU_VEC4(float, float, 16)
CUEMU_VEC2(double, double, 16) CUEMU_VEC3(double, double) CUEMU_VEC4(double, double, 16)
CUEMU_VEC2(int, int, 8) CUEMU_VEC3(int, int) CUEMU_VEC4(int, int, 16)
CUEMU_VEC2(unsigned int, uint, 8) CUEMU_VEC3(unsigned int, uint) CUEMU_VEC4(unsigned int, uint, 16)
CUEMU_VEC2(long long, longlong, 16) CUEMU_VEC2(unsigned long long, ulonglong, 16)
CUEMU_VEC2(short, short, 4) CUEMU_VEC4(short, short, 8)
CUEMU_VEC2(unsigned char, uchar, 2) CUEMU_VEC4(unsigned char, uchar, 4)
CUEMU_VEC2(char, char, 2) CUEMU_VEC4(char, char, 4)
#undef CUEMU_VEC2
#undef CUEMU_VEC3
#undef CUEMU_VEC4

struct dim3
{
    unsigned int x, y, z;
    constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return uint3{x, y, z}; }
};

// The built-in index variables: set by the scheduler before it switches to a thread's fiber.
inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;
inline constexpr int warpSize = 32;

// ------------------------------------------------------------------ runtime interface
namespace cuemu {

enum WarpOp : int
{
    kSyncWarp, kShflIdx, kShflUp, kShflDown, kShflXor, kBallot, kAny, kAll,
    kReduceAddU, kReduceMinU, kReduceMaxU, kReduceMinI, kReduceMaxI, kReduceAnd, kReduceOr, kReduceXor,
};
enum BlockOp : int { kSync, kSyncCount, kSyncAnd, kSyncOr };

// Defined in cuemu_runtime.cpp.
int block_barrier(int op, int pred, const char* file, unsigned line);
unsigned long long warp_op(int op, unsigned mask, unsigned long long value, int b, int width, const char* file, unsigned line);
unsigned active_mask();
unsigned lane_id();
[[noreturn]] void fail(const char* what, const char* file, unsigned line);
unsigned char* dyn_smem_base();
void register_kernel(const char* name, void* fn, void (*thunk)(void*, void**), int nparams, const int* sizes, const int* kinds);

template <class T>
inline unsigned long long to_bits(T v)
{
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "warp intrinsics move at most 8 bytes");
    unsigned long long b = 0;
    memcpy(&b, &v, sizeof(T));
    return b;
}

template <class T>
inline T from_bits(unsigned long long b)
{
    T v;
    memcpy(&v, &b, sizeof(T));
    return v;
}

template <class T>
inline T load_arg(void* p)
{
    // Arguments sit in 8-byte aligned slots; copy so over-aligned types are read correctly.
    alignas(T) unsigned char buf[sizeof(T)];
    memcpy(buf, p, sizeof(T));
    return *std::launder(reinterpret_cast<T*>(buf));
}

template <class... A>
void invoke(void* f, void** a)
{
    [&]<size_t... I>(std::index_sequence<I...>) {
        reinterpret_cast<void (*)(A...)>(f)(load_arg<A>(a[I])...);
    }(std::index_sequence_for<A...>{});
}

struct Registrar
{
    template <class... A>
    Registrar(const char* name, void (*f)(A...))
    {
        static_assert((std::is_trivially_copyable_v<A> && ...), "kernel parameters must be trivially copyable");
        const int sizes[sizeof...(A) + 1] = {(int)sizeof(A)..., 0};
        const int kinds[sizeof...(A) + 1] = {(std::is_pointer_v<A> ? 1 : 0)..., 0};
        register_kernel(name, reinterpret_cast<void*>(f), &invoke<A...>, (int)sizeof...(A), sizes, kinds);
    }
};

using loc = std::source_location;

// Operations the compiler must not fuse or reorder (the _rn intrinsics): an empty asm makes the
// value opaque, so no FMA contraction spans the call.
#if defined(__x86_64__)
#define CUEMU_FP_REG "+x"
#elif defined(__aarch64__)
#define CUEMU_FP_REG "+w"
#else
#define CUEMU_FP_REG "+m"
#endif
template <class T>
inline T opaque(T v)
{
    if constexpr (std::is_floating_point_v<T>) asm("" : CUEMU_FP_REG(v));
    else asm("" : "+r"(v));
    return v;
}

template <class F>
inline auto with_rounding(int mode, F f)
{
    int old = fegetround();
    fesetround(mode);
    auto r = f();
    asm volatile("" : CUEMU_FP_REG(r));
    fesetround(old);
    return r;
}

} // namespace cuemu

// ------------------------------------------------------------------ synchronization
inline void __syncthreads(cuemu::loc l = cuemu::loc::current()) { cuemu::block_barrier(cuemu::kSync, 0, l.file_name(), l.line()); }
inline int __syncthreads_count(int p, cuemu::loc l = cuemu::loc::current()) { return cuemu::block_barrier(cuemu::kSyncCount, p != 0, l.file_name(), l.line()); }
inline int __syncthreads_and(int p, cuemu::loc l = cuemu::loc::current()) { return cuemu::block_barrier(cuemu::kSyncAnd, p != 0, l.file_name(), l.line()); }
inline int __syncthreads_or(int p, cuemu::loc l = cuemu::loc::current()) { return cuemu::block_barrier(cuemu::kSyncOr, p != 0, l.file_name(), l.line()); }
inline void __syncwarp(unsigned mask = 0xffffffffu, cuemu::loc l = cuemu::loc::current()) { cuemu::warp_op(cuemu::kSyncWarp, mask, 0, 0, 32, l.file_name(), l.line()); }
inline void __threadfence() {}
inline void __threadfence_block() {}
inline void __threadfence_system() {}
inline unsigned __activemask() { return cuemu::active_mask(); }
[[noreturn]] inline void __trap(cuemu::loc l = cuemu::loc::current()) { cuemu::fail("__trap()", l.file_name(), l.line()); }
[[noreturn]] inline void __brkpt(cuemu::loc l = cuemu::loc::current()) { cuemu::fail("__brkpt()", l.file_name(), l.line()); }
inline void __nanosleep(unsigned) {}
#ifndef assert
#define assert(e) ((e) ? (void)0 : ::cuemu::fail("assertion failed: " #e, __FILE__, __LINE__))
#endif

// ------------------------------------------------------------------ warp intrinsics
template <class T>
inline T __shfl_sync(unsigned mask, T var, int srcLane, int width = 32, cuemu::loc l = cuemu::loc::current())
{ return cuemu::from_bits<T>(cuemu::warp_op(cuemu::kShflIdx, mask, cuemu::to_bits(var), srcLane, width, l.file_name(), l.line())); }
template <class T>
inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32, cuemu::loc l = cuemu::loc::current())
{ return cuemu::from_bits<T>(cuemu::warp_op(cuemu::kShflUp, mask, cuemu::to_bits(var), (int)delta, width, l.file_name(), l.line())); }
template <class T>
inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32, cuemu::loc l = cuemu::loc::current())
{ return cuemu::from_bits<T>(cuemu::warp_op(cuemu::kShflDown, mask, cuemu::to_bits(var), (int)delta, width, l.file_name(), l.line())); }
template <class T>
inline T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = 32, cuemu::loc l = cuemu::loc::current())
{ return cuemu::from_bits<T>(cuemu::warp_op(cuemu::kShflXor, mask, cuemu::to_bits(var), laneMask, width, l.file_name(), l.line())); }
inline unsigned __ballot_sync(unsigned mask, int pred, cuemu::loc l = cuemu::loc::current())
{ return (unsigned)cuemu::warp_op(cuemu::kBallot, mask, pred != 0, 0, 32, l.file_name(), l.line()); }
inline int __any_sync(unsigned mask, int pred, cuemu::loc l = cuemu::loc::current())
{ return (int)cuemu::warp_op(cuemu::kAny, mask, pred != 0, 0, 32, l.file_name(), l.line()); }
inline int __all_sync(unsigned mask, int pred, cuemu::loc l = cuemu::loc::current())
{ return (int)cuemu::warp_op(cuemu::kAll, mask, pred != 0, 0, 32, l.file_name(), l.line()); }
inline unsigned __reduce_add_sync(unsigned mask, unsigned v, cuemu::loc l = cuemu::loc::current())
{ return (unsigned)cuemu::warp_op(cuemu::kReduceAddU, mask, v, 0, 32, l.file_name(), l.line()); }
inline unsigned __reduce_min_sync(unsigned mask, unsigned v, cuemu::loc l = cuemu::loc::current())
{ return (unsigned)cuemu::warp_op(cuemu::kReduceMinU, mask, v, 0, 32, l.file_name(), l.line()); }
inline unsigned __reduce_max_sync(unsigned mask, unsigned v, cuemu::loc l = cuemu::loc::current())
{ return (unsigned)cuemu::warp_op(cuemu::kReduceMaxU, mask, v, 0, 32, l.file_name(), l.line()); }
inline int __reduce_min_sync(unsigned mask, int v, cuemu::loc l = cuemu::loc::current())
{ return (int)cuemu::warp_op(cuemu::kReduceMinI, mask, (unsigned)v, 0, 32, l.file_name(), l.line()); }
inline int __reduce_max_sync(unsigned mask, int v, cuemu::loc l = cuemu::loc::current())
{ return (int)cuemu::warp_op(cuemu::kReduceMaxI, mask, (unsigned)v, 0, 32, l.file_name(), l.line()); }
inline int __reduce_add_sync(unsigned mask, int v, cuemu::loc l = cuemu::loc::current())
{ return (int)cuemu::warp_op(cuemu::kReduceAddU, mask, (unsigned)v, 0, 32, l.file_name(), l.line()); }
inline unsigned __reduce_and_sync(unsigned mask, unsigned v, cuemu::loc l = cuemu::loc::current())
{ return (unsigned)cuemu::warp_op(cuemu::kReduceAnd, mask, v, 0, 32, l.file_name(), l.line()); }
inline unsigned __reduce_or_sync(unsigned mask, unsigned v, cuemu::loc l = cuemu::loc::current())
{ return (unsigned)cuemu::warp_op(cuemu::kReduceOr, mask, v, 0, 32, l.file_name(), l.line()); }
inline unsigned __reduce_xor_sync(unsigned mask, unsigned v, cuemu::loc l = cuemu::loc::current())
{ return (unsigned)cuemu::warp_op(cuemu::kReduceXor, mask, v, 0, 32, l.file_name(), l.line()); }

// ------------------------------------------------------------------ atomics
// Every fiber of a launch runs on one OS thread and switches only at barriers, so a read-modify-write
// is never interleaved within a launch; std::atomic_ref keeps concurrent launches on other threads safe.
template <class T> inline T atomicAdd(T* p, std::type_identity_t<T> v) { return std::atomic_ref<T>(*p).fetch_add(v); }
template <class T> inline T atomicSub(T* p, std::type_identity_t<T> v) { return std::atomic_ref<T>(*p).fetch_sub(v); }
template <class T> inline T atomicExch(T* p, std::type_identity_t<T> v) { return std::atomic_ref<T>(*p).exchange(v); }
template <class T> inline T atomicAnd(T* p, std::type_identity_t<T> v) { return std::atomic_ref<T>(*p).fetch_and(v); }
template <class T> inline T atomicOr(T* p, std::type_identity_t<T> v) { return std::atomic_ref<T>(*p).fetch_or(v); }
template <class T> inline T atomicXor(T* p, std::type_identity_t<T> v) { return std::atomic_ref<T>(*p).fetch_xor(v); }
template <class T> inline T atomicCAS(T* p, std::type_identity_t<T> cmp, std::type_identity_t<T> v)
{
    std::atomic_ref<T>(*p).compare_exchange_strong(cmp, v);
    return cmp; // the old value whether or not the swap happened
}
template <class T, class F> inline T cuemu_atomic_update(T* p, F f)
{
    std::atomic_ref<T> r(*p);
    T old = r.load();
    while (!r.compare_exchange_weak(old, f(old))) {}
    return old;
}
template <class T> inline T atomicMax(T* p, std::type_identity_t<T> v) { return cuemu_atomic_update(p, [v](T o) { return o < v ? v : o; }); }
template <class T> inline T atomicMin(T* p, std::type_identity_t<T> v) { return cuemu_atomic_update(p, [v](T o) { return v < o ? v : o; }); }
inline unsigned atomicInc(unsigned* p, unsigned v) { return cuemu_atomic_update(p, [v](unsigned o) { return o >= v ? 0u : o + 1; }); }
inline unsigned atomicDec(unsigned* p, unsigned v) { return cuemu_atomic_update(p, [v](unsigned o) { return (o == 0 || o > v) ? v : o - 1; }); }
#define CUEMU_SCOPED(op) \
    template <class... A> inline auto op##_block(A... a) { return op(a...); } \
    template <class... A> inline auto op##_system(A... a) { return op(a...); }
CUEMU_SCOPED(atomicAdd) CUEMU_SCOPED(atomicSub) CUEMU_SCOPED(atomicExch) CUEMU_SCOPED(atomicMax)
CUEMU_SCOPED(atomicMin) CUEMU_SCOPED(atomicCAS) CUEMU_SCOPED(atomicAnd) CUEMU_SCOPED(atomicOr) CUEMU_SCOPED(atomicXor)
#undef CUEMU_SCOPED

// ------------------------------------------------------------------ loads and stores
template <class T> inline T __ldg(const T* p) { return *p; }
template <class T> inline T __ldcg(const T* p) { return *p; }
template <class T> inline T __ldca(const T* p) { return *p; }
template <class T> inline T __ldcs(const T* p) { return *p; }
template <class T> inline T __ldlu(const T* p) { return *p; }
template <class T> inline T __ldcv(const T* p) { return *p; }
template <class T> inline void __stwb(T* p, T v) { *p = v; }
template <class T> inline void __stcg(T* p, T v) { *p = v; }
template <class T> inline void __stcs(T* p, T v) { *p = v; }
template <class T> inline void __stwt(T* p, T v) { *p = v; }

// ------------------------------------------------------------------ min / max (CUDA's overload set)
template <class A, class B>
    requires std::is_arithmetic_v<A> && std::is_arithmetic_v<B>
inline auto min(A a, B b)
{
    using C = std::common_type_t<A, B>;
    if constexpr (std::is_floating_point_v<C>) return (C)std::fmin((C)a, (C)b);
    else return (C)a < (C)b ? (C)a : (C)b;
}
template <class A, class B>
    requires std::is_arithmetic_v<A> && std::is_arithmetic_v<B>
inline auto max(A a, B b)
{
    using C = std::common_type_t<A, B>;
    if constexpr (std::is_floating_point_v<C>) return (C)std::fmax((C)a, (C)b);
    else return (C)a > (C)b ? (C)a : (C)b;
}
inline unsigned int umin(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned int umax(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long llmin(long long a, long long b) { return a < b ? a : b; }
inline long long llmax(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long ullmin(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long ullmax(unsigned long long a, unsigned long long b) { return a > b ? a : b; }

// ------------------------------------------------------------------ bit reinterpretation and conversions
inline int __float_as_int(float x) { int r; memcpy(&r, &x, 4); return r; }
inline unsigned __float_as_uint(float x) { unsigned r; memcpy(&r, &x, 4); return r; }
inline float __int_as_float(int x) { float r; memcpy(&r, &x, 4); return r; }
inline float __uint_as_float(unsigned x) { float r; memcpy(&r, &x, 4); return r; }
inline long long __double_as_longlong(double x) { long long r; memcpy(&r, &x, 8); return r; }
inline double __longlong_as_double(long long x) { double r; memcpy(&r, &x, 8); return r; }
inline int __double2hiint(double x) { return (int)(__double_as_longlong(x) >> 32); }
inline int __double2loint(double x) { return (int)(unsigned)__double_as_longlong(x); }
inline double __hiloint2double(int hi, int lo) { return __longlong_as_double((long long)(((unsigned long long)(unsigned)hi << 32) | (unsigned)lo)); }

namespace cuemu {
// GPU conversions saturate and map NaN to 0 instead of being undefined.
template <class I, class F>
inline I sat(F v)
{
    if (v != v) return 0;
    if (v <= (F)std::numeric_limits<I>::min()) return std::numeric_limits<I>::min();
    if (v >= (F)std::numeric_limits<I>::max()) return std::numeric_limits<I>::max();
    return (I)v;
}
} // namespace cuemu
#define CUEMU_F2I(F, FN, I, IN) \
    inline I __##FN##2##IN##_rn(F x) { return cuemu::sat<I>(std::nearbyint(x)); } \
    inline I __##FN##2##IN##_rz(F x) { return cuemu::sat<I>(std::trunc(x)); } \
    inline I __##FN##2##IN##_rd(F x) { return cuemu::sat<I>(std::floor(x)); } \
    inline I __##FN##2##IN##_ru(F x) { return cuemu::sat<I>(std::ceil(x)); }
CUEMU_F2I(float, float, int, int) CUEMU_F2I(float, float, unsigned, uint) CUEMU_F2I(float, float, long long, ll)
CUEMU_F2I(float, float, unsigned long long, ull) CUEMU_F2I(double, double, int, int) CUEMU_F2I(double, double, unsigned, uint)
CUEMU_F2I(double, double, long long, ll) CUEMU_F2I(double, double, unsigned long long, ull)
#undef CUEMU_F2I
#define CUEMU_TO_F(I, IN) \
    inline float __##IN##2float_rn(I x) { return (float)x; } \
    inline float __##IN##2float_rz(I x) { return cuemu::with_rounding(FE_TOWARDZERO, [&] { return (float)cuemu::opaque(x); }); } \
    inline float __##IN##2float_rd(I x) { return cuemu::with_rounding(FE_DOWNWARD, [&] { return (float)cuemu::opaque(x); }); } \
    inline float __##IN##2float_ru(I x) { return cuemu::with_rounding(FE_UPWARD, [&] { return (float)cuemu::opaque(x); }); } \
    inline double __##IN##2double_rn(I x) { return (double)x; }
CUEMU_TO_F(int, int) CUEMU_TO_F(unsigned, uint) CUEMU_TO_F(long long, ll) CUEMU_TO_F(unsigned long long, ull)
#undef CUEMU_TO_F
inline float __double2float_rn(double x) { return (float)x; }
inline float __double2float_rz(double x) { return cuemu::with_rounding(FE_TOWARDZERO, [&] { return (float)cuemu::opaque(x); }); }
inline float __double2float_rd(double x) { return cuemu::with_rounding(FE_DOWNWARD, [&] { return (float)cuemu::opaque(x); }); }
inline float __double2float_ru(double x) { return cuemu::with_rounding(FE_UPWARD, [&] { return (float)cuemu::opaque(x); }); }

// ------------------------------------------------------------------ integer intrinsics
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) { return (unsigned long long)(((unsigned __int128)a * b) >> 64); }
inline long long __mul64hi(long long a, long long b) { return (long long)(((__int128)a * b) >> 64); }
inline int __mul24(int a, int b) { return (int)((long long)((a << 8) >> 8) * ((b << 8) >> 8)); }
inline unsigned __umul24(unsigned a, unsigned b) { return (a & 0xffffffu) * (b & 0xffffffu); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x)
{
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(x);
}
inline unsigned long long __brevll(unsigned long long x) { return ((unsigned long long)__brev((unsigned)x) << 32) | __brev((unsigned)(x >> 32)); }
inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s)
{
    unsigned long long v = ((unsigned long long)y << 32) | x;
    unsigned r = 0;
    for (int i = 0; i < 4; i++) r |= (unsigned)((v >> (8 * ((s >> (4 * i)) & 7))) & 0xff) << (8 * i);
    return r;
}
inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned s) { return (unsigned)((((unsigned long long)hi << 32 | lo) << (s & 31)) >> 32); }
inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned s) { return (unsigned)(((unsigned long long)hi << 32 | lo) >> (s & 31)); }
inline unsigned __sad(int x, int y, unsigned z) { return (unsigned)(x > y ? x - y : y - x) + z; }
inline unsigned __usad(unsigned x, unsigned y, unsigned z) { return (x > y ? x - y : y - x) + z; }
inline int __hadd(int a, int b) { return (int)(((long long)a + b) >> 1); }
inline int __rhadd(int a, int b) { return (int)(((long long)a + b + 1) >> 1); }

// ------------------------------------------------------------------ floating-point intrinsics
#define CUEMU_ROUNDED(T, S, name, expr) \
    inline T __##S##name##_rn(T a, T b) { a = cuemu::opaque(a); b = cuemu::opaque(b); return cuemu::opaque((T)(expr)); } \
    inline T __##S##name##_rz(T a, T b) { return cuemu::with_rounding(FE_TOWARDZERO, [&] { a = cuemu::opaque(a); b = cuemu::opaque(b); return (T)(expr); }); } \
    inline T __##S##name##_ru(T a, T b) { return cuemu::with_rounding(FE_UPWARD, [&] { a = cuemu::opaque(a); b = cuemu::opaque(b); return (T)(expr); }); } \
    inline T __##S##name##_rd(T a, T b) { return cuemu::with_rounding(FE_DOWNWARD, [&] { a = cuemu::opaque(a); b = cuemu::opaque(b); return (T)(expr); }); }
CUEMU_ROUNDED(float, f, add, a + b) CUEMU_ROUNDED(float, f, sub, a - b) CUEMU_ROUNDED(float, f, mul, a * b) CUEMU_ROUNDED(float, f, div, a / b)
CUEMU_ROUNDED(double, d, add, a + b) CUEMU_ROUNDED(double, d, sub, a - b) CUEMU_ROUNDED(double, d, mul, a * b) CUEMU_ROUNDED(double, d, div, a / b)
#undef CUEMU_ROUNDED
#define CUEMU_ROUNDED1(T, name, expr) \
    inline T name##_rn(T a) { a = cuemu::opaque(a); return cuemu::opaque((T)(expr)); } \
    inline T name##_rz(T a) { return cuemu::with_rounding(FE_TOWARDZERO, [&] { a = cuemu::opaque(a); return (T)(expr); }); } \
    inline T name##_ru(T a) { return cuemu::with_rounding(FE_UPWARD, [&] { a = cuemu::opaque(a); return (T)(expr); }); } \
    inline T name##_rd(T a) { return cuemu::with_rounding(FE_DOWNWARD, [&] { a = cuemu::opaque(a); return (T)(expr); }); }
CUEMU_ROUNDED1(float, __fsqrt, std::sqrt(a)) CUEMU_ROUNDED1(float, __frcp, 1.0f / a)
CUEMU_ROUNDED1(double, __dsqrt, std::sqrt(a)) CUEMU_ROUNDED1(double, __drcp, 1.0 / a)
#undef CUEMU_ROUNDED1
#define CUEMU_FMA(T, name, fn) \
    inline T name##_rn(T a, T b, T c) { return fn(a, b, c); } \
    inline T name##_rz(T a, T b, T c) { return cuemu::with_rounding(FE_TOWARDZERO, [&] { return fn(cuemu::opaque(a), b, c); }); } \
    inline T name##_ru(T a, T b, T c) { return cuemu::with_rounding(FE_UPWARD, [&] { return fn(cuemu::opaque(a), b, c); }); } \
    inline T name##_rd(T a, T b, T c) { return cuemu::with_rounding(FE_DOWNWARD, [&] { return fn(cuemu::opaque(a), b, c); }); }
CUEMU_FMA(float, __fmaf, fmaf) CUEMU_FMA(double, __fma, fma)
#undef CUEMU_FMA
inline float __frsqrt_rn(float x) { return cuemu::opaque(1.0f / cuemu::opaque(sqrtf(x))); }
inline float __saturatef(float x) { return x != x ? 0.0f : x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }
inline float __fdividef(float a, float b) { return a / b; }
inline float fdividef(float a, float b) { return a / b; }
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return exp10f(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __powf(float a, float b) { return powf(a, b); }
inline void __sincosf(float x, float* s, float* c) { sincosf(x, s, c); }

// ------------------------------------------------------------------ CUDA-only math functions
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float rcbrtf(float x) { return 1.0f / cbrtf(x); }
inline double rcbrt(double x) { return 1.0 / cbrt(x); }
inline float sinpif(float x) { return (float)sin(M_PI * (double)x); }
inline float cospif(float x) { return (float)cos(M_PI * (double)x); }
inline double sinpi(double x) { return sin(M_PI * x); }
inline double cospi(double x) { return cos(M_PI * x); }
inline void sincospif(float x, float* s, float* c) { *s = sinpif(x); *c = cospif(x); }
inline void sincospi(double x, double* s, double* c) { *s = sinpi(x); *c = cospi(x); }
inline float normcdff(float x) { return 0.5f * erfcf(-x * (float)M_SQRT1_2); }
inline double normcdf(double x) { return 0.5 * erfc(-x * M_SQRT1_2); }
inline float rhypotf(float a, float b) { return 1.0f / hypotf(a, b); }
inline double rhypot(double a, double b) { return 1.0 / hypot(a, b); }
inline float norm3df(float a, float b, float c) { return sqrtf(a * a + b * b + c * c); }
inline double norm3d(double a, double b, double c) { return sqrt(a * a + b * b + c * c); }
inline float erfcxf(float x) { return (float)(exp((double)x * x) * erfc((double)x)); }
inline double erfcx(double x) { return exp(x * x) * erfc(x); }
// erfinv / erfcinv: a starting point refined by Newton steps on erf / erfc (double precision).
inline double erfinv(double y)
{
    if (y <= -1) return y == -1 ? -INFINITY : NAN;
    if (y >= 1) return y == 1 ? INFINITY : NAN;
    double w = -log((1.0 - y) * (1.0 + y)), x;
    if (w < 5.0) { w -= 2.5; x = y * (1.50140941 + w * (0.246640727 + w * (-0.00417768164 + w * (-0.00125372503 + w * 0.00021858087)))); }
    else { w = sqrt(w) - 3.0; x = y * (2.83297682 + w * (1.00167406 + w * (0.00943887047 + w * (-0.0076224613 + w * 0.00573950773)))); }
    for (int i = 0; i < 3; i++) x -= (erf(x) - y) / (M_2_SQRTPI * exp(-x * x));
    return x;
}
inline double erfcinv(double y)
{
    if (y <= 0) return y == 0 ? INFINITY : NAN;
    if (y >= 2) return y == 2 ? -INFINITY : NAN;
    if (y > 0.0625 && y < 1.9375) return erfinv(1.0 - y);
    bool neg = y > 1;
    double t = neg ? 2.0 - y : y;
    double x = sqrt(-log(t)); // tail start; Newton on erfc(x) = t
    for (int i = 0; i < 30; i++)
    {
        double dx = (erfc(x) - t) / (-M_2_SQRTPI * exp(-x * x));
        x -= dx;
        if (fabs(dx) <= 1e-16 * fabs(x)) break;
    }
    return neg ? -x : x;
}
inline float erfinvf(float y) { return (float)erfinv((double)y); }
inline float erfcinvf(float y) { return (float)erfcinv((double)y); }
inline double normcdfinv(double p) { return -M_SQRT2 * erfcinv(2.0 * p); }
inline float normcdfinvf(float p) { return (float)normcdfinv((double)p); }
#ifndef CUDART_INF_F
#define CUDART_INF_F __int_as_float(0x7f800000)
#define CUDART_NAN_F __int_as_float(0x7fffffff)
#define CUDART_INF __longlong_as_double(0x7ff0000000000000LL)
#define CUDART_NAN __longlong_as_double(0xfff8000000000000ULL)
#define CUDART_PI_F 3.141592654f
#define CUDART_PI 3.1415926535897931e+0
#endif
