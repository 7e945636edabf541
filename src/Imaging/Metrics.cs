// Full-reference image quality metrics, PSNR and SSIM, as the restoration literature computes them
// (../shared/specs/dsrvae-and-evaluation.md, section C.1-C.2, C.7):
// - both images on the 8-bit grid (Image8: clamp, x255, round half to even), compared as float64;
// - channel: RGB (all channels; denoising tables) or BT.601 Y, MATLAB/BasicSR coefficients,
//   not rounded by default (SR tables); peak / data range 255 in both cases;
// - optional border crop of N px on every side before either metric (SR: N = scale);
// - PSNR = 10 log10(255^2 / MSE), MSE over all pixels and channels together; identical images
//   give +infinity (as BasicSR, KAIR and skimage; no epsilon);
// - SSIM = scikit-image structural_similarity(gaussian_weights=True, sigma=1.5,
//   use_sample_covariance=False, data_range=255, channel_axis=-1), i.e. Wang et al. 2004:
//   separable 11-tap Gaussian (sigma 1.5, scipy truncate 3.5, taps normalized to sum 1) applied over
//   the whole image with scipy 'reflect' (half-sample symmetric) borders, population moments,
//   K1 = 0.01, K2 = 0.03, then the mean of the map after dropping 5 px on every side, per channel,
//   averaged over channels. Needs at least 11x11 after the crop (skimage raises there too).
// Dataset scores are means of per-image values; that is the caller's loop.
using System.Numerics;
using Engine;

namespace Engine.Imaging;

/// <summary>Which pixels a metric compares.</summary>
public enum MetricChannel
{
    /// <summary>Every channel of the image (RGB for colour images).</summary>
    Rgb,
    /// <summary>BT.601 luma of an RGB image (MATLAB rgb2ycbcr / BasicSR test_y_channel).</summary>
    Y,
}

/// <summary>Metric settings. <paramref name="CropBorder"/> px are removed from every side first;
/// <paramref name="RoundY"/> rounds the luma to integers (MATLAB/KAIR uint8) instead of BasicSR's
/// unrounded value; it only matters for <see cref="MetricChannel.Y"/>.</summary>
public sealed record MetricOptions(MetricChannel Channel = MetricChannel.Rgb, int CropBorder = 0, bool RoundY = false)
{
    public static readonly MetricOptions Default = new();
    public override string ToString() => $"channel={Channel} crop_border={CropBorder} round_y={RoundY}";
}

public static class Metrics
{
    public const double DataRange = 255.0;
    public const double SsimSigma = 1.5;
    public const int SsimRadius = 5;          // int(3.5 * 1.5 + 0.5), scipy's truncation
    public const int SsimWindow = 2 * SsimRadius + 1;
    public const double SsimK1 = 0.01, SsimK2 = 0.03;

    /// <summary>PSNR in dB of <paramref name="test"/> against <paramref name="reference"/>; +infinity when equal.</summary>
    public static double Psnr(Image8 reference, Image8 test, MetricOptions? options = null)
    {
        var planes = Prepare("Psnr", reference, test, options ?? MetricOptions.Default, minSide: 1);
        double se = 0; long n = 0;
        foreach (var (a, b) in planes)
        {
            for (int i = 0; i < a.Length; i++) { double d = a[i] - b[i]; se += d * d; }
            n += a.Length;
        }
        double mse = se / n;
        return mse == 0 ? double.PositiveInfinity : 10.0 * Math.Log10(DataRange * DataRange / mse);
    }

    /// <summary>Mean SSIM over channels (or of the Y channel); 1 for identical images.</summary>
    public static double Ssim(Image8 reference, Image8 test, MetricOptions? options = null)
    {
        var o = options ?? MetricOptions.Default;
        var planes = Prepare("Ssim", reference, test, o, minSide: SsimWindow);
        int h = reference.Height - 2 * o.CropBorder, w = reference.Width - 2 * o.CropBorder;
        double sum = 0;
        foreach (var (a, b) in planes) sum += SsimPlane(a, b, h, w);
        return sum / planes.Count;
    }

    /// <summary>PSNR of two [0,1] tensors of shape (C, H, W) or (H, W, C) per <paramref name="layout"/>.</summary>
    public static double Psnr(Tensor reference, Tensor test, PixelLayout layout, MetricOptions? options = null)
    {
        CheckSameShape("Psnr", reference, test);
        return Psnr(Image8.FromTensor(reference, layout), Image8.FromTensor(test, layout), options);
    }

    /// <summary>SSIM of two [0,1] tensors of shape (C, H, W) or (H, W, C) per <paramref name="layout"/>.</summary>
    public static double Ssim(Tensor reference, Tensor test, PixelLayout layout, MetricOptions? options = null)
    {
        CheckSameShape("Ssim", reference, test);
        return Ssim(Image8.FromTensor(reference, layout), Image8.FromTensor(test, layout), options);
    }

    private static void CheckSameShape(string op, Tensor a, Tensor b)
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape))
            throw new ShapeMismatchException(op, $"reference {a} vs test {b}");
    }

    private static List<(double[] A, double[] B)> Prepare(string op, Image8 a, Image8 b, MetricOptions o, int minSide)
    {
        if (a.Height != b.Height || a.Width != b.Width || a.Channels != b.Channels)
            throw new ShapeMismatchException(op, $"reference {a.ShapeText} vs test {b.ShapeText}");
        if (o.CropBorder < 0)
            throw new InvalidArgumentException(op, $"crop border must be >= 0, got {o.CropBorder}");
        int h = a.Height - 2 * o.CropBorder, w = a.Width - 2 * o.CropBorder;
        if (h < minSide || w < minSide)
            throw new InvalidArgumentException(op, $"crop border {o.CropBorder} on an image {a.ShapeText} leaves {Math.Max(h, 0)}x{Math.Max(w, 0)}, "
                + $"needs at least {minSide}x{minSide}" + (minSide > 1 ? " (the SSIM window)" : ""));
        var ca = a.Crop(o.CropBorder);
        var cb = b.Crop(o.CropBorder);
        var list = new List<(double[], double[])>();
        if (o.Channel == MetricChannel.Y)
            list.Add((ca.LumaY(o.RoundY), cb.LumaY(o.RoundY)));
        else
            for (int c = 0; c < ca.Channels; c++) list.Add((ca.Plane(c), cb.Plane(c)));
        return list;
    }

    /// <summary>scipy.ndimage._gaussian_kernel1d(sigma 1.5, order 0, radius 5): exp(-x^2 / 2 sigma^2)
    /// at integer offsets, normalized to sum 1.</summary>
    public static double[] GaussianTaps(double sigma, int radius)
    {
        var k = new double[2 * radius + 1];
        double s = 0;
        for (int i = -radius; i <= radius; i++) { k[i + radius] = Math.Exp(-0.5 / (sigma * sigma) * i * i); s += k[i + radius]; }
        for (int i = 0; i < k.Length; i++) k[i] /= s;
        return k;
    }

    private static readonly double[] Taps = GaussianTaps(SsimSigma, SsimRadius);

    /// <summary>scipy 'reflect' (d c b a | a b c d | d c b a), repeated for offsets beyond one period.</summary>
    private static int Reflect(int i, int n)
    {
        int period = 2 * n;
        i %= period;
        if (i < 0) i += period;
        return i < n ? i : period - 1 - i;
    }

    /// <summary>Separable Gaussian over an (H, W) plane: along axis 0 first, then axis 1, as
    /// scipy.ndimage.gaussian_filter does; float64 throughout, each output a sum over taps in
    /// ascending offset order (products and sums kept separate: no FMA contraction).</summary>
    private static double[] Gaussian(double[] src, int h, int w)
    {
        int r = SsimRadius;
        var tmp = new double[h * w];
        var dst = new double[h * w];
        int vw = Vector<double>.Count;
        for (int y = 0; y < h; y++)
        {
            var row = tmp.AsSpan(y * w, w);
            for (int k = -r; k <= r; k++)
                Axpy(Taps[k + r], src.AsSpan(Reflect(y + k, h) * w, w), row, vw);
        }
        var pad = new double[w + 2 * r];
        for (int y = 0; y < h; y++)
        {
            for (int x = -r; x < w + r; x++) pad[x + r] = tmp[y * w + Reflect(x, w)];
            var row = dst.AsSpan(y * w, w);
            for (int k = -r; k <= r; k++)
                Axpy(Taps[k + r], pad.AsSpan(k + r, w), row, vw);
        }
        return dst;
    }

    /// <summary>acc += t * s, element by element.</summary>
    private static void Axpy(double t, ReadOnlySpan<double> s, Span<double> acc, int vw)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var tv = new Vector<double>(t);
            for (; i <= acc.Length - vw; i += vw)
                (new Vector<double>(acc[i..]) + tv * new Vector<double>(s[i..])).CopyTo(acc[i..]);
        }
        for (; i < acc.Length; i++) acc[i] += t * s[i];
    }

    /// <summary>Mean SSIM of one (H, W) plane pair on the 0..255 scale.</summary>
    public static double SsimPlane(double[] x, double[] y, int h, int w)
    {
        if (x.Length != h * w || y.Length != h * w)
            throw new ShapeMismatchException("SsimPlane", $"planes of {x.Length} and {y.Length} values for (H={h}, W={w})");
        if (h < SsimWindow || w < SsimWindow)
            throw new InvalidArgumentException("SsimPlane", $"plane {h}x{w} is smaller than the {SsimWindow}x{SsimWindow} window");
        int n = h * w;
        var xx = new double[n]; var yy = new double[n]; var xy = new double[n];
        for (int i = 0; i < n; i++) { xx[i] = x[i] * x[i]; yy[i] = y[i] * y[i]; xy[i] = x[i] * y[i]; }
        // the five filtered planes are independent
        var inputs = new[] { x, y, xx, yy, xy };
        var f = new double[5][];
        Parallel.For(0, 5, j => f[j] = Gaussian(inputs[j], h, w));
        double[] ux = f[0], uy = f[1], uxx = f[2], uyy = f[3], uxy = f[4];
        double c1 = SsimK1 * DataRange * (SsimK1 * DataRange), c2 = SsimK2 * DataRange * (SsimK2 * DataRange);
        double sum = 0;
        int pad = SsimRadius;
        for (int r = pad; r < h - pad; r++)
            for (int c = pad; c < w - pad; c++)
            {
                int i = r * w + c;
                double vx = uxx[i] - ux[i] * ux[i], vy = uyy[i] - uy[i] * uy[i], vxy = uxy[i] - ux[i] * uy[i];
                double a1 = 2 * ux[i] * uy[i] + c1, a2 = 2 * vxy + c2;
                double b1 = ux[i] * ux[i] + uy[i] * uy[i] + c1, b2 = vx + vy + c2;
                sum += a1 * a2 / (b1 * b2);
            }
        return sum / ((h - 2 * pad) * (w - 2 * pad));
    }
}
