// CUDA elementwise family: strided copy/convert and fill, unary (+ fused backward), binary, binary
// with a scalar, where; kernels in kernels-cu/elementwise.cu. Every launch is one grid-stride
// kernel over a coalesced Geom whose operand 0 is the output. Validation mirrors the CPU backend's
// typed errors (unary/binary/reduce accept f32 and f64 only) and also rejects output buffers whose
// dtype or shape disagree with the inputs, which the CPU would silently misread.
namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    public void Copy(Buf src, Buf dst)
    {
        if (!src.Layout.SameShape(dst.Layout)) throw new ShapeMismatchException("copy", $"{Fmt.Shape(src.Shape)} -> {Fmt.Shape(dst.Shape)} on {Device}");
        if (!IsKnown(src.DType) || !IsKnown(dst.DType))
            throw new UnsupportedOpException("copy", $"{src.DType.Name()} -> {dst.DType.Name()} on {Device}");
        ulong ps = Ptr(src, "copy"), pd = Ptr(dst, "copy");
        long n = src.Numel;
        if (n == 0) return;
        if (src.DType == dst.DType && src.Layout.IsContiguous && dst.Layout.IsContiguous)
        {
            if (ps != pd) Runtime.CopyDtoD(pd, ps, n * src.DType.Size());
            return;
        }
        var g = Geom.Build("copy", dst.Shape, dst.Layout, src.Layout);
        Launch1D($"copy_{Sfx(src.DType)}_{Sfx(dst.DType)}", g.N, KernelArgs.Begin().Ptr(pd).Ptr(ps).Value(g));
    }

    public void Fill(Buf dst, double value)
    {
        if (!IsKnown(dst.DType)) throw new UnsupportedOpException("fill", $"{dst.DType.Name()} {Fmt.Shape(dst.Shape)} on {Device}");
        ulong p = Ptr(dst, "fill");
        long n = dst.Numel;
        if (n == 0) return;
        if (dst.Layout.IsContiguous)
        {
            // Same conversions as the kernel (and the CPU): (float) rounds, (int) truncates and saturates.
            switch (dst.DType)
            {
                case DType.F32: Runtime.MemsetD32(p, BitConverter.SingleToUInt32Bits((float)value), n); return;
                case DType.I32: Runtime.MemsetD32(p, unchecked((uint)(int)value), n); return;
                case DType.F64 when BitConverter.DoubleToUInt64Bits(value) == 0: Runtime.MemsetD8(p, 0, n * 8); return;
            }
        }
        var g = Geom.Build("fill", dst.Shape, dst.Layout);
        Launch1D($"fill_{Sfx(dst.DType)}", g.N, KernelArgs.Begin().Ptr(p).Value(g).F64(value));
    }

    public void Unary(UnaryOp op, Buf x, Buf y, double alpha, double beta)
    {
        string name = op.ToString();
        if (!x.DType.IsFloat()) throw new DTypeMismatchException(name, $"{Device} unary on {Desc(x)}");
        SameDType(name, x, y, "output");
        SameShape(name, x, y, "output");
        if (!Enum.IsDefined(op)) throw new UnsupportedOpException(name, $"{Device} unary on {Desc(x)}");
        ulong px = Ptr(x, name), py = Ptr(y, name);
        var g = Geom.Build(name, y.Shape, y.Layout, x.Layout);
        Launch1D($"unary_{Sfx(x.DType)}", g.N, KernelArgs.Begin().Ptr(py).Ptr(px).Value(g).I32((int)op).F64(alpha).F64(beta));
    }

    public void UnaryBackward(UnaryOp op, Buf x, Buf y, Buf gy, Buf gx, double alpha, double beta)
    {
        string name = op + "Backward";
        if (!x.DType.IsFloat()) throw new DTypeMismatchException(name, $"{Device} unary backward on {Desc(x)}");
        SameDType(name, x, y, "y");
        SameDType(name, x, gy, "grad");
        SameDType(name, x, gx, "input grad");
        SameShape(name, x, y, "y");
        SameShape(name, x, gy, "grad");
        SameShape(name, x, gx, "input grad");
        if (!Enum.IsDefined(op)) throw new BackwardNotSupportedException(op.ToString(), $"{Device} unary backward on {Desc(x)}");
        ulong px = Ptr(x, name), py = Ptr(y, name), pgy = Ptr(gy, name), pgx = Ptr(gx, name);
        var g = Geom.Build(name, gx.Shape, gx.Layout, x.Layout, y.Layout, gy.Layout);
        Launch1D($"unary_backward_{Sfx(x.DType)}", g.N,
            KernelArgs.Begin().Ptr(pgx).Ptr(px).Ptr(py).Ptr(pgy).Value(g).I32((int)op).F64(alpha).F64(beta));
    }

    public void Binary(BinaryOp op, Buf a, Buf b, Buf y)
    {
        string name = op.ToString();
        if (!a.DType.IsFloat()) throw new DTypeMismatchException(name, $"{Device} binary on {Desc(a)}");
        SameDType(name, a, b, "b");
        SameDType(name, a, y, "output");
        SameShape(name, y, a, "a");
        SameShape(name, y, b, "b");
        if (!Enum.IsDefined(op)) throw new UnsupportedOpException(name, $"{Device} binary on {Desc(a)}, {Desc(b)}");
        ulong pa = Ptr(a, name), pb = Ptr(b, name), py = Ptr(y, name);
        var g = Geom.Build(name, y.Shape, y.Layout, a.Layout, b.Layout);
        Launch1D($"binary_{Sfx(a.DType)}", g.N, KernelArgs.Begin().Ptr(py).Ptr(pa).Ptr(pb).Value(g).I32((int)op));
    }

    public void BinaryScalar(BinaryOp op, Buf a, double s, bool scalarFirst, Buf y)
    {
        string name = op.ToString();
        if (!a.DType.IsFloat()) throw new DTypeMismatchException(name, $"{Device} binary on {Desc(a)}");
        SameDType(name, a, y, "output");
        SameShape(name, a, y, "output");
        if (!Enum.IsDefined(op)) throw new UnsupportedOpException(name, $"{Device} binary on {Desc(a)} and a scalar");
        ulong pa = Ptr(a, name), py = Ptr(y, name);
        var g = Geom.Build(name, y.Shape, y.Layout, a.Layout);
        Launch1D($"binary_scalar_{Sfx(a.DType)}", g.N,
            KernelArgs.Begin().Ptr(py).Ptr(pa).Value(g).I32((int)op).F64(s).I32(scalarFirst ? 1 : 0));
    }

    public void Where(Buf cond, Buf a, Buf b, Buf y)
    {
        const string name = "Where";
        if (!a.DType.IsFloat()) throw new DTypeMismatchException(name, $"{Device} where on {Desc(a)}");
        if (!IsKnown(cond.DType)) throw new DTypeMismatchException(name, $"condition {Desc(cond)} on {Device}");
        SameDType(name, a, b, "b");
        SameDType(name, a, y, "output");
        SameShape(name, y, cond, "condition");
        SameShape(name, y, a, "a");
        SameShape(name, y, b, "b");
        ulong pc = Ptr(cond, name), pa = Ptr(a, name), pb = Ptr(b, name), py = Ptr(y, name);
        var g = Geom.Build(name, y.Shape, y.Layout, cond.Layout, a.Layout, b.Layout);
        Launch1D($"where_{Sfx(a.DType)}_{Sfx(cond.DType)}", g.N, KernelArgs.Begin().Ptr(py).Ptr(pc).Ptr(pa).Ptr(pb).Value(g));
    }

    // ------------------------------------------------------------------ validation helpers
    private static bool IsKnown(DType d) => d is DType.F32 or DType.F64 or DType.I32;

    private static string Desc(Buf b) => $"{b.DType.Name()} {Fmt.Shape(b.Shape)}";

    private void SameDType(string op, Buf reference, Buf other, string what)
    {
        if (other.DType != reference.DType)
            throw new DTypeMismatchException(op, $"{what} {Desc(other)} vs {Desc(reference)} on {Device}");
    }

    private void SameShape(string op, Buf reference, Buf other, string what)
    {
        if (!other.Layout.SameShape(reference.Layout))
            throw new ShapeMismatchException(op, $"{what} {Desc(other)} vs {Desc(reference)} on {Device}");
    }
}
