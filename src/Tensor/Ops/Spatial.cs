// Pooling, upsampling, padding and indexing ops (validation + dispatch).
namespace Engine;

public static partial class Ops
{
    private static void CheckPool(string name, Tensor x, Pool2dParams p)
    {
        CheckFloat(name, x); CheckRank(name, x, 4, "input (N, C, H, W)");
        if (p.KH < 1 || p.KW < 1 || p.StrideH < 1 || p.StrideW < 1 || p.PadH < 0 || p.PadW < 0 || p.DilationH < 1 || p.DilationW < 1)
            throw new InvalidArgumentException(name, $"bad parameters {p}");
        if (p.PadH * 2 > p.KH || p.PadW * 2 > p.KW)
            throw new InvalidArgumentException(name, $"padding must be at most half the kernel size ({p})");
    }

    public static (Tensor y, Tensor argmax) MaxPool2dWithIndices(Tensor x, Pool2dParams p)
    {
        CheckPool("MaxPool2d", x, p);
        int oh = ConvOutSize(x.Size(2), p.KH, p.StrideH, p.PadH, p.DilationH), ow = ConvOutSize(x.Size(3), p.KW, p.StrideW, p.PadW, p.DilationW);
        if (oh <= 0 || ow <= 0) throw new ShapeMismatchException("MaxPool2d", $"input {Fmt.Of(x)} too small for {p}");
        using var xc = x.Contiguous();
        var y = Tensor.Empty([x.Size(0), x.Size(1), oh, ow], x.DType, x.Device);
        var idx = Tensor.Empty([x.Size(0), x.Size(1), oh, ow], DType.I32, x.Device);
        x.Backend.MaxPool2d(xc.Buf, y.Buf, idx.Buf, p);
        return (y, idx);
    }

    public static Tensor MaxPool2d(Tensor x, Pool2dParams p)
    {
        var (y, idx) = MaxPool2dWithIndices(x, p);
        idx.Dispose();
        return y;
    }

    public static Tensor MaxPool2dBackward(Tensor gy, Tensor argmax, int[] inputShape)
    {
        using var gc = gy.Contiguous();
        var gx = Tensor.Empty(inputShape, gy.DType, gy.Device);
        gy.Backend.MaxPool2dBackward(gc.Buf, argmax.Buf, gx.Buf);
        return gx;
    }

    public static Tensor AvgPool2d(Tensor x, Pool2dParams p)
    {
        CheckPool("AvgPool2d", x, p);
        if (p.DilationH != 1 || p.DilationW != 1) throw new UnsupportedOpException("AvgPool2d", "dilation (PyTorch has none either)");
        int oh = ConvOutSize(x.Size(2), p.KH, p.StrideH, p.PadH, 1), ow = ConvOutSize(x.Size(3), p.KW, p.StrideW, p.PadW, 1);
        if (oh <= 0 || ow <= 0) throw new ShapeMismatchException("AvgPool2d", $"input {Fmt.Of(x)} too small for {p}");
        using var xc = x.Contiguous();
        var y = Tensor.Empty([x.Size(0), x.Size(1), oh, ow], x.DType, x.Device);
        x.Backend.AvgPool2d(xc.Buf, y.Buf, p);
        return y;
    }

    public static Tensor AvgPool2dBackward(Tensor gy, int[] inputShape, Pool2dParams p)
    {
        using var gc = gy.Contiguous();
        var gx = Tensor.Empty(inputShape, gy.DType, gy.Device);
        gy.Backend.AvgPool2dBackward(gc.Buf, gx.Buf, p);
        return gx;
    }

    private static void CheckUpsample(string name, Tensor x, int oh, int ow)
    {
        CheckFloat(name, x); CheckRank(name, x, 4, "input (N, C, H, W)");
        if (oh <= 0 || ow <= 0) throw new InvalidArgumentException(name, $"output size ({oh}, {ow}) must be positive");
    }

    public static Tensor UpsampleNearest(Tensor x, int oh, int ow)
    {
        CheckUpsample("UpsampleNearest", x, oh, ow);
        using var xc = x.Contiguous();
        var y = Tensor.Empty([x.Size(0), x.Size(1), oh, ow], x.DType, x.Device);
        x.Backend.UpsampleNearest(xc.Buf, y.Buf);
        return y;
    }

    public static Tensor UpsampleNearestBackward(Tensor gy, int[] inputShape)
    {
        using var gc = gy.Contiguous();
        var gx = Tensor.Empty(inputShape, gy.DType, gy.Device);
        gy.Backend.UpsampleNearestBackward(gc.Buf, gx.Buf);
        return gx;
    }

    public static Tensor UpsampleBilinear(Tensor x, int oh, int ow, bool alignCorners = false)
    {
        CheckUpsample("UpsampleBilinear", x, oh, ow);
        using var xc = x.Contiguous();
        var y = Tensor.Empty([x.Size(0), x.Size(1), oh, ow], x.DType, x.Device);
        x.Backend.UpsampleBilinear(xc.Buf, y.Buf, alignCorners);
        return y;
    }

    public static Tensor UpsampleBilinearBackward(Tensor gy, int[] inputShape, bool alignCorners)
    {
        using var gc = gy.Contiguous();
        var gx = Tensor.Empty(inputShape, gy.DType, gy.Device);
        gy.Backend.UpsampleBilinearBackward(gc.Buf, gx.Buf, alignCorners);
        return gx;
    }

    /// <summary>Pads the last two axes (rank >= 2) by (left, right, top, bottom).</summary>
    public static Tensor Pad2d(Tensor x, int left, int right, int top, int bottom, PadMode mode = PadMode.Zero, double value = 0)
    {
        const string name = "Pad2d";
        CheckFloat(name, x);
        if (x.Rank < 2) throw new RankException(name, $"needs rank >= 2, got {Fmt.Of(x)}");
        if (left < 0 || right < 0 || top < 0 || bottom < 0) throw new InvalidArgumentException(name, $"negative padding ({left}, {right}, {top}, {bottom})");
        int h = x.Layout.Shape[^2], w = x.Layout.Shape[^1];
        if (mode == PadMode.Reflect && (left >= w || right >= w || top >= h || bottom >= h))
            throw new InvalidArgumentException(name, $"reflect padding ({left}, {right}, {top}, {bottom}) must be smaller than the input's spatial size {h}x{w}");
        if (mode == PadMode.Replicate && (h == 0 || w == 0)) throw new InvalidArgumentException(name, "replicate padding of an empty input");
        var shape = x.Shape; shape[^2] = h + top + bottom; shape[^1] = w + left + right;
        using var xc = x.Contiguous();
        var y = Tensor.Empty(shape, x.DType, x.Device);
        x.Backend.Pad2d(xc.Buf, y.Buf, left, right, top, bottom, mode, value);
        return y;
    }

    public static Tensor Pad2dBackward(Tensor gy, int[] inputShape, int left, int right, int top, int bottom, PadMode mode)
    {
        using var gc = gy.Contiguous();
        var gx = Tensor.Empty(inputShape, gy.DType, gy.Device);
        gy.Backend.Pad2dBackward(gc.Buf, gx.Buf, left, right, top, bottom, mode);
        return gx;
    }

    /// <summary>torch.gather: y[i][j][k] = x[i][index[i][j][k]][k] for dim = 1; index has x's rank and
    /// may be smaller than x outside dim.</summary>
    public static Tensor Gather(Tensor x, int dim, Tensor index)
    {
        const string name = "Gather";
        CheckSameDevice(name, x, index); CheckIndex(name, index);
        int d = Tensor.NormDim(name, dim, x.Rank);
        if (index.Rank != x.Rank) throw new RankException(name, $"index {Fmt.Of(index)} must have the rank of input {Fmt.Of(x)}");
        for (int i = 0; i < x.Rank; i++)
            if (i != d && index.Layout.Shape[i] != x.Layout.Shape[i])
                throw new ShapeMismatchException(name, $"index {Fmt.Of(index)} must match input {Fmt.Of(x)} outside dim {d}");
        using var xc = x.Contiguous();
        using var ic = index.Contiguous();
        var y = Tensor.Empty(index.Layout.Shape, x.DType, x.Device);
        return IndexGuard(name, y, () => x.Backend.Gather(xc.Buf, d, ic.Buf, y.Buf));
    }

    /// <summary>Out-of-place scatter_add: a copy of x with src added at index along dim.</summary>
    public static Tensor ScatterAdd(Tensor x, int dim, Tensor index, Tensor src)
    {
        const string name = "ScatterAdd";
        CheckSameDevice(name, x, index); CheckSameDevice(name, x, src); CheckSameDType(name, x, src); CheckIndex(name, index);
        int d = Tensor.NormDim(name, dim, x.Rank);
        if (!index.Layout.SameShape(src.Layout)) throw new ShapeMismatchException(name, $"index {Fmt.Of(index)} and src {Fmt.Of(src)} must have one shape");
        if (index.Rank != x.Rank) throw new RankException(name, $"index {Fmt.Of(index)} must have the rank of input {Fmt.Of(x)}");
        for (int i = 0; i < x.Rank; i++)
            if (i != d && index.Layout.Shape[i] != x.Layout.Shape[i])
                throw new ShapeMismatchException(name, $"index {Fmt.Of(index)} must match input {Fmt.Of(x)} outside dim {d}");
        var y = x.Clone();
        using var ic = index.Contiguous();
        using var sc = src.Contiguous();
        return IndexGuard(name, y, () => x.Backend.ScatterAdd(y.Buf, d, ic.Buf, sc.Buf));
    }

    public static Tensor IndexSelect(Tensor x, int dim, Tensor index)
    {
        const string name = "IndexSelect";
        CheckSameDevice(name, x, index); CheckIndex(name, index);
        if (index.Rank != 1) throw new RankException(name, $"index must be 1-D, got {Fmt.Of(index)}");
        int d = Tensor.NormDim(name, dim, x.Rank);
        var shape = x.Shape; shape[d] = index.Size(0);
        using var xc = x.Contiguous();
        using var ic = index.Contiguous();
        var y = Tensor.Empty(shape, x.DType, x.Device);
        return IndexGuard(name, y, () => x.Backend.IndexSelect(xc.Buf, d, ic.Buf, y.Buf));
    }

    /// <summary>Out-of-place index_add: a copy of x with src[.., i, ..] added at x[.., index[i], ..].</summary>
    public static Tensor IndexAdd(Tensor x, int dim, Tensor index, Tensor src)
    {
        const string name = "IndexAdd";
        CheckSameDevice(name, x, index); CheckSameDevice(name, x, src); CheckSameDType(name, x, src); CheckIndex(name, index);
        if (index.Rank != 1) throw new RankException(name, $"index must be 1-D, got {Fmt.Of(index)}");
        int d = Tensor.NormDim(name, dim, x.Rank);
        var expect = x.Shape; expect[d] = index.Size(0);
        if (!src.Layout.Shape.AsSpan().SequenceEqual(expect)) throw new ShapeMismatchException(name, $"src {Fmt.Of(src)} must be {Fmt.Shape(expect)} for input {Fmt.Of(x)} and index {Fmt.Of(index)}");
        var y = x.Clone();
        using var ic = index.Contiguous();
        using var sc = src.Contiguous();
        return IndexGuard(name, y, () => x.Backend.IndexAdd(y.Buf, d, ic.Buf, sc.Buf));
    }

    /// <summary>Index values are data, checked by the kernel: a bad one becomes a typed error naming the op
    /// (the output is released).</summary>
    private static Tensor IndexGuard(string op, Tensor y, Action run)
    {
        try { run(); return y; }
        catch (ArgumentOutOfRangeException e)
        {
            y.Dispose();
            throw new InvalidArgumentException(op, e.Message);
        }
    }
}
