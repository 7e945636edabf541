// Flow ops (Glow / SRFlow / DeFlow): fused ActNorm and the affine coupling / injector epilogue with
// their backward ops, and W^-1 of an LU-parameterized 1x1 convolution by triangular solves.
// Validation throws typed errors naming the op and every offending shape, dtype and device before
// anything is allocated. Layout: x (N, C, H, W); ActNorm's bias/logs have C elements, as (C) or
// (1, C, 1, 1); the epilogue's h is (N, 2C, H, W) in "cross" order (shift = h[:, 0::2], raw scale =
// h[:, 1::2]); logdet is (N). The epilogue accepts an x whose samples are dense but lie at any
// stride (a channel Narrow of a bigger tensor) without copying it.
using Engine.Cpu.Kernels;

namespace Engine;

public static partial class Ops
{
    // ------------------------------------------------------------------ validation

    private static void CheckFlowTensor(string op, Tensor a, Tensor b, string what)
    {
        CheckSameDevice(op, a, b);
        if (a.DType != b.DType) throw new DTypeMismatchException(op, $"{what} {Fmt.Of(b)} vs input {Fmt.Of(a)}");
    }

    private static void CheckActNormArgs(string op, Tensor x, Tensor bias, Tensor logs)
    {
        CheckFloat(op, x);
        CheckRank(op, x, 4, "input (N, C, H, W)");
        CheckFlowTensor(op, x, bias, "bias");
        CheckFlowTensor(op, x, logs, "logs");
        int c = x.Size(1);
        foreach (var (t, what) in new[] { (bias, "bias"), (logs, "logs") })
        {
            bool ok = t.Numel == c && (t.Rank == 1 || (t.Rank == 4 && t.Size(0) == 1 && t.Size(2) == 1 && t.Size(3) == 1));
            if (!ok) throw new ShapeMismatchException(op, $"{what} {Fmt.Of(t)} must be ({c}) or (1, {c}, 1, 1) for input {Fmt.Of(x)}");
        }
    }

    private static void CheckEpilogueArgs(string op, Tensor x, Tensor h, double eps)
    {
        CheckFloat(op, x);
        CheckRank(op, x, 4, "input (N, C, H, W)");
        CheckFlowTensor(op, x, h, "network output h");
        var s = x.Layout.Shape;
        if (h.Rank != 4 || h.Size(0) != s[0] || h.Size(1) != 2 * s[1] || h.Size(2) != s[2] || h.Size(3) != s[3])
            throw new ShapeMismatchException(op, $"network output h {Fmt.Of(h)} must be (N, 2C, H, W) = {Fmt.Shape([s[0], 2 * s[1], s[2], s[3]])} for input {Fmt.Of(x)}");
        if (!(eps >= 0) || !double.IsFinite(eps)) throw new InvalidArgumentException(op, $"eps must be finite and >= 0, got {eps}");
    }

    /// <summary>t when its samples (dims 1..) are dense, else a contiguous copy.</summary>
    private static Tensor DenseSamples(Tensor t)
    {
        var L = t.Layout;
        var inner = new Layout(L.Shape[1..], L.Strides[1..], 0);
        return inner.IsContiguous ? t.Alias() : t.Clone();
    }

    private static Tensor Channels(Tensor t) => t.Rank == 1 ? t.Contiguous() : t.Reshape(-1);

    // ------------------------------------------------------------------ ActNorm

    /// <summary>y = (x + bias) * exp(logs) per channel (the data-independent part of ActNorm's
    /// logdet, H*W*sum(logs), is left to the caller: it depends on logs only).</summary>
    public static Tensor ActNorm(Tensor x, Tensor bias, Tensor logs) => ActNormImpl("ActNorm", x, bias, logs, false);

    /// <summary>x = y * exp(-logs) - bias per channel: the inverse of ActNorm.</summary>
    public static Tensor ActNormInverse(Tensor y, Tensor bias, Tensor logs) => ActNormImpl("ActNormInverse", y, bias, logs, true);

    private static Tensor ActNormImpl(string op, Tensor x, Tensor bias, Tensor logs, bool inverse)
    {
        CheckActNormArgs(op, x, bias, logs);
        using var xc = x.Contiguous();
        using var bc = Channels(bias);
        using var lc = Channels(logs);
        var y = Tensor.Empty(x.Layout.Shape, x.DType, x.Device);
        x.Backend.ActNorm(xc.Buf, bc.Buf, lc.Buf, y.Buf, inverse);
        return y;
    }

    /// <summary>Gradients of ActNorm (inverse = false) or ActNormInverse (inverse = true) at input x:
    /// gx (null unless needInputGrad), and gbias, glogs in the shapes of bias and logs.</summary>
    public static (Tensor? gx, Tensor gbias, Tensor glogs) ActNormBackward(Tensor x, Tensor gy, Tensor bias, Tensor logs, bool inverse, bool needInputGrad = true)
    {
        string op = inverse ? "ActNormInverseBackward" : "ActNormBackward";
        CheckActNormArgs(op, x, bias, logs);
        CheckFlowTensor(op, x, gy, "gradient");
        if (!gy.Layout.SameShape(x.Layout)) throw new ShapeMismatchException(op, $"gradient {Fmt.Of(gy)} vs input {Fmt.Of(x)}");
        using var xc = x.Contiguous();
        using var gc = gy.Contiguous();
        using var bc = Channels(bias);
        using var lc = Channels(logs);
        var gx = needInputGrad ? Tensor.Empty(x.Layout.Shape, x.DType, x.Device) : null;
        var gb = Tensor.Empty(bias.Layout.Shape, x.DType, x.Device);
        var gl = Tensor.Empty(logs.Layout.Shape, x.DType, x.Device);
        x.Backend.ActNormBackward(xc.Buf, gc.Buf, bc.Buf, lc.Buf, gx?.Buf, gb.Buf, gl.Buf, inverse);
        return (gx, gb, gl);
    }

    // ------------------------------------------------------------------ affine epilogue

    /// <summary>Coupling / injector epilogue, SRFlow's forward ("normal") formula:
    /// y = (x + shift) * scale with scale = sigmoid(raw + 2) + eps, logdet[n] = sum log(scale).</summary>
    public static (Tensor y, Tensor logdet) AffineEpilogue(Tensor x, Tensor h, double eps) => EpilogueImpl("AffineEpilogue", x, h, eps, false);

    /// <summary>The inverse: x = y / scale - shift, logdet[n] = -sum log(scale).</summary>
    public static (Tensor x, Tensor logdet) AffineEpilogueInverse(Tensor y, Tensor h, double eps) => EpilogueImpl("AffineEpilogueInverse", y, h, eps, true);

    private static (Tensor, Tensor) EpilogueImpl(string op, Tensor x, Tensor h, double eps, bool inverse)
    {
        CheckEpilogueArgs(op, x, h, eps);
        using var xd = DenseSamples(x);
        using var hc = h.Contiguous();
        var y = Tensor.Empty(x.Layout.Shape, x.DType, x.Device);
        var ld = Tensor.Empty([x.Size(0)], x.DType, x.Device);
        x.Backend.AffineEpilogue(xd.Buf, hc.Buf, y.Buf, ld.Buf, eps, inverse);
        return (y, ld);
    }

    /// <summary>Gradients of AffineEpilogue (inverse = false) or AffineEpilogueInverse (inverse = true)
    /// at (x, h), given the gradient of the output (gy) and/or of the logdet (glogdet, (N)); either may
    /// be null when no gradient reached it, not both. Returns gx (null when gy is null or
    /// !needInputGrad) and gh.</summary>
    public static (Tensor? gx, Tensor gh) AffineEpilogueBackward(Tensor x, Tensor h, Tensor? gy, Tensor? glogdet, double eps, bool inverse, bool needInputGrad = true)
    {
        string op = inverse ? "AffineEpilogueInverseBackward" : "AffineEpilogueBackward";
        CheckEpilogueArgs(op, x, h, eps);
        if (gy == null && glogdet == null) throw new InvalidArgumentException(op, "neither an output gradient nor a logdet gradient was given");
        if (gy != null)
        {
            CheckFlowTensor(op, x, gy, "output gradient");
            if (!gy.Layout.SameShape(x.Layout)) throw new ShapeMismatchException(op, $"output gradient {Fmt.Of(gy)} vs input {Fmt.Of(x)}");
        }
        if (glogdet != null)
        {
            CheckFlowTensor(op, x, glogdet, "logdet gradient");
            if (glogdet.Rank != 1 || glogdet.Size(0) != x.Size(0)) throw new ShapeMismatchException(op, $"logdet gradient {Fmt.Of(glogdet)} must be ({x.Size(0)}) for input {Fmt.Of(x)}");
        }
        using var xd = DenseSamples(x);
        using var hc = h.Contiguous();
        using var gc = gy?.Contiguous();
        using var lc = glogdet?.Contiguous();
        var gx = gy != null && needInputGrad ? Tensor.Empty(x.Layout.Shape, x.DType, x.Device) : null;
        var gh = Tensor.Empty(h.Layout.Shape, x.DType, x.Device);
        x.Backend.AffineEpilogueBackward(xd.Buf, hc.Buf, gc?.Buf, lc?.Buf, gx?.Buf, gh.Buf, eps, inverse);
        return (gx, gh);
    }

    // ------------------------------------------------------------------ LU inverse

    /// <summary>Row-major host copy in double (no native allocation on the way).</summary>
    private static double[] HostDoubles(Tensor t) => t.DType == DType.F64 ? t.ToArray<double>() : Array.ConvertAll(t.ToArray<float>(), v => (double)v);

    /// <summary>W^-1 for W = P L U (each (C, C)), as U^-1 L^-1 P^T by two triangular solves on the
    /// host in double: L is taken as unit lower (its diagonal and upper part are not read), U as
    /// upper (its strictly lower part is not read). The result has the inputs' dtype and device.</summary>
    public static Tensor LuInverse(Tensor p, Tensor lower, Tensor upper)
    {
        const string op = "LuInverse";
        CheckFloat(op, p);
        CheckFlowTensor(op, p, lower, "lower factor");
        CheckFlowTensor(op, p, upper, "upper factor");
        int c = p.Rank == 2 ? p.Size(0) : -1;
        foreach (var (t, what) in new[] { (p, "permutation"), (lower, "lower factor"), (upper, "upper factor") })
            if (t.Rank != 2 || t.Size(0) != c || t.Size(1) != c)
                throw new ShapeMismatchException(op, $"{what} {Fmt.Of(t)} must be square and match permutation {Fmt.Of(p)}");
        double[] pd = HostDoubles(p), ld = HostDoubles(lower), ud = HostDoubles(upper);
        for (int i = 0; i < c; i++)
        {
            double d = ud[i * c + i];
            if (d == 0 || !double.IsFinite(d))
                throw new InvalidArgumentException(op, $"upper factor {Fmt.Of(upper)} has diagonal entry {d} at ({i}, {i}): the matrix is singular");
        }
        var inv = FlowKernels.LuInverse(pd, ld, ud, c);
        using var host = Tensor.FromArray(inv, [c, c]);
        using var typed = host.To(p.DType);
        return typed.To(p.Device);
    }
}
