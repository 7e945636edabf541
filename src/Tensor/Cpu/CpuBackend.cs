// The CPU backend: native aligned storage, strided copy/convert/fill. The op families live in
// CpuBackend.*.cs. Kernels are generic over the element type (float, double) and specialize per T.
using System.Numerics;

namespace Engine.Cpu;

public sealed unsafe partial class CpuBackend : IBackend
{
    public static readonly CpuBackend Instance = new();
    private CpuBackend() { }

    public Device Device => Device.Cpu;

    public Storage Allocate(DType dtype, long length, bool zero) => new CpuStorage(this, dtype, length, zero);

    internal static CpuStorage S(Buf b) => b.Storage as CpuStorage
        ?? throw new DeviceMismatchException("cpu backend", $"buffer lives on {b.Storage.Device}");

    internal static T* P<T>(Buf b) where T : unmanaged => S(b).Ptr<T>() + b.Layout.Offset;

    public void Upload<T>(ReadOnlySpan<T> src, Storage dst, long dstOffset) where T : unmanaged
    {
        var cs = dst as CpuStorage ?? throw new DeviceMismatchException("upload", $"storage on {dst.Device}");
        if (sizeof(T) != dst.DType.Size()) throw new DTypeMismatchException("upload", $"{typeof(T).Name} into {dst.DType.Name()} storage");
        src.CopyTo(cs.Span<T>(dstOffset, src.Length));
    }

    public void Download<T>(Buf src, Span<T> dst) where T : unmanaged
    {
        if (sizeof(T) != src.DType.Size()) throw new DTypeMismatchException("download", $"{src.DType.Name()} into {typeof(T).Name}");
        if (dst.Length != src.Numel) throw new ShapeMismatchException("download", $"{src.Numel} elements into a span of {dst.Length}");
        fixed (T* d = dst)
        {
            var dl = Layout.Contiguous(src.Layout.Shape);
            switch (src.DType)
            {
                case DType.F32: CopyStrided<float, float>(P<float>(src), src.Layout, (float*)d, dl); break;
                case DType.F64: CopyStrided<double, double>(P<double>(src), src.Layout, (double*)d, dl); break;
                default: CopyStrided<int, int>(P<int>(src), src.Layout, (int*)d, dl); break;
            }
        }
    }

    public void Copy(Buf src, Buf dst)
    {
        if (!src.Layout.SameShape(dst.Layout)) throw new ShapeMismatchException("copy", $"{Fmt.Shape(src.Shape)} -> {Fmt.Shape(dst.Shape)}");
        switch (src.DType, dst.DType)
        {
            case (DType.F32, DType.F32): CopyStrided<float, float>(P<float>(src), src.Layout, P<float>(dst), dst.Layout); break;
            case (DType.F64, DType.F64): CopyStrided<double, double>(P<double>(src), src.Layout, P<double>(dst), dst.Layout); break;
            case (DType.I32, DType.I32): CopyStrided<int, int>(P<int>(src), src.Layout, P<int>(dst), dst.Layout); break;
            case (DType.F32, DType.F64): CopyStrided<float, double>(P<float>(src), src.Layout, P<double>(dst), dst.Layout); break;
            case (DType.F64, DType.F32): CopyStrided<double, float>(P<double>(src), src.Layout, P<float>(dst), dst.Layout); break;
            case (DType.I32, DType.F32): CopyStrided<int, float>(P<int>(src), src.Layout, P<float>(dst), dst.Layout); break;
            case (DType.I32, DType.F64): CopyStrided<int, double>(P<int>(src), src.Layout, P<double>(dst), dst.Layout); break;
            case (DType.F32, DType.I32): CopyStrided<float, int>(P<float>(src), src.Layout, P<int>(dst), dst.Layout); break;
            case (DType.F64, DType.I32): CopyStrided<double, int>(P<double>(src), src.Layout, P<int>(dst), dst.Layout); break;
            default: throw new UnsupportedOpException("copy", $"{src.DType.Name()} -> {dst.DType.Name()}");
        }
    }

    private static void CopyStrided<TS, TD>(TS* s, Layout sl, TD* d, Layout dl)
        where TS : unmanaged, INumberBase<TS> where TD : unmanaged, INumberBase<TD>
    {
        // Offsets are relative to the given base pointers.
        Strided.ForRows(sl.Shape, [sl.Strides, dl.Strides], [0, 0], (o, st, n) =>
        {
            TS* ps = s + o[0]; TD* pd = d + o[1];
            long ss = st[0], ds = st[1];
            if (typeof(TS) == typeof(TD) && ss == 1 && ds == 1)
                new ReadOnlySpan<TS>(ps, n).CopyTo(new Span<TS>(pd, n));
            else
                for (int i = 0; i < n; i++) pd[i * ds] = TD.CreateTruncating(ps[i * ss]);
        });
    }

    public void Fill(Buf dst, double value)
    {
        switch (dst.DType)
        {
            case DType.F32: FillT(P<float>(dst), dst.Layout, (float)value); break;
            case DType.F64: FillT(P<double>(dst), dst.Layout, value); break;
            default: FillT(P<int>(dst), dst.Layout, (int)value); break;
        }
    }

    private static void FillT<T>(T* d, Layout l, T v) where T : unmanaged
    {
        Strided.ForRows(l.Shape, [l.Strides], [0], (o, st, n) =>
        {
            T* p = d + o[0];
            if (st[0] == 1) new Span<T>(p, n).Fill(v);
            else for (int i = 0; i < n; i++) p[i * st[0]] = v;
        });
    }
}
