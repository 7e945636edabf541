// Reductions over any set of axes with keepdim: sum, mean, max, min, var, logsumexp; argmax and
// argmin over one axis (i32 result). The backend always produces the keepdim shape.
namespace Engine;

public static partial class Ops
{
    public static Tensor Reduce(ReduceOp op, Tensor x, int[]? axes, bool keepDim, int correction = 1)
    {
        string name = op.ToString();
        CheckFloat(name, x);
        var ax = NormAxes(name, axes, x.Rank);
        foreach (int a in ax)
            if (x.Layout.Shape[a] == 0 && op is ReduceOp.Max or ReduceOp.Min or ReduceOp.ArgMax or ReduceOp.ArgMin)
                throw new InvalidArgumentException(name, $"cannot reduce empty axis {a} of {Fmt.Of(x)}");
        var kshape = x.Shape;
        foreach (int a in ax) kshape[a] = 1;
        var dt = op is ReduceOp.ArgMax or ReduceOp.ArgMin ? DType.I32 : x.DType;
        var y = Tensor.Empty(kshape, dt, x.Device);
        x.Backend.Reduce(op, x.Buf, ax, y.Buf, correction);
        if (keepDim) return y;
        var shape = x.Layout.Shape.Where((_, i) => !ax.Contains(i)).ToArray();
        using (y) return y.Reshape(shape);
    }

    public static Tensor Sum(Tensor x, int[]? axes = null, bool keepDim = false) => Reduce(ReduceOp.Sum, x, axes, keepDim);
    public static Tensor Mean(Tensor x, int[]? axes = null, bool keepDim = false) => Reduce(ReduceOp.Mean, x, axes, keepDim);
    public static Tensor Max(Tensor x, int[]? axes = null, bool keepDim = false) => Reduce(ReduceOp.Max, x, axes, keepDim);
    public static Tensor Min(Tensor x, int[]? axes = null, bool keepDim = false) => Reduce(ReduceOp.Min, x, axes, keepDim);
    public static Tensor LogSumExp(Tensor x, int[]? axes = null, bool keepDim = false) => Reduce(ReduceOp.LogSumExp, x, axes, keepDim);

    /// <summary>Variance with Bessel-style correction (1 = unbiased, 0 = population).</summary>
    public static Tensor Var(Tensor x, int[]? axes = null, bool keepDim = false, int correction = 1) => Reduce(ReduceOp.Var, x, axes, keepDim, correction);

    /// <summary>Index of the maximum along dim (first on ties); dim null = over the flattened tensor
    /// (then keepDim gives every dim size 1, as torch.argmax does).</summary>
    public static Tensor ArgMax(Tensor x, int? dim = null, bool keepDim = false) => ArgReduce(ReduceOp.ArgMax, x, dim, keepDim);
    public static Tensor ArgMin(Tensor x, int? dim = null, bool keepDim = false) => ArgReduce(ReduceOp.ArgMin, x, dim, keepDim);

    private static Tensor ArgReduce(ReduceOp op, Tensor x, int? dim, bool keepDim)
    {
        if (dim is int d) return Reduce(op, x, [d], keepDim);
        CheckFloat(op.ToString(), x); // before the flattening copy of a strided x
        using var flat = x.Reshape(-1);
        var y = Reduce(op, flat, [0], false);
        if (!keepDim) return y;
        using (y) return y.Reshape(Enumerable.Repeat(1, x.Rank).ToArray());
    }
}
