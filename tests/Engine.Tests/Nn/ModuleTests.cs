// Modules and layers: PyTorch-style dotted names and parameter counts (BasicSR's RRDB: 719,424),
// state-dict round trips and their errors, train/eval propagation, deterministic initialization
// with the documented statistics, layer outputs against the functional ops, and an input-gradient
// check through the residual blocks.
using Xunit;
using Engine.Autograd;
using Engine.Models.Nn;
using Engine.Tests.Support;

namespace Engine.Tests.Nn;

public sealed class ModuleTests
{
    private sealed class Tiny : Layer
    {
        public Conv2d A { get; }
        public Sequential Body { get; }
        public Tensor Count { get; }
        public Tiny(ParamInit init)
        {
            A = Child("a", new Conv2d(init, 3, 4, 3));
            Body = Child("body", new Sequential(new Act(ActKind.Relu), new Conv2d(init, 4, 2, 1, bias: false)));
            Count = Buffer("count", init.Zeros([1]));
        }
        public override Var Forward(Var x) => Body.Forward(A.Forward(x));
    }

    [Fact]
    public void Names_are_dotted_like_pytorch_and_counts_add_up()
    {
        using var m = new Tiny(new ParamInit(1));
        Assert.Equal(["a.weight", "a.bias", "body.1.weight"], m.NamedParameters().Select(p => p.Name));
        Assert.Equal(["count"], m.NamedBuffers().Select(b => b.Name));
        Assert.Equal(4 * 3 * 9 + 4 + 2 * 4, m.ParameterCount());
        Assert.Equal(4, m.StateDict().Count);
    }

    [Fact]
    public void Rrdb_has_basicsr_names_and_parameter_count()
    {
        using var rdb = new ResidualDenseBlock(new ParamInit(1));
        Assert.Equal(239_808, rdb.ParameterCount());
        using var rrdb = new Rrdb(new ParamInit(1));
        Assert.Equal(719_424, rrdb.ParameterCount()); // 23 of them + the ESRGAN head and tail: 16,697,987
        var names = rrdb.NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal("rdb1.conv1.weight", names[0]);
        Assert.Contains("rdb3.conv5.bias", names);
        Assert.Equal(30, names.Count);
    }

    [Fact]
    public void Same_seed_same_weights_and_state_dict_round_trips()
    {
        using var a = new Tiny(new ParamInit(7));
        using var b = new Tiny(new ParamInit(7));
        using var c = new Tiny(new ParamInit(8));
        Assert.Equal(a.A.Weight.Data.ToFloatArray(), b.A.Weight.Data.ToFloatArray());
        Assert.NotEqual(a.A.Weight.Data.ToFloatArray(), c.A.Weight.Data.ToFloatArray());
        // Construction order consumes the stream: the body conv is not a copy of the first conv's draws.
        Assert.NotEqual(a.A.Weight.Data.ToFloatArray().Take(8), a.Body[1].StateDict()["weight"].ToFloatArray());

        c.Count.Fill(5);
        a.LoadStateDict(c.StateDict());
        Assert.Equal(c.A.Weight.Data.ToFloatArray(), a.A.Weight.Data.ToFloatArray());
        Assert.Equal(5.0, a.Count.Item());
    }

    [Fact]
    public void Load_state_dict_reports_missing_unexpected_and_shape_mismatches_and_copies_nothing()
    {
        using var a = new Tiny(new ParamInit(1));
        using var b = new Tiny(new ParamInit(2));
        var before = a.A.Weight.Data.ToFloatArray();
        var sd = b.StateDict();
        sd.Remove("a.bias");
        sd["extra.weight"] = b.A.Bias!.Data;
        var e = Assert.Throws<StateDictException>(() => a.LoadStateDict(sd));
        Assert.Contains("missing 1: a.bias", e.Message);
        Assert.Contains("unexpected 1: extra.weight", e.Message);
        Assert.Equal(before, a.A.Weight.Data.ToFloatArray());

        a.LoadStateDict(sd, strict: false); // loads what matches
        Assert.Equal(b.A.Weight.Data.ToFloatArray(), a.A.Weight.Data.ToFloatArray());

        using var wrong = Tensor.Zeros([4, 3, 5, 5]);
        var sd2 = b.StateDict();
        sd2["a.weight"] = wrong;
        e = Assert.Throws<StateDictException>(() => a.LoadStateDict(sd2));
        Assert.Contains("'a.weight': model [4, 3, 3, 3], checkpoint [4, 3, 5, 5]", e.Message);
    }

    [Fact]
    public void Train_and_eval_reach_every_descendant()
    {
        using var m = new Tiny(new ParamInit(1));
        Assert.True(m.Body[1].IsTraining);
        m.Eval();
        Assert.False(m.IsTraining);
        Assert.False(m.Body[1].IsTraining);
        m.Train();
        Assert.True(m.Body[0].IsTraining);
    }

    [Theory]
    [InlineData(InitKind.KaimingNormal, 0.0)]
    [InlineData(InitKind.KaimingUniform, 0.2)]
    [InlineData(InitKind.XavierNormal, 0.0)]
    [InlineData(InitKind.XavierUniform, 0.0)]
    [InlineData(InitKind.Esrgan, 0.0)]
    [InlineData(InitKind.PyTorchDefault, 0.0)]
    public void Initializers_have_the_documented_spread(InitKind kind, double slope)
    {
        int fanIn = 64 * 9, fanOut = 128 * 9;
        var spec = kind == InitKind.Esrgan ? InitSpec.Esrgan() : new InitSpec(kind, 1, slope);
        using var w = new ParamInit(3).Weight([128, 64, 3, 3], fanIn, fanOut, spec);
        var v = w.ToDoubleArray();
        double mean = v.Average(), std = Math.Sqrt(v.Select(x => (x - mean) * (x - mean)).Average());
        double gain = Math.Sqrt(2 / (1 + slope * slope));
        double expect = kind switch
        {
            InitKind.KaimingNormal => gain / Math.Sqrt(fanIn),
            InitKind.KaimingUniform => gain / Math.Sqrt(fanIn), // U(+-gain*sqrt(3/fan)) has std gain/sqrt(fan)
            InitKind.XavierNormal or InitKind.XavierUniform => Math.Sqrt(2.0 / (fanIn + fanOut)),
            InitKind.Esrgan => 0.1 * Math.Sqrt(2.0 / fanIn),
            _ => 1 / Math.Sqrt(fanIn) / Math.Sqrt(3),
        };
        Assert.InRange(std, expect * 0.98, expect * 1.02);
        Assert.InRange(Math.Abs(mean), 0, expect * 0.02);
        if (kind is InitKind.KaimingUniform or InitKind.XavierUniform or InitKind.PyTorchDefault)
            Assert.True(v.Max(Math.Abs) <= expect * Math.Sqrt(3) * (1 + 1e-6));
        using var z = new ParamInit(3).Weight([4, 4], 4, 4, InitSpec.Zeros);
        Assert.All(z.ToDoubleArray(), x => Assert.Equal(0.0, x));
    }

    [Fact]
    public void Layers_compute_what_the_functional_ops_compute()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        var x = new Var(Tensor.FromArray(TestData.Floats(rng, 2 * 3 * 6 * 7), [2, 3, 6, 7]));
        using var conv = new Conv2d(new ParamInit(1), 3, 5, 3, fused: Activation.LeakyRelu(0.2));
        var y = conv.Forward(x);
        var expect = F.LeakyRelu(F.Conv2d(x, conv.Weight, conv.Bias, padding: 1), 0.2);
        Assert.Equal([2, 5, 6, 7], y.Shape);
        var (a, b) = (y.Data.ToFloatArray(), expect.Data.ToFloatArray());
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 5);

        using var up = new PixelShuffleUp(new ParamInit(1), 3, 2);
        Assert.Equal([2, 3, 12, 14], up.Forward(x).Shape);
        using var down = new PixelUnshuffleDown(new ParamInit(1), 3, 2, outChannels: 8);
        var x8 = new Var(Tensor.FromArray(TestData.Floats(rng, 2 * 3 * 6 * 8), [2, 3, 6, 8]));
        Assert.Equal([2, 8, 3, 4], down.Forward(x8).Shape);
        using var tconv = new ConvTranspose2d(new ParamInit(1), 3, 4, 4, stride: 2, padding: 1);
        Assert.Equal([2, 4, 12, 14], tconv.Forward(x).Shape);
        using var lin = new Linear(new ParamInit(1), 7, 2);
        Assert.Equal([2, 3, 6, 2], lin.Forward(x).Shape);
        using var rrdb = new Rrdb(new ParamInit(1), nf: 8, gc: 4);
        var h = new Var(Tensor.FromArray(TestData.Floats(rng, 1 * 8 * 5 * 5), [1, 8, 5, 5]));
        Assert.Equal([1, 8, 5, 5], rrdb.Forward(h).Shape);
    }

    [Fact]
    public void Input_gradients_through_residual_blocks_check()
    {
        var rng = TestData.Rng();
        using var rb = new ResidualBlock(new ParamInit(2, DType.F64), 2, residualScale: 0.5);
        var r = GradCheck.Run(v => rb.Forward(v[0]), [Tensor.FromArray(TestData.Doubles(rng, 1 * 2 * 4 * 5), [1, 2, 4, 5])], new GradCheckOptions { Kinks = [0.0] });
        Assert.True(r.Ok, r.Message);
        using var rdb = new ResidualDenseBlock(new ParamInit(3, DType.F64), nf: 3, gc: 2, InitSpec.Kaiming(0.2));
        r = GradCheck.Run(v => rdb.Forward(v[0]), [Tensor.FromArray(TestData.Doubles(rng, 1 * 3 * 4 * 4), [1, 3, 4, 4])], new GradCheckOptions { Kinks = [0.0] });
        Assert.True(r.Ok, r.Message);
        Assert.True(r.Checked > 0);
    }

    [Fact]
    public void Weight_ema_follows_the_average_and_copies_to_a_module()
    {
        using var m = new Tiny(new ParamInit(1));
        using var ema = new WeightEma(m, 0.5);
        var w0 = m.A.Weight.Data.ToDoubleArray();
        m.A.Weight.Data.Fill(1.0);
        ema.Update();
        var s = ema.StateDict()["a.weight"].ToDoubleArray();
        for (int i = 0; i < s.Length; i++) Assert.True(Math.Abs(0.5 * w0[i] + 0.5 - s[i]) < 1e-6, $"[{i}] {s[i]} vs {0.5 * w0[i] + 0.5}");
        using var copy = new Tiny(new ParamInit(9));
        ema.CopyTo(copy);
        Assert.Equal(s, copy.A.Weight.Data.ToDoubleArray());
        Assert.Throws<InvalidArgumentException>(() => new WeightEma(m, 1.0));
    }

    [Fact]
    public void Bad_layer_arguments_are_typed_errors()
    {
        var init = new ParamInit(1);
        var e = Assert.Throws<InvalidArgumentException>(() => new Conv2d(init, 3, 4, 3, groups: 2));
        Assert.Contains("Conv2d", e.Message);
        Assert.Throws<InvalidArgumentException>(() => new Linear(init, 0, 2));
        Assert.Throws<InvalidArgumentException>(() => new PixelShuffleUp(init, 3, 1));
    }
}
