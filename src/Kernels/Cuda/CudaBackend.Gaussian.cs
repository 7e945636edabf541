// CUDA fused Gaussian family (kernels-cu/gaussian.cu; contract in Tensor/Backend/IBackend.Gaussian.cs):
// the CPU backend's buffer checks (contiguous buffers of one float dtype and element count, a group
// count dividing the input), then one launch per elementwise pass or two per grouped reduction
// (per-chunk partial sums in double into a scratch, then one block per group). Outputs are
// overwritten. Random draws use the CPU's Philox element mapping, so samples match the CPU's up to
// the rounding of exp/log/sin/cos and dequantization is bitwise the CPU's.
namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <summary>Elements per partial sum of a grouped reduction (the `chunk` of gaussian.cu): fixed, so the
    /// summation order depends on (n, G) only.</summary>
    internal const long GaChunk = 8192;
    /// <summary>Threads per block of the reduction kernels (GA_BLOCK in gaussian.cu).</summary>
    private const int GaBlock = 256;

    public void GaussianSample(Buf mu, Buf logSigma, Buf z, ulong seed, ulong offset, double temperature, double meanScale)
    {
        const string op = "GaussianSample";
        GaCheck(op, z, ("mu", mu), ("log sigma", logSigma), ("z", z));
        long n = z.Numel;
        var args = KernelArgs.Begin().Ptr(Ptr(z, op)).Ptr(Ptr(mu, op)).Ptr(Ptr(logSigma, op)).I64(n).U64(seed).U64(offset);
        GaLaunchPhilox($"gauss_sample_{Sfx(z.DType)}", z.DType, n, GaPair(args, z.DType, temperature, meanScale));
    }

    public void GaussianSampleBackward(Buf logSigma, Buf gz, Buf? gMu, Buf? gLogSigma, ulong seed, ulong offset, double temperature, double meanScale)
    {
        const string op = "GaussianSampleBackward";
        GaCheck(op, gz, ("log sigma", logSigma), ("grad", gz), ("mu grad", gMu), ("log sigma grad", gLogSigma));
        if (gMu is null && gLogSigma is null) return;
        long n = gz.Numel;
        var args = KernelArgs.Begin().Ptr(GaPtr(gMu, op)).Ptr(GaPtr(gLogSigma, op)).Ptr(Ptr(logSigma, op)).Ptr(Ptr(gz, op)).I64(n).U64(seed).U64(offset);
        GaLaunchPhilox($"gauss_sample_backward_{Sfx(gz.DType)}", gz.DType, n, GaPair(args, gz.DType, temperature, meanScale));
    }

    public void Dequantize(Buf x, Buf y, ulong seed, ulong offset, double nBins, bool centered)
    {
        const string op = "Dequantize";
        GaCheck(op, y, ("x", x), ("y", y));
        long n = y.Numel;
        var args = KernelArgs.Begin().Ptr(Ptr(y, op)).Ptr(Ptr(x, op)).I64(n).U64(seed).U64(offset);
        GaLaunchPhilox($"gauss_dequantize_{Sfx(y.DType)}", y.DType, n, GaPair(args, y.DType, nBins, centered ? 0.5 : 0.0));
    }

    public void GaussianKl(Buf mu1, Buf ls1, Buf? mu2, Buf? ls2, Buf y, double scale)
    {
        const string op = "GaussianKl";
        GaCheck(op, mu1, ("mu1", mu1), ("log sigma1", ls1), ("mu2", mu2), ("log sigma2", ls2));
        long g = GaGroups(op, mu1, y, "output"), n = mu1.Numel;
        string sfx = Sfx(mu1.DType);
        ulong p1 = Ptr(mu1, op), p2 = Ptr(ls1, op), p3 = GaPtr(mu2, op), p4 = GaPtr(ls2, op), py = Ptr(y, op);
        if (g == n)
        {
            Launch1D($"gauss_kl_{sfx}", n, KernelArgs.Begin().Ptr(py).Ptr(p1).Ptr(p2).Ptr(p3).Ptr(p4).I64(n).F64(scale));
            return;
        }
        GaReduce(op, sfx, y, n, g, null, scale, 0, 0, (part, per) =>
            KernelArgs.Begin().Ptr(part).Ptr(p1).Ptr(p2).Ptr(p3).Ptr(p4).I64(n).I64(g).I64(per).I64(GaChunk), "gauss_kl_partial_");
    }

    public void GaussianKlBackward(Buf mu1, Buf ls1, Buf? mu2, Buf? ls2, Buf gy, double scale, Buf? gMu1, Buf? gLs1, Buf? gMu2, Buf? gLs2)
    {
        const string op = "GaussianKlBackward";
        GaCheck(op, mu1, ("mu1", mu1), ("log sigma1", ls1), ("mu2", mu2), ("log sigma2", ls2),
            ("mu1 grad", gMu1), ("log sigma1 grad", gLs1), ("mu2 grad", gMu2), ("log sigma2 grad", gLs2));
        long g = GaGroups(op, mu1, gy, "grad"), n = mu1.Numel;
        if (g == 0 || (gMu1 is null && gLs1 is null && gMu2 is null && gLs2 is null)) return;
        Launch1D($"gauss_kl_backward_{Sfx(mu1.DType)}", n, KernelArgs.Begin()
            .Ptr(GaPtr(gMu1, op)).Ptr(GaPtr(gLs1, op)).Ptr(GaPtr(gMu2, op)).Ptr(GaPtr(gLs2, op))
            .Ptr(Ptr(mu1, op)).Ptr(Ptr(ls1, op)).Ptr(GaPtr(mu2, op)).Ptr(GaPtr(ls2, op)).Ptr(Ptr(gy, op))
            .I64(n).I64(n / g).F64(scale));
    }

    public void GaussianNll(Buf x, Buf? mu, Buf? ls, Buf y, double scale, Buf? addend, double addScale, double bias)
    {
        const string op = "GaussianNll";
        GaCheck(op, x, ("x", x), ("mu", mu), ("log sigma", ls));
        long g = GaGroups(op, x, y, "output"), n = x.Numel;
        if (addend is Buf a) GaCheck(op, y, ("addend", a));
        string sfx = Sfx(x.DType);
        ulong px = Ptr(x, op), pm = GaPtr(mu, op), pl = GaPtr(ls, op), py = Ptr(y, op), pa = GaPtr(addend, op);
        if (g == n)
        {
            Launch1D($"gauss_nll_{sfx}", n, KernelArgs.Begin().Ptr(py).Ptr(px).Ptr(pm).Ptr(pl).I64(n).F64(scale).Ptr(pa).F64(addScale).F64(bias));
            return;
        }
        GaReduce(op, sfx, y, n, g, addend, scale, addScale, bias, (part, per) =>
            KernelArgs.Begin().Ptr(part).Ptr(px).Ptr(pm).Ptr(pl).I64(n).I64(g).I64(per).I64(GaChunk), "gauss_nll_partial_");
    }

    public void GaussianNllBackward(Buf x, Buf? mu, Buf? ls, Buf gy, double scale, Buf? gx, Buf? gMu, Buf? gLs)
    {
        const string op = "GaussianNllBackward";
        GaCheck(op, x, ("x", x), ("mu", mu), ("log sigma", ls), ("x grad", gx), ("mu grad", gMu), ("log sigma grad", gLs));
        long g = GaGroups(op, x, gy, "grad"), n = x.Numel;
        if (g == 0 || (gx is null && gMu is null && gLs is null)) return;
        Launch1D($"gauss_nll_backward_{Sfx(x.DType)}", n, KernelArgs.Begin()
            .Ptr(GaPtr(gx, op)).Ptr(GaPtr(gMu, op)).Ptr(GaPtr(gLs, op))
            .Ptr(Ptr(x, op)).Ptr(GaPtr(mu, op)).Ptr(GaPtr(ls, op)).Ptr(Ptr(gy, op))
            .I64(n).I64(n / g).F64(scale));
    }

    // ------------------------------------------------------------------ launch helpers

    /// <summary>Two-stage grouped reduction: the partial kernel (arguments from `partialArgs(partials, per)`) writes
    /// one double per (group, chunk), gauss_finish_* one value per group.</summary>
    private void GaReduce(string op, string sfx, Buf y, long n, long g, Buf? addend, double scale, double addScale, double bias,
        Func<ulong, long, KernelArgs> partialArgs, string partialKernel)
    {
        if (g == 0) return;
        long m = n / g, per = (m + GaChunk - 1) / GaChunk, tasks = g * per;
        using var part = tasks > 0 ? Scratch(DType.F64, tasks) : null;
        ulong pp = part?.Ptr ?? 0;
        long cap = Math.Max(1, (long)Runtime.MultiprocessorCount * 32);
        if (tasks > 0)
            Launch(partialKernel + sfx, new Dim3((uint)Math.Min(tasks, cap)), new Dim3(GaBlock), 0, partialArgs(pp, per));
        Launch($"gauss_finish_{sfx}", new Dim3((uint)Math.Min(g, cap)), new Dim3(GaBlock), 0,
            KernelArgs.Begin().Ptr(Ptr(y, op)).Ptr(pp).Ptr(GaPtr(addend, op)).I64(g).I64(per).F64(scale).F64(addScale).F64(bias));
    }

    /// <summary>One thread per Philox block (4 f32 or 2 f64 elements).</summary>
    private void GaLaunchPhilox(string kernel, DType dt, long n, KernelArgs args)
        => Launch1D(kernel, dt == DType.F32 ? (n + 3) / 4 : (n + 1) / 2, args);

    /// <summary>Appends two scalars in the kernel's dtype.</summary>
    private static KernelArgs GaPair(KernelArgs args, DType dt, double a, double b)
        => dt == DType.F32 ? args.F32((float)a).F32((float)b) : args.F64(a).F64(b);

    private ulong GaPtr(Buf? b, string op) => b is Buf v ? Ptr(v, op) : 0;

    /// <summary>Every present buffer: on this device, contiguous, of the reference's float dtype and element count.</summary>
    private void GaCheck(string op, Buf reference, params (string what, Buf? buf)[] bufs)
    {
        if (!reference.DType.IsFloat())
            throw new DTypeMismatchException(op, $"{Device}: needs f32 or f64, got {Desc(reference)}");
        foreach (var (what, b) in bufs)
        {
            if (b is not Buf v) continue;
            S(v, op);
            if (v.DType != reference.DType) throw new DTypeMismatchException(op, $"{what} {Desc(v)} vs {Desc(reference)} on {Device}");
            if (v.Numel != reference.Numel) throw new ShapeMismatchException(op, $"{what} {Desc(v)} vs {Desc(reference)} on {Device}");
            if (v.Numel > 0 && !v.Layout.IsContiguous) throw new UnsupportedOpException(op, $"{Device}: {what} {Desc(v)} must be contiguous, got {v.Layout}");
        }
    }

    /// <summary>The group count G of an output (or gradient) y for input x: G divides x's element count.</summary>
    private long GaGroups(string op, Buf x, Buf y, string what)
    {
        S(y, op);
        if (y.DType != x.DType) throw new DTypeMismatchException(op, $"{what} {Desc(y)} vs input {Desc(x)} on {Device}");
        if (y.Numel > 0 && !y.Layout.IsContiguous) throw new UnsupportedOpException(op, $"{Device}: {what} {Desc(y)} must be contiguous, got {y.Layout}");
        long g = y.Numel, n = x.Numel;
        if (g == 0 ? n != 0 : n % g != 0)
            throw new ShapeMismatchException(op, $"{what} {Desc(y)} ({g} groups) does not divide input {Desc(x)} ({n} elements) on {Device}");
        return g;
    }
}
