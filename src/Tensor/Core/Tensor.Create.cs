// Factories: empty/zeros/ones/full, from host arrays, arange, random (Philox, seeded).
namespace Engine;

public sealed partial class Tensor
{
    public static Tensor Empty(int[] shape, DType dtype = DType.F32, Device? device = null, bool zero = false)
    {
        ValidateShape("Empty", shape);
        var backend = Backends.Get(device ?? Device.Cpu);
        var layout = Layout.Contiguous((int[])shape.Clone());
        var st = backend.Allocate(dtype, layout.Numel, zero);
        return new Tensor(st, layout, addRef: false);
    }

    public static Tensor Zeros(int[] shape, DType dtype = DType.F32, Device? device = null) => Empty(shape, dtype, device, zero: true);

    public static Tensor Full(int[] shape, double value, DType dtype = DType.F32, Device? device = null)
    {
        var t = Empty(shape, dtype, device);
        t.Backend.Fill(t.Buf, value);
        return t;
    }

    public static Tensor Ones(int[] shape, DType dtype = DType.F32, Device? device = null) => Full(shape, 1.0, dtype, device);

    public static Tensor Scalar(double value, DType dtype = DType.F32, Device? device = null) => Full([], value, dtype, device);

    public static Tensor ZerosLike(Tensor t) => Zeros(t.Layout.Shape, t.DType, t.Device);
    public static Tensor OnesLike(Tensor t) => Ones(t.Layout.Shape, t.DType, t.Device);

    public static Tensor FromArray(float[] data, int[] shape, Device? device = null) => FromSpan<float>(data, shape, DType.F32, device);
    public static Tensor FromArray(double[] data, int[] shape, Device? device = null) => FromSpan<double>(data, shape, DType.F64, device);
    public static Tensor FromArray(int[] data, int[] shape, Device? device = null) => FromSpan<int>(data, shape, DType.I32, device);

    private static Tensor FromSpan<T>(ReadOnlySpan<T> data, int[] shape, DType dtype, Device? device) where T : unmanaged
    {
        ValidateShape("FromArray", shape);
        long n = 1; foreach (int d in shape) n *= d;
        if (n != data.Length) throw new ShapeMismatchException("FromArray", $"{data.Length} values cannot fill shape {Fmt.Shape(shape)} ({n} elements)");
        var t = Empty(shape, dtype, device);
        t.Backend.Upload(data, t.Storage, 0);
        return t;
    }

    public static Tensor Arange(int n, DType dtype = DType.F32, Device? device = null)
    {
        if (dtype == DType.I32) { var ia = new int[n]; for (int i = 0; i < n; i++) ia[i] = i; return FromArray(ia, [n], device); }
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = i;
        using var d = FromArray(a, [n], device);
        return d.To(dtype);
    }

    /// <summary>Uniform [lo, hi) draws, element i fixed by (seed, offset, i) on every backend.</summary>
    public static Tensor Uniform(int[] shape, ulong seed, ulong offset = 0, double lo = 0, double hi = 1, DType dtype = DType.F32, Device? device = null)
    {
        RequireFloat("Uniform", dtype);
        var t = Empty(shape, dtype, device);
        t.Backend.FillUniform(t.Buf, seed, offset, lo, hi);
        return t;
    }

    /// <summary>Normal(mean, std) draws, element i fixed by (seed, offset, i) on every backend.</summary>
    public static Tensor Normal(int[] shape, ulong seed, ulong offset = 0, double mean = 0, double std = 1, DType dtype = DType.F32, Device? device = null)
    {
        RequireFloat("Normal", dtype);
        var t = Empty(shape, dtype, device);
        t.Backend.FillNormal(t.Buf, seed, offset, mean, std);
        return t;
    }

    internal static void RequireFloat(string op, DType d)
    {
        if (!d.IsFloat()) throw new DTypeMismatchException(op, $"needs a floating dtype (f32 or f64), got {d.Name()}");
    }

    internal static void ValidateShape(string op, int[] shape)
    {
        foreach (int d in shape)
            if (d < 0) throw new InvalidArgumentException(op, $"negative dimension in shape {Fmt.Shape(shape)}");
    }

    /// <summary>A contiguous copy on the same device (or this tensor's alias if already contiguous and same dtype).</summary>
    public Tensor Contiguous() => IsContiguous ? Alias() : Clone();

    /// <summary>A new contiguous copy with its own storage.</summary>
    public Tensor Clone()
    {
        var t = Empty(Layout.Shape, DType, Device);
        Backend.Copy(Buf, t.Buf);
        return t;
    }

    /// <summary>Converts to another dtype (a copy; an alias when the dtype is already right).</summary>
    public Tensor To(DType dtype)
    {
        if (dtype == DType) return Alias();
        var t = Empty(Layout.Shape, dtype, Device);
        Backend.Copy(Buf, t.Buf);
        return t;
    }

    /// <summary>Copies to another device (an alias when already there).</summary>
    public Tensor To(Device device)
    {
        if (device == Device) return Alias();
        using var c = Contiguous();
        var t = Empty(Layout.Shape, DType, device);
        switch (DType)
        {
            case DType.F32: t.Backend.Upload<float>(c.ToArray<float>(), t.Storage, 0); break;
            case DType.F64: t.Backend.Upload<double>(c.ToArray<double>(), t.Storage, 0); break;
            default: t.Backend.Upload<int>(c.ToArray<int>(), t.Storage, 0); break;
        }
        return t;
    }

    /// <summary>Copies src into this tensor (same shape; dtype converted), in place.</summary>
    public void CopyFrom(Tensor src)
    {
        Ops.CheckSameDevice("CopyFrom", this, src);
        if (!Layout.SameShape(src.Layout)) throw new ShapeMismatchException("CopyFrom", $"destination {Fmt.Shape(Layout.Shape)} vs source {Fmt.Shape(src.Layout.Shape)}");
        Backend.Copy(src.Buf, Buf);
    }

    public void Fill(double value) => Backend.Fill(Buf, value);
}
