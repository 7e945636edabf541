// CPU pooling, resampling, padding and indexing: shape bookkeeping here, loops in Kernels/*.
using System.Numerics;
using Engine.Cpu.Kernels;

namespace Engine.Cpu;

public sealed unsafe partial class CpuBackend
{
    private static (int n, int c, int h, int w) Nchw(Buf b) => (b.Shape[0], b.Shape[1], b.Shape[2], b.Shape[3]);

    public void MaxPool2d(Buf x, Buf y, Buf argmax, Pool2dParams p)
    {
        var (n, c, h, w) = Nchw(x);
        if (x.DType == DType.F32) PoolKernels.MaxPool2d(n, c, h, w, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.DilationH, p.DilationW, P<float>(x), P<float>(y), P<int>(argmax));
        else PoolKernels.MaxPool2d(n, c, h, w, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.DilationH, p.DilationW, P<double>(x), P<double>(y), P<int>(argmax));
    }

    public void MaxPool2dBackward(Buf gy, Buf argmax, Buf gx)
    {
        var (n, c, h, w) = Nchw(gx);
        int oh = gy.Shape[2], ow = gy.Shape[3];
        if (gy.DType == DType.F32) PoolKernels.MaxPool2dBackward(n, c, h, w, oh, ow, P<float>(gy), P<int>(argmax), P<float>(gx));
        else PoolKernels.MaxPool2dBackward(n, c, h, w, oh, ow, P<double>(gy), P<int>(argmax), P<double>(gx));
    }

    public void AvgPool2d(Buf x, Buf y, Pool2dParams p)
    {
        var (n, c, h, w) = Nchw(x);
        if (x.DType == DType.F32) PoolKernels.AvgPool2d(n, c, h, w, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.CountIncludePad, P<float>(x), P<float>(y));
        else PoolKernels.AvgPool2d(n, c, h, w, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.CountIncludePad, P<double>(x), P<double>(y));
    }

    public void AvgPool2dBackward(Buf gy, Buf gx, Pool2dParams p)
    {
        var (n, c, h, w) = Nchw(gx);
        if (gy.DType == DType.F32) PoolKernels.AvgPool2dBackward(n, c, h, w, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.CountIncludePad, P<float>(gy), P<float>(gx));
        else PoolKernels.AvgPool2dBackward(n, c, h, w, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.CountIncludePad, P<double>(gy), P<double>(gx));
    }

    public void UpsampleNearest(Buf x, Buf y)
    {
        var (n, c, h, w) = Nchw(x);
        if (x.DType == DType.F32) ResampleKernels.UpsampleNearest(n, c, h, w, y.Shape[2], y.Shape[3], P<float>(x), P<float>(y));
        else ResampleKernels.UpsampleNearest(n, c, h, w, y.Shape[2], y.Shape[3], P<double>(x), P<double>(y));
    }

    public void UpsampleNearestBackward(Buf gy, Buf gx)
    {
        var (n, c, h, w) = Nchw(gx);
        if (gy.DType == DType.F32) ResampleKernels.UpsampleNearestBackward(n, c, h, w, gy.Shape[2], gy.Shape[3], P<float>(gy), P<float>(gx));
        else ResampleKernels.UpsampleNearestBackward(n, c, h, w, gy.Shape[2], gy.Shape[3], P<double>(gy), P<double>(gx));
    }

    public void UpsampleBilinear(Buf x, Buf y, bool alignCorners)
    {
        var (n, c, h, w) = Nchw(x);
        if (x.DType == DType.F32) ResampleKernels.UpsampleBilinear(n, c, h, w, y.Shape[2], y.Shape[3], alignCorners, P<float>(x), P<float>(y));
        else ResampleKernels.UpsampleBilinear(n, c, h, w, y.Shape[2], y.Shape[3], alignCorners, P<double>(x), P<double>(y));
    }

    public void UpsampleBilinearBackward(Buf gy, Buf gx, bool alignCorners)
    {
        var (n, c, h, w) = Nchw(gx);
        if (gy.DType == DType.F32) ResampleKernels.UpsampleBilinearBackward(n, c, h, w, gy.Shape[2], gy.Shape[3], alignCorners, P<float>(gy), P<float>(gx));
        else ResampleKernels.UpsampleBilinearBackward(n, c, h, w, gy.Shape[2], gy.Shape[3], alignCorners, P<double>(gy), P<double>(gx));
    }

    /// <summary>Rank >= 2 buffers are seen as (planes, H, W).</summary>
    private static (int planes, int h, int w) Planes(Buf b)
    {
        int h = b.Shape[^2], w = b.Shape[^1];
        long planes = b.Numel / Math.Max(1L, (long)h * w);
        return ((int)planes, h, w);
    }

    public void Pad2d(Buf x, Buf y, int left, int right, int top, int bottom, PadMode mode, double value)
    {
        var (planes, h, w) = Planes(x);
        if (x.DType == DType.F32) PadKernels.Pad2d(planes, h, w, left, right, top, bottom, mode, (float)value, P<float>(x), P<float>(y));
        else PadKernels.Pad2d(planes, h, w, left, right, top, bottom, mode, value, P<double>(x), P<double>(y));
    }

    public void Pad2dBackward(Buf gy, Buf gx, int left, int right, int top, int bottom, PadMode mode)
    {
        var (planes, h, w) = Planes(gx);
        if (gy.DType == DType.F32) PadKernels.Pad2dBackward(planes, h, w, left, right, top, bottom, mode, P<float>(gy), P<float>(gx));
        else PadKernels.Pad2dBackward(planes, h, w, left, right, top, bottom, mode, P<double>(gy), P<double>(gx));
    }

    /// <summary>(outer, dim, inner) sizes of a contiguous buffer around axis d.</summary>
    private static (int outer, int inner) AroundDim(int[] shape, int d)
    {
        long outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= shape[i];
        for (int i = d + 1; i < shape.Length; i++) inner *= shape[i];
        return ((int)outer, (int)inner);
    }

    public void Gather(Buf x, int dim, Buf index, Buf y)
    {
        // Gather index may be smaller than x only along dim (the op layer checks the rest).
        var (outer, inner) = AroundDim(index.Shape, dim);
        if (x.DType == DType.F32) IndexKernels.Gather(outer, x.Shape[dim], index.Shape[dim], inner, P<float>(x), P<int>(index), P<float>(y));
        else IndexKernels.Gather(outer, x.Shape[dim], index.Shape[dim], inner, P<double>(x), P<int>(index), P<double>(y));
    }

    public void ScatterAdd(Buf y, int dim, Buf index, Buf src)
    {
        var (outer, inner) = AroundDim(index.Shape, dim);
        if (y.DType == DType.F32) IndexKernels.ScatterAdd(outer, y.Shape[dim], index.Shape[dim], inner, P<float>(y), P<int>(index), P<float>(src));
        else IndexKernels.ScatterAdd(outer, y.Shape[dim], index.Shape[dim], inner, P<double>(y), P<int>(index), P<double>(src));
    }

    public void IndexSelect(Buf x, int dim, Buf index, Buf y)
    {
        var (outer, inner) = AroundDim(x.Shape, dim);
        int n = index.Shape[0];
        if (x.DType == DType.F32) IndexKernels.IndexSelect(outer, x.Shape[dim], inner, P<float>(x), P<int>(index), n, P<float>(y));
        else IndexKernels.IndexSelect(outer, x.Shape[dim], inner, P<double>(x), P<int>(index), n, P<double>(y));
    }

    public void IndexAdd(Buf y, int dim, Buf index, Buf src)
    {
        var (outer, inner) = AroundDim(y.Shape, dim);
        int n = index.Shape[0];
        if (y.DType == DType.F32) IndexKernels.IndexAdd(outer, y.Shape[dim], inner, P<float>(y), P<int>(index), n, P<float>(src));
        else IndexKernels.IndexAdd(outer, y.Shape[dim], inner, P<double>(y), P<int>(index), n, P<double>(src));
    }
}
