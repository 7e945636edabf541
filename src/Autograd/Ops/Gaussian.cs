// Fused Gaussian ops with their backward rules (forward math and validation: Engine.Ops, Ops/Gaussian.cs).
// Each backward is one fused pass that writes the gradients of every input that requires grad and
// skips the rest. Rules return fresh tensors (the sample's mean gradient in Noise mode is the upstream
// gradient itself, returned as an alias); the engine accumulates them out of place.
//
// Random ops are pure functions of (seed, offset): GaussianSample keeps no eps tensor, its backward
// regenerates eps from the same counter range. A draw of n elements of dtype d consumes
// Philox.BlocksUsed(n, d.Size()) counter values, so a caller drawing several samples from one seed
// advances its offset by that much after each, e.g.
//     var z1 = F.GaussianSample(mu1, ls1, seed, offset); offset += Philox.BlocksUsed(mu1.Numel, 4); // f32
//     var z2 = F.GaussianSample(mu2, ls2, seed, offset); offset += Philox.BlocksUsed(mu2.Numel, 4);
// Reusing a range gives the same eps (intended only for recomputation, e.g. activation checkpointing).
namespace Engine.Autograd;

public static partial class F
{
    /// <summary>Reparameterized sample z = mu + exp(logSigma) * (T * eps) (mode Noise) or T * (mu + exp(logSigma) * eps)
    /// (mode Sample), eps = Tensor.Normal(shape, seed, offset). Gradients: dmu = a g (a = 1 or T), dlogSigma =
    /// g exp(logSigma) T eps.</summary>
    public static Var GaussianSample(Var mu, Var logSigma, ulong seed, ulong offset, double temperature = 1, TemperatureMode mode = TemperatureMode.Noise)
    {
        var z = Ops.GaussianSample(mu.Data, logSigma.Data, seed, offset, temperature, mode);
        var ls = logSigma.Data;
        return Record("GaussianSample", z, [mu, logSigma], gz =>
        {
            var (gm, gl) = Ops.GaussianSampleBackward(ls, gz, seed, offset, temperature, mode, mu.RequiresGrad, logSigma.RequiresGrad);
            return [gm, gl];
        });
    }

    /// <summary>KL(N(mu1, e^{2 logSigma1}) || N(mu2, e^{2 logSigma2})), elementwise then reduced (Ops.KlNormal).</summary>
    public static Var KlNormal(Var mu1, Var logSigma1, Var mu2, Var logSigma2, GaussianReduction reduction = GaussianReduction.None)
    {
        Tensor a = mu1.Data, b = logSigma1.Data, c = mu2.Data, d = logSigma2.Data;
        var y = Ops.KlNormal(a, b, c, d, reduction);
        return Record("KlNormal", y, [mu1, logSigma1, mu2, logSigma2], gy =>
        {
            var (g1, g2, g3, g4) = Ops.KlNormalBackward(a, b, c, d, gy, reduction,
                mu1.RequiresGrad, logSigma1.RequiresGrad, mu2.RequiresGrad, logSigma2.RequiresGrad);
            return [g1, g2, g3, g4];
        });
    }

    /// <summary>KL(N(mu, e^{2 logSigma}) || N(0, I)), elementwise then reduced (Ops.KlStdNormal).</summary>
    public static Var KlStdNormal(Var mu, Var logSigma, GaussianReduction reduction = GaussianReduction.None)
    {
        Tensor a = mu.Data, b = logSigma.Data;
        var y = Ops.KlStdNormal(a, b, reduction);
        return Record("KlStdNormal", y, [mu, logSigma], gy =>
        {
            var (g1, g2, _, _) = Ops.KlNormalBackward(a, b, null, null, gy, reduction, mu.RequiresGrad, logSigma.RequiresGrad);
            return [g1, g2];
        });
    }

    /// <summary>-log N(x; mu, e^{2 logSigma}), elementwise then reduced (Ops.GaussianNll); mu / logSigma null: 0.</summary>
    public static Var GaussianNll(Var x, Var? mu, Var? logSigma, GaussianReduction reduction = GaussianReduction.None)
    {
        Tensor xd = x.Data;
        Tensor? md = mu?.Data, ld = logSigma?.Data;
        var y = Ops.GaussianNll(xd, md, ld, reduction);
        var inputs = Present(x, mu, logSigma);
        return Record("GaussianNll", y, inputs, gy =>
        {
            var (gx, gm, gl) = Ops.GaussianNllBackward(xd, md, ld, gy, reduction, x.RequiresGrad, mu?.RequiresGrad ?? false, logSigma?.RequiresGrad ?? false);
            return Pick(gx, mu is null ? null : gm, logSigma is null ? null : gl, mu is not null, logSigma is not null);
        });
    }

    /// <summary>Per-sample bits of a flow (Ops.FlowBitsPerDim): -(log N(z; mu, e^{2 logSigma}) + logdet - dims ln nBins) / (dims ln 2).</summary>
    public static Var FlowBitsPerDim(Var z, Var logdet, double nBins, long dims, Var? mu = null, Var? logSigma = null)
    {
        Tensor zd = z.Data, dd = logdet.Data;
        Tensor? md = mu?.Data, ld = logSigma?.Data;
        var y = Ops.FlowBitsPerDim(zd, dd, nBins, dims, md, ld);
        var inputs = new List<Var> { z, logdet };
        if (mu is not null) inputs.Add(mu);
        if (logSigma is not null) inputs.Add(logSigma);
        return Record("FlowBitsPerDim", y, [.. inputs], gy =>
        {
            var (gz, gd, gm, gl) = Ops.FlowBitsPerDimBackward(zd, dd, nBins, dims, md, ld, gy,
                z.RequiresGrad, logdet.RequiresGrad, mu?.RequiresGrad ?? false, logSigma?.RequiresGrad ?? false);
            var r = new List<Tensor?> { gz, gd };
            if (mu is not null) r.Add(gm);
            if (logSigma is not null) r.Add(gl);
            return [.. r];
        });
    }

    /// <summary>Uniform dequantization (Ops.Dequantize): x + noise, the noise a function of (seed, offset); d/dx = 1.</summary>
    public static Var Dequantize(Var x, double nBins, ulong seed, ulong offset, bool centered = true)
        => Record("Dequantize", Ops.Dequantize(x.Data, nBins, seed, offset, centered), [x], gy => [gy.Alias()]);

    private static Var[] Present(Var first, Var? a, Var? b)
    {
        var l = new List<Var> { first };
        if (a is not null) l.Add(a);
        if (b is not null) l.Add(b);
        return [.. l];
    }

    private static Tensor?[] Pick(Tensor? first, Tensor? a, Tensor? b, bool hasA, bool hasB)
    {
        var l = new List<Tensor?> { first };
        if (hasA) l.Add(a);
        if (hasB) l.Add(b);
        return [.. l];
    }
}
