// CPU random fills: Philox4x32-10 with the element mapping documented in Random/Philox.cs.
namespace Engine.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void FillUniform(Buf dst, ulong seed, ulong offset, double lo, double hi)
    {
        var s = S(dst);
        if (dst.DType == DType.F32) Engine.Random.Philox.FillUniform(s.Span<float>(dst.Layout.Offset, dst.Numel), seed, offset, (float)lo, (float)hi);
        else Engine.Random.Philox.FillUniform(s.Span<double>(dst.Layout.Offset, dst.Numel), seed, offset, lo, hi);
    }

    public void FillNormal(Buf dst, ulong seed, ulong offset, double mean, double std)
    {
        var s = S(dst);
        if (dst.DType == DType.F32) Engine.Random.Philox.FillNormal(s.Span<float>(dst.Layout.Offset, dst.Numel), seed, offset, (float)mean, (float)std);
        else Engine.Random.Philox.FillNormal(s.Span<double>(dst.Layout.Offset, dst.Numel), seed, offset, mean, std);
    }
}
