// Noise statistics for judging synthetic degradations (BENCHMARK.md step 6; the spec's section C.3):
// - residuals on the 8-bit grid: n = noisy/255 - clean/255 (NeCA: real and synthetic noisy images
//   are both quantized like saved 8-bit images, which Image8 already is), all pixels and channels
//   pooled, no per-channel split;
// - the histogram KL divergence between two residual sets, with the bins and zero handling of a
//   named variant (NoiseKldVariant); default NeCA: 64 bins of width 0.2/64 over [-0.1, 0.1] plus
//   the two overflow bins (-1000, -0.1) and (0.1, 1000), 67 edges, numpy histogram semantics
//   ([left, right), last bin closed), forward KL(real || synthetic), natural log, over the bins where
//   both histograms are non-zero, no smoothing;
// - the residual standard deviation per band of clean intensity, and the synthetic/real ratio.
// Edges replicate numpy: np.arange(-0.1, 0.1 + 1e-9, 0.2/64) fills start + i * ((start + step) - start),
// so the middle edge is not exactly 0 and a zero residual falls where numpy puts it.
// Other variants of the spec's C.3.3: NAFlow's cal_kld (256 bins over [-1, 1], no tails, same mask)
// as another NoiseKldVariant; SeNM-VAE's compute_kl, a different quantity (histograms of the grayscale
// noisy images themselves, not of residuals), as IntensityKlSeNm.
namespace Engine.Imaging;

/// <summary>How the noise histograms are binned and compared.</summary>
public enum NoiseKldVariant
{
    /// <summary>NeCA cal_kld: 66 bins (64 in [-0.1, 0.1] + 2 overflow), forward KL over bins with P &gt; 0 and Q &gt; 0.</summary>
    NeCa,
    /// <summary>Noise Flow kldiv_simple: the same 66 bins, add-one smoothing (count + 1) / (n + 66) on both, forward KL.</summary>
    NoiseFlowAddOne,
    /// <summary>NAFlow cal_kld (the NeCA reproduction's active metric, spec C.3.3): 256 bins of width
    /// 2/256 over [-1, 1] (257 edges, no overflow bins; |residual| &lt;= 1 always holds on the 8-bit grid),
    /// forward KL over bins with P &gt; 0 and Q &gt; 0, no smoothing.</summary>
    NaFlow,
}

/// <summary>Residual statistics of one band of clean intensity [Lo, Hi) (the last band closed).</summary>
public readonly record struct BandStat(double Lo, double Hi, long Count, double Mean, double Std);

public static class NoiseStats
{
    /// <summary>The 67 edges of the NeCA / Noise Flow histogram, bit-identical to numpy's
    /// concatenate(([-1000], arange(-0.1, 0.1 + 1e-9, 0.2 / 64), [1000])).</summary>
    public static double[] NeCaEdges()
    {
        double start = -0.1, stop = 0.1 + 1e-9, step = 0.2 / 64;
        int len = (int)Math.Ceiling((stop - start) / step);
        double delta = (start + step) - start;
        var e = new double[len + 2];
        e[0] = -1000.0;
        e[1] = start;
        if (len > 1) e[2] = start + step;
        for (int i = 2; i < len; i++) e[i + 1] = start + i * delta;
        e[len + 1] = 1000.0;
        return e;
    }

    /// <summary>The 257 edges of NAFlow's histogram, numpy's arange(-1, 1 + 2/256, 2/256): the step is a
    /// power of two, so every edge -1 + i/128 is exact.</summary>
    public static double[] NaFlowEdges()
    {
        var e = new double[257];
        for (int i = 0; i < e.Length; i++) e[i] = -1.0 + i * (2.0 / 256);
        return e;
    }

    /// <summary>The histogram edges a variant bins residuals with.</summary>
    public static double[] Edges(NoiseKldVariant variant) => variant switch
    {
        NoiseKldVariant.NeCa or NoiseKldVariant.NoiseFlowAddOne => NeCaEdges(),
        NoiseKldVariant.NaFlow => NaFlowEdges(),
        _ => throw new InvalidArgumentException("NoiseStats.Edges", $"unknown KL variant {variant}"),
    };

    /// <summary>numpy.histogram counts for sorted edges: bin k is [e_k, e_k+1), the last bin also takes
    /// its right edge; values outside [e_0, e_last] and NaN are not counted.</summary>
    public static long[] Histogram(ReadOnlySpan<double> values, double[] edges)
    {
        if (edges.Length < 2) throw new InvalidArgumentException("Histogram", $"needs at least 2 edges, got {edges.Length}");
        var counts = new long[edges.Length - 1];
        double lo = edges[0], hi = edges[^1];
        foreach (double v in values)
        {
            if (!(v >= lo && v <= hi)) continue;
            int k;
            if (v == hi) k = counts.Length - 1;
            else
            {
                // largest k with edges[k] <= v (numpy searchsorted side='right' minus one)
                int a = 0, b = edges.Length - 1;
                while (b - a > 1) { int m = (a + b) >> 1; if (edges[m] <= v) a = m; else b = m; }
                k = a;
            }
            counts[k]++;
        }
        return counts;
    }

    /// <summary>Residuals noisy/255 - clean/255 of two 8-bit images, (H, W, C) order, all channels.</summary>
    public static double[] Residuals(Image8 noisy, Image8 clean)
    {
        if (noisy.Height != clean.Height || noisy.Width != clean.Width || noisy.Channels != clean.Channels)
            throw new ShapeMismatchException("NoiseStats.Residuals", $"noisy {noisy.ShapeText} vs clean {clean.ShapeText}");
        var r = new double[noisy.Data.Length];
        for (int i = 0; i < r.Length; i++) r[i] = noisy.Data[i] / 255.0 - clean.Data[i] / 255.0;
        return r;
    }

    /// <summary>Forward KL(real || synthetic) between the histograms of two residual sets (natural log).
    /// 0 when the histograms agree; empty inputs are rejected. NeCA caveat: bins empty in either
    /// histogram are skipped, so synthetic mass where the real noise has none is not penalized (a 3x too
    /// wide noise can score below 0.01); read it together with the std ratio or the add-one variant.</summary>
    public static double HistogramKl(ReadOnlySpan<double> realResiduals, ReadOnlySpan<double> synthResiduals, NoiseKldVariant variant = NoiseKldVariant.NeCa)
    {
        if (realResiduals.Length == 0 || synthResiduals.Length == 0)
            throw new InvalidArgumentException("HistogramKl", $"empty residual set (real {realResiduals.Length}, synthetic {synthResiduals.Length})");
        var edges = Edges(variant);
        return HistogramKl(Histogram(realResiduals, edges), realResiduals.Length, Histogram(synthResiduals, edges), synthResiduals.Length, variant);
    }

    /// <summary>The same KL from histogram counts already binned with <see cref="Edges"/>(variant), e.g.
    /// summed over a folder of images. <paramref name="realCount"/> / <paramref name="synthCount"/> are
    /// the element counts the frequencies divide by (numpy's np.prod(data.shape), which also counts
    /// values outside the edges).</summary>
    public static double HistogramKl(long[] real, long realCount, long[] synth, long synthCount, NoiseKldVariant variant = NoiseKldVariant.NeCa)
    {
        int nb = Edges(variant).Length - 1;
        if (real.Length != nb || synth.Length != nb)
            throw new ShapeMismatchException("HistogramKl", $"variant {variant} has {nb} bins, got {real.Length} real and {synth.Length} synthetic counts");
        if (realCount <= 0 || synthCount <= 0)
            throw new InvalidArgumentException("HistogramKl", $"empty residual set (real {realCount}, synthetic {synthCount})");
        double kl = 0;
        for (int k = 0; k < nb; k++)
        {
            double pk, qk;
            if (variant != NoiseKldVariant.NoiseFlowAddOne)
            {
                if (real[k] == 0 || synth[k] == 0) continue;
                // numpy divides the counts by the element count (np.prod(data.shape)), as here
                pk = (double)real[k] / realCount;
                qk = (double)synth[k] / synthCount;
            }
            else
            {
                pk = (real[k] + 1.0) / (realCount + (double)nb);
                qk = (synth[k] + 1.0) / (synthCount + (double)nb);
            }
            kl += pk * (Math.Log(pk) - Math.Log(qk));
        }
        return kl;
    }

    /// <summary>KL between the residual histograms of (realNoisy - clean) and (synthNoisy - clean).</summary>
    public static double HistogramKl(Image8 clean, Image8 realNoisy, Image8 synthNoisy, NoiseKldVariant variant = NoiseKldVariant.NeCa)
        => HistogramKl(Residuals(realNoisy, clean), Residuals(synthNoisy, clean), variant);

    /// <summary>8-bit grayscale as OpenCV's cvtColor RGB2GRAY computes it for 8-bit data: fixed point
    /// Y = (4899 R + 9617 G + 1868 B + 2^13) >> 14, i.e. 0.299 R + 0.587 G + 0.114 B rounded half up.
    /// A one-channel image is returned as it is. SeNM-VAE reads its images with cv2.imread(path, 0); for
    /// PNG files that conversion happens inside libpng and can differ from this one by one level on a
    /// few pixels (not checked here: no OpenCV on the reference machine).</summary>
    public static byte[] GrayOpenCv(Image8 image)
    {
        var g = new byte[image.Height * image.Width];
        if (image.Channels == 1)
        {
            for (int i = 0; i < g.Length; i++) g[i] = (byte)image.Data[i];
            return g;
        }
        if (image.Channels != 3)
            throw new ShapeMismatchException("NoiseStats.GrayOpenCv", $"needs 1 or 3 channels (RGB), image is {image.ShapeText}");
        for (int i = 0; i < g.Length; i++)
        {
            int r = (int)image.Data[3 * i], gr = (int)image.Data[3 * i + 1], b = (int)image.Data[3 * i + 2];
            g[i] = (byte)((4899 * r + 9617 * gr + 1868 * b + (1 << 13)) >> 14);
        }
        return g;
    }

    /// <summary>SeNM-VAE's "KLD" (SIDD/compute_kl.py; spec ludvae-senmvae.md 2.14 and
    /// dsrvae-and-evaluation.md C.3.3): a KL between histograms of the 8-bit grayscale <b>noisy images</b>,
    /// not of noise residuals. 256 bins over (0, 255) hold one integer level each; P = generated / count,
    /// Q = real / count, then Q = (Q + 1e-8) / sum; KL(P || Q) = sum over P &gt; 0 of P ln(P / Q) after
    /// scipy.stats.entropy's renormalization of both. Note the direction: generated first.</summary>
    public static double IntensityKlSeNm(ReadOnlySpan<byte> generatedGray, ReadOnlySpan<byte> realGray)
    {
        if (generatedGray.Length == 0 || realGray.Length == 0)
            throw new InvalidArgumentException("IntensityKlSeNm", $"empty image (generated {generatedGray.Length} pixels, real {realGray.Length})");
        var hp = new long[256]; var hq = new long[256];
        foreach (byte v in generatedGray) hp[v]++;
        foreach (byte v in realGray) hq[v]++;
        var p = new double[256]; var q = new double[256];
        double sp = 0, sq = 0;
        for (int k = 0; k < 256; k++) { p[k] = (double)hp[k] / generatedGray.Length; q[k] = (double)hq[k] / realGray.Length + 1e-8; }
        for (int k = 0; k < 256; k++) sq += q[k];
        for (int k = 0; k < 256; k++) q[k] /= sq;
        // scipy.stats.entropy divides both by their sums once more
        sp = 0; sq = 0;
        for (int k = 0; k < 256; k++) { sp += p[k]; sq += q[k]; }
        double kl = 0;
        for (int k = 0; k < 256; k++)
        {
            if (p[k] == 0) continue;
            double pk = p[k] / sp, qk = q[k] / sq;
            kl += pk * Math.Log(pk / qk);
        }
        return kl;
    }

    /// <summary><see cref="IntensityKlSeNm(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> of two images
    /// converted by <see cref="GrayOpenCv"/>; sizes may differ (histograms are normalized).</summary>
    public static double IntensityKlSeNm(Image8 generated, Image8 real)
        => IntensityKlSeNm(GrayOpenCv(generated), GrayOpenCv(real));

    /// <summary>Residual mean and population standard deviation per band of clean intensity.
    /// <paramref name="clean"/> holds the clean values in [0,1] (same order as the residuals); band b
    /// covers [b/bands, (b+1)/bands), the last one closed at 1. Empty bands report Count 0 and NaN.</summary>
    public static BandStat[] StdPerBand(ReadOnlySpan<double> clean, ReadOnlySpan<double> residuals, int bands = 8)
    {
        if (clean.Length != residuals.Length)
            throw new ShapeMismatchException("StdPerBand", $"{clean.Length} clean values vs {residuals.Length} residuals");
        if (bands < 1) throw new InvalidArgumentException("StdPerBand", $"bands must be >= 1, got {bands}");
        var n = new long[bands]; var s = new double[bands]; var ss = new double[bands];
        for (int i = 0; i < clean.Length; i++)
        {
            double c = clean[i];
            if (!(c >= 0 && c <= 1))
                throw new InvalidArgumentException("StdPerBand", $"clean value {c} at {i} is outside [0,1]");
            int b = Math.Min((int)(c * bands), bands - 1);
            n[b]++; s[b] += residuals[i];
        }
        var mean = new double[bands];
        for (int b = 0; b < bands; b++) mean[b] = n[b] > 0 ? s[b] / n[b] : double.NaN;
        // two passes: the residuals are small and nearly zero-mean, a one-pass formula would cancel
        for (int i = 0; i < clean.Length; i++)
        {
            int b = Math.Min((int)(clean[i] * bands), bands - 1);
            double d = residuals[i] - mean[b];
            ss[b] += d * d;
        }
        var r = new BandStat[bands];
        for (int b = 0; b < bands; b++)
            r[b] = new BandStat((double)b / bands, (double)(b + 1) / bands, n[b], mean[b], n[b] > 0 ? Math.Sqrt(ss[b] / n[b]) : double.NaN);
        return r;
    }

    /// <summary>Band statistics of the union of two sample sets with the same bands (Chan et al.'s pairwise
    /// update of count, mean and sum of squared deviations), so a folder's pooled std needs no second pass.</summary>
    public static BandStat[] MergeBands(BandStat[] a, BandStat[] b)
    {
        if (a.Length != b.Length)
            throw new ShapeMismatchException("MergeBands", $"{a.Length} vs {b.Length} bands");
        var r = new BandStat[a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            var (x, y) = (a[i], b[i]);
            if (x.Lo != y.Lo || x.Hi != y.Hi)
                throw new InvalidArgumentException("MergeBands", $"band {i} is [{x.Lo}, {x.Hi}) in one set and [{y.Lo}, {y.Hi}) in the other");
            if (x.Count == 0) { r[i] = y; continue; }
            if (y.Count == 0) { r[i] = x; continue; }
            long n = x.Count + y.Count;
            double d = y.Mean - x.Mean;
            double mean = x.Mean + d * y.Count / n;
            double m2 = x.Std * x.Std * x.Count + y.Std * y.Std * y.Count + d * d * ((double)x.Count * y.Count / n);
            r[i] = new BandStat(x.Lo, x.Hi, n, mean, Math.Sqrt(m2 / n));
        }
        return r;
    }

    /// <summary>Per band: synthetic std / real std; NaN where a band is empty or the real std is 0.</summary>
    public static double[] StdRatio(BandStat[] real, BandStat[] synth)
    {
        if (real.Length != synth.Length)
            throw new ShapeMismatchException("StdRatio", $"{real.Length} vs {synth.Length} bands");
        var ratio = new double[real.Length];
        for (int b = 0; b < ratio.Length; b++)
            ratio[b] = real[b].Count > 0 && real[b].Std > 0 && synth[b].Count > 0 ? synth[b].Std / real[b].Std : double.NaN;
        return ratio;
    }

    /// <summary>Band statistics of the residuals noisy - clean against clean intensity (both 8-bit).</summary>
    public static BandStat[] StdPerBand(Image8 clean, Image8 noisy, int bands = 8)
    {
        var c = new double[clean.Data.Length];
        for (int i = 0; i < c.Length; i++) c[i] = clean.Data[i] / 255.0;
        return StdPerBand(c, Residuals(noisy, clean), bands);
    }

    /// <summary>Per band of clean intensity: std(synthetic residual) / std(real residual); NaN where a
    /// band is empty or the real std is 0. 1 everywhere means the noise level matches at every brightness.</summary>
    public static double[] StdRatioPerBand(Image8 clean, Image8 realNoisy, Image8 synthNoisy, int bands = 8)
        => StdRatio(StdPerBand(clean, realNoisy, bands), StdPerBand(clean, synthNoisy, bands));
}
