// Property tests for the spatial/index kernels: adjoint identities <fwd(x), g> == <x, bwd(g)> on random
// shapes, bit-identical results between the parallel path (> 64K elements) and per-plane sequential calls,
// edge rules (NaN in max pool, degenerate windows) and argument validation.
using Engine.Cpu.Kernels;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Kernels;

public unsafe class SpatialKernelPropertyTests
{
    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    private static void AssertAdjoint(double[] x, double[] y, double[] g, double[] gx, string what)
    {
        double l = Dot(y, g), r = Dot(x, gx);
        Assert.True(Math.Abs(l - r) <= 1e-11 * Math.Max(1, Math.Abs(l)), $"{what}: <fwd x, g> = {l:R}, <x, bwd g> = {r:R}");
    }

    [Fact]
    public void PoolingIsAdjointOfItsBackward()
    {
        var rng = TestData.Rng();
        for (int t = 0; t < 20; t++)
        {
            int n = rng.Next(1, 3), c = rng.Next(1, 3), h = rng.Next(3, 12), w = rng.Next(3, 12);
            int kH = rng.Next(1, 4), kW = rng.Next(1, 4), sH = rng.Next(1, 4), sW = rng.Next(1, 4);
            int pH = rng.Next(0, kH / 2 + 1), pW = rng.Next(0, kW / 2 + 1);
            bool cip = rng.Next(2) == 0;
            int oh = PoolKernels.OutputSize(h, kH, sH, pH), ow = PoolKernels.OutputSize(w, kW, sW, pW);
            var x = TestData.Doubles(rng, n * c * h * w);
            var g = TestData.Doubles(rng, n * c * oh * ow);
            var y = new double[g.Length];
            var gx = new double[x.Length];
            var am = new int[g.Length];
            fixed (double* px = x, py = y, pg = g, pgx = gx)
            fixed (int* pa = am)
            {
                PoolKernels.AvgPool2d(n, c, h, w, kH, kW, sH, sW, pH, pW, cip, px, py);
                PoolKernels.AvgPool2dBackward(n, c, h, w, kH, kW, sH, sW, pH, pW, cip, pg, pgx);
                AssertAdjoint(x, y, g, gx, $"avg t={t}");
                // Max pooling is linear once the argmax is fixed: y = x[argmax].
                PoolKernels.MaxPool2d(n, c, h, w, kH, kW, sH, sW, pH, pW, 1, 1, px, py, pa);
                PoolKernels.MaxPool2dBackward(n, c, h, w, oh, ow, pg, pa, pgx);
                AssertAdjoint(x, y, g, gx, $"max t={t}");
            }
        }
    }

    [Fact]
    public void ResamplingIsAdjointOfItsBackward()
    {
        var rng = TestData.Rng();
        for (int t = 0; t < 24; t++)
        {
            int n = rng.Next(1, 3), c = rng.Next(1, 3), h = rng.Next(1, 9), w = rng.Next(1, 9), oh = rng.Next(1, 17), ow = rng.Next(1, 17);
            var x = TestData.Doubles(rng, n * c * h * w);
            var g = TestData.Doubles(rng, n * c * oh * ow);
            var y = new double[g.Length];
            var gx = new double[x.Length];
            fixed (double* px = x, py = y, pg = g, pgx = gx)
            {
                ResampleKernels.UpsampleNearest(n, c, h, w, oh, ow, px, py);
                ResampleKernels.UpsampleNearestBackward(n, c, h, w, oh, ow, pg, pgx);
                AssertAdjoint(x, y, g, gx, $"nearest {h}x{w}->{oh}x{ow}");
                foreach (bool ac in new[] { false, true })
                {
                    ResampleKernels.UpsampleBilinear(n, c, h, w, oh, ow, ac, px, py);
                    ResampleKernels.UpsampleBilinearBackward(n, c, h, w, oh, ow, ac, pg, pgx);
                    AssertAdjoint(x, y, g, gx, $"bilinear ac={ac} {h}x{w}->{oh}x{ow}");
                }
            }
        }
    }

    [Fact]
    public void BilinearReproducesConstantsAndCorners()
    {
        var x = new double[] { 1, 2, 3, 4, 5, 6 }; // 2x3
        var y = new double[5 * 7];
        var k = new double[35];
        fixed (double* px = x, py = y)
        {
            ResampleKernels.UpsampleBilinear(1, 1, 2, 3, 5, 7, true, px, py);
            Assert.Equal(1, y[0]); Assert.Equal(3, y[6]); Assert.Equal(4, y[28]); Assert.Equal(6, y[34]);
            Assert.Equal(3.5, y[17], 12); // centre of an align_corners grid
        }
        var ones = Enumerable.Repeat(2.5, 6).ToArray();
        fixed (double* po = ones, pk = k)
        {
            ResampleKernels.UpsampleBilinear(1, 1, 2, 3, 5, 7, false, po, pk);
            Assert.All(k, v => Assert.Equal(2.5, v, 14));
        }
    }

    [Fact]
    public void PaddingIsAdjointOfItsBackward()
    {
        var rng = TestData.Rng();
        foreach (var mode in new[] { PadMode.Zero, PadMode.Reflect, PadMode.Replicate })
            for (int t = 0; t < 10; t++)
            {
                int planes = rng.Next(1, 4), h = rng.Next(1, 8), w = rng.Next(1, 8);
                int lim(int size) => mode == PadMode.Reflect ? size : 9;
                int l = rng.Next(0, lim(w)), r = rng.Next(0, lim(w)), tp = rng.Next(0, lim(h)), b = rng.Next(0, lim(h));
                var x = TestData.Doubles(rng, planes * h * w);
                var g = TestData.Doubles(rng, planes * (h + tp + b) * (w + l + r));
                var y = new double[g.Length];
                var gx = new double[x.Length];
                fixed (double* px = x, py = y, pg = g, pgx = gx)
                {
                    PadKernels.Pad2d(planes, h, w, l, r, tp, b, mode, 0.0, px, py);
                    PadKernels.Pad2dBackward(planes, h, w, l, r, tp, b, mode, pg, pgx);
                }
                AssertAdjoint(x, y, g, gx, $"{mode} {h}x{w} pads ({l},{r},{tp},{b})");
            }
    }

    [Fact]
    public void IndexOpsAreAdjointPairs()
    {
        var rng = TestData.Rng();
        for (int t = 0; t < 20; t++)
        {
            int outer = rng.Next(1, 5), dim = rng.Next(1, 6), inner = rng.Next(1, 5), k = rng.Next(1, 9);
            var x = TestData.Doubles(rng, outer * dim * inner);
            var idx = Enumerable.Range(0, outer * k * inner).Select(_ => rng.Next(dim)).ToArray();
            var g = TestData.Doubles(rng, outer * k * inner);
            var y = new double[g.Length];
            var gx = new double[x.Length];
            fixed (double* px = x, py = y, pg = g, pgx = gx)
            fixed (int* pi = idx)
            {
                IndexKernels.Gather(outer, dim, k, inner, px, pi, py);
                IndexKernels.ScatterAdd(outer, dim, k, inner, pgx, pi, pg);
                AssertAdjoint(x, y, g, gx, $"gather/scatter_add t={t}");
                Array.Clear(gx);
                IndexKernels.IndexSelect(outer, dim, inner, px, pi, k, py);
                IndexKernels.IndexAdd(outer, dim, inner, pgx, pi, k, pg);
                AssertAdjoint(x, y, g, gx, $"index_select/index_add t={t}");
            }
        }
    }

    /// <summary>Calls above the 64K threshold run in parallel; they must equal per-plane (sequential) calls bit for bit.</summary>
    [Fact]
    public void ParallelPathMatchesPerPlaneCalls()
    {
        var rng = TestData.Rng();
        const int n = 2, c = 5, h = 81, w = 83, planes = n * c, plane = h * w;
        var x = TestData.Floats(rng, planes * plane);
        int oh = PoolKernels.OutputSize(h, 3, 2, 1), ow = PoolKernels.OutputSize(w, 3, 2, 1);
        var g = TestData.Floats(rng, planes * oh * ow);
        int bh = 120, bw = 97;
        var gb = TestData.Floats(rng, planes * bh * bw);
        int ph = h + 7, pw = w + 9;
        var gp = TestData.Floats(rng, planes * ph * pw);

        float[] Run(bool whole, Action<int, int, nint> call, int outPer)
        {
            var o = new float[planes * outPer];
            fixed (float* po = o)
            {
                if (whole) call(0, planes, (nint)po);
                else for (int p = 0; p < planes; p++) call(p, 1, (nint)(po + (long)p * outPer));
            }
            return o;
        }

        fixed (float* px = x, pg = g, pgb = gb, pgp = gp)
        {
            float* X = px, G = pg, GB = pgb, GP = pgp;
            var cases = new (string name, Action<int, int, nint> call, int outPer)[]
            {
                ("avg", (p, m, o) => PoolKernels.AvgPool2d(m, 1, h, w, 3, 3, 2, 2, 1, 1, false, X + p * plane, (float*)o), oh * ow),
                ("avg bwd", (p, m, o) => PoolKernels.AvgPool2dBackward(m, 1, h, w, 3, 3, 2, 2, 1, 1, true, G + p * oh * ow, (float*)o), plane),
                ("bilinear", (p, m, o) => ResampleKernels.UpsampleBilinear(1, m, h, w, bh, bw, false, X + p * plane, (float*)o), bh * bw),
                ("bilinear bwd", (p, m, o) => ResampleKernels.UpsampleBilinearBackward(m, 1, h, w, bh, bw, true, GB + p * bh * bw, (float*)o), plane),
                ("nearest bwd", (p, m, o) => ResampleKernels.UpsampleNearestBackward(m, 1, h, w, bh, bw, GB + p * bh * bw, (float*)o), plane),
                ("reflect bwd", (p, m, o) => PadKernels.Pad2dBackward(m, h, w, 4, 5, 3, 4, PadMode.Reflect, GP + p * ph * pw, (float*)o), plane),
                ("replicate", (p, m, o) => PadKernels.Pad2d(m, h, w, 4, 5, 3, 4, PadMode.Replicate, 0f, X + p * plane, (float*)o), ph * pw),
            };
            foreach (var (name, call, outPer) in cases)
                Assert.True(Run(true, call, outPer).AsSpan().SequenceEqual(Run(false, call, outPer)), name);

            // max pool: values and argmax, then the backward
            var y1 = new float[planes * oh * ow]; var a1 = new int[y1.Length]; var gx1 = new float[x.Length];
            var y2 = new float[y1.Length]; var a2 = new int[y1.Length]; var gx2 = new float[x.Length];
            fixed (float* py1 = y1, py2 = y2, pgx1 = gx1, pgx2 = gx2)
            fixed (int* pa1 = a1, pa2 = a2)
            {
                PoolKernels.MaxPool2d(n, c, h, w, 3, 3, 2, 2, 1, 1, 1, 1, px, py1, pa1);
                PoolKernels.MaxPool2dBackward(n, c, h, w, oh, ow, pg, pa1, pgx1);
                for (int p = 0; p < planes; p++)
                {
                    PoolKernels.MaxPool2d(1, 1, h, w, 3, 3, 2, 2, 1, 1, 1, 1, px + p * plane, py2 + p * oh * ow, pa2 + p * oh * ow);
                    PoolKernels.MaxPool2dBackward(1, 1, h, w, oh, ow, pg + p * oh * ow, pa2 + p * oh * ow, pgx2 + p * plane);
                }
            }
            Assert.Equal(y2, y1); Assert.Equal(a2, a1); Assert.Equal(gx2, gx1);
        }
    }

    /// <summary>Large scatter/index adds with heavy duplication are reproducible and equal a sequential reference.</summary>
    [Fact]
    public void ScatterAndIndexAddAreDeterministicWithDuplicates()
    {
        var rng = TestData.Rng();
        const int outer = 3, dimY = 4, k = 50, inner = 1000; // 150K source elements, 4 targets per column
        var src = TestData.Floats(rng, outer * k * inner);
        var idx = Enumerable.Range(0, outer * k * inner).Select(_ => rng.Next(dimY)).ToArray();
        var idx1 = idx.Take(k).ToArray();
        var refS = new float[outer * dimY * inner];
        var refI = new float[outer * dimY * inner];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < k; j++)
                for (int i = 0; i < inner; i++)
                {
                    refS[(o * dimY + idx[(o * k + j) * inner + i]) * inner + i] += src[(o * k + j) * inner + i];
                    refI[(o * dimY + idx1[j]) * inner + i] += src[(o * k + j) * inner + i];
                }
        for (int rep = 0; rep < 2; rep++)
        {
            var s = new float[refS.Length];
            var a = new float[refI.Length];
            fixed (float* ps = s, pa = a, psrc = src)
            fixed (int* pi = idx, pi1 = idx1)
            {
                IndexKernels.ScatterAdd(outer, dimY, k, inner, ps, pi, psrc);
                IndexKernels.IndexAdd(outer, dimY, inner, pa, pi1, k, psrc);
            }
            Assert.Equal(refS, s);
            Assert.Equal(refI, a);
        }
    }

    [Fact]
    public void MaxPoolPropagatesNaNAndSkipsEmptyWindows()
    {
        var x = new double[] { 1, double.NaN, 3, double.NaN, 2, 5 };
        var y = new double[2];
        var a = new int[2];
        fixed (double* px = x, py = y)
        fixed (int* pa = a)
        {
            PoolKernels.MaxPool2d(1, 1, 1, 6, 1, 4, 1, 2, 0, 0, 1, 1, px, py, pa); // windows [0..3], [2..5]
            Assert.True(double.IsNaN(y[0])); Assert.Equal(3, a[0]); // last NaN wins, as in PyTorch
            Assert.True(double.IsNaN(y[1])); Assert.Equal(3, a[1]);
        }
        // kernel 2, pad 1, dilation 5 on 4x4: the only window covers rows/cols {-1, 4}, all outside.
        var z = Enumerable.Range(0, 16).Select(v => (double)v).ToArray();
        var gz = new double[16];
        var g = new[] { 7.0 };
        fixed (double* pz = z, py = y, pgz = gz, pg = g)
        fixed (int* pa = a)
        {
            PoolKernels.MaxPool2d(1, 1, 4, 4, 2, 2, 1, 1, 1, 1, 5, 5, pz, py, pa);
            Assert.Equal(double.NegativeInfinity, y[0]); Assert.Equal(-1, a[0]);
            PoolKernels.MaxPool2dBackward(1, 1, 4, 4, 1, 1, pg, pa, pgz);
        }
        Assert.All(gz, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void PadRejectsBadArguments()
    {
        var x = new double[12];
        var y = new double[200];
        fixed (double* px = x, py = y)
        {
            double* X = px, Y = py;
            Assert.Throws<ArgumentException>(() => PadKernels.Pad2d(1, 3, 4, 4, 0, 0, 0, PadMode.Reflect, 0.0, X, Y));
            Assert.Throws<ArgumentException>(() => PadKernels.Pad2d(1, 3, 4, 0, 0, 3, 0, PadMode.Reflect, 0.0, X, Y));
            Assert.Throws<ArgumentException>(() => PadKernels.Pad2dBackward(1, 3, 4, 0, 0, 0, 3, PadMode.Reflect, Y, X));
            Assert.Throws<ArgumentException>(() => PadKernels.Pad2d(1, 3, 4, -1, 0, 0, 0, PadMode.Zero, 0.0, X, Y));
            Assert.Throws<ArgumentException>(() => PadKernels.Pad2d(1, 3, 4, 0, 0, 0, -2, PadMode.Replicate, 0.0, X, Y));
            PadKernels.Pad2d(1, 3, 4, 3, 3, 2, 2, PadMode.Reflect, 0.0, X, Y); // pad < size is fine
        }
    }

    [Fact]
    public void IndexOpsRejectOutOfRangeIndicesBeforeWriting()
    {
        var x = new double[] { 1, 2, 3, 4, 5, 6 }; // (outer 2, dim 3, inner 1)
        var y = new double[6];
        fixed (double* px = x, py = y)
        {
            double* X = px, Y = py;
            var bad = new[] { 0, 2, 3, 1, -1, 0 };
            fixed (int* pb = bad)
            {
                int* B = pb;
                var e = Assert.Throws<ArgumentOutOfRangeException>(() => IndexKernels.Gather(2, 3, 3, 1, X, B, Y));
                Assert.Contains("index 3", e.Message); Assert.Contains("position 2", e.Message);
                Assert.Equal(3, e.ActualValue);
                e = Assert.Throws<ArgumentOutOfRangeException>(() => IndexKernels.ScatterAdd(2, 3, 3, 1, Y, B, X));
                Assert.Contains("position 2", e.Message);
                e = Assert.Throws<ArgumentOutOfRangeException>(() => IndexKernels.IndexSelect(2, 3, 1, X, B + 3, 3, Y));
                Assert.Contains("index -1", e.Message); Assert.Contains("position 1", e.Message);
                e = Assert.Throws<ArgumentOutOfRangeException>(() => IndexKernels.IndexAdd(2, 3, 1, Y, B + 3, 2, X));
                Assert.Equal(-1, e.ActualValue);
            }
        }
        Assert.All(y, v => Assert.Equal(0.0, v)); // nothing written
    }
}
