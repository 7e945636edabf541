// Views: new layouts over the same storage, no copies (reshape copies only when the data is not
// contiguous, like torch.reshape). Every view returns a new Tensor holding its own reference.
namespace Engine;

public sealed partial class Tensor
{
    /// <summary>Reshape; one dimension may be -1. A view when contiguous, else a contiguous copy.</summary>
    public Tensor Reshape(params int[] shape)
    {
        var s = InferShape("Reshape", shape, Numel, Layout.Shape);
        if (IsContiguous) return View(Layout.Contiguous(s, Layout.Offset));
        using var c = Clone();
        return c.View(Layout.Contiguous(s, c.Layout.Offset));
    }

    internal static int[] InferShape(string op, int[] shape, long numel, int[] from)
    {
        var s = (int[])shape.Clone();
        int infer = -1; long known = 1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == -1) { if (infer >= 0) throw new InvalidArgumentException(op, $"more than one -1 in {Fmt.Shape(shape)}"); infer = i; }
            else if (s[i] < 0) throw new InvalidArgumentException(op, $"negative dimension in {Fmt.Shape(shape)}");
            else known *= s[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || numel % known != 0) throw new ShapeMismatchException(op, $"cannot reshape {Fmt.Shape(from)} ({numel} elements) to {Fmt.Shape(shape)}");
            s[infer] = (int)(numel / known);
        }
        else if (known != numel) throw new ShapeMismatchException(op, $"cannot reshape {Fmt.Shape(from)} ({numel} elements) to {Fmt.Shape(shape)}");
        return s;
    }

    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0) return Reshape(1);
        int a = NormDim("Flatten", startDim, Rank), b = NormDim("Flatten", endDim, Rank);
        if (a > b) throw new InvalidArgumentException("Flatten", $"startDim {startDim} after endDim {endDim}");
        var s = new List<int>();
        for (int i = 0; i < a; i++) s.Add(Layout.Shape[i]);
        int m = 1; for (int i = a; i <= b; i++) m *= Layout.Shape[i];
        s.Add(m);
        for (int i = b + 1; i < Rank; i++) s.Add(Layout.Shape[i]);
        return Reshape([.. s]);
    }

    public Tensor Permute(params int[] dims)
    {
        if (dims.Length != Rank) throw new RankException("Permute", $"{dims.Length} dims given for a tensor of rank {Rank} {Fmt.Shape(Layout.Shape)}");
        var seen = new bool[Rank];
        var shape = new int[Rank]; var strides = new long[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int d = NormDim("Permute", dims[i], Rank);
            if (seen[d]) throw new InvalidArgumentException("Permute", $"dim {d} repeated in [{string.Join(", ", dims)}]");
            seen[d] = true;
            shape[i] = Layout.Shape[d]; strides[i] = Layout.Strides[d];
        }
        return View(new Layout(shape, strides, Layout.Offset));
    }

    public Tensor Transpose(int d0, int d1)
    {
        int a = NormDim("Transpose", d0, Rank), b = NormDim("Transpose", d1, Rank);
        var p = new int[Rank];
        for (int i = 0; i < Rank; i++) p[i] = i;
        (p[a], p[b]) = (p[b], p[a]);
        return Permute(p);
    }

    /// <summary>Matrix transpose of the last two axes.</summary>
    public Tensor T() => Transpose(-2, -1);

    /// <summary>Elements [start, start+length) along dim, as a view.</summary>
    public Tensor Narrow(int dim, int start, int length)
    {
        int d = NormDim("Narrow", dim, Rank);
        if (start < 0 || length < 0 || start + length > Layout.Shape[d])
            throw new InvalidArgumentException("Narrow", $"range [{start}, {start + length}) outside dim {d} of size {Layout.Shape[d]} in {Fmt.Shape(Layout.Shape)}");
        var shape = Shape; shape[d] = length;
        return View(new Layout(shape, (long[])Layout.Strides.Clone(), Layout.Offset + start * Layout.Strides[d]));
    }

    /// <summary>Python-style slice [start:end:step] along dim (negative start/end count from the end; step &gt; 0).</summary>
    public Tensor Slice(int dim, int start, int end, int step = 1)
    {
        int d = NormDim("Slice", dim, Rank);
        int n = Layout.Shape[d];
        if (step <= 0) throw new InvalidArgumentException("Slice", $"step must be positive, got {step}");
        if (start < 0) start += n;
        if (end < 0) end += n;
        start = Math.Clamp(start, 0, n); end = Math.Clamp(end, start, n);
        var shape = Shape; shape[d] = (end - start + step - 1) / step;
        var strides = (long[])Layout.Strides.Clone(); strides[d] *= step;
        return View(new Layout(shape, strides, Layout.Offset + start * Layout.Strides[d]));
    }

    /// <summary>Index i along dim, removing that dim.</summary>
    public Tensor Select(int dim, int index)
    {
        int d = NormDim("Select", dim, Rank);
        if (index < 0) index += Layout.Shape[d];
        if (index < 0 || index >= Layout.Shape[d]) throw new InvalidArgumentException("Select", $"index {index} outside dim {d} of size {Layout.Shape[d]}");
        using var n = Narrow(d, index, 1);
        return n.Squeeze(d);
    }

    /// <summary>Broadcasts to shape by stride-0 views (new leading dims allowed; size-1 dims expand).</summary>
    public Tensor Expand(params int[] shape)
    {
        if (shape.Length < Rank) throw new RankException("Expand", $"cannot expand {Fmt.Shape(Layout.Shape)} to fewer dims {Fmt.Shape(shape)}");
        int lead = shape.Length - Rank;
        var strides = new long[shape.Length];
        var outShape = (int[])shape.Clone();
        for (int i = 0; i < shape.Length; i++)
        {
            if (i < lead) { if (shape[i] < 0) throw new InvalidArgumentException("Expand", $"new dim -1 in {Fmt.Shape(shape)}"); strides[i] = 0; continue; }
            int src = Layout.Shape[i - lead];
            if (shape[i] == -1) outShape[i] = src;
            if (outShape[i] == src) strides[i] = Layout.Strides[i - lead];
            else if (src == 1) strides[i] = 0;
            else throw new ShapeMismatchException("Expand", $"cannot expand {Fmt.Shape(Layout.Shape)} to {Fmt.Shape(shape)} (dim {i}: {src} -> {shape[i]})");
        }
        return View(new Layout(outShape, strides, Layout.Offset));
    }

    public Tensor Squeeze(int dim)
    {
        int d = NormDim("Squeeze", dim, Rank);
        if (Layout.Shape[d] != 1) return Alias();
        var shape = Layout.Shape.Where((_, i) => i != d).ToArray();
        var strides = Layout.Strides.Where((_, i) => i != d).ToArray();
        return View(new Layout(shape, strides, Layout.Offset));
    }

    /// <summary>Removes every size-1 dim.</summary>
    public Tensor Squeeze()
    {
        var keep = Enumerable.Range(0, Rank).Where(i => Layout.Shape[i] != 1).ToArray();
        return View(new Layout(keep.Select(i => Layout.Shape[i]).ToArray(), keep.Select(i => Layout.Strides[i]).ToArray(), Layout.Offset));
    }

    public Tensor Unsqueeze(int dim)
    {
        int d = NormDim("Unsqueeze", dim, Rank + 1);
        var shape = new List<int>(Layout.Shape); var strides = new List<long>(Layout.Strides);
        long st = d < Rank ? Layout.Strides[d] * Layout.Shape[d] : 1;
        shape.Insert(d, 1); strides.Insert(d, st);
        return View(new Layout([.. shape], [.. strides], Layout.Offset));
    }
}
