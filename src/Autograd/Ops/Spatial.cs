// Pooling, upsampling, padding and indexing with backward rules.
namespace Engine.Autograd;

public static partial class F
{
    public static Var MaxPool2d(Var x, Pool2dParams p)
    {
        var shape = x.Data.Shape;
        var (y, idx) = Ops.MaxPool2dWithIndices(x.Data, p);
        return Record("MaxPool2d", y, [x], gy => [Ops.MaxPool2dBackward(gy, idx, shape)], idx);
    }

    public static Var MaxPool2d(Var x, int kernel, int stride = -1, int padding = 0)
        => MaxPool2d(x, new Pool2dParams(kernel, kernel, stride < 0 ? kernel : stride, stride < 0 ? kernel : stride, padding, padding));

    public static Var AvgPool2d(Var x, Pool2dParams p)
    {
        var shape = x.Data.Shape;
        return Record("AvgPool2d", Ops.AvgPool2d(x.Data, p), [x], gy => [Ops.AvgPool2dBackward(gy, shape, p)]);
    }

    public static Var AvgPool2d(Var x, int kernel, int stride = -1, int padding = 0)
        => AvgPool2d(x, new Pool2dParams(kernel, kernel, stride < 0 ? kernel : stride, stride < 0 ? kernel : stride, padding, padding));

    public static Var UpsampleNearest(Var x, int oh, int ow)
    {
        var shape = x.Data.Shape;
        return Record("UpsampleNearest", Ops.UpsampleNearest(x.Data, oh, ow), [x], gy => [Ops.UpsampleNearestBackward(gy, shape)]);
    }

    public static Var UpsampleBilinear(Var x, int oh, int ow, bool alignCorners = false)
    {
        var shape = x.Data.Shape;
        return Record("UpsampleBilinear", Ops.UpsampleBilinear(x.Data, oh, ow, alignCorners), [x], gy => [Ops.UpsampleBilinearBackward(gy, shape, alignCorners)]);
    }

    public static Var Pad2d(Var x, int left, int right, int top, int bottom, PadMode mode = PadMode.Zero, double value = 0)
    {
        var shape = x.Data.Shape;
        return Record("Pad2d", Ops.Pad2d(x.Data, left, right, top, bottom, mode, value), [x],
            gy => [Ops.Pad2dBackward(gy, shape, left, right, top, bottom, mode)]);
    }

    public static Var Pad2d(Var x, int pad, PadMode mode = PadMode.Zero) => Pad2d(x, pad, pad, pad, pad, mode);

    // Index tensors are caller-owned data: each node keeps its own reference (an alias, released
    // with the node), so the caller may dispose the index before backward.
    public static Var Gather(Var x, int dim, Tensor index)
    {
        var xd = x.Data;
        var y = Ops.Gather(xd, dim, index);
        var idx = index.Alias();
        return Record("Gather", y, [x], gy =>
        {
            using var z = Tensor.ZerosLike(xd);
            return [Ops.ScatterAdd(z, dim, idx, gy)];
        }, idx);
    }

    public static Var ScatterAdd(Var x, int dim, Tensor index, Var src)
    {
        var y = Ops.ScatterAdd(x.Data, dim, index, src.Data);
        var idx = index.Alias();
        return Record("ScatterAdd", y, [x, src],
            gy => [x.RequiresGrad ? gy.Alias() : null, src.RequiresGrad ? Ops.Gather(gy, dim, idx) : null], idx);
    }

    public static Var IndexSelect(Var x, int dim, Tensor index)
    {
        var xd = x.Data;
        var y = Ops.IndexSelect(xd, dim, index);
        var idx = index.Alias();
        return Record("IndexSelect", y, [x], gy =>
        {
            using var z = Tensor.ZerosLike(xd);
            return [Ops.IndexAdd(z, dim, idx, gy)];
        }, idx);
    }

    public static Var IndexAdd(Var x, int dim, Tensor index, Var src)
    {
        var y = Ops.IndexAdd(x.Data, dim, index, src.Data);
        var idx = index.Alias();
        return Record("IndexAdd", y, [x, src],
            gy => [x.RequiresGrad ? gy.Alias() : null, src.RequiresGrad ? Ops.IndexSelect(gy, dim, idx) : null], idx);
    }
}
