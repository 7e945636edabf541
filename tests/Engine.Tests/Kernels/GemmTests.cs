// GEMM against a naive triple loop in double: every micro-kernel this CPU runs (AVX-512, AVX2,
// scalar), all transpose combinations, alpha/beta, edge tiles (sizes not multiples of MR/NR/KC),
// padded leading dimensions, batches with broadcast operands; and bitwise determinism across
// thread counts.
using Engine.Cpu;
using Engine.Cpu.Kernels;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Kernels;

public unsafe class GemmTests
{
    public static TheoryData<GemmIsa> Isas()
    {
        var d = new TheoryData<GemmIsa>();
        foreach (var i in Enum.GetValues<GemmIsa>()) d.Add(i);
        return d;
    }

    private static void SkipUnsupported(GemmIsa isa)
    {
        if (isa > Gemm.BestIsa) Assert.Skip($"this CPU has no {isa} (best: {Gemm.BestIsa})");
    }

    /// <summary>Reference: C = alpha op(A) op(B) + beta C in double with the same storage conventions.</summary>
    private static double[] Naive(bool tA, bool tB, int m, int n, int k, double alpha, double[] a, int lda, double[] b, int ldb, double beta, double[] c, int ldc)
    {
        var r = (double[])c.Clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (tA ? a[p * lda + i] : a[i * lda + p]) * (tB ? b[j * ldb + p] : b[p * ldb + j]);
                r[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j]);
            }
        return r;
    }

    private static readonly (int m, int n, int k)[] Shapes =
    [
        (1, 1, 1), (3, 5, 7), (8, 32, 16), (13, 37, 29), (6, 16, 300), (97, 65, 257), (17, 2100, 9), (130, 3, 40), (5, 7, 0), (9, 40, 1100), (20, 4200, 3),
    ];

    [Theory]
    [MemberData(nameof(Isas))]
    public void F64MatchesNaiveForAllTransposes(GemmIsa isa)
    {
        SkipUnsupported(isa);
        var rng = TestData.Rng(salt: (int)isa);
        foreach (var (m, n, k) in Shapes)
            foreach (bool tA in new[] { false, true })
                foreach (bool tB in new[] { false, true })
                    foreach (var (alpha, beta) in new[] { (1.0, 0.0), (0.5, 1.0), (-2.0, 0.25) })
                    {
                        int lda = (tA ? m : k) + 3, ldb = (tB ? k : n) + 1, ldc = n + 2;
                        var a = TestData.Doubles(rng, Math.Max(1, (tA ? k : m) * lda));
                        var b = TestData.Doubles(rng, Math.Max(1, (tB ? n : k) * ldb));
                        var c = TestData.Doubles(rng, m * ldc);
                        if (beta == 0) for (int i = 0; i < c.Length; i++) c[i] = double.NaN; // beta 0 must not read C
                        var want = Naive(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                        fixed (double* pa = a, pb = b, pc = c)
                            Gemm.Run(tA, tB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, isa);
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < n; j++)
                            {
                                double w = want[i * ldc + j], got = c[i * ldc + j];
                                Assert.True(Math.Abs(w - got) <= 1e-12 * (1 + Math.Abs(w)) * Math.Max(1, k),
                                    $"{isa} {m}x{n}x{k} tA={tA} tB={tB} alpha={alpha} beta={beta} at ({i},{j}): {got:R} vs {w:R}");
                            }
                        // padding between rows is untouched
                        for (int i = 0; i < m; i++)
                            for (int j = n; j < ldc; j++)
                                Assert.Equal(beta == 0 ? double.NaN : c[i * ldc + j], c[i * ldc + j]);
                    }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void F32MatchesNaive(GemmIsa isa)
    {
        SkipUnsupported(isa);
        var rng = TestData.Rng(salt: (int)isa);
        foreach (var (m, n, k) in Shapes)
            foreach (bool tA in new[] { false, true })
                foreach (bool tB in new[] { false, true })
                {
                    var a = TestData.Floats(rng, Math.Max(1, m * k));
                    var b = TestData.Floats(rng, Math.Max(1, k * n));
                    var c = new float[m * n];
                    var want = Naive(tA, tB, m, n, k, 1, a.Select(v => (double)v).ToArray(), tA ? m : k,
                        b.Select(v => (double)v).ToArray(), tB ? k : n, 0, new double[m * n], n);
                    fixed (float* pa = a, pb = b, pc = c)
                        Gemm.Run(tA, tB, m, n, k, 1f, pa, tA ? m : k, pb, tB ? k : n, 0f, pc, n, isa);
                    for (int i = 0; i < c.Length; i++)
                        Assert.True(Math.Abs(want[i] - c[i]) <= 2e-6 * Math.Sqrt(Math.Max(1, k)) * 4,
                            $"{isa} {m}x{n}x{k} tA={tA} tB={tB} element {i}: {c[i]} vs {want[i]}");
                }
    }

    [Fact]
    public void BatchedWithBroadcastOperand()
    {
        var rng = TestData.Rng();
        int batch = 5, m = 9, n = 21, k = 14;
        var a = TestData.Doubles(rng, batch * m * k);
        var b = TestData.Doubles(rng, k * n); // stride 0: shared by every batch
        var c = new double[batch * m * n];
        fixed (double* pa = a, pb = b, pc = c)
            Gemm.Batched(batch, false, false, m, n, k, 1.0, pa, k, m * k, pb, n, 0, 0.0, pc, n, m * n);
        for (int t = 0; t < batch; t++)
        {
            var want = Naive(false, false, m, n, k, 1, a[(t * m * k)..((t + 1) * m * k)], k, b, n, 0, new double[m * n], n);
            for (int i = 0; i < m * n; i++) Assert.Equal(want[i], c[t * m * n + i], 1e-12);
        }
    }

    [Fact]
    public void ResultIsBitwiseIdenticalForOneAndManyThreads()
    {
        var rng = TestData.Rng();
        foreach (var (m, n, k) in new[] { (200, 300, 600), (600, 40, 300), (64, 4100, 70) })
        {
            var a = TestData.Floats(rng, m * k);
            var b = TestData.Floats(rng, k * n);
            var c1 = new float[m * n];
            var c4 = new float[m * n];
            fixed (float* pa = a, pb = b, p1 = c1, p4 = c4)
            {
                Gemm.Run(false, false, m, n, k, 1f, pa, k, pb, n, 0f, p1, n, threads: 1);
                Gemm.Run(false, false, m, n, k, 1f, pa, k, pb, n, 0f, p4, n, threads: 4);
            }
            Assert.Equal(c1, c4);
        }
    }

    [Fact]
    public void RequestingAnUnsupportedIsaThrows()
    {
        if (Gemm.BestIsa == GemmIsa.Avx512) Assert.Skip("this CPU supports every micro-kernel");
        var x = new double[1];
        Assert.Throws<PlatformNotSupportedException>(() =>
        {
            fixed (double* p = x) Gemm.Run(false, false, 1, 1, 1, 1.0, p, 1, p, 1, 0.0, p, 1, GemmIsa.Avx512);
        });
    }
}
