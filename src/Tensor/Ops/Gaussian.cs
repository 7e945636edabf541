// Fused probabilistic ops on diagonal Gaussians N(mu, sigma^2) given by (mu, log sigma), the
// parameterization of LUD-VAE / SeNM-VAE (specs/ludvae-senmvae.md §0: "(mu, ls) ... sigma = exp(ls)",
// no softplus, no clamping) and of DeFlow's split prior (specs/deflow.md §3.8): reparameterized
// sample, KL divergence, negative log-likelihood, the flow's bits per dimension and dequantization.
// Each op validates (typed errors naming the op, shapes, dtypes and devices) before allocating, makes
// strided inputs contiguous and calls one backend method; backward ops return fresh tensors, except
// GaussianSampleBackward's mean gradient when it is the upstream gradient itself (an alias).
//
// Layout: inputs of one op share one shape; dim 0 is the batch (per-sample reductions sum or average
// over all other dims).
namespace Engine;

/// <summary>How a per-element result is reduced.</summary>
public enum GaussianReduction
{
    /// <summary>Per element: the input's shape.</summary>
    None,
    /// <summary>Summed over every dim but dim 0: shape (B).</summary>
    SumPerSample,
    /// <summary>Averaged over every dim but dim 0: shape (B).</summary>
    MeanPerSample,
    /// <summary>Summed over everything: a scalar.</summary>
    Sum,
    /// <summary>Averaged over everything: a scalar.</summary>
    Mean,
}

/// <summary>What a sampling temperature T scales.</summary>
public enum TemperatureMode
{
    /// <summary>z = mu + sigma * (T * eps): the noise only (Glow / DeFlow-style temperature, deflow.md §1.3).</summary>
    Noise,
    /// <summary>z = T * (mu + sigma * eps): the whole sample, as LUD-VAE and SeNM-VAE generate
    /// (ludvae-senmvae.md §1.7 and §2.12: "τ multiplies the whole sample").</summary>
    Sample,
}

public static partial class Ops
{
    // ------------------------------------------------------------------ reparameterized sample

    /// <summary>Reparameterized sample z = mu + exp(logSigma) * (T * eps) (TemperatureMode.Noise) or
    /// T * (mu + exp(logSigma) * eps) (TemperatureMode.Sample); eps = Tensor.Normal(shape, seed, offset)
    /// element for element, in the inputs' dtype. The draw consumes Philox.BlocksUsed(numel, dtype size)
    /// counter values: the next independent draw with the same seed starts at offset + that.</summary>
    public static Tensor GaussianSample(Tensor mu, Tensor logSigma, ulong seed, ulong offset, double temperature = 1, TemperatureMode mode = TemperatureMode.Noise)
    {
        const string op = "GaussianSample";
        GaSame(op, ("mu", mu), ("log sigma", logSigma));
        double a = GaMeanScale(op, temperature, mode);
        using var m = mu.Contiguous();
        using var l = logSigma.Contiguous();
        var z = Tensor.Empty(mu.Layout.Shape, mu.DType, mu.Device);
        mu.Backend.GaussianSample(m.Buf, l.Buf, z.Buf, seed, offset, temperature, a);
        return z;
    }

    /// <summary>Gradients of GaussianSample for the upstream gz: dL/dmu = a gz (a = 1, or T in Sample
    /// mode; for a = 1 an alias of gz) and dL/dlogSigma = gz * exp(logSigma) * T * eps, eps regenerated
    /// from (seed, offset).</summary>
    public static (Tensor? GMu, Tensor? GLogSigma) GaussianSampleBackward(Tensor logSigma, Tensor gz, ulong seed, ulong offset,
        double temperature = 1, TemperatureMode mode = TemperatureMode.Noise, bool needMu = true, bool needLogSigma = true)
    {
        const string op = "GaussianSampleBackward";
        GaSame(op, ("log sigma", logSigma), ("grad", gz));
        double a = GaMeanScale(op, temperature, mode);
        // With a = 1 the mean's gradient is gz itself: an alias, nothing to write.
        var gm = !needMu ? null : a == 1 ? gz.Alias() : Tensor.Empty(gz.Layout.Shape, gz.DType, gz.Device);
        var gl = needLogSigma ? Tensor.Empty(gz.Layout.Shape, gz.DType, gz.Device) : null;
        if (gl == null && (gm == null || a == 1)) return (gm, gl);
        using var l = logSigma.Contiguous();
        using var g = gz.Contiguous();
        gz.Backend.GaussianSampleBackward(l.Buf, g.Buf, a == 1 ? null : gm?.Buf, gl?.Buf, seed, offset, temperature, a);
        return (gm, gl);
    }

    // ------------------------------------------------------------------ KL divergence

    /// <summary>KL(N(mu1, e^{2 ls1}) || N(mu2, e^{2 ls2})) = -1/2 + ls2 - ls1 + (e^{2 ls1} + (mu1 - mu2)^2) / (2 e^{2 ls2})
    /// per element (ludvae-senmvae.md §0), then reduced.</summary>
    public static Tensor KlNormal(Tensor mu1, Tensor logSigma1, Tensor mu2, Tensor logSigma2, GaussianReduction reduction = GaussianReduction.None)
        => Kl("KlNormal", mu1, logSigma1, mu2, logSigma2, reduction);

    /// <summary>KL(N(mu, e^{2 ls}) || N(0, I)) = 1/2 (e^{2 ls} + mu^2 - 1) - ls per element, then reduced.</summary>
    public static Tensor KlStdNormal(Tensor mu, Tensor logSigma, GaussianReduction reduction = GaussianReduction.None)
        => Kl("KlStdNormal", mu, logSigma, null, null, reduction);

    private static Tensor Kl(string op, Tensor mu1, Tensor ls1, Tensor? mu2, Tensor? ls2, GaussianReduction reduction)
    {
        GaSame(op, ("mu1", mu1), ("log sigma1", ls1), ("mu2", mu2), ("log sigma2", ls2));
        var (shape, scale) = GaPlan(op, mu1, reduction);
        using var a = mu1.Contiguous(); using var b = ls1.Contiguous();
        using var c = mu2?.Contiguous(); using var d = ls2?.Contiguous();
        var y = Tensor.Empty(shape, mu1.DType, mu1.Device);
        mu1.Backend.GaussianKl(a.Buf, b.Buf, c?.Buf, d?.Buf, y.Buf, scale);
        return y;
    }

    /// <summary>All four gradients of KlNormal (mu2 and logSigma2 null: KlStdNormal, whose prior has none)
    /// for the upstream gy of the reduction's shape, in one pass; unneeded ones are null.</summary>
    public static (Tensor? GMu1, Tensor? GLogSigma1, Tensor? GMu2, Tensor? GLogSigma2) KlNormalBackward(
        Tensor mu1, Tensor logSigma1, Tensor? mu2, Tensor? logSigma2, Tensor gy, GaussianReduction reduction,
        bool needMu1 = true, bool needLogSigma1 = true, bool needMu2 = true, bool needLogSigma2 = true)
    {
        const string op = "KlNormalBackward";
        if ((mu2 is null) != (logSigma2 is null))
            throw new InvalidArgumentException(op, "mu2 and log sigma2 are both given or both null (the standard normal prior)");
        GaSame(op, ("mu1", mu1), ("log sigma1", logSigma1), ("mu2", mu2), ("log sigma2", logSigma2));
        var (shape, scale) = GaPlan(op, mu1, reduction);
        GaGrad(op, mu1, gy, shape);
        needMu2 &= mu2 != null; needLogSigma2 &= logSigma2 != null;
        using var a = mu1.Contiguous(); using var b = logSigma1.Contiguous();
        using var c = mu2?.Contiguous(); using var d = logSigma2?.Contiguous();
        using var g = gy.Contiguous();
        Tensor? New(bool need) => need ? Tensor.Empty(mu1.Layout.Shape, mu1.DType, mu1.Device) : null;
        Tensor? g1 = New(needMu1), g2 = New(needLogSigma1), g3 = New(needMu2), g4 = New(needLogSigma2);
        if (g1 != null || g2 != null || g3 != null || g4 != null)
            mu1.Backend.GaussianKlBackward(a.Buf, b.Buf, c?.Buf, d?.Buf, g.Buf, scale, g1?.Buf, g2?.Buf, g3?.Buf, g4?.Buf);
        return (g1, g2, g3, g4);
    }

    // ------------------------------------------------------------------ negative log-likelihood

    /// <summary>-log N(x; mu, e^{2 ls}) = 1/2 ln(2 pi) + ls + (x - mu)^2 / (2 e^{2 ls}) per element, then reduced;
    /// a null mu or logSigma is 0 (both null: the standard normal).</summary>
    public static Tensor GaussianNll(Tensor x, Tensor? mu, Tensor? logSigma, GaussianReduction reduction = GaussianReduction.None)
    {
        const string op = "GaussianNll";
        GaSame(op, ("x", x), ("mu", mu), ("log sigma", logSigma));
        var (shape, scale) = GaPlan(op, x, reduction);
        using var a = x.Contiguous(); using var b = mu?.Contiguous(); using var c = logSigma?.Contiguous();
        var y = Tensor.Empty(shape, x.DType, x.Device);
        x.Backend.GaussianNll(a.Buf, b?.Buf, c?.Buf, y.Buf, scale, null, 0, 0);
        return y;
    }

    /// <summary>The gradients of GaussianNll for the upstream gy of the reduction's shape, in one pass.</summary>
    public static (Tensor? GX, Tensor? GMu, Tensor? GLogSigma) GaussianNllBackward(Tensor x, Tensor? mu, Tensor? logSigma, Tensor gy,
        GaussianReduction reduction, bool needX = true, bool needMu = true, bool needLogSigma = true)
    {
        const string op = "GaussianNllBackward";
        GaSame(op, ("x", x), ("mu", mu), ("log sigma", logSigma));
        var (shape, scale) = GaPlan(op, x, reduction);
        GaGrad(op, x, gy, shape);
        return NllGrads(x, mu, logSigma, gy, scale, needX, needMu && mu != null, needLogSigma && logSigma != null);
    }

    private static (Tensor?, Tensor?, Tensor?) NllGrads(Tensor x, Tensor? mu, Tensor? ls, Tensor gy, double scale, bool needX, bool needMu, bool needLs)
    {
        using var a = x.Contiguous(); using var b = mu?.Contiguous(); using var c = ls?.Contiguous();
        using var g = gy.Contiguous();
        Tensor? New(bool need) => need ? Tensor.Empty(x.Layout.Shape, x.DType, x.Device) : null;
        Tensor? gx = New(needX), gm = New(needMu), gl = New(needLs);
        if (gx != null || gm != null || gl != null)
            x.Backend.GaussianNllBackward(a.Buf, b?.Buf, c?.Buf, g.Buf, scale, gx?.Buf, gm?.Buf, gl?.Buf);
        return (gx, gm, gl);
    }

    // ------------------------------------------------------------------ flow likelihood in bits

    /// <summary>Per-sample bits of a normalizing flow, as DeFlow/SRFlow compute their NLL (deflow.md §5.1):
    /// bits_b = -(log p(z_b) + logdet_b - dims ln(nBins)) / (dims ln 2), with log p(z_b) the log-density of z_b
    /// (B, ...) under N(mu, e^{2 logSigma}) (null: 0 / standard normal) summed over its non-batch dims, logdet (B)
    /// the summed log|det J| of the layers (DeFlow adds the split-level prior terms to it), and -dims ln(nBins) the
    /// dequantization constant. DeFlow uses nBins = 32 and dims = H * W of the flow input ("bits per pixel"; the
    /// constant has no factor 3, deflow.md §5.1 and §12.5); Glow-style bits per dimension use dims = C * H * W.</summary>
    public static Tensor FlowBitsPerDim(Tensor z, Tensor logdet, double nBins, long dims, Tensor? mu = null, Tensor? logSigma = null)
    {
        const string op = "FlowBitsPerDim";
        var (scale, bias) = BpdCheck(op, z, logdet, nBins, dims, mu, logSigma);
        using var a = z.Contiguous(); using var b = mu?.Contiguous(); using var c = logSigma?.Contiguous();
        using var ld = logdet.Contiguous();
        var y = Tensor.Empty([z.Size(0)], z.DType, z.Device);
        z.Backend.GaussianNll(a.Buf, b?.Buf, c?.Buf, y.Buf, scale, ld.Buf, -scale, bias);
        return y;
    }

    /// <summary>Gradients of FlowBitsPerDim for the upstream gy (B): d/dlogdet = -gy / (dims ln 2), and those of z,
    /// mu and logSigma through the Gaussian term (scaled by 1 / (dims ln 2)).</summary>
    public static (Tensor? GZ, Tensor? GLogdet, Tensor? GMu, Tensor? GLogSigma) FlowBitsPerDimBackward(Tensor z, Tensor logdet, double nBins, long dims,
        Tensor? mu, Tensor? logSigma, Tensor gy, bool needZ = true, bool needLogdet = true, bool needMu = true, bool needLogSigma = true)
    {
        const string op = "FlowBitsPerDimBackward";
        var (scale, _) = BpdCheck(op, z, logdet, nBins, dims, mu, logSigma);
        GaGrad(op, z, gy, [z.Size(0)]);
        var (gz, gm, gl) = NllGrads(z, mu, logSigma, gy, scale, needZ, needMu && mu != null, needLogSigma && logSigma != null);
        var gd = needLogdet ? Mul(gy, -scale) : null;
        return (gz, gd, gm, gl);
    }

    private static (double scale, double bias) BpdCheck(string op, Tensor z, Tensor logdet, double nBins, long dims, Tensor? mu, Tensor? ls)
    {
        GaSame(op, ("z", z), ("mu", mu), ("log sigma", ls));
        CheckFloat(op, logdet); CheckSameDevice(op, z, logdet); CheckSameDType(op, z, logdet);
        if (z.Rank < 1) throw new RankException(op, $"z must have a batch dim (rank >= 1), got {Fmt.Of(z)}");
        if (logdet.Rank != 1 || logdet.Size(0) != z.Size(0))
            throw new ShapeMismatchException(op, $"logdet {Fmt.Of(logdet)} must be ({z.Size(0)}), one value per sample of z {Fmt.Of(z)}");
        if (!(nBins > 0) || !double.IsFinite(nBins)) throw new InvalidArgumentException(op, $"nBins must be finite and > 0, got {nBins}");
        if (dims <= 0) throw new InvalidArgumentException(op, $"dims must be > 0, got {dims}");
        double scale = 1.0 / (dims * Math.Log(2));
        return (scale, Math.Log2(nBins));
    }

    // ------------------------------------------------------------------ dequantization

    /// <summary>Uniform dequantization x + (u - 1/2) / nBins (centered, DeFlow: "x + (U(0,1) - 0.5) / 32", deflow.md §5.1)
    /// or x + u / nBins (not centered), u = Tensor.Uniform(shape, seed, offset) element for element (consumes
    /// Philox.BlocksUsed(numel, dtype size) counter values). Differentiable in x with gradient 1.</summary>
    public static Tensor Dequantize(Tensor x, double nBins, ulong seed, ulong offset, bool centered = true)
    {
        const string op = "Dequantize";
        CheckFloat(op, x);
        if (!(nBins > 0) || !double.IsFinite(nBins)) throw new InvalidArgumentException(op, $"nBins must be finite and > 0, got {nBins}");
        using var a = x.Contiguous();
        var y = Tensor.Empty(x.Layout.Shape, x.DType, x.Device);
        x.Backend.Dequantize(a.Buf, y.Buf, seed, offset, nBins, centered);
        return y;
    }

    // ------------------------------------------------------------------ checks

    /// <summary>Every present tensor: floating, and of the first one's dtype, device and shape.</summary>
    private static void GaSame(string op, params (string what, Tensor? t)[] ts)
    {
        var (rw, r) = ts[0];
        CheckFloat(op, r!);
        foreach (var (what, t) in ts.Skip(1))
        {
            if (t is null) continue;
            if (t.Device != r!.Device) throw new DeviceMismatchException(op, $"{what} {Fmt.Of(t)} vs {rw} {Fmt.Of(r)}");
            if (t.DType != r.DType) throw new DTypeMismatchException(op, $"{what} {Fmt.Of(t)} vs {rw} {Fmt.Of(r)}");
            if (!t.Layout.SameShape(r.Layout)) throw new ShapeMismatchException(op, $"{what} {Fmt.Of(t)} vs {rw} {Fmt.Of(r)}");
        }
    }

    /// <summary>Output shape and scale of a reduction of x.</summary>
    private static (int[] shape, double scale) GaPlan(string op, Tensor x, GaussianReduction r)
    {
        if ((r is GaussianReduction.SumPerSample or GaussianReduction.MeanPerSample) && x.Rank < 1)
            throw new RankException(op, $"a per-sample reduction needs a batch dim (rank >= 1), got {Fmt.Of(x)}");
        long n = x.Numel;
        return r switch
        {
            GaussianReduction.None => (x.Shape, 1.0),
            GaussianReduction.SumPerSample => ([x.Size(0)], 1.0),
            GaussianReduction.MeanPerSample => ([x.Size(0)], x.Size(0) == 0 ? 1.0 : 1.0 / (n / x.Size(0))),
            GaussianReduction.Sum => ([], 1.0),
            GaussianReduction.Mean => ([], 1.0 / n),
            _ => throw new InvalidArgumentException(op, $"unknown reduction {r}"),
        };
    }

    private static void GaGrad(string op, Tensor x, Tensor gy, int[] shape)
    {
        CheckSameDevice(op, x, gy); CheckSameDType(op, x, gy);
        if (!gy.Layout.Shape.AsSpan().SequenceEqual(shape))
            throw new ShapeMismatchException(op, $"grad {Fmt.Of(gy)} must have the output's shape {Fmt.Shape(shape)} for input {Fmt.Of(x)}");
    }

    private static double GaMeanScale(string op, double temperature, TemperatureMode mode)
    {
        if (!double.IsFinite(temperature)) throw new InvalidArgumentException(op, $"temperature must be finite, got {temperature}");
        return mode switch
        {
            TemperatureMode.Noise => 1.0,
            TemperatureMode.Sample => temperature,
            _ => throw new InvalidArgumentException(op, $"unknown temperature mode {mode}"),
        };
    }
}
