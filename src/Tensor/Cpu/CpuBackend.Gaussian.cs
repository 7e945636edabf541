// CPU fused Gaussian family (contract: Backend/IBackend.Gaussian.cs): buffer checks here, loops in
// Kernels/GaussianKernels.cs. Outputs are overwritten.
using Engine.Cpu.Kernels;

namespace Engine.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void GaussianSample(Buf mu, Buf logSigma, Buf z, ulong seed, ulong offset, double temperature, double meanScale)
    {
        const string op = "GaussianSample";
        GaCheck(op, z, ("mu", mu), ("log sigma", logSigma), ("z", z));
        if (z.DType == DType.F32) GaussianKernels.Sample(z.Numel, P<float>(mu), P<float>(logSigma), P<float>(z), seed, offset, (float)temperature, (float)meanScale);
        else GaussianKernels.Sample(z.Numel, P<double>(mu), P<double>(logSigma), P<double>(z), seed, offset, temperature, meanScale);
    }

    public void GaussianSampleBackward(Buf logSigma, Buf gz, Buf? gMu, Buf? gLogSigma, ulong seed, ulong offset, double temperature, double meanScale)
    {
        const string op = "GaussianSampleBackward";
        GaCheck(op, gz, ("log sigma", logSigma), ("grad", gz), ("mu grad", gMu), ("log sigma grad", gLogSigma));
        if (gz.DType == DType.F32)
            GaussianKernels.SampleBackward(gz.Numel, P<float>(logSigma), P<float>(gz), Po<float>(gMu), Po<float>(gLogSigma), seed, offset, (float)temperature, (float)meanScale);
        else
            GaussianKernels.SampleBackward(gz.Numel, P<double>(logSigma), P<double>(gz), Po<double>(gMu), Po<double>(gLogSigma), seed, offset, temperature, meanScale);
    }

    public void GaussianKl(Buf mu1, Buf ls1, Buf? mu2, Buf? ls2, Buf y, double scale)
    {
        const string op = "GaussianKl";
        GaCheck(op, mu1, ("mu1", mu1), ("log sigma1", ls1), ("mu2", mu2), ("log sigma2", ls2));
        long g = GaGroups(op, mu1, y, "output");
        if (y.DType == DType.F32) GaussianKernels.KlForward(mu1.Numel, g, P<float>(mu1), P<float>(ls1), Po<float>(mu2), Po<float>(ls2), P<float>(y), scale);
        else GaussianKernels.KlForward(mu1.Numel, g, P<double>(mu1), P<double>(ls1), Po<double>(mu2), Po<double>(ls2), P<double>(y), scale);
    }

    public void GaussianKlBackward(Buf mu1, Buf ls1, Buf? mu2, Buf? ls2, Buf gy, double scale, Buf? gMu1, Buf? gLs1, Buf? gMu2, Buf? gLs2)
    {
        const string op = "GaussianKlBackward";
        GaCheck(op, mu1, ("mu1", mu1), ("log sigma1", ls1), ("mu2", mu2), ("log sigma2", ls2),
            ("mu1 grad", gMu1), ("log sigma1 grad", gLs1), ("mu2 grad", gMu2), ("log sigma2 grad", gLs2));
        long g = GaGroups(op, mu1, gy, "grad");
        if (gy.DType == DType.F32)
            GaussianKernels.KlBackward(mu1.Numel, g, P<float>(mu1), P<float>(ls1), Po<float>(mu2), Po<float>(ls2), P<float>(gy), scale,
                Po<float>(gMu1), Po<float>(gLs1), Po<float>(gMu2), Po<float>(gLs2));
        else
            GaussianKernels.KlBackward(mu1.Numel, g, P<double>(mu1), P<double>(ls1), Po<double>(mu2), Po<double>(ls2), P<double>(gy), scale,
                Po<double>(gMu1), Po<double>(gLs1), Po<double>(gMu2), Po<double>(gLs2));
    }

    public void GaussianNll(Buf x, Buf? mu, Buf? ls, Buf y, double scale, Buf? addend, double addScale, double bias)
    {
        const string op = "GaussianNll";
        GaCheck(op, x, ("x", x), ("mu", mu), ("log sigma", ls));
        long g = GaGroups(op, x, y, "output");
        if (addend is Buf a) GaCheck(op, y, ("addend", a));
        if (y.DType == DType.F32)
            GaussianKernels.NllForward(x.Numel, g, P<float>(x), Po<float>(mu), Po<float>(ls), P<float>(y), scale, Po<float>(addend), addScale, bias);
        else
            GaussianKernels.NllForward(x.Numel, g, P<double>(x), Po<double>(mu), Po<double>(ls), P<double>(y), scale, Po<double>(addend), addScale, bias);
    }

    public void GaussianNllBackward(Buf x, Buf? mu, Buf? ls, Buf gy, double scale, Buf? gx, Buf? gMu, Buf? gLs)
    {
        const string op = "GaussianNllBackward";
        GaCheck(op, x, ("x", x), ("mu", mu), ("log sigma", ls), ("x grad", gx), ("mu grad", gMu), ("log sigma grad", gLs));
        long g = GaGroups(op, x, gy, "grad");
        if (gy.DType == DType.F32)
            GaussianKernels.NllBackward(x.Numel, g, P<float>(x), Po<float>(mu), Po<float>(ls), P<float>(gy), scale, Po<float>(gx), Po<float>(gMu), Po<float>(gLs));
        else
            GaussianKernels.NllBackward(x.Numel, g, P<double>(x), Po<double>(mu), Po<double>(ls), P<double>(gy), scale, Po<double>(gx), Po<double>(gMu), Po<double>(gLs));
    }

    public void Dequantize(Buf x, Buf y, ulong seed, ulong offset, double nBins, bool centered)
    {
        GaCheck("Dequantize", y, ("x", x), ("y", y));
        if (y.DType == DType.F32) GaussianKernels.Dequantize(y.Numel, P<float>(x), P<float>(y), seed, offset, (float)nBins, centered ? 0.5f : 0f);
        else GaussianKernels.Dequantize(y.Numel, P<double>(x), P<double>(y), seed, offset, nBins, centered ? 0.5 : 0.0);
    }

    // ------------------------------------------------------------------ checks

    private static T* Po<T>(Buf? b) where T : unmanaged => b is Buf v ? P<T>(v) : null;

    /// <summary>Every present buffer: a CPU, contiguous, float buffer of the reference's dtype and element count.</summary>
    private static void GaCheck(string op, Buf reference, params (string what, Buf? buf)[] bufs)
    {
        if (!reference.DType.IsFloat())
            throw new DTypeMismatchException(op, $"cpu: needs f32 or f64, got {reference.DType.Name()} {Fmt.Shape(reference.Shape)}");
        foreach (var (what, b) in bufs)
        {
            if (b is not Buf v) continue;
            S(v);
            if (v.DType != reference.DType)
                throw new DTypeMismatchException(op, $"cpu: {what} {v.DType.Name()} {Fmt.Shape(v.Shape)} vs {reference.DType.Name()} {Fmt.Shape(reference.Shape)}");
            if (v.Numel != reference.Numel)
                throw new ShapeMismatchException(op, $"cpu: {what} {Fmt.Shape(v.Shape)} vs {Fmt.Shape(reference.Shape)}");
            if (v.Numel > 0 && !v.Layout.IsContiguous)
                throw new UnsupportedOpException(op, $"cpu: {what} {Fmt.Shape(v.Shape)} must be contiguous, got {v.Layout}");
        }
    }

    /// <summary>The group count G of a reduction output (or its gradient) for input x: G divides x's element count.</summary>
    private static long GaGroups(string op, Buf x, Buf y, string what)
    {
        S(y);
        if (y.DType != x.DType) throw new DTypeMismatchException(op, $"cpu: {what} {y.DType.Name()} {Fmt.Shape(y.Shape)} vs input {x.DType.Name()} {Fmt.Shape(x.Shape)}");
        if (y.Numel > 0 && !y.Layout.IsContiguous) throw new UnsupportedOpException(op, $"cpu: {what} {Fmt.Shape(y.Shape)} must be contiguous, got {y.Layout}");
        long g = y.Numel, n = x.Numel;
        if (g == 0 ? n != 0 : n % g != 0)
            throw new ShapeMismatchException(op, $"cpu: {what} {Fmt.Shape(y.Shape)} ({g} groups) does not divide input {Fmt.Shape(x.Shape)} ({n} elements)");
        return g;
    }
}
