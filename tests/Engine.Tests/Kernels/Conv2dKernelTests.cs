// Convolution kernels against a direct 7-loop convolution (forward) and through the adjoint
// identities <conv(x, w), g> = <x, bwd_data(g, w)> = <w, bwd_filter(x, g)> on random geometries:
// strides, padding, dilation, groups, depthwise, pointwise (no im2col), rectangular kernels,
// padding wider than the kernel reach (all-zero rows).
using Engine.Cpu.Kernels;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Kernels;

public unsafe class Conv2dKernelTests
{
    private static double[] Direct(Conv2dGeometry g, double[] x, double[] w, double[]? b)
    {
        int oh = g.OH, ow = g.OW, cg = g.CinG, og = g.CoutG;
        var y = new double[g.N * g.Cout * oh * ow];
        for (int n = 0; n < g.N; n++)
            for (int co = 0; co < g.Cout; co++)
            {
                int grp = co / og;
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        double s = b?[co] ?? 0;
                        for (int c = 0; c < cg; c++)
                            for (int kh = 0; kh < g.KH; kh++)
                                for (int kw = 0; kw < g.KW; kw++)
                                {
                                    int ih = i * g.StrideH - g.PadH + kh * g.DilationH, iw = j * g.StrideW - g.PadW + kw * g.DilationW;
                                    if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                                    s += x[((n * g.Cin + grp * cg + c) * g.H + ih) * g.W + iw] * w[((co * cg + c) * g.KH + kh) * g.KW + kw];
                                }
                        y[((n * g.Cout + co) * oh + i) * ow + j] = s;
                    }
            }
        return y;
    }

    private static Conv2dGeometry RandomGeometry(System.Random rng)
    {
        while (true)
        {
            int groups = rng.Next(4) switch { 0 => 1, 1 => 2, 2 => 3, _ => 1 };
            int cin = groups * rng.Next(1, 4), cout = groups * rng.Next(1, 4);
            int kh = rng.Next(1, 5), kw = rng.Next(1, 5);
            var g = new Conv2dGeometry(rng.Next(1, 4), cin, rng.Next(1, 11), rng.Next(1, 11), cout, kh, kw,
                rng.Next(1, 4), rng.Next(1, 4), rng.Next(0, 4), rng.Next(0, 4), rng.Next(1, 3), rng.Next(1, 3), groups);
            if (g.H + 2 * g.PadH >= g.DilationH * (kh - 1) + 1 && g.W + 2 * g.PadW >= g.DilationW * (kw - 1) + 1) return g;
        }
    }

    private static double Dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }

    private static void CheckGeometry(Conv2dGeometry g, System.Random rng)
    {
        var x = TestData.Doubles(rng, g.N * g.Cin * g.H * g.W);
        var w = TestData.Doubles(rng, g.Cout * g.CinG * g.KH * g.KW);
        var b = TestData.Doubles(rng, g.Cout);
        var gy = TestData.Doubles(rng, g.N * g.Cout * g.OH * g.OW);
        var y = new double[gy.Length];
        var gx = TestData.Doubles(rng, x.Length);   // garbage: kernels must overwrite
        var gw = TestData.Doubles(rng, w.Length);
        fixed (double* px = x, pw = w, pb = b, py = y, pgy = gy, pgx = gx, pgw = gw)
        {
            Conv2dKernels.Forward(g, px, pw, pb, py);
            Conv2dKernels.BackwardData(g, pgy, pw, pgx);
            Conv2dKernels.BackwardFilter(g, px, pgy, pgw);
        }
        var want = Direct(g, x, w, b);
        for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(want[i] - y[i]) < 1e-12, $"{g} forward element {i}: {y[i]:R} vs {want[i]:R}");
        double yg = Dot(Direct(g, x, w, null), gy);
        double tol = 1e-11 * Math.Max(1, Math.Abs(yg));
        Assert.True(Math.Abs(yg - Dot(x, gx)) < tol, $"{g} backward data: <y,g> {yg:R} vs <x,gx> {Dot(x, gx):R}");
        Assert.True(Math.Abs(yg - Dot(w, gw)) < tol, $"{g} backward filter: <y,g> {yg:R} vs <w,gw> {Dot(w, gw):R}");
    }

    [Fact]
    public void RandomGeometriesMatchDirectAndAdjoint()
    {
        var rng = TestData.Rng();
        for (int t = 0; t < 150; t++) CheckGeometry(RandomGeometry(rng), rng);
    }

    [Fact]
    public void WideImagesTakeTheDirectPath()
    {
        // OW >= 16 (f64) reaches the direct AVX-512 kernel: full and partial column tiles, channel
        // counts that are not multiples of the 8-row tile, strided rows, dilation, groups.
        var rng = TestData.Rng();
        for (int t = 0; t < 25; t++)
        {
            int groups = rng.Next(1, 3), kh = rng.Next(1, 4), kw = rng.Next(1, 4);
            var g = new Conv2dGeometry(rng.Next(1, 3), groups * rng.Next(1, 4), rng.Next(3, 9), rng.Next(18, 60), groups * rng.Next(1, 12),
                kh, kw, rng.Next(1, 3), 1, rng.Next(0, 3), rng.Next(0, 3), rng.Next(1, 3), rng.Next(1, 3), groups);
            if (g.OH < 1 || g.OW < 16) { t--; continue; }
            CheckGeometry(g, rng);
        }
    }

    [Fact]
    public void FloatDirectPathMatchesDoubleReference()
    {
        var rng = TestData.Rng();
        var g = new Conv2dGeometry(2, 5, 7, 45, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        var x = TestData.Doubles(rng, g.N * g.Cin * g.H * g.W);
        var w = TestData.Doubles(rng, g.Cout * g.CinG * g.KH * g.KW);
        var b = TestData.Doubles(rng, g.Cout);
        var want = Direct(g, x, w, b);
        var xf = x.Select(v => (float)v).ToArray(); var wf = w.Select(v => (float)v).ToArray(); var bf = b.Select(v => (float)v).ToArray();
        var y = new float[want.Length];
        var yr = new float[want.Length];
        fixed (float* px = xf, pw = wf, pb = bf, py = y, pyr = yr)
        {
            Conv2dKernels.Forward(g, px, pw, pb, py);
            Conv2dKernels.Forward(g, px, pw, pb, pyr, Activation.LeakyRelu(0.2));
        }
        for (int i = 0; i < y.Length; i++)
        {
            Assert.True(Math.Abs(want[i] - y[i]) < 1e-5, $"element {i}: {y[i]} vs {want[i]}");
            double lr = want[i] > 0 ? want[i] : 0.2 * want[i];
            Assert.True(Math.Abs(lr - yr[i]) < 1e-5, $"leaky relu epilogue, element {i}: {yr[i]} vs {lr}");
        }
    }

    [Fact]
    public void FusedActivationsMatchSeparateOps()
    {
        var rng = TestData.Rng();
        foreach (var g in new[] { new Conv2dGeometry(1, 3, 6, 40, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1), new Conv2dGeometry(2, 4, 5, 6, 4, 3, 3, 2, 2, 1, 1, 1, 1, 2), new Conv2dGeometry(1, 8, 4, 4, 8, 1, 1, 1, 1, 0, 0, 1, 1, 1) })
        {
            var x = TestData.Doubles(rng, g.N * g.Cin * g.H * g.W);
            var w = TestData.Doubles(rng, g.Cout * g.CinG * g.KH * g.KW);
            var b = TestData.Doubles(rng, g.Cout);
            var want = Direct(g, x, w, b);
            foreach (var act in new[] { Activation.None, Activation.Relu, Activation.LeakyRelu(0.1) })
            {
                var y = new double[want.Length];
                fixed (double* px = x, pw = w, pb = b, py = y) Conv2dKernels.Forward(g, px, pw, pb, py, act);
                for (int i = 0; i < y.Length; i++)
                {
                    double e = act.Kind switch { ActivationKind.Relu => Math.Max(0, want[i]), ActivationKind.LeakyRelu => want[i] > 0 ? want[i] : 0.1 * want[i], _ => want[i] };
                    Assert.True(Math.Abs(e - y[i]) < 1e-12, $"{g} {act} element {i}: {y[i]:R} vs {e:R}");
                }
            }
        }
    }

    [Fact]
    public void NamedGeometries()
    {
        var rng = TestData.Rng();
        // pointwise (GEMM on the input directly), depthwise, large enough for the threaded path
        CheckGeometry(new Conv2dGeometry(2, 16, 9, 7, 8, 1, 1, 1, 1, 0, 0, 1, 1, 1), rng);
        CheckGeometry(new Conv2dGeometry(2, 6, 9, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6), rng);
        CheckGeometry(new Conv2dGeometry(2, 24, 24, 20, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1), rng);
        CheckGeometry(new Conv2dGeometry(1, 8, 5, 5, 4, 1, 1, 2, 2, 0, 0, 1, 1, 1), rng);   // 1x1 stride 2 needs im2col
        CheckGeometry(new Conv2dGeometry(1, 2, 3, 3, 2, 1, 1, 1, 1, 3, 3, 1, 1, 1), rng);   // padding beyond the kernel
    }
}
