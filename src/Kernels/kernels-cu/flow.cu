// Flow kernels (CudaBackend.Flow.cs), the CUDA twins of Engine.Cpu.Kernels.FlowKernels, same
// formulas term for term, f32 in float and f64 in double:
//   actnorm_*            y = (x + b[c]) e^{l[c]}  (inverse: y = x e^{-l[c]} - b[c]), NCHW dense.
//   actnorm_bwd_*        gx (overwritten; skipped when null) and per-(channel, split) partial sums of
//                        gbias / glogs in double; actnorm_bwd_finish_* adds the splits in order and
//                        writes gbias, glogs (overwritten).
//   affine_*             the coupling / injector epilogue: h (N, 2C, H, W) in "cross" order (shift =
//                        h[2c], raw = h[2c + 1]), scale = sigmoid(raw + 2) + eps;
//                        forward y = (x + shift) * scale, inverse y = x / scale - shift; per-(sample,
//                        split) partial sums of log(scale) in double; affine_finish_* writes
//                        logdet[n] = +-(their sum) (overwritten).
//   affine_bwd_*         gx (skipped when null) and gh (both overwritten) from gy and/or the logdet
//                        gradient gld (either may be null = 0). One pass over memory.
// Layout: everything dense except the epilogue's x, whose samples lie xs elements apart.
// Work is cut into tiles of FTILE consecutive elements of one (sample, channel) plane, so a thread
// block reads coalesced runs and index division happens once per tile, not per element.
// Sums are deterministic for a given launch shape (the host derives it from the sizes and the SM
// count only): each block folds its tiles in order, then a fixed shared-memory tree.

#define FBLOCK 256
#define FTILE 1024

namespace flow
{

__device__ __forceinline__ float f_exp(float x) { return expf(x); }
__device__ __forceinline__ double f_exp(double x) { return exp(x); }
__device__ __forceinline__ float f_log(float x) { return logf(x); }
__device__ __forceinline__ double f_log(double x) { return log(x); }
__device__ __forceinline__ float f_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double f_abs(double x) { return fabs(x); }

template <typename T> struct Sig
{
    T s;  // sigmoid(z)
    T ds; // sigmoid(z) (1 - sigmoid(z))
};

// Both from e = exp(-|z|): no 1 - sigmoid cancellation when |z| is large (the CPU's
// FlowKernels takes ds = sigmoid(z) sigmoid(-z) for the same reason).
template <typename T> __device__ __forceinline__ Sig<T> sigmoid_d(T z)
{
    T e = f_exp(-f_abs(z));
    T d = (T)1 + e;
    Sig<T> r;
    r.s = z >= (T)0 ? (T)1 / d : e / d;
    r.ds = e / (d * d);
    return r;
}

// Sum of one double per thread over the block (blockDim.x == FBLOCK); every thread gets the total.
// Called by all threads of the block (it holds barriers).
__device__ __forceinline__ double block_sum(double v, double* sh)
{
    const int t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (int s = FBLOCK / 2; s > 0; s >>= 1)
    {
        if (t < s) sh[t] += sh[t + s];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads(); // sh is reused by the next call
    return r;
}

// ------------------------------------------------------------------------------------ ActNorm

// grid (x: blocks over a plane, y: planes grid-stride).
template <typename T>
__device__ __forceinline__ void actnorm_fwd(const T* __restrict__ x, const T* __restrict__ bias, const T* __restrict__ logs,
    T* __restrict__ y, long long planes, int c, long long hw, int inverse)
{
    for (long long pl = blockIdx.y; pl < planes; pl += gridDim.y)
    {
        const int ch = (int)(pl % c);
        const T b = bias[ch];
        const T s = inverse ? f_exp(-logs[ch]) : f_exp(logs[ch]);
        const T* xp = x + pl * hw;
        T* yp = y + pl * hw;
        for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < hw; k += (long long)blockDim.x * gridDim.x)
            yp[k] = inverse ? xp[k] * s - b : (xp[k] + b) * s;
    }
}

// grid (x: channels, y: splits). Block (ch, sp) takes tiles sp, sp + splits, ... of channel ch's
// n * tiles-per-plane tiles.
template <typename T>
__device__ __forceinline__ void actnorm_bwd(const T* __restrict__ x, const T* __restrict__ gy, const T* __restrict__ bias,
    const T* __restrict__ logs, T* __restrict__ gx, double* __restrict__ part, int n, int c, long long hw, int inverse, double* sh)
{
    const int splits = gridDim.y, sp = blockIdx.y;
    const long long tpp = (hw + FTILE - 1) / FTILE;
    const long long tiles = (long long)n * tpp;
    for (int ch = blockIdx.x; ch < c; ch += gridDim.x)
    {
        const T b = bias[ch];
        const T s = inverse ? f_exp(-logs[ch]) : f_exp(logs[ch]);
        double ab = 0.0, al = 0.0;
        for (long long t = sp; t < tiles; t += splits)
        {
            const long long i = t / tpp;
            const long long k0 = (t - i * tpp) * FTILE;
            const long long k1 = k0 + FTILE < hw ? k0 + FTILE : hw;
            const long long off = (i * c + ch) * hw;
            for (long long k = k0 + threadIdx.x; k < k1; k += blockDim.x)
            {
                const T g = gy[off + k];
                const T gs = g * s;
                if (gx) gx[off + k] = gs;
                if (inverse) { ab -= (double)g; al -= (double)(gs * x[off + k]); }
                else { ab += (double)gs; al += (double)(gs * (x[off + k] + b)); }
            }
        }
        ab = block_sum(ab, sh);
        al = block_sum(al, sh);
        if (threadIdx.x == 0)
        {
            part[((long long)ch * splits + sp) * 2] = ab;
            part[((long long)ch * splits + sp) * 2 + 1] = al;
        }
    }
}

template <typename T>
__device__ __forceinline__ void actnorm_bwd_finish(const double* __restrict__ part, T* __restrict__ gbias, T* __restrict__ glogs, int c, int splits)
{
    GRID_STRIDE_LOOP(ch, c)
    {
        double ab = 0.0, al = 0.0;
        for (int k = 0; k < splits; k++)
        {
            ab += part[(ch * splits + k) * 2];
            al += part[(ch * splits + k) * 2 + 1];
        }
        gbias[ch] = (T)ab;
        glogs[ch] = (T)al;
    }
}

// ------------------------------------------------------------------------------------ affine epilogue

// grid (x: splits, y: samples grid-stride). Block (sp, i) takes tiles sp, sp + splits, ... of sample
// i's c * tiles-per-plane tiles.
template <typename T>
__device__ __forceinline__ void affine_fwd(const T* __restrict__ x, long long xs, const T* __restrict__ h, T* __restrict__ y,
    double* __restrict__ part, int n, int c, long long hw, T eps, int inverse, double* sh)
{
    const int splits = gridDim.x, sp = blockIdx.x;
    const long long tpp = (hw + FTILE - 1) / FTILE;
    const long long tiles = (long long)c * tpp;
    for (long long i = blockIdx.y; i < n; i += gridDim.y)
    {
        double acc = 0.0;
        for (long long t = sp; t < tiles; t += splits)
        {
            const long long ch = t / tpp;
            const long long k0 = (t - ch * tpp) * FTILE;
            const long long k1 = k0 + FTILE < hw ? k0 + FTILE : hw;
            const T* xp = x + i * xs + ch * hw;
            T* yp = y + (i * c + ch) * hw;
            const T* shp = h + (i * 2 * c + 2 * ch) * hw;
            const T* rp = shp + hw;
            for (long long k = k0 + threadIdx.x; k < k1; k += blockDim.x)
            {
                const T s = sigmoid_d(rp[k] + (T)2).s + eps;
                yp[k] = inverse ? xp[k] / s - shp[k] : (xp[k] + shp[k]) * s;
                acc += (double)f_log(s);
            }
        }
        acc = block_sum(acc, sh);
        if (threadIdx.x == 0) part[i * splits + sp] = acc;
    }
}

template <typename T>
__device__ __forceinline__ void affine_finish(const double* __restrict__ part, T* __restrict__ logdet, int n, int splits, int inverse)
{
    GRID_STRIDE_LOOP(i, n)
    {
        double acc = 0.0;
        for (int k = 0; k < splits; k++) acc += part[i * splits + k];
        logdet[i] = (T)(inverse ? -acc : acc);
    }
}

// Elementwise: forward  gx = gy s,   gshift = gy s, graw = gy (x + shift) ds + gld ds / s;
//              inverse  gx = gy / s, gshift = -gy,  graw = -(gy x / s + gld) ds / s.
// grid (x: tiles grid-stride, y: samples grid-stride).
template <typename T>
__device__ __forceinline__ void affine_bwd(const T* __restrict__ x, long long xs, const T* __restrict__ h, const T* __restrict__ gy,
    const T* __restrict__ gld, T* __restrict__ gx, T* __restrict__ gh, int n, int c, long long hw, T eps, int inverse)
{
    const long long tpp = (hw + FTILE - 1) / FTILE;
    const long long tiles = (long long)c * tpp;
    for (long long i = blockIdx.y; i < n; i += gridDim.y)
    {
        const T G = gld ? gld[i] : (T)0;
        for (long long t = blockIdx.x; t < tiles; t += gridDim.x)
        {
            const long long ch = t / tpp;
            const long long k0 = (t - ch * tpp) * FTILE;
            const long long k1 = k0 + FTILE < hw ? k0 + FTILE : hw;
            const T* xp = x + i * xs + ch * hw;
            const long long o = (i * c + ch) * hw;
            const long long ho = (i * 2 * c + 2 * ch) * hw;
            for (long long k = k0 + threadIdx.x; k < k1; k += blockDim.x)
            {
                const Sig<T> q = sigmoid_d(h[ho + hw + k] + (T)2);
                const T s = q.s + eps;
                const T g = gy ? gy[o + k] : (T)0;
                if (inverse)
                {
                    const T gs = g / s;
                    if (gx) gx[o + k] = gs;
                    gh[ho + k] = -g;
                    gh[ho + hw + k] = -(gs * xp[k] + G) * q.ds / s;
                }
                else
                {
                    const T gs = g * s;
                    if (gx) gx[o + k] = gs;
                    gh[ho + k] = gs;
                    gh[ho + hw + k] = g * (xp[k] + h[ho + k]) * q.ds + G * q.ds / s;
                }
            }
        }
    }
}

} // namespace flow

#define FLOW_KERNELS(TN, T) \
    extern "C" __global__ void actnorm_##TN(const T* x, const T* bias, const T* logs, T* y, long long planes, int c, \
        long long hw, int inverse) \
    { \
        flow::actnorm_fwd<T>(x, bias, logs, y, planes, c, hw, inverse); \
    } \
    extern "C" __global__ void actnorm_bwd_##TN(const T* x, const T* gy, const T* bias, const T* logs, T* gx, double* part, \
        int n, int c, long long hw, int inverse) \
    { \
        __shared__ double sh[FBLOCK]; \
        flow::actnorm_bwd<T>(x, gy, bias, logs, gx, part, n, c, hw, inverse, sh); \
    } \
    extern "C" __global__ void actnorm_bwd_finish_##TN(const double* part, T* gbias, T* glogs, int c, int splits) \
    { \
        flow::actnorm_bwd_finish<T>(part, gbias, glogs, c, splits); \
    } \
    extern "C" __global__ void affine_##TN(const T* x, long long xs, const T* h, T* y, double* part, int n, int c, \
        long long hw, T eps, int inverse) \
    { \
        __shared__ double sh[FBLOCK]; \
        flow::affine_fwd<T>(x, xs, h, y, part, n, c, hw, eps, inverse, sh); \
    } \
    extern "C" __global__ void affine_finish_##TN(const double* part, T* logdet, int n, int splits, int inverse) \
    { \
        flow::affine_finish<T>(part, logdet, n, splits, inverse); \
    } \
    extern "C" __global__ void affine_bwd_##TN(const T* x, long long xs, const T* h, const T* gy, const T* gld, T* gx, T* gh, \
        int n, int c, long long hw, T eps, int inverse) \
    { \
        flow::affine_bwd<T>(x, xs, h, gy, gld, gx, gh, n, c, hw, eps, inverse); \
    }

FLOW_KERNELS(f32, float)
FLOW_KERNELS(f64, double)
