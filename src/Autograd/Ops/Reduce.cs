// Reductions with backward rules. Max/min send the gradient to the extreme elements, split evenly
// among ties (torch.amax semantics); var and logsumexp use their closed-form derivatives.
namespace Engine.Autograd;

public static partial class F
{
    private static int[] KeepShape(Tensor x, int[]? axes)
    {
        var s = x.Shape;
        var ax = axes == null || axes.Length == 0 ? Enumerable.Range(0, x.Rank).ToArray() : axes.Select(a => Tensor.NormDim("reduce", a, x.Rank)).ToArray();
        foreach (int a in ax) s[a] = 1;
        return s;
    }

    public static Var Sum(Var x, int[]? axes = null, bool keepDim = false)
    {
        var xd = x.Data;
        var ks = KeepShape(xd, axes);
        return Record("Sum", Ops.Sum(xd, axes, keepDim), [x], gy =>
        {
            using var g = gy.Reshape(ks);
            using var e = g.Expand(xd.Layout.Shape);
            return [e.Contiguous()];
        });
    }

    public static Var Mean(Var x, int[]? axes = null, bool keepDim = false)
    {
        var xd = x.Data;
        var ks = KeepShape(xd, axes);
        long n = xd.Numel / Math.Max(1, ks.Aggregate(1L, (p, d) => p * d));
        return Record("Mean", Ops.Mean(xd, axes, keepDim), [x], gy =>
        {
            using var g = gy.Reshape(ks);
            using var e = g.Expand(xd.Layout.Shape);
            return [Ops.Mul(e, 1.0 / n)];
        });
    }

    public static Var Max(Var x, int[]? axes = null, bool keepDim = false) => Extreme("Max", x, axes, keepDim, true);
    public static Var Min(Var x, int[]? axes = null, bool keepDim = false) => Extreme("Min", x, axes, keepDim, false);

    private static Var Extreme(string name, Var x, int[]? axes, bool keepDim, bool max)
    {
        var xd = x.Data;
        var ks = KeepShape(xd, axes);
        var yk = max ? Ops.Max(xd, axes, keepDim: true) : Ops.Min(xd, axes, keepDim: true);
        var y = keepDim ? yk.Alias() : yk.Reshape(OutShape(xd, axes));
        return Record(name, y, [x], gy =>
        {
            using var mask = Ops.Eq(xd, yk);
            using var cnt = Ops.Sum(mask, axes, keepDim: true);
            using var g = gy.Reshape(ks);
            using var w = Ops.Div(g, cnt);
            return [Ops.Mul(mask, w)];
        }, yk);
    }

    private static int[] OutShape(Tensor x, int[]? axes)
    {
        var ax = axes == null || axes.Length == 0 ? Enumerable.Range(0, x.Rank).ToArray() : axes.Select(a => Tensor.NormDim("reduce", a, x.Rank)).ToArray();
        return x.Layout.Shape.Where((_, i) => !ax.Contains(i)).ToArray();
    }

    /// <summary>Variance with correction (1 = unbiased); d/dx = 2 (x - mean) / (n - correction).</summary>
    public static Var Var(Var x, int[]? axes = null, bool keepDim = false, int correction = 1)
    {
        var xd = x.Data;
        var ks = KeepShape(xd, axes);
        long n = xd.Numel / Math.Max(1, ks.Aggregate(1L, (p, d) => p * d));
        return Record("Var", Ops.Var(xd, axes, keepDim, correction), [x], gy =>
        {
            using var mean = Ops.Mean(xd, axes, keepDim: true);
            using var dev = Ops.Sub(xd, mean);
            using var g = gy.Reshape(ks);
            using var s = Ops.Mul(g, 2.0 / Math.Max(n - correction, 0));
            return [Ops.Mul(dev, s)];
        });
    }

    /// <summary>log(sum(exp(x))); d/dx = softmax(x) over the reduced axes.</summary>
    public static Var LogSumExp(Var x, int[]? axes = null, bool keepDim = false)
    {
        var xd = x.Data;
        var ks = KeepShape(xd, axes);
        var yk = Ops.LogSumExp(xd, axes, keepDim: true);
        var y = keepDim ? yk.Alias() : yk.Reshape(OutShape(xd, axes));
        return Record("LogSumExp", y, [x], gy =>
        {
            using var d = Ops.Sub(xd, yk);
            using var sm = Ops.Exp(d);
            using var g = gy.Reshape(ks);
            return [Ops.Mul(sm, g)];
        }, yk);
    }

    public static Tensor ArgMax(Var x, int? dim = null, bool keepDim = false) => Ops.ArgMax(x.Data, dim, keepDim);
    public static Tensor ArgMin(Var x, int? dim = null, bool keepDim = false) => Ops.ArgMin(x.Data, dim, keepDim);
}
