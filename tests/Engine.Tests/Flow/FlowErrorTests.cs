// Typed errors of the flow ops and layers: the documented exception type, a message naming the op
// and every offending shape / dtype / device, and nothing allocated before the throw (CpuMemory's
// live and peak bytes unchanged across the call).
using Engine.Autograd;
using Engine.Models.Flow;
using Engine.Tests.TensorCore;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Flow;

[Collection("CpuMemory")] // asserts on process-wide CpuMemory counters: runs alone
public class FlowErrorTests
{
    private static void Fails<TEx>(Func<object?> op, params string[] mustName) where TEx : EngineException => ErrorAssert.Fails<TEx>(op, mustName);

    private static Tensor T(params int[] shape) => Tensor.Ones(shape);
    private static Tensor T64(params int[] shape) => Tensor.Ones(shape, DType.F64);

    [Fact]
    public void ActNormOps()
    {
        using var x = T(2, 4, 3, 3); using var b = T(4); using var l = T(1, 4, 1, 1);
        using var b5 = T(5); using var b64 = T64(4); using var x3 = T(2, 4, 3); using var xi = Tensor.FromArray(new int[72], [2, 4, 3, 3]);
        using var bWrong = T(4, 1, 1, 1);
        using var fake = FakeDevice.Make([4], Device.Cuda(7));
        Fails<ShapeMismatchException>(() => Ops.ActNorm(x, b5, l), "ActNorm", "bias [5]", "(4)", "[2, 4, 3, 3]");
        Fails<ShapeMismatchException>(() => Ops.ActNormInverse(x, b, bWrong), "ActNormInverse", "logs [4, 1, 1, 1]", "(1, 4, 1, 1)");
        Fails<DTypeMismatchException>(() => Ops.ActNorm(x, b64, l), "ActNorm", "bias [4] f64", "[2, 4, 3, 3] f32");
        Fails<DTypeMismatchException>(() => Ops.ActNorm(xi, b, l), "ActNorm", "i32");
        Fails<RankException>(() => Ops.ActNorm(x3, b, l), "ActNorm", "[2, 4, 3]");
        Fails<DeviceMismatchException>(() => Ops.ActNorm(x, fake, l), "ActNorm", "cpu", "cuda:7");
        using var gy = T(2, 4, 3, 2);
        Fails<ShapeMismatchException>(() => Ops.ActNormBackward(x, gy, b, l, inverse: false), "ActNormBackward", "gradient [2, 4, 3, 2]", "[2, 4, 3, 3]");
    }

    [Fact]
    public void EpilogueOps()
    {
        using var x = T(2, 3, 4, 5); using var h = T(2, 6, 4, 5); using var h5 = T(2, 5, 4, 5); using var h64 = T64(2, 6, 4, 5);
        using var fake = FakeDevice.Make([2, 6, 4, 5], Device.Cuda(7));
        Fails<ShapeMismatchException>(() => Ops.AffineEpilogue(x, h5, 0.001), "AffineEpilogue", "[2, 5, 4, 5]", "[2, 6, 4, 5]", "[2, 3, 4, 5]");
        Fails<DTypeMismatchException>(() => Ops.AffineEpilogueInverse(x, h64, 0.001), "AffineEpilogueInverse", "f64", "f32");
        Fails<DeviceMismatchException>(() => Ops.AffineEpilogue(x, fake, 0.001), "AffineEpilogue", "cpu", "cuda:7");
        Fails<InvalidArgumentException>(() => Ops.AffineEpilogue(x, h, -1), "AffineEpilogue", "eps", "-1");
        Fails<InvalidArgumentException>(() => Ops.AffineEpilogue(x, h, double.NaN), "AffineEpilogue", "eps", "NaN");
        Fails<InvalidArgumentException>(() => Ops.AffineEpilogueBackward(x, h, null, null, 0.001, false), "AffineEpilogueBackward", "neither");
        using var gl = T(3); using var gy = T(2, 3, 4, 4);
        Fails<ShapeMismatchException>(() => Ops.AffineEpilogueBackward(x, h, null, gl, 0.001, true), "AffineEpilogueInverseBackward", "logdet gradient [3]", "(2)");
        Fails<ShapeMismatchException>(() => Ops.AffineEpilogueBackward(x, h, gy, null, 0.001, false), "AffineEpilogueBackward", "[2, 3, 4, 4]", "[2, 3, 4, 5]");
    }

    [Fact]
    public void LuInverseOp()
    {
        using var p = T(3, 3); using var l = T(3, 3); using var u = T(3, 4); using var p64 = T64(3, 3);
        Fails<ShapeMismatchException>(() => Ops.LuInverse(p, l, u), "LuInverse", "upper factor [3, 4]", "[3, 3]");
        Fails<DTypeMismatchException>(() => Ops.LuInverse(p64, l, l), "LuInverse", "lower factor [3, 3] f32", "f64");
        using var sing = Tensor.FromArray(new float[] { 1, 2, 3, 0, 0, 1, 0, 0, 2 }, [3, 3]);
        Fails<InvalidArgumentException>(() => Ops.LuInverse(p, l, sing), "LuInverse", "singular", "(1, 1)");
    }

    [Fact]
    public void Layers()
    {
        using var scope = TensorScope.Begin();
        var x = new Var(T(2, 4, 3, 3));
        var cond = new Var(T(2, 3, 3, 3));
        var coupling = new AffineCoupling(4, 3, 2);
        var an = new ActNorm(5);
        var an4 = new ActNorm(4); var an64 = new ActNorm(4, DType.F64); var inv3 = new InvConv1x1LU(3);
        Fails<ShapeMismatchException>(() => an.Forward(x), "ActNorm", "[2, 4, 3, 3]", "(N, 5, H, W)");
        Fails<InvalidArgumentException>(() => an4.Forward(x, cond), "ActNorm", "no conditioning");
        Fails<DTypeMismatchException>(() => an64.Initialize(x), "ActNorm.Initialize", "f32", "f64");
        Fails<InvalidArgumentException>(() => coupling.Forward(x), "AffineCoupling", "needs a conditioning", "(N, 3, H, W)");
        var cond2 = new Var(T(2, 3, 3, 2));
        Fails<ShapeMismatchException>(() => coupling.Inverse(x, cond2), "AffineCoupling", "[2, 3, 3, 2]", "(2, 3, 3, 3)");
        Fails<ShapeMismatchException>(() => inv3.Forward(x), "InvConv1x1LU", "[2, 4, 3, 3]", "(N, 3, H, W)");
        var split = new Split(4);
        var kept = new Var(T(2, 2, 3, 3)); var eps = new Var(T(2, 3, 3, 3));
        Fails<ShapeMismatchException>(() => split.Decode(kept, eps), "Split", "latent [2, 3, 3, 3]", "(2, 2, 3, 3)");
        Fails<InvalidArgumentException>(() => new Split(1), "Split", "1 channels");
        Fails<InvalidArgumentException>(() => new AffineCoupling(1, 0, 2), "AffineCoupling", "at least 2");
        Fails<InvalidArgumentException>(() => new AffineInjector(4, 0, 2), "AffineInjector", "conditioning");
        Fails<InvalidArgumentException>(() => new ActNorm(0), "ActNorm", "positive");
    }
}
