// CPU vector-quantization family: shape bookkeeping here, loops in Kernels/VqKernels.cs (which
// documents the arithmetic the CUDA kernels reproduce bit for bit). Buffers arrive contiguous from
// the op layer; outputs are overwritten, the EMA state is updated in place.
using System.Numerics;
using Engine.Cpu.Kernels;

namespace Engine.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void VqNearest(Buf x, Buf codebook, Buf indices, Buf? distances)
    {
        int n = x.Shape[0], d = x.Shape[1], k = codebook.Shape[0];
        if (x.DType == DType.F32) VqKernels.Nearest(n, k, d, P<float>(x), P<float>(codebook), P<int>(indices), distances is { } df ? P<float>(df) : null);
        else VqKernels.Nearest(n, k, d, P<double>(x), P<double>(codebook), P<int>(indices), distances is { } dd ? P<double>(dd) : null);
    }

    public void VqSegmentSum(Buf src, Buf indices, Buf y, Buf? counts)
    {
        int n = src.Shape[0], d = src.Shape[1], k = y.Shape[0];
        int* pc = counts is { } c ? P<int>(c) : null;
        if (src.DType == DType.F32) VqKernels.SegmentSum(n, k, d, P<float>(src), P<int>(indices), P<float>(y), pc);
        else VqKernels.SegmentSum(n, k, d, P<double>(src), P<int>(indices), P<double>(y), pc);
    }

    public void VqCounts(Buf indices, Buf counts) => VqKernels.Counts((int)indices.Numel, counts.Shape[0], P<int>(indices), P<int>(counts));

    public void VqPerplexity(Buf counts, Buf y)
    {
        double v = VqKernels.Perplexity(counts.Shape[0], P<int>(counts));
        if (y.DType == DType.F32) *P<float>(y) = (float)v;
        else *P<double>(y) = v;
    }

    public void VqSquaredError(Buf x, Buf q, Buf y, double scale)
    {
        if (x.DType == DType.F32) *P<float>(y) = (float)(scale * VqKernels.SquaredError(x.Numel, P<float>(x), P<float>(q)));
        else *P<double>(y) = scale * VqKernels.SquaredError(x.Numel, P<double>(x), P<double>(q));
    }

    public void VqSquaredErrorBackward(Buf x, Buf q, Buf gy, Buf? gx, Buf? gq, double ax, double aq)
    {
        if (x.DType == DType.F32) SqErrBwd<float>(x, q, gy, gx, gq, ax, aq);
        else SqErrBwd<double>(x, q, gy, gx, gq, ax, aq);
    }

    private static void SqErrBwd<T>(Buf x, Buf q, Buf gy, Buf? gx, Buf? gq, double ax, double aq) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // The coefficient is formed in double and rounded once, as the device does.
        double g = double.CreateTruncating(*P<T>(gy));
        VqKernels.SquaredErrorBackward(x.Numel, P<T>(x), P<T>(q), T.CreateTruncating(ax * g), T.CreateTruncating(aq * g),
            gx is { } bx ? P<T>(bx) : null, gq is { } bq ? P<T>(bq) : null);
    }

    public void VqEmaUpdate(Buf x, Buf indices, Buf codebook, Buf clusterSize, Buf embedSum, Buf counts, VqEmaParams p)
    {
        int n = x.Shape[0], d = x.Shape[1], k = codebook.Shape[0];
        if (x.DType == DType.F32)
            VqKernels.EmaUpdate(n, k, d, P<float>(x), P<int>(indices), P<float>(codebook), P<float>(clusterSize), P<float>(embedSum), P<int>(counts),
                p.Decay, p.Eps, p.DeadThreshold, p.Seed, p.Offset);
        else
            VqKernels.EmaUpdate(n, k, d, P<double>(x), P<int>(indices), P<double>(codebook), P<double>(clusterSize), P<double>(embedSum), P<int>(counts),
                p.Decay, p.Eps, p.DeadThreshold, p.Seed, p.Offset);
    }
}
