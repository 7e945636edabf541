// Concat/stack/split/chunk and pixel (un)shuffle. Split pieces are Narrow views (their gradients
// accumulate in the engine); pixel shuffles compose differentiable views.
namespace Engine.Autograd;

public static partial class F
{
    public static Var Concat(IReadOnlyList<Var> xs, int dim)
    {
        var y = Ops.Concat(xs.Select(v => v.Data).ToList(), dim);
        int d = Tensor.NormDim("Concat", dim, y.Rank);
        var sizes = xs.Select(v => v.Data.Layout.Shape[d]).ToArray();
        return Record("Concat", y, [.. xs], gy =>
        {
            var r = new Tensor?[sizes.Length];
            int at = 0;
            for (int i = 0; i < sizes.Length; i++)
            {
                if (xs[i].RequiresGrad) { using var n = gy.Narrow(d, at, sizes[i]); r[i] = n.Contiguous(); }
                at += sizes[i];
            }
            return r;
        });
    }

    public static Var Stack(IReadOnlyList<Var> xs, int dim)
    {
        if (xs.Count == 0) throw new InvalidArgumentException("Stack", "no tensors given");
        int d = Tensor.NormDim("Stack", dim, xs[0].Rank + 1);
        return Concat(xs.Select(x => Unsqueeze(x, d)).ToList(), d);
    }

    public static Var[] Split(Var x, int[] sizes, int dim)
    {
        int d = Tensor.NormDim("Split", dim, x.Rank);
        if (sizes.Any(s => s < 0) || sizes.Sum() != x.Data.Layout.Shape[d])
            throw new ShapeMismatchException("Split", $"sizes [{string.Join(", ", sizes)}] do not add up to dim {d} of {Fmt.Of(x.Data)}");
        var r = new Var[sizes.Length];
        int at = 0;
        for (int i = 0; i < sizes.Length; i++) { r[i] = Narrow(x, d, at, sizes[i]); at += sizes[i]; }
        return r;
    }

    public static Var[] Split(Var x, int splitSize, int dim)
    {
        int d = Tensor.NormDim("Split", dim, x.Rank);
        if (splitSize <= 0) throw new InvalidArgumentException("Split", $"split size must be positive, got {splitSize}");
        int n = x.Data.Layout.Shape[d];
        var sizes = new List<int>();
        for (int at = 0; at < n; at += splitSize) sizes.Add(Math.Min(splitSize, n - at));
        return Split(x, [.. sizes], d);
    }

    public static Var[] Chunk(Var x, int chunks, int dim)
    {
        if (chunks <= 0) throw new InvalidArgumentException("Chunk", $"chunks must be positive, got {chunks}");
        int n = x.Data.Layout.Shape[Tensor.NormDim("Chunk", dim, x.Rank)];
        return Split(x, Math.Max(1, (n + chunks - 1) / chunks), dim);
    }

    public static Var PixelShuffle(Var x, int r)
    {
        Ops.CheckPixelShuffle(x.Data, r);
        int n = x.Size(0), c = x.Size(1), h = x.Size(2), w = x.Size(3);
        var v = Reshape(x, n, c / (r * r), r, r, h, w);
        var p = Permute(v, 0, 1, 4, 2, 5, 3);
        return Reshape(Contiguous(p), n, c / (r * r), h * r, w * r);
    }

    public static Var PixelUnshuffle(Var x, int r)
    {
        Ops.CheckPixelUnshuffle(x.Data, r);
        int n = x.Size(0), c = x.Size(1), h = x.Size(2), w = x.Size(3);
        var v = Reshape(x, n, c, h / r, r, w / r, r);
        var p = Permute(v, 0, 1, 3, 5, 2, 4);
        return Reshape(Contiguous(p), n, c * r * r, h / r, w / r);
    }
}
