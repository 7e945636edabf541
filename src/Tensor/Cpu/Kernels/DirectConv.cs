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
        int cg = g.CinG, coutG = g.CoutG, rows = g.ColRows, kk = g.KH * g.KW, nr = Nr<T>();
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
        new Span<T>(xp, (int)Math.Min(int.MaxValue, xpLen)).Clear();
        for (int c = 0; c < cg; c++)
            for (int i = 0; i < g.H; i++)
                new ReadOnlySpan<T>(xs + ((long)c * g.H + i) * g.W, g.W).CopyTo(new Span<T>(xp + c * plane + (long)(i + g.PadH) * wp + g.PadW, g.W));
        for (int r = 0; r < rows; r++)
        {
            int c = r / kk, kh = r % kk / g.KW, kw = r % g.KW;
            off[r] = (int)(c * plane + (long)kh * g.DilationH * wp + (long)kw * g.DilationW);
        }
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
        St(c + 0 * ldc, c00, c01, acc);
        St(c + 1 * ldc, c10, c11, acc);
        St(c + 2 * ldc, c20, c21, acc);
        St(c + 3 * ldc, c30, c31, acc);
        St(c + 4 * ldc, c40, c41, acc);
        St(c + 5 * ldc, c50, c51, acc);
        St(c + 6 * ldc, c60, c61, acc);
        St(c + 7 * ldc, c70, c71, acc);
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
        St(c + 0 * ldc, c00, c01, acc);
        St(c + 1 * ldc, c10, c11, acc);
        St(c + 2 * ldc, c20, c21, acc);
        St(c + 3 * ldc, c30, c31, acc);
        St(c + 4 * ldc, c40, c41, acc);
        St(c + 5 * ldc, c50, c51, acc);
        St(c + 6 * ldc, c60, c61, acc);
        St(c + 7 * ldc, c70, c71, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void St<T>(T* c, Vector512<T> v0, Vector512<T> v1, bool acc) where T : unmanaged
    {
        if (acc) { v0 += Vector512.Load(c); v1 += Vector512.Load(c + Vector512<T>.Count); }
        v0.Store(c); v1.Store(c + Vector512<T>.Count);
    }
}
