// Direct convolution for unit column stride on AVX-512: the GEMM micro-kernel's right operand is
// read straight from a zero-padded copy of the input (one 2-vector row segment per (c, kh, kw),
// located through an offset table), so patches are never packed. A tile is MR = 8 output channels
// x NR = 2 vectors of consecutive output columns in one output row; weights are packed once per
// call into MR-tall panels, K-blocked so a panel stays in L1. Threads split output rows. The
// padded copy costs one pass over the input (C x (H + 2 pad) x (W + 2 pad)), not the K*K-fold
// im2col matrix.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Cpu.Kernels;

internal static unsafe class DirectConv
{
    private const int Mr = 8;
    private const int KcBytes = 2048;

    private static int Nr<T>() => 2 * Vector512<T>.Count;

    public static bool Applies<T>(Conv2dGeometry g) where T : unmanaged
        => Gemm.BestIsa == GemmIsa.Avx512 && g.StrideW == 1 && g.OW >= Nr<T>() && (typeof(T) == typeof(float) || typeof(T) == typeof(double));

    public static void Run<T, TE>(Conv2dGeometry g, T* xs, T* wg, TE epi, T* ys, int threads)
        where T : unmanaged, IFloatingPointIeee754<T> where TE : struct, IGemmEpilogue<T>
    {
        int cg = g.CinG, coutG = g.CoutG, rows = g.ColRows, nr = Nr<T>();
        int hp = g.H + 2 * g.PadH, wp = g.W + 2 * g.PadW;
        long plane = (long)hp * wp;
        long p = (long)g.OH * g.OW;
        // Zero-padded input, with slack so a full tile read at the right edge stays inside.
        long xpLen = cg * plane + nr + wp;
        int panels = (coutG + Mr - 1) / Mr;
        int kcMax = KcBytes / sizeof(T);
        using var xpBuf = new Conv2dKernels.Scratch(xpLen * sizeof(T));
        using var apBuf = new Conv2dKernels.Scratch((long)panels * Mr * rows * sizeof(T));
        using var offBuf = new Conv2dKernels.Scratch((long)rows * sizeof(int));
        T* xp = (T*)xpBuf.Ptr, ap = (T*)apBuf.Ptr;
        int* off = (int*)offBuf.Ptr;
        PadInput(g, xs, xp, xpLen);
        Offsets(g, off);
        // Weights packed per K block: block kb holds panels x Mr x kc, k-major within a panel.
        for (int k0 = 0; k0 < rows; k0 += kcMax)
        {
            int kc = Math.Min(kcMax, rows - k0);
            T* blk = ap + (long)panels * Mr * k0;
            for (int pi = 0; pi < panels; pi++)
                for (int k = 0; k < kc; k++)
                    for (int i = 0; i < Mr; i++)
                    {
                        int co = pi * Mr + i;
                        blk[((long)pi * kc + k) * Mr + i] = co < coutG ? wg[(long)co * rows + k0 + k] : T.Zero;
                    }
        }

        int tilesPerRow = (g.OW + nr - 1) / nr;
        void Rows(long r0, long r1)
        {
            T* tile = stackalloc T[Mr * 2 * Vector512<T>.Count];
            for (long oh = r0; oh < r1; oh++)
                for (int tj = 0; tj < tilesPerRow; tj++)
                {
                    int ow0 = tj * nr, nn = Math.Min(nr, g.OW - ow0);
                    T* xb = xp + oh * g.StrideH * wp + ow0;
                    for (int pi = 0; pi < panels; pi++)
                    {
                        int mm = Math.Min(Mr, coutG - pi * Mr);
                        bool full = mm == Mr && nn == nr;
                        T* c = full ? ys + (long)pi * Mr * p + oh * g.OW + ow0 : tile;
                        long ldc = full ? p : nr;
                        for (int k0 = 0; k0 < rows; k0 += kcMax)
                        {
                            int kc = Math.Min(kcMax, rows - k0);
                            T* a = ap + (long)panels * Mr * k0 + (long)pi * kc * Mr;
                            if (typeof(T) == typeof(float)) Micro((float*)a, kc, (float*)xb, off + k0, (float*)c, ldc, k0 > 0);
                            else Micro((double*)a, kc, (double*)xb, off + k0, (double*)c, ldc, k0 > 0);
                        }
                        T* dst = ys + (long)pi * Mr * p + oh * g.OW + ow0;
                        if (!full)
                            for (int i = 0; i < mm; i++)
                                new ReadOnlySpan<T>(tile + i * nr, nn).CopyTo(new Span<T>(dst + i * p, nn));
                        if (epi.Active) epi.Apply(dst, p, pi * Mr, 0, mm, nn);
                    }
                }
        }
        if (threads <= 1) Rows(0, g.OH);
        else CpuThreads.ForChunks(g.OH, (long)g.OH * g.OW * coutG * rows, Rows, threads);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro(float* a, int kc, float* xb, int* off, float* c, long ldc, bool acc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int k = 0; k < kc; k++)
        {
            float* q = xb + off[k];
            var b0 = Vector512.Load(q); var b1 = Vector512.Load(q + 16);
            var x = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
            a += 8;
        }
        Gemm.St(c + 0 * ldc, c00, c01, acc);
        Gemm.St(c + 1 * ldc, c10, c11, acc);
        Gemm.St(c + 2 * ldc, c20, c21, acc);
        Gemm.St(c + 3 * ldc, c30, c31, acc);
        Gemm.St(c + 4 * ldc, c40, c41, acc);
        Gemm.St(c + 5 * ldc, c50, c51, acc);
        Gemm.St(c + 6 * ldc, c60, c61, acc);
        Gemm.St(c + 7 * ldc, c70, c71, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro(double* a, int kc, double* xb, int* off, double* c, long ldc, bool acc)
    {
        Vector512<double> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int k = 0; k < kc; k++)
        {
            double* q = xb + off[k];
            var b0 = Vector512.Load(q); var b1 = Vector512.Load(q + 8);
            var x = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
            a += 8;
        }
        Gemm.St(c + 0 * ldc, c00, c01, acc);
        Gemm.St(c + 1 * ldc, c10, c11, acc);
        Gemm.St(c + 2 * ldc, c20, c21, acc);
        Gemm.St(c + 3 * ldc, c30, c31, acc);
        Gemm.St(c + 4 * ldc, c40, c41, acc);
        Gemm.St(c + 5 * ldc, c50, c51, acc);
        Gemm.St(c + 6 * ldc, c60, c61, acc);
        Gemm.St(c + 7 * ldc, c70, c71, acc);
    }

    /// <summary>Filter gradient (unit column stride): gw[co, r] = sum over samples and pixels of gy[co, px] * patch[r, px].</summary>
    public static bool AppliesFilter<T>(Conv2dGeometry g) where T : unmanaged
        => Gemm.BestIsa == GemmIsa.Avx512 && g.StrideW == 1 && g.OW >= Vector512<T>.Count && g.CoutG >= 4 && g.ColRows >= 4
           && (typeof(T) == typeof(float) || typeof(T) == typeof(double));

    /// <summary>
    /// Dot products along output pixels for 4 output channels x 4 patch rows at a time, gy rows and
    /// padded input rows both read contiguously (no packing). Pixels are blocked by output rows so
    /// gy and the input stay in L2 across tiles; tiles are split among threads and every output is
    /// summed in a fixed order (deterministic).
    /// </summary>
    public static void Filter<T>(Conv2dGeometry g, T* x, T* gy, T* gw, int threads) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int cg = g.CinG, coutG = g.CoutG, rows = g.ColRows;
        int hp = g.H + 2 * g.PadH, wp = g.W + 2 * g.PadW;
        long plane = (long)hp * wp, p = (long)g.OH * g.OW, hw = (long)g.H * g.W;
        int rowBlock = Math.Max(1, 1024 / g.OW);
        int cb = (coutG + 3) / 4, rb = (rows + 3) / 4;
        long xpLen = cg * plane + 2 * wp + 64;
        using var xpBuf = new Conv2dKernels.Scratch(xpLen * sizeof(T));
        using var offBuf = new Conv2dKernels.Scratch((long)rows * sizeof(int));
        T* xp = (T*)xpBuf.Ptr;
        int* off = (int*)offBuf.Ptr;
        Offsets(g, off);
        for (int gi = 0; gi < g.Groups; gi++)
        {
            T* gwg = gw + (long)gi * coutG * rows;
            new Span<T>(gwg, coutG * rows).Clear();
            for (int n = 0; n < g.N; n++)
            {
                T* xs = x + ((long)n * g.Cin + (long)gi * cg) * hw;
                T* gys = gy + ((long)n * g.Cout + (long)gi * coutG) * p;
                PadInput(g, xs, xp, xpLen);
                for (int oh0 = 0; oh0 < g.OH; oh0 += rowBlock)
                {
                    int oh1 = Math.Min(g.OH, oh0 + rowBlock);
                    void Tiles(long t0, long t1)
                    {
                        for (long t = t0; t < t1; t++)
                            Tile(g, (int)(t / rb) * 4, (int)(t % rb) * 4, oh0, oh1, gys, xp, off, wp, gwg);
                    }
                    if (threads <= 1) Tiles(0, (long)cb * rb);
                    else CpuThreads.ForChunks((long)cb * rb, (long)cb * rb * 16 * (oh1 - oh0) * g.OW, Tiles, threads);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<T>(Conv2dGeometry g, int co0, int r0, int oh0, int oh1, T* gys, T* xp, int* off, int wp, T* gw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int coutG = g.CoutG, rows = g.ColRows, ow = g.OW, w = Vector512<T>.Count;
        long p = (long)g.OH * ow;
        // Edge tiles repeat the last valid channel/row; their extra results are not stored.
        int c0 = Math.Min(co0, coutG - 1), c1 = Math.Min(co0 + 1, coutG - 1), c2 = Math.Min(co0 + 2, coutG - 1), c3 = Math.Min(co0 + 3, coutG - 1);
        int q0 = Math.Min(r0, rows - 1), q1 = Math.Min(r0 + 1, rows - 1), q2 = Math.Min(r0 + 2, rows - 1), q3 = Math.Min(r0 + 3, rows - 1);
        Vector512<T> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default, a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        T* s = stackalloc T[16];
        for (int i = 0; i < 16; i++) s[i] = T.Zero;
        for (int oh = oh0; oh < oh1; oh++)
        {
            long gro = (long)oh * ow, xro = (long)oh * g.StrideH * wp;
            T* gr0 = gys + c0 * p + gro, gr1 = gys + c1 * p + gro, gr2 = gys + c2 * p + gro, gr3 = gys + c3 * p + gro;
            T* xr0 = xp + off[q0] + xro, xr1 = xp + off[q1] + xro, xr2 = xp + off[q2] + xro, xr3 = xp + off[q3] + xro;
            int o = 0;
            for (; o + w <= ow; o += w)
            {
                var g0 = Vector512.Load(gr0 + o); var g1 = Vector512.Load(gr1 + o); var g2 = Vector512.Load(gr2 + o); var g3 = Vector512.Load(gr3 + o);
                var x0 = Vector512.Load(xr0 + o); var x1 = Vector512.Load(xr1 + o); var x2 = Vector512.Load(xr2 + o); var x3 = Vector512.Load(xr3 + o);
                a00 = Fma(g0, x0, a00); a01 = Fma(g0, x1, a01); a02 = Fma(g0, x2, a02); a03 = Fma(g0, x3, a03);
                a10 = Fma(g1, x0, a10); a11 = Fma(g1, x1, a11); a12 = Fma(g1, x2, a12); a13 = Fma(g1, x3, a13);
                a20 = Fma(g2, x0, a20); a21 = Fma(g2, x1, a21); a22 = Fma(g2, x2, a22); a23 = Fma(g2, x3, a23);
                a30 = Fma(g3, x0, a30); a31 = Fma(g3, x1, a31); a32 = Fma(g3, x2, a32); a33 = Fma(g3, x3, a33);
            }
            for (; o < ow; o++)
            {
                s[0] += gr0[o] * xr0[o]; s[1] += gr0[o] * xr1[o]; s[2] += gr0[o] * xr2[o]; s[3] += gr0[o] * xr3[o];
                s[4] += gr1[o] * xr0[o]; s[5] += gr1[o] * xr1[o]; s[6] += gr1[o] * xr2[o]; s[7] += gr1[o] * xr3[o];
                s[8] += gr2[o] * xr0[o]; s[9] += gr2[o] * xr1[o]; s[10] += gr2[o] * xr2[o]; s[11] += gr2[o] * xr3[o];
                s[12] += gr3[o] * xr0[o]; s[13] += gr3[o] * xr1[o]; s[14] += gr3[o] * xr2[o]; s[15] += gr3[o] * xr3[o];
            }
        }
        Add(gw, 0, 0, Vector512.Sum(a00) + s[0], co0, r0, coutG, rows); Add(gw, 0, 1, Vector512.Sum(a01) + s[1], co0, r0, coutG, rows); Add(gw, 0, 2, Vector512.Sum(a02) + s[2], co0, r0, coutG, rows); Add(gw, 0, 3, Vector512.Sum(a03) + s[3], co0, r0, coutG, rows);
        Add(gw, 1, 0, Vector512.Sum(a10) + s[4], co0, r0, coutG, rows); Add(gw, 1, 1, Vector512.Sum(a11) + s[5], co0, r0, coutG, rows); Add(gw, 1, 2, Vector512.Sum(a12) + s[6], co0, r0, coutG, rows); Add(gw, 1, 3, Vector512.Sum(a13) + s[7], co0, r0, coutG, rows);
        Add(gw, 2, 0, Vector512.Sum(a20) + s[8], co0, r0, coutG, rows); Add(gw, 2, 1, Vector512.Sum(a21) + s[9], co0, r0, coutG, rows); Add(gw, 2, 2, Vector512.Sum(a22) + s[10], co0, r0, coutG, rows); Add(gw, 2, 3, Vector512.Sum(a23) + s[11], co0, r0, coutG, rows);
        Add(gw, 3, 0, Vector512.Sum(a30) + s[12], co0, r0, coutG, rows); Add(gw, 3, 1, Vector512.Sum(a31) + s[13], co0, r0, coutG, rows); Add(gw, 3, 2, Vector512.Sum(a32) + s[14], co0, r0, coutG, rows); Add(gw, 3, 3, Vector512.Sum(a33) + s[15], co0, r0, coutG, rows);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add<T>(T* gw, int i, int j, T v, int co0, int r0, int coutG, int rows) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (co0 + i < coutG && r0 + j < rows) gw[(long)(co0 + i) * rows + r0 + j] += v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Avx512F.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Avx512F.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    /// <summary>Zero-padded copy of one (sample, group) input: CinG planes of (H + 2 padH) x (W + 2 padW), then zero slack up to len.</summary>
    private static void PadInput<T>(Conv2dGeometry g, T* xs, T* xp, long len) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long wp = g.W + 2 * g.PadW, plane = (g.H + 2 * g.PadH) * wp;
        new Span<T>(xp, checked((int)len)).Clear();
        for (int c = 0; c < g.CinG; c++)
            for (int i = 0; i < g.H; i++)
                new ReadOnlySpan<T>(xs + ((long)c * g.H + i) * g.W, g.W).CopyTo(new Span<T>(xp + c * plane + (i + g.PadH) * wp + g.PadW, g.W));
    }

    /// <summary>off[r] for patch row r = (c, kh, kw): its element offset in the padded input, relative to the output pixel's origin.</summary>
    private static void Offsets(Conv2dGeometry g, int* off)
    {
        int kk = g.KH * g.KW;
        long wp = g.W + 2 * g.PadW, plane = (g.H + 2 * g.PadH) * wp;
        for (int r = 0; r < g.ColRows; r++)
        {
            int c = r / kk, kh = r % kk / g.KW, kw = r % g.KW;
            off[r] = checked((int)(c * plane + kh * g.DilationH * wp + kw * g.DilationW));
        }
    }
}
