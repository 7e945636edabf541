// DeFlow's unpaired objective and degradation sampling (src/Models/DeFlow/DeFlowModel.cs, spec 1.2-1.4, 5, 6):
//   - log N(v; mu, I + M M^T) summed over pixels matches a direct double computation (explicit
//     covariance, Gauss-Jordan inverse, LU log-determinant) on random data;
//   - with M = 0 the gradient reaching M is exactly zero (spec 5.3), with the random init it is not;
//   - the loss is finite and falls over 20 Adam steps on a tiny problem (16x16, scale 4);
//   - Degrade at temperature 0 returns its input; Degrade is a function of (seed, offset);
//   - training is deterministic for a seed; the config JSON round-trips.
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Models.DeFlow;
using Engine.Models.Degradation;
using Engine.Models.Nn;
using Engine.Tests.Flow;
using Xunit;
using DeFlowVae = Engine.Models.DeFlow.DeFlow;

namespace Engine.Tests.DeFlow;

public class DeFlowObjectiveTests
{
    private static DeFlowVae Make(string covInit = "random", ulong seed = 7, DType? dt = null)
        => new(new ParamInit(seed, dt ?? DType.F32), new DeFlowModelConfig(DeFlowConfig.Tiny, covInit));

    private static Tensor Images(int seed, int n, DType dt, int size = 16)
        => FlowLayerCases.Rand(new System.Random(seed), [n, 3, size, size], 0.1, 0.9, dt, Device.Cpu);

    private static double DirectLogDensity(double[] v, double[] mu, double[] m, int c, int p)
    {
        var s = new double[c, c];
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++)
            {
                double acc = i == j ? 1 : 0;
                for (int k = 0; k < c; k++) acc += m[i * c + k] * m[j * c + k];
                s[i, j] = acc;
            }
        // LU with partial pivoting for the log-determinant, Gauss-Jordan for the inverse.
        var a = (double[,])s.Clone();
        double logdet = 0;
        for (int col = 0; col < c; col++)
        {
            int piv = col;
            for (int r = col + 1; r < c; r++) if (Math.Abs(a[r, col]) > Math.Abs(a[piv, col])) piv = r;
            if (piv != col) for (int k = 0; k < c; k++) (a[col, k], a[piv, k]) = (a[piv, k], a[col, k]);
            logdet += Math.Log(Math.Abs(a[col, col]));
            for (int r = col + 1; r < c; r++)
            {
                double f = a[r, col] / a[col, col];
                for (int k = col; k < c; k++) a[r, k] -= f * a[col, k];
            }
        }
        var aug = new double[c, 2 * c];
        for (int i = 0; i < c; i++) { for (int j = 0; j < c; j++) aug[i, j] = s[i, j]; aug[i, c + i] = 1; }
        for (int col = 0; col < c; col++)
        {
            double d = aug[col, col];
            for (int k = 0; k < 2 * c; k++) aug[col, k] /= d;
            for (int r = 0; r < c; r++)
            {
                if (r == col) continue;
                double f = aug[r, col];
                for (int k = 0; k < 2 * c; k++) aug[r, k] -= f * aug[col, k];
            }
        }
        double total = 0;
        for (int q = 0; q < p; q++)
        {
            double quad = 0;
            for (int i = 0; i < c; i++)
                for (int j = 0; j < c; j++)
                    quad += (v[i * p + q] - mu[i]) * aug[i, c + j] * (v[j * p + q] - mu[j]);
            total += -0.5 * (logdet + c * Math.Log(2 * Math.PI) + quad);
        }
        return total;
    }

    [Theory]
    [InlineData(6, 10)]
    [InlineData(12, 7)]
    public void ShiftedLogDensityMatchesDirectComputation(int c, int p)
    {
        var rng = new System.Random(c * 100 + p);
        double[] R(int n, double s) => Enumerable.Range(0, n).Select(_ => (rng.NextDouble() * 2 - 1) * s).ToArray();
        var v = R(c * p, 2); var mu = R(c, 0.5); var m = R(c * c, 0.7);
        using var scope = TensorScope.Begin();
        var got = DeFlowVae.ShiftedLogDensity(Tensor.FromArray(v, [c, p]), Tensor.FromArray(mu, [c]), Tensor.FromArray(m, [c, c])).Data.Item();
        double want = DirectLogDensity(v, mu, m, c, p);
        Assert.Equal(want, got, Math.Abs(want) * 1e-10 + 1e-10);
        // M = 0, mu = 0 reduces to the standard normal.
        var std = DeFlowVae.StdLogDensity(Tensor.FromArray(v, [c, p])).Data.Item();
        var zero = DeFlowVae.ShiftedLogDensity(Tensor.FromArray(v, [c, p]), Tensor.Zeros([c], DType.F64), Tensor.Zeros([c, c], DType.F64)).Data.Item();
        Assert.Equal(std, zero, 1e-9);
    }

    [Fact]
    public void GradientOfMMatchesFiniteDifferences()
    {
        int c = 4, p = 5;
        var rng = new System.Random(3);
        double[] R(int n, double s) => Enumerable.Range(0, n).Select(_ => (rng.NextDouble() * 2 - 1) * s).ToArray();
        var v = R(c * p, 2); var mu = R(c, 0.5); var m = R(c * c, 0.7);
        using var scope = TensorScope.Begin();
        var mv = new Var(Tensor.FromArray(m, [c, c]), requiresGrad: true);
        DeFlowVae.ShiftedLogDensity(Tensor.FromArray(v, [c, p]), Tensor.FromArray(mu, [c]), mv).Backward();
        var g = mv.Grad!.ToDoubleArray();
        const double h = 1e-6;
        for (int i = 0; i < c * c; i++)
        {
            var mp = (double[])m.Clone(); mp[i] += h;
            var mm = (double[])m.Clone(); mm[i] -= h;
            double fd = (DirectLogDensity(v, mu, mp, c, p) - DirectLogDensity(v, mu, mm, c, p)) / (2 * h);
            Assert.Equal(fd, g[i], 1e-5 * (1 + Math.Abs(fd)));
        }
    }

    [Theory]
    [InlineData("zero")]
    [InlineData("random")]
    public void CovarianceGradientIsExactlyZeroOnlyAtZeroInit(string init)
    {
        using var scope = TensorScope.Begin();
        using var model = Make(init);
        var loss = model.Loss(Images(1, 2, DType.F32), [false, true], 0, 5);
        Assert.True(double.IsFinite(loss.Terms["loss"]));
        loss.Total.Backward();
        foreach (var (mean, cov) in model.Shifts())
        {
            var gc = cov.Grad!.ToDoubleArray();
            Assert.Contains(mean.Grad!.ToDoubleArray(), x => x != 0); // mu learns either way
            if (init == "zero") Assert.All(gc, x => Assert.Equal(0.0, x));
            else Assert.Contains(gc, x => x != 0);
        }
        Assert.Equal(init == "zero", loss.Terms["m_norm"] == 0);
    }

    private static List<double> Train(DeFlowVae model, int steps, ulong seed)
    {
        var opt = new Adam(model.Module.NamedParameters(), lr: 2e-3);
        using var images = Images(11, 2, DType.F32);
        var losses = new List<double>();
        for (int s = 0; s < steps; s++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var l = model.Loss(images, [false, true], s, seed);
            l.Total.Backward();
            opt.Step();
            losses.Add(l.Terms["loss"]);
        }
        return losses;
    }

    [Fact]
    public void LossIsFiniteAndFallsOverTwentyAdamSteps()
    {
        using var model = Make();
        var losses = Train(model, 20, 3);
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(losses.TakeLast(3).Average() < losses.Take(3).Average() - 1.0,
            $"loss did not fall: {string.Join(", ", losses.Select(l => l.ToString("F3")))}");
    }

    [Fact]
    public void TrainingIsDeterministicForASeed()
    {
        using var a = Make(seed: 9);
        using var b = Make(seed: 9);
        var la = Train(a, 3, 4);
        var lb = Train(b, 3, 4);
        Assert.Equal(la, lb);
        var pa = a.Module.NamedParameters().ToList();
        var pb = b.Module.NamedParameters().ToList();
        for (int i = 0; i < pa.Count; i++) Assert.Equal(pa[i].Param.Data.ToDoubleArray(), pb[i].Param.Data.ToDoubleArray());
    }

    [Fact]
    public void DegradeAtTemperatureZeroReturnsTheInput()
    {
        using var model = Make();
        Train(model, 2, 1); // ActNorm data init and non-trivial weights
        using var scope = TensorScope.Begin();
        var x = Images(21, 2, DType.F32);
        var y = model.Degrade(x, new DegradeOptions { Temperature = 0, Seed = 3 });
        Assert.Equal(x.Shape, y.Shape);
        var xd = x.ToDoubleArray(); var yd = y.ToDoubleArray();
        Assert.True(xd.Zip(yd).Max(t => Math.Abs(t.First - t.Second)) < 1e-4);
    }

    [Fact]
    public void DegradeIsAFunctionOfSeedAndOffset()
    {
        using var model = Make();
        Train(model, 2, 1);
        // a visible shift: mu = 0.5 on every latent
        foreach (var (mean, _) in model.Shifts()) { using var h = Tensor.Full(mean.Shape, 0.5, mean.Data.DType); mean.Data.CopyFrom(h); }
        using var scope = TensorScope.Begin();
        var x = Images(22, 1, DType.F32);
        var o = new DegradeOptions { Temperature = 1, Seed = 4, Offset = 100 };
        var a = model.Degrade(x, o).ToDoubleArray();
        var b = model.Degrade(x, o).ToDoubleArray();
        var c = model.Degrade(x, o with { Offset = 101 }).ToDoubleArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.True(a.Zip(x.ToDoubleArray()).Max(t => Math.Abs(t.First - t.Second)) > 1e-3); // the shift changes the image
    }

    [Fact]
    public void ConfigJsonRoundTrips()
    {
        using var model = Make("zero");
        var json = model.Config;
        Assert.Equal("zero", json["covariance_init"]!.GetValue<string>());
        using var again = DeFlowVae.FromConfig(JsonNode.Parse(json.ToJsonString())!.AsObject(), new ParamInit(1));
        Assert.Equal(json.ToJsonString(), again.Config.ToJsonString());
        Assert.Equal(model.Module.ParameterCount(), again.Module.ParameterCount());
        var wrapped = new JsonObject { ["kind"] = "deflow", ["config"] = JsonNode.Parse(json.ToJsonString()) };
        using var third = DeFlowVae.FromConfig(wrapped, new ParamInit(1));
        Assert.Equal(json.ToJsonString(), third.Config.ToJsonString());
        Assert.Equal("deflow", third.Kind);
        json["covariance_init"] = "bogus";
        Assert.Throws<InvalidArgumentException>(() => DeFlowModelConfig.FromJson(json));
    }

    private static readonly ChannelStats Stats = new([0.45, 0.44, 0.40], [0.23, 0.22, 0.24], [0.47, 0.45, 0.41], [0.21, 0.20, 0.22]);

    private static DeFlowVae MakeNormalized(ChannelStats? st, ulong seed = 7)
        => new(new ParamInit(seed, DType.F64), new DeFlowModelConfig(DeFlowConfig.Tiny, Normalize: st));

    [Fact]
    public void AimNormalizationRemapsOnlyDegradedTrainingImagesAndSynthesisMapsBack()
    {
        using var scope = TensorScope.Begin();
        var x = Images(31, 3, DType.F64);
        bool[] labels = [true, false, true];
        // Training: the normalized model on x equals the plain model on the remapped batch.
        var remapped = x.ToDoubleArray();
        int hw = 16 * 16;
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < 3; c++)
                for (int k = 0; k < hw; k++)
                {
                    int j = (i * 3 + c) * hw + k;
                    if (labels[i]) remapped[j] = Math.Clamp((remapped[j] - Stats.MeanNoisy[c]) / Stats.StdNoisy[c] * Stats.StdClean[c] + Stats.MeanClean[c], 0, 1);
                }
        using var a = MakeNormalized(Stats);
        using var b = MakeNormalized(null);
        double la = a.Loss(x, labels, 0, 5).Terms["loss"];
        double lb = b.Loss(Tensor.FromArray(remapped, x.Shape), labels, 0, 5).Terms["loss"];
        Assert.Equal(lb, la, 10);
        double lc = b.Loss(x, labels, 1, 5).Terms["loss"];
        Assert.NotEqual(lb, lc, 6); // the remapping changed the loss
        // Synthesis: the normalized model's output is the plain model's mapped back to the degraded statistics.
        var o = new DegradeOptions { Seed = 2, Temperature = 1 };
        var ya = a.Degrade(x, o).ToDoubleArray();
        var yb = b.Degrade(x, o).ToDoubleArray();
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < 3; c++)
                for (int k = 0; k < hw; k++)
                {
                    int j = (i * 3 + c) * hw + k;
                    double want = (yb[j] - Stats.MeanClean[c]) / Stats.StdClean[c] * Stats.StdNoisy[c] + Stats.MeanNoisy[c];
                    Assert.True(Math.Abs(want - ya[j]) < 1e-9, $"[{j}]: {ya[j]} vs {want}");
                }
        // The stats travel with the config; bad stats are typed errors.
        using var again = DeFlowVae.FromConfig(JsonNode.Parse(a.Config.ToJsonString())!.AsObject(), new ParamInit(1, DType.F64));
        Assert.Equal(Stats.StdNoisy, again.Settings.Normalize!.StdNoisy);
        Assert.Throws<InvalidArgumentException>(() => new DeFlowModelConfig(DeFlowConfig.Tiny, Normalize: Stats with { StdClean = [0.2, 0, 0.2] }).Validate());
        Assert.Equal(120.71678252 / 255, ChannelStats.Aim.MeanNoisy[0], 12);
    }

    [Fact]
    public void ChannelStatsMeasureIsThePooledMeanAndStd()
    {
        float[] a = [0, 1, 0.5f, 0.5f, 0.2f, 0.2f]; // 3 channels x 2 pixels
        float[] b = [1, 1, 0.5f, 0.5f, 0.6f, 0.6f];
        var (mean, std) = ChannelStats.Measure([a, b]);
        Assert.Equal([0.75, 0.5, 0.4], mean.Select(v => Math.Round(v, 6)));
        Assert.Equal(Math.Sqrt(0.1875), std[0], 6);
        Assert.Equal(0, std[1], 6);
        Assert.Equal(0.2, std[2], 6);
    }

    [Fact]
    public void SymmetricEigenReconstructsTheMatrix()
    {
        var rng = new System.Random(3);
        int c = 7;
        var m = Enumerable.Range(0, c * c).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var s = new double[c * c];
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++)
                for (int k = 0; k < c; k++) s[i * c + j] += m[i * c + k] * m[j * c + k];
        var (vals, v) = DeFlowVae.SymmetricEigen(s, c);
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++)
            {
                double r = 0, o = 0;
                for (int k = 0; k < c; k++) { r += v[i * c + k] * vals[k] * v[j * c + k]; o += v[k * c + i] * v[k * c + j]; }
                Assert.True(Math.Abs(r - s[i * c + j]) < 1e-12, $"S[{i},{j}]: {r} vs {s[i * c + j]}");
                Assert.True(Math.Abs(o - (i == j ? 1 : 0)) < 1e-12, $"V^T V [{i},{j}] = {o}");
            }
        Assert.All(vals, l => Assert.True(l > -1e-12));
    }

    [Fact]
    public void ReverseTranslationIsThePosteriorMeanOfTheCleanLatent()
    {
        using var model = MakeNormalized(null, 9);
        using var scope = TensorScope.Begin();
        var y = Images(41, 2, DType.F64);
        model.Loss(y, [true, true], 0, 1); // ActNorm data init
        var rng = new System.Random(5);
        foreach (var (mean, cov) in model.Shifts())
        {
            using var mu = Tensor.FromArray(Enumerable.Range(0, (int)mean.Data.Numel).Select(_ => rng.NextDouble() - 0.5).ToArray(), mean.Shape);
            using var mm = Tensor.FromArray(Enumerable.Range(0, (int)cov.Data.Numel).Select(_ => 0.3 * (rng.NextDouble() - 0.5)).ToArray(), cov.Shape);
            mean.Data.CopyFrom(mu);
            cov.Data.CopyFrom(mm);
        }
        var o = new DegradeOptions { Method = 2, Temperature = 0, Seed = 3, Offset = 8 };
        var got = model.Degrade(y, o).ToDoubleArray();

        // By hand: z_y = f(y; h(y)), z_x = (I + M M^T)^-1 (z_y - mu) per pixel (Gauss-Jordan inverse), x = f^-1(z_x).
        using var noGrad = GradMode.NoGrad();
        var cond = model.Net.Condition(model.Conditional(y, 0.03, 3, 8));
        var (z, _) = model.Net.Flow.Encode(y, cond);
        var shifts = model.Shifts();
        var zx = new List<Var>();
        for (int k = 0; k < z.Count; k++)
        {
            var zd = z[k].Data.ToDoubleArray();
            int n = z[k].Shape[0], c = z[k].Shape[1], hw = z[k].Shape[2] * z[k].Shape[3];
            var md = shifts[k].Cov.Data.ToDoubleArray();
            var mu = shifts[k].Mean.Data.ToDoubleArray();
            var a = new double[c, 2 * c];
            for (int i = 0; i < c; i++)
            {
                for (int j = 0; j < c; j++)
                {
                    double acc = i == j ? 1 : 0; // I + S with S = M M^T, the shift covariance (singular at M = 0, spec 5.4)
                    for (int t = 0; t < c; t++) acc += md[i * c + t] * md[j * c + t];
                    a[i, j] = acc;
                }
                a[i, c + i] = 1;
            }
            for (int col = 0; col < c; col++)
            {
                int piv = Enumerable.Range(col, c - col).MaxBy(r => Math.Abs(a[r, col]));
                for (int j = 0; j < 2 * c; j++) (a[col, j], a[piv, j]) = (a[piv, j], a[col, j]);
                double d = a[col, col];
                for (int j = 0; j < 2 * c; j++) a[col, j] /= d;
                for (int r = 0; r < c; r++)
                {
                    if (r == col) continue;
                    double f = a[r, col];
                    for (int j = 0; j < 2 * c; j++) a[r, j] -= f * a[col, j];
                }
            }
            var outZ = new double[zd.Length];
            for (int b = 0; b < n; b++)
                for (int p = 0; p < hw; p++)
                    for (int i = 0; i < c; i++)
                    {
                        double acc = 0;
                        for (int j = 0; j < c; j++) acc += a[i, c + j] * (zd[(b * c + j) * hw + p] - mu[j]);
                        outZ[(b * c + i) * hw + p] = acc;
                    }
            zx.Add(new Var(Tensor.FromArray(outZ, z[k].Shape)));
        }
        var want = model.Net.Flow.Decode(zx, cond).X.Data.ToDoubleArray();
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) < 1e-9, $"[{i}]: {got[i]} vs {want[i]}");

        // Temperature draws around that mean, as a function of (seed, offset).
        var t1 = model.Degrade(y, o with { Temperature = 1 }).ToDoubleArray();
        Assert.Equal(t1, model.Degrade(y, o with { Temperature = 1 }).ToDoubleArray());
        Assert.NotEqual(t1, got);
        Assert.NotEqual(t1, model.Degrade(y, o with { Temperature = 1, Offset = 9 }).ToDoubleArray());
        Assert.Throws<UnsupportedOpException>(() => model.Degrade(y, o with { Method = 1 }));
    }

    /// <summary>Spec 1.5: x ~ N(mx, sx^2) and y = x + u, u ~ N(mu, su^2), from unpaired samples. A
    /// one-layer affine flow z = (v - a) / s with DeFlow's priors (clean N(0, 1), degraded
    /// N(mu_z, 1 + M^2)) fitted by maximum likelihood must reach the closed form: a = mean(x),
    /// s^2 = var(x), s mu_z = mean(y) - mean(x), s^2 M^2 = var(y) - var(x) when var(y) >= var(x);
    /// otherwise M = 0 and s^2 = the pooled variance (n var(x) + m var(y)) / (n + m).</summary>
    [Theory]
    [InlineData(0.5, 0.3, 0.25, 0.2)]  // case 1: var(y) > var(x)
    [InlineData(0.5, 0.3, 0.25, 0.0)]  // case 2: var(y) = var(x) in law; the sample variances decide
    public void OneDimensionalExampleReachesTheClosedFormMaximumLikelihood(double mx, double sx, double mu, double su)
    {
        var rng = new System.Random(17);
        double G() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        int n = 400, m = 300;
        var xs = Enumerable.Range(0, n).Select(_ => mx + sx * G()).ToArray();
        var ys = Enumerable.Range(0, m).Select(_ => mx + sx * G() + mu + su * G()).ToArray();
        double Mean(double[] v) => v.Average();
        double Var(double[] v) { double a = v.Average(); return v.Sum(t => (t - a) * (t - a)) / v.Length; }
        using var scope = TensorScope.Begin();
        var a = new Var(Tensor.FromArray(new[] { 0.0 }, [1]), true);
        var logS = new Var(Tensor.FromArray(new[] { 0.0 }, [1]), true);
        var muZ = new Var(Tensor.FromArray(new[] { 0.0 }, [1]), true);
        var cov = new Var(Tensor.FromArray(new[] { 0.3 }, [1, 1]), true); // the random-init choice: M = 0 could not learn
        using var opt = new Adam([("a", a), ("log_s", logS), ("mu", muZ), ("m", cov)], 0.02);
        var xv = new Var(Tensor.FromArray(xs, [1, n]));
        var yv = new Var(Tensor.FromArray(ys, [1, m]));
        for (int t = 0; t < 3000; t++)
        {
            using var st = TensorScope.Begin();
            opt.ZeroGrad();
            var inv = F.Exp(F.Neg(logS));
            // log p(v) = log N(z) - log s per sample (the flow's logdet)
            var lx = DeFlowVae.StdLogDensity(F.Mul(F.Sub(xv, a), inv)) - F.Sum(logS) * n;
            var ly = DeFlowVae.ShiftedLogDensity(F.Mul(F.Sub(yv, a), inv), muZ, cov) - F.Sum(logS) * m;
            var nll = F.Neg(lx + ly) * (1.0 / (n + m));
            nll.Backward();
            opt.Step();
        }
        double aHat = a.Data.Item(), s = Math.Exp(logS.Data.Item()), muHat = muZ.Data.Item() * s, m2 = Math.Pow(cov.Data.Item() * s, 2);
        Assert.Equal(Mean(xs), aHat, 2);
        Assert.Equal(Mean(ys) - Mean(xs), muHat, 2);
        if (Var(ys) >= Var(xs))
        {
            Assert.Equal(Var(xs), s * s, 2);
            Assert.Equal(Var(ys) - Var(xs), m2, 2);
        }
        else
        {
            Assert.Equal((n * Var(xs) + m * Var(ys)) / (n + m), s * s, 2);
            Assert.True(m2 < 1e-3, $"s^2 M^2 = {m2}");
        }
    }

    [Fact]
    public void CheckpointRoundTripGivesIdenticalSynthesis()
    {
        string path = Path.Combine(Path.GetTempPath(), $"deflow_{Environment.ProcessId}_{Guid.NewGuid():N}.safetensors");
        try
        {
            using var a = MakeNormalized(Stats, 11);
            using var scope = TensorScope.Begin();
            var x = Images(51, 1, DType.F64);
            a.Loss(x, [true], 0, 1); // ActNorm data init
            Engine.Models.Checkpoint.SafeTensors.Save(path, a.Module.StateDict());
            using var b = DeFlowVae.FromConfig(JsonNode.Parse(a.Config.ToJsonString())!.AsObject(), new ParamInit(12, DType.F64));
            var o = new DegradeOptions { Seed = 1, Temperature = 1 };
            b.Module.LoadStateDict(Engine.Models.Checkpoint.SafeTensors.Load(path).Tensors);
            Assert.Equal(a.Degrade(x, o).ToDoubleArray(), b.Degrade(x, o).ToDoubleArray());
            Assert.Equal(a.Degrade(x, o with { Method = 2 }).ToDoubleArray(), b.Degrade(x, o with { Method = 2 }).ToDoubleArray());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
