// Pooling, resampling and padding of contiguous NCHW buffers (CudaBackend.Spatial.cs), the CUDA
// twins of Engine.Cpu.Kernels.PoolKernels / ResampleKernels / PadKernels, same semantics:
//   - max pool (dilation, padding as -inf, first element wins ties, NaN wins, argmax = a*W + b inside
//     the (H, W) plane, -1 for a window with no input element);
//   - avg pool (window clipped to the padded input, count_include_pad divisor rule, 0 for a window
//     wholly in the padding);
//   - nearest (ATen's legacy float index rule) and bilinear (align_corners or half-pixel) resampling;
//   - pad of the last two axes, modes Zero = 0, Reflect = 1, Replicate = 2 (Engine.PadMode values).
// One thread per output element of the forward kernels.
//
// Backward kernels and determinism:
//   avg_pool2d_bwd, upsample_nearest_bwd, upsample_bilinear_bwd, pad2d_bwd are GATHER form: one thread
//   per gx element sums the gradients of the outputs that read it, in increasing output (row-major)
//   order, starting from 0 and with the CPU's exact operations (products and sums rounded one by one
//   through __fmul_rn/__fadd_rn, so no FMA contraction). They are deterministic and bitwise equal to
//   the CPU backend.
//   max_pool2d_bwd is SCATTER form with atomicAdd (the backward gets no pooling parameters, so the
//   windows an element belongs to cannot be enumerated): gx must be zeroed by the caller, and an
//   element that is the maximum of three or more windows receives its sum in an unspecified order
//   (nondeterministic in the last bits; one or two contributions are exact and order-free).
//
// Host-provided scale factors (nearest: (float)in / out; bilinear: the CPU's scale in T) are computed
// by the host exactly as the CPU does, so index choices agree bit for bit.
// Only standard CUDA built-ins are used (the kernels also compile on the host for parity tests).

namespace spatial
{

__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int imax(int a, int b) { return a > b ? a : b; }

__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }

template <typename T> __device__ __forceinline__ T neg_inf() { return -(T)1 / (T)0; }

// ------------------------------------------------------------------------------------ max pool

template <typename T>
__device__ __forceinline__ void max_pool2d_fwd(const T* __restrict__ x, T* __restrict__ y, int* __restrict__ argmax,
    long long total, int h, int w, int oh, int ow, int kH, int kW, int sH, int sW, int pH, int pW, int dH, int dW)
{
    const long long inPlane = (long long)h * w;
    GRID_STRIDE_LOOP(o, total)
    {
        long long q = o / ow;
        int j = (int)(o - q * ow);
        long long pl = q / oh;
        int i = (int)(q - pl * oh);
        const T* xp = x + pl * inPlane;
        int h0 = i * sH - pH, h1 = imin(h0 + (kH - 1) * dH + 1, h);
        if (h0 < 0) h0 += ((-h0 + dH - 1) / dH) * dH; // first tap inside the input
        int w0 = j * sW - pW, w1 = imin(w0 + (kW - 1) * dW + 1, w);
        if (w0 < 0) w0 += ((-w0 + dW - 1) / dW) * dW;
        T best = neg_inf<T>();
        int bestIdx = -1;
        for (int a = h0; a < h1; a += dH)
        {
            const T* row = xp + (long long)a * w;
            for (int b = w0; b < w1; b += dW)
            {
                T v = row[b];
                if (bestIdx < 0 || v > best || v != v) { best = v; bestIdx = a * w + b; }
            }
        }
        y[o] = best;
        argmax[o] = bestIdx;
    }
}

// gx (zeroed by the caller) [plane][argmax[o]] += gy[o]; -1 entries are skipped; an entry outside
// [-1, inPlane) is skipped and raises *bad (the host reports it).
template <typename T>
__device__ __forceinline__ void max_pool2d_bwd(const T* __restrict__ gy, const int* __restrict__ argmax, T* __restrict__ gx,
    long long total, long long outPlane, long long inPlane, int* __restrict__ bad)
{
    GRID_STRIDE_LOOP(o, total)
    {
        int a = argmax[o];
        if (a == -1) continue;
        if (a < -1 || (long long)a >= inPlane) { *bad = 1; continue; }
        long long pl = o / outPlane;
        atomicAdd(gx + pl * inPlane + a, gy[o]);
    }
}

// ------------------------------------------------------------------------------------ avg pool

// Window of output index i along one axis: [start, end) clipped to the input, and the length of the
// window clipped to the padded input (PoolKernels.Window).
__device__ __forceinline__ void pool_window(int i, int k, int s, int p, int size, int& start, int& end, int& padded)
{
    int st = i * s - p, en = imin(st + k, size + p);
    padded = en - st;
    start = imax(st, 0);
    end = imin(en, size);
}

template <typename T>
__device__ __forceinline__ void avg_pool2d_fwd(const T* __restrict__ x, T* __restrict__ y, long long total,
    int h, int w, int oh, int ow, int kH, int kW, int sH, int sW, int pH, int pW, int countIncludePad)
{
    const long long inPlane = (long long)h * w;
    GRID_STRIDE_LOOP(o, total)
    {
        long long q = o / ow;
        int j = (int)(o - q * ow);
        long long pl = q / oh;
        int i = (int)(q - pl * oh);
        int h0, h1, ph, w0, w1, pw;
        pool_window(i, kH, sH, pH, h, h0, h1, ph);
        pool_window(j, kW, sW, pW, w, w0, w1, pw);
        if (h0 >= h1 || w0 >= w1) { y[o] = (T)0; continue; }
        const T* xp = x + pl * inPlane;
        T sum = (T)0;
        for (int a = h0; a < h1; a++)
        {
            const T* row = xp + (long long)a * w;
            for (int b = w0; b < w1; b++) sum = add_rn(sum, row[b]);
        }
        int div = countIncludePad ? ph * pw : (h1 - h0) * (w1 - w0);
        y[o] = sum / (T)div;
    }
}

// First output index i >= 0 whose window starts at or before `a` and ends after it:
// i * s - p <= a < i * s - p + k. Returns [lo, hi) clipped to [0, outSize).
__device__ __forceinline__ void pool_outputs_of(int a, int k, int s, int p, int outSize, int& lo, int& hi)
{
    int t = a + p - k + 1; // i * s >= t
    lo = t <= 0 ? 0 : (t + s - 1) / s;
    hi = imin(outSize, (a + p) / s + 1);
}

// Gather form: gx[a][b] = sum over the windows (i, j) containing (a, b), in row-major order of (i, j),
// of gy[i][j] / divisor(i, j), the CPU's exact sequence of operations.
template <typename T>
__device__ __forceinline__ void avg_pool2d_bwd(const T* __restrict__ gy, T* __restrict__ gx, long long total,
    int h, int w, int oh, int ow, int kH, int kW, int sH, int sW, int pH, int pW, int countIncludePad)
{
    const long long outPlane = (long long)oh * ow;
    GRID_STRIDE_LOOP(e, total)
    {
        long long q = e / w;
        int b = (int)(e - q * w);
        long long pl = q / h;
        int a = (int)(q - pl * h);
        const T* gp = gy + pl * outPlane;
        int i0, i1, j0, j1;
        pool_outputs_of(a, kH, sH, pH, oh, i0, i1);
        pool_outputs_of(b, kW, sW, pW, ow, j0, j1);
        T sum = (T)0;
        for (int i = i0; i < i1; i++)
        {
            int h0, h1, ph;
            pool_window(i, kH, sH, pH, h, h0, h1, ph);
            for (int j = j0; j < j1; j++)
            {
                int w0, w1, pw;
                pool_window(j, kW, sW, pW, w, w0, w1, pw);
                int div = countIncludePad ? ph * pw : (h1 - h0) * (w1 - w0);
                sum = add_rn(sum, gp[(long long)i * ow + j] / (T)div);
            }
        }
        gx[e] = sum;
    }
}

// ------------------------------------------------------------------------------------ nearest

// ResampleKernels.NearestSourceIndex; scale = (float)in / out computed by the host.
__device__ __forceinline__ int nearest_src(int d, int in, int out, float scale)
{
    if (out == in) return d;
    if (out == 2 * in) return d >> 1;
    int s = (int)floorf(__fmul_rn((float)d, scale));
    return imin(s, in - 1);
}

// Smallest d in [0, out] with nearest_src(d) >= a (the source index is non-decreasing in d).
__device__ __forceinline__ int nearest_first(int a, int in, int out, float scale)
{
    int lo = 0, hi = out;
    while (lo < hi)
    {
        int mid = (int)(((unsigned)lo + (unsigned)hi) >> 1);
        if (nearest_src(mid, in, out, scale) >= a) hi = mid; else lo = mid + 1;
    }
    return lo;
}

template <typename T>
__device__ __forceinline__ void upsample_nearest_fwd(const T* __restrict__ x, T* __restrict__ y, long long total,
    int h, int w, int oh, int ow, float scaleH, float scaleW)
{
    const long long inPlane = (long long)h * w;
    GRID_STRIDE_LOOP(o, total)
    {
        long long q = o / ow;
        int j = (int)(o - q * ow);
        long long pl = q / oh;
        int i = (int)(q - pl * oh);
        int a = nearest_src(i, h, oh, scaleH), b = nearest_src(j, w, ow, scaleW);
        y[o] = x[pl * inPlane + (long long)a * w + b];
    }
}

// Gather form: gx[a][b] = sum of gy over the output rows/columns whose source is (a, b), row-major.
template <typename T>
__device__ __forceinline__ void upsample_nearest_bwd(const T* __restrict__ gy, T* __restrict__ gx, long long total,
    int h, int w, int oh, int ow, float scaleH, float scaleW)
{
    const long long outPlane = (long long)oh * ow;
    GRID_STRIDE_LOOP(e, total)
    {
        long long q = e / w;
        int b = (int)(e - q * w);
        long long pl = q / h;
        int a = (int)(q - pl * h);
        int i0 = nearest_first(a, h, oh, scaleH), i1 = nearest_first(a + 1, h, oh, scaleH);
        int j0 = nearest_first(b, w, ow, scaleW), j1 = nearest_first(b + 1, w, ow, scaleW);
        const T* gp = gy + pl * outPlane;
        T sum = (T)0;
        for (int i = i0; i < i1; i++)
        {
            const T* row = gp + (long long)i * ow;
            for (int j = j0; j < j1; j++) sum = add_rn(sum, row[j]);
        }
        gx[e] = sum;
    }
}

// ------------------------------------------------------------------------------------ bilinear

// ResampleKernels.LinearTable for one output index d, in T, with the CPU's rounding sequence.
template <typename T>
__device__ __forceinline__ void linear_src(int d, int in, int out, int alignCorners, T scale, int& i0, int& i1, T& l0, T& l1)
{
    if (in == out) { i0 = d; i1 = d; l0 = (T)1; l1 = (T)0; return; }
    T src = alignCorners ? mul_rn(scale, (T)d) : add_rn(mul_rn(scale, add_rn((T)d, (T)0.5)), (T)-0.5);
    if (src < (T)0) src = (T)0;
    int a = imin((int)src, in - 1);
    T lam = src - (T)a;
    if (lam < (T)0) lam = (T)0;
    if (lam > (T)1) lam = (T)1;
    i0 = a;
    i1 = a < in - 1 ? a + 1 : a;
    l1 = lam;
    l0 = (T)1 - lam;
}

// Smallest d in [0, out] whose first source index i0(d) >= a (i0 is non-decreasing in d).
template <typename T>
__device__ __forceinline__ int linear_first(int a, int in, int out, int alignCorners, T scale)
{
    if (a <= 0) return 0;
    int lo = 0, hi = out;
    while (lo < hi)
    {
        int mid = (int)(((unsigned)lo + (unsigned)hi) >> 1);
        int s0, s1; T m0, m1;
        linear_src<T>(mid, in, out, alignCorners, scale, s0, s1, m0, m1);
        if (s0 >= a) hi = mid; else lo = mid + 1;
    }
    return lo;
}

template <typename T>
__device__ __forceinline__ void upsample_bilinear_fwd(const T* __restrict__ x, T* __restrict__ y, long long total,
    int h, int w, int oh, int ow, int alignCorners, T scaleH, T scaleW)
{
    const long long inPlane = (long long)h * w;
    GRID_STRIDE_LOOP(o, total)
    {
        long long q = o / ow;
        int j = (int)(o - q * ow);
        long long pl = q / oh;
        int i = (int)(q - pl * oh);
        int r0i, r1i, c0, c1;
        T a0, a1, b0, b1;
        linear_src<T>(i, h, oh, alignCorners, scaleH, r0i, r1i, a0, a1);
        linear_src<T>(j, w, ow, alignCorners, scaleW, c0, c1, b0, b1);
        const T* r0 = x + pl * inPlane + (long long)r0i * w;
        const T* r1 = x + pl * inPlane + (long long)r1i * w;
        T top = add_rn(mul_rn(b0, r0[c0]), mul_rn(b1, r0[c1]));
        T bot = add_rn(mul_rn(b0, r1[c0]), mul_rn(b1, r1[c1]));
        y[o] = add_rn(mul_rn(a0, top), mul_rn(a1, bot));
    }
}

// Gather form of the CPU's scatter: for each output (i, j) in row-major order whose taps include
// (a, b), the terms g0*b0, g0*b1, g1*b0, g1*b1 (g0 = a0*g, g1 = a1*g) that the CPU adds onto (a, b),
// in the CPU's order.
template <typename T>
__device__ __forceinline__ void upsample_bilinear_bwd(const T* __restrict__ gy, T* __restrict__ gx, long long total,
    int h, int w, int oh, int ow, int alignCorners, T scaleH, T scaleW)
{
    const long long outPlane = (long long)oh * ow;
    GRID_STRIDE_LOOP(e, total)
    {
        long long q = e / w;
        int b = (int)(e - q * w);
        long long pl = q / h;
        int a = (int)(q - pl * h);
        // Outputs whose taps can include a have i0 in {a - 1, a}.
        int iLo = linear_first<T>(a - 1, h, oh, alignCorners, scaleH), iHi = linear_first<T>(a + 1, h, oh, alignCorners, scaleH);
        int jLo = linear_first<T>(b - 1, w, ow, alignCorners, scaleW), jHi = linear_first<T>(b + 1, w, ow, alignCorners, scaleW);
        const T* gp = gy + pl * outPlane;
        T sum = (T)0;
        for (int i = iLo; i < iHi; i++)
        {
            int r0, r1; T a0, a1;
            linear_src<T>(i, h, oh, alignCorners, scaleH, r0, r1, a0, a1);
            bool m0 = r0 == a, m1 = r1 == a;
            if (!m0 && !m1) continue;
            for (int j = jLo; j < jHi; j++)
            {
                int c0, c1; T b0, b1;
                linear_src<T>(j, w, ow, alignCorners, scaleW, c0, c1, b0, b1);
                bool n0 = c0 == b, n1 = c1 == b;
                if (!n0 && !n1) continue;
                T g = gp[(long long)i * ow + j];
                T g0 = mul_rn(a0, g), g1 = mul_rn(a1, g);
                if (m0 && n0) sum = add_rn(sum, mul_rn(g0, b0));
                if (m0 && n1) sum = add_rn(sum, mul_rn(g0, b1));
                if (m1 && n0) sum = add_rn(sum, mul_rn(g1, b0));
                if (m1 && n1) sum = add_rn(sum, mul_rn(g1, b1));
            }
        }
        gx[e] = sum;
    }
}

// ------------------------------------------------------------------------------------ pad

#define PAD_ZERO 0
#define PAD_REFLECT 1
#define PAD_REPLICATE 2

// PadKernels.SourceIndex: source index along one axis of padded position o, -1 for a constant cell.
__device__ __forceinline__ int pad_src(int o, int size, int before, int mode)
{
    int i = o - before;
    if (i >= 0 && i < size) return i;
    if (mode == PAD_REFLECT)
    {
        if (i < 0) i = -i;
        if (i >= size) i = 2 * (size - 1) - i;
        return i;
    }
    if (mode == PAD_REPLICATE) return i < 0 ? 0 : size - 1;
    return -1;
}

// The padded positions whose source along one axis is a, as up to three ascending runs [lo, hi).
// Reflect: the mirrored position left of the input (a in [1, before]), a itself, the mirrored position
// right of it. Replicate: a itself, extended to the whole border on an edge.
__device__ __forceinline__ int pad_sources(int a, int size, int before, int outSize, int mode, int* lo, int* hi)
{
    if (mode == PAD_REPLICATE)
    {
        lo[0] = a == 0 ? 0 : a + before;
        hi[0] = a == size - 1 ? outSize : a + before + 1;
        return 1;
    }
    int n = 0;
    if (mode == PAD_REFLECT && a >= 1 && a <= before) { lo[n] = before - a; hi[n] = before - a + 1; n++; }
    lo[n] = a + before; hi[n] = a + before + 1; n++;
    if (mode == PAD_REFLECT)
    {
        int m = 2 * (size - 1) - a; // unpadded index (>= size) that mirrors back onto a
        if (m >= size && before + m < outSize) { lo[n] = before + m; hi[n] = before + m + 1; n++; }
    }
    return n;
}

template <typename T>
__device__ __forceinline__ void pad2d_fwd(const T* __restrict__ x, T* __restrict__ y, long long total,
    int h, int w, int oh, int ow, int left, int top, int mode, T value)
{
    const long long inPlane = (long long)h * w;
    GRID_STRIDE_LOOP(o, total)
    {
        long long q = o / ow;
        int j = (int)(o - q * ow);
        long long pl = q / oh;
        int i = (int)(q - pl * oh);
        int r = pad_src(i, h, top, mode), c = pad_src(j, w, left, mode);
        y[o] = (r < 0 || c < 0) ? value : x[pl * inPlane + (long long)r * w + c];
    }
}

// Zero mode: gx is the interior of gy. Reflect/Replicate: gather form, gx[a][b] = sum of gy over the
// padded positions that copied (a, b), in row-major order (the CPU's order).
template <typename T>
__device__ __forceinline__ void pad2d_bwd(const T* __restrict__ gy, T* __restrict__ gx, long long total,
    int h, int w, int oh, int ow, int left, int top, int mode)
{
    const long long outPlane = (long long)oh * ow;
    GRID_STRIDE_LOOP(e, total)
    {
        long long q = e / w;
        int b = (int)(e - q * w);
        long long pl = q / h;
        int a = (int)(q - pl * h);
        const T* gp = gy + pl * outPlane;
        if (mode != PAD_REFLECT && mode != PAD_REPLICATE)
        {
            gx[e] = gp[(long long)(a + top) * ow + (b + left)];
            continue;
        }
        int rlo[3], rhi[3], clo[3], chi[3];
        int nr = pad_sources(a, h, top, oh, mode, rlo, rhi);
        int nc = pad_sources(b, w, left, ow, mode, clo, chi);
        T sum = (T)0;
        for (int rs = 0; rs < nr; rs++)
            for (int i = rlo[rs]; i < rhi[rs]; i++)
            {
                const T* row = gp + (long long)i * ow;
                for (int cs = 0; cs < nc; cs++)
                    for (int j = clo[cs]; j < chi[cs]; j++) sum = add_rn(sum, row[j]);
            }
        gx[e] = sum;
    }
}

} // namespace spatial

// ------------------------------------------------------------------------------------ entry points

extern "C" __global__ void max_pool2d_f32(const float* x, float* y, int* argmax, long long total, int h, int w, int oh, int ow,
    int kH, int kW, int sH, int sW, int pH, int pW, int dH, int dW)
{ spatial::max_pool2d_fwd<float>(x, y, argmax, total, h, w, oh, ow, kH, kW, sH, sW, pH, pW, dH, dW); }

extern "C" __global__ void max_pool2d_bwd_f32(const float* gy, const int* argmax, float* gx, long long total, long long outPlane, long long inPlane, int* bad)
{ spatial::max_pool2d_bwd<float>(gy, argmax, gx, total, outPlane, inPlane, bad); }

extern "C" __global__ void avg_pool2d_f32(const float* x, float* y, long long total, int h, int w, int oh, int ow,
    int kH, int kW, int sH, int sW, int pH, int pW, int countIncludePad)
{ spatial::avg_pool2d_fwd<float>(x, y, total, h, w, oh, ow, kH, kW, sH, sW, pH, pW, countIncludePad); }

extern "C" __global__ void avg_pool2d_bwd_f32(const float* gy, float* gx, long long total, int h, int w, int oh, int ow,
    int kH, int kW, int sH, int sW, int pH, int pW, int countIncludePad)
{ spatial::avg_pool2d_bwd<float>(gy, gx, total, h, w, oh, ow, kH, kW, sH, sW, pH, pW, countIncludePad); }

extern "C" __global__ void upsample_nearest_f32(const float* x, float* y, long long total, int h, int w, int oh, int ow, float scaleH, float scaleW)
{ spatial::upsample_nearest_fwd<float>(x, y, total, h, w, oh, ow, scaleH, scaleW); }

extern "C" __global__ void upsample_nearest_bwd_f32(const float* gy, float* gx, long long total, int h, int w, int oh, int ow, float scaleH, float scaleW)
{ spatial::upsample_nearest_bwd<float>(gy, gx, total, h, w, oh, ow, scaleH, scaleW); }

extern "C" __global__ void upsample_bilinear_f32(const float* x, float* y, long long total, int h, int w, int oh, int ow,
    int alignCorners, float scaleH, float scaleW)
{ spatial::upsample_bilinear_fwd<float>(x, y, total, h, w, oh, ow, alignCorners, scaleH, scaleW); }

extern "C" __global__ void upsample_bilinear_bwd_f32(const float* gy, float* gx, long long total, int h, int w, int oh, int ow,
    int alignCorners, float scaleH, float scaleW)
{ spatial::upsample_bilinear_bwd<float>(gy, gx, total, h, w, oh, ow, alignCorners, scaleH, scaleW); }

extern "C" __global__ void pad2d_f32(const float* x, float* y, long long total, int h, int w, int oh, int ow,
    int left, int top, int mode, float value)
{ spatial::pad2d_fwd<float>(x, y, total, h, w, oh, ow, left, top, mode, value); }

extern "C" __global__ void pad2d_bwd_f32(const float* gy, float* gx, long long total, int h, int w, int oh, int ow,
    int left, int top, int mode)
{ spatial::pad2d_bwd<float>(gy, gx, total, h, w, oh, ow, left, top, mode); }

extern "C" __global__ void max_pool2d_f64(const double* x, double* y, int* argmax, long long total, int h, int w, int oh, int ow,
    int kH, int kW, int sH, int sW, int pH, int pW, int dH, int dW)
{ spatial::max_pool2d_fwd<double>(x, y, argmax, total, h, w, oh, ow, kH, kW, sH, sW, pH, pW, dH, dW); }

extern "C" __global__ void max_pool2d_bwd_f64(const double* gy, const int* argmax, double* gx, long long total, long long outPlane, long long inPlane, int* bad)
{ spatial::max_pool2d_bwd<double>(gy, argmax, gx, total, outPlane, inPlane, bad); }

extern "C" __global__ void avg_pool2d_f64(const double* x, double* y, long long total, int h, int w, int oh, int ow,
    int kH, int kW, int sH, int sW, int pH, int pW, int countIncludePad)
{ spatial::avg_pool2d_fwd<double>(x, y, total, h, w, oh, ow, kH, kW, sH, sW, pH, pW, countIncludePad); }

extern "C" __global__ void avg_pool2d_bwd_f64(const double* gy, double* gx, long long total, int h, int w, int oh, int ow,
    int kH, int kW, int sH, int sW, int pH, int pW, int countIncludePad)
{ spatial::avg_pool2d_bwd<double>(gy, gx, total, h, w, oh, ow, kH, kW, sH, sW, pH, pW, countIncludePad); }

extern "C" __global__ void upsample_nearest_f64(const double* x, double* y, long long total, int h, int w, int oh, int ow, float scaleH, float scaleW)
{ spatial::upsample_nearest_fwd<double>(x, y, total, h, w, oh, ow, scaleH, scaleW); }

extern "C" __global__ void upsample_nearest_bwd_f64(const double* gy, double* gx, long long total, int h, int w, int oh, int ow, float scaleH, float scaleW)
{ spatial::upsample_nearest_bwd<double>(gy, gx, total, h, w, oh, ow, scaleH, scaleW); }

extern "C" __global__ void upsample_bilinear_f64(const double* x, double* y, long long total, int h, int w, int oh, int ow,
    int alignCorners, double scaleH, double scaleW)
{ spatial::upsample_bilinear_fwd<double>(x, y, total, h, w, oh, ow, alignCorners, scaleH, scaleW); }

extern "C" __global__ void upsample_bilinear_bwd_f64(const double* gy, double* gx, long long total, int h, int w, int oh, int ow,
    int alignCorners, double scaleH, double scaleW)
{ spatial::upsample_bilinear_bwd<double>(gy, gx, total, h, w, oh, ow, alignCorners, scaleH, scaleW); }

extern "C" __global__ void pad2d_f64(const double* x, double* y, long long total, int h, int w, int oh, int ow,
    int left, int top, int mode, double value)
{ spatial::pad2d_fwd<double>(x, y, total, h, w, oh, ow, left, top, mode, value); }

extern "C" __global__ void pad2d_bwd_f64(const double* gy, double* gx, long long total, int h, int w, int oh, int ow,
    int left, int top, int mode)
{ spatial::pad2d_bwd<double>(gy, gx, total, h, w, oh, ow, left, top, mode); }
