// SeNM-VAE: the parameter counts of the official configuration (spec 2.13), shapes, the zero-init
// property (at init the outputs do not depend on the latents), each of Loss_p / Loss_s / Loss_t
// alone lowering its loss, bit-exact repetition, the checkpoint round trip, level control of the
// synthesized noise strength, the loss terms' bookkeeping, and the typed errors.
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Imaging.Degradation;
using Engine.Models.Checkpoint;
using Engine.Models.Degradation;
using Engine.Models.Nn;
using Engine.Models.SeNmVae;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.SeNmVae;

public sealed class SeNmVaeTests
{
    private static readonly SeNmVaeConfig TinyConfig = new(Features: 8, Growth: 4, NoiseDim: 4, Groups: [1, 1], LevelWidth: 4, KlAnnealSteps: 20);

    private static Models.SeNmVae.SeNmVae Tiny(ulong seed = 1, SeNmVaeConfig? cfg = null, DType dt = DType.F32)
        => new(new ParamInit(seed, dt), cfg ?? TinyConfig);

    [Fact]
    public void Parameter_counts_match_the_official_configuration()
    {
        using var scope = TensorScope.Begin();
        var cfg = new SeNmVaeConfig();
        Assert.Equal(7, cfg.Layers);
        Assert.Equal(19_955_739, cfg.ExpectedGeneratorParameters());
        Assert.Equal(2_920_897, cfg.ExpectedLevelNetParameters());
        Assert.Equal(14_120_395, (cfg with { Groups = [2, 2] }).ExpectedGeneratorParameters());
        Assert.Equal(243_274, SeNmVaeConfig.RdbParams(65, 32));
        using var m = new Models.SeNmVae.SeNmVae(new ParamInit(1), cfg with { GanWeight = 0.1 });
        Assert.Equal(19_955_739, m.Net.G.ParameterCount());
        Assert.Equal(2_920_897, m.Net.LevelNet.ParameterCount());
        Assert.Equal(2_765_633, m.Net.D!.ParameterCount());
        // The main optimizer trains G and the level predictor, not the discriminator.
        Assert.Equal(19_955_739 + 2_920_897, m.TrainableParameters().Sum(p => p.Param.Numel));
        var names = m.Module.StateDict().Keys.ToHashSet();
        foreach (var k in new[] { "netG.stem_H.weight", "netG.enc_N.2.conv.weight", "netG.GzH.6.conv_m.weight", "netG.Gzq.0.rdb_v.conv5.bias",
                                  "netG.proj_zn.3.weight", "netG.dec.2.conv.weight", "netG.out_2.bias", "netNL.fc3.weight", "netD.norm3.running_var" })
            Assert.Contains(k, names);
        // Zero-initialized heads and projections, default biases.
        Assert.All(m.Net.G.ProjZ[0].Weight.Data.ToFloatArray(), v => Assert.Equal(0f, v));
        Assert.All(m.Net.G.Gzp[3].ConvV.Weight.Data.ToFloatArray(), v => Assert.Equal(0f, v));
        Assert.Contains(m.Net.G.Gzp[3].ConvV.Bias!.Data.ToFloatArray(), v => v != 0);
    }

    private static (Tensor X, Tensor Y, double[] Sigma) Pairs(int n, int s, int seed, double lo = 0.02, double hi = 0.2)
    {
        var rng = TestData.Rng(nameof(Pairs), seed);
        var x = new float[n * 3 * s * s];
        var y = new float[x.Length];
        var sigma = new double[n];
        for (int b = 0; b < n; b++)
        {
            sigma[b] = lo + (hi - lo) * rng.NextDouble();
            for (int c = 0; c < 3; c++)
            {
                double a0 = rng.NextDouble(), ax = rng.NextDouble() - 0.5, ay = rng.NextDouble() - 0.5;
                for (int yy = 0; yy < s; yy++)
                    for (int xx = 0; xx < s; xx++)
                    {
                        int i = ((b * 3 + c) * s + yy) * s + xx;
                        x[i] = (float)(0.2 + 0.6 * a0 + 0.3 * (ax * xx + ay * yy) / s);
                        double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                        y[i] = (float)(x[i] + sigma[b] * g);
                    }
            }
        }
        return (Tensor.FromArray(x, [n, 3, s, s]), Tensor.FromArray(y, [n, 3, s, s]), sigma);
    }

    [Fact]
    public void Outputs_have_the_input_shape_and_at_init_do_not_depend_on_the_latents()
    {
        using var scope = TensorScope.Begin();
        using var m = Tiny();
        var (x, y, _) = Pairs(3, 16, 1);
        int[] labels = [-1, 0, 1];
        var a = m.Forward(x, y, labels, 0, 5);
        var b = m.Forward(x, y, labels, 0, 6); // other draws
        Assert.Equal(x.Shape, a.XHat.Shape);
        Assert.Equal(x.Shape, a.YHat.Shape);
        // Every projection weight is zero at init, so neither z nor z_n reaches the trunk.
        Assert.Equal(a.XHat.Data.ToFloatArray(), b.XHat.Data.ToFloatArray());
        Assert.Equal(a.YHat.Data.ToFloatArray(), b.YHat.Data.ToFloatArray());
        // ... but the KL terms do depend on the draws' inputs only through the heads, and are finite.
        Assert.True(double.IsFinite(a.Kln!.Data.Item()) && double.IsFinite(a.Klz!.Data.Item()));
        var g = m.Degrade(x, new DegradeOptions { Seed = 1 });
        Assert.Equal(x.Shape, g.Shape);
        Assert.Equal(g.ToFloatArray(), m.Degrade(x, new DegradeOptions { Seed = 2 }).ToFloatArray());
    }

    [Fact]
    public void Loss_terms_follow_the_masks_and_the_anneal()
    {
        using var scope = TensorScope.Begin();
        using var m = Tiny(cfg: TinyConfig with { KlAnnealSteps = 100 });
        var (x, y, sigma) = Pairs(4, 16, 2);
        // Only clean slots: no y reconstruction, no KL_n, no KL_z, no level loss.
        var s = m.Loss(x, x, [0, 0, 0, 0], 0, 1);
        Assert.True(double.IsNaN(s.Terms["rec_y"]) && double.IsNaN(s.Terms["kl_n"]) && double.IsNaN(s.Terms["kl_z"]) && double.IsNaN(s.Terms["level_l1"]));
        Assert.Equal(s.Terms["rec_x"], s.Terms["loss"], 12);
        // Only degraded slots: rec_y + w KL_n.
        var t = m.Loss(y, y, [1, 1, 1, 1], 49, 1);
        Assert.True(double.IsNaN(t.Terms["rec_x"]) && double.IsNaN(t.Terms["kl_z"]));
        Assert.Equal(0.5 * 1e-2, t.Terms["kl_weight"], 15);
        Assert.Equal(t.Terms["rec_y"] + 0.5e-2 * t.Terms["kl_n"], t.Terms["loss"], 6);
        // Pairs: every term, and the level loss is |std(y - x) - predicted|.
        var p = m.Forward(x, y, [-1, -1, -1, -1], 199, 1);
        var pred = p.LevelPred.Data.ToDoubleArray();
        var xs = x.ToDoubleArray(); var ys = y.ToDoubleArray();
        int per = 3 * 16 * 16;
        double l1 = 0;
        for (int b = 0; b < 4; b++)
        {
            var r = Enumerable.Range(0, per).Select(i => ys[b * per + i] - xs[b * per + i]).ToArray();
            double mean = r.Average(), sd = Math.Sqrt(r.Sum(v => (v - mean) * (v - mean)) / (per - 1));
            Assert.InRange(sd / sigma[b], 0.85, 1.15);
            l1 += Math.Abs(sd - pred[b]) / 4;
        }
        Assert.Equal(l1, p.LevelL1!.Data.Item(), 5);
        double want = p.RecX!.Data.Item() + p.RecY!.Data.Item() + 1e-2 * p.Kln!.Data.Item() + 1e-2 * 1e-7 * p.Klz!.Data.Item() + l1;
        Assert.Equal(want, p.Total.Data.Item(), 5);
    }

    private static (double[] Losses, Dictionary<string, Tensor> Weights) Train(int[] labels, int steps, ulong seed, SeNmVaeConfig? cfg = null, double lr = 2e-3)
    {
        using var scope = TensorScope.Begin();
        using var m = Tiny(seed, cfg);
        using var opt = new Adam(m.TrainableParameters(), lr: lr);
        var (x, y, _) = Pairs(labels.Length, 16, 3);
        // Unpaired slots hold one image in both tensors, as the data pipeline puts it.
        var clean = Tensor.FromArray(Enumerable.Range(0, labels.Length).SelectMany(b => (labels[b] == 1 ? y : x).ToFloatArray().Skip(b * 768).Take(768)).ToArray(), x.Shape);
        var degraded = Tensor.FromArray(Enumerable.Range(0, labels.Length).SelectMany(b => (labels[b] == 0 ? x : y).ToFloatArray().Skip(b * 768).Take(768)).ToArray(), x.Shape);
        var losses = new double[steps];
        for (int t = 0; t < steps; t++)
        {
            using var step = TensorScope.Begin();
            opt.ZeroGrad();
            var l = m.Loss(clean, degraded, labels, t, 77);
            l.Total.Backward();
            opt.Step();
            losses[t] = l.Terms["loss"];
        }
        var w = m.Module.StateDict().ToDictionary(kv => kv.Key, kv => TensorScope.Detach(kv.Value.To(DType.F64)));
        return (losses, w);
    }

    [Theory]
    [InlineData("Loss_p (paired)", new[] { -1, -1, -1, -1 })]
    [InlineData("Loss_s (clean only)", new[] { 0, 0, 0, 0 })]
    [InlineData("Loss_t (degraded only)", new[] { 1, 1, 1, 1 })]
    [InlineData("mixed", new[] { -1, 0, 1, 1 })]
    public void Each_loss_alone_trains_on_a_tiny_problem(string what, int[] labels)
    {
        var (l, w) = Train(labels, 25, 4);
        Assert.True(l.All(double.IsFinite), $"{what}: non-finite loss");
        double first = l.Take(3).Average(), last = l.TakeLast(3).Average();
        Assert.True(last < 0.5 * first, $"{what}: loss fell only from {first:E3} to {last:E3}: {string.Join(", ", l.Select(v => v.ToString("E2")))}");
        foreach (var t in w.Values) t.Dispose();
    }

    [Fact]
    public void Training_repeats_bit_for_bit_for_a_seed()
    {
        var (a, wa) = Train([-1, 0, 1, -1], 4, 8);
        var (b, wb) = Train([-1, 0, 1, -1], 4, 8);
        Assert.Equal(a, b);
        foreach (var (k, t) in wa) Assert.Equal(t.ToDoubleArray(), wb[k].ToDoubleArray());
        var (c, wc) = Train([-1, 0, 1, -1], 4, 9);
        Assert.NotEqual(a, c);
        foreach (var t in wa.Values.Concat(wb.Values).Concat(wc.Values)) t.Dispose();
    }

    [Fact]
    public void Checkpoint_round_trip_gives_identical_synthesis()
    {
        using var scope = TensorScope.Begin();
        string path = Path.Combine(Path.GetTempPath(), $"senmvae_{Environment.ProcessId}_{Guid.NewGuid():N}.safetensors");
        try
        {
            var cfg = TinyConfig with { LevelSampler = "pool", LevelPool = [0.05, 0.1], GanWeight = 0.1, DiscriminatorWidth = 4 };
            using var a = Tiny(21, cfg);
            // Train a few steps so the projections are non-zero and the latents matter.
            using (var opt = new Adam(a.TrainableParameters(), 1e-2))
            {
                var (x0, y0, _) = Pairs(2, 32, 5);
                for (int t = 0; t < 3; t++)
                {
                    using var st = TensorScope.Begin();
                    opt.ZeroGrad();
                    a.Loss(x0, y0, [-1, 1], t, 1).Total.Backward();
                    opt.Step();
                }
            }
            SafeTensors.Save(path, a.Module.StateDict());
            using var b = Models.SeNmVae.SeNmVae.FromConfig(JsonNode.Parse(a.Config.ToJsonString())!.AsObject(), new ParamInit(22));
            Assert.Equal(cfg.ToJson().ToJsonString(), b.Settings.ToJson().ToJsonString());
            var (x, _, _) = Pairs(1, 32, 6);
            var o = new DegradeOptions { Seed = 3, Offset = 5 };
            Assert.NotEqual(a.Degrade(x, o).ToFloatArray(), b.Degrade(x, o).ToFloatArray());
            b.Module.LoadStateDict(SafeTensors.Load(path).Tensors);
            Assert.Equal(a.Degrade(x, o).ToFloatArray(), b.Degrade(x, o).ToFloatArray());
            Assert.NotEqual(a.Degrade(x, o).ToFloatArray(), a.Degrade(x, o with { Offset = 6 }).ToFloatArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Level_samplers_draw_what_they_promise()
    {
        using var m = Tiny(cfg: TinyConfig with { LevelSampler = "fixed", GenerationLevel = 0.07 });
        Assert.Equal(0.07, m.DrawLevel(1, 2));
        using var p = Tiny(cfg: TinyConfig with { LevelSampler = "pool", LevelPool = [0.01, 0.02, 0.03] });
        var drawn = Enumerable.Range(0, 200).Select(i => p.DrawLevel(5, (ulong)i)).ToHashSet();
        Assert.Equal([0.01, 0.02, 0.03], drawn.Order());
        using var s = Tiny();
        var levels = Enumerable.Range(0, 2000).Select(i => s.DrawLevel(9, (ulong)i)).ToArray();
        Assert.Equal(levels, Enumerable.Range(0, 2000).Select(i => s.DrawLevel(9, (ulong)i)));
        // sqrt(shot + read) with log10 shot uniform on [log10 6.87e-4, log10 2.19e-2]: about 0.026 .. 0.154 before the jitter (spec 2.12).
        Assert.InRange(levels.Min(), 0.02, 0.03);
        Assert.InRange(levels.Max(), 0.14, 0.2);
        Assert.InRange(Median(levels), 0.045, 0.075);
    }

    private static double Median(double[] v) { var s = v.Order().ToArray(); return s[s.Length / 2]; }

    [Fact]
    public void Level_control_changes_the_synthesized_noise_strength_monotonically()
    {
        // Train on pairs whose noise std is drawn per sample in [0.01, 0.25]; the z_n KL weight is
        // 1e-3 (1e-2 collapses z_n within a few hundred steps), and steps whose gradient norm
        // reaches 150 are skipped, as the code does.
        using var scope = TensorScope.Begin();
        using var m = Tiny(31, TinyConfig with { KlAnnealSteps = 50, KlWeight = 1e-3 });
        using var opt = new Adam(m.TrainableParameters(), lr: 3e-3);
        for (int t = 0; t < 400; t++)
        {
            using var st = TensorScope.Begin();
            var (x, y, _) = Pairs(6, 16, 100 + t, 0.01, 0.25);
            opt.ZeroGrad();
            m.Loss(x, y, Enumerable.Repeat(-1, 6).ToArray(), t, 3).Total.Backward();
            if (GradClip.GlobalNorm(m.TrainableParameters().Select(p => p.Param)) < 150) opt.Step();
        }
        m.Module.Eval();
        var (c, _, _) = Pairs(8, 16, 9999);
        double[] levels = [0.02, 0.08, 0.16, 0.25];
        // The generated noise: the rms difference of two draws (different seeds) over sqrt 2.
        var strength = levels.Select(l =>
        {
            using var s = TensorScope.Begin();
            var a = m.Degrade(c, new DegradeOptions { Seed = 4, NoiseLevel = l }).ToDoubleArray();
            var b = m.Degrade(c, new DegradeOptions { Seed = 5, NoiseLevel = l }).ToDoubleArray();
            return Math.Sqrt(a.Select((v, i) => (v - b[i]) * (v - b[i])).Average() / 2);
        }).ToArray();
        string msg = $"noise rms at levels [{string.Join(", ", levels)}]: [{string.Join(", ", strength.Select(v => v.ToString("F4")))}]";
        for (int i = 1; i < levels.Length; i++) Assert.True(strength[i] > strength[i - 1], msg);
        Assert.True(strength[^1] > 1.1 * strength[0], msg); // 1.17x after these 400 steps; 2.6x after 500 steps of 8
    }

    [Fact]
    public void Gan_option_adds_the_generator_term_and_steps_the_discriminator_after_each_generator_step()
    {
        using var scope = TensorScope.Begin();
        using var m = Tiny(41, TinyConfig with { GanWeight = 0.1, DiscriminatorWidth = 4 });
        using var opt = new Adam(m.TrainableParameters(), 1e-3);
        var d0 = m.Net.D!.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToDoubleArray());
        var (x, y, _) = Pairs(4, 32, 7);
        int[] labels = [-1, 1, 0, 1];
        var l1 = m.Loss(x, y, labels, 0, 1);
        Assert.True(double.IsFinite(l1.Terms["gan_g"]));
        double withoutGan = l1.Terms["rec_x"] + l1.Terms["rec_y"] + l1.Terms["kl_weight"] * (l1.Terms["kl_n"] + 1e-7 * l1.Terms["kl_z"]) + l1.Terms["level_l1"];
        Assert.Equal(withoutGan + 0.1 * l1.Terms["gan_g"], l1.Terms["loss"], 6);
        Assert.True(double.IsNaN(m.DiscriminatorLoss)); // no discriminator step before the first generator step
        l1.Total.Backward();
        opt.Step();
        // The discriminator's parameters are not in the generator's optimizer ...
        Assert.Equal(d0["conv0.weight"], m.Net.D.StateDict()["conv0.weight"].ToDoubleArray());
        // ... it steps at the start of the next step, on the previous step's (y, y^ detached).
        m.Loss(x, y, labels, 1, 1);
        Assert.True(double.IsFinite(m.DiscriminatorLoss));
        Assert.NotEqual(d0["conv0.weight"], m.Net.D.StateDict()["conv0.weight"].ToDoubleArray());
        // Evaluation mode never steps it.
        m.Module.Eval();
        var d1 = m.Net.D.StateDict()["conv1.weight"].ToDoubleArray();
        m.Loss(x, y, labels, 2, 1);
        Assert.Equal(d1, m.Net.D.StateDict()["conv1.weight"].ToDoubleArray());
        Assert.Throws<ShapeMismatchException>(() => m.Loss(Tensor.Zeros([1, 3, 16, 16]), Tensor.Zeros([1, 3, 16, 16]), [1], 0, 1));
    }

    [Fact]
    public void Mean_matching_gives_each_output_channel_the_clean_mean()
    {
        using var scope = TensorScope.Begin();
        using var m = Tiny(5);
        var (x, _, _) = Pairs(2, 16, 12);
        var raw = m.Degrade(x, new DegradeOptions { Seed = 1, NoiseLevel = 0.1 });
        var matched = m.Degrade(x, new DegradeOptions { Seed = 1, NoiseLevel = 0.1, MatchMean = true });
        var mx = Ops.Mean(x, [2, 3]).ToDoubleArray();
        var mm = Ops.Mean(matched, [2, 3]).ToDoubleArray();
        var mr = Ops.Mean(raw, [2, 3]).ToDoubleArray();
        for (int i = 0; i < mx.Length; i++) Assert.True(Math.Abs(mx[i] - mm[i]) < 1e-5, $"channel {i}: {mm[i]} vs clean {mx[i]}");
        Assert.Contains(Enumerable.Range(0, mx.Length), i => Math.Abs(mr[i] - mx[i]) > 1e-3); // it did move something
        // Only the means change: the centred outputs are equal.
        var dr = Ops.Sub(raw, Ops.Mean(raw, [2, 3], keepDim: true)).ToDoubleArray();
        var dm = Ops.Sub(matched, Ops.Mean(matched, [2, 3], keepDim: true)).ToDoubleArray();
        for (int i = 0; i < dr.Length; i++) Assert.True(Math.Abs(dr[i] - dm[i]) < 1e-5, $"[{i}]: {dr[i]} vs {dm[i]}");
    }

    [Fact]
    public void Bad_inputs_are_typed_errors()
    {
        using var scope = TensorScope.Begin();
        using var m = Tiny();
        var x = Tensor.Zeros([2, 3, 16, 16]);
        Assert.Throws<ShapeMismatchException>(() => m.Loss(x, x, [0], 0, 1));
        Assert.Throws<ShapeMismatchException>(() => m.Loss(x, Tensor.Zeros([2, 3, 16, 18]), [0, 1], 0, 1));
        Assert.Throws<ShapeMismatchException>(() => m.Loss(Tensor.Zeros([2, 3, 15, 16]), Tensor.Zeros([2, 3, 15, 16]), [0, 1], 0, 1));
        Assert.Throws<InvalidArgumentException>(() => m.Loss(x, x, [0, 2], 0, 1));
        Assert.Throws<DTypeMismatchException>(() => m.Loss(Tensor.Zeros([2, 3, 16, 16], DType.F64), Tensor.Zeros([2, 3, 16, 16], DType.F64), [0, 1], 0, 1));
        Assert.Throws<ShapeMismatchException>(() => m.Degrade(Tensor.Zeros([1, 1, 16, 16]), new DegradeOptions()));
        Assert.Throws<InvalidArgumentException>(() => m.Degrade(x, new DegradeOptions { Temperature = -1 }));
        Assert.Throws<InvalidArgumentException>(() => m.Degrade(x, new DegradeOptions { NoiseLevel = double.NaN }));
        Assert.Throws<UnsupportedOpException>(() => m.Degrade(x, new DegradeOptions { Method = 1 }));
        Assert.Throws<InvalidArgumentException>(() => new SeNmVaeConfig(Features: 6).Validate());
        Assert.Throws<InvalidArgumentException>(() => new SeNmVaeConfig(LevelSampler: "pool").Validate());
        Assert.Throws<InvalidArgumentException>(() => SeNmVaeConfig.FromJson(new JsonObject { ["kind"] = "deflow" }));
        // Method 2 denoises: the same shape, a function of the seed.
        Assert.Equal(x.Shape, m.Degrade(x, new DegradeOptions { Method = 2 }).Shape);
    }
}
