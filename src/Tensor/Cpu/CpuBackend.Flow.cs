// CPU flow family: dispatch by dtype to Cpu/Kernels/FlowKernels. The op layer has validated shapes
// and made every buffer dense (x of AffineEpilogue: dense per sample, any sample stride).
using System.Numerics;
using Engine.Cpu.Kernels;

namespace Engine.Cpu;

public sealed unsafe partial class CpuBackend
{
    private static (int n, int c, long hw) FlowNchw(Buf x) => (x.Shape[0], x.Shape[1], (long)x.Shape[2] * x.Shape[3]);

    private static T* FlowPtr<T>(Buf? b) where T : unmanaged => b is { } v ? P<T>(v) : null;

    public void ActNorm(Buf x, Buf bias, Buf logs, Buf y, bool inverse)
    {
        var (n, c, hw) = FlowNchw(x);
        if (x.DType == DType.F32) FlowKernels.ActNorm(P<float>(x), P<float>(bias), P<float>(logs), P<float>(y), n, c, hw, inverse);
        else if (x.DType == DType.F64) FlowKernels.ActNorm(P<double>(x), P<double>(bias), P<double>(logs), P<double>(y), n, c, hw, inverse);
        else throw new DTypeMismatchException("ActNorm", $"cpu flow op on {x.DType.Name()}");
    }

    public void ActNormBackward(Buf x, Buf gy, Buf bias, Buf logs, Buf? gx, Buf gbias, Buf glogs, bool inverse)
    {
        var (n, c, hw) = FlowNchw(x);
        if (x.DType == DType.F32) ActNormBackwardT<float>(x, gy, bias, logs, gx, gbias, glogs, n, c, hw, inverse);
        else if (x.DType == DType.F64) ActNormBackwardT<double>(x, gy, bias, logs, gx, gbias, glogs, n, c, hw, inverse);
        else throw new DTypeMismatchException("ActNormBackward", $"cpu flow op on {x.DType.Name()}");
    }

    private static void ActNormBackwardT<T>(Buf x, Buf gy, Buf bias, Buf logs, Buf? gx, Buf gbias, Buf glogs, int n, int c, long hw, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
        => FlowKernels.ActNormBackward(P<T>(x), P<T>(gy), P<T>(bias), P<T>(logs), FlowPtr<T>(gx), P<T>(gbias), P<T>(glogs), n, c, hw, inverse);

    public void AffineEpilogue(Buf x, Buf h, Buf y, Buf logdet, double eps, bool inverse)
    {
        var (n, c, hw) = FlowNchw(x);
        long xs = x.Layout.Strides[0];
        if (x.DType == DType.F32) FlowKernels.Affine(P<float>(x), xs, P<float>(h), P<float>(y), P<float>(logdet), n, c, hw, (float)eps, inverse);
        else if (x.DType == DType.F64) FlowKernels.Affine(P<double>(x), xs, P<double>(h), P<double>(y), P<double>(logdet), n, c, hw, eps, inverse);
        else throw new DTypeMismatchException("AffineEpilogue", $"cpu flow op on {x.DType.Name()}");
    }

    public void AffineEpilogueBackward(Buf x, Buf h, Buf? gy, Buf? glogdet, Buf? gx, Buf gh, double eps, bool inverse)
    {
        var (n, c, hw) = FlowNchw(x);
        long xs = x.Layout.Strides[0];
        if (x.DType == DType.F32) FlowKernels.AffineBackward(P<float>(x), xs, P<float>(h), FlowPtr<float>(gy), FlowPtr<float>(glogdet), FlowPtr<float>(gx), P<float>(gh), n, c, hw, (float)eps, inverse);
        else if (x.DType == DType.F64) FlowKernels.AffineBackward(P<double>(x), xs, P<double>(h), FlowPtr<double>(gy), FlowPtr<double>(glogdet), FlowPtr<double>(gx), P<double>(gh), n, c, hw, eps, inverse);
        else throw new DTypeMismatchException("AffineEpilogueBackward", $"cpu flow op on {x.DType.Name()}");
    }
}
