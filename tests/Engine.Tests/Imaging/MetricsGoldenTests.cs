// Golden values for Engine.Imaging metrics: every case in Imaging/metrics.json (written by
// Imaging/gen_metrics.py with scikit-image; versions are in the file) is recomputed here.
// PSNR and SSIM (RGB, Y, Y rounded; border 0 and 4) must match skimage to 1e-4 absolute (dB for
// PSNR); the noise histograms must match numpy's counts exactly and the KL / band statistics and
// AKLD to 1e-12.
// Regenerate: /usr/bin/python3 tests/Engine.Tests/Imaging/gen_metrics.py
using System.Globalization;
using System.Text.Json;
using Engine.Imaging;
using Xunit;

namespace Engine.Tests.Imaging;

public class MetricsGoldenTests
{
    private const double MetricTol = 1e-4;
    private const double NoiseTol = 1e-12;

    private static readonly Lazy<JsonDocument> Doc = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Imaging", "metrics.json"))));

    private static JsonElement Root => Doc.Value.RootElement;

    private static Image8 Img(JsonElement c, string key)
    {
        var s = c.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var bytes = c.GetProperty(key).EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray();
        return Image8.FromBytes(bytes, s[0], s[1], s[2]);
    }

    public static TheoryData<string> MetricCases()
    {
        var d = new TheoryData<string>();
        foreach (var c in Root.GetProperty("cases").EnumerateArray()) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    public static TheoryData<string> NoiseCases()
    {
        var d = new TheoryData<string>();
        foreach (var c in Root.GetProperty("noise_cases").EnumerateArray()) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    private static JsonElement Case(string group, string name) =>
        Root.GetProperty(group).EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    [Theory]
    [MemberData(nameof(MetricCases))]
    public void PsnrAndSsimMatchScikitImage(string name)
    {
        var c = Case("cases", name);
        var a = Img(c, "reference");
        var b = Img(c, "test");
        var failures = new List<string>();
        int checkedCount = 0;
        foreach (var kv in c.GetProperty("expected").EnumerateObject())
        {
            // key: {psnr|ssim}_{rgb|y|yr}_b{border}
            var parts = kv.Name.Split('_');
            var o = new MetricOptions(parts[1] == "rgb" ? MetricChannel.Rgb : MetricChannel.Y,
                int.Parse(parts[2][1..], CultureInfo.InvariantCulture), RoundY: parts[1] == "yr");
            double expected = kv.Value.GetDouble();
            double got = parts[0] == "psnr" ? Metrics.Psnr(a, b, o) : Metrics.Ssim(a, b, o);
            checkedCount++;
            if (!(Math.Abs(got - expected) <= MetricTol))
                failures.Add($"{name} {kv.Name} ({o}): ours {got:R} skimage {expected:R} |diff| {Math.Abs(got - expected):E3}");
        }
        Assert.Equal(12, checkedCount);
        Assert.True(failures.Count == 0, $"skimage {Root.GetProperty("skimage_version").GetString()}:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void TensorInputsInBothLayoutsMatchTheByteImages()
    {
        var c = Case("cases", "gradient_noise_24x31");
        var a = Img(c, "reference");
        var b = Img(c, "test");
        int h = a.Height, w = a.Width;
        // [0,1] floats u/255 quantize back to u exactly; CHW is the transposed copy
        float[] Hwc(Image8 im) => im.Data.Select(v => (float)(v / 255.0)).ToArray();
        float[] Chw(Image8 im)
        {
            var r = new float[im.Data.Length];
            for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int ch = 0; ch < 3; ch++)
                r[(ch * h + y) * w + x] = (float)(im.Data[(y * w + x) * 3 + ch] / 255.0);
            return r;
        }
        using var ta = Engine.Tensor.FromArray(Hwc(a), new[] { h, w, 3 });
        using var tb = Engine.Tensor.FromArray(Hwc(b), new[] { h, w, 3 });
        using var ca = Engine.Tensor.FromArray(Chw(a), new[] { 3, h, w });
        using var cb = Engine.Tensor.FromArray(Chw(b), new[] { 3, h, w });
        double psnr = c.GetProperty("expected").GetProperty("psnr_rgb_b0").GetDouble();
        double ssimY = c.GetProperty("expected").GetProperty("ssim_y_b4").GetDouble();
        var y4 = new MetricOptions(MetricChannel.Y, CropBorder: 4);
        Assert.InRange(Metrics.Psnr(ta, tb, PixelLayout.Hwc), psnr - MetricTol, psnr + MetricTol);
        Assert.InRange(Metrics.Psnr(ca, cb, PixelLayout.Chw), psnr - MetricTol, psnr + MetricTol);
        Assert.InRange(Metrics.Ssim(ta, tb, PixelLayout.Hwc, y4), ssimY - MetricTol, ssimY + MetricTol);
        Assert.InRange(Metrics.Ssim(ca, cb, PixelLayout.Chw, y4), ssimY - MetricTol, ssimY + MetricTol);
    }

    [Fact]
    public void KldEdgesAreBitIdenticalToNumpy()
    {
        var expected = Root.GetProperty("kld_edges").EnumerateArray().Select(e => ParseHex(e.GetString()!)).ToArray();
        var ours = NoiseStats.NeCaEdges();
        Assert.Equal(67, ours.Length);
        Assert.Equal(expected.Length, ours.Length);
        for (int i = 0; i < ours.Length; i++)
            Assert.True(ours[i] == expected[i], $"edge {i}: ours {ours[i]:R} numpy {expected[i]:R}");
    }

    [Theory]
    [MemberData(nameof(NoiseCases))]
    public void NoiseHistogramKlAndBandsMatchNumpy(string name)
    {
        var c = Case("noise_cases", name);
        var clean = Img(c, "clean");
        var real = Img(c, "real");
        var synth = Img(c, "synth");
        var edges = NoiseStats.NeCaEdges();
        var rRes = NoiseStats.Residuals(real, clean);
        var sRes = NoiseStats.Residuals(synth, clean);
        Assert.Equal(c.GetProperty("real_hist").EnumerateArray().Select(e => e.GetInt64()).ToArray(), NoiseStats.Histogram(rRes, edges));
        Assert.Equal(c.GetProperty("synth_hist").EnumerateArray().Select(e => e.GetInt64()).ToArray(), NoiseStats.Histogram(sRes, edges));
        Near(c.GetProperty("kl_neca").GetDouble(), NoiseStats.HistogramKl(clean, real, synth, NoiseKldVariant.NeCa), $"{name} kl_neca");
        Near(c.GetProperty("kl_addone").GetDouble(), NoiseStats.HistogramKl(clean, real, synth, NoiseKldVariant.NoiseFlowAddOne), $"{name} kl_addone");

        var c01 = clean.Data.Select(v => v / 255.0).ToArray();
        foreach (var (key, res) in new[] { ("bands_real", rRes), ("bands_synth", sRes) })
        {
            var ours = NoiseStats.StdPerBand(c01, res, 8);
            var exp = c.GetProperty(key).EnumerateArray().ToArray();
            Assert.Equal(exp.Length, ours.Length);
            for (int bnd = 0; bnd < ours.Length; bnd++)
            {
                Assert.Equal(exp[bnd][0].GetInt64(), ours[bnd].Count);
                if (ours[bnd].Count == 0) { Assert.True(double.IsNaN(ours[bnd].Std)); continue; }
                Near(exp[bnd][1].GetDouble(), ours[bnd].Mean, $"{name} {key} band {bnd} mean");
                Near(exp[bnd][2].GetDouble(), ours[bnd].Std, $"{name} {key} band {bnd} std");
            }
        }
    }

    private static void Near(double expected, double got, string what) =>
        Assert.True(Math.Abs(got - expected) <= NoiseTol, $"{what}: ours {got:R} numpy {expected:R} |diff| {Math.Abs(got - expected):E3}");

    /// <summary>Python float.hex() ("0x1.8p-54", "-0x1.999999999999ap-4", "0x0.0p+0").</summary>
    internal static double ParseHex(string s)
    {
        bool neg = s.StartsWith('-');
        if (neg) s = s[1..];
        if (!s.StartsWith("0x", StringComparison.Ordinal)) throw new FormatException(s);
        int p = s.IndexOf('p');
        string mant = s[2..p];
        int exp = int.Parse(s[(p + 1)..], CultureInfo.InvariantCulture);
        int dot = mant.IndexOf('.');
        string intPart = dot < 0 ? mant : mant[..dot], frac = dot < 0 ? "" : mant[(dot + 1)..];
        long bits = long.Parse(intPart + frac, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        double v = Math.ScaleB(bits, exp - 4 * frac.Length);
        return neg ? -v : v;
    }

    [Fact]
    public void GeneratorSitsBesideTheGoldenFile()
    {
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "Imaging", "gen_metrics.py")), "the generating script must sit beside metrics.json");
        Assert.False(string.IsNullOrEmpty(Root.GetProperty("skimage_version").GetString()));
    }
}

public class AkldGoldenTests
{
    [Fact]
    public void AkldMatchesTheNumpyRestatementOfDanet()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Imaging", "metrics.json")));
        var c = doc.RootElement.GetProperty("akld");
        double[] Arr(System.Text.Json.JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var s = c.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var clean = Arr(c.GetProperty("clean"));
        var real = Arr(c.GetProperty("real"));
        var samples = c.GetProperty("samples").EnumerateArray().Select(Arr).ToList();
        var expVar = Arr(c.GetProperty("real_var"));
        var ours = Akld.LocalVariance(real, clean, s[0], s[1], s[2]);
        Assert.Equal(expVar.Length, ours.Length);
        double maxRel = 0;
        for (int i = 0; i < ours.Length; i++) maxRel = Math.Max(maxRel, Math.Abs(ours[i] - expVar[i]) / expVar[i]);
        Assert.True(maxRel < 1e-12, $"local variance max rel err {maxRel:E3}");
        double exp = c.GetProperty("akld").GetDouble();
        double got = Akld.Compute(clean, real, samples, s[0], s[1], s[2]);
        Assert.True(Math.Abs(got - exp) < 1e-12, $"AKLD ours {got:R} numpy {exp:R}");
        // the real noise against itself scores 0; a sample list is required
        Assert.Equal(0.0, Akld.Compute(clean, real, new[] { real }, s[0], s[1], s[2]), 15);
        Assert.Throws<InvalidArgumentException>(() => Akld.Compute(clean, real, Array.Empty<double[]>(), s[0], s[1], s[2]));
        Assert.Throws<ShapeMismatchException>(() => Akld.Compute(clean, real, new[] { new double[3] }, s[0], s[1], s[2]));
    }

    [Fact]
    public void SevenTapTableIsOpenCvsAndSumsToOne()
    {
        Assert.Equal(new[] { 0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125 }, Akld.Taps7);
        Assert.Equal(1.0, Akld.Taps7.Sum());
    }
}
