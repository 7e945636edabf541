// Tensor = a reference to a Storage plus a Layout. Views share the storage (each view holds one
// reference); Dispose releases this view's reference. Every tensor registers with the current
// TensorScope at creation. Operations live in Engine.Ops (partial, by family); the instance
// methods and operators here forward to them.
namespace Engine;

public sealed partial class Tensor : IDisposable
{
    private Storage? _storage;
    internal TensorScope? Scope;

    public Layout Layout { get; }
    public DType DType { get; }
    public Device Device { get; }

    internal Tensor(Storage storage, Layout layout, bool addRef)
    {
        if (addRef) storage.AddRef();
        _storage = storage;
        Layout = layout;
        DType = storage.DType;
        Device = storage.Device;
        TensorScope.Register(this);
    }

    public Storage Storage => _storage ?? throw new ObjectDisposedException("Tensor", $"tensor {Fmt.Shape(Layout.Shape)} {DType.Name()} {Device} was disposed (did a TensorScope end before it was used? Keep() what must outlive the scope)");
    public IBackend Backend => Storage.Backend;
    public Buf Buf => new(Storage, Layout);
    public bool IsDisposed => _storage == null;

    public int[] Shape => (int[])Layout.Shape.Clone();
    public int Rank => Layout.Rank;
    public long Numel => Layout.Numel;
    public bool IsContiguous => Layout.IsContiguous;
    public int Size(int dim) => Layout.Shape[NormDim("size", dim, Rank)];

    public void Dispose()
    {
        var s = Interlocked.Exchange(ref _storage, null);
        s?.Release();
    }

    /// <summary>A new view of the same storage and layout with its own reference (an alias).</summary>
    public Tensor Alias() => new(Storage, Layout, addRef: true);

    internal Tensor View(Layout layout) => new(Storage, layout, addRef: true);

    internal static int NormDim(string op, int dim, int rank)
    {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) throw new DimOutOfRangeException(op, $"dim {dim} for a tensor of rank {rank}");
        return d;
    }

    public override string ToString() => $"Tensor({Fmt.Shape(Layout.Shape)}, {DType.Name()}, {Device})";

    /// <summary>Row-major copy of the elements to a new host array (any dtype converted to T).</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        bool ok = (typeof(T) == typeof(float) && DType == DType.F32) || (typeof(T) == typeof(double) && DType == DType.F64) || (typeof(T) == typeof(int) && DType == DType.I32);
        if (!ok) throw new DTypeMismatchException("ToArray", $"tensor is {DType.Name()} but {typeof(T).Name}[] was requested; use To(dtype) first");
        var a = new T[Numel];
        Backend.Download(Buf, a.AsSpan());
        return a;
    }

    public float[] ToFloatArray() => DType == DType.F32 ? ToArray<float>() : Array.ConvertAll(ToDoubleArray(), d => (float)d);

    public double[] ToDoubleArray()
    {
        if (DType == DType.F64) return ToArray<double>();
        using var t = To(DType.F64);
        return t.ToArray<double>();
    }

    /// <summary>The single element of a one-element tensor, as double.</summary>
    public double Item()
    {
        if (Numel != 1) throw new ShapeMismatchException("Item", $"needs exactly one element, tensor is {Fmt.Shape(Layout.Shape)}");
        return DType switch
        {
            DType.F32 => ToArray<float>()[0],
            DType.F64 => ToArray<double>()[0],
            _ => ToArray<int>()[0],
        };
    }
}
