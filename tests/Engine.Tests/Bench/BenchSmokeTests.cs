// Smoke test of the CPU benchmark suite (bench/Engine.Bench.Suite) in quick mode on tiny shapes:
// every anchor that loads must agree with our GEMM / convolution (the suite's own validation, which
// keeps a wrong binding from producing a fast bogus number) and be timed; the OpenBLAS bindings are
// also checked against a naive GEMM directly. When libopenblas / libdnnl are not installed the tests
// are skipped with the reason (.ci/install-deps.sh installs them). Timings are not asserted.
using Engine.Bench;
using Engine.Bench.Anchors;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Bench;

[Collection("ProcessCpuSettings")]
public unsafe class BenchSmokeTests
{
    private static readonly int[] Threads = [1, 2];

    private static void RequireOpenBlas()
    {
        var def = AnchorSet.Shared.OpenBlas[0];
        if (def.Value is null) Assert.Skip($"OpenBLAS anchor unavailable: {def.Unavailable}");
    }

    private static void RequireDnnl()
    {
        var d = AnchorSet.Shared.Dnnl;
        if (d.Value is null) Assert.Skip($"oneDNN anchor unavailable: {d.Unavailable}");
    }

    /// <summary>Every anchor row is either validated and timed, or unavailable only because of what the CPU or library lacks.</summary>
    private static void AssertAnchorsOk(CaseResult r, IEnumerable<string> expected)
    {
        Assert.True(double.IsFinite(r.OursGflops) && r.OursGflops > 0, $"{r.Name} [{r.Threads}t]: ours {r.OursGflops} GFLOP/s");
        Assert.True(double.IsFinite(r.OursEfficiency) && r.OursEfficiency > 0, $"{r.Name}: efficiency {r.OursEfficiency}");
        Assert.Equal(3, r.Reps);
        Assert.Equal(expected.Order(), r.Anchors.Select(a => a.Anchor).Order());
        foreach (var a in r.Anchors)
        {
            Assert.True(a.Status == AnchorStatus.Ok, $"{r.Name} [{r.Threads}t] {a.Anchor}: {a.Status}: {a.Reason}");
            Assert.True(a.RelError <= Measure.Tolerance, $"{r.Name} [{r.Threads}t] {a.Anchor}: relative error {a.RelError}");
            Assert.True(a.Gflops > 0 && a.Ratio > 0 && double.IsFinite(a.Ratio!.Value), $"{r.Name} {a.Anchor}: {a.Gflops} GFLOP/s, ratio {a.Ratio}");
        }
    }

    [Fact]
    public void QuickGemmOnATinyShapeAgreesWithOpenBlas()
    {
        RequireOpenBlas();
        var report = CpuBench.Run(new CpuBenchOptions { Quick = true, Threads = Threads, GemmCases = [new GemmCase(37, 83, 61)], ConvCases = [] });
        Assert.Equal(Threads, report.Cases.Select(c => c.Threads));
        // SkylakeX is expected wherever the CPU runs its kernels; otherwise the row says why not.
        var loaded = AnchorSet.Shared.OpenBlas.Where(l => l.Value is not null).Select(l => l.Name).ToList();
        foreach (var r in report.Cases)
        {
            Assert.Equal("gemm", r.Kind);
            var unavailable = r.Anchors.Where(a => !loaded.Contains(a.Anchor)).ToList();
            foreach (var a in unavailable) Assert.False(string.IsNullOrEmpty(a.Reason), $"{a.Anchor} unavailable without a reason");
            AssertAnchorsOk(r with { Anchors = [.. r.Anchors.Where(a => loaded.Contains(a.Anchor))] }, loaded);
        }
    }

    [Fact]
    public void QuickConvOnATinyShapeAgreesWithOneDnn()
    {
        RequireDnnl();
        // Forward and forward+backward (data and filter gradients are both compared).
        var cases = new[] { new ConvCase(2, 8, 10, Backward: false), new ConvCase(2, 8, 10, Backward: true) };
        var report = CpuBench.Run(new CpuBenchOptions { Quick = true, Threads = Threads, GemmCases = [], ConvCases = cases });
        Assert.Equal(cases.Length * Threads.Length, report.Cases.Count);
        foreach (var r in report.Cases)
        {
            Assert.Equal("conv", r.Kind);
            AssertAnchorsOk(r, ["oneDNN any", "oneDNN nchw"]);
            Assert.All(r.Anchors, a => Assert.False(string.IsNullOrWhiteSpace(a.Impl)));
        }
    }

    [Fact]
    public void OpenBlasInstancesMatchANaiveGemmAndReportTheirCoreTypes()
    {
        RequireOpenBlas();
        var sets = AnchorSet.Shared.OpenBlas;
        var def = sets[0].Value!;
        var skx = sets.Single(l => l.Name == "OpenBLAS SkylakeX");
        if (OpenBlas.HasSkylakeXIsa)
        {
            // The private copy must be a second instance that took OPENBLAS_CORETYPE.
            Assert.True(skx.Value is not null, $"SkylakeX instance unavailable on an AVX-512 CPU: {skx.Unavailable}");
            Assert.Equal("skylakex", skx.Value!.CoreName.ToLowerInvariant());
            Assert.Contains("SkylakeX", skx.Value.Config, StringComparison.OrdinalIgnoreCase);
            if (!def.CoreName.Equals("SkylakeX", StringComparison.OrdinalIgnoreCase))
                Assert.NotEqual(def.Config, skx.Value.Config);
        }
        else Assert.Null(skx.Value);

        const int m = 19, n = 23, k = 29;
        var rng = TestData.Rng();
        float[] a = TestData.Floats(rng, m * k), b = TestData.Floats(rng, k * n);
        var expected = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double)a[i * k + p] * b[p * n + j];
                expected[i * n + j] = s;
            }
        foreach (var inst in sets.Where(l => l.Value is not null).Select(l => l.Value!))
        {
            var c = new float[m * n];
            inst.Threads = 1;
            fixed (float* pa = a, pb = b, pc = c) inst.Sgemm(m, n, k, pa, pb, pc);
            for (int i = 0; i < c.Length; i++)
                Assert.True(Math.Abs(c[i] - expected[i]) <= 1e-5 * (1 + Math.Abs(expected[i])),
                    $"{inst.Name}: C[{i / n},{i % n}] = {c[i]}, naive {expected[i]}");
        }
    }

    [Fact]
    public void RelErrorFlagsDisagreementAndNaN()
    {
        float[] x = [1, -2, 3, 4], same = [1, -2, 3, 4], off = [1, -2, 3, 4.1f], nan = [1, float.NaN, 3, 4];
        fixed (float* px = x, ps = same, po = off, pn = nan)
        {
            Assert.Equal(0, Measure.RelError(px, ps, 4));
            Assert.True(Measure.RelError(px, po, 4) > Measure.Tolerance);
            Assert.Equal(double.PositiveInfinity, Measure.RelError(px, pn, 4));
        }
    }
}
