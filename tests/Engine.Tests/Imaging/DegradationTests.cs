// Degradation pipelines: determinism by (seed, key), the statistics each pipeline promises
// (noise std, channel correlation, spatial correlation, signal dependence), parameter
// validation, the x2/x4 variant's sizes, and the folder runner's outputs, manifest and skips.
using System.Text.Json.Nodes;
using Xunit;
using Engine.Imaging;
using Engine.Imaging.Degradation;

namespace Engine.Tests.Imaging;

public sealed class DegradationTests
{
    private static Image Flat(int w, int h, float v)
    {
        var d = new float[3 * w * h];
        Array.Fill(d, v);
        return new Image(w, h, d);
    }

    private static (double mean, double std) Stats(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0, ss = 0;
        for (int i = 0; i < a.Length; i++) { double d = a[i] - b[i]; s += d; ss += d * d; }
        double m = s / a.Length;
        return (m, Math.Sqrt(ss / a.Length - m * m));
    }

    private static double Corr(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double mx = 0, my = 0;
        for (int i = 0; i < x.Length; i++) { mx += x[i]; my += y[i]; }
        mx /= x.Length; my /= y.Length;
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++) { double a = x[i] - mx, b = y[i] - my; sxy += a * b; sxx += a * a; syy += b * b; }
        return sxy / Math.Sqrt(sxx * syy);
    }

    private static float[] Residual(Image noisy, Image clean) => noisy.Data.Zip(clean.Data, (a, b) => a - b).ToArray();

    [Theory]
    [InlineData("camera")]
    [InlineData("correlated")]
    [InlineData("compression")]
    [InlineData("gaussian")]
    public void Same_seed_and_key_give_the_same_image_and_others_differ(string name)
    {
        var clean = ImagingTestSupport.Random8(new System.Random(5), 40, 32);
        var d = Degradations.Create(name);
        var a = d.Apply(clean, 7, "a/x.png");
        var b = Degradations.Create(name).Apply(clean, 7, "a/x.png");
        Assert.Equal(a.Image.Data, b.Image.Data);
        Assert.Equal(a.Drawn, b.Drawn);
        Assert.NotEqual(a.Image.Data, d.Apply(clean, 8, "a/x.png").Image.Data);
        Assert.NotEqual(a.Image.Data, d.Apply(clean, 7, "a/y.png").Image.Data);
        Assert.Equal(clean.Width, a.Image.Width);
        Assert.Equal(clean.Height, a.Image.Height);
        Assert.All(a.Image.Data, v => Assert.InRange(v, 0f, 1f));
    }

    [Theory]
    [InlineData(0.7)]
    [InlineData(3.0)]
    [InlineData(42.5)]
    [InlineData(1456.0)]
    public void Poisson_sampler_has_the_right_mean_and_variance(double lambda)
    {
        var rng = new DegradationRng(11);
        const int n = 200_000;
        double s = 0, ss = 0;
        for (int i = 0; i < n; i++) { double k = rng.Poisson(lambda); Assert.Equal(Math.Floor(k), k); s += k; ss += k * k; }
        double mean = s / n, variance = ss / n - mean * mean;
        // 6 standard errors: the mean's is sqrt(lambda / n), the variance's about lambda * sqrt(2 / n).
        Assert.InRange(mean, lambda - 6 * Math.Sqrt(lambda / n), lambda + 6 * Math.Sqrt(lambda / n));
        Assert.InRange(variance, lambda * (1 - 6 * Math.Sqrt(2.0 / n) - 6 / Math.Sqrt(n * lambda)), lambda * (1 + 6 * Math.Sqrt(2.0 / n) + 6 / Math.Sqrt(n * lambda)));
    }

    [Fact]
    public void Poisson_small_mean_matches_the_probability_mass_function()
    {
        var rng = new DegradationRng(3);
        const int n = 100_000;
        var counts = new int[12];
        for (int i = 0; i < n; i++) { int k = (int)rng.Poisson(2.0); if (k < counts.Length) counts[k]++; }
        for (int k = 0; k < 6; k++)
        {
            double p = Math.Exp(-2.0 + k * Math.Log(2.0) - DegradationRng.LogFactorial(k));
            Assert.InRange(counts[k] / (double)n, p - 6 * Math.Sqrt(p / n), p + 6 * Math.Sqrt(p / n));
        }
    }

    [Fact]
    public void Log_factorial_matches_the_sum_of_logs()
    {
        foreach (int k in new[] { 0, 1, 5, 15, 16, 17, 40, 200, 1500 })
        {
            double exact = 0;
            for (int i = 2; i <= k; i++) exact += Math.Log(i);
            Assert.True(Math.Abs(DegradationRng.LogFactorial(k) - exact) <= 1e-10 * Math.Max(1, exact), $"k={k}: {DegradationRng.LogFactorial(k)} vs {exact}");
        }
    }

    [Fact]
    public void Camera_noise_variance_follows_shot_times_signal_plus_read_in_linear_light()
    {
        var d = Degradations.Create("camera", overrides: [new("shot_min", 0.004), new("shot_max", 0.004), new("read_jitter", 0), new("jpeg_min", 0), new("jpeg_max", 0)]);
        double read = Math.Pow(10, 1.85 * Math.Log10(0.004) + 0.30);
        foreach (float v in new[] { 0.3f, 0.7f })
        {
            var clean = Flat(128, 128, v);
            var r = d.Apply(clean, 1, "flat");
            Assert.Equal(0.004, r.Drawn["shot"], 12);
            Assert.Equal(read, r.Drawn["read"], 12);
            double lin = CameraDegradation.SrgbToLinear(v), s = 0, ss = 0;
            foreach (float y in r.Image.Data) { double l = CameraDegradation.SrgbToLinear(y) - lin; s += l; ss += l * l; }
            int n = r.Image.Data.Length;
            double var = ss / n - (s / n) * (s / n), expect = 0.004 * lin + read;
            Assert.InRange(var, expect * 0.93, expect * 1.07);
            Assert.InRange(s / n, -0.02 * Math.Sqrt(expect), 0.02 * Math.Sqrt(expect) + 0.002);
        }
    }

    [Fact]
    public void Camera_noise_grows_with_brightness_and_levels_stay_in_the_sampler_range()
    {
        var d = Degradations.Create("camera", overrides: [new("jpeg_min", 0), new("jpeg_max", 0)]);
        var dark = d.Apply(Flat(64, 64, 0.15f), 2, "k");
        var bright = d.Apply(Flat(64, 64, 0.85f), 2, "k");
        Assert.Equal(dark.Drawn["shot"], bright.Drawn["shot"]);
        // Same draws, so the linear-light std scales with sqrt(shot*x + read): brighter is noisier.
        double Lin(Image img, float v) => Math.Sqrt(img.Data.Select(y => Math.Pow(CameraDegradation.SrgbToLinear(y) - CameraDegradation.SrgbToLinear(v), 2)).Average());
        Assert.True(Lin(bright.Image, 0.85f) > 1.5 * Lin(dark.Image, 0.15f));
        for (int i = 0; i < 50; i++)
        {
            var r = d.Apply(Flat(4, 4, 0.5f), 9, $"img{i}");
            Assert.InRange(r.Drawn["shot"], 6.8674e-4, 2.194856e-2);
        }
    }

    [Fact]
    public void Camera_jpeg_quality_is_drawn_inside_the_range()
    {
        var d = Degradations.Create("camera", overrides: [new("jpeg_min", 60), new("jpeg_max", 62)]);
        var seen = new HashSet<double>();
        for (int i = 0; i < 40; i++) seen.Add(d.Apply(Flat(16, 16, 0.5f), 1, $"q{i}").Drawn["jpeg_quality"]);
        Assert.Equal([60.0, 61.0, 62.0], seen.Order());
    }

    [Fact]
    public void Correlated_noise_has_the_drawn_std_channel_correlation_and_spatial_structure()
    {
        var d = Degradations.Create("correlated", overrides: [new("sigma_min", 0.03), new("sigma_max", 0.03), new("corr_min", 0.6), new("corr_max", 0.6)]);
        var clean = Flat(160, 160, 0.5f);
        var r = d.Apply(clean, 4, "c");
        var n = Residual(r.Image, clean);
        int hw = 160 * 160;
        var (mean, std) = Stats(r.Image.Data, clean.Data);
        Assert.InRange(std, 0.03 * 0.95, 0.03 * 1.05);
        Assert.InRange(mean, -0.002, 0.002);
        Assert.InRange(Corr(n.AsSpan(0, hw), n.AsSpan(hw, hw)), 0.55, 0.65);
        Assert.InRange(Corr(n.AsSpan(0, hw), n.AsSpan(2 * hw, hw)), 0.55, 0.65);
        // Zero-mean kernel: block means keep only the blocks' edge terms, so they shrink much faster
        // than white noise's std/16 (about 1/6 of it for 16x16 blocks and a 3x3 kernel).
        double blockSs = 0; int blocks = 0;
        for (int by = 0; by < 160; by += 16)
            for (int bx = 0; bx < 160; bx += 16)
            {
                double s = 0;
                for (int y = by; y < by + 16; y++) for (int x = bx; x < bx + 16; x++) s += n[y * 160 + x];
                blockSs += (s / 256) * (s / 256); blocks++;
            }
        Assert.True(Math.Sqrt(blockSs / blocks) < 0.3 * std / 16, $"block-mean std {Math.Sqrt(blockSs / blocks)} vs white {std / 16}");
        // And it is spatially correlated: neighbouring residuals are not independent.
        var left = new List<float>(); var right = new List<float>();
        for (int y = 0; y < 160; y++) for (int x = 0; x + 1 < 160; x++) { left.Add(n[y * 160 + x]); right.Add(n[y * 160 + x + 1]); }
        Assert.True(Math.Abs(Corr(left.ToArray(), right.ToArray())) > 0.05);
    }

    [Fact]
    public void Compression_noise_is_low_frequency_before_jpeg_and_jpeg_quality_is_strong()
    {
        var d = Degradations.Create("compression", overrides: [new("jpeg_min", 0), new("jpeg_max", 0), new("lf_sigma_min", 0.03), new("lf_sigma_max", 0.03)]);
        var clean = Flat(128, 128, 0.5f);
        var r = d.Apply(clean, 4, "c");
        var (_, std) = Stats(r.Image.Data, clean.Data);
        Assert.InRange(std, 0.03 * 0.97, 0.03 * 1.03);
        var n = Residual(r.Image, clean);
        var a = new List<float>(); var b = new List<float>();
        for (int y = 0; y < 128; y++) for (int x = 0; x + 4 < 128; x++) { a.Add(n[y * 128 + x]); b.Add(n[y * 128 + x + 4]); }
        Assert.True(Corr(a.ToArray(), b.ToArray()) > 0.7, "4-pixel lag correlation of low-frequency noise");

        var strong = Degradations.Create("compression");
        var photo = ImageIO.Read(SampleData.Files[0]);
        var s = strong.Apply(photo, 1, "p");
        Assert.InRange(s.Drawn["jpeg_quality"], 10, 30);
        double psnr = ImagingTestSupport.Psnr8(photo, s.Image);
        Assert.InRange(psnr, 15, 36);
    }

    [Fact]
    public void Gaussian_noise_has_the_requested_sigma()
    {
        var d = Degradations.Create("gaussian", overrides: [new("sigma_min", 0.05), new("sigma_max", 0.05)]);
        var clean = Flat(128, 128, 0.5f);
        var (mean, std) = Stats(d.Apply(clean, 1, "g").Image.Data, clean.Data);
        Assert.InRange(std, 0.05 * 0.98, 0.05 * 1.02);
        Assert.InRange(mean, -0.001, 0.001);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Scaled_variant_downscales_the_mod_cropped_clean_image(int scale)
    {
        var clean = ImagingTestSupport.Random8(new System.Random(1), 37, 30);
        var d = Degradations.Create("gaussian", scale, [new("sigma_min", 0.0), new("sigma_max", 0.0)]);
        var r = d.Apply(clean, 1, "s");
        var t = d.Target(clean);
        Assert.Equal(37 / scale * scale, t.Width);
        Assert.Equal(30 / scale * scale, t.Height);
        Assert.Equal(t.Width / scale, r.Image.Width);
        Assert.Equal(t.Height / scale, r.Image.Height);
        // With zero noise it is exactly the MATLAB-bicubic downscale of the target (then clipped).
        var expect = Resize.Bicubic(t, t.Height / scale, t.Width / scale);
        for (int i = 0; i < expect.Data.Length; i++) Assert.Equal(Math.Clamp(expect.Data[i], 0f, 1f), r.Image.Data[i]);
    }

    [Fact]
    public void Bad_parameters_are_typed_errors_and_leave_the_pipeline_unchanged()
    {
        var d = Degradations.Create("camera");
        var e = Assert.Throws<InvalidArgumentException>(() => d.Set("shot", 1));
        Assert.Contains("unknown parameter 'shot'", e.Message);
        Assert.Contains("shot_min", e.Message);
        e = Assert.Throws<InvalidArgumentException>(() => d.Set("jpeg_min", 99));
        Assert.Contains("jpeg_min <= jpeg_max", e.Message);
        Assert.Equal(75, d.Parameters["jpeg_min"]);
        Assert.Throws<InvalidArgumentException>(() => d.Set("jpeg_max", 101));
        Assert.Throws<InvalidArgumentException>(() => Degradations.Create("correlated").Set("kernel", 4));
        Assert.Throws<InvalidArgumentException>(() => Degradations.Create("gaussian", 3));
        e = Assert.Throws<InvalidArgumentException>(() => Degradations.Create("blurry"));
        Assert.Contains("camera, correlated, compression, gaussian", e.Message);
    }

    [Fact]
    public void Synth_folder_writes_pngs_with_relative_paths_a_manifest_and_reports_skips()
    {
        using var dir = new TempDir();
        string input = dir.File("in"), output = dir.File("out"), targets = dir.File("targets");
        Directory.CreateDirectory(Path.Combine(input, "sub"));
        var rng = new System.Random(3);
        ImageIO.WritePng(Path.Combine(input, "a.png"), ImagingTestSupport.Random8(rng, 20, 16));
        ImageIO.WriteJpeg(Path.Combine(input, "sub", "b.jpg"), ImagingTestSupport.Random8(rng, 18, 22));
        File.WriteAllBytes(Path.Combine(input, "broken.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);

        var d = Degradations.Create("correlated", 2);
        var report = SynthFolder.Run(input, output, d, 5, new SynthOptions(TargetDir: targets));
        Assert.Equal(["a.png", "sub/b.jpg"], report.Images.Select(i => i.Key));
        Assert.Single(report.Skipped);
        Assert.EndsWith("broken.png", report.Skipped[0].Path);
        var a = ImageIO.Read(Path.Combine(output, "a.png"));
        Assert.Equal((10, 8), (a.Width, a.Height));
        var b = ImageIO.Read(Path.Combine(output, "sub", "b.png"));
        Assert.Equal((9, 11), (b.Width, b.Height));
        Assert.Equal((18, 22), (ImageIO.Read(Path.Combine(targets, "sub", "b.png")).Width, ImageIO.Read(Path.Combine(targets, "sub", "b.png")).Height));

        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(output, SynthFolder.ManifestName)))!;
        Assert.Equal("correlated", (string)manifest["degradation"]!);
        Assert.Equal(2, (int)manifest["scale"]!);
        Assert.Equal(5UL, (ulong)manifest["seed"]!);
        Assert.Equal(0.08, (double)manifest["parameters"]!["sigma_max"]!);
        Assert.Equal(report.Images[0].Drawn["sigma"], (double)manifest["images"]![0]!["drawn"]!["sigma"]!);
        Assert.Contains("broken.png", (string)manifest["skipped"]![0]!["file"]!);

        // Each image's result does not depend on the rest of the folder.
        File.Delete(Path.Combine(input, "a.png"));
        string output2 = dir.File("out2");
        SynthFolder.Run(input, output2, d, 5);
        Assert.Equal(b.Data, ImageIO.Read(Path.Combine(output2, "sub", "b.png")).Data);

        Assert.Throws<ImageFormatException>(() => SynthFolder.Run(input, dir.File("out3"), d, 5, new SynthOptions(SkipUnreadable: false)));
        var same = Assert.Throws<ImageIOException>(() => SynthFolder.Run(input, input, d, 5));
        Assert.Contains("output folder is the input folder", same.Message);
    }
}
