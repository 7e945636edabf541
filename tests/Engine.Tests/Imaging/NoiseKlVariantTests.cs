// Golden values for the noise-KL variants beyond NeCA / Noise Flow: NAFlow's 256-bin residual KL and
// SeNM-VAE's grayscale-intensity KL, from Imaging/noisekl.json (written by Imaging/gen_noisekl.py with
// numpy/scipy; versions in the file). Histograms must match numpy's counts exactly, KL values to 1e-12.
// Regenerate: /usr/bin/python3 tests/Engine.Tests/Imaging/gen_noisekl.py
using System.Text.Json;
using Engine.Imaging;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Imaging;

public class NoiseKlVariantTests
{
    private const double Tol = 1e-12;

    private static readonly Lazy<JsonDocument> Doc = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Imaging", "noisekl.json"))));

    private static JsonElement Root => Doc.Value.RootElement;

    public static TheoryData<string> Cases()
    {
        var d = new TheoryData<string>();
        foreach (var c in Root.GetProperty("cases").EnumerateArray()) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    private static JsonElement Case(string name) =>
        Root.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static Image8 Img(JsonElement c, string key)
    {
        var s = c.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var bytes = c.GetProperty(key).EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray();
        return Image8.FromBytes(bytes, s[0], s[1], s[2]);
    }

    private static long[] Longs(JsonElement c, string key) => c.GetProperty(key).EnumerateArray().Select(e => e.GetInt64()).ToArray();

    private static void Near(double expected, double got, string what) =>
        Assert.True(Math.Abs(got - expected) <= Tol, $"{what}: ours {got:R} numpy {expected:R} |diff| {Math.Abs(got - expected):E3}");

    [Fact]
    public void NaFlowEdgesAreBitIdenticalToNumpy()
    {
        var expected = Root.GetProperty("naflow_edges").EnumerateArray().Select(e => MetricsGoldenTests.ParseHex(e.GetString()!)).ToArray();
        var ours = NoiseStats.NaFlowEdges();
        Assert.Equal(257, ours.Length);
        Assert.Equal(expected, ours);
        Assert.Equal(ours, NoiseStats.Edges(NoiseKldVariant.NaFlow));
        Assert.Equal(NoiseStats.NeCaEdges(), NoiseStats.Edges(NoiseKldVariant.NeCa));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void NaFlowKlMatchesNumpy(string name)
    {
        var c = Case(name);
        var clean = Img(c, "clean");
        var real = Img(c, "real");
        var synth = Img(c, "synth");
        var edges = NoiseStats.NaFlowEdges();
        var rRes = NoiseStats.Residuals(real, clean);
        var sRes = NoiseStats.Residuals(synth, clean);
        var rh = NoiseStats.Histogram(rRes, edges);
        Assert.Equal(Longs(c, "naflow_real_hist"), rh);
        Assert.Equal(Longs(c, "naflow_synth_hist"), NoiseStats.Histogram(sRes, edges));
        // the +1 and -1 residuals planted at (0,0) and (0,1) land in the closed last bin and the first bin
        Assert.True(rh[0] >= 3 && rh[^1] >= 3, $"first bin {rh[0]}, last bin {rh[^1]}");
        Assert.Equal(rRes.Length, rh.Sum());
        Near(c.GetProperty("kl_naflow").GetDouble(), NoiseStats.HistogramKl(clean, real, synth, NoiseKldVariant.NaFlow), $"{name} kl_naflow");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SeNmIntensityKlMatchesNumpyAndScipy(string name)
    {
        var c = Case(name);
        var real = Img(c, "real");
        var synth = Img(c, "synth");
        var gSynth = NoiseStats.GrayOpenCv(synth);
        var gReal = NoiseStats.GrayOpenCv(real);
        Assert.Equal(c.GetProperty("gray_synth").EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray(), gSynth);
        Assert.Equal(c.GetProperty("gray_real").EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray(), gReal);
        var hist = new long[256];
        foreach (byte v in gSynth) hist[v]++;
        Assert.Equal(Longs(c, "senm_gen_hist"), hist);
        double expected = c.GetProperty("kl_senm").GetDouble();
        Near(expected, NoiseStats.IntensityKlSeNm(gSynth, gReal), $"{name} kl_senm");
        Near(expected, NoiseStats.IntensityKlSeNm(synth, real), $"{name} kl_senm (images)");
    }

    [Fact]
    public void SeNmKlIsDirectionalAndRejectsEmptyInput()
    {
        var c = Case("wide");
        var real = Img(c, "real");
        var synth = Img(c, "synth");
        double fwd = NoiseStats.IntensityKlSeNm(synth, real), back = NoiseStats.IntensityKlSeNm(real, synth);
        Assert.True(Math.Abs(fwd - back) > 1e-3, $"KL(gen||real) {fwd} and KL(real||gen) {back} should differ");
        Assert.Throws<InvalidArgumentException>(() => NoiseStats.IntensityKlSeNm(ReadOnlySpan<byte>.Empty, new byte[] { 1 }));
    }

    [Fact]
    public void GrayOpenCvRoundsTheFloatFormulaAndPassesGrayThrough()
    {
        var rng = TestData.Rng();
        var rgb = new byte[3 * 500];
        rng.NextBytes(rgb);
        var img = Image8.FromBytes(rgb, 20, 25, 3);
        var g = NoiseStats.GrayOpenCv(img);
        for (int i = 0; i < g.Length; i++)
        {
            // the 14-bit coefficients differ from 0.299/0.587/0.114 by < 2e-5 each: at most 0.01 levels
            double f = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
            Assert.True(Math.Abs(g[i] - f) <= 0.51, $"pixel {i}: {g[i]} vs {f}");
        }
        var one = Image8.FromBytes(new byte[] { 7, 200, 13, 0 }, 2, 2, 1);
        Assert.Equal(new byte[] { 7, 200, 13, 0 }, NoiseStats.GrayOpenCv(one));
        Assert.Throws<ShapeMismatchException>(() => NoiseStats.GrayOpenCv(Image8.FromBytes(new byte[4], 1, 2, 2)));
    }

    [Fact]
    public void MergedBandsEqualTheBandsOfTheUnion()
    {
        var rng = TestData.Rng();
        var clean = TestData.Doubles(rng, 900, 0, 1);
        var res = TestData.Doubles(rng, 900, -0.05, 0.07);
        var whole = NoiseStats.StdPerBand(clean, res, 5);
        // uneven split; band 4 of the first part is made empty to exercise the empty-side path
        var idxA = Enumerable.Range(0, 900).Where(i => i % 3 == 0 && clean[i] < 0.8).ToArray();
        var idxB = Enumerable.Range(0, 900).Except(idxA).ToArray();
        var a = NoiseStats.StdPerBand(idxA.Select(i => clean[i]).ToArray(), idxA.Select(i => res[i]).ToArray(), 5);
        var b = NoiseStats.StdPerBand(idxB.Select(i => clean[i]).ToArray(), idxB.Select(i => res[i]).ToArray(), 5);
        Assert.Equal(0, a[4].Count);
        var m = NoiseStats.MergeBands(a, b);
        for (int k = 0; k < 5; k++)
        {
            Assert.Equal(whole[k].Count, m[k].Count);
            Near(whole[k].Mean, m[k].Mean, $"band {k} mean");
            Near(whole[k].Std, m[k].Std, $"band {k} std");
        }
        Assert.Throws<ShapeMismatchException>(() => NoiseStats.MergeBands(a, NoiseStats.StdPerBand(clean, res, 4)));
    }

    [Fact]
    public void KlFromSummedCountsEqualsKlOfTheConcatenation()
    {
        var c = Case("close");
        var clean = Img(c, "clean"); var real = Img(c, "real"); var synth = Img(c, "synth");
        var r1 = NoiseStats.Residuals(real, clean); var s1 = NoiseStats.Residuals(synth, clean);
        var r2 = r1.Select(v => -v).ToArray(); var s2 = s1.Reverse().Select(v => v * 0.5).ToArray();
        foreach (var v in new[] { NoiseKldVariant.NeCa, NoiseKldVariant.NoiseFlowAddOne, NoiseKldVariant.NaFlow })
        {
            var e = NoiseStats.Edges(v);
            var hr = NoiseStats.Histogram(r1, e).Zip(NoiseStats.Histogram(r2, e), (x, y) => x + y).ToArray();
            var hs = NoiseStats.Histogram(s1, e).Zip(NoiseStats.Histogram(s2, e), (x, y) => x + y).ToArray();
            Near(NoiseStats.HistogramKl(r1.Concat(r2).ToArray(), s1.Concat(s2).ToArray(), v),
                NoiseStats.HistogramKl(hr, r1.Length * 2L, hs, s1.Length * 2L, v), $"{v}");
        }
        Assert.Throws<ShapeMismatchException>(() => NoiseStats.HistogramKl(new long[66], 1, new long[256], 1, NoiseKldVariant.NaFlow));
        Assert.Throws<InvalidArgumentException>(() => NoiseStats.HistogramKl(new long[66], 0, new long[66], 1, NoiseKldVariant.NeCa));
    }

    [Fact]
    public void GeneratorSitsBesideTheGoldenFile()
    {
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "Imaging", "gen_noisekl.py")));
        Assert.False(string.IsNullOrEmpty(Root.GetProperty("scipy_version").GetString()));
    }
}
