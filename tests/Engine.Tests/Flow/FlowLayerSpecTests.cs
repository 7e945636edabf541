// Layer-specific checks from the DeFlow fact sheet (shared/specs/deflow.md, sections 3.2-3.8 and the
// checklist of section 13): ActNorm's data-dependent init and its saved flag, the LU-parameterized
// 1x1 convolution at init (W = W0 orthogonal, logdet 0), the squeeze index formula, the zero-init
// identity of couplings / injectors / split prior, Split's sampling, and the parameter counts of
// section 8's per-step table.
using Engine.Autograd;
using Engine.Models.Flow;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Flow;

public class FlowLayerSpecTests
{
    private static Tensor Rand(System.Random rng, int[] shape, double lo, double hi, DType dt = DType.F64)
        => FlowLayerCases.Rand(rng, shape, lo, hi, dt, Device.Cpu);

    /// <summary>Per-channel (mean, population variance) over (N, H, W).</summary>
    private static (double[] mean, double[] var) ChannelStats(Tensor t)
    {
        int n = t.Size(0), c = t.Size(1), hw = t.Size(2) * t.Size(3);
        var a = t.ToDoubleArray();
        var mean = new double[c]; var var = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            double s = 0, s2 = 0;
            for (int i = 0; i < n; i++) for (int k = 0; k < hw; k++) { double v = a[(i * c + ch) * hw + k]; s += v; s2 += v * v; }
            mean[ch] = s / (n * hw);
            var[ch] = s2 / (n * hw) - mean[ch] * mean[ch];
        }
        return (mean, var);
    }

    // ------------------------------------------------------------------ ActNorm (3.3)

    [Theory]
    [InlineData("f64")]
    [InlineData("f32")]
    public void ActNormInitGivesZeroMeanUnitVariancePerChannelOnTheInitBatch(string dtype)
    {
        var dt = dtype == "f64" ? DType.F64 : DType.F32;
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        // channels with very different offsets and spreads
        var raw = TestData.Doubles(rng, 3 * 5 * 6 * 7);
        for (int i = 0; i < raw.Length; i++) { int ch = i / 42 % 5; raw[i] = raw[i] * (0.1 + 3 * ch) + 10 * (ch - 2); }
        var x = Tensor.FromArray(raw, [3, 5, 6, 7]).To(dt);
        var an = new ActNorm(5, dt);
        Assert.False(an.Initialized);
        Assert.True(an.Initialize(x));
        Assert.True(an.Initialized);
        var (y, ld) = an.Forward(x);
        var (mean, var) = ChannelStats(y.Data);
        var (_, rawVar) = ChannelStats(x);
        double tol = dt == DType.F64 ? 1e-9 : 1e-5;
        for (int ch = 0; ch < 5; ch++)
        {
            Assert.True(Math.Abs(mean[ch]) < tol, $"channel {ch}: mean {mean[ch]:R}");
            // unit variance, exactly (std / (std + 1e-6))^2 given the 1e-6 of the init
            double sd = Math.Sqrt(rawVar[ch]), want = sd / (sd + ActNorm.StdEps) * (sd / (sd + ActNorm.StdEps));
            Assert.True(Math.Abs(var[ch] - want) < tol && Math.Abs(var[ch] - 1) < 1e-4, $"channel {ch}: variance {var[ch]:R}, expected {want:R}");
        }
        // logdet = H W sum(logs) for every sample
        double sumLogs = an.Logs.Data.ToDoubleArray().Sum();
        foreach (double v in ld.Data.ToDoubleArray()) Assert.Equal(42 * sumLogs, v, dt == DType.F64 ? 1e-9 : 1e-3);
        // explicit and once: a second call changes nothing, force re-initializes
        var bias = an.Bias.Data.ToDoubleArray();
        var other = Rand(rng, [2, 5, 3, 3], -1, 1, dt);
        Assert.False(an.Initialize(other));
        Assert.Equal(bias, an.Bias.Data.ToDoubleArray());
        Assert.True(an.Initialize(other, force: true));
        Assert.NotEqual(bias, an.Bias.Data.ToDoubleArray());
    }

    [Fact]
    public void ActNormInitializedFlagIsSavedWithTheWeights()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        var a = new ActNorm(3, DType.F64);
        a.Initialize(Rand(rng, [2, 3, 4, 4], -2, 3));
        var state = FlowLayers.State(a);
        Assert.Equal(["bias", "logs", "initialized"], state.Keys.ToArray());
        Assert.Equal(1.0, state["initialized"].Item());
        var b = new ActNorm(3, DType.F64);
        Assert.False(b.Initialized);
        FlowLayers.Load(b, state);
        Assert.True(b.Initialized);
        Assert.Equal(a.Logs.Data.ToDoubleArray(), b.Logs.Data.ToDoubleArray());
        // a loaded layer is not re-initialized by data
        Assert.False(b.Initialize(Rand(rng, [2, 3, 4, 4], 5, 6)));
        Assert.Equal(a.Bias.Data.ToDoubleArray(), b.Bias.Data.ToDoubleArray());
        foreach (var t in state.Values) t.Dispose();
        var bad = new Dictionary<string, Tensor> { ["bias"] = a.Bias.Data, ["logs"] = a.Logs.Data };
        Assert.Throws<InvalidArgumentException>(() => FlowLayers.Load(b, bad)); // "initialized" missing
    }

    [Fact]
    public void CouplingInitializationNormalizesItsHiddenActivations()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        var layer = new AffineCoupling(4, 3, 6, seed: 5, dtype: DType.F64);
        var x = Rand(rng, [2, 4, 5, 5], -2, 2);
        var cond = Rand(rng, [2, 3, 5, 5], 0, 3);
        Assert.False(layer.Initialized);
        Assert.True(layer.Initialize(x, cond));
        Assert.True(layer.Initialized);
        // conv1 -> actnorm on the init batch's network input [z1 || cond] is normalized
        var input = F.Concat([F.Narrow(x, 1, 0, 2), cond], 1);
        var (m1, v1) = ChannelStats(layer.Net.Conv1.Forward(input).Data);
        var (m2, v2) = ChannelStats(layer.Net.Conv2.Forward(F.Relu(layer.Net.Conv1.Forward(input))).Data);
        for (int ch = 0; ch < 6; ch++)
        {
            Assert.True(Math.Abs(m1[ch]) < 1e-9 && Math.Abs(v1[ch] - 1) < 1e-4, $"conv1 channel {ch}: mean {m1[ch]}, var {v1[ch]}");
            Assert.True(Math.Abs(m2[ch]) < 1e-9 && Math.Abs(v2[ch] - 1) < 1e-4, $"conv2 channel {ch}: mean {m2[ch]}, var {v2[ch]}");
        }
        Assert.False(layer.Initialize(x, cond));
    }

    [Fact]
    public void FlowSequenceInitializesEachLayerOnWhatReachesIt()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        var step = new FlowSequence(new ActNorm(4, DType.F64), new InvConv1x1LU(4, 1, DType.F64), new ActNorm(4, DType.F64),
            new AffineCoupling(4, 2, 3, seed: 2, dtype: DType.F64), new AffineInjector(4, 2, 3, seed: 3, dtype: DType.F64));
        Assert.Equal(2, step.CondChannels);
        var x = Rand(rng, [3, 4, 4, 4], -3, 5);
        var cond = Rand(rng, [3, 2, 4, 4], -1, 1);
        Assert.False(step.Initialized);
        Assert.True(step.Initialize(x, cond));
        Assert.True(step.Initialized);
        // the second ActNorm normalizes the output of the first two layers
        var mid = step.Layers[1].Forward(step.Layers[0].Forward(x).y).y;
        var (m, v) = ChannelStats(step.Layers[2].Forward(mid).y.Data);
        for (int ch = 0; ch < 4; ch++) Assert.True(Math.Abs(m[ch]) < 1e-9 && Math.Abs(v[ch] - 1) < 1e-4, $"channel {ch}: mean {m[ch]}, var {v[ch]}");
        Assert.Throws<InvalidArgumentException>(() => new FlowSequence(new AffineInjector(4, 2, 3), new AffineInjector(4, 3, 3)));
    }

    // ------------------------------------------------------------------ 1x1 convolution (3.4)

    [Theory]
    [InlineData(3)]
    [InlineData(12)]
    [InlineData(24)]
    public void InvConvAtInitIsTheOrthogonalW0WithLogdetZero(int c)
    {
        using var scope = TensorScope.Begin();
        var layer = new InvConv1x1LU(c, 42, DType.F64);
        var w0 = SmallMatrix.RandomOrthogonal(c, 42);
        var w = layer.Weight().Data.ToArray<double>();
        for (int i = 0; i < c * c; i++) Assert.True(Math.Abs(w[i] - w0[i]) < 1e-12, $"W[{i / c}, {i % c}] = {w[i]:R}, W0 {w0[i]:R}");
        // orthogonal: W W^T = I, so |det W| = 1 and sum(log_s) = 0
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++)
            {
                double s = 0;
                for (int k = 0; k < c; k++) s += w0[i * c + k] * w0[j * c + k];
                Assert.True(Math.Abs(s - (i == j ? 1 : 0)) < 1e-12, $"W0 W0^T [{i}, {j}] = {s}");
            }
        var (_, ld) = layer.Forward(Tensor.Ones([2, c, 3, 5], DType.F64));
        foreach (double v in ld.Data.ToDoubleArray()) Assert.True(Math.Abs(v) < 1e-10, $"logdet at init {v}");
        // P a permutation, sign_s in {-1, 1}, L unit lower as stored (scipy's l)
        var p = layer.P.ToArray<double>();
        for (int i = 0; i < c; i++) Assert.Equal(1.0, Enumerable.Range(0, c).Sum(j => p[i * c + j]));
        Assert.All(layer.SignS.ToArray<double>(), s => Assert.True(s == 1 || s == -1));
        var l = layer.L.Data.ToArray<double>();
        for (int i = 0; i < c; i++) Assert.Equal(1.0, l[i * c + i]);
        // another seed, another W
        Assert.NotEqual(w0, SmallMatrix.RandomOrthogonal(c, 43));
    }

    [Fact]
    public void LuDecomposeReconstructsAndPivots()
    {
        var rng = TestData.Rng();
        const int c = 9;
        var a = TestData.Doubles(rng, c * c);
        a[0] = 0; // forces a pivot in the first column
        var (p, l, u) = SmallMatrix.LuDecompose(a, c);
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++)
            {
                double s = 0;
                for (int k = 0; k < c; k++)
                {
                    double lu = 0;
                    for (int m = 0; m < c; m++) lu += l[k * c + m] * u[m * c + j];
                    s += p[i * c + k] * lu;
                }
                Assert.True(Math.Abs(s - a[i * c + j]) < 1e-12, $"(P L U)[{i}, {j}] = {s}, A = {a[i * c + j]}");
                if (j > i) Assert.Equal(0.0, l[i * c + j]);
                if (j < i) { Assert.Equal(0.0, u[i * c + j]); Assert.True(Math.Abs(l[i * c + j]) <= 1, "partial pivoting bounds L by 1"); }
            }
    }

    // ------------------------------------------------------------------ squeeze (3.2)

    [Fact]
    public void SqueezeUsesDeFlowsChannelOrder()
    {
        using var scope = TensorScope.Begin();
        const int n = 2, c = 3, h = 4, w = 6;
        var x = Tensor.Arange(n * c * h * w, DType.F64).Reshape(n, c, h, w);
        var (y, ld) = new Squeeze().Forward(x);
        Assert.Equal([n, 4 * c, h / 2, w / 2], y.Shape);
        Assert.Equal(new double[n], ld.Data.ToDoubleArray());
        var xv = x.ToArray<double>(); var yv = y.Data.ToArray<double>();
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                        for (int i = 0; i < h / 2; i++)
                            for (int j = 0; j < w / 2; j++)
                            {
                                double got = yv[((b * 4 * c + 4 * ch + 2 * dy + dx) * (h / 2) + i) * (w / 2) + j];
                                double want = xv[((b * c + ch) * h + 2 * i + dy) * w + 2 * j + dx];
                                Assert.True(got == want, $"out[{b}, {4 * ch + 2 * dy + dx}, {i}, {j}] = {got}, in[{b}, {ch}, {2 * i + dy}, {2 * j + dx}] = {want}");
                            }
    }

    // ------------------------------------------------------------------ zero init (3.5, 3.6, 3.8)

    [Fact]
    public void CouplingAndInjectorAtInitDivideBySigmoid2PlusEps()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        double scale = 1 / (1 + Math.Exp(-2)) + 0.001; // 0.8818 + eps
        var x = Rand(rng, [2, 4, 3, 3], -2, 2);
        var cond = Rand(rng, [2, 5, 3, 3], -1, 1);
        var inj = new AffineInjector(4, 5, 6, seed: 1, dtype: DType.F64);
        var (y, ld) = inj.Forward(x, cond);
        var xv = x.ToArray<double>(); var yv = y.Data.ToArray<double>();
        for (int i = 0; i < xv.Length; i++) Assert.Equal(xv[i] / scale, yv[i], 12);
        foreach (double v in ld.Data.ToDoubleArray()) Assert.Equal(-36 * Math.Log(scale), v, 10);
        var cp = new AffineCoupling(4, 5, 6, seed: 2, dtype: DType.F64);
        var (yc, ldc) = cp.Forward(x, cond);
        var yc2 = yc.Data.ToArray<double>();
        for (int b = 0; b < 2; b++)
            for (int k = 0; k < 36; k++)
            {
                int i = b * 36 + k;
                Assert.Equal(k < 18 ? xv[i] : xv[i] / scale, yc2[i], 12); // z1 passes, z2 divided
            }
        foreach (double v in ldc.Data.ToDoubleArray()) Assert.Equal(-18 * Math.Log(scale), v, 10);
        // decode multiplies (DeFlow's multReverse); SRFlow's direction multiplies in encode
        Assert.Equal(xv[40] * scale, inj.Inverse(x, cond).x.Data.ToArray<double>()[40], 12);
        var srflow = new AffineInjector(4, 5, 6, multReverse: false, dtype: DType.F64);
        Assert.Equal(xv[40] * scale, srflow.Forward(x, cond).y.Data.ToArray<double>()[40], 12);
    }

    [Fact]
    public void SplitPriorAtInitIsStandardNormal()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        var split = new Split(12, dtype: DType.F64);
        Assert.Equal(6, split.Pass);
        Assert.Equal(6, split.Consume);
        var x = Rand(rng, [2, 12, 2, 3], -2, 2);
        var (kept, eps, ldJac) = split.Encode(x);
        var xv = x.ToArray<double>(); var ev = eps.Data.ToArray<double>();
        for (int b = 0; b < 2; b++)
            for (int k = 0; k < 36; k++) Assert.Equal(xv[b * 72 + 36 + k] / (1 + 1e-6), ev[b * 36 + k], 14);
        Assert.Equal(new double[2], ldJac.Data.ToDoubleArray());
        var (y, ld) = split.Forward(x);
        Assert.Equal(kept.Data.ToArray<double>(), y.Data.ToArray<double>());
        for (int b = 0; b < 2; b++)
        {
            double lp = -0.5 * Enumerable.Range(0, 36).Sum(k => ev[b * 36 + k] * ev[b * 36 + k] + Math.Log(2 * Math.PI));
            Assert.Equal(lp, ld.Data.ToArray<double>()[b], 10);
        }
    }

    [Fact]
    public void SplitSamplesWithTemperatureAndItsLogdetsCancel()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        var split = new Split(4, sampleSeed: 7, dtype: DType.F64);
        FlowLayerCases.Randomize(split, rng);
        var x = Rand(rng, [2, 4, 3, 3], -1, 1);
        var (kept, eps, _) = split.Encode(x);
        var (y, ldF) = split.Forward(x);
        // decoding the encoder's eps reproduces x, and the logdets cancel
        var (xd, ldD) = split.Decode(kept, eps);
        var lp = Split.StandardNormalLogProb(eps).Data.ToArray<double>();
        for (int b = 0; b < 2; b++) Assert.Equal(0.0, ldF.Data.ToArray<double>()[b] + ldD.Data.ToArray<double>()[b] - lp[b], 9);
        var a = x.ToArray<double>(); var r = xd.Data.ToArray<double>();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - r[i]) < 1e-4, $"x[{i}] {a[i]} vs {r[i]}");
        // Inverse: z2 = mean + exp(logs) * T * n, seeded, with fresh draws each call
        var (mean, logs) = split.Prior(y);
        var m = mean.Data.ToArray<double>(); var s = F.Exp(logs).Data.ToArray<double>();
        double[] Draw(double t, ulong seed)
        {
            var sp = new Split(4, sampleSeed: seed, dtype: DType.F64) { Temperature = t };
            FlowLayers.Load(sp, FlowLayers.State(split));
            var (xs, ld) = sp.Inverse(y);
            var z2 = F.Narrow(xs, 1, 2, 2).Data.Contiguous().ToArray<double>();
            var e = z2.Select((v, i) => (v - m[i]) / s[i]).ToArray();
            // logdet = sum logs - log N(eps)
            using var et = Tensor.FromArray(e, [2, 2, 3, 3]);
            var want = Ops.Sub(F.Sum(logs, [1, 2, 3]).Data, Split.StandardNormalLogProb(et).Data).ToArray<double>();
            for (int b = 0; b < 2; b++) Assert.Equal(want[b], ld.Data.ToArray<double>()[b], 9);
            return e;
        }
        var e1 = Draw(1, 7); var eHalf = Draw(0.5, 7); var e0 = Draw(0, 7); var eOther = Draw(1, 8);
        for (int i = 0; i < e1.Length; i++)
        {
            Assert.Equal(0.5 * e1[i], eHalf[i], 9);
            Assert.Equal(0.0, e0[i], 12);
        }
        Assert.NotEqual(e1, eOther);
        var again = split.Inverse(y).x.Data.ToArray<double>();
        Assert.NotEqual(again, split.Inverse(y).x.Data.ToArray<double>()); // the offset advances
    }

    // ------------------------------------------------------------------ parameter counts (section 8)

    [Theory]
    [InlineData(12, 24, 300, 406296, 413232)]
    [InlineData(24, 48, 1176, 427056, 440928)]
    public void FlowStepParameterCountsMatchTheSpecTable(int c, int actnorm, int invconv, int fAffine, int fFeatures)
    {
        using var scope = TensorScope.Begin();
        static long Count(IFlowLayer l) => l.Parameters().Sum(p => p.p.Numel);
        Assert.Equal(actnorm, Count(new ActNorm(c)));
        Assert.Equal(invconv, Count(new InvConv1x1LU(c)));
        Assert.Equal(fAffine, Count(new AffineCoupling(c, 320, 128)));
        Assert.Equal(fFeatures, Count(new AffineInjector(c, 320, 128)));
        // the split's prior conv (6 -> 12, 3x3, bias, logs): 750 in the table minus mu (6), M (36), I (36)
        Assert.Equal(672, Count(new Split(12)));
    }

    [Fact]
    public void ParameterNamesFollowThePyTorchModules()
    {
        var names = new AffineCoupling(4, 2, 3).Parameters().Select(p => p.name).ToArray();
        Assert.Equal(["fAffine.0.weight", "fAffine.0.actnorm.bias", "fAffine.0.actnorm.logs", "fAffine.2.weight", "fAffine.2.actnorm.bias",
            "fAffine.2.actnorm.logs", "fAffine.4.weight", "fAffine.4.bias", "fAffine.4.logs"], names);
        Assert.Equal(["l", "u", "log_s"], new InvConv1x1LU(3).Parameters().Select(p => p.name).ToArray());
        Assert.Equal(["p", "sign_s"], new InvConv1x1LU(3).Buffers().Select(p => p.name).ToArray());
        Assert.Equal(["conv.weight", "conv.bias", "conv.logs"], new Split(4).Parameters().Select(p => p.name).ToArray());
    }
}
