// 2-D convolution on the CPU as implicit GEMM: image patches are packed straight into the GEMM's
// panels (PatchesB / PatchesA below), so no (Cin/g * KH * KW) x (OH * OW) column matrix is built.
// Per sample n and group g, with col the (virtual) patch matrix:
//   forward          y_g  = W_g (Cout/g x Cin/g*KH*KW) * col          bias + activation fused into
//                                                                     the GEMM's tile epilogue
//   backward data    stride 1: gx_g = W'_g * col(gy) with W' the flipped, transposed filter and
//                    padding d*(K-1) - p (a forward convolution of gy); otherwise (strided, or
//                    padding beyond the kernel reach) col' = W_g^T * gy_g in a buffer, folded
//                    back into gx (col2im)
//   backward filter  gw_g^T = sum_n col[n] * gy_g[n]^T  (samples summed in order: deterministic)
// 1x1 stride-1 unpadded convolutions use the input itself as the GEMM operand.
// Layouts are contiguous NCHW, weight (Cout, Cin/groups, KH, KW).
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Engine.Cpu.Kernels;

public readonly record struct Conv2dGeometry(int N, int Cin, int H, int W, int Cout, int KH, int KW,
    int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW, int Groups)
{
    public int OH => (H + 2 * PadH - DilationH * (KH - 1) - 1) / StrideH + 1;
    public int OW => (W + 2 * PadW - DilationW * (KW - 1) - 1) / StrideW + 1;
    public int CinG => Cin / Groups;
    public int CoutG => Cout / Groups;
    /// <summary>Rows of the column matrix: Cin/groups * KH * KW.</summary>
    public int ColRows => CinG * KH * KW;
    public bool IsPointwise => KH == 1 && KW == 1 && StrideH == 1 && StrideW == 1 && PadH == 0 && PadW == 0;
}

public static unsafe class Conv2dKernels
{
    public static void Forward<T>(Conv2dGeometry g, T* x, T* w, T* b, T* y, Activation act = default) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long p = (long)g.OH * g.OW, hw = (long)g.H * g.W;
        int rows = g.ColRows, coutG = g.CoutG;
        ForSampleGroups(g, 0, (n, gi, _, serial) =>
        {
            T* xs = x + ((long)n * g.Cin + (long)gi * g.CinG) * hw;
            T* ys = y + ((long)n * g.Cout + (long)gi * coutG) * p;
            ForwardOne(g, xs, w + (long)gi * coutG * rows, b == null ? null : b + gi * coutG, act, ys, serial);
        });
    }

    /// <summary>One (sample, group) of a forward convolution: y (Cout/g x OH*OW) = w (Cout/g x rows) * patches(x).</summary>
    private static void ForwardOne<T>(Conv2dGeometry g, T* xs, T* wg, T* bias, Activation act, T* ys, bool serial) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long p = (long)g.OH * g.OW;
        int rows = g.ColRows, coutG = g.CoutG;
        var a = new MatrixA<T>(wg, rows, false);
        var epi = new BiasActivation<T>(bias, act);
        int? threads = serial ? 1 : null;
        if (g.IsPointwise) Gemm.Custom(coutG, (int)p, rows, T.One, a, new MatrixB<T>(xs, p, false), T.Zero, ys, p, epi, threads: threads);
        else if (DirectConv.Applies<T>(g)) DirectConv.Run(g, xs, wg, epi, ys, serial ? 1 : CpuThreads.Count);
        else Gemm.Custom(coutG, (int)p, rows, T.One, a, new PatchesB<T>(xs, g), T.Zero, ys, p, epi, threads: threads);
    }

    public static void BackwardData<T>(Conv2dGeometry g, T* gy, T* w, T* gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long p = (long)g.OH * g.OW, hw = (long)g.H * g.W;
        int rows = g.ColRows, coutG = g.CoutG, kk = g.KH * g.KW;
        int padH = g.DilationH * (g.KH - 1) - g.PadH, padW = g.DilationW * (g.KW - 1) - g.PadW;
        if (!g.IsPointwise && g.StrideH == 1 && g.StrideW == 1 && padH >= 0 && padW >= 0)
        {
            // gx = conv(gy, W') with W'[c, co, kh, kw] = W[co, c, KH-1-kh, KW-1-kw], padding d(K-1)-p.
            var t = new Conv2dGeometry(g.N, g.Cout, g.OH, g.OW, g.Cin, g.KH, g.KW, 1, 1, padH, padW, g.DilationH, g.DilationW, g.Groups);
            int tRows = t.ColRows; // Cout/g * KH * KW
            using var flipped = new Scratch((long)g.Cin * tRows * sizeof(T));
            T* wf = (T*)flipped.Ptr;
            for (int gi = 0; gi < g.Groups; gi++)
                for (int c = 0; c < g.CinG; c++)
                    for (int co = 0; co < coutG; co++)
                        for (int q = 0; q < kk; q++)
                            wf[((long)(gi * g.CinG + c) * coutG + co) * kk + q] = w[(((long)gi * coutG + co) * g.CinG + c) * kk + (kk - 1 - q)];
            ForSampleGroups(g, 0, (n, gi, _, serial) =>
            {
                T* gys = gy + ((long)n * g.Cout + (long)gi * coutG) * p;
                T* gxs = gx + ((long)n * g.Cin + (long)gi * g.CinG) * hw;
                ForwardOne(t, gys, wf + (long)gi * g.CinG * tRows, null, default, gxs, serial);
            });
            return;
        }
        ForSampleGroups(g, g.IsPointwise ? 0 : (long)rows * p * sizeof(T), (n, gi, col, serial) =>
        {
            T* gxs = gx + ((long)n * g.Cin + (long)gi * g.CinG) * hw;
            T* gys = gy + ((long)n * g.Cout + (long)gi * coutG) * p;
            T* dst = g.IsPointwise ? gxs : (T*)col;
            Gemm.Run(true, false, rows, (int)p, coutG, T.One, w + (long)gi * coutG * rows, rows, gys, p, T.Zero, dst, p, threads: serial ? 1 : null);
            if (!g.IsPointwise) Col2Im(g, (T*)col, gxs, serial);
        });
    }

    public static void BackwardFilter<T>(Conv2dGeometry g, T* x, T* gy, T* gw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long p = (long)g.OH * g.OW, hw = (long)g.H * g.W;
        int rows = g.ColRows, coutG = g.CoutG;
        if (!g.IsPointwise && DirectConv.AppliesFilter<T>(g)) { DirectConv.Filter(g, x, gy, gw, CpuThreads.Count); return; }
        // Each group owns its slice of gw; samples accumulate in order into gw_g^T (rows x Cout/g),
        // transposed into gw at the end.
        ForGroups(g, (long)rows * coutG * sizeof(T), (gi, buf, serial) =>
        {
            T* gwt = (T*)buf;
            int? threads = serial ? 1 : null;
            for (int n = 0; n < g.N; n++)
            {
                T* xs = x + ((long)n * g.Cin + (long)gi * g.CinG) * hw;
                var b = new MatrixB<T>(gy + ((long)n * g.Cout + (long)gi * coutG) * p, p, true);
                T beta = n == 0 ? T.Zero : T.One;
                if (g.IsPointwise) Gemm.Custom(rows, coutG, (int)p, T.One, new MatrixA<T>(xs, p, false), b, beta, gwt, coutG, default(NoEpilogue<T>), threads: threads);
                else Gemm.Custom(rows, coutG, (int)p, T.One, new PatchesA<T>(xs, g), b, beta, gwt, coutG, default(NoEpilogue<T>), threads: threads);
            }
            T* gws = gw + (long)gi * coutG * rows;
            if (g.N == 0) new Span<T>(gws, coutG * rows).Clear();
            else
                for (int r = 0; r < rows; r++)
                    for (int co = 0; co < coutG; co++) gws[(long)co * rows + r] = gwt[(long)r * coutG + co];
        });
    }

    private delegate void SampleGroupBody(int n, int group, IntPtr col, bool serial);
    private delegate void GroupBody(int group, IntPtr col, bool serial);

    /// <summary>
    /// Runs body for every (sample, group). Large products run one after another with threaded GEMMs;
    /// many small ones (depthwise, tiny images) run in parallel, each single-threaded.
    /// </summary>
    private static void ForSampleGroups(Conv2dGeometry g, long colBytes, SampleGroupBody body)
    {
        int tasks = g.N * g.Groups;
        long work = (long)g.CoutG * g.ColRows * g.OH * g.OW;
        int t = Math.Min(CpuThreads.Count, tasks);
        if (t > 1 && (work < Gemm.ParallelThreshold * 4 || tasks % t == 0 || tasks >= 4 * t))
        {
            Parallel.For(0, t, new ParallelOptions { MaxDegreeOfParallelism = t }, ti =>
            {
                using var col = new Scratch(colBytes);
                for (int k = ti; k < tasks; k += t) body(k / g.Groups, k % g.Groups, col.Ptr, true);
            });
            return;
        }
        using var c = new Scratch(colBytes);
        for (int k = 0; k < tasks; k++) body(k / g.Groups, k % g.Groups, c.Ptr, false);
    }

    private static void ForGroups(Conv2dGeometry g, long colBytes, GroupBody body)
    {
        long work = (long)g.N * g.CoutG * g.ColRows * g.OH * g.OW;
        int t = Math.Min(CpuThreads.Count, g.Groups);
        if (t > 1 && work < Gemm.ParallelThreshold * 4 * g.N)
        {
            Parallel.For(0, t, new ParallelOptions { MaxDegreeOfParallelism = t }, ti =>
            {
                using var col = new Scratch(colBytes);
                for (int k = ti; k < g.Groups; k += t) body(k, col.Ptr, true);
            });
            return;
        }
        using var c = new Scratch(colBytes);
        for (int k = 0; k < g.Groups; k++) body(k, c.Ptr, false);
    }

    internal readonly struct Scratch : IDisposable
    {
        public readonly IntPtr Ptr;
        public Scratch(long bytes) { Ptr = bytes > 0 ? (IntPtr)NativeMemory.AlignedAlloc((nuint)bytes, 64) : IntPtr.Zero; }
        public void Dispose() { if (Ptr != IntPtr.Zero) NativeMemory.AlignedFree((void*)Ptr); }
    }

    /// <summary>Folds a column matrix back into the image: gx = sum over patches (gx overwritten). Parallel over channels, which own disjoint planes.</summary>
    internal static void Col2Im<T>(Conv2dGeometry g, T* col, T* gx, bool serial) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int kk = g.KH * g.KW, oh = g.OH, ow = g.OW;
        long p = (long)oh * ow, hw = (long)g.H * g.W;
        void Channels(long c0, long c1)
        {
            for (long c = c0; c < c1; c++)
            {
                T* gc = gx + c * hw;
                new Span<T>(gc, (int)hw).Clear();
                for (int k = 0; k < kk; k++)
                {
                    int kh = k / g.KW, kw = k % g.KW;
                    T* src = col + (c * kk + k) * p;
                    int off = kw * g.DilationW - g.PadW;
                    int lo = off >= 0 ? 0 : Math.Min(ow, (-off + g.StrideW - 1) / g.StrideW);
                    int hi = g.W - 1 - off < 0 ? 0 : Math.Min(ow, (g.W - 1 - off) / g.StrideW + 1);
                    for (int i = 0; i < oh; i++)
                    {
                        int ih = i * g.StrideH - g.PadH + kh * g.DilationH;
                        if ((uint)ih >= (uint)g.H) continue;
                        T* gr = gc + (long)ih * g.W;
                        T* s = src + (long)i * ow;
                        if (g.StrideW == 1)
                        {
                            var dst = new Span<T>(gr + lo + off, Math.Max(0, hi - lo));
                            var sv = new ReadOnlySpan<T>(s + lo, dst.Length);
                            for (int j = 0; j < dst.Length; j++) dst[j] += sv[j];
                        }
                        else for (int j = lo; j < hi; j++) gr[j * g.StrideW + off] += s[j];
                    }
                }
            }
        }
        if (serial) Channels(0, g.CinG); else CpuThreads.ForChunks(g.CinG, g.CinG * kk * p, Channels);
    }
}

/// <summary>GEMM epilogue: per-row bias (output channel), then the activation.</summary>
public readonly unsafe struct BiasActivation<T>(T* bias, Activation act) : IGemmEpilogue<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T* _bias = bias;
    private readonly ActivationKind _kind = act.Kind;
    private readonly T _slope = T.CreateChecked(act.Slope);

    public bool Active => _bias != null || _kind != ActivationKind.None;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Apply(T* c, long ldc, int i0, int j0, int mm, int nn)
    {
        var zero = Vector256<T>.Zero;
        var slope = Vector256.Create(_slope);
        int w = Vector256<T>.Count;
        for (int i = 0; i < mm; i++)
        {
            T* row = c + i * ldc;
            T bv = _bias != null ? _bias[i0 + i] : T.Zero;
            var bvv = Vector256.Create(bv);
            int j = 0;
            for (; j + w <= nn; j += w)
            {
                var v = Vector256.Load(row + j) + bvv;
                if (_kind == ActivationKind.Relu) v = Vector256.Max(v, zero);
                else if (_kind == ActivationKind.LeakyRelu) v = Vector256.ConditionalSelect(Vector256.GreaterThan(v, zero), v, v * slope);
                v.Store(row + j);
            }
            for (; j < nn; j++)
            {
                T v = row[j] + bv;
                if (_kind == ActivationKind.Relu) v = v > T.Zero ? v : T.Zero;
                else if (_kind == ActivationKind.LeakyRelu) v = v > T.Zero ? v : v * _slope;
                row[j] = v;
            }
        }
    }
}

/// <summary>Writes n values x[iw0 + q*sw] (zero where the column falls outside [0, W)).</summary>
internal static unsafe class PatchRow
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Fill<T>(T* d, int n, T* xrow, int iw0, int sw, int W) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (xrow == null) { new Span<T>(d, n).Clear(); return; }
        if (sw == 1)
        {
            int lo = Math.Clamp(-iw0, 0, n), hi = Math.Clamp(W - iw0, lo, n);
            for (int q = 0; q < lo; q++) d[q] = T.Zero;
            new ReadOnlySpan<T>(xrow + iw0 + lo, hi - lo).CopyTo(new Span<T>(d + lo, hi - lo));
            for (int q = hi; q < n; q++) d[q] = T.Zero;
            return;
        }
        for (int q = 0; q < n; q++)
        {
            int iw = iw0 + q * sw;
            d[q] = (uint)iw < (uint)W ? xrow[iw] : T.Zero;
        }
    }
}

/// <summary>
/// The patch matrix of one (sample, group) image as the GEMM's right operand:
/// B(k = (c, kh, kw), j = (oh, ow)) = x[c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw].
/// </summary>
internal readonly unsafe struct PatchesB<T>(T* x, Conv2dGeometry g) : IGemmB<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T* _x = x;
    private readonly Conv2dGeometry _g = g;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int p0, int kc, int j0, int nc, int nr, T* dst)
    {
        var g = _g;
        int kk = g.KH * g.KW, ow = g.OW;
        long hw = (long)g.H * g.W;
        for (int k = 0; k < kc; k++)
        {
            int r = p0 + k, c = r / kk, kh = r % kk / g.KW, kw = r % g.KW;
            T* xc = _x + c * hw;
            int offH = kh * g.DilationH - g.PadH, offW = kw * g.DilationW - g.PadW;
            for (int jr = 0; jr < nc; jr += nr)
            {
                T* d = dst + (long)jr * kc + (long)k * nr;
                int nn = Math.Min(nr, nc - jr);
                int j = j0 + jr, oh = j / ow, o = j % ow, t = 0;
                while (t < nn)
                {
                    int seg = Math.Min(nn - t, ow - o);
                    int ih = oh * g.StrideH + offH;
                    PatchRow.Fill(d + t, seg, (uint)ih < (uint)g.H ? xc + (long)ih * g.W : null, o * g.StrideW + offW, g.StrideW, g.W);
                    t += seg; o = 0; oh++;
                }
                for (; t < nr; t++) d[t] = T.Zero;
            }
        }
    }
}

/// <summary>The patch matrix as the GEMM's left operand (rows (c, kh, kw), columns pixels), for the filter gradient.</summary>
internal readonly unsafe struct PatchesA<T>(T* x, Conv2dGeometry g) : IGemmA<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T* _x = x;
    private readonly Conv2dGeometry _g = g;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int i0, int mc, int p0, int kc, int mr, T alpha, T* dst)
    {
        var g = _g;
        int kk = g.KH * g.KW, ow = g.OW;
        long hw = (long)g.H * g.W;
        T* row = stackalloc T[kc];
        for (int ir = 0; ir < mc; ir += mr)
        {
            int mm = Math.Min(mr, mc - ir);
            T* d = dst + (long)ir * kc;
            for (int i = 0; i < mr; i++)
            {
                if (i >= mm) { for (int k = 0; k < kc; k++) d[k * mr + i] = T.Zero; continue; }
                int r = i0 + ir + i, c = r / kk, kh = r % kk / g.KW, kw = r % g.KW;
                T* xc = _x + c * hw;
                int offH = kh * g.DilationH - g.PadH, offW = kw * g.DilationW - g.PadW;
                int oh = p0 / ow, o = p0 % ow, t = 0;
                while (t < kc)
                {
                    int seg = Math.Min(kc - t, ow - o);
                    int ih = oh * g.StrideH + offH;
                    PatchRow.Fill(row + t, seg, (uint)ih < (uint)g.H ? xc + (long)ih * g.W : null, o * g.StrideW + offW, g.StrideW, g.W);
                    t += seg; o = 0; oh++;
                }
                for (int k = 0; k < kc; k++) d[k * mr + i] = alpha * row[k];
            }
        }
    }
}
