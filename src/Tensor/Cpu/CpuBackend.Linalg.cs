// CPU matmul and convolution: dispatch to the packed GEMM (Kernels/Gemm.cs) and the convolution
// kernels (Kernels/Conv2dKernels.cs). Operands with a unit stride on either of the last two axes
// are passed to GEMM as (possibly transposed) matrices without a copy.
using System.Numerics;
using Engine.Cpu.Kernels;

namespace Engine.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void Matmul(Buf a, Buf b, Buf c)
    {
        if (a.DType == DType.F32) MatmulT<float>(a, b, c);
        else if (a.DType == DType.F64) MatmulT<double>(a, b, c);
        else throw new DTypeMismatchException("Matmul", $"cpu matmul on {a.DType.Name()}");
    }

    /// <summary>Returns (transposed, leading dimension) for a (B, R, C) operand, or null if neither inner axis is unit-stride.</summary>
    internal static (bool t, long ld)? MatrixForm(Layout l)
    {
        long s1 = l.Strides[1], s2 = l.Strides[2];
        int r = l.Shape[1], c = l.Shape[2];
        if ((s2 == 1 || c == 1) && (r == 1 || s1 >= c)) return (false, r == 1 ? Math.Max(c, 1) : s1);
        if ((s1 == 1 || r == 1) && (c == 1 || s2 >= r)) return (true, c == 1 ? Math.Max(r, 1) : s2);
        return null;
    }

    private void MatmulT<T>(Buf a, Buf b, Buf c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int batch = a.Shape[0], m = a.Shape[1], k = a.Shape[2], n = b.Shape[2];
        var fa = MatrixForm(a.Layout);
        var fb = MatrixForm(b.Layout);
        Storage? tmpA = null, tmpB = null;
        try
        {
            T* pa = P<T>(a), pb = P<T>(b);
            long sa = a.Layout.Strides[0], sb = b.Layout.Strides[0];
            if (fa == null)
            {
                tmpA = Allocate(a.DType, a.Numel, false);
                var ca = new Buf(tmpA, Layout.Contiguous(a.Shape));
                Copy(a, ca);
                pa = P<T>(ca); sa = (long)m * k; fa = (false, k);
            }
            if (fb == null)
            {
                tmpB = Allocate(b.DType, b.Numel, false);
                var cb = new Buf(tmpB, Layout.Contiguous(b.Shape));
                Copy(b, cb);
                pb = P<T>(cb); sb = (long)k * n; fb = (false, n);
            }
            if (batch == 1) { sa = 0; sb = 0; }
            Gemm.Batched(batch, fa.Value.t, fb.Value.t, m, n, k, T.One, pa, fa.Value.ld, sa, pb, fb.Value.ld, sb, T.Zero, P<T>(c), n, (long)m * n);
        }
        finally
        {
            tmpA?.Release();
            tmpB?.Release();
        }
    }

    private static Conv2dGeometry Geometry(Buf x, Buf w, Conv2dParams p, int cout) => new(
        x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], cout, w.Shape[2], w.Shape[3],
        p.StrideH, p.StrideW, p.PadH, p.PadW, p.DilationH, p.DilationW, p.Groups);

    public void Conv2d(Buf x, Buf w, Buf? bias, Buf y, Conv2dParams p, Activation act = default)
    {
        var g = Geometry(x, w, p, w.Shape[0]);
        if (x.DType == DType.F32) Conv2dKernels.Forward(g, P<float>(x), P<float>(w), bias is Buf bb ? P<float>(bb) : null, P<float>(y), act);
        else Conv2dKernels.Forward(g, P<double>(x), P<double>(w), bias is Buf bd ? P<double>(bd) : null, P<double>(y), act);
    }

    public void Conv2dBackwardData(Buf gy, Buf w, Buf gx, Conv2dParams p)
    {
        var g = Geometry(gx, w, p, w.Shape[0]);
        if (gy.DType == DType.F32) Conv2dKernels.BackwardData(g, P<float>(gy), P<float>(w), P<float>(gx));
        else Conv2dKernels.BackwardData(g, P<double>(gy), P<double>(w), P<double>(gx));
    }

    public void Conv2dBackwardFilter(Buf x, Buf gy, Buf gw, Conv2dParams p)
    {
        var g = Geometry(x, gw, p, gw.Shape[0]);
        if (x.DType == DType.F32) Conv2dKernels.BackwardFilter(g, P<float>(x), P<float>(gy), P<float>(gw));
        else Conv2dKernels.BackwardFilter(g, P<double>(x), P<double>(gy), P<double>(gw));
    }
}
