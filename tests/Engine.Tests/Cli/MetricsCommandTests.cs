// `engine metrics` and `engine metrics noise`, run in process through Entry.Run with a console that
// writes to a string: pairing by name, values equal to Engine.Imaging's functions on the same files,
// the JSON file (infinite PSNR as null), and exit code 2 with a readable message for bad folders.
using System.Text.Json;
using Engine.Cli;
using Engine.Imaging;
using Engine.Tests.Imaging;
using Engine.Tests.Support;
using Spectre.Console;
using Xunit;

namespace Engine.Tests.Cli;

public class MetricsCommandTests
{
    private static (int Code, string Output) Run(params string[] args) => CliRunner.Run(args);

    private static Image8 To8(Image img) => Image8.FromImage(img);

    /// <summary>A copy with each 8-bit value moved by a random amount in [-amp, amp], clamped.</summary>
    private static Image Noisy(System.Random rng, Image img, int amp)
    {
        var b = img.ToRgb8();
        for (int i = 0; i < b.Length; i++) b[i] = (byte)Math.Clamp(b[i] + rng.Next(-amp, amp + 1), 0, 255);
        return Image.FromRgb8(b, img.Width, img.Height);
    }

    private static JsonElement ReadJson(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    [Fact]
    public void IdenticalFoldersGiveInfinitePsnrPrintedAsInfAndWrittenAsNull()
    {
        var rng = TestData.Rng();
        using var dir = new TempDir();
        string a = Directory.CreateDirectory(dir.File("ref")).FullName, b = Directory.CreateDirectory(dir.File("test")).FullName;
        foreach (var n in new[] { "x", "y" })
        {
            var img = ImagingTestSupport.Random8(rng, 16, 13);
            ImageIO.Write(Path.Combine(a, n + ".png"), img);
            ImageIO.Write(Path.Combine(b, n + ".png"), img);
        }
        string json = dir.File("out.json");
        var (code, output) = Run("metrics", "--reference", a, "--test", b, "--json", json);
        Assert.True(code == 0, output);
        Assert.Contains("inf", output);
        Assert.Contains("mean of 2", output);
        var doc = ReadJson(json);
        Assert.Equal(2, doc.GetProperty("count").GetInt32());
        Assert.Equal(2, doc.GetProperty("infinite_psnr").GetInt32());
        foreach (var img in doc.GetProperty("images").EnumerateArray())
        {
            Assert.Equal(JsonValueKind.Null, img.GetProperty("psnr").ValueKind);
            Assert.Equal(1.0, img.GetProperty("ssim").GetDouble(), 12);
        }
        Assert.Equal(JsonValueKind.Null, doc.GetProperty("mean").GetProperty("psnr").ValueKind);
        Assert.Equal(1.0, doc.GetProperty("mean").GetProperty("ssim").GetDouble(), 12);
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 2)]
    public void NoisyCopiesGiveTheValuesOfMetricsPsnrAndSsim(bool yChannel, int crop)
    {
        var rng = TestData.Rng(salt: crop);
        using var dir = new TempDir();
        string a = Directory.CreateDirectory(dir.File("ref")).FullName, b = Directory.CreateDirectory(dir.File("test")).FullName;
        Directory.CreateDirectory(Path.Combine(a, "sub"));
        Directory.CreateDirectory(Path.Combine(b, "sub"));
        // names pair by relative path without extension: sub/b.png with sub/b.bmp
        var files = new[] { ("a.png", "a.png", 3), ("sub/b.png", "sub/b.bmp", 12), ("c.bmp", "c.png", 30) };
        var expected = new Dictionary<string, (double Psnr, double Ssim)>();
        var options = new MetricOptions(yChannel ? MetricChannel.Y : MetricChannel.Rgb, crop);
        foreach (var (fa, fb, amp) in files)
        {
            var clean = ImagingTestSupport.Random8(rng, 23 + amp % 5, 19);
            var noisy = Noisy(rng, clean, amp);
            ImageIO.Write(Path.Combine(a, fa), clean);
            ImageIO.Write(Path.Combine(b, fb), noisy);
            expected[Path.ChangeExtension(fa, null)] = (Metrics.Psnr(To8(clean), To8(noisy), options), Metrics.Ssim(To8(clean), To8(noisy), options));
        }
        string json = dir.File("m.json");
        var args = new List<string> { "metrics", "--reference", a, "--test", b, "--json", json, "--crop", crop.ToString() };
        if (yChannel) args.Add("--y-channel");
        var (code, output) = Run([.. args]);
        Assert.True(code == 0, output);
        var doc = ReadJson(json);
        Assert.Equal(yChannel ? "y" : "rgb", doc.GetProperty("options").GetProperty("channel").GetString());
        Assert.Equal(crop, doc.GetProperty("options").GetProperty("crop_border").GetInt32());
        var images = doc.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(new[] { "a", "c", "sub/b" }, images.Select(i => i.GetProperty("name").GetString()).ToArray());
        foreach (var img in images)
        {
            var (p, s) = expected[img.GetProperty("name").GetString()!];
            Assert.Equal(p, img.GetProperty("psnr").GetDouble());
            Assert.Equal(s, img.GetProperty("ssim").GetDouble());
            Assert.Contains(p.ToString("F4"), output);
        }
        // larger noise, lower PSNR: the values are per image, not copies of one
        Assert.True(expected["a"].Psnr > expected["sub/b"].Psnr && expected["sub/b"].Psnr > expected["c"].Psnr);
        Assert.Equal(expected.Values.Average(v => v.Psnr), doc.GetProperty("mean").GetProperty("psnr").GetDouble(), 12);
        Assert.Equal(expected.Values.Average(v => v.Ssim), doc.GetProperty("mean").GetProperty("ssim").GetDouble(), 12);
    }

    [Fact]
    public void MissingFolderExitsWithCode2AndNamesIt()
    {
        using var dir = new TempDir();
        string a = Directory.CreateDirectory(dir.File("ref")).FullName;
        ImageIO.Write(Path.Combine(a, "x.png"), ImagingTestSupport.Random8(TestData.Rng(), 12, 12));
        string missing = dir.File("nope");
        var (code, output) = Run("metrics", "--reference", a, "--test", missing);
        Assert.Equal(2, code);
        Assert.Contains("--test", output);
        Assert.Contains("not found", output);
        Assert.Contains("nope", output);
        Assert.DoesNotContain("   at ", output);

        (code, output) = Run("metrics", "--reference", a);
        Assert.Equal(2, code);
        Assert.Contains("'--test' is required", output);
        Assert.DoesNotContain("   at ", output);
        (code, output) = Run("metrics", "--reference", a, "--test", a, "--bogus", "1");
        Assert.Equal(2, code);
        Assert.Contains("--bogus", output);
        (code, output) = Run("metrics", "--reference", a, "--test", a, "--crop", "-1");
        Assert.Equal(2, code);
        Assert.Contains("--crop", output);
    }

    [Fact]
    public void MismatchedNamesAreListedPerFolder()
    {
        var rng = TestData.Rng();
        using var dir = new TempDir();
        string a = Directory.CreateDirectory(dir.File("ref")).FullName, b = Directory.CreateDirectory(dir.File("test")).FullName;
        var img = ImagingTestSupport.Random8(rng, 12, 12);
        foreach (var n in new[] { "common", "only_ref1", "only_ref2" }) ImageIO.Write(Path.Combine(a, n + ".png"), img);
        foreach (var n in new[] { "common", "only_test" }) ImageIO.Write(Path.Combine(b, n + ".png"), img);
        var (code, output) = Run("metrics", "--reference", a, "--test", b);
        Assert.Equal(2, code);
        Assert.Contains("missing from --test", output);
        Assert.Contains("missing from --reference", output);
        Assert.Contains("only_ref1, only_ref2", output);
        Assert.Contains("only_test", output);
        Assert.DoesNotContain("common", output);
    }

    [Fact]
    public void SizeMismatchNamesBothFilesAndSizes()
    {
        var rng = TestData.Rng();
        using var dir = new TempDir();
        string a = Directory.CreateDirectory(dir.File("ref")).FullName, b = Directory.CreateDirectory(dir.File("test")).FullName;
        ImageIO.Write(Path.Combine(a, "p.png"), ImagingTestSupport.Random8(rng, 20, 14));
        ImageIO.Write(Path.Combine(b, "p.png"), ImagingTestSupport.Random8(rng, 21, 14));
        var (code, output) = Run("metrics", "--reference", a, "--test", b);
        Assert.Equal(2, code);
        Assert.Contains("size mismatch for 'p'", output);
        Assert.Contains("20x14", output);
        Assert.Contains("21x14", output);
        Assert.Contains(Path.Combine(a, "p.png"), output.Replace("\n", ""));
    }

    [Fact]
    public void NoiseSubcommandMatchesNoiseStatsPerImageAndPooled()
    {
        var rng = TestData.Rng();
        using var dir = new TempDir();
        string c = Directory.CreateDirectory(dir.File("clean")).FullName, r = Directory.CreateDirectory(dir.File("real")).FullName,
            s = Directory.CreateDirectory(dir.File("synth")).FullName;
        var cl = new List<Image8>(); var re = new List<Image8>(); var sy = new List<Image8>();
        foreach (var (n, w, ampR, ampS) in new[] { ("i1", 20, 8, 4), ("i2", 17, 6, 15) })
        {
            var clean = ImagingTestSupport.Random8(rng, w, 15);
            var real = Noisy(rng, clean, ampR);
            var synth = Noisy(rng, clean, ampS);
            ImageIO.Write(Path.Combine(c, n + ".png"), clean);
            ImageIO.Write(Path.Combine(r, n + ".png"), real);
            ImageIO.Write(Path.Combine(s, n + ".png"), synth);
            cl.Add(To8(clean)); re.Add(To8(real)); sy.Add(To8(synth));
        }
        string json = dir.File("n.json");
        var (code, output) = Run("metrics", "noise", "--clean", c, "--real", r, "--synthetic", s, "--bands", "4", "--json", json);
        Assert.True(code == 0, output);
        Assert.Contains("pooled", output);
        var doc = ReadJson(json);
        var images = doc.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(2, images.Count);
        var variants = new[] { ("neca", NoiseKldVariant.NeCa), ("noiseflow_addone", NoiseKldVariant.NoiseFlowAddOne), ("naflow", NoiseKldVariant.NaFlow) };
        for (int i = 0; i < 2; i++)
        {
            var kl = images[i].GetProperty("kl");
            foreach (var (key, v) in variants)
                Assert.Equal(NoiseStats.HistogramKl(cl[i], re[i], sy[i], v), kl.GetProperty(key).GetDouble(), 12);
            Assert.Equal(NoiseStats.IntensityKlSeNm(sy[i], re[i]), kl.GetProperty("senm_intensity").GetDouble(), 12);
            var ratio = NoiseStats.StdRatioPerBand(cl[i], re[i], sy[i], 4);
            var bands = images[i].GetProperty("bands").EnumerateArray().ToList();
            Assert.Equal(4, bands.Count);
            for (int k = 0; k < 4; k++) Assert.Equal(ratio[k], bands[k].GetProperty("std_ratio").GetDouble(), 12);
        }
        // pooled = one histogram / one band statistic over the residuals of both images
        var rAll = NoiseStats.Residuals(re[0], cl[0]).Concat(NoiseStats.Residuals(re[1], cl[1])).ToArray();
        var sAll = NoiseStats.Residuals(sy[0], cl[0]).Concat(NoiseStats.Residuals(sy[1], cl[1])).ToArray();
        var cAll = cl[0].Data.Concat(cl[1].Data).Select(v => v / 255.0).ToArray();
        var pooled = doc.GetProperty("pooled");
        foreach (var (key, v) in variants)
            Assert.Equal(NoiseStats.HistogramKl(rAll, sAll, v), pooled.GetProperty("kl").GetProperty(key).GetDouble(), 12);
        var pr = NoiseStats.StdRatio(NoiseStats.StdPerBand(cAll, rAll, 4), NoiseStats.StdPerBand(cAll, sAll, 4));
        var pb = pooled.GetProperty("bands").EnumerateArray().ToList();
        for (int k = 0; k < 4; k++) Assert.Equal(pr[k], pb[k].GetProperty("std_ratio").GetDouble(), 12);
        // the mean row is the mean of per-image values (the papers' dataset figure)
        double m = images.Average(im => im.GetProperty("kl").GetProperty("neca").GetDouble());
        Assert.Equal(m, doc.GetProperty("mean").GetProperty("kl").GetProperty("neca").GetDouble(), 14);
    }

    [Fact]
    public void NoiseSubcommandRequiresAllThreeFolders()
    {
        using var dir = new TempDir();
        var (code, output) = Run("metrics", "noise", "--clean", dir.Path, "--real", dir.Path);
        Assert.Equal(2, code);
        Assert.Contains("'--synthetic' is required", output);
        (code, output) = Run("metrics", "noise", "--clean", dir.Path, "--real", dir.Path, "--synthetic", dir.Path);
        Assert.Equal(2, code);
        Assert.Contains("holds no images", output);
    }
}
