// DeFlow network architecture (src/Models/DeFlow, spec sections 3, 4, 8):
//   - parameter counts of the Aim and Ntire presets, the reference's way (62,935,305 / 39,741,641),
//     the model's own and the changeable count, plus reference names and shapes of a few tensors;
//   - per-level channels, conditional widths and which RRDB tap feeds each level;
//   - decode(encode(x)) == x on the Tiny preset with random parameters (f32 and f64), logdets cancel;
//   - the encode logdet equals log|det J| of the whole flow by central differences (f64, 1x3x8x8, K 1);
//   - latent shapes (split 6 ch at H/2, final 96 ch at H/8) and determinism for a seed.
using Engine.Autograd;
using Engine.Models.DeFlow;
using Engine.Models.Nn;
using Engine.Tests.Flow;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.DeFlow;

public class DeFlowModelTests
{
    private static void Randomize(Module m, System.Random rng, double range = 0.05)
    {
        foreach (var (_, p) in m.NamedParameters())
        {
            using var r = FlowLayerCases.Rand(rng, p.Data.Shape, -range, range, p.DType, p.Device);
            p.Data.CopyFrom(r);
        }
    }

    private static Var Rand(System.Random rng, int[] shape, DType dt, double lo = 0, double hi = 1)
        => new(FlowLayerCases.Rand(rng, shape, lo, hi, dt, Device.Cpu));

    [Theory]
    [InlineData("aim", 62_935_305L, 62_392_666L)]
    [InlineData("ntire", 39_741_641L, 39_199_002L)]
    public void ParameterCountsMatchTheReference(string preset, long official, long changeable)
    {
        var cfg = preset == "aim" ? DeFlowConfig.Aim : DeFlowConfig.Ntire;
        using var scope = TensorScope.Begin();
        using var net = new DeFlowNet(new ParamInit(1), cfg);
        Assert.Equal(official, net.OfficialParameterCount());
        Assert.Equal(official - 276_576 - 9_252, net.ParameterCount()); // dead conv f and the identity matrices are not built
        Assert.Equal(changeable, net.ChangeableParameterCount());
        // spec 8 per component: RRDB 16,734,915 (x8) / 16,697,987 (x4); a C = 12 flow step at h 128 has 819,852
        Assert.Equal(preset == "aim" ? 16_734_915L : 16_697_987L, net.Rrdb.ParameterCount());
        var names = net.NamedParameters().ToDictionary(p => p.Name, p => p.Param.Data.Shape);
        int h = cfg.Hidden;
        Assert.Equal([h, 6 + 320, 3, 3], names["flowUpsamplerNet.layers.3.affine.fAffine.0.weight"]);
        Assert.Equal([24, h, 3, 3], names["flowUpsamplerNet.layers.3.affine.fFeatures.4.weight"]);
        Assert.Equal([12, 12], names["flowUpsamplerNet.layers.1.invconv.l"]);
        Assert.Equal([12, 6, 3, 3], names["flowUpsamplerNet.layers.19.conv.weight"]);
        Assert.Equal([6, 6], names["flowUpsamplerNet.layers.19.cov_shift"]);
        Assert.Equal([96, 96], names["flowUpsamplerNet.layers.57.invconv.u"]);
        Assert.DoesNotContain(names.Keys, n => n.StartsWith("flowUpsamplerNet.layers.58.", StringComparison.Ordinal));
        Assert.Equal([64, 192, 3, 3], names["RRDB.RRDB_trunk.22.rdb3.conv5.weight"]);
        Assert.Equal(preset == "aim", names.ContainsKey("RRDB.upconv3.weight"));
        Assert.Equal([96, 96], names["cov_shift"]);
        if (preset == "aim")
        {
            long step = net.NamedParameters().Where(p => p.Name.StartsWith("flowUpsamplerNet.layers.3.", StringComparison.Ordinal)).Sum(p => p.Param.Numel);
            Assert.Equal(819_852L, step);
        }
    }

    [Fact]
    public void LevelsAndTapsFollowTheReference()
    {
        var aim = DeFlowConfig.Aim; var ntire = DeFlowConfig.Ntire;
        Assert.Equal([12, 24, 96], new[] { 1, 2, 3 }.Select(aim.LevelChannels));
        Assert.Equal([true, false, false], new[] { 1, 2, 3 }.Select(aim.SplitAfter));
        Assert.Equal(320, aim.CondChannels);
        Assert.Equal(96, aim.FinalChannels);
        Assert.Equal([2, 1, 0], new[] { 1, 2, 3 }.Select(aim.TapLog2));    // fea_up4, fea_up2, fea_up1
        Assert.Equal([1, 0, -1], new[] { 1, 2, 3 }.Select(ntire.TapLog2)); // fea_up2, fea_up1, fea_up0
        Assert.Equal(3, aim.UpConvs);
        Assert.Equal(2, ntire.UpConvs);
        Assert.Throws<InvalidArgumentException>(() => new DeFlowConfig(Scale: 3).Validate());
        Assert.Throws<InvalidArgumentException>(() => new DeFlowConfig(TapBlocks: [1, 23]).Validate());
    }

    [Fact]
    public void ConditionalsAndLatentsHaveTheReferenceShapes()
    {
        using var scope = TensorScope.Begin();
        using var ng = GradMode.NoGrad();
        var rng = TestData.Rng();
        using var net = new DeFlowNet(new ParamInit(3), DeFlowConfig.Tiny);
        var x = Rand(rng, [2, 3, 16, 16], DType.F32);
        var lq = Rand(rng, [2, 3, 4, 4], DType.F32);
        var cond = net.Condition(lq);
        int cc = DeFlowConfig.Tiny.CondChannels;
        Assert.Equal(24, cc);
        Assert.Equal([2, cc, 8, 8], cond[0].Shape);
        Assert.Equal([2, cc, 4, 4], cond[1].Shape);
        Assert.Equal([2, cc, 2, 2], cond[2].Shape);
        var (z, ld) = net.Encode(x, lq);
        Assert.Equal(2, z.Count);
        Assert.Equal([2, 6, 8, 8], z[0].Shape);
        Assert.Equal([2, 96, 2, 2], z[1].Shape);
        Assert.Equal([2], ld.Shape);
        Assert.Throws<ShapeMismatchException>(() => net.Encode(x, Rand(rng, [2, 3, 8, 8], DType.F32)));
        Assert.Throws<ShapeMismatchException>(() => net.Encode(Rand(rng, [2, 3, 12, 12], DType.F32), Rand(rng, [2, 3, 3, 3], DType.F32)));
        Assert.Throws<InvalidArgumentException>(() => net.Decode([z[1]], lq));
    }

    [Theory]
    [InlineData("f64", 1e-9)]
    [InlineData("f32", 1e-4)]
    public void DecodeOfEncodeIsIdentityAndLogdetsCancel(string dtype, double tol)
    {
        var dt = dtype == "f64" ? DType.F64 : DType.F32;
        using var scope = TensorScope.Begin();
        using var ng = GradMode.NoGrad();
        var rng = TestData.Rng();
        // the split's 1e-6 in its division (reference behaviour, the default) makes the pair inexact; 0 here
        using var net = new DeFlowNet(new ParamInit(5, dt), DeFlowConfig.Tiny with { SplitDivisionEps = 0 });
        Randomize(net, rng);
        var x = Rand(rng, [2, 3, 16, 16], dt);
        var lq = Rand(rng, [2, 3, 4, 4], dt);
        var (z, ld) = net.Encode(x, lq);
        var (x2, ld2) = net.Decode(z, lq);
        var a = x.Data.ToDoubleArray(); var b = x2.Data.ToDoubleArray();
        double maxErr = a.Zip(b, (p, q) => Math.Abs(p - q)).Max();
        Assert.True(maxErr <= tol, $"[{dtype}] max |decode(encode(x)) - x| = {maxErr:E2} > {tol:E0}");
        var la = ld.Data.ToDoubleArray(); var lb = ld2.Data.ToDoubleArray();
        for (int n = 0; n < 2; n++)
        {
            Assert.True(Math.Abs(la[n]) > 1, $"encode logdet {la[n]} is suspiciously small for a randomized flow");
            Assert.True(Math.Abs(la[n] + lb[n]) <= tol * 100 * Math.Max(1, Math.Abs(la[n])), $"[{dtype}] logdets {la[n]:R} and {lb[n]:R} do not cancel");
        }
        // the latents really moved away from the input (not an identity flow)
        Assert.True(z[1].Data.ToDoubleArray().Select(Math.Abs).Max() > 0.1);
    }

    [Fact]
    public void ReferenceSplitEpsMakesTheRoundTripInexactButClose()
    {
        using var scope = TensorScope.Begin();
        using var ng = GradMode.NoGrad();
        var rng = TestData.Rng();
        using var net = new DeFlowNet(new ParamInit(5, DType.F64), DeFlowConfig.Tiny);
        Assert.Equal(1e-6, net.Config.SplitDivisionEps);
        Randomize(net, rng);
        var x = Rand(rng, [1, 3, 16, 16], DType.F64);
        var lq = Rand(rng, [1, 3, 4, 4], DType.F64);
        var x2 = net.Decode(net.Encode(x, lq).Z, lq).X;
        double maxErr = x.Data.ToDoubleArray().Zip(x2.Data.ToDoubleArray(), (p, q) => Math.Abs(p - q)).Max();
        Assert.InRange(maxErr, 1e-12, 1e-4); // (z2 - mean) / (exp(logs) + 1e-6) then * exp(logs): off by ~1e-6 relative
    }

    [Fact]
    public void EncodeLogdetEqualsLogAbsDetOfNumericJacobian()
    {
        using var scope = TensorScope.Begin();
        using var ng = GradMode.NoGrad();
        var rng = TestData.Rng();
        var cfg = DeFlowConfig.Tiny with { K = 1, Hidden = 4, SplitDivisionEps = 0 };
        using var net = new DeFlowNet(new ParamInit(7, DType.F64), cfg);
        Randomize(net, rng);
        int[] shape = [1, 3, 8, 8];
        var x0 = Rand(rng, shape, DType.F64).Data.ToDoubleArray();
        var cond = net.Condition(Rand(rng, [1, 3, 2, 2], DType.F64));
        int d = x0.Length;
        double[] Map(double[] xv)
        {
            using var s = TensorScope.Begin();
            var (z, _) = net.Flow.Encode(new Var(Tensor.FromArray(xv, shape)), cond);
            return [.. z.SelectMany(t => t.Data.ToDoubleArray())];
        }
        Assert.Equal(d, Map(x0).Length);
        const double h = 1e-5;
        var jac = new double[d * d];
        for (int j = 0; j < d; j++)
        {
            var xp = (double[])x0.Clone(); xp[j] += h;
            var xm = (double[])x0.Clone(); xm[j] -= h;
            var yp = Map(xp); var ym = Map(xm);
            for (int i = 0; i < d; i++) jac[i * d + j] = (yp[i] - ym[i]) / (2 * h);
        }
        double numeric = FlowLayerTests.LogAbsDet(jac, d);
        double analytic = net.Flow.Encode(new Var(Tensor.FromArray(x0, shape)), cond).LogDet.Data.ToDoubleArray()[0];
        Assert.True(Math.Abs(numeric - analytic) <= 1e-6 * Math.Max(1, Math.Abs(numeric)), $"logdet {analytic:R} vs log|det J| by finite differences {numeric:R} (diff {Math.Abs(numeric - analytic):E2})");
        Assert.True(Math.Abs(numeric) > 1, $"log|det J| = {numeric} is suspiciously small");
    }

    [Fact]
    public void NearestDownsizeTakesEvenPixelsAsTheReference()
    {
        // spec 3.10: the block stack resized 40 -> 20 by nearest takes pixel (2i, 2j)
        using var scope = TensorScope.Begin();
        var t = new Var(Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (double)i).ToArray(), [1, 1, 4, 4]));
        Assert.Equal([0.0, 2, 8, 10], F.UpsampleNearest(t, 2, 2).Data.ToDoubleArray());
    }

    [Fact]
    public void DataInitializeSetsEveryActNormOnce()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        using var net = new DeFlowNet(new ParamInit(9), DeFlowConfig.Tiny);
        var x = Rand(rng, [2, 3, 16, 16], DType.F32);
        var cond = net.Condition(Rand(rng, [2, 3, 4, 4], DType.F32));
        var flags = net.NamedBuffers().Where(b => b.Name.EndsWith(".initialized", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(flags);
        Assert.All(flags, f => Assert.Equal(0.0, f.Buffer.Item()));
        Assert.True(net.Flow.DataInitialize(x, cond));
        Assert.All(flags, f => Assert.Equal(1.0, f.Buffer.Item()));
        Assert.False(net.Flow.DataInitialize(x, cond));
        // the first transition ActNorm now normalizes the squeezed batch per channel
        using var ng = GradMode.NoGrad();
        var y = net.Flow.Levels[0].Transitions[0].Layers[0].Forward(F.PixelUnshuffle(x, 2)).y.Data.ToDoubleArray();
        int hw = 8 * 8;
        for (int c = 0; c < 12; c++)
        {
            var v = Enumerable.Range(0, 2).SelectMany(n => y.Skip((n * 12 + c) * hw).Take(hw)).ToArray();
            Assert.Equal(0, v.Average(), 4);
            Assert.Equal(1, Math.Sqrt(v.Average(e => e * e)), 3);
        }
    }

    [Fact]
    public void SameSeedGivesSameModelAndLatents()
    {
        using var scope = TensorScope.Begin();
        using var ng = GradMode.NoGrad();
        var rng = TestData.Rng();
        using var a = new DeFlowNet(new ParamInit(11), DeFlowConfig.Tiny);
        using var b = new DeFlowNet(new ParamInit(11), DeFlowConfig.Tiny);
        using var c = new DeFlowNet(new ParamInit(12), DeFlowConfig.Tiny);
        var sa = a.StateDict(); var sb = b.StateDict(); var sc = c.StateDict();
        Assert.Equal(sa.Keys, sb.Keys);
        bool anyDiff = false;
        foreach (var (k, t) in sa)
        {
            Assert.Equal(t.ToDoubleArray(), sb[k].ToDoubleArray());
            anyDiff |= !t.ToDoubleArray().SequenceEqual(sc[k].ToDoubleArray());
        }
        Assert.True(anyDiff, "seeds 11 and 12 built identical models");
        var x = Rand(rng, [1, 3, 16, 16], DType.F32);
        var lq = Rand(rng, [1, 3, 4, 4], DType.F32);
        var za = a.Encode(x, lq).Z; var zb = b.Encode(x, lq).Z;
        for (int i = 0; i < za.Count; i++) Assert.Equal(za[i].Data.ToDoubleArray(), zb[i].Data.ToDoubleArray());
    }
}
