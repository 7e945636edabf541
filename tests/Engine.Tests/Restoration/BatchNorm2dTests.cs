// BatchNorm2d: against torch.nn.BatchNorm2d (gen_restoration.py: train-mode output and its input,
// weight and bias gradients, running statistics after one and two steps, eval-mode output) on
// every device row, a float64 finite-difference check of the normalization, the state-dict names
// and PyTorch's int64 num_batches_tracked, and the train/eval contract.
using Engine.Autograd;
using Engine.Models.Nn;
using Engine.Tests.Support;
using Xunit;
using G = Engine.Tests.Restoration.RestorationGolden;

namespace Engine.Tests.Restoration;

public sealed class BatchNorm2dTests
{
    public static TheoryData<string> Rows => TestDevices.AllRows;

    [Theory]
    [MemberData(nameof(Rows))]
    public void Matches_torch_in_train_and_eval_mode_with_running_stats_and_gradients(string row)
    {
        var dev = TestDevices.Get(row);
        var dt = row == TestDevices.Cpu ? DType.F64 : DType.F32;
        double tol = dt == DType.F64 ? 1e-10 : 2e-5;
        using var scope = TensorScope.Begin();
        using var bn = new BatchNorm2d(new ParamInit(1, dt, dev), 3);
        bn.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = G.AsTensor("bn.weight", dt, dev), ["bias"] = G.AsTensor("bn.bias", dt, dev) }, strict: false);

        var x1 = new Var(G.AsTensor("bn.x1", dt, dev), requiresGrad: true);
        var y1 = bn.Forward(x1);
        G.Close($"{row} train output", G.Get("bn.y1"), y1.Data, tol);
        y1.Backward(G.AsTensor("bn.g1", dt, dev));
        G.Close($"{row} grad x", G.Get("bn.grad_x1"), x1.Grad!, tol);
        G.Close($"{row} grad weight", G.Get("bn.grad_weight"), bn.Weight!.Grad!, tol);
        G.Close($"{row} grad bias", G.Get("bn.grad_bias"), bn.Bias!.Grad!, tol);
        G.Close($"{row} running_mean step 1", G.Get("bn.running_mean1"), bn.RunningMean, tol);
        G.Close($"{row} running_var step 1", G.Get("bn.running_var1"), bn.RunningVar, tol);

        using (GradMode.NoGrad()) G.Close($"{row} train output 2", G.Get("bn.y2"), bn.Forward(G.AsTensor("bn.x2", dt, dev)).Data, tol);
        G.Close($"{row} running_mean step 2", G.Get("bn.running_mean2"), bn.RunningMean, tol);
        G.Close($"{row} running_var step 2", G.Get("bn.running_var2"), bn.RunningVar, tol);
        Assert.Equal(2.0, bn.NumBatchesTracked.Item());

        bn.Eval();
        var rm = bn.RunningMean.ToDoubleArray();
        using (GradMode.NoGrad()) G.Close($"{row} eval output", G.Get("bn.y3"), bn.Forward(G.AsTensor("bn.x3", dt, dev)).Data, tol);
        Assert.Equal(rm, bn.RunningMean.ToDoubleArray());
        Assert.Equal(2.0, bn.NumBatchesTracked.Item());
    }

    [Fact]
    public void Normalization_and_eval_mode_pass_the_float64_gradient_check()
    {
        var rng = TestData.Rng();
        Tensor T(int n, params int[] s) => Tensor.FromArray(TestData.Doubles(rng, n, -1.5, 1.5), s);
        var opts = new GradCheckOptions { Rtol = 1e-5, Atol = 1e-7 };
        var r = GradCheck.Run(v => BatchNorm2d.Normalize(v[0], v[1], v[2], 1e-5).Y,
            [T(3 * 2 * 3 * 4, 3, 2, 3, 4), T(2, 2), T(2, 2)], opts);
        Assert.True(r.Ok, r.Message);
        Assert.Equal(3 * 2 * 3 * 4 + 4, r.Checked);

        using var bn = new BatchNorm2d(new ParamInit(4, DType.F64), 2);
        bn.RunningMean.CopyFrom(T(2, 2));
        using (var rv = Tensor.FromArray(new[] { 0.5, 2.0 }, [2])) bn.RunningVar.CopyFrom(rv);
        bn.Eval();
        r = GradCheck.Run(v => bn.Forward(v[0]), [T(2 * 2 * 3 * 3, 2, 2, 3, 3)], opts);
        Assert.True(r.Ok, r.Message);
        Assert.True(r.Checked == 36);
    }

    [Fact]
    public void State_dict_has_pytorch_names_and_accepts_int64_num_batches_tracked()
    {
        using var bn = new BatchNorm2d(new ParamInit(1), 8);
        Assert.Equal(["weight", "bias"], bn.NamedParameters().Select(p => p.Name));
        Assert.Equal(["running_mean", "running_var", "num_batches_tracked"], bn.NamedBuffers().Select(b => b.Name));
        Assert.Equal(DType.I32, bn.NumBatchesTracked.DType);
        Assert.Empty(bn.NumBatchesTracked.Shape);
        Assert.All(bn.Weight!.Data.ToDoubleArray(), w => Assert.Equal(1.0, w));
        Assert.All(bn.RunningVar.ToDoubleArray(), w => Assert.Equal(1.0, w));

        // The DnCNN golden holds torch's int64 counter (value 7): the plain loader refuses I64,
        // the PyTorch path converts it.
        var path = Path.Combine(G.Dir, "bn_dncnn_weights.safetensors");
        using var scope = TensorScope.Begin();
        Assert.Throws<Engine.Models.Checkpoint.CheckpointDTypeException>(() => Engine.Models.Checkpoint.SafeTensors.Load(path));
        var w = G.Weights("bn_dncnn_weights.safetensors");
        var sd = w.Where(kv => kv.Key.StartsWith("dncnn.3.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["dncnn.3.".Length..], kv => kv.Value);
        Assert.Equal(DType.I32, sd["num_batches_tracked"].DType);
        bn.LoadStateDict(sd);
        Assert.Equal(7.0, bn.NumBatchesTracked.Item());
        Assert.Equal(sd["running_var"].ToDoubleArray().Select(v => (float)v), bn.RunningVar.ToFloatArray());
    }

    [Fact]
    public void Eval_uses_running_stats_and_train_uses_the_batch()
    {
        var rng = TestData.Rng();
        using var scope = TensorScope.Begin();
        using var bn = new BatchNorm2d(new ParamInit(1, DType.F64), 2, momentum: 0.5);
        var x = new Var(Tensor.FromArray(TestData.Doubles(rng, 4 * 2 * 3 * 3, 1, 3), [4, 2, 3, 3]));
        var y = bn.Forward(x).Data.ToDoubleArray();
        // Train mode: each channel of the output has mean 0 and biased variance 1 / (1 + eps / var).
        for (int c = 0; c < 2; c++)
        {
            var vals = Enumerable.Range(0, 4).SelectMany(n => Enumerable.Range(0, 9).Select(k => y[(n * 2 + c) * 9 + k])).ToArray();
            Assert.True(Math.Abs(vals.Average()) < 1e-12, $"channel {c} mean {vals.Average()}");
            Assert.InRange(vals.Select(v => v * v).Average(), 0.999, 1.0);
        }
        var xs = x.Data.ToDoubleArray();
        var ch0 = Enumerable.Range(0, 4).SelectMany(n => Enumerable.Range(0, 9).Select(k => xs[(n * 2) * 9 + k])).ToArray();
        double m0 = ch0.Average(), v0 = ch0.Sum(v => (v - m0) * (v - m0)) / (ch0.Length - 1);
        Assert.Equal(0.5 * m0, bn.RunningMean.ToDoubleArray()[0], 12);
        Assert.Equal(0.5 + 0.5 * v0, bn.RunningVar.ToDoubleArray()[0], 12);

        // Eval mode: (x - running_mean) / sqrt(running_var + eps), independent of the rest of the batch.
        bn.Eval();
        var ye = bn.Forward(x).Data.ToDoubleArray();
        var rm = bn.RunningMean.ToDoubleArray(); var rv = bn.RunningVar.ToDoubleArray();
        for (int i = 0; i < xs.Length; i++)
        {
            int c = i / 9 % 2;
            Assert.Equal((xs[i] - rm[c]) / Math.Sqrt(rv[c] + 1e-5), ye[i], 12);
        }
        var one = bn.Forward(new Var(x.Data.Narrow(0, 0, 1))).Data.ToDoubleArray();
        Assert.Equal(ye.Take(18), one);
    }

    [Fact]
    public void Bad_arguments_are_typed_errors()
    {
        Assert.Throws<InvalidArgumentException>(() => new BatchNorm2d(new ParamInit(1), 0));
        Assert.Throws<InvalidArgumentException>(() => new BatchNorm2d(new ParamInit(1), 2, momentum: 1.5));
        using var bn = new BatchNorm2d(new ParamInit(1), 3);
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<ShapeMismatchException>(() => bn.Forward(new Var(Tensor.Zeros([2, 4, 3, 3]))));
        Assert.Contains("BatchNorm2d", e.Message);
        Assert.Throws<ShapeMismatchException>(() => bn.Forward(new Var(Tensor.Zeros([1, 3, 1, 1]))));
    }
}
