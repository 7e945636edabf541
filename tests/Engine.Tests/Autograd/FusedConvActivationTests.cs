// Conv2d with a fused activation: forward equals the composed ops (conv then relu / leaky relu),
// the gradient passes a float64 check, and bad slopes are refused with a typed error.
using Engine.Autograd;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Autograd;

public class FusedConvActivationTests
{
    public static TheoryData<string> Acts() => new() { "relu", "leaky0.1", "leaky0" };

    private static Activation Parse(string a) => a switch
    {
        "relu" => Activation.Relu,
        "leaky0.1" => Activation.LeakyRelu(0.1),
        _ => Activation.LeakyRelu(0),
    };

    [Theory]
    [MemberData(nameof(Acts))]
    public void ForwardEqualsComposedOps(string a)
    {
        var act = Parse(a);
        var rng = TestData.Rng(salt: a.Length);
        using var scope = TensorScope.Begin();
        // 40 columns: the direct AVX-512 path; 6 columns: the packed implicit GEMM.
        foreach (int width in new[] { 40, 6 })
            foreach (var dt in new[] { DType.F32, DType.F64 })
            {
                var x = Tensor.FromArray(TestData.Doubles(rng, 2 * 3 * 5 * width), [2, 3, 5, width]).To(dt);
                var w = Tensor.FromArray(TestData.Doubles(rng, 4 * 3 * 9), [4, 3, 3, 3]).To(dt);
                var b = Tensor.FromArray(TestData.Doubles(rng, 4), [4]).To(dt);
                var p = new Conv2dParams(1, 1, 1, 1, 1, 1, 1);
                var fused = Ops.Conv2d(x, w, b, p, act).To(DType.F64).ToArray<double>();
                var plain = Ops.Conv2d(x, w, b, p);
                var composed = (act.Kind == ActivationKind.Relu ? Ops.Relu(plain) : Ops.LeakyRelu(plain, act.Slope)).To(DType.F64).ToArray<double>();
                for (int i = 0; i < fused.Length; i++)
                    Assert.True(Math.Abs(fused[i] - composed[i]) <= (dt == DType.F32 ? 1e-6 : 1e-14), $"{a} {dt} width {width} element {i}: {fused[i]} vs {composed[i]}");
            }
    }

    [Theory]
    [MemberData(nameof(Acts))]
    public void GradientChecks(string a)
    {
        var act = Parse(a);
        var rng = TestData.Rng(salt: a.Length);
        var x = Tensor.FromArray(TestData.Doubles(rng, 1 * 2 * 4 * 18), [1, 2, 4, 18]);
        var w = Tensor.FromArray(TestData.Doubles(rng, 3 * 2 * 9), [3, 2, 3, 3]);
        var b = Tensor.FromArray(TestData.Doubles(rng, 3), [3]);
        var p = new Conv2dParams(1, 1, 1, 1, 1, 1, 1);
        var r = GradCheck.Run(v => F.Conv2d(v[0], v[1], v[2], p, act), [x, w, b]);
        Assert.True(r.Ok, r.Message);
        Assert.True(r.Checked > 0);
    }

    [Fact]
    public void NegativeOrNonFiniteSlopeIsRefused()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.Zeros([1, 1, 3, 3]);
        var w = Tensor.Zeros([1, 1, 3, 3]);
        var p = new Conv2dParams(1, 1, 1, 1, 1, 1, 1);
        var e = Assert.Throws<InvalidArgumentException>(() => Ops.Conv2d(x, w, null, p, Activation.LeakyRelu(-0.5)));
        Assert.Contains("Conv2d", e.Message);
        Assert.Throws<InvalidArgumentException>(() => Ops.Conv2d(x, w, null, p, Activation.LeakyRelu(double.NaN)));
    }
}
