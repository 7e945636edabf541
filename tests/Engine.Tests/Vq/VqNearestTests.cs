// Nearest-code search (Ops.VqNearest) on every device row against the fp64 brute-force reference on
// the direct form: exact ties (small-integer data, duplicated codes, rows equal to a code) must go to
// the lowest code, other disagreements are allowed only at near ties; distances match the reference;
// NaN rows/codes follow the documented rule; accelerator rows are bitwise equal to the CPU backend.
// Shapes cross every tile edge of both kernels (rows of 4 / 128, codes of 16 / 128, d chunks of 16).
// The large random problem reports the f32 agreement with the fp64 reference.
using Engine.Cpu.Kernels;
using Engine.Tests.Support;
using Xunit;
using static Engine.Tests.Vq.VqReference;

namespace Engine.Tests.Vq;

public class VqNearestTests
{
    public static TheoryData<string, string> Rows() => DeviceDTypeRows();

    private sealed record Case(string Name, int N, int K, int D, double[] X, double[] E);

    private static IEnumerable<Case> Cases(string test)
    {
        // Small integers: every distance is exact in f32 and f64, so ties are exact and plentiful.
        var rng = TestData.Rng(test, 1);
        int n = 131, k = 67, d = 5;
        var xi = Enumerable.Range(0, n * d).Select(_ => (double)rng.Next(-2, 3)).ToArray();
        var ei = Enumerable.Range(0, k * d).Select(_ => (double)rng.Next(-2, 3)).ToArray();
        Array.Copy(ei, 3 * d, ei, 40 * d, d);
        Array.Copy(ei, 3 * d, ei, 66 * d, d);
        yield return new Case("integers", n, k, d, xi, ei);

        // Random codes, three of them identical, and rows that are exact copies of codes; k spans three
        // 128-code tiles, n three 128-row blocks, d three 16-wide chunks.
        rng = TestData.Rng(test, 2);
        n = 260; k = 300; d = 37;
        var x = Normal(rng, n * d);
        var e = Normal(rng, k * d);
        Array.Copy(e, 10 * d, e, 77 * d, d);
        Array.Copy(e, 10 * d, e, 290 * d, d);
        for (int i = 0; i < n; i += 13) Array.Copy(e, (i % 2 == 0 ? 10 : 200) * d, x, i * d, d);
        yield return new Case("random_duplicates", n, k, d, x, e);

        rng = TestData.Rng(test, 3);
        yield return new Case("one_code", 7, 1, 3, Normal(rng, 21), Normal(rng, 3));
        rng = TestData.Rng(test, 4);
        yield return new Case("d1", 9, 20, 1, Normal(rng, 9), Normal(rng, 20));
        rng = TestData.Rng(test, 5);
        yield return new Case("wide_d", 5, 33, 130, Normal(rng, 5 * 130), Normal(rng, 33 * 130));
    }

    [Theory, MemberData(nameof(Rows))]
    public void MatchesBruteForceAndBreaksTiesToTheLowestCode(string device, string dtype)
    {
        var dev = TestDevices.Get(device);
        var dt = Parse(dtype);
        foreach (var c in Cases(nameof(MatchesBruteForceAndBreaksTiesToTheLowestCode)))
        {
            using var scope = TensorScope.Begin();
            string head = $"{c.Name} (N={c.N}, K={c.K}, D={c.D}) [{dtype}] on {device}";
            var xr = Round(c.X, dt);
            var er = Round(c.E, dt);
            var (refIdx, refDist, _) = Nearest(xr, er, c.N, c.K, c.D);
            var (idx, dist) = Ops.VqNearest(Put(xr, [c.N, c.D], dt, dev), Put(er, [c.K, c.D], dt, dev), distances: true);
            Assert.Equal(dev, idx.Device);
            var got = GetIdx(idx);
            var gd = Get(dist!);
            bool integers = c.Name == "integers";
            double maxE = 0;
            for (int k = 0; k < c.K; k++) maxE = Math.Max(maxE, Enumerable.Range(0, c.D).Sum(j => er[k * c.D + j] * er[k * c.D + j]));
            double eps = dt == DType.F32 ? 1.2e-7 : 2.3e-16;
            int ties = 0;
            for (int i = 0; i < c.N; i++)
            {
                double xn = Enumerable.Range(0, c.D).Sum(j => xr[i * c.D + j] * xr[i * c.D + j]);
                double tol = integers ? 0 : 8 * c.D * eps * (xn + maxE);
                double dOurs = Enumerable.Range(0, c.D).Sum(j => Math.Pow(xr[i * c.D + j] - er[got[i] * c.D + j], 2));
                if (got[i] != refIdx[i])
                {
                    // Only a strictly-farther code within the rounding of the expanded form may win.
                    Assert.True(dOurs > refDist[i] && dOurs - refDist[i] <= tol,
                        $"{head}: row {i} got code {got[i]} (distance {dOurs:R}), reference {refIdx[i]} (distance {refDist[i]:R}, tol {tol:E2})");
                }
                if (Enumerable.Range(0, c.K).Count(k => Enumerable.Range(0, c.D).Sum(j => Math.Pow(xr[i * c.D + j] - er[k * c.D + j], 2)) == refDist[i]) > 1) ties++;
                Assert.True(Math.Abs(gd[i] - dOurs) <= tol, $"{head}: row {i} distance {gd[i]:R}, reference {dOurs:R} (tol {tol:E2})");
            }
            if (c.Name is "integers" or "random_duplicates") Assert.True(ties > 5, $"{head}: only {ties} rows with exact ties: the case does not exercise the tie rule");
            if (dev != Device.Cpu)
            {
                var (ci, cd) = Ops.VqNearest(Put(xr, [c.N, c.D], dt, Device.Cpu), Put(er, [c.K, c.D], dt, Device.Cpu), distances: true);
                int f = FirstDifference(GetIdx(ci), got);
                Assert.True(f < 0, $"{head}: index differs from the cpu backend at row {f}");
                AssertSameBits(Get(cd!), gd, $"{head}: distances vs the cpu backend");
            }
        }
    }

    [Theory, MemberData(nameof(Rows))]
    public void NaNScoresNeverWin(string device, string dtype)
    {
        var dev = TestDevices.Get(device);
        var dt = Parse(dtype);
        using var scope = TensorScope.Begin();
        int n = 6, k = 5, d = 3;
        var rng = TestData.Rng(nameof(NaNScoresNeverWin));
        var x = Normal(rng, n * d);
        var e = Normal(rng, k * d);
        x[2 * d + 1] = double.NaN;             // row 2: every score NaN
        e[0 * d + 2] = double.NaN;             // code 0 never wins
        Array.Copy(e, 0, x, 4 * d, d);         // row 4 copies the NaN code: NaN too
        var (idx, dist) = Ops.VqNearest(Put(x, [n, d], dt, dev), Put(e, [k, d], dt, dev), distances: true);
        var gi = GetIdx(idx);
        var gd = Get(dist!);
        var (refIdx, _, _) = Nearest(Round(x, dt), Round(e.Select((v, i) => i < d ? 1e300 : v).ToArray(), dt), n, k, d);
        for (int i = 0; i < n; i++)
        {
            if (i == 2 || i == 4)
            {
                Assert.True(gi[i] == 0 && double.IsNaN(gd[i]), $"[{dtype}] on {device}: NaN row gave code {gi[i]}, distance {gd[i]}");
                continue;
            }
            Assert.True(gi[i] != 0 && !double.IsNaN(gd[i]), $"[{dtype}] on {device}: row {i} picked the NaN code ({gi[i]}, {gd[i]})");
            Assert.True(gi[i] == refIdx[i], $"[{dtype}] on {device}: row {i} code {gi[i]}, reference {refIdx[i]}");
        }
        // A codebook of NaN codes only: every row gets code 0 and a NaN distance.
        var allNaN = Enumerable.Repeat(double.NaN, k * d).ToArray();
        var (i2, d2) = Ops.VqNearest(Put(x, [n, d], dt, dev), Put(allNaN, [k, d], dt, dev), distances: true);
        Assert.All(GetIdx(i2), v => Assert.Equal(0, v));
        Assert.All(Get(d2!), v => Assert.True(double.IsNaN(v)));
    }

    /// <summary>Rows per device: the emulator runs kernels on the CPU, so its problem is smaller.</summary>
    public static TheoryData<string, int> LargeRows() => new() { { TestDevices.Cpu, 8192 }, { TestDevices.Emu, 1024 }, { TestDevices.Cuda, 65536 } };

    [Theory, MemberData(nameof(LargeRows))]
    public void F32AgreesWithTheFp64ReferenceOnLargeRandomProblems(string device, int n)
    {
        var dev = TestDevices.Get(device);
        foreach (int k in new[] { 512, 1024 })
        {
            if (device == TestDevices.Emu && k == 1024) continue;
            using var scope = TensorScope.Begin();
            const int d = 64;
            var rng = TestData.Rng(nameof(F32AgreesWithTheFp64ReferenceOnLargeRandomProblems), k);
            var x = Round(Normal(rng, n * d), DType.F32);
            var e = Round(Normal(rng, k * d), DType.F32);
            var (refIdx, refDist, gap) = Nearest(x, e, n, k, d);
            var (idx, _) = Ops.VqNearest(Put(x, [n, d], DType.F32, dev), Put(e, [k, d], DType.F32, dev));
            var got = GetIdx(idx);
            int agree = 0;
            for (int i = 0; i < n; i++)
            {
                if (got[i] == refIdx[i]) { agree++; continue; }
                Assert.True(gap[i] < 1e-3, $"N={n} K={k} D={d} on {device}: row {i} got {got[i]}, reference {refIdx[i]} with a clear margin {gap[i]:E3} (distance {refDist[i]:R})");
            }
            double pct = 100.0 * agree / n;
            TestContext.Current.TestOutputHelper?.WriteLine($"VqNearest f32 vs fp64 reference, N={n} K={k} D={d} on {device}: {agree}/{n} = {pct:F4}% agree");
            Assert.True(pct >= 99.99 || n - agree <= 1, $"N={n} K={k} on {device}: agreement {pct:F4}% < 99.99%");
        }
    }

    [Fact]
    public unsafe void CpuResultDoesNotDependOnTheThreadCount()
    {
        var rng = TestData.Rng(nameof(CpuResultDoesNotDependOnTheThreadCount));
        int n = 517, k = 45, d = 19;
        var x = Array.ConvertAll(Normal(rng, n * d), v => (float)v);
        var e = Array.ConvertAll(Normal(rng, k * d), v => (float)v);
        int[] i1 = new int[n], i2 = new int[n];
        float[] d1 = new float[n], d2 = new float[n];
        fixed (float* px = x, pe = e, pd1 = d1, pd2 = d2)
        fixed (int* pi1 = i1, pi2 = i2)
        {
            VqKernels.Nearest(n, k, d, px, pe, pi1, pd1, threads: 1);
            VqKernels.Nearest(n, k, d, px, pe, pi2, pd2, threads: 2);
        }
        Assert.Equal(i1, i2);
        Assert.Equal(d1, d2);
    }
}
