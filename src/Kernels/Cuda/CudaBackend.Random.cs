// CUDA Philox draws (kernels-cu/random.cu): the stream and element mapping of Engine.Random.Philox, so a
// (seed, offset) draw gives the CPU's values: uniform bitwise equal, normal equal up to the rounding of
// log/sqrt/sin/cos. The affine parameters are rounded to the dtype on the host exactly as the CPU does
// ((float)lo, (float)hi - (float)lo, ...). A strided destination is filled through a contiguous scratch.
namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    public void FillUniform(Buf dst, ulong seed, ulong offset, double lo, double hi)
    {
        SpFloat("Uniform", dst, "destination");
        float lo32 = (float)lo, scale32 = (float)hi - lo32; // Philox.FillUniform(float): scale = hi - lo in float
        FillPhilox("Uniform", "philox_uniform_", dst, seed, offset, lo32, scale32, lo, hi - lo);
    }

    public void FillNormal(Buf dst, ulong seed, ulong offset, double mean, double std)
    {
        SpFloat("Normal", dst, "destination");
        FillPhilox("Normal", "philox_normal_", dst, seed, offset, (float)mean, (float)std, mean, std);
    }

    /// <summary>One thread per Philox block (4 f32 or 2 f64 elements) over a contiguous target; the two
    /// affine parameters go as (a32, b32) to the f32 kernel and as (a64, b64) to the f64 one.</summary>
    private void FillPhilox(string op, string kernel, Buf dst, ulong seed, ulong offset, float a32, float b32, double a64, double b64)
    {
        S(dst, op);
        long n = dst.Numel;
        if (n == 0) return;
        bool f32 = dst.DType == DType.F32;
        long blocks = f32 ? (n + 3) / 4 : (n + 1) / 2;
        using var tmp = dst.Layout.IsContiguous ? null : Scratch(dst.DType, n);
        var args = KernelArgs.Begin().Ptr(tmp is null ? Ptr(dst, op) : tmp.Ptr).I64(n).U64(seed).U64(offset);
        if (f32) args.F32(a32).F32(b32); else args.F64(a64).F64(b64);
        Launch1D(kernel + Sfx(dst.DType), blocks, args);
        if (tmp is not null) Copy(new Buf(tmp, Layout.Contiguous(dst.Shape)), dst);
    }
}
