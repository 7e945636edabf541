// Vector quantization (CudaBackend.Vq.cs), the CUDA twins of Engine.Cpu.Kernels.VqKernels, with the
// same arithmetic operation for operation so both backends produce the same bits (see below).
// Layout: rows x (n, d), codebook e (k, d), both contiguous row-major; indices int32; outputs are
// overwritten; the EMA kernels update the codebook, cluster sizes and sums in place.
//
// Nearest code (vq_nearest_<t>): one block of 256 threads owns VQ_BM = 128 rows and walks the codebook
// in tiles of VQ_BN = 128 codes; for each tile, d is staged through shared memory in chunks of VQ_BD
// (x and e transposed to [d][row] / [d][code]) and each thread accumulates an 8 x 8 register tile
// (rows ty + 16 i, codes tx + 16 j) with fused multiply-adds in increasing d from +0: the score of a
// (row, code) pair is ||e_k||^2 - (dot + dot) with the dot and the norm (vq_sqnorm_<t>) formed exactly
// as the CPU forms them, so duplicate codes tie exactly. The N x K distance matrix never exists: each
// thread keeps a running (score, code) winner per row and the 16 code lanes of a row merge by
// warp shuffles. Winner = least (score, code) pair, NaN scores never win; this total order makes the
// result independent of the merge order.
//
// Row scatter-add (segment sum): a stable counting sort of the rows by code, then one block per code
// adds its rows in increasing row order onto +0 (the CPU's order, so the sums are bitwise equal and
// deterministic; a code that owns many rows is one serial chain per column):
//   vq_chunk_rank_i32  per chunk of VQ_CHUNK rows: rank of each row among the chunk's rows of its code
//                      (and the chunk's count of each code it holds, written by its last row);
//   vq_chunk_scan_i32  per code: exclusive prefix of its chunk counts over chunks, and its total;
//   vq_offsets_i32     exclusive prefix of the totals over codes (one block);
//   vq_place_i32       order[offsets[c] + prefix[chunk][c] + rank] = row;
//   vq_segment_sum_<t> y[c] = sum over order[offsets[c] .. offsets[c + 1]).
// Index validation: vq_chunk_rank_i32 / vq_counts_i32 raise a flag for an index outside [0, k) and
// skip it; the host reads the flag before anything is accumulated into an output.
//
// EMA update: vq_ema_stats_<t> (one block) updates the cluster sizes, sums them in double in a fixed
// tree (strided per-thread partials, then halving), and per code writes the smoothed count or the
// restart row (Philox, philox::block in philox.cuh); vq_ema_codebook_<t> then updates sums and codes.
// Every product and sum there is an explicitly rounded intrinsic (no FMA contraction), as on the CPU.
//
// Squared error (the VQ losses): partial sums in double per block then one finishing block; the
// backward writes gx = cx (x - q) and gq = cq (q - x), cx = (T)(ax * gy[0]) formed on the device.

#include "philox.cuh"

#define VQ_THREADS 256
#define VQ_TX 16 // code lanes of a block (threadIdx.x % VQ_TX)
#define VQ_TY 16 // row lanes (threadIdx.x / VQ_TX)
#define VQ_TM 8  // rows per thread
#define VQ_TN 8  // codes per thread
#define VQ_BM (VQ_TY * VQ_TM)
#define VQ_BN (VQ_TX * VQ_TN)
#define VQ_BD 16
#define VQ_LD (VQ_BM + 1) // shared leading dimension (VQ_BM == VQ_BN), padded against bank conflicts
#define VQ_CHUNK 256      // rows per ranking chunk = threads of vq_chunk_rank_i32

namespace vq
{

__device__ __forceinline__ float fma_rn(float a, float b, float c) { return __fmaf_rn(a, b, c); }
__device__ __forceinline__ double fma_rn(double a, double b, double c) { return __fma_rn(a, b, c); }
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }

template <typename T> __device__ __forceinline__ T pos_inf();
template <> __device__ __forceinline__ float pos_inf<float>() { return __int_as_float(0x7f800000); }
template <> __device__ __forceinline__ double pos_inf<double>() { return __longlong_as_double(0x7ff0000000000000LL); }
template <typename T> __device__ __forceinline__ T quiet_nan();
template <> __device__ __forceinline__ float quiet_nan<float>() { return __int_as_float(0x7fffffff); }
template <> __device__ __forceinline__ double quiet_nan<double>() { return __longlong_as_double(0x7ff8000000000000LL); }

// (s, c) beats (b, bc): s is a number and the pair is lexicographically smaller.
template <typename T> __device__ __forceinline__ bool better(T s, int c, T b, int bc)
{
    return s == s && (s < b || (s == b && c < bc));
}

// out[r] = sum_j v[r, j]^2, fused multiply-adds in increasing j from +0.
template <typename T>
__device__ __forceinline__ void sqnorm(const T* __restrict__ v, long long rows, int d, T* __restrict__ out)
{
    GRID_STRIDE_LOOP(r, rows)
    {
        const T* p = v + r * d;
        T acc = (T)0;
        for (int j = 0; j < d; j++) acc = fma_rn(p[j], p[j], acc);
        out[r] = acc;
    }
}

template <typename T>
__device__ __forceinline__ void nearest(const T* __restrict__ x, const T* __restrict__ e, const T* __restrict__ en,
    const T* __restrict__ xn, int* __restrict__ idx, T* __restrict__ dist, long long n, int k, int d, T* xs, T* es)
{
    const int tid = threadIdx.x, tx = tid % VQ_TX, ty = tid / VQ_TX;
    const long long r0 = (long long)blockIdx.x * VQ_BM;
    T best[VQ_TM];
    int bk[VQ_TM];
#pragma unroll
    for (int i = 0; i < VQ_TM; i++) { best[i] = pos_inf<T>(); bk[i] = k; }

    for (int k0 = 0; k0 < k; k0 += VQ_BN)
    {
        T acc[VQ_TM][VQ_TN];
#pragma unroll
        for (int i = 0; i < VQ_TM; i++)
#pragma unroll
            for (int j = 0; j < VQ_TN; j++) acc[i][j] = (T)0;

        for (int d0 = 0; d0 < d; d0 += VQ_BD)
        {
            const int dl = min(VQ_BD, d - d0);
            __syncthreads(); // the previous chunk is no longer read
            for (int l = tid; l < VQ_BM * VQ_BD; l += VQ_THREADS)
            {
                const int r = l / VQ_BD, j = l % VQ_BD;
                const long long gr = r0 + r;
                const int gc = k0 + r;
                xs[j * VQ_LD + r] = (gr < n && j < dl) ? x[gr * d + d0 + j] : (T)0;               // [d][row]
                es[j * VQ_LD + r] = (gc < k && j < dl) ? e[(long long)gc * d + d0 + j] : (T)0;    // [d][code]
            }
            __syncthreads();
            for (int j = 0; j < dl; j++)
            {
                T a[VQ_TM], b[VQ_TN];
#pragma unroll
                for (int i = 0; i < VQ_TM; i++) a[i] = xs[j * VQ_LD + ty + VQ_TY * i];
#pragma unroll
                for (int c = 0; c < VQ_TN; c++) b[c] = es[j * VQ_LD + tx + VQ_TX * c];
#pragma unroll
                for (int i = 0; i < VQ_TM; i++)
#pragma unroll
                    for (int c = 0; c < VQ_TN; c++) acc[i][c] = fma_rn(a[i], b[c], acc[i][c]);
            }
        }

#pragma unroll
        for (int c = 0; c < VQ_TN; c++)
        {
            const int code = k0 + tx + VQ_TX * c;
            if (code >= k) continue;
            const T enc = en[code];
#pragma unroll
            for (int i = 0; i < VQ_TM; i++)
            {
                const T s = enc - (acc[i][c] + acc[i][c]);
                if (better(s, code, best[i], bk[i])) { best[i] = s; bk[i] = code; }
            }
        }
    }

    // The VQ_TX code lanes of a row group are consecutive lanes of one warp.
#pragma unroll
    for (int off = VQ_TX / 2; off > 0; off >>= 1)
    {
#pragma unroll
        for (int i = 0; i < VQ_TM; i++)
        {
            const T os = __shfl_xor_sync(0xffffffffu, best[i], off);
            const int oc = __shfl_xor_sync(0xffffffffu, bk[i], off);
            if (better(os, oc, best[i], bk[i])) { best[i] = os; bk[i] = oc; }
        }
    }
    if (tx != 0) return;
#pragma unroll
    for (int i = 0; i < VQ_TM; i++)
    {
        const long long gr = r0 + ty + VQ_TY * i;
        if (gr >= n) continue;
        const bool none = bk[i] == k;
        idx[gr] = none ? 0 : bk[i];
        if (dist)
        {
            const T dv = none ? quiet_nan<T>() : xn[gr] + best[i];
            dist[gr] = dv < (T)0 ? (T)0 : dv;
        }
    }
}

// y[c] = rows order[offsets[c] .. offsets[c + 1]) of src added in that order onto +0; one block per code.
template <typename T>
__device__ __forceinline__ void segment_sum(const T* __restrict__ src, const int* __restrict__ order, const int* __restrict__ offsets,
    int k, int d, T* __restrict__ y)
{
    for (long long c = blockIdx.x; c < k; c += gridDim.x)
    {
        const int p0 = offsets[c], p1 = offsets[c + 1];
        for (int j = threadIdx.x; j < d; j += blockDim.x)
        {
            T acc = (T)0;
            for (int p = p0; p < p1; p++) acc = add_rn(acc, src[(long long)order[p] * d + j]);
            y[c * d + j] = acc;
        }
    }
}

// Halving tree over VQ_THREADS values in s (every thread of the block calls it).
__device__ __forceinline__ void tree_sum(double* s)
{
    const int t = threadIdx.x;
    __syncthreads();
    for (int half = VQ_THREADS / 2; half > 0; half >>= 1)
    {
        if (t < half) s[t] = s[t] + s[t + half];
        __syncthreads();
    }
}

template <typename T>
__device__ __forceinline__ void perplexity(const int* __restrict__ counts, int k, T* __restrict__ y, double* s)
{
    const int t = threadIdx.x;
    double tot = 0;
    for (int c = t; c < k; c += VQ_THREADS) tot += (double)counts[c]; // exact below 2^53
    s[t] = tot;
    tree_sum(s);
    const double total = s[0];
    __syncthreads(); // everyone has read the total before s is reused
    double h = 0;
    if (total > 0)
        for (int c = t; c < k; c += VQ_THREADS)
        {
            const int v = counts[c];
            if (v <= 0) continue;
            const double p = (double)v / total;
            h += p * log(p);
        }
    s[t] = h;
    tree_sum(s);
    if (t == 0) y[0] = (T)(total > 0 ? exp(-s[0]) : 1.0);
}

template <typename T>
__device__ __forceinline__ void sqerr_partial(const T* __restrict__ x, const T* __restrict__ q, long long n, double* __restrict__ partial, double* s)
{
    double acc = 0;
    GRID_STRIDE_LOOP(i, n)
    {
        const double v = (double)(x[i] - q[i]);
        acc += v * v;
    }
    s[threadIdx.x] = acc;
    tree_sum(s);
    if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

template <typename T>
__device__ __forceinline__ void sqerr_finish(const double* __restrict__ partial, int parts, double scale, T* __restrict__ y, double* s)
{
    double acc = 0;
    for (int i = threadIdx.x; i < parts; i += VQ_THREADS) acc += partial[i];
    s[threadIdx.x] = acc;
    tree_sum(s);
    if (threadIdx.x == 0) y[0] = (T)(scale * s[0]);
}

template <typename T>
__device__ __forceinline__ void sqerr_bwd(const T* __restrict__ x, const T* __restrict__ q, const T* __restrict__ gy,
    T* __restrict__ gx, T* __restrict__ gq, long long n, double ax, double aq)
{
    const double g = (double)gy[0];
    const T cx = (T)(ax * g), cq = (T)(aq * g);
    GRID_STRIDE_LOOP(i, n)
    {
        const T xv = x[i], qv = q[i];
        if (gx) gx[i] = mul_rn(cx, xv - qv);
        if (gq) gq[i] = mul_rn(cq, qv - xv);
    }
}

// Cluster sizes N_c = a N_c + b counts[c]; total = sum_c N_c (double, fixed tree); per code the smoothed
// count (N_c + eps) / (total + k eps) * total, or, for a dead code, its restart row (Philox) with
// N_c reset to the threshold. One block.
template <typename T>
__device__ __forceinline__ void ema_stats(T* __restrict__ cluster, const int* __restrict__ counts, int k, long long n,
    T a, T b, double eps, double thr, unsigned long long seed, unsigned long long offset,
    double* __restrict__ smooth, int* __restrict__ restart, double* s)
{
    const int t = threadIdx.x;
    double part = 0;
    for (int c = t; c < k; c += VQ_THREADS)
    {
        const T nc = add_rn(mul_rn(a, cluster[c]), mul_rn(b, (T)counts[c]));
        cluster[c] = nc;
        part = __dadd_rn(part, (double)nc);
    }
    s[t] = part;
    tree_sum(s);
    const double total = s[0];
    const double denom = __dadd_rn(total, __dmul_rn((double)k, eps));
    for (int c = t; c < k; c += VQ_THREADS)
    {
        const T nc = cluster[c];
        if (thr > 0 && n > 0 && (double)nc < thr)
        {
            const philox::Words w = philox::block(seed, offset + (unsigned long long)c);
            restart[c] = (int)(((unsigned long long)w.w0 * (unsigned long long)n) >> 32);
            cluster[c] = (T)thr;
            smooth[c] = 0;
        }
        else
        {
            restart[c] = -1;
            smooth[c] = __dmul_rn(__ddiv_rn(__dadd_rn((double)nc, eps), denom), total);
        }
    }
}

template <typename T>
__device__ __forceinline__ void ema_codebook(T* __restrict__ codebook, T* __restrict__ embedSum, const T* __restrict__ sums,
    const T* __restrict__ x, const double* __restrict__ smooth, const int* __restrict__ restart, long long kd, int d, T a, T b, T thr)
{
    GRID_STRIDE_LOOP(i, kd)
    {
        const long long c = i / d;
        const long long j = i - c * d;
        const int r = restart[c];
        if (r >= 0)
        {
            const T v = x[(long long)r * d + j];
            codebook[i] = v;
            embedSum[i] = mul_rn(thr, v);
        }
        else
        {
            const T m = add_rn(mul_rn(a, embedSum[i]), mul_rn(b, sums[i]));
            embedSum[i] = m;
            codebook[i] = (T)__ddiv_rn((double)m, smooth[c]);
        }
    }
}

} // namespace vq

// ------------------------------------------------------------------------------------ entry points

// Ranks rows within chunks of VQ_CHUNK (one block of VQ_CHUNK threads per chunk); cnt (chunks, k) zeroed
// by the host receives each chunk's count of every code it holds.
extern "C" __global__ void vq_chunk_rank_i32(const int* idx, long long n, int k, int* rank, int* cnt, int* bad)
{
    __shared__ int s[VQ_CHUNK];
    const int t = threadIdx.x;
    const long long chunk = blockIdx.x;
    const long long i = chunk * VQ_CHUNK + t;
    int v = -1;
    if (i < n)
    {
        v = idx[i];
        if ((unsigned)v >= (unsigned)k) { *bad = 1; v = -1; }
    }
    s[t] = v;
    __syncthreads();
    if (v < 0) return;
    int r = 0;
    bool last = true;
    for (int j = 0; j < VQ_CHUNK; j++)
    {
        if (s[j] != v) continue;
        if (j < t) r++;
        else if (j > t) last = false;
    }
    rank[i] = r;
    if (last) cnt[chunk * k + v] = r + 1;
}

extern "C" __global__ void vq_chunk_scan_i32(int* cnt, long long chunks, int k, int* counts)
{
    GRID_STRIDE_LOOP(c, k)
    {
        int run = 0;
        for (long long h = 0; h < chunks; h++)
        {
            int* p = cnt + h * k + c;
            const int v = *p;
            *p = run;
            run += v;
        }
        counts[c] = run;
    }
}

// offsets[c] = counts[0] + ... + counts[c - 1] for c = 0..k (one block of VQ_THREADS).
extern "C" __global__ void vq_offsets_i32(const int* counts, int k, int* offsets)
{
    __shared__ int part[VQ_THREADS];
    const int t = threadIdx.x;
    const int per = (k + VQ_THREADS - 1) / VQ_THREADS;
    const int lo = min(k, t * per), hi = min(k, lo + per);
    int sum = 0;
    for (int c = lo; c < hi; c++) sum += counts[c];
    part[t] = sum;
    __syncthreads();
    if (t == 0)
    {
        int run = 0;
        for (int j = 0; j < VQ_THREADS; j++) { const int v = part[j]; part[j] = run; run += v; }
        offsets[k] = run;
    }
    __syncthreads();
    int run = part[t];
    for (int c = lo; c < hi; c++) { offsets[c] = run; run += counts[c]; }
}

extern "C" __global__ void vq_place_i32(const int* idx, const int* rank, const int* cnt, const int* offsets, long long n, int k, int* order)
{
    GRID_STRIDE_LOOP(i, n)
    {
        const int v = idx[i];
        if ((unsigned)v >= (unsigned)k) continue;
        order[offsets[v] + cnt[(i / VQ_CHUNK) * k + v] + rank[i]] = (int)i;
    }
}

extern "C" __global__ void vq_counts_i32(const int* idx, long long n, int k, int* counts, int* bad)
{
    GRID_STRIDE_LOOP(i, n)
    {
        const int v = idx[i];
        if ((unsigned)v >= (unsigned)k) { *bad = 1; continue; }
        atomicAdd(counts + v, 1); // integer counts: exact whatever the order
    }
}

// Typed entry points, spelled out (KernelLibrary finds kernels by their literal extern "C" names).

// ---- f32 (float)

extern "C" __global__ void vq_sqnorm_f32(const float* v, long long rows, int d, float* out)
{ vq::sqnorm<float>(v, rows, d, out); }

extern "C" __global__ void vq_nearest_f32(const float* x, const float* e, const float* en, const float* xn, int* idx, float* dist,
    long long n, int k, int d)
{
    __shared__ float xs[VQ_BD * VQ_LD];
    __shared__ float es[VQ_BD * VQ_LD];
    vq::nearest<float>(x, e, en, xn, idx, dist, n, k, d, xs, es);
}

extern "C" __global__ void vq_segment_sum_f32(const float* src, const int* order, const int* offsets, int k, int d, float* y)
{ vq::segment_sum<float>(src, order, offsets, k, d, y); }

extern "C" __global__ void vq_perplexity_f32(const int* counts, int k, float* y)
{
    __shared__ double s[VQ_THREADS];
    vq::perplexity<float>(counts, k, y, s);
}

extern "C" __global__ void vq_sqerr_partial_f32(const float* x, const float* q, long long n, double* partial)
{
    __shared__ double s[VQ_THREADS];
    vq::sqerr_partial<float>(x, q, n, partial, s);
}

extern "C" __global__ void vq_sqerr_finish_f32(const double* partial, int parts, double scale, float* y)
{
    __shared__ double s[VQ_THREADS];
    vq::sqerr_finish<float>(partial, parts, scale, y, s);
}

extern "C" __global__ void vq_sqerr_bwd_f32(const float* x, const float* q, const float* gy, float* gx, float* gq, long long n, double ax, double aq)
{ vq::sqerr_bwd<float>(x, q, gy, gx, gq, n, ax, aq); }

extern "C" __global__ void vq_ema_stats_f32(float* cluster, const int* counts, int k, long long n, float a, float b, double eps, double thr,
    unsigned long long seed, unsigned long long offset, double* smooth, int* restart)
{
    __shared__ double s[VQ_THREADS];
    vq::ema_stats<float>(cluster, counts, k, n, a, b, eps, thr, seed, offset, smooth, restart, s);
}

extern "C" __global__ void vq_ema_codebook_f32(float* codebook, float* embedSum, const float* sums, const float* x, const double* smooth,
    const int* restart, long long kd, int d, float a, float b, float thr)
{ vq::ema_codebook<float>(codebook, embedSum, sums, x, smooth, restart, kd, d, a, b, thr); }

// ---- f64 (double)

extern "C" __global__ void vq_sqnorm_f64(const double* v, long long rows, int d, double* out)
{ vq::sqnorm<double>(v, rows, d, out); }

extern "C" __global__ void vq_nearest_f64(const double* x, const double* e, const double* en, const double* xn, int* idx, double* dist,
    long long n, int k, int d)
{
    __shared__ double xs[VQ_BD * VQ_LD];
    __shared__ double es[VQ_BD * VQ_LD];
    vq::nearest<double>(x, e, en, xn, idx, dist, n, k, d, xs, es);
}

extern "C" __global__ void vq_segment_sum_f64(const double* src, const int* order, const int* offsets, int k, int d, double* y)
{ vq::segment_sum<double>(src, order, offsets, k, d, y); }

extern "C" __global__ void vq_perplexity_f64(const int* counts, int k, double* y)
{
    __shared__ double s[VQ_THREADS];
    vq::perplexity<double>(counts, k, y, s);
}

extern "C" __global__ void vq_sqerr_partial_f64(const double* x, const double* q, long long n, double* partial)
{
    __shared__ double s[VQ_THREADS];
    vq::sqerr_partial<double>(x, q, n, partial, s);
}

extern "C" __global__ void vq_sqerr_finish_f64(const double* partial, int parts, double scale, double* y)
{
    __shared__ double s[VQ_THREADS];
    vq::sqerr_finish<double>(partial, parts, scale, y, s);
}

extern "C" __global__ void vq_sqerr_bwd_f64(const double* x, const double* q, const double* gy, double* gx, double* gq, long long n, double ax, double aq)
{ vq::sqerr_bwd<double>(x, q, gy, gx, gq, n, ax, aq); }

extern "C" __global__ void vq_ema_stats_f64(double* cluster, const int* counts, int k, long long n, double a, double b, double eps, double thr,
    unsigned long long seed, unsigned long long offset, double* smooth, int* restart)
{
    __shared__ double s[VQ_THREADS];
    vq::ema_stats<double>(cluster, counts, k, n, a, b, eps, thr, seed, offset, smooth, restart, s);
}

extern "C" __global__ void vq_ema_codebook_f64(double* codebook, double* embedSum, const double* sums, const double* x, const double* smooth,
    const int* restart, long long kd, int d, double a, double b, double thr)
{ vq::ema_codebook<double>(codebook, embedSum, sums, x, smooth, restart, kd, d, a, b, thr); }
