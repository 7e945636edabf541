// Layout = shape + strides (in elements) + offset (in elements) into a storage. Immutable.
// Views (reshape of contiguous data, permute, narrow, expand) only build a new Layout.
namespace Engine;

public sealed class Layout
{
    public int[] Shape { get; }
    public long[] Strides { get; }
    public long Offset { get; }
    public long Numel { get; }
    public int Rank => Shape.Length;

    public Layout(int[] shape, long[] strides, long offset)
    {
        if (shape.Length != strides.Length) throw new ArgumentException("shape and strides differ in rank");
        Shape = shape; Strides = strides; Offset = offset;
        long n = 1; foreach (int d in shape) n *= d;
        Numel = n;
    }

    public static Layout Contiguous(int[] shape, long offset = 0) => new(shape, ContiguousStrides(shape), offset);

    public static long[] ContiguousStrides(int[] shape)
    {
        var s = new long[shape.Length];
        long acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= Math.Max(shape[i], 1); }
        return s;
    }

    /// <summary>Row-major contiguous (dims of size 1 may carry any stride).</summary>
    public bool IsContiguous
    {
        get
        {
            long acc = 1;
            for (int i = Shape.Length - 1; i >= 0; i--)
            {
                if (Shape[i] != 1 && Strides[i] != acc) return false;
                acc *= Shape[i];
            }
            return true;
        }
    }

    public bool SameShape(Layout o) => Shape.AsSpan().SequenceEqual(o.Shape);
    public override string ToString() => $"shape={Fmt.Shape(Shape)} strides=[{string.Join(", ", Strides)}] offset={Offset}";
}
