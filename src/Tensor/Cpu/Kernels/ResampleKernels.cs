// Nearest and bilinear resampling of contiguous NCHW buffers to an explicit output size, PyTorch semantics
// (F.interpolate with size=..., no scale_factor), generic over float and double. Forward kernels overwrite
// y; backward kernels OVERWRITE gx (zero it, then accumulate each output's gradient into its sources).
// Source indices and weights are computed once per call; work is split over the N*C planes with
// Parallel.For above 64K elements, one thread per plane in a fixed order (deterministic).
using System.Numerics;

namespace Engine.Cpu.Kernels;

public static unsafe class ResampleKernels
{
    private const long ParallelThreshold = 1 << 16;

    /// <summary>PyTorch legacy 'nearest' source index: min(floor(dst * (float)in/out), in - 1), computed in
    /// single precision exactly as ATen does (identity when in == out, dst/2 when out == 2*in).</summary>
    public static int NearestSourceIndex(int dst, int inSize, int outSize)
    {
        if (outSize == inSize) return dst;
        if (outSize == 2 * inSize) return dst >> 1;
        float scale = (float)inSize / outSize;
        return Math.Min((int)MathF.Floor(dst * scale), inSize - 1);
    }

    /// <summary>y (N, C, OH, OW)[i, j] = x[NearestSourceIndex(i, H, OH), NearestSourceIndex(j, W, OW)].</summary>
    public static void UpsampleNearest<T>(int n, int c, int h, int w, int oh, int ow, T* x, T* y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckSizes(n, c, h, w, oh, ow);
        int[] hi = NearestTable(h, oh), wi = NearestTable(w, ow);
        long inPlane = (long)h * w, outPlane = (long)oh * ow;
        ForPlanes(n * c, n * c * (inPlane + outPlane), p =>
        {
            T* xp = x + p * inPlane;
            T* yp = y + p * outPlane;
            for (int i = 0; i < oh; i++)
            {
                T* src = xp + (long)hi[i] * w;
                T* dst = yp + (long)i * ow;
                for (int j = 0; j < ow; j++) dst[j] = src[wi[j]];
            }
        });
    }

    /// <summary>gx (N, C, H, W) = 0, then gx[src(i), src(j)] += gy[i, j].</summary>
    public static void UpsampleNearestBackward<T>(int n, int c, int h, int w, int oh, int ow, T* gy, T* gx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckSizes(n, c, h, w, oh, ow);
        int[] hi = NearestTable(h, oh), wi = NearestTable(w, ow);
        long inPlane = (long)h * w, outPlane = (long)oh * ow;
        ForPlanes(n * c, n * c * (inPlane + outPlane), p =>
        {
            T* gxp = gx + p * inPlane;
            T* gyp = gy + p * outPlane;
            new Span<T>(gxp, checked((int)inPlane)).Clear();
            for (int i = 0; i < oh; i++)
            {
                T* dst = gxp + (long)hi[i] * w;
                T* src = gyp + (long)i * ow;
                for (int j = 0; j < ow; j++) dst[wi[j]] += src[j];
            }
        });
    }

    /// <summary>Bilinear resampling with PyTorch's source-index rule. alignCorners: src = dst * (in-1)/(out-1)
    /// (0 when out == 1); otherwise src = (dst + 0.5) * in/out - 0.5 clamped below at 0. i0 = floor(src),
    /// i1 = min(i0 + 1, in - 1), lambda = src - i0. Axes with in == out are copied unchanged.</summary>
    public static void UpsampleBilinear<T>(int n, int c, int h, int w, int oh, int ow, bool alignCorners, T* x, T* y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckSizes(n, c, h, w, oh, ow);
        var (h0, h1, hl0, hl1) = LinearTable<T>(h, oh, alignCorners);
        var (w0, w1, wl0, wl1) = LinearTable<T>(w, ow, alignCorners);
        long inPlane = (long)h * w, outPlane = (long)oh * ow;
        ForPlanes(n * c, n * c * (inPlane + outPlane), p =>
        {
            T* xp = x + p * inPlane;
            T* yp = y + p * outPlane;
            for (int i = 0; i < oh; i++)
            {
                T* r0 = xp + (long)h0[i] * w, r1 = xp + (long)h1[i] * w;
                T a0 = hl0[i], a1 = hl1[i];
                T* dst = yp + (long)i * ow;
                for (int j = 0; j < ow; j++)
                {
                    int c0 = w0[j], c1 = w1[j];
                    T b0 = wl0[j], b1 = wl1[j];
                    dst[j] = a0 * (b0 * r0[c0] + b1 * r0[c1]) + a1 * (b0 * r1[c0] + b1 * r1[c1]);
                }
            }
        });
    }

    /// <summary>gx (N, C, H, W) = 0, then each gy[i, j] is spread over its four sources with the forward's
    /// weights (the exact adjoint of <see cref="UpsampleBilinear{T}"/>).</summary>
    public static void UpsampleBilinearBackward<T>(int n, int c, int h, int w, int oh, int ow, bool alignCorners, T* gy, T* gx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckSizes(n, c, h, w, oh, ow);
        var (h0, h1, hl0, hl1) = LinearTable<T>(h, oh, alignCorners);
        var (w0, w1, wl0, wl1) = LinearTable<T>(w, ow, alignCorners);
        long inPlane = (long)h * w, outPlane = (long)oh * ow;
        ForPlanes(n * c, n * c * (inPlane + outPlane), p =>
        {
            T* gxp = gx + p * inPlane;
            T* gyp = gy + p * outPlane;
            new Span<T>(gxp, checked((int)inPlane)).Clear();
            for (int i = 0; i < oh; i++)
            {
                T* r0 = gxp + (long)h0[i] * w, r1 = gxp + (long)h1[i] * w;
                T a0 = hl0[i], a1 = hl1[i];
                T* src = gyp + (long)i * ow;
                for (int j = 0; j < ow; j++)
                {
                    int c0 = w0[j], c1 = w1[j];
                    T b0 = wl0[j], b1 = wl1[j], g = src[j];
                    T g0 = a0 * g, g1 = a1 * g;
                    r0[c0] += g0 * b0;
                    r0[c1] += g0 * b1;
                    r1[c0] += g1 * b0;
                    r1[c1] += g1 * b1;
                }
            }
        });
    }

    private static int[] NearestTable(int inSize, int outSize)
    {
        var t = new int[outSize];
        for (int i = 0; i < outSize; i++) t[i] = NearestSourceIndex(i, inSize, outSize);
        return t;
    }

    /// <summary>Per output index along one axis: the two source indices and their weights (ATen's
    /// compute_source_index_and_lambda, evaluated in T like ATen's opmath for float/double).</summary>
    private static (int[] i0, int[] i1, T[] l0, T[] l1) LinearTable<T>(int inSize, int outSize, bool alignCorners)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var i0 = new int[outSize];
        var i1 = new int[outSize];
        var l0 = new T[outSize];
        var l1 = new T[outSize];
        T scale = alignCorners
            ? (outSize > 1 ? T.CreateTruncating(inSize - 1) / T.CreateTruncating(outSize - 1) : T.Zero)
            : T.CreateTruncating(inSize) / T.CreateTruncating(outSize);
        T half = T.CreateTruncating(0.5);
        for (int d = 0; d < outSize; d++)
        {
            if (inSize == outSize) { i0[d] = d; i1[d] = d; l0[d] = T.One; l1[d] = T.Zero; continue; }
            T src = alignCorners ? scale * T.CreateTruncating(d) : scale * (T.CreateTruncating(d) + half) - half;
            if (src < T.Zero) src = T.Zero;
            int a = Math.Min(int.CreateTruncating(src), inSize - 1);
            T lam = T.Clamp(src - T.CreateTruncating(a), T.Zero, T.One);
            i0[d] = a;
            i1[d] = a < inSize - 1 ? a + 1 : a;
            l1[d] = lam;
            l0[d] = T.One - lam;
        }
        return (i0, i1, l0, l1);
    }

    private static void CheckSizes(int n, int c, int h, int w, int oh, int ow)
    {
        if (n < 0 || c < 0 || h < 0 || w < 0 || oh < 0 || ow < 0)
            throw new ArgumentException($"resample: negative size (N {n}, C {c}, in {h}x{w}, out {oh}x{ow})");
        if ((h == 0 || w == 0) && (long)oh * ow > 0 && (long)n * c > 0)
            throw new ArgumentException($"resample: empty input {h}x{w} cannot produce output {oh}x{ow}");
    }

    /// <summary>Runs body(plane) for every plane; in parallel when the call touches more than 64K elements.</summary>
    private static void ForPlanes(int planes, long work, Action<int> body)
    {
        if (work <= ParallelThreshold || planes < 2 || Environment.ProcessorCount < 2)
            for (int p = 0; p < planes; p++) body(p);
        else
            Parallel.For(0, planes, body);
    }
}
