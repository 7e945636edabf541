// Forward values of the fused Gaussian ops on the CPU backend: against the same math composed from
// primitive ops (Ops.Exp, Ops.Mul, Ops.Sum, Tensor.Normal, ...) in f64 and f32, against closed-form
// cases (KL of identical Gaussians is 0, KL(N(0, 4) || N(0, 1)) = 3/2 - ln 2, NLL at the mean, DeFlow's
// dequantization constant), the sample's eps being exactly Tensor.Normal's draw and its (seed, offset)
// semantics, sample moments under both temperature modes, reductions that span several summation
// chunks, and thread-count independence of the reductions.
using Engine.Cpu;
using Engine.Cpu.Kernels;
using Engine.Random;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Gaussian;

public class GaussianForwardTests
{
    private static Tensor R(System.Random rng, int[] shape, double lo, double hi, DType dt)
    {
        using var t = Tensor.FromArray(TestData.Doubles(rng, shape.Aggregate(1, (p, s) => p * s), lo, hi), shape);
        return t.To(dt);
    }

    /// <summary>|a - b| &lt;= rtol |b| + atol elementwise, with the first failure in the message.</summary>
    internal static void Near(double[] expected, double[] actual, double rtol, double atol, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            Assert.True(Math.Abs(a - e) <= rtol * Math.Abs(e) + atol, $"{what}: element {i}: got {a:R}, expected {e:R} (rtol {rtol:G2}, atol {atol:G2})");
        }
    }

    private static (double rtol, double atol) Tol(DType dt) => dt == DType.F64 ? (1e-13, 1e-13) : (2e-6, 2e-6);

    private static Tensor Reduce(Tensor perElement, GaussianReduction r) => r switch
    {
        GaussianReduction.None => perElement.Alias(),
        GaussianReduction.SumPerSample => Ops.Sum(perElement, Enumerable.Range(1, perElement.Rank - 1).ToArray()),
        GaussianReduction.MeanPerSample => Ops.Mean(perElement, Enumerable.Range(1, perElement.Rank - 1).ToArray()),
        GaussianReduction.Sum => Ops.Sum(perElement),
        _ => Ops.Mean(perElement),
    };

    public static TheoryData<string, GaussianReduction> DTypesAndReductions()
    {
        var d = new TheoryData<string, GaussianReduction>();
        foreach (var dt in new[] { "f64", "f32" })
            foreach (var r in Enum.GetValues<GaussianReduction>()) d.Add(dt, r);
        return d;
    }

    private static DType Dt(string s) => s == "f64" ? DType.F64 : DType.F32;

    [Theory, MemberData(nameof(DTypesAndReductions))]
    public void KlMatchesTheComposition(string dtype, GaussianReduction r)
    {
        var dt = Dt(dtype);
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng($"{nameof(KlMatchesTheComposition)}{dtype}{r}");
        int[] shape = [4, 3, 5, 7];
        Tensor mu1 = R(rng, shape, -2, 2, dt), ls1 = R(rng, shape, -1.5, 1, dt), mu2 = R(rng, shape, -2, 2, dt), ls2 = R(rng, shape, -1.5, 1, dt);
        // -1/2 + ls2 - ls1 + (e^{2 ls1} + (mu1 - mu2)^2) / (2 e^{2 ls2}), the specs' formula term by term
        var num = Ops.Add(Ops.Exp(Ops.Mul(ls1, 2.0)), Ops.Square(Ops.Sub(mu1, mu2)));
        var kl = Ops.Add(Ops.Sub(Ops.Sub(ls2, ls1), 0.5), Ops.Div(num, Ops.Mul(Ops.Exp(Ops.Mul(ls2, 2.0)), 2.0)));
        var (rt, at) = Tol(dt);
        Near(Reduce(kl, r).ToDoubleArray(), Ops.KlNormal(mu1, ls1, mu2, ls2, r).ToDoubleArray(), rt, at * Scale(r, shape), $"KlNormal {dtype} {r}");
        // against N(0, I): 1/2 (e^{2 ls} + mu^2 - 1) - ls
        var kls = Ops.Sub(Ops.Mul(Ops.Sub(Ops.Add(Ops.Exp(Ops.Mul(ls1, 2.0)), Ops.Square(mu1)), 1.0), 0.5), ls1);
        Near(Reduce(kls, r).ToDoubleArray(), Ops.KlStdNormal(mu1, ls1, r).ToDoubleArray(), rt, at * Scale(r, shape), $"KlStdNormal {dtype} {r}");
    }

    [Theory, MemberData(nameof(DTypesAndReductions))]
    public void NllMatchesTheComposition(string dtype, GaussianReduction r)
    {
        var dt = Dt(dtype);
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng($"{nameof(NllMatchesTheComposition)}{dtype}{r}");
        int[] shape = [3, 2, 6, 5];
        Tensor x = R(rng, shape, -2, 2, dt), mu = R(rng, shape, -2, 2, dt), ls = R(rng, shape, -1.5, 1, dt);
        double c = 0.5 * Math.Log(2 * Math.PI);
        // 1/2 ln(2 pi) + ls + (x - mu)^2 / (2 e^{2 ls})
        var nll = Ops.Add(Ops.Add(ls, Ops.Div(Ops.Square(Ops.Sub(x, mu)), Ops.Mul(Ops.Exp(Ops.Mul(ls, 2.0)), 2.0))), c);
        var (rt, at) = Tol(dt);
        Near(Reduce(nll, r).ToDoubleArray(), Ops.GaussianNll(x, mu, ls, r).ToDoubleArray(), rt, at * Scale(r, shape), $"GaussianNll {dtype} {r}");
        var std = Ops.Add(Ops.Mul(Ops.Square(x), 0.5), c);
        Near(Reduce(std, r).ToDoubleArray(), Ops.GaussianNll(x, null, null, r).ToDoubleArray(), rt, at * Scale(r, shape), $"GaussianNll std {dtype} {r}");
    }

    private static double Scale(GaussianReduction r, int[] shape) => r switch
    {
        GaussianReduction.SumPerSample => shape.Skip(1).Aggregate(1, (p, s) => p * s),
        GaussianReduction.Sum => shape.Aggregate(1, (p, s) => p * s),
        _ => 1,
    };

    [Fact]
    public void KlClosedForms()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        using var mu = R(rng, [2, 9], -2, 2, DType.F64);
        using var ls = R(rng, [2, 9], -1, 1, DType.F64);
        // KL of a Gaussian with itself is 0, elementwise (the ratio form leaves no rounding residue)
        Assert.All(Ops.KlNormal(mu, ls, mu, ls).ToArray<double>(), v => Assert.Equal(0.0, v));
        using var zero = Tensor.Zeros([1], DType.F64);
        Assert.Equal(0.0, Ops.KlStdNormal(zero, zero).Item());
        // KL(N(1, 1) || N(0, 1)) = 1/2; KL(N(0, 2^2) || N(0, 1)) = (4 - 1) / 2 - ln 2
        using var one = Tensor.Ones([1], DType.F64);
        Assert.Equal(0.5, Ops.KlStdNormal(one, zero).Item(), 15);
        using var ln2 = Tensor.Full([1], Math.Log(2), DType.F64);
        Assert.Equal(1.5 - Math.Log(2), Ops.KlStdNormal(zero, ln2).Item(), 14);
        // KL(N(0, 1) || N(0, 2^2)) = ln 2 + 1/8 - 1/2, and KL is not symmetric
        Assert.Equal(Math.Log(2) + 0.125 - 0.5, Ops.KlNormal(zero, zero, zero, ln2).Item(), 14);
        // KL(N(3, 1) || N(1, 1)) = (3 - 1)^2 / 2
        using var three = Tensor.Full([1], 3.0, DType.F64);
        Assert.Equal(2.0, Ops.KlNormal(three, zero, one, zero).Item(), 14);
    }

    [Fact]
    public void NllAndBitsClosedForms()
    {
        using var scope = TensorScope.Begin();
        double c = 0.5 * Math.Log(2 * Math.PI);
        using var z = Tensor.Zeros([2, 3, 4, 4], DType.F64);
        Assert.All(Ops.GaussianNll(z, null, null).ToArray<double>(), v => Assert.Equal(c, v, 15));
        // at the mean, -log N = 1/2 ln(2 pi) + ln sigma
        using var ls = Tensor.Full([2, 3, 4, 4], Math.Log(0.25), DType.F64);
        Assert.All(Ops.GaussianNll(z, z, ls).ToArray<double>(), v => Assert.Equal(c + Math.Log(0.25), v, 14));
        // DeFlow's bits (deflow.md 5.1): z = 0 and logdet = 0 leave the prior constant and the
        // dequantization constant: (48 c + 16 ln 32) / (16 ln 2) bits for a 3 x 4 x 4 latent of a 4 x 4 image.
        using var logdet = Tensor.Zeros([2], DType.F64);
        var bits = Ops.FlowBitsPerDim(z, logdet, 32, 4 * 4).ToArray<double>();
        double expect = (48 * c + 16 * Math.Log(32)) / (16 * Math.Log(2));
        Assert.All(bits, v => Assert.Equal(expect, v, 13));
        // log-det enters with a minus sign, one value per sample
        using var ld = Tensor.FromArray(new[] { 5.0, -7.0 }, [2]);
        var b2 = Ops.FlowBitsPerDim(z, ld, 32, 16).ToArray<double>();
        Assert.Equal(expect - 5 / (16 * Math.Log(2)), b2[0], 13);
        Assert.Equal(expect + 7 / (16 * Math.Log(2)), b2[1], 13);
    }

    [Theory]
    [InlineData("f64")]
    [InlineData("f32")]
    public void BitsMatchTheComposition(string dtype)
    {
        var dt = Dt(dtype);
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng($"{nameof(BitsMatchTheComposition)}{dtype}");
        int[] shape = [3, 12, 4, 4];
        Tensor z = R(rng, shape, -3, 3, dt), mu = R(rng, shape, -1, 1, dt), ls = R(rng, shape, -1, 1, dt), logdet = R(rng, [3], -100, 100, dt);
        foreach (var (m, l) in new[] { ((Tensor?)null, (Tensor?)null), (mu, ls) })
        {
            // -(log p(z) + logdet - D ln n) / (D ln 2), log p(z) = -sum nll
            using var nll = Ops.GaussianNll(z, m, l, GaussianReduction.SumPerSample);
            using var logp = Ops.Neg(nll);
            long dims = 16;
            using var t = Ops.Sub(Ops.Add(logp, logdet), dims * Math.Log(64));
            using var want = Ops.Div(Ops.Neg(t), dims * Math.Log(2));
            var (rt, at) = Tol(dt);
            Near(want.ToDoubleArray(), Ops.FlowBitsPerDim(z, logdet, 64, dims, m, l).ToDoubleArray(), rt * 10, at * 100, $"FlowBitsPerDim {dtype} prior {(m is null ? "N(0, I)" : "N(mu, sigma)")}");
        }
    }

    [Theory]
    [InlineData("f64", 1001)]
    [InlineData("f32", 1001)]
    [InlineData("f32", 3)]
    public void SampleIsMuPlusSigmaTimesTheCpuNormalDraw(string dtype, int n)
    {
        var dt = Dt(dtype);
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng($"{nameof(SampleIsMuPlusSigmaTimesTheCpuNormalDraw)}{dtype}{n}");
        ulong seed = 0xfeed_beef_0123, offset = 41;
        using var zero = Tensor.Zeros([n], dt);
        var eps = Tensor.Normal([n], seed, offset, 0, 1, dt);
        // mu = 0, log sigma = 0, T = 1: exactly the draw
        Assert.Equal(eps.ToDoubleArray(), Ops.GaussianSample(zero, zero, seed, offset).ToDoubleArray());
        Tensor mu = R(rng, [n], -2, 2, dt), ls = R(rng, [n], -1, 1, dt);
        var (rt, at) = Tol(dt);
        foreach (var mode in new[] { TemperatureMode.Noise, TemperatureMode.Sample })
        {
            double temp = 0.6;
            var noise = Ops.Mul(Ops.Exp(ls), Ops.Mul(eps, temp));
            var want = mode == TemperatureMode.Noise ? Ops.Add(mu, noise) : Ops.Add(Ops.Mul(mu, temp), noise);
            Near(want.ToDoubleArray(), Ops.GaussianSample(mu, ls, seed, offset, temp, mode).ToDoubleArray(), rt, at, $"GaussianSample {dtype} {mode}");
        }
    }

    [Fact]
    public void SampleOffsetsSelectTheTailOfTheStream()
    {
        using var scope = TensorScope.Begin();
        foreach (var dt in new[] { DType.F32, DType.F64 })
        {
            int per = dt == DType.F32 ? 4 : 2;
            using var zeros = Tensor.Zeros([50 + 10 * per], dt);
            var full = Ops.GaussianSample(zeros, zeros, 5, 0).ToDoubleArray();
            using var z2 = Tensor.Zeros([50], dt);
            var tail = Ops.GaussianSample(z2, z2, 5, 10).ToDoubleArray();
            Assert.Equal(full[(10 * per)..], tail);
            // the documented way to advance: BlocksUsed of the previous draw
            ulong next = Philox.BlocksUsed(10 * per, dt.Size());
            Assert.Equal(10UL, next);
            var other = Ops.GaussianSample(z2, z2, 6, 10).ToDoubleArray();
            Assert.NotEqual(tail, other);
        }
    }

    [Theory]
    [InlineData(TemperatureMode.Noise)]
    [InlineData(TemperatureMode.Sample)]
    public void SampleMomentsFollowTheTemperatureMode(TemperatureMode mode)
    {
        using var scope = TensorScope.Begin();
        const int n = 200_000;
        double mu = 1.5, sigma = 0.5, temp = 0.8;
        using var m = Tensor.Full([n], mu);
        using var l = Tensor.Full([n], Math.Log(sigma));
        var z = Ops.GaussianSample(m, l, 12, 0, temp, mode).ToDoubleArray();
        double mean = z.Average(), sd = Math.Sqrt(z.Average(v => (v - mean) * (v - mean)));
        double wantMean = mode == TemperatureMode.Noise ? mu : temp * mu, wantSd = temp * sigma;
        Assert.InRange(mean, wantMean - 0.005, wantMean + 0.005);       // 5 sigma of the sample mean is 0.0045
        Assert.InRange(sd, wantSd * 0.99, wantSd * 1.01);
    }

    [Theory]
    [InlineData("f64")]
    [InlineData("f32")]
    public void DequantizeIsXPlusTheUniformDrawOverBins(string dtype)
    {
        var dt = Dt(dtype);
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng($"{nameof(DequantizeIsXPlusTheUniformDrawOverBins)}{dtype}");
        const int n = 4099;
        using var x = R(rng, [n], 0, 1, dt);
        var u = Tensor.Uniform([n], 31, 7, 0, 1, dt);
        // DeFlow: x + (U(0,1) - 0.5) / 32, each step rounded once: bitwise the composition
        var want = Ops.Add(x, Ops.Div(Ops.Sub(u, 0.5), 32.0)).ToDoubleArray();
        var got = Ops.Dequantize(x, 32, 31, 7).ToDoubleArray();
        Assert.Equal(want, got);
        // a bin count whose reciprocal is inexact: division, not multiplication by 1 / bins
        Assert.Equal(Ops.Add(x, Ops.Div(Ops.Sub(u, 0.5), 100.0)).ToDoubleArray(), Ops.Dequantize(x, 100, 31, 7).ToDoubleArray());
        var xs = x.ToDoubleArray();
        var plain = Ops.Dequantize(x, 256, 31, 7, centered: false).ToDoubleArray();
        for (int i = 0; i < n; i++)
        {
            Assert.InRange(got[i] - xs[i], -0.5 / 32 - 1e-6, 0.5 / 32 + 1e-6);
            Assert.InRange(plain[i] - xs[i], -1e-6, 1.0 / 256 + 1e-6);
        }
    }

    [Theory]
    [InlineData("f64")]
    [InlineData("f32")]
    public void ReductionsSpanningSeveralChunksAreExact(string dtype)
    {
        var dt = Dt(dtype);
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng($"{nameof(ReductionsSpanningSeveralChunksAreExact)}{dtype}");
        // groups of 3.5 summation chunks plus a tail; the double-accumulated sum of the f32/f64
        // per-element values (computed by the fused op itself) is the reference
        int m = (int)(3.5 * GaussianKernels.ReduceChunk) + 13;
        Tensor mu = R(rng, [2, m], -2, 2, dt), ls = R(rng, [2, m], -1, 1, dt);
        var per = Ops.KlStdNormal(mu, ls).ToDoubleArray();
        var sums = Ops.KlStdNormal(mu, ls, GaussianReduction.SumPerSample).ToDoubleArray();
        for (int b = 0; b < 2; b++)
        {
            double s = 0;
            for (int i = 0; i < m; i++) s += per[b * m + i];
            double want = dt == DType.F32 ? (float)s : s;
            Assert.True(Math.Abs(sums[b] - want) <= 1e-12 * Math.Abs(want) + (dt == DType.F32 ? Math.Abs(want) * 6e-8 : 0),
                $"{dtype} sample {b}: fused {sums[b]:R}, double sum {want:R}");
        }
        double total = Ops.KlStdNormal(mu, ls, GaussianReduction.Sum).Item();
        Assert.Equal(sums.Sum(), total, Math.Abs(total) * (dt == DType.F64 ? 1e-13 : 1e-6));
    }

    [Fact]
    public void EmptyAndDegenerateShapes()
    {
        using var scope = TensorScope.Begin();
        using var e = Tensor.Zeros([0, 3], DType.F64);
        Assert.Equal([0], Ops.KlStdNormal(e, e, GaussianReduction.SumPerSample).Shape);
        Assert.Equal(0.0, Ops.KlStdNormal(e, e, GaussianReduction.Sum).Item());
        Assert.Equal([0, 3], Ops.GaussianSample(e, e, 1, 0).Shape);
        using var e2 = Tensor.Zeros([2, 0], DType.F64);
        Assert.Equal([0.0, 0.0], Ops.GaussianNll(e2, null, null, GaussianReduction.SumPerSample).ToArray<double>());
        Assert.All(Ops.GaussianNll(e2, null, null, GaussianReduction.MeanPerSample).ToArray<double>(), v => Assert.True(double.IsNaN(v)));
        // bits of an empty latent: only the log-det and the dequantization constant
        using var ld = Tensor.FromArray(new[] { 1.0, 2.0 }, [2]);
        var bits = Ops.FlowBitsPerDim(e2, ld, 2, 1).ToArray<double>();
        Assert.Equal(1 - 1 / Math.Log(2), bits[0], 14);
        // a scalar input reduced per element and in total
        using var s = Tensor.Full([], 0.5, DType.F64);
        Assert.Equal([], Ops.KlStdNormal(s, s).Shape);
        Assert.Equal(Ops.KlStdNormal(s, s).Item(), Ops.KlStdNormal(s, s, GaussianReduction.Mean).Item());
    }

    [Fact]
    public void StridedInputsGiveTheContiguousResult()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        using var a = R(rng, [6, 4], -1, 1, DType.F64);
        using var b = R(rng, [6, 4], -1, 1, DType.F64);
        using var at = a.Transpose(0, 1);
        using var bt = b.Transpose(0, 1);
        using var ac = at.Contiguous();
        using var bc = bt.Contiguous();
        Assert.Equal(Ops.KlStdNormal(ac, bc, GaussianReduction.SumPerSample).ToArray<double>(), Ops.KlStdNormal(at, bt, GaussianReduction.SumPerSample).ToArray<double>());
        Assert.Equal(Ops.GaussianSample(ac, bc, 3, 0).ToArray<double>(), Ops.GaussianSample(at, bt, 3, 0).ToArray<double>());
    }
}

/// <summary>The reductions' summation order is fixed by (n, G): the thread count changes nothing.</summary>
[Collection("ProcessCpuSettings")]
public class GaussianDeterminismTests
{
    [Fact]
    public void ReductionsAreBitwiseIndependentOfTheThreadCount()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        int m = 5 * (int)GaussianKernels.ReduceChunk + 77;
        using var mu = Tensor.FromArray(TestData.Floats(rng, 3 * m, -2, 2), [3, m]);
        using var ls = Tensor.FromArray(TestData.Floats(rng, 3 * m, -1, 1), [3, m]);
        int saved = CpuThreads.Count;
        try
        {
            var results = new List<double[]>();
            foreach (int threads in new[] { 1, 2, 3 })
            {
                CpuThreads.Count = threads;
                results.Add([.. Ops.KlNormal(mu, ls, ls, mu, GaussianReduction.SumPerSample).ToDoubleArray(),
                    Ops.GaussianNll(mu, ls, ls, GaussianReduction.Sum).Item()]);
            }
            Assert.Equal(results[0], results[1]);
            Assert.Equal(results[0], results[2]);
        }
        finally { CpuThreads.Count = saved; }
    }
}
