// Typed errors of the VQ ops: the exception type, a message naming the op and every offending shape,
// dtype and device, and no CPU allocation before the throw (CpuMemory counters unchanged).
using Engine.Autograd;
using Engine.Tests.TensorCore;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Vq;

[Collection("CpuMemory")] // asserts on process-wide CpuMemory counters: runs alone
public class VqErrorTests
{
    private static TEx Fails<TEx>(Func<object?> op, params string[] mustName) where TEx : EngineException => ErrorAssert.Fails<TEx>(op, mustName);

    [Fact]
    public void NearestValidatesRowsAndCodebook()
    {
        using var x = Tensor.Ones([10, 4]);
        using var e = Tensor.Ones([6, 4]);
        using var x3 = Tensor.Ones([2, 5, 4]);
        using var e64 = Tensor.Ones([6, 4], DType.F64);
        using var e5 = Tensor.Ones([6, 5]);
        using var e0 = Tensor.Ones([0, 4]);
        using var xi = Tensor.Zeros([10, 4], DType.I32);
        using var eFake = FakeDevice.Make([6, 4], Device.Cuda(5));
        Fails<RankException>(() => Ops.VqNearest(x3, e), "VqNearest", "[2, 5, 4]");
        Fails<DTypeMismatchException>(() => Ops.VqNearest(x, e64), "VqNearest", "[10, 4] f32", "[6, 4] f64");
        Fails<ShapeMismatchException>(() => Ops.VqNearest(x, e5), "VqNearest", "[10, 4]", "[6, 5]");
        Fails<InvalidArgumentException>(() => Ops.VqNearest(x, e0), "VqNearest", "[0, 4]");
        Fails<DTypeMismatchException>(() => Ops.VqNearest(xi, e), "VqNearest", "i32");
        Fails<DeviceMismatchException>(() => Ops.VqNearest(x, eFake), "VqNearest", "cpu", "cuda:5");
    }

    [Fact]
    public void GatherSegmentSumAndCountsValidateIndices()
    {
        using var e = Tensor.Ones([6, 4]);
        using var rows = Tensor.Ones([10, 4]);
        using var idxF = Tensor.Zeros([10]);
        using var idx2 = Tensor.Zeros([2, 5], DType.I32);
        using var idx9 = Tensor.Zeros([9], DType.I32);
        using var idx10 = Tensor.Zeros([10], DType.I32);
        using var idxFake = FakeDevice.Make([10], Device.Cuda(5), DType.I32);
        Fails<DTypeMismatchException>(() => Ops.VqGather(e, idxF), "VqGather", "[10] f32");
        Fails<RankException>(() => Ops.VqGather(e, idx2), "VqGather", "[2, 5]");
        Fails<DeviceMismatchException>(() => Ops.VqGather(e, idxFake), "VqGather", "cuda:5");
        Fails<ShapeMismatchException>(() => Ops.VqSegmentSum(rows, idx9, 6), "VqSegmentSum", "[9]", "[10, 4]");
        Fails<InvalidArgumentException>(() => Ops.VqSegmentSum(rows, idx10, -1), "VqSegmentSum", "-1");
        Fails<RankException>(() => Ops.VqCounts(idx2, 6), "VqCounts", "[2, 5]");
        Fails<DTypeMismatchException>(() => Ops.VqPerplexity(idxF), "VqPerplexity", "[10] f32");
    }

    [Fact]
    public void LossesValidateTheirPair()
    {
        using var x = Tensor.Ones([10, 4]);
        using var q = Tensor.Ones([10, 5]);
        using var q64 = Tensor.Ones([10, 4], DType.F64);
        using var gy2 = Tensor.Ones([2]);
        Fails<ShapeMismatchException>(() => Ops.VqSquaredError(x, q, 1), "VqSquaredError", "[10, 4]", "[10, 5]");
        Fails<DTypeMismatchException>(() => Ops.VqSquaredError(x, q64, 1), "VqSquaredError", "f64");
        Fails<ShapeMismatchException>(() => Ops.VqSquaredErrorBackward(x, x, gy2, 1, 1), "VqSquaredErrorBackward", "[2]");
        Fails<ShapeMismatchException>(() => F.StraightThrough(new Var(x), new Var(q)), "StraightThrough", "[10, 4]", "[10, 5]");
        Fails<InvalidArgumentException>(() => F.VqLoss(new Var(x), new Var(x), double.NaN), "VqLoss");
    }

    [Fact]
    public void EmaUpdateValidatesItsState()
    {
        using var x = Tensor.Ones([10, 4]);
        using var idx = Tensor.Zeros([10], DType.I32);
        using var e = Tensor.Ones([6, 4]);
        using var eT = Tensor.Ones([4, 6]);
        using var eView = eT.T();
        using var n = Tensor.Ones([6]);
        using var n5 = Tensor.Ones([5]);
        using var m = Tensor.Ones([6, 4]);
        using var m64 = Tensor.Ones([6, 4], DType.F64);
        var p = new VqEmaParams(0.99, 1e-5, 0, 1, 0);
        Fails<InvalidArgumentException>(() => Ops.VqEmaUpdate(x, idx, eView, n, m, p), "VqEmaUpdate", "codebook", "contiguous");
        Fails<ShapeMismatchException>(() => Ops.VqEmaUpdate(x, idx, e, n5, m, p), "VqEmaUpdate", "[5]", "[6, 4]");
        Fails<DTypeMismatchException>(() => Ops.VqEmaUpdate(x, idx, e, n, m64, p), "VqEmaUpdate", "f64");
        Fails<InvalidArgumentException>(() => Ops.VqEmaUpdate(x, idx, e, n, m, p with { Decay = 1.5 }), "VqEmaUpdate", "1.5");
        Fails<InvalidArgumentException>(() => Ops.VqEmaUpdate(x, idx, e, n, m, p with { DeadThreshold = -1 }), "VqEmaUpdate", "-1");
    }
}
