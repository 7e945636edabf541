// Optimizers, clipping and schedules against PyTorch 1.13 (Nn/gen_optim.py -> Nn/optim.json):
// Adam with and without L2 weight decay and AdamW over four steps with growing gradients, on the
// fused CPU loop, on the composed Ops path and on every device row; state save/load resumes
// exactly; clip_grad_norm_ and the MultiStep/cosine learning rates.
using System.Text.Json;
using Xunit;
using Engine.Autograd;
using Engine.Models.Nn;
using Engine.Tests.Support;

namespace Engine.Tests.Nn;

public sealed class OptimizerTests
{
    private static readonly Lazy<JsonElement> Golden = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Nn", "optim.json"))).RootElement);

    private static double[] Arr(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    private static JsonElement Case(string name) => Golden.Value.GetProperty("adam").EnumerateArray().First(c => c.GetProperty("name").GetString() == name);

    private static Adam Make(string name, (string, Var)[] ps) => name switch
    {
        "adam" => new Adam(ps, lr: 0.01),
        "adam_l2" => new Adam(ps, lr: 0.02, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1),
        "adamw" => Adam.AdamW(ps, lr: 0.01, weightDecay: 0.05),
        _ => throw new ArgumentException(name),
    };

    private static void SetGrad(Var p, double[] g, DType dtype, Device dev)
    {
        using var scope = TensorScope.Begin();
        p.ZeroGrad();
        var y = F.Sum(F.Mul(p, new Var(Tensor.FromArray(g, [3, 5]).To(dtype).To(dev))));
        y.Backward();
    }

    public static TheoryData<string, string, bool> Rows()
    {
        var d = new TheoryData<string, string, bool>();
        foreach (var n in new[] { "adam", "adam_l2", "adamw" })
        {
            d.Add(n, TestDevices.Cpu, false);
            d.Add(n, TestDevices.Cpu, true);
            d.Add(n, TestDevices.Cuda, false);
            d.Add(n, TestDevices.Emu, false);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Adam_matches_pytorch_trajectory(string name, string row, bool composed)
    {
        var dev = TestDevices.Get(row);
        var c = Case(name);
        var dtype = row == TestDevices.Cpu ? DType.F64 : DType.F32;
        double tol = dtype == DType.F64 ? 1e-12 : 2e-5;
        Var p;
        using (TensorScope.Suspend()) p = new Var(Tensor.FromArray(Arr(c.GetProperty("p0")), [3, 5]).To(dtype).To(dev), requiresGrad: true);
        using var opt = Make(name, [("w", p)]);
        opt.ForceComposed = composed;
        var grads = c.GetProperty("grads").EnumerateArray().Select(Arr).ToArray();
        var traj = c.GetProperty("trajectory").EnumerateArray().Select(Arr).ToArray();
        for (int k = 0; k < grads.Length; k++)
        {
            SetGrad(p, grads[k], dtype, dev);
            opt.Step();
            var got = p.Data.ToDoubleArray();
            for (int i = 0; i < got.Length; i++)
                Assert.True(Math.Abs(got[i] - traj[k][i]) <= tol * Math.Max(1, Math.Abs(traj[k][i])), $"{name} step {k + 1} [{i}]: {got[i]} vs torch {traj[k][i]}");
        }
        Assert.Equal(4, opt.StepCount);
        var st = opt.StateDict();
        var m = st["exp_avg.w"].ToDoubleArray(); var mt = Arr(c.GetProperty("exp_avg"));
        var v = st["exp_avg_sq.w"].ToDoubleArray(); var vt = Arr(c.GetProperty("exp_avg_sq"));
        for (int i = 0; i < m.Length; i++)
        {
            Assert.True(Math.Abs(m[i] - mt[i]) <= tol * Math.Max(1, Math.Abs(mt[i])));
            Assert.True(Math.Abs(v[i] - vt[i]) <= tol * Math.Max(1, Math.Abs(vt[i])));
        }
        p.ZeroGrad(); p.Data.Dispose();
    }

    [Fact]
    public void Resuming_from_saved_state_continues_the_same_trajectory()
    {
        var c = Case("adamw");
        var grads = c.GetProperty("grads").EnumerateArray().Select(Arr).ToArray();
        var traj = c.GetProperty("trajectory").EnumerateArray().Select(Arr).ToArray();
        Var p;
        using (TensorScope.Suspend()) p = new Var(Tensor.FromArray(Arr(c.GetProperty("p0")), [3, 5]), requiresGrad: true);
        var first = Make("adamw", [("w", p)]);
        for (int k = 0; k < 2; k++) { SetGrad(p, grads[k], DType.F64, Device.Cpu); first.Step(); }
        Dictionary<string, Tensor> saved;
        using (TensorScope.Suspend()) saved = first.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        first.Dispose();

        using var second = Make("adamw", [("w", p)]);
        second.LoadStateDict(saved);
        Assert.Equal(2, second.StepCount);
        for (int k = 2; k < 4; k++) { SetGrad(p, grads[k], DType.F64, Device.Cpu); second.Step(); }
        var got = p.Data.ToDoubleArray();
        for (int i = 0; i < got.Length; i++) Assert.Equal(traj[3][i], got[i], 12);
        foreach (var t in saved.Values) t.Dispose();

        var bad = new Dictionary<string, Tensor> { ["step"] = Tensor.FromArray([1.0], [1]), ["exp_avg.w"] = Tensor.Zeros([2, 2], DType.F64), ["exp_avg_sq.w"] = Tensor.Zeros([2, 2], DType.F64) };
        var e = Assert.Throws<StateDictException>(() => second.LoadStateDict(bad));
        Assert.Contains("exp_avg.w", e.Message);
        Assert.Contains("[2, 2]", e.Message);
        Assert.Throws<StateDictException>(() => second.LoadStateDict(new Dictionary<string, Tensor>()));
        p.ZeroGrad(); p.Data.Dispose();
    }

    [Fact]
    public void Clip_by_global_norm_matches_pytorch()
    {
        var c = Golden.Value.GetProperty("clip");
        Var a, b;
        using (TensorScope.Suspend())
        {
            a = new Var(Tensor.Zeros([4, 3], DType.F64), requiresGrad: true);
            b = new Var(Tensor.Zeros([6], DType.F64), requiresGrad: true);
        }
        using (TensorScope.Begin())
        {
            var y = F.Sum(F.Mul(a, new Var(Tensor.FromArray(Arr(c.GetProperty("a")), [4, 3])))) + F.Sum(F.Mul(b, new Var(Tensor.FromArray(Arr(c.GetProperty("b")), [6]))));
            y.Backward();
        }
        double norm = GradClip.ClipByGlobalNorm([a, b], c.GetProperty("max_norm").GetDouble());
        Assert.Equal(c.GetProperty("norm").GetDouble(), norm, 12);
        var ac = a.Grad!.ToDoubleArray(); var at = Arr(c.GetProperty("a_clipped"));
        for (int i = 0; i < ac.Length; i++) Assert.Equal(at[i], ac[i], 12);
        var bc = b.Grad!.ToDoubleArray(); var bt = Arr(c.GetProperty("b_clipped"));
        for (int i = 0; i < bc.Length; i++) Assert.Equal(bt[i], bc[i], 12);
        // Under the threshold nothing changes; a NaN gradient reports a NaN norm and is left alone.
        Assert.Equal(GradClip.GlobalNorm([a, b]), GradClip.ClipByGlobalNorm([a, b], 100), 12);
        a.Grad!.Fill(double.NaN);
        Assert.True(double.IsNaN(GradClip.ClipByGlobalNorm([a, b], 1.0)));
        Assert.Equal(bt[0], b.Grad!.ToDoubleArray()[0], 12);
        a.ZeroGrad(); b.ZeroGrad(); a.Data.Dispose(); b.Data.Dispose();
    }

    [Fact]
    public void Schedules_match_pytorch()
    {
        var s = Golden.Value.GetProperty("schedules");
        var ms = new MultiStepLr(0.1, [3, 7], 0.5);
        var mt = Arr(s.GetProperty("multistep"));
        for (int k = 0; k < mt.Length; k++) Assert.Equal(mt[k], ms.At(k), 12);
        var cos = new CosineLr(0.1, 8, 0.01);
        var ct = Arr(s.GetProperty("cosine"));
        for (int k = 0; k < ct.Length; k++) Assert.Equal(ct[k], cos.At(k), 10);
        Assert.Equal(0.01, cos.At(100), 12);
        var warm = new CosineLr(0.1, 10, 0, WarmupSteps: 4);
        Assert.Equal(0.025, warm.At(0), 12);
        Assert.Equal(0.1, warm.At(3), 12);
        Assert.Equal(0.1, warm.At(4), 12);
    }

    [Fact]
    public void Bad_optimizer_settings_are_typed_errors()
    {
        Var p;
        using (TensorScope.Suspend()) p = new Var(Tensor.Zeros([2]), requiresGrad: true);
        Assert.Throws<InvalidArgumentException>(() => new Adam([("w", p)], lr: -1));
        Assert.Throws<InvalidArgumentException>(() => new Adam([("w", p)], beta1: 1.0));
        Assert.Throws<InvalidArgumentException>(() => new Adam([]));
        var e = Assert.Throws<InvalidArgumentException>(() => new Adam([("w", p), ("w", p)]));
        Assert.Contains("'w' appears twice", e.Message);
        p.Data.Dispose();
    }
}
