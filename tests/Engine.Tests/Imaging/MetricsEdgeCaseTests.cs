// Edge cases of Engine.Imaging metrics that skimage cannot be asked about (or answers with a
// warning): identical images, hand-computable values, quantization rules, typed errors for shape
// mismatches and crops that leave too little, and the noise statistics' degenerate inputs.
using System.Runtime.CompilerServices;
using Engine.Imaging;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Imaging;

public class MetricsEdgeCaseTests
{
    /// <summary>Uniform random 8-bit image, seeded from the calling test's name and a salt.</summary>
    private static Image8 Random(int h, int w, int c, int salt, [CallerMemberName] string test = "")
    {
        var rng = TestData.Rng(test, salt);
        var b = new byte[h * w * c];
        rng.NextBytes(b);
        return Image8.FromBytes(b, h, w, c);
    }

    private static Image8 Constant(int h, int w, int c, byte v) =>
        Image8.FromBytes(Enumerable.Repeat(v, h * w * c).ToArray(), h, w, c);

    [Theory]
    [InlineData(MetricChannel.Rgb, 0)]
    [InlineData(MetricChannel.Y, 0)]
    [InlineData(MetricChannel.Rgb, 3)]
    [InlineData(MetricChannel.Y, 3)]
    public void IdenticalImagesGiveInfinitePsnrAndSsimOne(MetricChannel ch, int border)
    {
        var o = new MetricOptions(ch, border);
        foreach (var im in new[] { Random(20, 23, 3, 7), Constant(20, 23, 3, 0), Constant(20, 23, 3, 255) })
        {
            Assert.Equal(double.PositiveInfinity, Metrics.Psnr(im, im, o));
            Assert.Equal(1.0, Metrics.Ssim(im, im, o), 12);
        }
    }

    [Fact]
    public void OneLevelOffsetEverywhereGivesTheClosedFormPsnr()
    {
        var a = Constant(12, 12, 3, 100);
        var b = Constant(12, 12, 3, 101);
        Assert.Equal(10 * Math.Log10(255.0 * 255.0), Metrics.Psnr(a, b), 12); // 48.1308 dB
        // SSIM of two constants: only the luminance term, (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)
        double c1 = Math.Pow(0.01 * 255, 2);
        Assert.Equal((2 * 100.0 * 101 + c1) / (100.0 * 100 + 101.0 * 101 + c1), Metrics.Ssim(a, b), 12);
    }

    [Fact]
    public void QuantizationClampsAndRoundsHalfToEven()
    {
        // 0.5/255 -> 0 (half to even), 1.5/255 -> 2, 2.5/255 -> 2, below 0 -> 0, above 1 -> 255
        var v = new double[] { 0.5 / 255, 1.5 / 255, 2.5 / 255, -0.3, 1.7, 0.2 };
        var im = Image8.FromUnit(v, 1, 2, 3, PixelLayout.Hwc);
        Assert.Equal(new double[] { 0, 2, 2, 0, 255, Math.Round(0.2 * 255) }, im.Data);
        // CHW input lands in HWC order
        var chw = Image8.FromUnit(new double[] { 0, 1, 0, 1, 1, 0 }, 1, 2, 3, PixelLayout.Chw);
        Assert.Equal(new double[] { 0, 0, 1, 255, 255, 0 }.Select(x => x == 1 ? 255.0 : x), chw.Data);
        var ex = Assert.Throws<InvalidArgumentException>(() => Image8.FromUnit(new[] { float.NaN, 0f, 0f }, 1, 1, 3, PixelLayout.Hwc));
        Assert.Contains("NaN", ex.Message);
    }

    [Fact]
    public void YChannelUsesTheBt601MatlabCoefficients()
    {
        var im = Image8.FromBytes(new byte[] { 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0 }, 1, 5, 3);
        var y = im.LumaY();
        Assert.Equal(new[] { 16 + 65.481, 16 + 128.553, 16 + 24.966, 16 + 65.481 + 128.553 + 24.966, 16.0 }, y.Select(v => Math.Round(v, 10)));
        Assert.Equal(235.0, Math.Round(y[3], 3));
        Assert.Equal(new[] { 81.0, 145, 41, 235, 16 }, im.LumaY(round: true));
    }

    [Fact]
    public void ShapeMismatchIsTypedAndNamesBothShapes()
    {
        var a = Random(16, 17, 3, 1);
        var b = Random(17, 16, 3, 2);
        var ex = Assert.Throws<ShapeMismatchException>(() => Metrics.Psnr(a, b));
        Assert.Contains("Psnr", ex.Message);
        Assert.Contains("(H=16, W=17, C=3)", ex.Message);
        Assert.Contains("(H=17, W=16, C=3)", ex.Message);
        var ex2 = Assert.Throws<ShapeMismatchException>(() => Metrics.Ssim(a, Random(16, 17, 1, 3)));
        Assert.Contains("C=1", ex2.Message);

        using var ta = Engine.Tensor.Zeros(new[] { 3, 16, 17 });
        using var tb = Engine.Tensor.Zeros(new[] { 3, 17, 16 });
        var ex3 = Assert.Throws<ShapeMismatchException>(() => Metrics.Ssim(ta, tb, PixelLayout.Chw));
        Assert.Contains("[3, 16, 17]", ex3.Message);
        Assert.Contains("[3, 17, 16]", ex3.Message);
        using var t2 = Engine.Tensor.Zeros(new[] { 16, 17 });
        Assert.Throws<RankException>(() => Metrics.Psnr(t2, t2, PixelLayout.Hwc));
        Assert.Throws<ShapeMismatchException>(() => Image8.FromBytes(new byte[10], 2, 2, 3));
        // Y needs RGB
        var g = Random(16, 16, 1, 4);
        var ex4 = Assert.Throws<ShapeMismatchException>(() => Metrics.Psnr(g, g, new MetricOptions(MetricChannel.Y)));
        Assert.Contains("3 channels", ex4.Message);
    }

    [Fact]
    public void CropThatLeavesTooLittleIsRejected()
    {
        var a = Random(20, 30, 3, 5);
        var ex = Assert.Throws<InvalidArgumentException>(() => Metrics.Psnr(a, a, new MetricOptions(CropBorder: 10)));
        Assert.Contains("crop border 10", ex.Message);
        Assert.Contains("(H=20, W=30, C=3)", ex.Message);
        Assert.Throws<InvalidArgumentException>(() => Metrics.Psnr(a, a, new MetricOptions(CropBorder: 50)));
        Assert.Throws<InvalidArgumentException>(() => Metrics.Psnr(a, a, new MetricOptions(CropBorder: -1)));
        // PSNR is fine with 18x28 left; SSIM needs the 11x11 window: 20 - 2*5 = 10 < 11
        Assert.Equal(double.PositiveInfinity, Metrics.Psnr(a, a, new MetricOptions(CropBorder: 5)));
        var ex2 = Assert.Throws<InvalidArgumentException>(() => Metrics.Ssim(a, a, new MetricOptions(CropBorder: 5)));
        Assert.Contains("11x11", ex2.Message);
        Assert.Throws<InvalidArgumentException>(() => Metrics.Ssim(Random(10, 40, 3, 6), Random(10, 40, 3, 6)));
        Assert.Equal(1.0, Metrics.Ssim(Random(11, 11, 3, 6), Random(11, 11, 3, 6)), 12);
    }

    [Fact]
    public void CropRemovesTheBorderOnly()
    {
        // differences only in the outer 2 px ring: crop 2 makes the images equal
        var a = Random(16, 18, 3, 8);
        var d = (double[])a.Data.Clone();
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 18; x++)
                if (y < 2 || x < 2 || y >= 14 || x >= 16)
                    for (int c = 0; c < 3; c++) d[(y * 18 + x) * 3 + c] = 255 - d[(y * 18 + x) * 3 + c];
        var b = Image8.FromBytes(d.Select(v => (byte)v).ToArray(), 16, 18, 3);
        Assert.True(Metrics.Psnr(a, b, new MetricOptions(CropBorder: 1)) < 30);
        Assert.Equal(double.PositiveInfinity, Metrics.Psnr(a, b, new MetricOptions(CropBorder: 2)));
    }

    [Fact]
    public void GaussianTapsAreScipysElevenTapWindow()
    {
        var k = Metrics.GaussianTaps(1.5, 5);
        Assert.Equal(11, k.Length);
        Assert.Equal(1.0, k.Sum(), 14);
        Assert.Equal(k[0], k[10]);
        Assert.Equal(Math.Exp(-25 / 4.5) / Math.Exp(0), k[0] / k[5], 14);
    }

    [Fact]
    public void NoiseHistogramEdgesAndZeroResidualPlacement()
    {
        var e = NoiseStats.NeCaEdges();
        Assert.Equal(67, e.Length);
        Assert.Equal(-1000.0, e[0]);
        Assert.Equal(-0.1, e[1]);
        Assert.Equal(1000.0, e[^1]);
        for (int i = 1; i < e.Length; i++) Assert.True(e[i] > e[i - 1]);
        // numpy's middle edge is 2^-54 * 1.5 > 0, so an exact zero residual falls in the bin left of it
        Assert.True(e[33] > 0 && e[33] < 1e-15);
        var h = NoiseStats.Histogram(new[] { 0.0, -2000.0, 1000.0, double.NaN, 0.1 - 1e-12, -0.1 }, e);
        Assert.Equal(1, h[32]);
        Assert.Equal(1, h[65]);   // 1000 is the last edge, closed
        Assert.Equal(1, h[64]);
        Assert.Equal(1, h[1]);    // -0.1 opens the first inner bin
        Assert.Equal(4, h.Sum()); // -2000 and NaN are not counted
    }

    [Fact]
    public void NoiseKlIsZeroForEqualHistogramsAndPositiveOtherwise()
    {
        var seeded = TestData.Rng();
        var a = Enumerable.Range(0, 2000).Select(_ => (seeded.Next(-20, 21)) / 255.0).ToArray();
        var shuffled = a.OrderBy(_ => seeded.Next()).ToArray();
        Assert.Equal(0.0, NoiseStats.HistogramKl(a, shuffled), 15);
        Assert.Equal(0.0, NoiseStats.HistogramKl(a, shuffled, NoiseKldVariant.NoiseFlowAddOne), 15);
        var wider = a.Select(v => v * 3).ToArray();
        // NeCA's mask drops every bin where either histogram is empty, so a 3x wider noise whose mass
        // sits mostly where the real one has none still scores low; add-one smoothing sees it
        Assert.InRange(NoiseStats.HistogramKl(a, wider), 1e-3, 0.05);
        Assert.True(NoiseStats.HistogramKl(a, wider, NoiseKldVariant.NoiseFlowAddOne) > 0.05);
        Assert.Throws<InvalidArgumentException>(() => NoiseStats.HistogramKl(a, ReadOnlySpan<double>.Empty));
    }

    [Fact]
    public void StdPerBandReportsEmptyBandsAndUnitRatioForTheSameNoise()
    {
        var clean = Random(16, 16, 3, 9);
        var noisy = Image8.FromBytes(clean.Data.Select((v, i) => (byte)Math.Clamp(v + (i % 7) - 3, 0, 255)).ToArray(), 16, 16, 3);
        var ratio = NoiseStats.StdRatioPerBand(clean, noisy, noisy, 4);
        Assert.All(ratio, r => Assert.Equal(1.0, r, 12));
        var bands = NoiseStats.StdPerBand(new[] { 0.1, 0.1, 0.9 }, new[] { 0.01, -0.01, 0.5 }, 4);
        Assert.Equal(new long[] { 2, 0, 0, 1 }, bands.Select(b => b.Count));
        Assert.Equal(0.01, bands[0].Std, 15);
        Assert.True(double.IsNaN(bands[1].Std));
        Assert.Equal(0.0, bands[3].Std);
        Assert.Throws<ShapeMismatchException>(() => NoiseStats.StdPerBand(new[] { 0.1 }, new[] { 0.1, 0.2 }));
        Assert.Throws<InvalidArgumentException>(() => NoiseStats.StdPerBand(new[] { 1.5 }, new[] { 0.1 }));
    }
}
