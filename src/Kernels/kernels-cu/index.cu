// Gather / scatter-add / index-select / index-add along one axis of contiguous buffers viewed as
// (outer, dim, inner) (CudaBackend.Spatial.cs), the CUDA twins of Engine.Cpu.Kernels.IndexKernels.
// Index buffers are int32 and contiguous.
//
// Index validation: the host runs these with a zeroed int flag `bad`. index_check_i32 raises it for any
// index outside [0, bound) and runs BEFORE scatter_add / index_add, so nothing is accumulated when an
// index is bad (as on the CPU). gather / index_select check inline (a bad index raises the flag and
// writes 0 instead of reading out of bounds). Every kernel also skips bad indices, so memory is never
// touched out of bounds. The host reads the flag back and reports the first bad index like the CPU.
//
// Determinism: gather and index_select write each output once (deterministic). scatter_add and
// index_add have two forms chosen by the host from the shape:
//   - column form (scatter_add_<t>, index_add_<t>): one thread per (outer, inner) column walks the
//     indexed axis in increasing j, exactly the CPU's order: deterministic and bitwise equal to the CPU;
//   - atomic form (scatter_add_atomic_<t>, index_add_atomic_<t>): one thread per source element,
//     atomicAdd into y: used when there are too few columns to fill the GPU; duplicate indices then
//     accumulate in an unspecified order (nondeterministic in the last bits when an element receives
//     two or more additions onto a nonzero y, or three or more in general).

namespace indexing
{

template <typename T>
__device__ __forceinline__ void gather(const T* __restrict__ x, const int* __restrict__ idx, T* __restrict__ y,
    long long total, long long dimIdx, long long inner, int dimX, int* __restrict__ bad)
{
    GRID_STRIDE_LOOP(k, total)
    {
        long long q = k / inner;
        long long i = k - q * inner;
        long long o = q / dimIdx;
        int v = idx[k];
        if ((unsigned)v >= (unsigned)dimX) { *bad = 1; y[k] = (T)0; continue; }
        y[k] = x[(o * dimX + v) * inner + i];
    }
}

template <typename T>
__device__ __forceinline__ void index_select(const T* __restrict__ x, const int* __restrict__ idx, T* __restrict__ y,
    long long total, long long nIdx, long long inner, int dimX, int* __restrict__ bad)
{
    GRID_STRIDE_LOOP(k, total)
    {
        long long q = k / inner;
        long long i = k - q * inner;
        long long o = q / nIdx;
        long long j = q - o * nIdx;
        int v = idx[j];
        if ((unsigned)v >= (unsigned)dimX) { *bad = 1; y[k] = (T)0; continue; }
        y[k] = x[(o * dimX + v) * inner + i];
    }
}

// y[o, idx[o, j, i], i] += src[o, j, i], one thread per (o, i), j increasing.
template <typename T>
__device__ __forceinline__ void scatter_add_columns(T* __restrict__ y, const int* __restrict__ idx, const T* __restrict__ src,
    long long outer, long long dimIdx, long long inner, int dimY)
{
    GRID_STRIDE_LOOP(c, outer * inner)
    {
        long long o = c / inner;
        long long i = c - o * inner;
        T* ys = y + o * dimY * inner + i;
        long long at = o * dimIdx * inner + i;
        for (long long j = 0; j < dimIdx; j++, at += inner)
        {
            int v = idx[at];
            if ((unsigned)v >= (unsigned)dimY) continue;
            ys[(long long)v * inner] += src[at];
        }
    }
}

template <typename T>
__device__ __forceinline__ void scatter_add_atomic(T* __restrict__ y, const int* __restrict__ idx, const T* __restrict__ src,
    long long total, long long dimIdx, long long inner, int dimY)
{
    GRID_STRIDE_LOOP(k, total)
    {
        long long q = k / inner;
        long long i = k - q * inner;
        long long o = q / dimIdx;
        int v = idx[k];
        if ((unsigned)v >= (unsigned)dimY) continue;
        atomicAdd(y + (o * dimY + v) * inner + i, src[k]);
    }
}

// y[o, idx[j], i] += src[o, j, i], one thread per (o, i), j increasing.
template <typename T>
__device__ __forceinline__ void index_add_columns(T* __restrict__ y, const int* __restrict__ idx, const T* __restrict__ src,
    long long outer, long long nIdx, long long inner, int dimY)
{
    GRID_STRIDE_LOOP(c, outer * inner)
    {
        long long o = c / inner;
        long long i = c - o * inner;
        T* ys = y + o * dimY * inner + i;
        const T* ss = src + o * nIdx * inner + i;
        for (long long j = 0; j < nIdx; j++)
        {
            int v = idx[j];
            if ((unsigned)v >= (unsigned)dimY) continue;
            ys[(long long)v * inner] += ss[j * inner];
        }
    }
}

template <typename T>
__device__ __forceinline__ void index_add_atomic(T* __restrict__ y, const int* __restrict__ idx, const T* __restrict__ src,
    long long total, long long nIdx, long long inner, int dimY)
{
    GRID_STRIDE_LOOP(k, total)
    {
        long long q = k / inner;
        long long i = k - q * inner;
        long long o = q / nIdx;
        long long j = q - o * nIdx;
        int v = idx[j];
        if ((unsigned)v >= (unsigned)dimY) continue;
        atomicAdd(y + (o * dimY + v) * inner + i, src[k]);
    }
}

} // namespace indexing

// ------------------------------------------------------------------------------------ entry points

// Raises *bad when some idx[k], k < n, is outside [0, bound).
extern "C" __global__ void index_check_i32(const int* idx, long long n, int bound, int* bad)
{
    GRID_STRIDE_LOOP(k, n)
    {
        if ((unsigned)idx[k] >= (unsigned)bound) *bad = 1;
    }
}

extern "C" __global__ void gather_f32(const float* x, const int* idx, float* y, long long total, long long dimIdx,
    long long inner, int dimX, int* bad)
{ indexing::gather<float>(x, idx, y, total, dimIdx, inner, dimX, bad); }

extern "C" __global__ void index_select_f32(const float* x, const int* idx, float* y, long long total, long long nIdx,
    long long inner, int dimX, int* bad)
{ indexing::index_select<float>(x, idx, y, total, nIdx, inner, dimX, bad); }

extern "C" __global__ void scatter_add_f32(float* y, const int* idx, const float* src, long long outer, long long dimIdx,
    long long inner, int dimY)
{ indexing::scatter_add_columns<float>(y, idx, src, outer, dimIdx, inner, dimY); }

extern "C" __global__ void scatter_add_atomic_f32(float* y, const int* idx, const float* src, long long total, long long dimIdx,
    long long inner, int dimY)
{ indexing::scatter_add_atomic<float>(y, idx, src, total, dimIdx, inner, dimY); }

extern "C" __global__ void index_add_f32(float* y, const int* idx, const float* src, long long outer, long long nIdx,
    long long inner, int dimY)
{ indexing::index_add_columns<float>(y, idx, src, outer, nIdx, inner, dimY); }

extern "C" __global__ void index_add_atomic_f32(float* y, const int* idx, const float* src, long long total, long long nIdx,
    long long inner, int dimY)
{ indexing::index_add_atomic<float>(y, idx, src, total, nIdx, inner, dimY); }

extern "C" __global__ void gather_f64(const double* x, const int* idx, double* y, long long total, long long dimIdx,
    long long inner, int dimX, int* bad)
{ indexing::gather<double>(x, idx, y, total, dimIdx, inner, dimX, bad); }

extern "C" __global__ void index_select_f64(const double* x, const int* idx, double* y, long long total, long long nIdx,
    long long inner, int dimX, int* bad)
{ indexing::index_select<double>(x, idx, y, total, nIdx, inner, dimX, bad); }

extern "C" __global__ void scatter_add_f64(double* y, const int* idx, const double* src, long long outer, long long dimIdx,
    long long inner, int dimY)
{ indexing::scatter_add_columns<double>(y, idx, src, outer, dimIdx, inner, dimY); }

extern "C" __global__ void scatter_add_atomic_f64(double* y, const int* idx, const double* src, long long total, long long dimIdx,
    long long inner, int dimY)
{ indexing::scatter_add_atomic<double>(y, idx, src, total, dimIdx, inner, dimY); }

extern "C" __global__ void index_add_f64(double* y, const int* idx, const double* src, long long outer, long long nIdx,
    long long inner, int dimY)
{ indexing::index_add_columns<double>(y, idx, src, outer, nIdx, inner, dimY); }

extern "C" __global__ void index_add_atomic_f64(double* y, const int* idx, const double* src, long long total, long long nIdx,
    long long inner, int dimY)
{ indexing::index_add_atomic<double>(y, idx, src, total, nIdx, inner, dimY); }
