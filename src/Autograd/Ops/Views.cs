// View ops with backward rules: gradients are reshaped, permuted back, scattered into zeros
// (narrow/slice/select) or summed over expanded dims.
namespace Engine.Autograd;

public static partial class F
{
    public static Var Reshape(Var x, params int[] shape)
    {
        var inShape = x.Data.Shape;
        return Record("Reshape", x.Data.Reshape(shape), [x], gy => [gy.Reshape(inShape)]);
    }

    public static Var Flatten(Var x, int startDim = 0, int endDim = -1)
    {
        var inShape = x.Data.Shape;
        return Record("Flatten", x.Data.Flatten(startDim, endDim), [x], gy => [gy.Reshape(inShape)]);
    }

    public static Var Permute(Var x, params int[] dims)
    {
        var y = x.Data.Permute(dims);
        var inv = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) inv[Tensor.NormDim("Permute", dims[i], dims.Length)] = i;
        return Record("Permute", y, [x], gy => [gy.Permute(inv)]);
    }

    public static Var Transpose(Var x, int d0, int d1) => Record("Transpose", x.Data.Transpose(d0, d1), [x], gy => [gy.Transpose(d0, d1)]);

    public static Var Contiguous(Var x) => Record("Contiguous", x.Data.Contiguous(), [x], gy => [gy.Alias()]);

    public static Var Narrow(Var x, int dim, int start, int length)
    {
        var xd = x.Data;
        return Record("Narrow", xd.Narrow(dim, start, length), [x], gy =>
        {
            var g = Tensor.Zeros(xd.Layout.Shape, gy.DType, gy.Device);
            using var dst = g.Narrow(dim, start, length);
            dst.CopyFrom(gy);
            return [g];
        });
    }

    public static Var Slice(Var x, int dim, int start, int end, int step = 1)
    {
        var xd = x.Data;
        return Record("Slice", xd.Slice(dim, start, end, step), [x], gy =>
        {
            var g = Tensor.Zeros(xd.Layout.Shape, gy.DType, gy.Device);
            using var dst = g.Slice(dim, start, end, step);
            dst.CopyFrom(gy);
            return [g];
        });
    }

    public static Var Select(Var x, int dim, int index)
    {
        var xd = x.Data;
        int d = Tensor.NormDim("Select", dim, xd.Rank);
        int i = index < 0 ? index + xd.Layout.Shape[d] : index;
        return Record("Select", xd.Select(dim, index), [x], gy =>
        {
            var g = Tensor.Zeros(xd.Layout.Shape, gy.DType, gy.Device);
            using var dst = g.Select(d, i);
            dst.CopyFrom(gy);
            return [g];
        });
    }

    public static Var Expand(Var x, params int[] shape)
    {
        var inShape = x.Data.Shape;
        return Record("Expand", x.Data.Expand(shape), [x], gy => [BackwardEngine.SumTo(gy, inShape)]);
    }

    public static Var Squeeze(Var x, int dim)
    {
        var inShape = x.Data.Shape;
        return Record("Squeeze", x.Data.Squeeze(dim), [x], gy => [gy.Reshape(inShape)]);
    }

    public static Var Unsqueeze(Var x, int dim)
    {
        var inShape = x.Data.Shape;
        return Record("Unsqueeze", x.Data.Unsqueeze(dim), [x], gy => [gy.Reshape(inShape)]);
    }
}
