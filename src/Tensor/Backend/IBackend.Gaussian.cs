// Fused probabilistic ops on diagonal Gaussians parameterized by (mean, log sigma): reparameterized
// sample, KL divergence, negative log-likelihood (with the flow bits-per-dim epilogue) and uniform
// dequantization noise. Every buffer is contiguous, inputs share one shape and dtype (f32 or f64);
// the op layer (Ops/Gaussian.cs) validates and makes inputs contiguous. Outputs are overwritten.
//
// Random ops draw from the Philox stream of Engine.Random.Philox: element i (row-major) takes
// normal (or uniform) element i of a draw of the output's dtype at (seed, offset), exactly what
// Tensor.Normal / Tensor.Uniform(shape, seed, offset) return, so a backward can regenerate it.
//
// Reductions: y holds G values for n input elements (n a multiple of G); group g is the contiguous
// run of n / G elements starting at g * n / G (G = n: elementwise; G = batch: per sample; G = 1:
// total). Values are summed in double in an order fixed by n and G alone (not by thread or SM
// count), then scaled. A gradient gy has the same G values as y.
namespace Engine;

public partial interface IBackend
{
    /// <summary>z_i = meanScale * mu_i + exp(logSigma_i) * (temperature * eps_i).</summary>
    void GaussianSample(Buf mu, Buf logSigma, Buf z, ulong seed, ulong offset, double temperature, double meanScale);

    /// <summary>gMu_i = meanScale * gz_i; gLogSigma_i = gz_i * exp(logSigma_i) * (temperature * eps_i), eps regenerated
    /// from (seed, offset). A null output is not computed.</summary>
    void GaussianSampleBackward(Buf logSigma, Buf gz, Buf? gMu, Buf? gLogSigma, ulong seed, ulong offset, double temperature, double meanScale);

    /// <summary>y_g = scale * sum over group g of KL(N(mu1, e^{2 ls1}) || N(mu2, e^{2 ls2})); a null mu2 / ls2 is 0
    /// (null both: the standard normal prior).</summary>
    void GaussianKl(Buf mu1, Buf ls1, Buf? mu2, Buf? ls2, Buf y, double scale);

    /// <summary>The four input gradients of GaussianKl(..., scale) for the upstream gy (G values) in one pass;
    /// a null output is not computed.</summary>
    void GaussianKlBackward(Buf mu1, Buf ls1, Buf? mu2, Buf? ls2, Buf gy, double scale, Buf? gMu1, Buf? gLs1, Buf? gMu2, Buf? gLs2);

    /// <summary>y_g = scale * sum over group g of -log N(x; mu, e^{2 ls}) + addScale * addend_g + bias. A null mu /
    /// ls is 0; a null addend adds nothing. (The flow bits-per-dim is this with the log-determinant as addend.)</summary>
    void GaussianNll(Buf x, Buf? mu, Buf? ls, Buf y, double scale, Buf? addend, double addScale, double bias);

    /// <summary>Input gradients of GaussianNll's sum term (scale * sum of nll) for the upstream gy (G values) in one
    /// pass; a null output is not computed (the addend's gradient, addScale * gy, is the caller's).</summary>
    void GaussianNllBackward(Buf x, Buf? mu, Buf? ls, Buf gy, double scale, Buf? gx, Buf? gMu, Buf? gLs);

    /// <summary>y_i = x_i + (u_i - (centered ? 1/2 : 0)) / nBins, u_i the uniform [0, 1) element i of (seed, offset).</summary>
    void Dequantize(Buf x, Buf y, ulong seed, ulong offset, double nBins, bool centered);
}
