// 2-D convolution on the CPU through the packed GEMM: per sample and group, image patches are
// unfolded into a (Cin/g * KH * KW) x (OH * OW) column matrix (skipped for 1x1 stride-1 unpadded
// convolutions, whose input already is that matrix), and
//   forward          y_g  = W_g (Cout/g x Cin/g*KH*KW) * col
//   backward data    col' = W_g^T * gy_g, folded back into gx (col2im, accumulating overlaps)
//   backward filter  gw_g = sum_n gy_g[n] * col[n]^T   (samples summed in order: deterministic)
// Layouts are contiguous NCHW, weight (Cout, Cin/groups, KH, KW).
using System.Numerics;
using System.Runtime.InteropServices;

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
    public static void Forward<T>(Conv2dGeometry g, T* x, T* w, T* b, T* y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long p = (long)g.OH * g.OW, hw = (long)g.H * g.W;
        int rows = g.ColRows, coutG = g.CoutG;
        ForSampleGroups(g, (n, gi, col, serial) =>
        {
            T* xs = x + ((long)n * g.Cin + (long)gi * g.CinG) * hw;
            T* src = xs;
            if (!g.IsPointwise) { Im2Col(g, xs, (T*)col, serial); src = (T*)col; }
            T* ys = y + ((long)n * g.Cout + (long)gi * coutG) * p;
            Gemm.Run(false, false, coutG, (int)p, rows, T.One, w + (long)gi * coutG * rows, rows, src, p, T.Zero, ys, p, threads: serial ? 1 : null);
            if (b != null)
                for (int co = 0; co < coutG; co++)
                {
                    T bv = b[gi * coutG + co];
                    var row = new Span<T>(ys + co * p, (int)p);
                    for (int i = 0; i < row.Length; i++) row[i] += bv;
                }
        });
    }

    public static void BackwardData<T>(Conv2dGeometry g, T* gy, T* w, T* gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long p = (long)g.OH * g.OW, hw = (long)g.H * g.W;
        int rows = g.ColRows, coutG = g.CoutG;
        ForSampleGroups(g, (n, gi, col, serial) =>
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
        // Each group owns its slice of gw; samples accumulate into it in order.
        ForGroups(g, (gi, col, serial) =>
        {
            T* gws = gw + (long)gi * coutG * rows;
            for (int n = 0; n < g.N; n++)
            {
                T* xs = x + ((long)n * g.Cin + (long)gi * g.CinG) * hw;
                T* src = xs;
                if (!g.IsPointwise) { Im2Col(g, xs, (T*)col, serial); src = (T*)col; }
                T* gys = gy + ((long)n * g.Cout + (long)gi * coutG) * p;
                Gemm.Run(false, true, coutG, rows, (int)p, T.One, gys, p, src, p, n == 0 ? T.Zero : T.One, gws, rows, threads: serial ? 1 : null);
            }
            if (g.N == 0) new Span<T>(gws, coutG * rows).Clear();
        });
    }

    private delegate void SampleGroupBody(int n, int group, IntPtr col, bool serial);
    private delegate void GroupBody(int group, IntPtr col, bool serial);

    /// <summary>
    /// Runs body for every (sample, group). Large products run one after another with threaded GEMMs;
    /// many small ones (depthwise, tiny images) run in parallel, each single-threaded.
    /// </summary>
    private static void ForSampleGroups(Conv2dGeometry g, SampleGroupBody body)
    {
        long colBytes = g.IsPointwise ? 0 : (long)g.ColRows * g.OH * g.OW * 8;
        int tasks = g.N * g.Groups;
        long work = (long)g.CoutG * g.ColRows * g.OH * g.OW;
        int t = Math.Min(CpuThreads.Count, tasks);
        if (t > 1 && work < Gemm.ParallelThreshold * 4)
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

    private static void ForGroups(Conv2dGeometry g, GroupBody body)
    {
        long colBytes = g.IsPointwise ? 0 : (long)g.ColRows * g.OH * g.OW * 8;
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

    private readonly struct Scratch : IDisposable
    {
        public readonly IntPtr Ptr;
        public Scratch(long bytes) { Ptr = bytes > 0 ? (IntPtr)NativeMemory.AlignedAlloc((nuint)bytes, 64) : IntPtr.Zero; }
        public void Dispose() { if (Ptr != IntPtr.Zero) NativeMemory.AlignedFree((void*)Ptr); }
    }

    /// <summary>col[(c*KH + kh)*KW + kw, oh*OW + ow] = x[c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw] (0 outside).</summary>
    internal static void Im2Col<T>(Conv2dGeometry g, T* x, T* col, bool serial) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = g.ColRows, kk = g.KH * g.KW, oh = g.OH, ow = g.OW;
        long p = (long)oh * ow;
        void Rows(long r0, long r1)
        {
            for (long r = r0; r < r1; r++)
            {
                int c = (int)(r / kk), kh = (int)(r % kk) / g.KW, kw = (int)(r % kk) % g.KW;
                T* xc = x + (long)c * g.H * g.W;
                T* dst = col + r * p;
                for (int i = 0; i < oh; i++)
                {
                    T* d = dst + (long)i * ow;
                    int ih = i * g.StrideH - g.PadH + kh * g.DilationH;
                    if ((uint)ih >= (uint)g.H) { new Span<T>(d, ow).Clear(); continue; }
                    T* xr = xc + (long)ih * g.W;
                    int off = kw * g.DilationW - g.PadW;
                    // ow range whose iw = j*sw + off lies in [0, W)
                    int lo = off >= 0 ? 0 : Math.Min(ow, (-off + g.StrideW - 1) / g.StrideW);
                    int hi = g.W - 1 - off < 0 ? 0 : Math.Min(ow, (g.W - 1 - off) / g.StrideW + 1);
                    if (hi < lo) hi = lo;
                    new Span<T>(d, lo).Clear();
                    if (g.StrideW == 1) new Span<T>(xr + lo + off, hi - lo).CopyTo(new Span<T>(d + lo, hi - lo));
                    else for (int j = lo; j < hi; j++) d[j] = xr[j * g.StrideW + off];
                    new Span<T>(d + hi, ow - hi).Clear();
                }
            }
        }
        if (serial) Rows(0, rows); else CpuThreads.ForChunks(rows, rows * p, Rows);
    }

    /// <summary>Adjoint of Im2Col: gx = sum over patches (gx overwritten). Parallel over channels, which own disjoint planes.</summary>
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
