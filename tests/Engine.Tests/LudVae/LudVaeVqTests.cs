// The ICLR LUD-VAE ("ludvae", src/Models/LudVae/LudVaeVq.cs): parameter count and state-dict layout
// against an independent PyTorch build (ludvae_vq_golden.py), shapes, a short training run (loss
// falls, codes in use, bit-identical for a seed), Method-3 synthesis determinism, the checkpoint
// round trip, the blur h against Engine.Imaging's reference, and float64 gradient checks of the
// differentiable parts (the VQ argmin is piecewise constant: checked elsewhere, tests/Vq).
using System.Text.Json;
using Engine.Autograd;
using Engine.Imaging;
using Engine.Models.Checkpoint;
using Engine.Models.Degradation;
using Engine.Models.Nn;
using Engine.Tests.Support;
using Xunit;
using LudVaeModel = Engine.Models.Degradation.LudVae;

namespace Engine.Tests.LudVae;

public sealed class LudVaeVqTests
{
    /// <summary>A tiny model that trains in well under a second per ten steps on the CPU.</summary>
    private static LudVaeVqConfig Tiny(ulong seed = 7) => new(Channels: 16, ResChannels: 8, NumRes: 1, EmbedDim: 8, NumCodes: 32,
        BlurSize: 5, BlurSigma: 1.5, NoiseLatentChannels: 4, KlAnnealIterations: 1000, KlAnnealCap: 1e-2, Seed: seed, DeadCodeThreshold: 1e-2);

    /// <summary>Half clean (smooth ramps), half degraded (the same kind of images plus noise that grows with the signal).</summary>
    private static (Tensor Images, bool[] IsDegraded) Batch(System.Random rng, int n, int size)
    {
        var data = new float[n * 3 * size * size];
        var deg = new bool[n];
        for (int b = 0; b < n; b++)
        {
            deg[b] = b % 2 == 1;
            // Per image: a colour, a slope and a few blobs, so the codes have something to tell apart.
            var col = new double[3];
            for (int c = 0; c < 3; c++) col[c] = 0.1 + 0.8 * rng.NextDouble();
            double ax = rng.NextDouble() - 0.5, ay = rng.NextDouble() - 0.5;
            var blobs = Enumerable.Range(0, 3).Select(_ => (X: rng.NextDouble() * size, Y: rng.NextDouble() * size, R: 2 + 4 * rng.NextDouble(), A: rng.NextDouble() - 0.5)).ToArray();
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                    {
                        double v = col[c] + 0.4 * (ax * x + ay * y) / size;
                        foreach (var bl in blobs) v += bl.A * Math.Exp(-((x - bl.X) * (x - bl.X) + (y - bl.Y) * (y - bl.Y)) / (2 * bl.R * bl.R));
                        if (deg[b]) v += 0.1 * v * (rng.NextDouble() * 2 - 1);
                        data[((b * 3 + c) * size + y) * size + x] = (float)v;
                    }
        }
        using (TensorScope.Suspend()) return (Tensor.FromArray(data, [n, 3, size, size]), deg);
    }

    private static List<double> Train(LudVaeModel model, int steps, ulong seed, int batch = 4, int size = 16, List<Dictionary<string, double>>? terms = null)
    {
        var rng = new System.Random(1234);
        var batches = Enumerable.Range(0, 4).Select(_ => Batch(rng, batch, size)).ToArray();
        using var opt = new Adam(model.NamedParameters(), lr: 1e-3);
        var losses = new List<double>();
        for (int k = 0; k < steps; k++)
        {
            var (images, deg) = batches[k % batches.Length];
            using (TensorScope.Begin())
            {
                opt.ZeroGrad();
                var loss = model.Loss(images, deg, k, seed);
                losses.Add(loss.Total.Data.Item());
                terms?.Add(new Dictionary<string, double>(loss.Terms));
                loss.Total.Backward();
            }
            opt.Step();
        }
        opt.ZeroGrad();
        return losses;
    }

    private static JsonElement Golden()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "LudVae", "ludvae_vq_golden.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement;
    }

    [Fact]
    public void Paper_config_parameter_count_and_state_dict_match_the_pytorch_build()
    {
        var cfg = new LudVaeVqConfig();
        using var model = new LudVaeModel(cfg);
        // Analytic count (LudVaeVqConfig.ExpectedParameterCount) = the module's own count = PyTorch's.
        Assert.Equal(2_089_795, cfg.ExpectedParameterCount());
        Assert.Equal(cfg.ExpectedParameterCount(), model.ParameterCount());
        var g = Golden();
        Assert.Equal(g.GetProperty("paper_param_count").GetInt64(), model.ParameterCount());
        // Same names and shapes as the PyTorch state_dict (parameters and buffers).
        var mine = model.StateDict().ToDictionary(kv => kv.Key, kv => string.Join(",", kv.Value.Shape));
        var theirs = g.GetProperty("paper_state_dict").EnumerateObject().ToDictionary(p => p.Name, p => string.Join(",", p.Value.EnumerateArray().Select(e => e.GetInt32())));
        Assert.Equal(theirs.Keys.Order(StringComparer.Ordinal), mine.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, s) in theirs) Assert.True(mine[k] == s, $"{k}: ours [{mine[k]}], PyTorch [{s}]");
        // EMA codebooks are buffers, not parameters; a gradient codebook is a parameter.
        Assert.DoesNotContain(model.NamedParameters(), p => p.Name.Contains("quantize_t", StringComparison.Ordinal));
        Assert.Equal([512, 64], model.StateDict()["quantize_t.codebook"].Shape);
        var grad = cfg with { Decay = 0 };
        Assert.Equal(cfg.ExpectedParameterCount() + 2 * 512 * 64, grad.ExpectedParameterCount());
    }

    /// <summary>CPU and the real GPU (the host emulation has no convolutions).</summary>
    public static TheoryData<string> Rows => new(TestDevices.Cpu, TestDevices.Cuda);

    [Theory]
    [MemberData(nameof(Rows))]
    public void Forward_and_gradients_match_pytorch_on_a_tiny_model(string row)
    {
        var dev = TestDevices.Get(row);
        var dt = row == TestDevices.Cpu ? DType.F64 : DType.F32;
        double tol = dt == DType.F64 ? 1e-10 : 1e-4;
        // ludvae_vq_tiny.safetensors: PyTorch weights, inputs, outputs and gradients (ludvae_vq_golden.py).
        var (t, _) = SafeTensors.Load(Path.Combine(AppContext.BaseDirectory, "LudVae", "ludvae_vq_tiny.safetensors"));
        try
        {
            var cfg = new LudVaeVqConfig(Channels: 8, ResChannels: 4, NumRes: 1, EmbedDim: 4, NumCodes: 16, NoiseLatentChannels: 2, BlurSize: 5, BlurSigma: 1.5);
            using var model = new LudVaeModel(cfg, dt, dev);
            model.LoadStateDict(t.Where(kv => !kv.Key.StartsWith("io.", StringComparison.Ordinal) && !kv.Key.StartsWith("grad.", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key, kv => kv.Value));
            model.Eval();
            using var scope = TensorScope.Begin();
            Tensor On(string name) => t[name].To(dt).To(dev);
            void Close(string what, Tensor expected, Tensor actual)
            {
                Assert.Equal(expected.Shape, actual.Shape);
                var e = expected.ToDoubleArray(); var a = actual.ToDoubleArray();
                double scale = Math.Max(1e-3, e.Max(Math.Abs));
                for (int i = 0; i < e.Length; i++)
                    Assert.True(Math.Abs(e[i] - a[i]) <= tol * scale, $"{row} {what}[{i}]: ours {a[i]:R}, PyTorch {e[i]:R} (scale {scale:G3})");
            }
            var x = new Var(On("io.x"), requiresGrad: true);
            Close("h(x)", t["io.hx"], FixedGaussianBlur.Apply(x, 5, 1.5).Data);
            var (top, bottom) = model.EncodeContent(x);
            Assert.Equal(t["io.idx_t"].ToDoubleArray(), top.Indices.ToArray<int>().Select(v => (double)v));
            Assert.Equal(t["io.idx_b"].ToDoubleArray(), bottom.Indices.ToArray<int>().Select(v => (double)v));
            var ((muT, lsT), (muB, lsB)) = model.EncodeNoise(x);
            Close("mu_t", t["io.mu_t"], muT.Data);
            Close("logsigma_b", t["io.ls_b"], lsB.Data);
            var output = model.Decode(top.Quantized, bottom.Quantized, new Var(On("io.zn_t")), new Var(On("io.zn_b")));
            Close("decoder output", t["io.out"], output.Data);
            var d = output - x;
            var kl = F.Sum(F.KlStdNormal(muT, lsT)) + F.Sum(F.KlStdNormal(muB, lsB));
            var loss = F.Mean(d * d) + top.Loss + bottom.Loss + kl * (0.1 / x.Numel);
            Close("loss", t["io.loss"], loss.Data.Reshape(1));
            loss.Backward();
            Close("dL/dx", t["io.grad_x"], x.Grad!);
            int checkedParams = 0;
            foreach (var (name, p) in model.NamedParameters())
            {
                Close("dL/d" + name, t["grad." + name], p.Grad!);
                checkedParams++;
            }
            Assert.Equal(model.NamedParameters().Count(), checkedParams);
            model.ZeroGrad();
        }
        finally
        {
            foreach (var v in t.Values) v.Dispose();
        }
    }

    [Fact]
    public void Tiny_config_shapes_and_config_json_round_trip()
    {
        var cfg = Tiny();
        using var model = new LudVaeModel(cfg);
        Assert.Equal(cfg.ExpectedParameterCount(), model.ParameterCount());
        Assert.Equal("ludvae", model.Kind);
        var (images, deg) = Batch(TestData.Rng(), 2, 32);
        using var scope = TensorScope.Begin();
        var (top, bottom) = model.EncodeContent(new Var(images));
        Assert.Equal([2, 8, 4, 4], top.Quantized.Shape);
        Assert.Equal([2, 8, 8, 8], bottom.Quantized.Shape);
        Assert.Equal([2, 4, 4], top.Indices.Shape);
        var ((muT, _), (muB, _)) = model.EncodeNoise(new Var(images));
        Assert.Equal([2, 4, 4, 4], muT.Shape);
        Assert.Equal([2, 4, 8, 8], muB.Shape);
        Assert.Equal([2, 3, 32, 32], model.Degrade(images, new DegradeOptions { Seed = 1 }).Shape);
        var loss = model.Loss(images, deg, 0, 1);
        Assert.Equal(1e-3, loss.Terms["kl_weight"], 15);
        Assert.Equal(1e-2, cfg.KlWeight(50_000), 15); // capped
        Assert.Equal(2e5 / 5e8, new LudVaeVqConfig().KlWeight(199_999), 15); // the paper's uncapped t / 5e8
        Assert.True(loss.Terms["kl_n"] > 0 && loss.Terms["rec"] > 0 && loss.Terms["vq"] > 0);
        var back = LudVaeVqConfig.FromJson(((IDegradationVae)model).Config["config"]!.AsObject());
        Assert.Equal(cfg, back);
        Assert.Equal(double.PositiveInfinity, LudVaeVqConfig.FromJson(new LudVaeVqConfig().ToJson()).KlAnnealCap);
        Assert.Throws<ShapeMismatchException>(() => model.Loss(Tensor.Zeros([1, 3, 12, 16]), [true], 0, 1));
        Assert.Throws<UnsupportedOpException>(() => model.Degrade(images, new DegradeOptions { Method = 1 }));
        // Method 2 (degraded -> clean, z_n = 0) draws nothing: the same output for every seed.
        using (TensorScope.Begin())
            Assert.Equal(model.Degrade(images, new DegradeOptions { Method = 2, Seed = 1 }).ToFloatArray(),
                         model.Degrade(images, new DegradeOptions { Method = 2, Seed = 2 }).ToFloatArray());
        Assert.Throws<InvalidArgumentException>(() => new LudVaeVqConfig(BlurSize: 4).Validate());
    }

    [Fact]
    public void Clean_images_use_no_degradation_latent()
    {
        using var model = new LudVaeModel(Tiny());
        var (images, _) = Batch(TestData.Rng(), 2, 16);
        double NoiseGrad() => model.EncNB.Parameters().Concat(model.QNT.Parameters())
            .Sum(p => p.Grad == null ? 0 : p.Grad.ToDoubleArray().Sum(Math.Abs));
        using (TensorScope.Begin())
        {
            var clean = model.Loss(images, [false, false], 0, 1);
            Assert.Equal(0.0, clean.Terms["kl_n"]);
            clean.Total.Backward();
            Assert.Equal(0.0, NoiseGrad());
            // p(x|z): the same decoder with z_n = 0.
            model.ZeroGrad();
            model.Eval();
            var (top, bottom) = model.EncodeContent(new Var(images));
            var zt = new Var(Tensor.Zeros([2, 4, 2, 2])); var zb = new Var(Tensor.Zeros([2, 4, 4, 4]));
            var d = model.Decode(top.Quantized, bottom.Quantized, zt, zb) - new Var(images);
            model.Train();
            var evalClean = model.Loss(images, [false, false], 0, 1);
            Assert.Equal(F.Mean(d * d).Data.Item(), evalClean.Terms["rec"], 12);
        }
        model.ZeroGrad();
        using (TensorScope.Begin())
        {
            var mixed = model.Loss(images, [false, true], 0, 1);
            Assert.True(mixed.Terms["kl_n"] > 0);
            mixed.Total.Backward();
            Assert.True(NoiseGrad() > 0);
        }
        model.ZeroGrad();
    }

    [Fact]
    public void Loss_falls_under_adam_and_codes_are_used()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var model = new LudVaeModel(Tiny());
        var terms = new List<Dictionary<string, double>>();
        var losses = Train(model, 30, seed: 5, size: 32, terms: terms);
        double first = losses.Take(4).Average(), last = losses.Skip(26).Average();
        Assert.True(last < 0.5 * first, $"loss {first:G4} -> {last:G4}: [{string.Join(", ", losses.Select(l => l.ToString("G4")))}]");
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        var end = terms[^1];
        Assert.True(end["perplexity_t"] > 1 && end["perplexity_b"] > 1, $"perplexity top {end["perplexity_t"]}, bottom {end["perplexity_b"]}");
        Assert.True(sw.Elapsed.TotalSeconds < 10, $"30 steps took {sw.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void Training_is_deterministic_for_a_seed()
    {
        using var a = new LudVaeModel(Tiny());
        using var b = new LudVaeModel(Tiny());
        using var c = new LudVaeModel(Tiny());
        var la = Train(a, 6, seed: 9);
        var lb = Train(b, 6, seed: 9);
        var lc = Train(c, 6, seed: 10);
        Assert.Equal(la, lb);
        Assert.NotEqual(la.Skip(1), lc.Skip(1)); // step 0's draws differ too, but the ones after prove the seed reaches them
        Assert.Equal(a.StateDict()["quantize_b.embed_sum"].ToDoubleArray(), b.StateDict()["quantize_b.embed_sum"].ToDoubleArray());
    }

    [Fact]
    public void Degrade_is_deterministic_for_seed_and_offset_and_leaves_the_model_unchanged()
    {
        using var model = new LudVaeModel(Tiny());
        Train(model, 3, seed: 1);
        var (images, _) = Batch(TestData.Rng(), 2, 16);
        var codebook = model.StateDict()["quantize_t.codebook"].ToDoubleArray();
        double[] Run(ulong seed, ulong offset, double t = 1)
        {
            using (TensorScope.Begin()) return model.Degrade(images, new DegradeOptions { Seed = seed, Offset = offset, Temperature = t }).ToDoubleArray();
        }
        var a = Run(3, 0);
        Assert.Equal(a, Run(3, 0));
        Assert.NotEqual(a, Run(3, 1000));
        Assert.NotEqual(a, Run(4, 0));
        Assert.Equal(codebook, model.StateDict()["quantize_t.codebook"].ToDoubleArray()); // no EMA update
        Assert.True(model.IsTraining);
        // A colder prior moves the output less from the z_n = 0 decode.
        var zero = Run(3, 0, 1e-12);
        double Dist(double[] x) => x.Zip(zero, (p, q) => (p - q) * (p - q)).Sum();
        Assert.True(Dist(Run(3, 0, 0.25)) < Dist(a));
    }

    [Fact]
    public void Checkpoint_round_trip_reproduces_degrade()
    {
        using var model = new LudVaeModel(Tiny(seed: 7));
        Train(model, 4, seed: 2);
        var (images, _) = Batch(TestData.Rng(), 2, 16);
        var opts = new DegradeOptions { Seed = 11, Offset = 5, Temperature = 0.8 };
        double[] expected;
        using (TensorScope.Begin()) expected = model.Degrade(images, opts).ToDoubleArray();
        var path = Path.Combine(Path.GetTempPath(), $"ludvae-vq-{Environment.ProcessId}-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Save(path, model.StateDict());
            var json = ((IDegradationVae)model).Config;
            json["config"]!["seed"] = "99";
            using var fresh = LudVaeModel.FromConfig(System.Text.Json.Nodes.JsonNode.Parse(json.ToJsonString())!.AsObject());
            Assert.Equal(model.Settings with { Seed = 99 }, fresh.Settings);
            using (TensorScope.Begin()) Assert.NotEqual(expected, fresh.Degrade(images, opts).ToDoubleArray());
            var (tensors, _) = SafeTensors.Load(path);
            fresh.LoadStateDict(tensors);
            foreach (var t in tensors.Values) t.Dispose();
            using (TensorScope.Begin()) Assert.Equal(expected, fresh.Degrade(images, opts).ToDoubleArray());
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData(9, 4.0)]
    [InlineData(5, 1.5)]
    [InlineData(21, 10.0)]
    public void Blur_h_equals_the_imaging_gaussian_blur_with_replicate_borders(int size, double sigma)
    {
        var rng = TestData.Rng(salt: size);
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray(TestData.Floats(rng, 2 * 3 * 24 * 20, 0, 1), [2, 3, 24, 20]);
        var ours = FixedGaussianBlur.Apply(new Var(x), size, sigma).Data.ToFloatArray();
        var reference = Filters.GaussianBlur(x, size, sigma, BorderMode.Replicate).ToFloatArray();
        for (int i = 0; i < ours.Length; i++)
            Assert.True(Math.Abs(ours[i] - reference[i]) <= 2e-6, $"s={size} sigma={sigma} [{i}]: {ours[i]} vs {reference[i]}");
        // Reflect101 borders differ: the border mode is part of what is checked.
        var other = Filters.GaussianBlur(x, size, sigma, BorderMode.Reflect101).ToFloatArray();
        Assert.Contains(Enumerable.Range(0, ours.Length), i => Math.Abs(ours[i] - other[i]) > 1e-4);
    }

    [Fact]
    public void Gradients_of_the_blur_and_of_the_degradation_path_match_finite_differences()
    {
        var rng = TestData.Rng();
        var r = GradCheck.Run(v => FixedGaussianBlur.Apply(v[0], 5, 1.2),
            [Tensor.FromArray(TestData.Doubles(rng, 1 * 3 * 6 * 7), [1, 3, 6, 7])]);
        Assert.True(r.Ok, r.Message);
        // Everything but the quantizer, in float64: the noise encoder, the reparameterized z_n, the
        // fusion and the decoder, the MSE against the input and the z_n KL (content codes held fixed).
        var cfg = new LudVaeVqConfig(Channels: 4, ResChannels: 2, NumRes: 1, EmbedDim: 2, NumCodes: 4, NoiseLatentChannels: 2, BlurSize: 3, BlurSigma: 1, Seed: 3);
        using var model = new LudVaeModel(cfg, DType.F64);
        var x0 = Tensor.FromArray(TestData.Doubles(rng, 1 * 3 * 8 * 8, 0, 1), [1, 3, 8, 8]);
        Tensor qt, qb;
        using (TensorScope.Suspend())
        using (GradMode.NoGrad())
        {
            model.Eval();
            var (top, bottom) = model.EncodeContent(new Var(x0));
            qt = top.Quantized.Data.Clone(); qb = bottom.Quantized.Data.Clone();
        }
        r = GradCheck.Run(v =>
        {
            var ((muT, lsT), (muB, lsB)) = model.EncodeNoise(v[0]);
            var zt = F.GaussianSample(muT, lsT, 5, 0);
            var zb = F.GaussianSample(muB, lsB, 5, 100);
            var d = model.Decode(new Var(qt), new Var(qb), zt, zb) - v[0];
            return F.Mean(d * d) + (F.Sum(F.KlStdNormal(muT, lsT)) + F.Sum(F.KlStdNormal(muB, lsB))) * 0.01;
        }, [x0], new GradCheckOptions { Atol = 1e-6, Rtol = 1e-4 });
        Assert.True(r.Ok, r.Message);
        Assert.True(r.Checked > 0);
        qt.Dispose(); qb.Dispose();
    }
}
