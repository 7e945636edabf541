// ImageIO: PNG/JPEG/BMP round trips, gray promotion, alpha dropping, 16-bit PNG, the 8-bit
// quantization rule, tensor conversion, and typed errors that name the file and the reason.
using Engine.Imaging;
using Engine.Tests.Support;
using StbImageWriteSharp;
using Xunit;
using static Engine.Tests.Imaging.ImagingTestSupport;

namespace Engine.Tests.Imaging;

public class ImageIOTests
{
    private static void WriteRaw(string path, byte[] pixels, int w, int h, ColorComponents comp, bool jpeg = false)
    {
        using var fs = File.Create(path);
        if (jpeg) new ImageWriter().WriteJpg(pixels, w, h, comp, fs, 100);
        else new ImageWriter().WritePng(pixels, w, h, comp, fs);
    }

    [Fact]
    public void Png_RoundTrip_IsExact()
    {
        using var tmp = new TempDir();
        var img = Random8(TestData.Rng(), 37, 23);
        string path = tmp.File("rt.png");
        ImageIO.WritePng(path, img);
        var back = ImageIO.Read(path);
        Assert.Equal((37, 23, 8), (back.Width, back.Height, back.SourceBitDepth));
        Assert.Equal(img.Data, back.Data);
    }

    [Fact]
    public void Bmp_RoundTrip_IsExact_AndExtensionIsCaseInsensitive()
    {
        using var tmp = new TempDir();
        var img = Random8(TestData.Rng(), 9, 14);
        string path = tmp.File("rt.BMP");
        ImageIO.Write(path, img);
        Assert.Equal(ImageFileFormat.Bmp, ImageIO.Sniff(File.ReadAllBytes(path)));
        Assert.Equal(img.Data, ImageIO.Read(path).Data);
    }

    [Fact]
    public void Jpeg_Quality95_OnSamplePhoto_IsAbove30dB_AndLowerQualityIsSmallerAndWorse()
    {
        using var tmp = new TempDir();
        var photo = ImageIO.Read(SampleData.Files[1]);
        string hi = tmp.File("q95.jpg"), lo = tmp.File("q20.jpeg");
        ImageIO.WriteJpeg(hi, photo, 95);
        ImageIO.Write(lo, photo, jpegQuality: 20);
        Assert.Equal(ImageFileFormat.Jpeg, ImageIO.Sniff(File.ReadAllBytes(hi)));
        var backHi = ImageIO.Read(hi);
        var backLo = ImageIO.Read(lo);
        double psnrHi = Psnr8(photo, backHi), psnrLo = Psnr8(photo, backLo);
        Assert.True(psnrHi > 30, $"PSNR at quality 95 is {psnrHi:F2} dB");
        Assert.True(psnrLo < psnrHi, $"quality 20 gives {psnrLo:F2} dB, not below quality 95's {psnrHi:F2} dB");
        Assert.True(new FileInfo(lo).Length < new FileInfo(hi).Length);
        Assert.True(double.IsFinite(psnrHi), "JPEG at quality 95 should not be lossless on a photo");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void Jpeg_QualityOutOfRange_Throws(int q)
    {
        using var tmp = new TempDir();
        string path = tmp.File("bad.jpg");
        var ex = Assert.Throws<InvalidArgumentException>(() => ImageIO.WriteJpeg(path, Random8(TestData.Rng(), 4, 4), q));
        Assert.Contains("1..100", ex.Message);
        Assert.Contains(q.ToString(), ex.Message);
        Assert.False(File.Exists(path));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Gray_IsPromotedToRgb(bool jpeg)
    {
        using var tmp = new TempDir();
        const int w = 6, h = 5;
        var gray = new byte[w * h];
        for (int i = 0; i < gray.Length; i++) gray[i] = (byte)(i * 8);
        string path = tmp.File(jpeg ? "g.jpg" : "g.png");
        WriteRaw(path, gray, w, h, ColorComponents.Grey, jpeg);
        var img = ImageIO.Read(path);
        Assert.Equal((w, h), (img.Width, img.Height));
        int hw = w * h;
        for (int i = 0; i < hw; i++)
        {
            Assert.Equal(img.Data[i], img.Data[hw + i]);
            Assert.Equal(img.Data[i], img.Data[2 * hw + i]);
            if (!jpeg) Assert.Equal(gray[i] / 255f, img.Data[i]);
        }
    }

    [Fact]
    public void Alpha_IsDropped_NotComposited()
    {
        using var tmp = new TempDir();
        const int w = 4, h = 3;
        var rgba = new byte[4 * w * h];
        TestData.Rng().NextBytes(rgba);
        for (int i = 0; i < w * h; i++) rgba[4 * i + 3] = (byte)(i % 2 == 0 ? 0 : 77); // transparent pixels keep their color
        string path = tmp.File("a.png");
        WriteRaw(path, rgba, w, h, ColorComponents.RedGreenBlueAlpha);
        var img = ImageIO.Read(path);
        var rgb = img.ToRgb8();
        for (int i = 0; i < w * h; i++)
            for (int c = 0; c < 3; c++)
                Assert.Equal(rgba[4 * i + c], rgb[3 * i + c]);

        var ga = new byte[2 * w * h];
        for (int i = 0; i < w * h; i++) { ga[2 * i] = (byte)(10 * i); ga[2 * i + 1] = 0; }
        string gpath = tmp.File("ga.png");
        WriteRaw(gpath, ga, w, h, ColorComponents.GreyAlpha);
        var g = ImageIO.Read(gpath).ToRgb8();
        for (int i = 0; i < w * h; i++) Assert.Equal([(byte)(10 * i), (byte)(10 * i), (byte)(10 * i)], g[(3 * i)..(3 * i + 3)]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Png16_IsRead_WithSourceBitDepth16_AndHighByteValues(bool gray)
    {
        using var tmp = new TempDir();
        const int w = 3, h = 2;
        int ch = gray ? 1 : 3;
        var samples = new ushort[w * h * ch];
        var rng = TestData.Rng(salt: gray ? 1 : 0);
        for (int i = 0; i < samples.Length; i++) samples[i] = (ushort)rng.Next(65536);
        string path = tmp.File("deep.png");
        File.WriteAllBytes(path, Png16(w, h, samples, gray));
        var img = ImageIO.Read(path);
        Assert.Equal(16, img.SourceBitDepth);
        var rgb = img.ToRgb8();
        for (int i = 0; i < w * h; i++)
            for (int c = 0; c < 3; c++)
                Assert.Equal((byte)(samples[i * ch + (gray ? 0 : c)] >> 8), rgb[3 * i + c]);
    }

    [Fact]
    public void Quantize_ClampsAndRoundsHalfToEven_AndIsExactOnMultiplesOf1Over255()
    {
        for (int k = 0; k <= 255; k++) Assert.Equal((byte)k, Image.Quantize(k / 255f));
        Assert.Equal(0, Image.Quantize(-0.5f));
        Assert.Equal(255, Image.Quantize(1.7f));
        Assert.Equal(0, Image.Quantize(float.NaN));
        Assert.Equal(255, Image.Quantize(float.PositiveInfinity));
        Assert.Equal(0, Image.Quantize(float.NegativeInfinity));
        // The product x * 255 is taken in double (exact for a float x), so it is the correctly rounded
        // value and agrees with Image8.FromUnit; ties (none occur exactly for floats near k + 0.5,
        // since (2k+1)/510 is not a float) go to the even neighbour.
        for (int k = 0; k < 255; k++)
        {
            float x = (k + 0.5f) / 255f;
            Assert.Equal((byte)Math.Round((double)x * 255.0, MidpointRounding.ToEven), Image.Quantize(x));
            var i8 = Image8.FromUnit([x, x, x], 1, 1, 3, PixelLayout.Chw);
            Assert.Equal(i8.Data[0], Image.Quantize(x));
        }
        var rng = TestData.Rng();
        for (int i = 0; i < 1000; i++)
        {
            double x = rng.NextDouble() * 1.4 - 0.2;
            double scaled = Math.Clamp(x, 0, 1) * 255;
            if (Math.Abs(scaled - Math.Floor(scaled) - 0.5) < 1e-3) continue; // away from ties, float and double agree
            Assert.Equal((byte)Math.Round(scaled), Image.Quantize((float)x));
        }
    }

    [Fact]
    public void Write_ClampsOutOfRangeValues()
    {
        using var tmp = new TempDir();
        var data = new float[] { -0.3f, 1.2f, 0.5f, float.NaN, 2f / 255f, 1f, 0f, 0.25f, 0.75f, 10f, -10f, 0.1f };
        var img = new Image(2, 2, data);
        string path = tmp.File("clamp.png");
        ImageIO.WritePng(path, img);
        var back = ImageIO.Read(path).ToRgb8();
        byte[] expected = [0, 255, 128, 0, 2, 255, 0, 64, 191, 255, 0, 26];
        // back is HWC; expected is CHW order of data
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 4; p++)
                Assert.Equal(expected[c * 4 + p], back[3 * p + c]);
    }

    [Fact]
    public void Tensor_RoundTrip_ChwAndBatchOfOne()
    {
        var img = Random8(TestData.Rng(), 7, 5);
        using var t = img.ToTensor();
        Assert.Equal([3, 5, 7], t.Shape);
        Assert.Equal(DType.F32, t.DType);
        var arr = t.ToFloatArray();
        Assert.Equal(img.Data, arr);
        // (c, y, x) layout: element (1, 2, 3) is the G value of pixel row 2, column 3
        Assert.Equal(img.ToRgb8()[3 * (2 * 7 + 3) + 1] / 255f, arr[(1 * 5 + 2) * 7 + 3]);

        using var batch = Tensor.FromArray(img.Data, [1, 3, 5, 7]);
        var fromBatch = Image.FromTensor(batch);
        Assert.Equal((7, 5), (fromBatch.Width, fromBatch.Height));
        Assert.Equal(img.Data, fromBatch.Data);

        using var tmp = new TempDir();
        string path = tmp.File("t.png");
        ImageIO.Write(path, t);
        using var read = ImageIO.ReadTensor(path);
        Assert.Equal(arr, read.ToFloatArray());
    }

    [Fact]
    public void Tensor_WrongShapeOrDType_Throws()
    {
        using var four = Tensor.Zeros([4, 5, 5]);
        Assert.Contains("(3, H, W)", Assert.Throws<ShapeMismatchException>(() => Image.FromTensor(four)).Message);
        using var batch2 = Tensor.Zeros([2, 3, 5, 5]);
        Assert.Throws<ShapeMismatchException>(() => Image.FromTensor(batch2));
        using var flat = Tensor.Zeros([75]);
        Assert.Throws<ShapeMismatchException>(() => Image.FromTensor(flat));
        using var ints = Tensor.FromArray(new int[12], [3, 2, 2]);
        Assert.Throws<DTypeMismatchException>(() => Image.FromTensor(ints));
    }

    private static TEx ReadFails<TEx>(string path, params string[] reason) where TEx : EngineException
    {
        var ex = Assert.Throws<TEx>(() => ImageIO.Read(path));
        Assert.Contains(path, ex.Message);
        foreach (var r in reason) Assert.Contains(r, ex.Message, StringComparison.OrdinalIgnoreCase);
        return ex;
    }

    [Fact]
    public void TruncatedPng_IsFormatError_NamingFileAndReason()
    {
        using var tmp = new TempDir();
        string good = tmp.File("good.png");
        ImageIO.WritePng(good, Random8(TestData.Rng(), 64, 64));
        var bytes = File.ReadAllBytes(good);
        foreach (int keep in new[] { bytes.Length / 2, 40, 12 })
        {
            string path = tmp.File($"trunc{keep}.png");
            File.WriteAllBytes(path, bytes[..keep]);
            var ex = ReadFails<ImageFormatException>(path, "corrupt or truncated PNG");
            Assert.Equal(path, ex.Path);
        }
    }

    [Fact]
    public void TruncatedJpeg_IsFormatError()
    {
        using var tmp = new TempDir();
        string good = tmp.File("good.jpg");
        ImageIO.WriteJpeg(good, Random8(TestData.Rng(), 64, 64), 90);
        var bytes = File.ReadAllBytes(good);
        string path = tmp.File("trunc.jpg");
        File.WriteAllBytes(path, bytes[..10]);
        ReadFails<ImageFormatException>(path, "corrupt or truncated JPEG");
    }

    [Fact]
    public void RandomBytes_AreUnsupportedFormat()
    {
        using var tmp = new TempDir();
        var junk = new byte[1000];
        TestData.Rng().NextBytes(junk);
        junk[0] = 0x00; // no image signature starts with 0
        string path = tmp.File("noise.png");
        File.WriteAllBytes(path, junk);
        ReadFails<ImageFormatException>(path, "unsupported or unrecognized format");
    }

    [Fact]
    public void PngSignatureFollowedByRandomBytes_IsCorrupt()
    {
        using var tmp = new TempDir();
        var junk = new byte[1000];
        TestData.Rng().NextBytes(junk);
        byte[] sig = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        sig.CopyTo(junk, 0);
        string path = tmp.File("junk.png");
        File.WriteAllBytes(path, junk);
        ReadFails<ImageFormatException>(path, "corrupt");
    }

    [Fact]
    public void TextFileRenamedPng_IsUnsupportedFormat()
    {
        using var tmp = new TempDir();
        string path = tmp.File("notes.png");
        File.WriteAllText(path, "these are notes, not pixels\n");
        ReadFails<ImageFormatException>(path, "unsupported or unrecognized format", "PNG, JPEG, BMP");
    }

    [Fact]
    public void EmptyFile_IsFormatError()
    {
        using var tmp = new TempDir();
        string path = tmp.File("empty.jpg");
        File.WriteAllBytes(path, []);
        ReadFails<ImageFormatException>(path, "empty file");
    }

    [Fact]
    public void MissingFileOrFolder_IsIOError()
    {
        using var tmp = new TempDir();
        ReadFails<ImageIOException>(tmp.File("nope.png"), "file not found");
        ReadFails<ImageIOException>(tmp.Path, "directory");
    }

    [Fact]
    public void WriteIntoMissingFolder_IsIOError_AndUnknownExtension_IsFormatError()
    {
        using var tmp = new TempDir();
        var img = Random8(TestData.Rng(), 3, 3);
        string path = Path.Combine(tmp.Path, "no", "such", "dir", "x.png");
        var ex = Assert.Throws<ImageIOException>(() => ImageIO.WritePng(path, img));
        Assert.Contains(path, ex.Message);
        Assert.Contains("cannot write", ex.Message);
        string tif = tmp.File("x.tif");
        var fx = Assert.Throws<ImageFormatException>(() => ImageIO.Write(tif, img));
        Assert.Contains(tif, fx.Message);
        Assert.Contains(".tif", fx.Message);
    }
}
