// Shape ops built from views and strided copies: concat, stack, split, chunk, pixel (un)shuffle.
namespace Engine;

public static partial class Ops
{
    public static Tensor Concat(IReadOnlyList<Tensor> xs, int dim)
    {
        const string name = "Concat";
        if (xs.Count == 0) throw new InvalidArgumentException(name, "no tensors given");
        var f = xs[0];
        int d = Tensor.NormDim(name, dim, f.Rank);
        int total = 0;
        foreach (var x in xs)
        {
            CheckSameDevice(name, f, x); CheckSameDType(name, f, x);
            if (x.Rank != f.Rank) throw new RankException(name, $"all inputs need rank {f.Rank}: {string.Join(", ", xs.Select(Fmt.Of))}");
            for (int i = 0; i < f.Rank; i++)
                if (i != d && x.Layout.Shape[i] != f.Layout.Shape[i])
                    throw new ShapeMismatchException(name, $"inputs differ outside dim {d}: {string.Join(", ", xs.Select(t => Fmt.Shape(t.Layout.Shape)))}");
            total += x.Layout.Shape[d];
        }
        var shape = f.Shape; shape[d] = total;
        var y = Tensor.Empty(shape, f.DType, f.Device);
        int at = 0;
        foreach (var x in xs)
        {
            int len = x.Layout.Shape[d];
            if (len == 0) continue;
            using var dst = y.Narrow(d, at, len);
            f.Backend.Copy(x.Buf, dst.Buf);
            at += len;
        }
        return y;
    }

    public static Tensor Stack(IReadOnlyList<Tensor> xs, int dim)
    {
        if (xs.Count == 0) throw new InvalidArgumentException("Stack", "no tensors given");
        int d = Tensor.NormDim("Stack", dim, xs[0].Rank + 1);
        foreach (var x in xs)
            if (!x.Layout.SameShape(xs[0].Layout)) throw new ShapeMismatchException("Stack", $"all inputs need one shape: {string.Join(", ", xs.Select(t => Fmt.Shape(t.Layout.Shape)))}");
        var us = xs.Select(x => x.Unsqueeze(d)).ToList();
        try { return Concat(us, d); }
        finally { foreach (var u in us) u.Dispose(); }
    }

    /// <summary>Splits dim into pieces of the given sizes (views).</summary>
    public static Tensor[] Split(Tensor x, int[] sizes, int dim)
    {
        int d = Tensor.NormDim("Split", dim, x.Rank);
        if (sizes.Any(s => s < 0) || sizes.Sum() != x.Layout.Shape[d])
            throw new ShapeMismatchException("Split", $"sizes [{string.Join(", ", sizes)}] do not add up to dim {d} of {Fmt.Of(x)}");
        var r = new Tensor[sizes.Length];
        int at = 0;
        for (int i = 0; i < sizes.Length; i++) { r[i] = x.Narrow(d, at, sizes[i]); at += sizes[i]; }
        return r;
    }

    /// <summary>Splits dim into pieces of splitSize (the last may be smaller), as views.</summary>
    public static Tensor[] Split(Tensor x, int splitSize, int dim)
    {
        int d = Tensor.NormDim("Split", dim, x.Rank);
        if (splitSize <= 0) throw new InvalidArgumentException("Split", $"split size must be positive, got {splitSize}");
        int n = x.Layout.Shape[d];
        var sizes = new List<int>();
        for (int at = 0; at < n; at += splitSize) sizes.Add(Math.Min(splitSize, n - at));
        return Split(x, [.. sizes], d);
    }

    /// <summary>torch.chunk: `chunks` pieces of ceil(n/chunks) (fewer if that covers n).</summary>
    public static Tensor[] Chunk(Tensor x, int chunks, int dim)
    {
        if (chunks <= 0) throw new InvalidArgumentException("Chunk", $"chunks must be positive, got {chunks}");
        int d = Tensor.NormDim("Chunk", dim, x.Rank);
        int n = x.Layout.Shape[d];
        return Split(x, Math.Max(1, (n + chunks - 1) / chunks), d);
    }

    /// <summary>(N, C*r*r, H, W) -> (N, C, H*r, W*r), PyTorch channel order.</summary>
    public static Tensor PixelShuffle(Tensor x, int r)
    {
        CheckPixelShuffle(x, r);
        int n = x.Size(0), c = x.Size(1), h = x.Size(2), w = x.Size(3);
        using var v = x.Reshape(n, c / (r * r), r, r, h, w);
        using var p = v.Permute(0, 1, 4, 2, 5, 3); // (N, C, H, r, W, r)
        using var cont = p.Contiguous();
        return cont.Reshape(n, c / (r * r), h * r, w * r);
    }

    /// <summary>(N, C, H*r, W*r) -> (N, C*r*r, H, W), inverse of PixelShuffle.</summary>
    public static Tensor PixelUnshuffle(Tensor x, int r)
    {
        CheckPixelUnshuffle(x, r);
        int n = x.Size(0), c = x.Size(1), h = x.Size(2), w = x.Size(3);
        using var v = x.Reshape(n, c, h / r, r, w / r, r);
        using var p = v.Permute(0, 1, 3, 5, 2, 4); // (N, C, r, r, H/r, W/r)
        using var cont = p.Contiguous();
        return cont.Reshape(n, c * r * r, h / r, w / r);
    }

    public static void CheckPixelShuffle(Tensor x, int r)
    {
        CheckRank("PixelShuffle", x, 4, "input (N, C, H, W)");
        if (r < 1 || x.Size(1) % (r * r) != 0) throw new ShapeMismatchException("PixelShuffle", $"channels of {Fmt.Of(x)} not divisible by factor^2 = {r * r}");
    }

    public static void CheckPixelUnshuffle(Tensor x, int r)
    {
        CheckRank("PixelUnshuffle", x, 4, "input (N, C, H, W)");
        if (r < 1 || x.Size(2) % r != 0 || x.Size(3) % r != 0) throw new ShapeMismatchException("PixelUnshuffle", $"spatial size of {Fmt.Of(x)} not divisible by {r}");
    }
}
