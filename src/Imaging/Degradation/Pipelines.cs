// The four pipelines. Noise is added in float and clipped to [0, 1]; the 8-bit quantization
// happens when the result is written (PNG) or inside a JPEG step. Parameter defaults and their
// reasons are in each constructor and in docs/DEGRADATIONS.md.
namespace Engine.Imaging.Degradation;

/// <summary>SIDD-like camera noise: sRGB -> linear light, Poisson-Gaussian shot/read noise with the
/// per-image levels of the CycleISP/SeNM-VAE sampler (log10 shot uniform, log10 read = slope *
/// log10 shot + intercept + N(0, jitter^2); both are variances: Var[y] = shot * x + read), back to
/// sRGB, then JPEG at a quality drawn from a range.</summary>
public sealed class CameraDegradation : Degradation
{
    public override string Name => "camera";
    public override string Description => "inverse sRGB gamma, Poisson shot + Gaussian read noise (per-image log-uniform levels), sRGB gamma, JPEG";

    public CameraDegradation()
    {
        Define("shot_min", 6.8674e-4, "lower end of the shot-noise variance scale (log-uniform); SeNM-VAE's random_noise_levels_sidd");
        Define("shot_max", 2.194856e-2, "upper end of the shot-noise variance scale");
        Define("read_slope", 1.85, "log10(read) = read_slope * log10(shot) + read_intercept + N(0, read_jitter^2)");
        Define("read_intercept", 0.30, "see read_slope");
        Define("read_jitter", 0.2, "std of the log10 read-noise jitter");
        Define("jpeg_min", 75, "lowest JPEG quality (0 with jpeg_max 0: no JPEG)");
        Define("jpeg_max", 95, "highest JPEG quality");
    }

    protected override void Validate()
    {
        Require(P("shot_min") > 0 && P("shot_min") <= P("shot_max"), $"need 0 < shot_min <= shot_max, got [{P("shot_min")}, {P("shot_max")}]");
        Require(P("read_jitter") >= 0, $"read_jitter must be >= 0, got {P("read_jitter")}");
        ValidateJpegRange();
    }

    protected override Image Degrade(Image x, DegradationRng rng, IDictionary<string, double> drawn)
    {
        double shot = rng.LogUniform(P("shot_min"), P("shot_max"));
        double read = Math.Pow(10, P("read_slope") * Math.Log10(shot) + P("read_intercept") + P("read_jitter") * rng.Normal());
        drawn["shot"] = shot;
        drawn["read"] = read;
        var d = (float[])x.Data.Clone();
        var readNoise = new float[d.Length];
        rng.FillNormal(readNoise);
        double readStd = Math.Sqrt(read);
        for (int i = 0; i < d.Length; i++)
        {
            double lin = SrgbToLinear(d[i]);
            double y = shot * rng.Poisson(lin / shot) + readStd * readNoise[i];
            d[i] = (float)LinearToSrgb(Math.Clamp(y, 0, 1));
        }
        return MaybeJpeg(new Image(x.Width, x.Height, d), rng, drawn);
    }

    /// <summary>The sRGB decoding curve (IEC 61966-2-1).</summary>
    public static double SrgbToLinear(double v) => v <= 0.04045 ? v / 12.92 : Math.Pow((v + 0.055) / 1.055, 2.4);

    public static double LinearToSrgb(double v) => v <= 0.0031308 ? 12.92 * v : 1.055 * Math.Pow(v, 1 / 2.4) - 0.055;
}

/// <summary>NTIRE20-like correlated noise: three white fields filtered by one random zero-mean
/// kernel (high-pass, unit energy so the per-pixel std stays sigma), mixed across channels by the
/// Cholesky factor of an equicorrelation matrix, scaled by a per-image log-uniform sigma.</summary>
public sealed class CorrelatedDegradation : Degradation
{
    public override string Name => "correlated";
    public override string Description => "spatially correlated high-frequency noise (white noise through a random zero-mean kernel), cross-channel correlated";

    public CorrelatedDegradation()
    {
        Define("sigma_min", 0.02, "lowest noise std (of [0, 1] values; log-uniform per image)");
        Define("sigma_max", 0.08, "highest noise std");
        Define("kernel", 3, "size of the random spatial kernel (odd)");
        Define("corr_min", 0.3, "lowest cross-channel correlation (uniform per image)");
        Define("corr_max", 0.8, "highest cross-channel correlation");
    }

    protected override void Validate()
    {
        Require(P("sigma_min") > 0 && P("sigma_min") <= P("sigma_max"), $"need 0 < sigma_min <= sigma_max, got [{P("sigma_min")}, {P("sigma_max")}]");
        double k = P("kernel");
        Require(k >= 1 && k <= 15 && k % 2 == 1, $"kernel must be an odd integer in [1, 15], got {k}");
        Require(P("corr_min") >= 0 && P("corr_min") <= P("corr_max") && P("corr_max") < 1, $"need 0 <= corr_min <= corr_max < 1, got [{P("corr_min")}, {P("corr_max")}]");
    }

    protected override Image Degrade(Image x, DegradationRng rng, IDictionary<string, double> drawn)
    {
        double sigma = rng.LogUniform(P("sigma_min"), P("sigma_max"));
        double rho = rng.Uniform(P("corr_min"), P("corr_max"));
        int k = (int)P("kernel");
        drawn["sigma"] = sigma;
        drawn["channel_corr"] = rho;

        // The kernel: k*k normals, mean removed (no DC: the noise is high-frequency), unit L2 norm.
        var kern = new double[k * k];
        for (int i = 0; i < kern.Length; i++) kern[i] = rng.Normal();
        if (k > 1)
        {
            double mean = kern.Average();
            for (int i = 0; i < kern.Length; i++) kern[i] -= mean;
        }
        double norm = Math.Sqrt(kern.Sum(v => v * v));
        for (int i = 0; i < kern.Length; i++) kern[i] /= norm;

        int h = x.Height, w = x.Width, hw = h * w;
        var white = new float[3 * hw];
        rng.FillNormal(white);
        var f = NoiseFields.Filter(white, h, w, kern, k);
        NoiseFields.MixEquicorrelated(f, hw, rho);
        var d = (float[])x.Data.Clone();
        for (int i = 0; i < d.Length; i++) d[i] += (float)(sigma * f[i]);
        Clip(d);
        return new Image(w, h, d);
    }
}

/// <summary>AIM19-like compression: low-frequency structured noise (a coarse white grid upsampled
/// bicubically, renormalized to the drawn std, partly shared across channels) added to the image,
/// then strong JPEG.</summary>
public sealed class CompressionDegradation : Degradation
{
    public override string Name => "compression";
    public override string Description => "low-frequency structured noise, then strong JPEG";

    public CompressionDegradation()
    {
        Define("jpeg_min", 10, "lowest JPEG quality");
        Define("jpeg_max", 30, "highest JPEG quality");
        Define("lf_sigma_min", 0.01, "lowest std of the low-frequency noise (log-uniform per image)");
        Define("lf_sigma_max", 0.04, "highest std of the low-frequency noise");
        Define("lf_cell", 16, "pixels per cell of the coarse noise grid");
        Define("lf_corr", 0.5, "cross-channel correlation of the low-frequency noise");
    }

    protected override void Validate()
    {
        ValidateJpegRange();
        Require(P("lf_sigma_min") >= 0 && P("lf_sigma_min") <= P("lf_sigma_max"), $"need 0 <= lf_sigma_min <= lf_sigma_max, got [{P("lf_sigma_min")}, {P("lf_sigma_max")}]");
        Require(P("lf_cell") >= 2 && P("lf_cell") == Math.Floor(P("lf_cell")), $"lf_cell must be an integer >= 2, got {P("lf_cell")}");
        Require(P("lf_corr") >= 0 && P("lf_corr") < 1, $"lf_corr must be in [0, 1), got {P("lf_corr")}");
    }

    protected override Image Degrade(Image x, DegradationRng rng, IDictionary<string, double> drawn)
    {
        int h = x.Height, w = x.Width, hw = h * w;
        double sigma = P("lf_sigma_max") > 0 ? rng.LogUniform(Math.Max(P("lf_sigma_min"), 1e-12), P("lf_sigma_max")) : 0;
        drawn["lf_sigma"] = sigma;
        int cell = (int)P("lf_cell");
        int gh = Math.Max(2, (h + cell - 1) / cell), gw = Math.Max(2, (w + cell - 1) / cell);
        var grid = new float[3 * gh * gw];
        rng.FillNormal(grid);
        NoiseFields.MixEquicorrelated(grid, gh * gw, P("lf_corr"));
        var up = Resize.Bicubic(new Image(gw, gh, grid), h, w, antialias: false).Data;
        // Upsampling smooths the grid: rescale the field to unit std so sigma means what it says.
        double ss = 0;
        foreach (float v in up) ss += (double)v * v;
        double scale = ss > 0 ? sigma / Math.Sqrt(ss / up.Length) : 0;
        var d = (float[])x.Data.Clone();
        for (int i = 0; i < d.Length; i++) d[i] += (float)(scale * up[i]);
        Clip(d);
        return MaybeJpeg(new Image(w, h, d), rng, drawn);
    }
}

/// <summary>Additive white Gaussian noise with a per-image sigma drawn log-uniformly from
/// [sigma_min, sigma_max] (equal ends: a fixed sigma): the white-noise baseline.</summary>
public sealed class GaussianDegradation : Degradation
{
    public override string Name => "gaussian";
    public override string Description => "additive white Gaussian noise, i.i.d. over pixels and channels";

    public GaussianDegradation()
    {
        Define("sigma_min", 15.0 / 255, "lowest noise std (of [0, 1] values)");
        Define("sigma_max", 15.0 / 255, "highest noise std (log-uniform per image)");
        Define("clip", 1, "1: clip to [0, 1]; 0: keep values outside");
    }

    protected override void Validate()
    {
        Require(P("sigma_min") >= 0 && P("sigma_min") <= P("sigma_max"), $"need 0 <= sigma_min <= sigma_max, got [{P("sigma_min")}, {P("sigma_max")}]");
        Require(P("clip") is 0 or 1, $"clip must be 0 or 1, got {P("clip")}");
    }

    protected override Image Degrade(Image x, DegradationRng rng, IDictionary<string, double> drawn)
    {
        double lo = P("sigma_min"), hi = P("sigma_max");
        double sigma = lo == hi ? lo : lo == 0 ? rng.Uniform(lo, hi) : rng.LogUniform(lo, hi);
        drawn["sigma"] = sigma;
        var n = new float[x.Data.Length];
        rng.FillNormal(n);
        var d = (float[])x.Data.Clone();
        for (int i = 0; i < d.Length; i++) d[i] += (float)(sigma * n[i]);
        if (P("clip") == 1) Clip(d);
        return new Image(x.Width, x.Height, d);
    }
}

/// <summary>Helpers on noise fields stored as three planes.</summary>
internal static class NoiseFields
{
    /// <summary>Correlates three planes in place with the Cholesky factor of the equicorrelation
    /// matrix (1 on the diagonal, rho elsewhere), keeping unit variance per channel.</summary>
    public static void MixEquicorrelated(float[] planes, int hw, double rho)
    {
        // L of [[1, r, r], [r, 1, r], [r, r, 1]].
        double l10 = rho, l11 = Math.Sqrt(1 - rho * rho);
        double l20 = rho, l21 = (rho - rho * rho) / l11, l22 = Math.Sqrt(Math.Max(0, 1 - l20 * l20 - l21 * l21));
        for (int i = 0; i < hw; i++)
        {
            double a = planes[i], b = planes[hw + i], c = planes[2 * hw + i];
            planes[hw + i] = (float)(l10 * a + l11 * b);
            planes[2 * hw + i] = (float)(l20 * a + l21 * b + l22 * c);
        }
    }

    /// <summary>Correlates each plane with a k x k kernel, borders wrapped (the field is stationary
    /// noise: wrapping keeps its statistics identical at the edges).</summary>
    public static float[] Filter(float[] planes, int h, int w, double[] kern, int k)
    {
        int hw = h * w, r = k / 2;
        var o = new float[planes.Length];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++)
                {
                    double s = 0;
                    for (int dy = -r; dy <= r; dy++)
                    {
                        int sy = ((y + dy) % h + h) % h;
                        for (int dx = -r; dx <= r; dx++)
                        {
                            int sx = ((xx + dx) % w + w) % w;
                            s += kern[(dy + r) * k + dx + r] * planes[c * hw + sy * w + sx];
                        }
                    }
                    o[c * hw + y * w + xx] = (float)s;
                }
        return o;
    }
}
