// Fused Gaussian kernels (CudaBackend.Gaussian.cs; contract in Tensor/Backend/IBackend.Gaussian.cs):
// reparameterized sample and its backward (eps regenerated from Philox, never stored), KL divergence
// and negative log-likelihood (elementwise, or summed per group) with fused backwards writing every
// requested gradient in one pass, and uniform dequantization noise. Every output is OVERWRITTEN.
//
// Layout: all buffers contiguous, inputs of one launch share n elements; a null pointer reads as 0
// (inputs) or is not written (outputs). Groups: y holds G values, group g = elements
// [g m, (g + 1) m), m = n / G; gradients read gy[i / m].
// Arithmetic is in T (float or double) in the CPU kernels' order (Cpu/Kernels/GaussianKernels.cs);
// sums are in double. A reduction is two launches: gauss_*_partial_* sums chunks of `chunk` elements
// (task = g * per + k, one block each, a fixed shared-memory tree), gauss_finish_* adds a group's
// `per` partials (one block per group, same tree) and applies scale, addend and bias. The order
// depends only on (n, G, chunk), so results are deterministic.
// Random numbers: the Philox stream and element mapping of Engine.Random.Philox (philox.cuh), one
// thread per Philox block (4 f32 or 2 f64 elements).

#include "philox.cuh"

#define GA_BLOCK 256

namespace gauss
{

__device__ __forceinline__ float ex(float x) { return expf(x); }
__device__ __forceinline__ double ex(double x) { return exp(x); }

template <typename T> __device__ __forceinline__ T ld(const T* p, long long i) { return p ? p[i] : (T)0; }

// KL(N(mu1, e^{2 ls1}) || N(mu2, e^{2 ls2})) = 0.5 (v + d^2 w - 1) - r, r = ls1 - ls2, v = e^{2r}, w = e^{-2 ls2}.
template <typename T> struct Kl
{
    const T *mu1, *ls1, *mu2, *ls2;
    __device__ __forceinline__ T operator()(long long i) const
    {
        T d = mu1[i] - ld(mu2, i);
        T l2 = ld(ls2, i);
        T r = ls1[i] - l2;
        T v = ex(r + r);
        T dd = d * d;
        if (ls2) dd = dd * ex(-(l2 + l2));
        return (T)0.5 * (v + dd - (T)1) - r;
    }
};

// -log N(x; mu, e^{2 ls}) = 0.5 (x - mu)^2 e^{-2 ls} + ls + 0.5 ln(2 pi).
template <typename T> struct Nll
{
    const T *x, *mu, *ls;
    __device__ __forceinline__ T operator()(long long i) const
    {
        const T c = (T)0.91893853320467274178032973640561764; // 0.5 ln(2 pi)
        T r = x[i] - ld(mu, i);
        T q = (T)0.5 * r * r;
        if (!ls) return q + c;
        T l = ls[i];
        return q * ex(-(l + l)) + l + c;
    }
};

// y_i = v_i, or scale v_i + addScale addend_i + bias (G == n).
template <typename T, typename F>
__device__ __forceinline__ void elementwise(T* y, long long n, const F& f, double scale, const T* addend, double add_scale, double bias)
{
    const bool plain = scale == 1.0 && !addend && bias == 0.0;
    const T s = (T)scale, a = (T)add_scale, b = (T)bias;
    GRID_STRIDE_LOOP(i, n)
    {
        T v = f(i);
        if (!plain)
        {
            v = v * s;
            if (addend) v = v + a * addend[i];
            v = v + b;
        }
        y[i] = v;
    }
}

// Block tree over GA_BLOCK doubles; every thread calls it, the total ends in s[0].
__device__ __forceinline__ void tree(double* s)
{
    __syncthreads();
    for (int h = GA_BLOCK / 2; h > 0; h >>= 1)
    {
        if ((int)threadIdx.x < h) s[threadIdx.x] += s[threadIdx.x + h];
        __syncthreads();
    }
}

// part[task] = sum of f over task's chunk, task = g * per + k.
template <typename T, typename F>
__device__ __forceinline__ void partial(double* part, long long n, long long groups, long long per, long long chunk, const F& f, double* s)
{
    long long m = n / groups, tasks = groups * per;
    for (long long task = blockIdx.x; task < tasks; task += gridDim.x)
    {
        long long g = task / per, k = task - g * per;
        long long i0 = g * m + k * chunk, i1 = i0 + chunk < (g + 1) * m ? i0 + chunk : (g + 1) * m;
        double acc = 0.0;
        for (long long i = i0 + threadIdx.x; i < i1; i += GA_BLOCK) acc += (double)f(i);
        s[threadIdx.x] = acc;
        tree(s);
        if (threadIdx.x == 0) part[task] = s[0];
        __syncthreads(); // s is refilled for the next task
    }
}

// y[g] = scale * (sum of the group's partials) + bias + add_scale * addend[g].
template <typename T>
__device__ __forceinline__ void finish(T* y, const double* part, const T* addend, long long groups, long long per,
    double scale, double add_scale, double bias, double* s)
{
    for (long long g = blockIdx.x; g < groups; g += gridDim.x)
    {
        double acc = 0.0;
        for (long long k = threadIdx.x; k < per; k += GA_BLOCK) acc += part[g * per + k];
        s[threadIdx.x] = acc;
        tree(s);
        if (threadIdx.x == 0)
        {
            double r = scale * s[0] + bias;
            if (addend) r += add_scale * (double)addend[g];
            y[g] = (T)r;
        }
        __syncthreads();
    }
}

// scale * gy of element i's group (m elements per group). 64-bit division is a long instruction
// sequence on the GPU: a 32-bit one serves whenever i and m fit.
template <typename T> __device__ __forceinline__ T gval(const T* gy, long long i, long long m, T s)
{
    if (m == 1) return gy[i] * s;
    long long g = (unsigned long long)(i | m) <= 0xffffffffull ? (long long)((unsigned int)i / (unsigned int)m) : i / m;
    return gy[g] * s;
}

template <typename T>
__device__ __forceinline__ void kl_backward(T* gmu1, T* gls1, T* gmu2, T* gls2, const T* mu1, const T* ls1, const T* mu2, const T* ls2,
    const T* gy, long long n, long long m, double scale)
{
    const T s = (T)scale;
    GRID_STRIDE_LOOP(i, n)
    {
        T g = gval(gy, i, m, s);
        T d = mu1[i] - ld(mu2, i);
        T w = (T)1;
        if (ls2) { T l2 = ls2[i]; w = ex(-(l2 + l2)); }
        if (gmu1 || gmu2)
        {
            T gm = g * d * w;
            if (gmu1) gmu1[i] = gm;
            if (gmu2) gmu2[i] = -gm;
        }
        if (gls1 || gls2)
        {
            T r = ls1[i] - ld(ls2, i);
            T vm1 = ex(r + r) - (T)1;
            if (gls1) gls1[i] = g * vm1;
            if (gls2) gls2[i] = -(g * (vm1 + d * d * w));
        }
    }
}

template <typename T>
__device__ __forceinline__ void nll_backward(T* gx, T* gmu, T* gls, const T* x, const T* mu, const T* ls,
    const T* gy, long long n, long long m, double scale)
{
    const T s = (T)scale;
    GRID_STRIDE_LOOP(i, n)
    {
        T g = gval(gy, i, m, s);
        T r = x[i] - ld(mu, i);
        T w = (T)1;
        if (ls) { T l = ls[i]; w = ex(-(l + l)); }
        T rw = r * w;
        if (gx || gmu)
        {
            T gr = g * rw;
            if (gx) gx[i] = gr;
            if (gmu) gmu[i] = -gr;
        }
        if (gls) gls[i] = g * ((T)1 - r * rw);
    }
}

// The normals of Philox block b: 4 (f32) or 2 (f64) lanes, as Engine.Random.Philox.FillNormal.
__device__ __forceinline__ int normals(unsigned long long seed, unsigned long long block, long long lanes, float* e)
{
    philox::Words w = philox::block(seed, block);
    philox::box_muller(w.w0, w.w1, e[0], e[1]);
    if (lanes > 2) philox::box_muller(w.w2, w.w3, e[2], e[3]);
    return 4;
}

__device__ __forceinline__ int normals(unsigned long long seed, unsigned long long block, long long, double* e)
{
    philox::box_muller(philox::block(seed, block), e[0], e[1]);
    return 2;
}

template <typename T> __device__ __forceinline__ long long per_block() { return sizeof(T) == 4 ? 4 : 2; }

// z_i = a mu_i + exp(ls_i) (t eps_i).
template <typename T>
__device__ __forceinline__ void sample(T* z, const T* mu, const T* ls, long long n, unsigned long long seed, unsigned long long offset, T t, T a)
{
    const long long pb = per_block<T>();
    GRID_STRIDE_LOOP(b, (n + pb - 1) / pb)
    {
        long long i = b * pb, lanes = n - i < pb ? n - i : pb;
        T e[4];
        normals(seed, offset + (unsigned long long)b, lanes, e);
        for (long long j = 0; j < lanes; j++) z[i + j] = a * mu[i + j] + ex(ls[i + j]) * (t * e[j]);
    }
}

// gmu_i = a gz_i; gls_i = gz_i exp(ls_i) (t eps_i).
template <typename T>
__device__ __forceinline__ void sample_backward(T* gmu, T* gls, const T* ls, const T* gz, long long n,
    unsigned long long seed, unsigned long long offset, T t, T a)
{
    const long long pb = per_block<T>();
    GRID_STRIDE_LOOP(b, (n + pb - 1) / pb)
    {
        long long i = b * pb, lanes = n - i < pb ? n - i : pb;
        T e[4];
        if (gls) normals(seed, offset + (unsigned long long)b, lanes, e);
        for (long long j = 0; j < lanes; j++)
        {
            T g = gz[i + j];
            if (gmu) gmu[i + j] = a * g;
            if (gls) gls[i + j] = g * ex(ls[i + j]) * (t * e[j]);
        }
    }
}

// y_i = x_i + (u_i - c) / bins, every step rounded on its own (bitwise the CPU's).
__device__ __forceinline__ void dequantize(float* y, const float* x, long long n, unsigned long long seed, unsigned long long offset, float bins, float c)
{
    GRID_STRIDE_LOOP(b, (n + 3) / 4)
    {
        philox::Words w = philox::block(seed, offset + (unsigned long long)b);
        unsigned int words[4] = { w.w0, w.w1, w.w2, w.w3 };
        long long i = b * 4;
        for (long long j = 0; j < 4 && i + j < n; j++)
            y[i + j] = __fadd_rn(x[i + j], __fdiv_rn(__fsub_rn(philox::u24(words[j]), c), bins));
    }
}

__device__ __forceinline__ void dequantize(double* y, const double* x, long long n, unsigned long long seed, unsigned long long offset, double bins, double c)
{
    GRID_STRIDE_LOOP(b, (n + 1) / 2)
    {
        philox::Words w = philox::block(seed, offset + (unsigned long long)b);
        long long i = b * 2;
        y[i] = __dadd_rn(x[i], __ddiv_rn(__dsub_rn(philox::u53(w.w0, w.w1), c), bins));
        if (i + 1 < n) y[i + 1] = __dadd_rn(x[i + 1], __ddiv_rn(__dsub_rn(philox::u53(w.w2, w.w3), c), bins));
    }
}

} // namespace gauss

// ------------------------------------------------------------------------------------ entry points

extern "C" __global__ void gauss_sample_f32(float* z, const float* mu, const float* ls, long long n,
    unsigned long long seed, unsigned long long offset, float t, float a)
{ gauss::sample<float>(z, mu, ls, n, seed, offset, t, a); }
extern "C" __global__ void gauss_sample_f64(double* z, const double* mu, const double* ls, long long n,
    unsigned long long seed, unsigned long long offset, double t, double a)
{ gauss::sample<double>(z, mu, ls, n, seed, offset, t, a); }

extern "C" __global__ void gauss_sample_backward_f32(float* gmu, float* gls, const float* ls, const float* gz, long long n,
    unsigned long long seed, unsigned long long offset, float t, float a)
{ gauss::sample_backward<float>(gmu, gls, ls, gz, n, seed, offset, t, a); }
extern "C" __global__ void gauss_sample_backward_f64(double* gmu, double* gls, const double* ls, const double* gz, long long n,
    unsigned long long seed, unsigned long long offset, double t, double a)
{ gauss::sample_backward<double>(gmu, gls, ls, gz, n, seed, offset, t, a); }

extern "C" __global__ void gauss_dequantize_f32(float* y, const float* x, long long n, unsigned long long seed, unsigned long long offset, float bins, float c)
{ gauss::dequantize(y, x, n, seed, offset, bins, c); }
extern "C" __global__ void gauss_dequantize_f64(double* y, const double* x, long long n, unsigned long long seed, unsigned long long offset, double bins, double c)
{ gauss::dequantize(y, x, n, seed, offset, bins, c); }

// KL, elementwise (G == n): y = scale * kl.
extern "C" __global__ void gauss_kl_f32(float* y, const float* mu1, const float* ls1, const float* mu2, const float* ls2, long long n, double scale)
{ gauss::elementwise(y, n, gauss::Kl<float>{ mu1, ls1, mu2, ls2 }, scale, (const float*)0, 0.0, 0.0); }
extern "C" __global__ void gauss_kl_f64(double* y, const double* mu1, const double* ls1, const double* mu2, const double* ls2, long long n, double scale)
{ gauss::elementwise(y, n, gauss::Kl<double>{ mu1, ls1, mu2, ls2 }, scale, (const double*)0, 0.0, 0.0); }

extern "C" __global__ void gauss_kl_partial_f32(double* part, const float* mu1, const float* ls1, const float* mu2, const float* ls2,
    long long n, long long groups, long long per, long long chunk)
{
    __shared__ double s[GA_BLOCK];
    gauss::partial<float>(part, n, groups, per, chunk, gauss::Kl<float>{ mu1, ls1, mu2, ls2 }, s);
}
extern "C" __global__ void gauss_kl_partial_f64(double* part, const double* mu1, const double* ls1, const double* mu2, const double* ls2,
    long long n, long long groups, long long per, long long chunk)
{
    __shared__ double s[GA_BLOCK];
    gauss::partial<double>(part, n, groups, per, chunk, gauss::Kl<double>{ mu1, ls1, mu2, ls2 }, s);
}

extern "C" __global__ void gauss_kl_backward_f32(float* gmu1, float* gls1, float* gmu2, float* gls2,
    const float* mu1, const float* ls1, const float* mu2, const float* ls2, const float* gy, long long n, long long m, double scale)
{ gauss::kl_backward<float>(gmu1, gls1, gmu2, gls2, mu1, ls1, mu2, ls2, gy, n, m, scale); }
extern "C" __global__ void gauss_kl_backward_f64(double* gmu1, double* gls1, double* gmu2, double* gls2,
    const double* mu1, const double* ls1, const double* mu2, const double* ls2, const double* gy, long long n, long long m, double scale)
{ gauss::kl_backward<double>(gmu1, gls1, gmu2, gls2, mu1, ls1, mu2, ls2, gy, n, m, scale); }

// NLL, elementwise (G == n): y = scale * nll + add_scale * addend + bias.
extern "C" __global__ void gauss_nll_f32(float* y, const float* x, const float* mu, const float* ls, long long n,
    double scale, const float* addend, double add_scale, double bias)
{ gauss::elementwise(y, n, gauss::Nll<float>{ x, mu, ls }, scale, addend, add_scale, bias); }
extern "C" __global__ void gauss_nll_f64(double* y, const double* x, const double* mu, const double* ls, long long n,
    double scale, const double* addend, double add_scale, double bias)
{ gauss::elementwise(y, n, gauss::Nll<double>{ x, mu, ls }, scale, addend, add_scale, bias); }

extern "C" __global__ void gauss_nll_partial_f32(double* part, const float* x, const float* mu, const float* ls,
    long long n, long long groups, long long per, long long chunk)
{
    __shared__ double s[GA_BLOCK];
    gauss::partial<float>(part, n, groups, per, chunk, gauss::Nll<float>{ x, mu, ls }, s);
}
extern "C" __global__ void gauss_nll_partial_f64(double* part, const double* x, const double* mu, const double* ls,
    long long n, long long groups, long long per, long long chunk)
{
    __shared__ double s[GA_BLOCK];
    gauss::partial<double>(part, n, groups, per, chunk, gauss::Nll<double>{ x, mu, ls }, s);
}

extern "C" __global__ void gauss_nll_backward_f32(float* gx, float* gmu, float* gls, const float* x, const float* mu, const float* ls,
    const float* gy, long long n, long long m, double scale)
{ gauss::nll_backward<float>(gx, gmu, gls, x, mu, ls, gy, n, m, scale); }
extern "C" __global__ void gauss_nll_backward_f64(double* gx, double* gmu, double* gls, const double* x, const double* mu, const double* ls,
    const double* gy, long long n, long long m, double scale)
{ gauss::nll_backward<double>(gx, gmu, gls, x, mu, ls, gy, n, m, scale); }

// The second stage of every grouped reduction above.
extern "C" __global__ void gauss_finish_f32(float* y, const double* part, const float* addend, long long groups, long long per,
    double scale, double add_scale, double bias)
{
    __shared__ double s[GA_BLOCK];
    gauss::finish<float>(y, part, addend, groups, per, scale, add_scale, bias, s);
}
extern "C" __global__ void gauss_finish_f64(double* y, const double* part, const double* addend, long long groups, long long per,
    double scale, double add_scale, double bias)
{
    __shared__ double s[GA_BLOCK];
    gauss::finish<double>(y, part, addend, groups, per, scale, add_scale, bias, s);
}
