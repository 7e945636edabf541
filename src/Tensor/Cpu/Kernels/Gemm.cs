// Packed, cache-blocked GEMM for the CPU backend, row-major: C = alpha * op(A) * op(B) + beta * C,
// op(A) is M x K, op(B) is K x N. BLIS-style loop nest: K is cut into KC blocks, op(B) into NC
// column blocks packed as NR-wide micro-panels, op(A) into MC row blocks packed as MR-tall
// micro-panels (alpha folded into the A pack); an MR x NR register-tile micro-kernel does the FMAs.
// Micro-kernels exist for Vector512 (AVX-512) and Vector256 (AVX2+FMA), chosen at run time; a
// scalar path covers everything else.
//
// Threads split C into disjoint column (or row) ranges, each running the whole nest on its own
// packed buffers, so every element is summed in the same order whatever the thread count:
// results are bitwise identical for 1 and N threads.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Cpu.Kernels;

/// <summary>Instruction set of the GEMM micro-kernel.</summary>
public enum GemmIsa { Scalar, Avx2, Avx512 }

public static unsafe class Gemm
{
    /// <summary>The best micro-kernel this CPU runs.</summary>
    public static GemmIsa BestIsa { get; } =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? GemmIsa.Avx512 :
        Avx2.IsSupported && Fma.IsSupported ? GemmIsa.Avx2 : GemmIsa.Scalar;

    // Cache blocking, tuned on Zen4 (32 KB L1d, 1 MB L2, 32 MB L3) against OpenBLAS, see
    // docs/PERFORMANCE.md: an MR x KC micro-panel of A (16 KB) stays in L1 while NR-wide panels of
    // B stream from L2/L3; the MC x KC block of A (192 KB) lives in L2, a KC x NC block of B in L3.
    internal const int KcBytes = 2048;   // KC = 512 floats / 256 doubles
    internal const int Mc = 96;         // multiple of every MR
    internal const int Nc = 4096;       // multiple of every NR
    /// <summary>Below this many multiply-adds a GEMM runs on the calling thread.</summary>
    internal const long ParallelThreshold = 1L << 17;

    public static void Run<T>(bool transA, bool transB, int M, int N, int K, T alpha, T* A, long lda, T* B, long ldb, T beta, T* C, long ldc, GemmIsa? isa = null, int? threads = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Batched(1, transA, transB, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, isa, threads);

    /// <summary>
    /// batch independent GEMMs (threads: worker count, default CpuThreads.Count); matrix b starts at A + b*strideA (B, C likewise; a zero stride
    /// broadcasts). lda/ldb/ldc are the row strides of A, B, C as stored (A is K x M when transA).
    /// </summary>
    public static void Batched<T>(int batch, bool transA, bool transB, int M, int N, int K, T alpha,
        T* A, long lda, long strideA, T* B, long ldb, long strideB, T beta, T* C, long ldc, long strideC, GemmIsa? isa = null, int? threads = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double)) throw new NotSupportedException($"Gemm<{typeof(T).Name}>");
        if (batch <= 0 || M <= 0 || N <= 0) return;
        var kind = isa ?? BestIsa;
        if (kind > BestIsa) throw new PlatformNotSupportedException($"Gemm: {kind} micro-kernel requested, this CPU supports up to {BestIsa}");
        long work = (long)M * N * Math.Max(K, 1);
        int nt = Math.Max(1, threads ?? CpuThreads.Count);
        if (batch > 1 && (work < ParallelThreshold * 8 || batch >= nt * 4) && nt > 1)
        {
            // Many small products: one GEMM per task, each single-threaded.
            int t = Math.Min(nt, batch);
            Parallel.For(0, t, new ParallelOptions { MaxDegreeOfParallelism = t }, ti =>
            {
                for (int b = ti; b < batch; b += t)
                    Core(kind, 1, M, N, K, alpha, new MatrixA<T>(A + b * strideA, lda, transA), new MatrixB<T>(B + b * strideB, ldb, transB), beta, C + b * strideC, ldc, default(NoEpilogue<T>));
            });
            return;
        }
        for (int b = 0; b < batch; b++)
            Core(kind, work < ParallelThreshold ? 1 : nt, M, N, K, alpha, new MatrixA<T>(A + b * strideA, lda, transA), new MatrixB<T>(B + b * strideB, ldb, transB), beta, C + b * strideC, ldc, default(NoEpilogue<T>));
    }

    /// <summary>
    /// C = alpha * A * B + beta * C with A and B supplied by packers (implicit operands such as
    /// image patches pack straight into the panels), then epi applied to each finished C tile.
    /// </summary>
    public static void Custom<T, TA, TB, TE>(int M, int N, int K, T alpha, TA a, TB b, T beta, T* C, long ldc, TE epi, GemmIsa? isa = null, int? threads = null)
        where T : unmanaged, IFloatingPointIeee754<T> where TA : struct, IGemmA<T> where TB : struct, IGemmB<T> where TE : struct, IGemmEpilogue<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double)) throw new NotSupportedException($"Gemm<{typeof(T).Name}>");
        if (M <= 0 || N <= 0) return;
        var kind = isa ?? BestIsa;
        if (kind > BestIsa) throw new PlatformNotSupportedException($"Gemm: {kind} micro-kernel requested, this CPU supports up to {BestIsa}");
        long work = (long)M * N * Math.Max(K, 1);
        Core(kind, work < ParallelThreshold ? 1 : Math.Max(1, threads ?? CpuThreads.Count), M, N, K, alpha, a, b, beta, C, ldc, epi);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Core<T, TA, TB, TE>(GemmIsa isa, int threads, int M, int N, int K, T alpha, TA a, TB b, T beta, T* C, long ldc, TE epi)
        where T : unmanaged, IFloatingPointIeee754<T> where TA : struct, IGemmA<T> where TB : struct, IGemmB<T> where TE : struct, IGemmEpilogue<T>
    {
        if (K == 0 || alpha == T.Zero)
        {
            for (int i = 0; i < M; i++)
            {
                var row = new Span<T>(C + i * ldc, N);
                if (beta == T.Zero) row.Clear();
                else if (beta != T.One) for (int j = 0; j < N; j++) row[j] *= beta;
            }
            if (epi.Active) epi.Apply(C, ldc, 0, 0, M, N);
            return;
        }
        bool accumulate = true;
        if (beta == T.Zero) accumulate = false;
        else if (beta != T.One)
            for (int i = 0; i < M; i++) { var row = new Span<T>(C + i * ldc, N); for (int j = 0; j < N; j++) row[j] *= beta; }

        int mr = MR<T>(isa), nr = NR<T>(isa);
        // Split C among threads: by columns when there are enough NR panels, else by rows.
        int t = threads;
        bool byCols = (N + nr - 1) / nr >= 2 * t || N >= M;
        int units = byCols ? (N + nr - 1) / nr : (M + mr - 1) / mr;
        t = Math.Max(1, Math.Min(t, units));
        if (t == 1) { Nest(isa, 0, M, 0, N, K, alpha, a, b, accumulate, C, ldc, epi); return; }
        Parallel.For(0, t, new ParallelOptions { MaxDegreeOfParallelism = t }, ti =>
        {
            int u0 = (int)((long)units * ti / t), u1 = (int)((long)units * (ti + 1) / t);
            if (byCols) Nest(isa, 0, M, u0 * nr, Math.Min(N, u1 * nr), K, alpha, a, b, accumulate, C, ldc, epi);
            else Nest(isa, u0 * mr, Math.Min(M, u1 * mr), 0, N, K, alpha, a, b, accumulate, C, ldc, epi);
        });
    }

    internal static int MR<T>(GemmIsa isa) => isa switch { GemmIsa.Avx512 => 8, GemmIsa.Avx2 => 6, _ => 4 };
    internal static int NR<T>(GemmIsa isa) => isa switch { GemmIsa.Avx512 => 2 * Vector512<T>.Count, GemmIsa.Avx2 => 2 * Vector256<T>.Count, _ => 8 };

    [ThreadStatic] private static PackBuffer? _buf;

    private sealed class PackBuffer
    {
        public byte* Ptr; public long Bytes;
        public byte* Get(long bytes)
        {
            if (bytes > Bytes)
            {
                if (Ptr != null) NativeMemory.AlignedFree(Ptr);
                Ptr = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
                Bytes = bytes;
            }
            return Ptr;
        }
        ~PackBuffer() { if (Ptr != null) NativeMemory.AlignedFree(Ptr); }
    }

    /// <summary>The loop nest over C rows [m0, m1) and columns [n0, n1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Nest<T, TA, TB, TE>(GemmIsa isa, int m0, int m1, int n0, int n1, int K, T alpha,
        TA a, TB b, bool accumulate, T* C, long ldc, TE epi)
        where T : unmanaged, IFloatingPointIeee754<T> where TA : struct, IGemmA<T> where TB : struct, IGemmB<T> where TE : struct, IGemmEpilogue<T>
    {
        int mr = MR<T>(isa), nr = NR<T>(isa);
        int kcMax = KcBytes / sizeof(T);
        int ncMax = Math.Min(Nc, ((n1 - n0 + nr - 1) / nr) * nr);
        int mcMax = Math.Min(Mc, ((m1 - m0 + mr - 1) / mr) * mr);
        int kcAlloc = Math.Min(kcMax, K);
        long aElems = (long)mcMax * kcAlloc, bElems = (long)ncMax * kcAlloc;
        _buf ??= new PackBuffer();
        T* ap = (T*)_buf.Get((aElems + bElems + (long)mr * nr) * sizeof(T) + 128);
        T* bp = ap + aElems;
        T* tile = bp + bElems;

        for (int jc = n0; jc < n1; jc += ncMax)
        {
            int nc = Math.Min(ncMax, n1 - jc);
            for (int pc = 0; pc < K; pc += kcMax)
            {
                int kc = Math.Min(kcMax, K - pc);
                bool acc = accumulate || pc > 0;
                bool last = pc + kc >= K;
                b.Pack(pc, kc, jc, nc, nr, bp);
                for (int ic = m0; ic < m1; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, m1 - ic);
                    a.Pack(ic, mc, pc, kc, mr, alpha, ap);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int nn = Math.Min(nr, nc - jr);
                        T* bpan = bp + (long)jr * kc;
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            int mm = Math.Min(mr, mc - ir);
                            T* c = C + (ic + ir) * ldc + jc + jr;
                            Tile(isa, kc, ap + (long)ir * kc, bpan, c, ldc, acc, mm, nn, mr, nr, tile);
                            if (last && epi.Active) epi.Apply(c, ldc, ic + ir, jc + jr, mm, nn);
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<T>(GemmIsa isa, int kc, T* apan, T* bpan, T* c, long ldc, bool acc, int mm, int nn, int mr, int nr, T* tile)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (mm == mr && nn == nr) Micro(isa, kc, apan, bpan, c, ldc, acc);
        else
        {
            Micro(isa, kc, apan, bpan, tile, nr, false);
            for (int i = 0; i < mm; i++)
                for (int j = 0; j < nn; j++)
                    c[i * ldc + j] = acc ? c[i * ldc + j] + tile[i * nr + j] : tile[i * nr + j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Micro<T>(GemmIsa isa, int kc, T* a, T* b, T* c, long ldc, bool acc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (isa == GemmIsa.Scalar) MicroScalar(kc, a, b, c, ldc, acc);
        else if (typeof(T) == typeof(float))
        {
            if (isa == GemmIsa.Avx512) Micro512F(kc, (float*)a, (float*)b, (float*)c, ldc, acc);
            else Micro256F(kc, (float*)a, (float*)b, (float*)c, ldc, acc);
        }
        else
        {
            if (isa == GemmIsa.Avx512) Micro512D(kc, (double*)a, (double*)b, (double*)c, ldc, acc);
            else Micro256D(kc, (double*)a, (double*)b, (double*)c, ldc, acc);
        }
    }

    // ---- micro-kernels: MR x (2 vectors) register tiles ----------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro512F(int kc, float* a, float* b, float* c, long ldc, bool acc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default,
                         c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
            a += 8; b += 32;
        }
        St(c, c00, c01, acc); St(c + ldc, c10, c11, acc); St(c + 2 * ldc, c20, c21, acc); St(c + 3 * ldc, c30, c31, acc);
        St(c + 4 * ldc, c40, c41, acc); St(c + 5 * ldc, c50, c51, acc); St(c + 6 * ldc, c60, c61, acc); St(c + 7 * ldc, c70, c71, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro512D(int kc, double* a, double* b, double* c, long ldc, bool acc)
    {
        Vector512<double> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default,
                          c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 8);
            var x = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
            a += 8; b += 16;
        }
        St(c, c00, c01, acc); St(c + ldc, c10, c11, acc); St(c + 2 * ldc, c20, c21, acc); St(c + 3 * ldc, c30, c31, acc);
        St(c + 4 * ldc, c40, c41, acc); St(c + 5 * ldc, c50, c51, acc); St(c + 6 * ldc, c60, c61, acc); St(c + 7 * ldc, c70, c71, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro256F(int kc, float* a, float* b, float* c, long ldc, bool acc)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                         c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]); c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            a += 6; b += 16;
        }
        St(c, c00, c01, acc); St(c + ldc, c10, c11, acc); St(c + 2 * ldc, c20, c21, acc);
        St(c + 3 * ldc, c30, c31, acc); St(c + 4 * ldc, c40, c41, acc); St(c + 5 * ldc, c50, c51, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro256D(int kc, double* a, double* b, double* c, long ldc, bool acc)
    {
        Vector256<double> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                          c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 4);
            var x = Vector256.Create(a[0]); c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            a += 6; b += 8;
        }
        St(c, c00, c01, acc); St(c + ldc, c10, c11, acc); St(c + 2 * ldc, c20, c21, acc);
        St(c + 3 * ldc, c30, c31, acc); St(c + 4 * ldc, c40, c41, acc); St(c + 5 * ldc, c50, c51, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void St<T>(T* c, Vector512<T> v0, Vector512<T> v1, bool acc) where T : unmanaged
    {
        if (acc) { v0 += Vector512.Load(c); v1 += Vector512.Load(c + Vector512<T>.Count); }
        v0.Store(c); v1.Store(c + Vector512<T>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void St<T>(T* c, Vector256<T> v0, Vector256<T> v1, bool acc) where T : unmanaged
    {
        if (acc) { v0 += Vector256.Load(c); v1 += Vector256.Load(c + Vector256<T>.Count); }
        v0.Store(c); v1.Store(c + Vector256<T>.Count);
    }

    /// <summary>Portable 4 x 8 micro-kernel on the same packed panels.</summary>
    private static void MicroScalar<T>(int kc, T* a, T* b, T* c, long ldc, bool acc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* t = stackalloc T[32];
        for (int q = 0; q < 32; q++) t[q] = T.Zero;
        for (int k = 0; k < kc; k++, a += 4, b += 8)
            for (int i = 0; i < 4; i++)
            {
                T av = a[i];
                for (int j = 0; j < 8; j++) t[i * 8 + j] += av * b[j];
            }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 8; j++) c[i * ldc + j] = acc ? c[i * ldc + j] + t[i * 8 + j] : t[i * 8 + j];
    }
}

/// <summary>Supplies MR-tall panels of the left operand: panel-major, then k, then row; rows past mc zero; scaled by alpha.</summary>
public unsafe interface IGemmA<T> where T : unmanaged
{
    void Pack(int i0, int mc, int p0, int kc, int mr, T alpha, T* dst);
}

/// <summary>Supplies NR-wide panels of the right operand: panel-major, then k, then column; columns past nc zero.</summary>
public unsafe interface IGemmB<T> where T : unmanaged
{
    void Pack(int p0, int kc, int j0, int nc, int nr, T* dst);
}

/// <summary>Runs on each finished mm x nn tile of C at (i0, j0) while it is hot in cache.</summary>
public unsafe interface IGemmEpilogue<T> where T : unmanaged
{
    bool Active { get; }
    void Apply(T* c, long ldc, int i0, int j0, int mm, int nn);
}

public readonly unsafe struct NoEpilogue<T> : IGemmEpilogue<T> where T : unmanaged
{
    public bool Active => false;
    public void Apply(T* c, long ldc, int i0, int j0, int mm, int nn) { }
}

/// <summary>A stored row-major matrix as the left operand: op(A)(i, k) = Trans ? A[k*Ld + i] : A[i*Ld + k].</summary>
public readonly unsafe struct MatrixA<T>(T* ptr, long ld, bool trans) : IGemmA<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T* Ptr = ptr;
    private readonly long Ld = ld;
    private readonly bool Trans = trans;

    /// <summary>Packs op(A)[i0:i0+mc, p0:p0+kc] * alpha as MR-tall panels: panel-major, then k, then row; rows past mc are zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int i0, int mc, int p0, int kc, int mr, T alpha, T* dst)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int mm = Math.Min(mr, mc - ir);
            T* d = dst + (long)ir * kc;
            if (Trans)
            {
                // op(A)(i, k) = A[k * Ld + i]: rows of a panel are contiguous for each k.
                for (int k = 0; k < kc; k++)
                {
                    T* s = Ptr + (p0 + k) * Ld + i0 + ir;
                    T* dk = d + k * mr;
                    int i = 0;
                    for (; i < mm; i++) dk[i] = alpha * s[i];
                    for (; i < mr; i++) dk[i] = T.Zero;
                }
            }
            else
            {
                // op(A)(i, k) = A[i * Ld + k]: walk each row contiguously, scatter with stride mr.
                for (int i = 0; i < mm; i++)
                {
                    T* s = Ptr + (i0 + ir + i) * Ld + p0;
                    for (int k = 0; k < kc; k++) d[k * mr + i] = alpha * s[k];
                }
                for (int i = mm; i < mr; i++)
                    for (int k = 0; k < kc; k++) d[k * mr + i] = T.Zero;
            }
        }
    }
}

/// <summary>A stored row-major matrix as the right operand: op(B)(k, j) = Trans ? B[j*Ld + k] : B[k*Ld + j].</summary>
public readonly unsafe struct MatrixB<T>(T* ptr, long ld, bool trans) : IGemmB<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T* Ptr = ptr;
    private readonly long Ld = ld;
    private readonly bool Trans = trans;

    /// <summary>Packs op(B)[p0:p0+kc, j0:j0+nc] as NR-wide panels: panel-major, then k, then column; columns past nc are zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int p0, int kc, int j0, int nc, int nr, T* dst)
    {
        if (!Trans)
        {
            int full = nc / nr * nr, chunks = nr * sizeof(T) / 32;
            for (int k = 0; k < kc; k++)
            {
                byte* s = (byte*)(Ptr + (p0 + k) * Ld + j0);
                byte* dk = (byte*)(dst + (long)k * nr);
                for (int jr = 0; jr < full; jr += nr)
                {
                    byte* sp = s + (long)jr * sizeof(T), dp = dk + (long)jr * kc * sizeof(T);
                    for (int q = 0; q < chunks; q++) Vector256.Store(Vector256.Load(sp + 32 * q), dp + 32 * q);
                }
            }
        }
        for (int jr = 0; jr < nc; jr += nr)
        {
            int nn = Math.Min(nr, nc - jr);
            T* d = dst + (long)jr * kc;
            if (!Trans)
            {
                if (nn < nr)
                    for (int k = 0; k < kc; k++)
                    {
                        T* s = Ptr + (p0 + k) * Ld + j0 + jr;
                        T* dk = d + k * nr;
                        int j = 0;
                        for (; j < nn; j++) dk[j] = s[j];
                        for (; j < nr; j++) dk[j] = T.Zero;
                    }
                continue;
            }
            else
            {
                // op(B)(k, j) = B[j * Ld + k]
                for (int j = 0; j < nn; j++)
                {
                    T* s = Ptr + (j0 + jr + j) * Ld + p0;
                    for (int k = 0; k < kc; k++) d[k * nr + j] = s[k];
                }
                for (int j = nn; j < nr; j++)
                    for (int k = 0; k < kc; k++) d[k * nr + j] = T.Zero;
            }
        }
    }
}
