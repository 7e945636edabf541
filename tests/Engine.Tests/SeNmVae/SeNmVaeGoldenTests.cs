// SeNM-VAE against PyTorch (gen_senmvae_golden.py: float64, written from the fact sheet
// ludvae-senmvae.md 2.3-2.8 and 2.12, not from our code). A tiny configuration (nf 8, growth 4,
// z_n 4, nls [1, 1] so L = 3 with a DownSample/UpSample layer, level-net width 4) with every weight
// perturbed (no zero-initialized head cuts a path), images (4, 3, 16, 16), labels [-1, 0, 1, -1],
// step 9 of a 20-step KL ramp. The eps of every latent sample and the mixture coins come from the
// golden file through the internal explicit-eps entries. Checked: the state-dict names, x^, y^,
// the level prediction, every loss term and the total, the total's gradient for every parameter,
// the gradient of KLN + KLZ + level L1 at unit weight (KLZ's weight in the total, w 1e-7, would
// hide its backward), and translate at two (level, temperature) settings.
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Models.Checkpoint;
using Engine.Models.Nn;
using Engine.Models.SeNmVae;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.SeNmVae;

public sealed class SeNmVaeGoldenTests
{
    private static string Dir => Path.Combine(AppContext.BaseDirectory, "SeNmVae");

    private static readonly Lazy<Dictionary<string, (double[] Values, int[] Shape)>> Golden = new(() =>
    {
        using var scope = TensorScope.Begin();
        var (t, _) = SafeTensors.Load(Path.Combine(Dir, "senmvae_golden.safetensors"));
        return t.ToDictionary(kv => kv.Key, kv => (kv.Value.ToDoubleArray(), kv.Value.Shape));
    });

    private static readonly Lazy<JsonObject> Meta = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "senmvae_golden.json")))!.AsObject());

    private static SeNmVaeConfig Config()
    {
        var j = Meta.Value;
        return new SeNmVaeConfig(
            Features: (int)j["features"]!, Growth: (int)j["growth"]!, NoiseDim: (int)j["noise_dim"]!,
            Groups: j["groups"]!.AsArray().Select(v => (int)v!).ToArray(), LevelWidth: (int)j["level_width"]!,
            KlWeight: (double)j["kl_weight"]!, KlzWeight: (double)j["klz_weight"]!, KlAnnealSteps: (double)j["kl_anneal_steps"]!,
            LevelLossWeight: 1, GanWeight: 0);
    }

    private static Tensor G(string name, DType dt, Device dev)
    {
        var (v, s) = Golden.Value[name];
        using var host = Tensor.FromArray(v, s);
        using var cast = host.To(dt);
        return cast.To(dev);
    }

    /// <summary>Asserts |ours - torch| <= tol * max(1, |torch|) elementwise; returns the largest
    /// absolute error (a null gradient counts as zeros).</summary>
    private static double Close(string what, string golden, Tensor? got, double tol)
    {
        var want = Golden.Value[golden].Values;
        var g = got?.ToDoubleArray() ?? new double[want.Length];
        Assert.True(want.Length == g.Length, $"{what}: {g.Length} values, golden has {want.Length}");
        double maxAbs = 0; int first = -1;
        for (int i = 0; i < g.Length; i++)
        {
            double e = Math.Abs(g[i] - want[i]);
            maxAbs = Math.Max(maxAbs, double.IsNaN(e) ? double.PositiveInfinity : e);
            if (first < 0 && !(e <= tol * Math.Max(1, Math.Abs(want[i])))) first = i;
        }
        Assert.True(first < 0, first < 0 ? "" : $"{what}: first mismatch at [{first}]: ours {g[first]:R} vs torch {want[first]:R}; max abs error {maxAbs:E3}, tol {tol:E1}");
        return maxAbs;
    }

    private static Models.SeNmVae.SeNmVae Torch(DType dt, Device dev)
    {
        var m = new Models.SeNmVae.SeNmVae(new ParamInit(1, dt, dev), Config());
        using var scope = TensorScope.Begin();
        m.Module.LoadStateDict(SafeTensors.Load(Path.Combine(Dir, "senmvae_weights.safetensors")).Tensors);
        return m;
    }

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    [Fact]
    public void State_dict_names_and_parameter_count_equal_the_torch_model()
    {
        using var scope = TensorScope.Begin();
        using var m = new Models.SeNmVae.SeNmVae(new ParamInit(1, DType.F64), Config());
        var (w, _) = SafeTensors.Load(Path.Combine(Dir, "senmvae_weights.safetensors"));
        var ours = m.Module.StateDict();
        Assert.Equal(w.Keys.OrderBy(k => k, StringComparer.Ordinal), ours.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (k, t) in w) Assert.Equal(t.Shape, ours[k].Shape);
        Assert.Equal((long)Meta.Value["parameter_count_generator"]!, m.Net.G.ParameterCount());
        Assert.Equal((long)Meta.Value["parameter_count_generator"]!, m.Settings.ExpectedGeneratorParameters());
        Assert.Equal((long)Meta.Value["parameter_count_level_net"]!, m.Net.LevelNet.ParameterCount());
        Assert.Equal((long)Meta.Value["parameter_count_level_net"]!, m.Settings.ExpectedLevelNetParameters());
        Assert.Equal((long)Meta.Value["parameter_count"]!, m.TrainableParameters().Sum(p => (long)p.Param.Numel));
    }

    public static TheoryData<string, DType, double, double> Rows => new()
    {
        // row, dtype, tolerance for values, tolerance for gradients (relative to max(1, |torch|)).
        // Measured on the CPU: F64 max abs error 2.8e-16 (outputs, terms, translate) and 1.1e-16
        // (gradients); F32 1.4e-7 and 8.5e-8. The CUDA row's bounds are LudVaeTpamiTests'.
        { TestDevices.Cpu, DType.F64, 1e-10, 1e-10 },
        { TestDevices.Cpu, DType.F32, 1e-5, 1e-5 },
        { TestDevices.Cuda, DType.F32, 2e-4, 2e-3 },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Training_forward_loss_terms_and_gradients_match_torch(string row, DType dt, double tol, double gradTol)
    {
        var dev = TestDevices.Get(row);
        using var scope = TensorScope.Begin();
        using var m = Torch(dt, dev);
        var x = G("x", dt, dev);
        var y = G("y", dt, dev);
        var eps = Enumerable.Range(0, (int)Meta.Value["eps_count"]!).Select(i => G($"eps{i}", dt, dev)).ToArray();
        var coins = Golden.Value["coins"].Values;
        var labels = Meta.Value["labels"]!.AsArray().Select(v => (int)v!).ToArray();
        long step = (long)Meta.Value["step"]!;

        var r = m.Forward(x, y, labels, step, seed: 5, eps, coins);
        Assert.Equal((double)Meta.Value["kl_weight_at_step"]!, r.KlWeight, 15);
        double worst = 0;
        worst = Math.Max(worst, Close("x^", "train.x_hat", r.XHat.Data, tol));
        worst = Math.Max(worst, Close("y^", "train.y_hat", r.YHat.Data, tol));
        worst = Math.Max(worst, Close("level prediction", "train.level_pred", r.LevelPred.Data, tol));
        worst = Math.Max(worst, Close("rec_x", "train.rec_x", r.RecX!.Data, tol));
        worst = Math.Max(worst, Close("rec_y", "train.rec_y", r.RecY!.Data, tol));
        worst = Math.Max(worst, Close("kl_n", "train.kl_n", r.Kln!.Data, tol));
        worst = Math.Max(worst, Close("kl_z", "train.kl_z", r.Klz!.Data, tol));
        worst = Math.Max(worst, Close("level_l1", "train.level_l1", r.LevelL1!.Data, tol));
        worst = Math.Max(worst, Close("total", "train.total", r.Total.Data, tol));
        Log($"{row} {dt}: outputs and loss terms, max abs error {worst:E3}");

        var ps = m.TrainableParameters().ToList();
        m.Module.ZeroGrad();
        r.Total.Backward();
        double worstGrad = 0;
        foreach (var (name, p) in ps)
            worstGrad = Math.Max(worstGrad, Close($"grad {name}", "grad." + name, p.Grad, gradTol));
        Log($"{row} {dt}: gradients of the total, {ps.Count} tensors, max abs error {worstGrad:E3}");

        // KLN + KLZ + level L1 at unit weight, on a fresh forward with the same draws.
        m.Module.ZeroGrad();
        var a = m.Forward(x, y, labels, step, seed: 5, eps, coins);
        (a.Kln! + a.Klz! + a.LevelL1!).Backward();
        double worstAux = 0; int nAux = 0;
        foreach (var (name, p) in ps)
        {
            if (!Golden.Value.ContainsKey("gradaux." + name)) continue;
            worstAux = Math.Max(worstAux, Close($"aux grad {name}", "gradaux." + name, p.Grad, gradTol));
            nAux++;
        }
        Assert.Equal(Golden.Value.Keys.Count(k => k.StartsWith("gradaux.", StringComparison.Ordinal)), nAux);
        foreach (var name in Meta.Value["aux_grad_none"]!.AsArray().Select(v => (string)v!))
        {
            var gr = ps.Single(p => p.Name == name).Param.Grad;
            Assert.True(gr is null || gr.ToDoubleArray().All(v => v == 0), $"{name} does not reach the KLs but got a gradient");
        }
        Log($"{row} {dt}: gradients of KLN + KLZ + level L1, {nAux} tensors, max abs error {worstAux:E3}");
        m.Module.ZeroGrad();
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Translate_with_given_eps_level_and_temperature_matches_torch(string row, DType dt, double tol, double gradTol)
    {
        _ = gradTol;
        var dev = TestDevices.Get(row);
        using var scope = TensorScope.Begin();
        using var m = Torch(dt, dev);
        using var noGrad = GradMode.NoGrad();
        var x = G("x", dt, dev);
        var eps = Enumerable.Range(0, (int)Meta.Value["translate_eps_count"]!).Select(i => G($"teps{i}", dt, dev)).ToArray();
        var settings = Meta.Value["translate"]!.AsArray();
        for (int k = 0; k < settings.Count; k++)
        {
            double level = (double)settings[k]!["level"]!, tau = (double)settings[k]!["temperature"]!;
            double e = Close($"translate level {level} tau {tau}", $"translate{k}", m.Translate(x, level, tau, null, eps).Data, tol);
            Log($"{row} {dt}: translate level {level} tau {tau}, max abs error {e:E3}");
        }
    }
}
