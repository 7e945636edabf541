// AKLD, DANet's average KL divergence between local noise variance maps (Yue et al., ECCV 2020;
// the spec's section C.3.4), in float64 (DANet computes in float32: expect ~1e-7 relative drift):
// - images in [0,1], (H, W, C) order; the synthetic noisy image is clipped to [0,1], not quantized;
// - local variance per channel: Sigma = G7 * (noisy - clean)^2, G7 the outer product of OpenCV's
//   fixed 7-tap table [1, 3.5, 7, 9, 7, 3.5, 1] / 32 (getGaussianKernel(7, -1); not a sampled
//   sigma = 1.4 Gaussian), borders reflected without repeating the edge (torch pad 'reflect',
//   d c b | a b c d), then clamped to >= 1e-10;
// - per pixel r = clamp(Sigma_synth / Sigma_real, 0.1, 10), kl = (-ln r + r - 1) / 2, i.e.
//   KL(N(0, Sigma_synth) || N(0, Sigma_real)), averaged over all pixels and channels;
// - AKLD = mean of that over L synthetic samples of the same clean image (DANet: L = 50); the
//   dataset value is the mean over images (caller's loop).
namespace Engine.Imaging;

public static class Akld
{
    /// <summary>OpenCV's small_gaussian_tab entry for 7 taps; sums to exactly 1.</summary>
    public static readonly double[] Taps7 = { 1 / 32.0, 3.5 / 32, 7 / 32.0, 9 / 32.0, 7 / 32.0, 3.5 / 32, 1 / 32.0 };

    private static void Check(string op, int h, int w, int c, int n, string what)
    {
        if (h < 4 || w < 4 || c < 1)
            throw new InvalidArgumentException(op, $"image (H={h}, W={w}, C={c}) too small: the 7x7 reflect pad needs H, W >= 4");
        if ((long)h * w * c != n)
            throw new ShapeMismatchException(op, $"{what} has {n} values, (H={h}, W={w}, C={c}) needs {(long)h * w * c}");
    }

    /// <summary>Local noise variance G7 * (noisy - clean)^2 per channel, clamped to &gt;= 1e-10; (H, W, C).</summary>
    public static double[] LocalVariance(ReadOnlySpan<double> noisy, ReadOnlySpan<double> clean, int h, int w, int c)
    {
        Check("Akld.LocalVariance", h, w, c, noisy.Length, "noisy");
        Check("Akld.LocalVariance", h, w, c, clean.Length, "clean");
        int n = h * w * c;
        var e2 = new double[n];
        for (int i = 0; i < n; i++) { double d = noisy[i] - clean[i]; e2[i] = d * d; }
        var tmp = new double[n];
        var outp = new double[n];
        // along H, then along W (separable form of the 2-D outer-product kernel)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++)
                {
                    double s = 0;
                    for (int k = -3; k <= 3; k++) s += Taps7[k + 3] * e2[(Reflect101(y + k, h) * w + x) * c + ch];
                    tmp[(y * w + x) * c + ch] = s;
                }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++)
                {
                    double s = 0;
                    for (int k = -3; k <= 3; k++) s += Taps7[k + 3] * tmp[(y * w + Reflect101(x + k, w)) * c + ch];
                    outp[(y * w + x) * c + ch] = Math.Max(s, 1e-10);
                }
        return outp;
    }

    /// <summary>torch/numpy 'reflect' padding (edge not repeated); valid for offsets up to n - 1.</summary>
    private static int Reflect101(int i, int n) => i < 0 ? -i : i >= n ? 2 * n - 2 - i : i;

    /// <summary>Mean over pixels and channels of KL(N(0, synth) || N(0, real)) with the ratio clamped to [0.1, 10].</summary>
    public static double ZeroMeanGaussianKl(ReadOnlySpan<double> sigmaSynth, ReadOnlySpan<double> sigmaReal)
    {
        if (sigmaSynth.Length != sigmaReal.Length || sigmaSynth.Length == 0)
            throw new ShapeMismatchException("Akld.ZeroMeanGaussianKl", $"variance maps of {sigmaSynth.Length} and {sigmaReal.Length} values");
        double s = 0;
        for (int i = 0; i < sigmaSynth.Length; i++)
        {
            double r = Math.Clamp(sigmaSynth[i] / sigmaReal[i], 0.1, 10.0);
            s += Math.Log(1 / r) + r - 1.0;
        }
        return 0.5 * (s / sigmaSynth.Length);
    }

    /// <summary>AKLD of synthetic noisy samples against one real noisy image of the same clean image;
    /// all (H, W, C) in [0,1]. The samples are clipped to [0,1] first.</summary>
    public static double Compute(ReadOnlySpan<double> clean, ReadOnlySpan<double> realNoisy, IReadOnlyList<double[]> synthSamples, int h, int w, int c)
    {
        if (synthSamples.Count == 0) throw new InvalidArgumentException("Akld.Compute", "no synthetic samples");
        var real = LocalVariance(realNoisy, clean, h, w, c);
        double sum = 0;
        var clipped = new double[clean.Length];
        foreach (var s in synthSamples)
        {
            Check("Akld.Compute", h, w, c, s.Length, "synthetic sample");
            for (int i = 0; i < clipped.Length; i++) clipped[i] = Math.Clamp(s[i], 0.0, 1.0);
            sum += ZeroMeanGaussianKl(LocalVariance(clipped, clean, h, w, c), real);
        }
        return sum / synthSamples.Count;
    }
}
