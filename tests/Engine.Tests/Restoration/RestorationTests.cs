// DnCNN and RRDBNet: outputs, input and weight gradients and batch-norm running statistics against
// PyTorch (gen_restoration.py, float64; the weights load by name from torch state dicts written as
// safetensors), parameter counts worked out from the layer tables, output shapes per scale,
// seeded determinism, the orthogonal initializer, and a short Adam run that must denoise.
using Engine.Autograd;
using Engine.Models.Nn;
using Engine.Models.Restoration;
using Engine.Tests.Support;
using Xunit;
using G = Engine.Tests.Restoration.RestorationGolden;

namespace Engine.Tests.Restoration;

public sealed class RestorationTests
{
    private static Var Mse(Var y, Var t) => F.Mean(F.Square(y - t));

    [Theory]
    [InlineData(DType.F64, 1e-10)]
    [InlineData(DType.F32, 2e-5)]
    public void DnCnn_matches_torch_in_train_and_eval_mode(DType dt, double tol)
    {
        using var scope = TensorScope.Begin();
        using var net = new DnCnn(new ParamInit(1, dt), DnCnnConfig.Original(3, 5) with { Features = 8 });
        net.LoadStateDict(G.Weights("bn_dncnn_weights.safetensors"));
        var bn = (BatchNorm2d)net.Body[3];
        Assert.Equal(7.0, bn.NumBatchesTracked.Item());
        Assert.Equal(1e-4, bn.Eps);
        Assert.Equal(0.95, bn.Momentum);

        var x = new Var(G.AsTensor("dncnn.x", dt, Device.Cpu), requiresGrad: true);
        var y = net.Forward(x);
        G.Close($"{dt} train output", G.Get("dncnn.y_train"), y.Data, tol);
        Mse(y, G.AsTensor("dncnn.target", dt, Device.Cpu)).Backward();
        G.Close($"{dt} grad x", G.Get("dncnn.grad_x"), x.Grad!, tol);
        G.Close($"{dt} grad dncnn.0.weight", G.Get("dncnn.grad_conv0_weight"), ((Conv2d)net.Body[0]).Weight.Grad!, tol);
        G.Close($"{dt} grad dncnn.3.weight", G.Get("dncnn.grad_bn3_weight"), bn.Weight!.Grad!, tol);
        G.Close($"{dt} running_mean", G.Get("dncnn.running_mean3"), bn.RunningMean, tol);
        G.Close($"{dt} running_var", G.Get("dncnn.running_var3"), bn.RunningVar, tol);
        Assert.Equal(8.0, bn.NumBatchesTracked.Item());

        net.Eval();
        using (GradMode.NoGrad()) G.Close($"{dt} eval output", G.Get("dncnn.y_eval"), net.Forward(x.Detach()).Data, tol);
    }

    [Theory]
    [InlineData(4, DType.F64, 1e-10)]
    [InlineData(4, DType.F32, 2e-5)]
    [InlineData(2, DType.F64, 1e-10)]
    [InlineData(2, DType.F32, 2e-5)]
    [InlineData(1, DType.F64, 1e-10)]
    public void RrdbNet_matches_torch(int scale, DType dt, double tol)
    {
        using var scope = TensorScope.Begin();
        using var net = new RrdbNet(new ParamInit(1, dt), new RrdbNetConfig(Features: 8, Growth: 4, Blocks: 2, Scale: scale));
        net.LoadStateDict(G.Weights($"rrdb_x{scale}_weights.safetensors"));
        string p = $"rrdb_x{scale}.";
        var x = new Var(G.AsTensor(p + "x", dt, Device.Cpu), requiresGrad: true);
        var y = net.Forward(x);
        Assert.Equal([x.Shape[0], 3, x.Shape[2] * scale, x.Shape[3] * scale], y.Shape);
        G.Close($"x{scale} {dt} output", G.Get(p + "y"), y.Data, tol);
        Mse(y, G.AsTensor(p + "target", dt, Device.Cpu)).Backward();
        G.Close($"x{scale} {dt} grad x", G.Get(p + "grad_x"), x.Grad!, tol);
        G.Close($"x{scale} {dt} grad conv_first.weight", G.Get(p + "grad_conv_first_weight"), net.ConvFirst.Weight.Grad!, tol);
        var deep = net.NamedParameters().Single(q => q.Name == "body.1.rdb3.conv5.weight").Param;
        G.Close($"x{scale} {dt} grad body.1.rdb3.conv5.weight", G.Get(p + "grad_body_1_rdb3_conv5_weight"), deep.Grad!, tol);
    }

    [Fact]
    public void Parameter_counts_follow_the_layer_tables()
    {
        // DnCNN-17 color, original port: conv 3->64 with bias (1,728 + 64), 15 x (conv 64->64 without
        // bias 36,864 + BN gamma/beta 128), conv 64->3 without bias (1,728) = 1,792 + 554,880 + 1,728.
        var init = new ParamInit(1);
        using (var d = new DnCnn(init, DnCnnConfig.Original(3))) Assert.Equal(558_400, d.ParameterCount());
        using (var d = new DnCnn(init, DnCnnConfig.Original(1))) Assert.Equal(556_096, d.ParameterCount());
        // KAIR adds a bias to the 15 hidden convs and the last one: + 15 * 64 + 1.
        using (var d = new DnCnn(init, DnCnnConfig.Kair(1))) Assert.Equal(557_057, d.ParameterCount());
        using (var d = new DnCnn(init, DnCnnConfig.Kair(1, 20))) Assert.Equal(668_225, d.ParameterCount());
        using (var d = new DnCnn(init, DnCnnConfig.Blind()))
        {
            Assert.Equal(670_531, d.ParameterCount());
            Assert.Equal(d.Config.ExpectedParameterCount(), d.ParameterCount());
            var names = d.StateDict().Keys.ToHashSet();
            Assert.Contains("model.0.bias", names);
            Assert.Contains("model.56.weight", names); // the last conv: 2 + 18 * 3 entries before it
            Assert.DoesNotContain("model.57.weight", names);
            Assert.Contains("model.3.num_batches_tracked", names);
        }

        using var small = new RrdbNet(init, RrdbNetConfig.Small);
        // conv_first 896, 3 RRDBs of 3 x 60,000, conv_body/up1/up2/hr 4 x 9,248, conv_last 867.
        Assert.Equal(578_755, small.ParameterCount());

        using var esrgan = new RrdbNet(new ParamInit(2), RrdbNetConfig.Esrgan);
        Assert.Equal(16_697_987, esrgan.ParameterCount());
        var n = esrgan.NamedParameters().Select(q => q.Name).ToList();
        Assert.Equal("conv_first.weight", n[0]);
        Assert.Equal("body.0.rdb1.conv1.weight", n[2]);
        Assert.Contains("body.22.rdb3.conv5.bias", n);
        Assert.Equal(["conv_body.weight", "conv_body.bias", "conv_up1.weight", "conv_up1.bias", "conv_up2.weight", "conv_up2.bias",
                      "conv_hr.weight", "conv_hr.bias", "conv_last.weight", "conv_last.bias"], n.TakeLast(10));
        // BasicSR's init: RDB convs Kaiming-normal x 0.1 (std 0.1 sqrt(2 / fan_in)), zero bias; the rest PyTorch's default.
        var sd = esrgan.StateDict();
        double Std(string k) { var v = sd[k].ToDoubleArray(); double m = v.Average(); return Math.Sqrt(v.Average(a => (a - m) * (a - m))); }
        Assert.InRange(Std("body.5.rdb2.conv5.weight") / (0.1 * Math.Sqrt(2.0 / (192 * 9))), 0.97, 1.03);
        Assert.All(sd["body.5.rdb2.conv5.bias"].ToDoubleArray(), b => Assert.Equal(0.0, b));
        Assert.InRange(Std("conv_up1.weight") / (1 / Math.Sqrt(3 * 64 * 9)), 0.97, 1.03);
        Assert.Contains(sd["conv_up1.bias"].ToDoubleArray(), b => b != 0);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(2)]
    [InlineData(1)]
    public void RrdbNet_output_is_scale_times_the_input(int scale)
    {
        using var scope = TensorScope.Begin();
        var cfg = new RrdbNetConfig(Features: 8, Growth: 4, Blocks: 1, Scale: scale);
        Assert.Equal(3 * 16 / (scale * scale), cfg.FirstConvInChannels);
        using var net = new RrdbNet(new ParamInit(3), cfg);
        var rng = TestData.Rng(salt: scale);
        var x = new Var(Tensor.FromArray(TestData.Floats(rng, 2 * 3 * 8 * 12), [2, 3, 8, 12]));
        using (GradMode.NoGrad()) Assert.Equal([2, 3, 8 * scale, 12 * scale], net.Forward(x).Shape);
        if (scale < 4)
        {
            var e = Assert.Throws<ShapeMismatchException>(() => net.Forward(new Var(Tensor.Zeros([1, 3, 6, 5]))));
            Assert.Contains($"divisible by {4 / scale}", e.Message);
        }
        Assert.Throws<InvalidArgumentException>(() => new RrdbNet(new ParamInit(1), cfg with { Scale = 3 }));
    }

    [Fact]
    public void Same_seed_same_network_and_output()
    {
        using var scope = TensorScope.Begin();
        var cfg = DnCnnConfig.Kair(1, 6) with { Features = 8 };
        using var a = new DnCnn(new ParamInit(11), cfg);
        using var b = new DnCnn(new ParamInit(11), cfg);
        using var c = new DnCnn(new ParamInit(12), cfg);
        var x = new Var(Tensor.FromArray(TestData.Floats(TestData.Rng(), 2 * 1 * 9 * 7), [2, 1, 9, 7]));
        foreach (var (k, t) in a.StateDict()) Assert.Equal(t.ToDoubleArray(), b.StateDict()[k].ToDoubleArray());
        Assert.Equal(a.Forward(x).Data.ToFloatArray(), b.Forward(x).Data.ToFloatArray());
        Assert.NotEqual(a.Forward(x).Data.ToFloatArray(), c.Forward(x).Data.ToFloatArray());
        // Batch norm: in training mode a sample's output depends on the rest of the batch, in eval mode not.
        var first = new Var(x.Data.Narrow(0, 0, 1));
        Assert.NotEqual(c.Forward(x).Data.Narrow(0, 0, 1).ToFloatArray(), c.Forward(first).Data.ToFloatArray());
        c.Eval();
        var whole = c.Forward(x).Data.Narrow(0, 0, 1).ToFloatArray();
        var alone = c.Forward(first).Data.ToFloatArray();
        for (int i = 0; i < whole.Length; i++) Assert.Equal(whole[i], alone[i], 6);
        // KAIR's batch-norm gamma starts in U(0.1, 1).
        Assert.All(a.StateDict()["model.3.weight"].ToDoubleArray(), g => Assert.InRange(g, 0.1, 1.0));

        using var r1 = new RrdbNet(new ParamInit(5), new RrdbNetConfig(Features: 8, Growth: 4, Blocks: 1));
        using var r2 = new RrdbNet(new ParamInit(5), new RrdbNetConfig(Features: 8, Growth: 4, Blocks: 1));
        var xr = new Var(Tensor.FromArray(TestData.Floats(TestData.Rng(salt: 1), 3 * 4 * 4), [1, 3, 4, 4]));
        Assert.Equal(r1.Forward(xr).Data.ToFloatArray(), r2.Forward(xr).Data.ToFloatArray());
    }

    [Theory]
    [InlineData(8, 3, 1.0)]   // wide (8 x 27): orthonormal rows
    [InlineData(64, 2, 0.2)]  // tall (64 x 18): orthonormal columns, KAIR's gain
    public void Orthogonal_init_gives_orthonormal_rows_or_columns_times_the_gain(int outCh, int inCh, double gain)
    {
        using var w = new ParamInit(9, DType.F64).Weight([outCh, inCh, 3, 3], inCh * 9, outCh * 9, InitSpec.Orthogonal(gain));
        var v = w.ToDoubleArray();
        int rows = outCh, cols = inCh * 9;
        bool wide = rows < cols;
        int k = wide ? rows : cols, m = wide ? cols : rows;
        double At(int vec, int i) => wide ? v[vec * cols + i] : v[i * cols + vec];
        for (int p = 0; p < k; p++)
            for (int q = 0; q < k; q++)
            {
                double dot = 0;
                for (int i = 0; i < m; i++) dot += At(p, i) * At(q, i);
                Assert.True(Math.Abs(dot - (p == q ? gain * gain : 0)) < 1e-12, $"<{p},{q}> = {dot}");
            }
        using var again = new ParamInit(9, DType.F32).Weight([outCh, inCh, 3, 3], inCh * 9, outCh * 9, InitSpec.Orthogonal(gain));
        Assert.Equal(v.Select(x => (float)x), again.ToFloatArray()); // the draw does not depend on the dtype
    }

    [Fact]
    public void Adam_steps_on_a_tiny_denoising_problem_reduce_the_loss()
    {
        var rng = TestData.Rng();
        const int n = 4, h = 12, wd = 12;
        var clean = new float[n * h * wd];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < wd; j++)
                    clean[(b * h + i) * wd + j] = (float)(0.5 + 0.3 * Math.Sin(0.5 * i + b) * Math.Cos(0.4 * j));
        var noisy = clean.Select(c => c + (float)(0.1 * (rng.NextDouble() * 2 - 1) * Math.Sqrt(3))).ToArray();
        using var net = new DnCnn(new ParamInit(21), DnCnnConfig.Kair(1, 5) with { Features = 16 });
        using var opt = new Adam(net.NamedParameters(), lr: 2e-3);
        using var cleanT = Tensor.FromArray(clean, [n, 1, h, wd]);
        using var noisyT = Tensor.FromArray(noisy, [n, 1, h, wd]);
        var losses = new List<double>();
        for (int step = 0; step < 60; step++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var loss = Mse(net.Forward(noisyT), cleanT);
            loss.Backward();
            opt.Step();
            losses.Add(loss.Item());
        }
        double noiseMse = clean.Zip(noisy, (c, y) => (double)(c - y) * (c - y)).Average();
        Assert.True(losses[^1] < 0.5 * losses[0], $"loss {losses[0]} -> {losses[^1]}");
        Assert.True(losses[^1] < noiseMse, $"final loss {losses[^1]} is not below the input's noise MSE {noiseMse}");
    }
}
