// LudVaeTpami (the public-code LUD-VAE): parameter count and state-dict names, the training forward,
// loss, weight gradients and generation against PyTorch (gen_ludvae_tpami.py, float64, fed the same
// h(I) and eps), the documented Philox offsets of Loss, the KL weight schedule, a short Adam run that
// must lower the loss and repeat bit for bit, Degrade's determinism and temperature, the checkpoint
// round trip, and the typed errors.
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Models.Checkpoint;
using Engine.Models.Degradation;
using Engine.Models.LudVae;
using Engine.Models.Nn;
using Engine.Random;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.LudVae;

public sealed class LudVaeTpamiTests
{
    private static string Dir => Path.Combine(AppContext.BaseDirectory, "LudVae");

    private static readonly Lazy<Dictionary<string, (double[] Values, int[] Shape)>> Golden = new(() =>
    {
        using var scope = TensorScope.Begin();
        var (t, _) = SafeTensors.Load(Path.Combine(Dir, "ludvae_tpami_golden.safetensors"));
        return t.ToDictionary(kv => kv.Key, kv => (kv.Value.ToDoubleArray(), kv.Value.Shape));
    });

    private static readonly Lazy<JsonObject> Meta = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "ludvae_tpami.json")))!.AsObject());

    private static Tensor G(string name, DType dt, Device dev)
    {
        var (v, s) = Golden.Value[name];
        using var host = Tensor.FromArray(v, s);
        using var cast = host.To(dt);
        return cast.To(dev);
    }

    private static void Close(string what, string golden, Tensor got, double tol)
    {
        var want = Golden.Value[golden].Values;
        var g = got.ToDoubleArray();
        Assert.True(want.Length == g.Length, $"{what}: {g.Length} values, golden has {want.Length}");
        double maxAbs = 0; int first = -1;
        for (int i = 0; i < g.Length; i++)
        {
            double e = Math.Abs(g[i] - want[i]);
            maxAbs = Math.Max(maxAbs, e);
            if (first < 0 && !(e <= tol * Math.Max(1, Math.Abs(want[i])))) first = i;
        }
        Assert.True(first < 0, first < 0 ? "" : $"{what}: first mismatch at [{first}]: ours {g[first]:R} vs torch {want[first]:R}; max abs error {maxAbs:E3}, tol {tol:E1}");
    }

    private static LudVaeTpami Small(DType dt = DType.F64, Device? dev = null, ulong seed = 1, int features = 8)
        => new(new ParamInit(seed, dt, dev), new LudVaeTpamiConfig(Features: features));

    private static LudVaeTpami Torch(DType dt, Device dev)
    {
        var m = Small(dt, dev);
        using var scope = TensorScope.Begin();
        m.Module.LoadStateDict(SafeTensors.Load(Path.Combine(Dir, "ludvae_tpami_weights.safetensors")).Tensors);
        return m;
    }

    [Fact]
    public void Parameter_count_and_state_dict_names_follow_the_public_code()
    {
        using (var full = Small(DType.F32, features: 128))
        {
            Assert.Equal(5_709_827, full.Module.ParameterCount());
            Assert.Equal(5_709_827, full.Settings.ExpectedParameterCount());
            Assert.Equal(5_709_827, (long)Meta.Value["parameter_count_f128"]!);
        }
        using var m = Small();
        Assert.Equal((long)Meta.Value["parameter_count"]!, m.Module.ParameterCount());
        Assert.Equal(m.Settings.ExpectedParameterCount(), m.Module.ParameterCount());
        var names = m.Module.StateDict().Keys.ToHashSet();
        // The keys the spandrel LUDVAE port detects a checkpoint by (spec §1.2).
        foreach (var k in new[] { "inconv.weight", "inconv_n.bias", "enc_1.net.0.weight", "enc_n_3.net.6.bias", "Gauconv_q_3.m.weight",
                                  "Gauconv_p_1.v.weight", "dec_1.net.6.bias", "proj_3.proj.weight", "proj_c_2.proj.weight", "proj_n_1.proj.weight", "outconv.bias" })
            Assert.Contains(k, names);
        Assert.Equal(2 * 2 + 9 * 8 + 5 * 4 + 7 * 2 + 2, names.Count); // weight + bias of every conv
        Assert.Equal("ludvae-tpami", m.Kind);
    }

    public static TheoryData<string, DType, double> GoldenRows => new()
    {
        { TestDevices.Cpu, DType.F64, 1e-10 },
        { TestDevices.Cpu, DType.F32, 2e-4 },
        { TestDevices.Cuda, DType.F32, 2e-4 },
    };

    [Theory]
    [MemberData(nameof(GoldenRows))]
    public void Training_forward_loss_and_gradients_match_torch(string row, DType dt, double tol)
    {
        var dev = TestDevices.Get(row);
        using var scope = TensorScope.Begin();
        using var m = Torch(dt, dev);
        var x = G("x", dt, dev);
        var h = G("h", dt, dev);
        Tensor[] eps = [G("eps0", dt, dev), G("eps1", dt, dev), G("eps2", dt, dev)];
        var labels = Meta.Value["labels_mixed"]!.AsArray().Select(v => (int)v! == 1).ToArray();
        long step = (long)Meta.Value["step_mixed"]!;

        var r = m.Forward(x, h, labels, step, eps, null);
        Assert.Equal((double)Meta.Value["kl_weight_mixed"]!, r.KlWeight, 15);
        Close("mixed output", "mixed.out", r.Output.Data, tol);
        Close("mixed rec", "mixed.rec", r.Rec.Data, tol);
        Close("mixed kl", "mixed.kl", r.Kl.Data, tol);
        Close("mixed total", "mixed.total", r.Total.Data, tol);
        r.Total.Backward();
        var ps = m.Module.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        foreach (var n in Meta.Value["grad_names"]!.AsArray().Select(v => (string)v!))
            Close($"grad {n}", "mixed.grad." + n, ps[n].Grad!, tol * 10);
        m.Module.ZeroGrad();

        // All clean: z_n = 0, the KL is exactly 0, the loss is the MSE alone and the noise path gets no gradient.
        var c = m.Forward(x, h, [false, false, false, false], 0, eps, null);
        Close("clean output", "clean.out", c.Output.Data, tol);
        Close("clean rec", "clean.rec", c.Rec.Data, tol);
        Close("clean total", "clean.total", c.Total.Data, tol);
        Assert.Equal(0.0, c.Kl.Data.Item());
        c.Total.Backward();
        Assert.Contains(ps["inconv.weight"].Grad!.ToDoubleArray(), v => v != 0);
        var gq = ps["Gauconv_q_3.m.weight"].Grad;
        Assert.True(gq == null || gq.ToDoubleArray().All(v => v == 0), "a clean batch must not train the posterior heads");
    }

    [Theory]
    [MemberData(nameof(GoldenRows))]
    public void Generation_matches_torch_translate(string row, DType dt, double tol)
    {
        var dev = TestDevices.Get(row);
        using var scope = TensorScope.Begin();
        using var m = Torch(dt, dev);
        using var noGrad = GradMode.NoGrad();
        var h = G("h", dt, dev);
        Tensor[] eps = [G("eps0", dt, dev), G("eps1", dt, dev), G("eps2", dt, dev)];
        Close("translate tau 0.7", "gen.out_t07", m.Translate(h, (double)Meta.Value["tau"]!, eps, null).Data, tol);
        Close("translate tau 0", "gen.out_t0", m.Translate(h, 0, eps, null).Data, tol);
        // Degrade with no injected noise and temperature 0 is the same deterministic map of h = x.
        Close("degrade tau 0 sigma 0 of h", "gen.out_t0", m.Degrade(h, new DegradeOptions { Temperature = 0, NoiseLevel = 0, Seed = 5 }), tol);
    }

    [Fact]
    public void Loss_draws_h_and_the_posterior_samples_at_the_documented_offsets()
    {
        using var scope = TensorScope.Begin();
        using var m = Small(seed: 3);
        var rng = TestData.Rng();
        int n = 3, hh = 6, ww = 5, f = m.Settings.Features;
        var x = Tensor.FromArray(TestData.Doubles(rng, n * 3 * hh * ww, 0, 1), [n, 3, hh, ww]);
        bool[] lab = [true, false, true];
        const ulong seed = 77; const long step = 12;
        var loss = m.Loss(x, lab, step, seed);

        ulong off = (ulong)step << 32;
        var epsH = Tensor.Normal([n, 3, hh, ww], seed, off, dtype: DType.F64);
        off += Philox.BlocksUsed(n * 3 * hh * ww, 8);
        var sig = Tensor.FromArray(lab.Select(b => b ? m.Settings.SigmaNoisy : m.Settings.SigmaClean).ToArray(), [n, 1, 1, 1]);
        var h = Ops.Add(x, Ops.Mul(epsH, sig));
        var eps = new Tensor[3];
        for (int i = 0; i < 3; i++)
        {
            eps[i] = Tensor.Normal([n, f, hh, ww], seed, off, dtype: DType.F64);
            off += Philox.BlocksUsed(n * f * hh * ww, 8);
        }
        var r = m.Forward(x, h, lab, step, eps, null);
        Assert.Equal(r.Total.Data.Item(), loss.Total.Data.Item(), 12);
        Assert.Equal(r.Kl.Data.Item(), loss.Terms["kl"], 12);
        Assert.Equal(r.Rec.Data.Item(), loss.Terms["rec"], 12);
        Assert.True(loss.Terms["kl"] > 0);

        // Another step or seed draws differently; the same (seed, step) repeats exactly.
        Assert.Equal(loss.Total.Data.Item(), m.Loss(x, lab, step, seed).Total.Data.Item());
        Assert.NotEqual(loss.Total.Data.Item(), m.Loss(x, lab, step + 1, seed).Total.Data.Item());
        Assert.NotEqual(loss.Total.Data.Item(), m.Loss(x, lab, step, seed + 1).Total.Data.Item());
        Assert.Equal(0.0, m.Loss(x, [false, false, false], step, seed).Terms["kl"]);
    }

    [Fact]
    public void Kl_weight_ramps_linearly_to_its_cap()
    {
        var c = new LudVaeTpamiConfig();
        Assert.Equal(1e-8, c.KlWeight(0), tolerance: 1e-20);
        Assert.Equal(5.001e-5, c.KlWeight(5000), tolerance: 1e-18);
        Assert.Equal(1e-4, c.KlWeight(9999), tolerance: 1e-18);
        Assert.Equal(1e-4, c.KlWeight(20000));
        Assert.True(c.KlWeight(9998) < 1e-4);
    }

    private static (double[] Losses, Dictionary<string, Tensor> Weights) Train(int steps, ulong seed)
    {
        var dev = Device.Cpu;
        using var scope = TensorScope.Begin();
        using var m = new LudVaeTpami(new ParamInit(seed, DType.F32, dev), new LudVaeTpamiConfig(Features: 8));
        using var opt = new Adam(m.Module.NamedParameters(), lr: 2e-3);
        var rng = TestData.Rng(nameof(Train), (int)seed);
        int n = 4, s = 16;
        // Smooth clean images (a random gradient per channel) and noisy ones (clean + N(0, 0.1^2)).
        var clean = new float[n * 3 * s * s];
        for (int b = 0; b < n; b++)
            for (int c = 0; c < 3; c++)
            {
                double a0 = rng.NextDouble(), ax = rng.NextDouble() - 0.5, ay = rng.NextDouble() - 0.5;
                for (int y = 0; y < s; y++)
                    for (int xx = 0; xx < s; xx++)
                        clean[((b * 3 + c) * s + y) * s + xx] = (float)(0.2 + 0.6 * a0 + 0.3 * (ax * xx + ay * y) / s);
            }
        bool[] lab = [false, true, false, true];
        for (int b = 0; b < n; b++)
            if (lab[b])
                for (int i = 0; i < 3 * s * s; i++) clean[b * 3 * s * s + i] += (float)(0.1 * (rng.NextDouble() * 2 - 1) * 1.7);
        var x = Tensor.FromArray(clean, [n, 3, s, s]);
        var losses = new double[steps];
        for (int t = 0; t < steps; t++)
        {
            using var step = TensorScope.Begin();
            opt.ZeroGrad();
            var l = m.Loss(x, lab, t, 1234);
            l.Total.Backward();
            opt.Step();
            losses[t] = l.Terms["loss"];
        }
        var w = m.Module.StateDict().ToDictionary(kv => kv.Key, kv => TensorScope.Detach(kv.Value.To(DType.F64)));
        return (losses, w);
    }

    [Fact]
    public void Adam_lowers_the_loss_and_training_repeats_bit_for_bit()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var (a, wa) = Train(30, 9);
        Assert.True(sw.Elapsed.TotalSeconds < 10, $"30 steps took {sw.Elapsed.TotalSeconds:F1} s");
        Assert.True(a.All(double.IsFinite));
        double first = a.Take(3).Average(), last = a.TakeLast(3).Average();
        Assert.True(last < 0.5 * first, $"loss fell only from {first:E3} to {last:E3}: {string.Join(", ", a.Select(v => v.ToString("E3")))}");

        var (b, wb) = Train(30, 9);
        Assert.Equal(a, b);
        foreach (var (k, t) in wa) Assert.Equal(t.ToDoubleArray(), wb[k].ToDoubleArray());
        foreach (var t in wa.Values.Concat(wb.Values)) t.Dispose();
    }

    [Fact]
    public void Degrade_is_a_function_of_seed_and_offset_and_temperature_scales_the_prior_sample()
    {
        using var scope = TensorScope.Begin();
        using var m = Small(DType.F32, seed: 4);
        var rng = TestData.Rng();
        var x = Tensor.FromArray(TestData.Floats(rng, 2 * 3 * 9 * 7, 0, 1), [2, 3, 9, 7]);
        var o = new DegradeOptions { Seed = 11, Offset = 100 };
        var y = m.Degrade(x, o);
        Assert.Equal(x.Shape, y.Shape);
        Assert.Equal(y.ToFloatArray(), m.Degrade(x, o).ToFloatArray());
        Assert.NotEqual(y.ToFloatArray(), m.Degrade(x, o with { Offset = 101 }).ToFloatArray());
        Assert.NotEqual(y.ToFloatArray(), m.Degrade(x, o with { Seed = 12 }).ToFloatArray());
        Assert.NotEqual(y.ToFloatArray(), m.Degrade(x, o with { Temperature = 2 }).ToFloatArray());

        // Temperature 0 and no injected noise: no randomness is left, every seed gives the same output.
        var cold = o with { Temperature = 0, NoiseLevel = 0 };
        Assert.Equal(m.Degrade(x, cold).ToFloatArray(), m.Degrade(x, cold with { Seed = 99, Offset = 7 }).ToFloatArray());
        // Temperature 0 with the generation noise: h still draws from the seed.
        Assert.NotEqual(m.Degrade(x, o with { Temperature = 0 }).ToFloatArray(), m.Degrade(x, o with { Temperature = 0, Seed = 99 }).ToFloatArray());
        // NoiseLevel overrides the configured generation noise.
        Assert.NotEqual(y.ToFloatArray(), m.Degrade(x, o with { NoiseLevel = 0.2 }).ToFloatArray());
        // Method 2 (noisy -> clean, z_n = 0) is deterministic when no noise is injected.
        Assert.Equal(m.Degrade(x, new DegradeOptions { Method = 2, Seed = 1 }).ToFloatArray(), m.Degrade(x, new DegradeOptions { Method = 2, Seed = 2 }).ToFloatArray());
    }

    [Fact]
    public void Degrade_draws_h_and_the_prior_samples_at_the_documented_offsets()
    {
        using var scope = TensorScope.Begin();
        using var m = Small(seed: 6);
        int n = 2, hh = 5, ww = 7, f = m.Settings.Features;
        var x = Tensor.FromArray(TestData.Doubles(TestData.Rng(), n * 3 * hh * ww, 0, 1), [n, 3, hh, ww]);
        const ulong seed = 31, start = 1000; const double tau = 1.3, sigma = 0.05;
        var y = m.Degrade(x, new DegradeOptions { Seed = seed, Offset = start, Temperature = tau, NoiseLevel = sigma });

        ulong off = start;
        var h = Ops.Add(x, Ops.Mul(Tensor.Normal([n, 3, hh, ww], seed, off, dtype: DType.F64), sigma));
        off += Philox.BlocksUsed(n * 3 * hh * ww, 8);
        var eps = new Tensor[3];
        for (int i = 0; i < 3; i++)
        {
            eps[i] = Tensor.Normal([n, f, hh, ww], seed, off, dtype: DType.F64);
            off += Philox.BlocksUsed(n * f * hh * ww, 8);
        }
        using var noGrad = GradMode.NoGrad();
        var want = m.Translate(h, tau, eps, null).Data.ToDoubleArray();
        var got = y.ToDoubleArray();
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) <= 1e-12, $"[{i}]: {got[i]:R} vs {want[i]:R}");
    }

    [Fact]
    public void Degrade_returns_a_tensor_that_outlives_its_scope_and_records_no_graph()
    {
        using var outer = TensorScope.Begin();
        using var m = Small(DType.F32);
        var x = Tensor.Full([1, 3, 5, 5], 0.5);
        int before = outer.Count;
        var y = m.Degrade(x, new DegradeOptions { Seed = 1 });
        Assert.False(y.IsDisposed);
        Assert.Equal(before + 1, outer.Count); // only the result joined the caller's scope
        Assert.True(y.ToFloatArray().All(float.IsFinite));
    }

    [Fact]
    public void Checkpoint_round_trip_gives_identical_degrade_output()
    {
        using var scope = TensorScope.Begin();
        string path = Path.Combine(Path.GetTempPath(), $"ludvae_tpami_{Environment.ProcessId}_{Guid.NewGuid():N}.safetensors");
        try
        {
            var cfg = new LudVaeTpamiConfig(Features: 8, SigmaClean: 15.0 / 255, GenerationNoiseLevel: 12.0 / 255, Temperature: 1.5);
            using var a = new LudVaeTpami(new ParamInit(21), cfg);
            SafeTensors.Save(path, a.Module.StateDict());
            var json = a.Config.ToJsonString();
            using var b = LudVaeTpami.FromConfig(JsonNode.Parse(json)!.AsObject(), new ParamInit(22));
            Assert.Equal(cfg, b.Settings);
            var x = Tensor.FromArray(TestData.Floats(TestData.Rng(), 3 * 8 * 8, 0, 1), [1, 3, 8, 8]);
            var o = new DegradeOptions { Seed = 3, Offset = 5 };
            Assert.NotEqual(a.Degrade(x, o).ToFloatArray(), b.Degrade(x, o).ToFloatArray());
            b.Module.LoadStateDict(SafeTensors.Load(path).Tensors);
            Assert.Equal(a.Degrade(x, o).ToFloatArray(), b.Degrade(x, o).ToFloatArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Bad_inputs_and_unsupported_methods_are_typed_errors()
    {
        using var scope = TensorScope.Begin();
        using var m = Small(DType.F32);
        var x = Tensor.Zeros([2, 3, 4, 4]);
        Assert.Throws<ShapeMismatchException>(() => m.Loss(x, [true], 0, 1));
        Assert.Throws<ShapeMismatchException>(() => m.Loss(Tensor.Zeros([2, 1, 4, 4]), [true, false], 0, 1));
        Assert.Throws<DTypeMismatchException>(() => m.Loss(Tensor.Zeros([2, 3, 4, 4], DType.F64), [true, false], 0, 1));
        Assert.Throws<InvalidArgumentException>(() => m.Loss(x, [true, false], -1, 1));
        var e = Assert.Throws<UnsupportedOpException>(() => m.Degrade(x, new DegradeOptions { Method = 1 }));
        Assert.Contains("method 1", e.Message);
        Assert.Throws<InvalidArgumentException>(() => m.Degrade(x, new DegradeOptions { Temperature = -1 }));
        Assert.Throws<InvalidArgumentException>(() => LudVaeTpami.FromConfig(new JsonObject { ["kind"] = "ludvae" }, new ParamInit(1)));
        Assert.Throws<InvalidArgumentException>(() => new LudVaeTpami(new ParamInit(1), new LudVaeTpamiConfig(Features: 0)));
    }
}
