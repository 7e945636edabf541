// ImageIO.JpegRoundTrip: in-memory JPEG compression (StbImageWriteSharp encode, StbImageSharp
// decode) on a bundled sample photo: quality 95 is above 35 dB, lower quality is worse, size and
// source bit depth are kept, results are deterministic and on the 8-bit grid; bad quality throws.
using Engine.Imaging;
using Engine.Tests.Support;
using Xunit;
using static Engine.Tests.Imaging.ImagingTestSupport;

namespace Engine.Tests.Imaging;

public class JpegRoundTripTests
{
    private static readonly Lazy<Image> Photo = new(() => ImageIO.Read(SampleData.Files[1]));

    [Fact]
    public void Quality95_IsAbove35dB_AndKeepsSize()
    {
        var photo = Photo.Value;
        var back = ImageIO.JpegRoundTrip(photo, 95);
        Assert.Equal((photo.Width, photo.Height), (back.Width, back.Height));
        double psnr = Psnr8(photo, back);
        Assert.True(psnr > 35, $"PSNR at quality 95 is {psnr:F2} dB");
        Assert.True(double.IsFinite(psnr), "quality 95 should not be lossless on a photo");
    }

    [Fact]
    public void LowerQuality_IsMonotonicallyWorse()
    {
        var photo = Photo.Value;
        double p10 = Psnr8(photo, ImageIO.JpegRoundTrip(photo, 10));
        double p50 = Psnr8(photo, ImageIO.JpegRoundTrip(photo, 50));
        double p90 = Psnr8(photo, ImageIO.JpegRoundTrip(photo, 90));
        Assert.True(p10 < p50 && p50 < p90, $"PSNR q10 {p10:F2}, q50 {p50:F2}, q90 {p90:F2} dB");
        Assert.True(p10 > 15, $"quality 10 still resembles the photo: {p10:F2} dB");
    }

    [Fact]
    public void IsDeterministic_OnThe8BitGrid_AndMatchesTheFileRoundTrip()
    {
        var img = Random8(TestData.Rng(), 37, 21);
        var a = ImageIO.JpegRoundTrip(img, 40);
        var b = ImageIO.JpegRoundTrip(img, 40);
        Assert.Equal(a.Data, b.Data);
        Assert.NotEqual(img.Data, a.Data);
        foreach (var v in a.Data) Assert.Equal(Image.Quantize(v) / 255f, v);
        using var tmp = new TempDir();
        string path = tmp.File("q40.jpg");
        ImageIO.WriteJpeg(path, img, 40);
        Assert.Equal(ImageIO.Read(path).Data, a.Data);
    }

    [Fact]
    public void KeepsSourceBitDepth_AndOddSizes()
    {
        var d = TestData.Floats(TestData.Rng(), 3 * 7 * 5, 0, 1);
        var img = new Image(5, 7, d, sourceBitDepth: 16);
        var r = ImageIO.JpegRoundTrip(img, 75);
        Assert.Equal((5, 7, 16), (r.Width, r.Height, r.SourceBitDepth));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    [InlineData(-7)]
    public void QualityOutOfRange_Throws(int q)
    {
        var ex = Assert.Throws<InvalidArgumentException>(() => ImageIO.JpegRoundTrip(Random8(TestData.Rng(), 4, 4), q));
        Assert.Contains("ImageIO.JpegRoundTrip", ex.Message);
        Assert.Contains("1..100", ex.Message);
        Assert.Contains(q.ToString(), ex.Message);
    }
}
