// `engine train MODEL` and `engine degrade` for every registered learned model at the tiny preset:
// the run folder (model.json, checkpoints, curves, sample grids), synthesis with several samples,
// reproducibility for a seed, a different draw for another seed, resume, and clear errors.
using System.Text.Json.Nodes;
using Engine.Cli;
using Engine.Cli.Train;
using Engine.Imaging;
using Engine.Imaging.Degradation;
using Engine.Tests.Imaging;
using Spectre.Console;
using Xunit;

namespace Engine.Tests.Cli;

public sealed class TrainDegradeCommandTests
{
    private static (int Code, string Output) Run(params string[] args) => CliRunner.Run(args);

    public static TheoryData<string> Kinds => new(ModelRegistry.Kinds);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Train_then_degrade_a_folder(string kind)
    {
        using var dir = new TempDir();
        string noisy = dir.File("noisy"), run = dir.File("run"), out1 = dir.File("out1"), out2 = dir.File("out2"), out3 = dir.File("out3");
        SynthFolder.Run(SampleData.Path, noisy, Degradations.Create("correlated"), 5);

        // SeNM-VAE also takes pairs: the bundled photos and their degraded copies (same file names).
        string[] pairs = kind == "senmvae" ? ["--paired-clean", SampleData.Path, "--paired-noisy", noisy] : [];
        var (code, log) = Run(["train", kind, "--clean", SampleData.Path, "--noisy", noisy, .. pairs, "--preset", "tiny", "--steps", "6", "--out", run]);
        Assert.True(code == 0, log);
        foreach (var f in new[] { "model.json", "settings.json", "config.json", "metrics.csv", "summary.json", "checkpoints/model.safetensors", "checkpoints/state.json", "plots/loss.png" })
            Assert.True(File.Exists(Path.Combine(run, f)), $"missing {f}\n{log}");
        Assert.Equal(kind, (string)JsonNode.Parse(File.ReadAllText(Path.Combine(run, "model.json")))!["kind"]!);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(run, "samples"), "*.png"));
        Assert.Equal(7, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length);

        (code, log) = Run(["train", kind, "--clean", SampleData.Path, "--noisy", noisy, .. pairs, "--preset", "tiny", "--steps", "8", "--out", run]);
        Assert.True(code == 0, log);
        Assert.Contains("resuming", log);
        Assert.Equal(9, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length);

        (code, log) = Run("degrade", "--checkpoint", run, "--in", SampleData.Path, "--out", out1, "--samples", "2", "--seed", "3");
        Assert.True(code == 0, log);
        var files = ImageFolder.List(out1);
        Assert.Equal(14, files.Count);
        Assert.EndsWith("p000_s0.png", files[0]);
        var a = ImageIO.Read(files[0]);
        var clean = ImageIO.Read(SampleData.Files[0]);
        Assert.Equal((clean.Width, clean.Height), (a.Width, a.Height));
        Assert.NotEqual(a.Data, ImageIO.Read(files[1]).Data); // two samples differ

        Run("degrade", "--checkpoint", run, "--in", SampleData.Path, "--out", out2, "--samples", "2", "--seed", "3");
        Assert.Equal(File.ReadAllBytes(files[0]), File.ReadAllBytes(ImageFolder.List(out2)[0]));
        Run("degrade", "--checkpoint", run, "--in", SampleData.Path, "--out", out3, "--seed", "4");
        Assert.NotEqual(a.Data, ImageIO.Read(ImageFolder.List(out3)[0]).Data);

        if (kind != "senmvae")
        {
            (code, log) = Run("degrade", "--checkpoint", run, "--in", SampleData.Path, "--out", dir.File("o4"), "--level", "sidd");
            Assert.Equal(2, code);
            Assert.Contains("only senmvae", log);
            return;
        }
        // The level pool was recorded after training; levels on the 0..255 scale and the samplers all work.
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "model.json")))!["config"]!;
        Assert.Equal(14, cfg["level_pool"]!.AsArray().Count); // 7 degraded images + 7 pairs
        foreach (var lv in new[] { "pool", "sidd", "fixed", "5", "60" })
        {
            (code, log) = Run("degrade", "--checkpoint", run, "--in", SampleData.Path, "--out", dir.File("lv" + lv), "--level", lv, "--seed", "3");
            Assert.True(code == 0, log);
        }
        // --normalize: each channel's mean equals the clean image's (up to 8-bit rounding).
        (code, log) = Run("degrade", "--checkpoint", run, "--in", SampleData.Path, "--out", dir.File("norm"), "--level", "60", "--seed", "3", "--normalize");
        Assert.True(code == 0, log);
        var normed = ImageIO.Read(ImageFolder.List(dir.File("norm"))[0]);
        int hw = clean.Width * clean.Height;
        for (int ch = 0; ch < 3; ch++)
            Assert.True(Math.Abs(normed.Data.Skip(ch * hw).Take(hw).Average() - clean.Data.Skip(ch * hw).Take(hw).Average()) < 2.0 / 255,
                        $"channel {ch}: mean {normed.Data.Skip(ch * hw).Take(hw).Average():F4} vs clean {clean.Data.Skip(ch * hw).Take(hw).Average():F4}");
        Assert.NotEqual(File.ReadAllBytes(ImageFolder.List(dir.File("lv5"))[0]), File.ReadAllBytes(ImageFolder.List(dir.File("lv60"))[0]));
        // --residual: clean + the degradation latent's part only; at temperature 0 that is the clean image itself.
        (code, log) = Run("degrade", "--checkpoint", run, "--in", SampleData.Path, "--out", dir.File("res0"), "--level", "60", "--seed", "3", "--residual", "--temperature", "0");
        Assert.True(code == 0, log);
        Assert.Equal(Image8.FromImage(clean).Data, Image8.FromImage(ImageIO.Read(ImageFolder.List(dir.File("res0"))[0])).Data);
        (code, log) = Run("degrade", "--checkpoint", run, "--in", SampleData.Path, "--out", dir.File("res1"), "--level", "60", "--seed", "3", "--residual");
        Assert.True(code == 0, log);
        Assert.NotEqual(Image8.FromImage(clean).Data, Image8.FromImage(ImageIO.Read(ImageFolder.List(dir.File("res1"))[0])).Data);
        (code, log) = Run("degrade", "--checkpoint", run, "--in", SampleData.Path, "--out", dir.File("bad"), "--level", "loud");
        Assert.Equal(2, code);
        Assert.Contains("--level", log);
        (code, log) = Run("train", kind, "--clean", SampleData.Path, "--noisy", noisy, "--out", dir.File("nopairs"));
        Assert.Equal(2, code);
        Assert.Contains("--paired-clean", log);
    }

    [Fact]
    public void Deflow_normalize_measures_the_domain_statistics_into_the_model()
    {
        using var dir = new TempDir();
        string noisy = dir.File("noisy"), run = dir.File("run");
        SynthFolder.Run(SampleData.Path, noisy, Degradations.Create("gaussian"), 5);
        var (code, log) = Run("train", "deflow", "--clean", SampleData.Path, "--noisy", noisy, "--preset", "tiny", "--steps", "2", "--normalize", "--covariance-init", "zero", "--out", run);
        Assert.True(code == 0, log);
        Assert.Contains("normalization: clean mean", log);
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "model.json")))!["config"]!;
        Assert.Equal("zero", (string)cfg["covariance_init"]!);
        var st = cfg["normalize"]!;
        Assert.Equal(3, st["std_noisy"]!.AsArray().Count);
        // White noise raises every channel's std.
        for (int c = 0; c < 3; c++) Assert.True((double)st["std_noisy"]![c]! > (double)st["std_clean"]![c]!, st.ToJsonString());
        (code, log) = Run("degrade", "--checkpoint", run, "--in", SampleData.Path, "--out", dir.File("o"));
        Assert.True(code == 0, log);
        Assert.Equal(7, ImageFolder.List(dir.File("o")).Count);
    }

    [Fact]
    public void Deflow_has_the_aim_and_ntire_presets_of_the_paper()
    {
        var (code, log) = Run("train", "deflow", "--help");
        Assert.Equal(0, code);
        Assert.Contains("aim", log);
        Assert.Contains("ntire", log);
        var aim = ModelRegistry.DeFlowPreset("aim");
        Assert.Equal((128, 8, 16), (aim.Net.Hidden, aim.Net.Scale, aim.Net.K)); // DeFlowConfig.Aim: 62,935,305 parameters counted officially (DeFlow tests)
        var ntire = ModelRegistry.DeFlowPreset("ntire").Net;
        Assert.Equal((64, 4, 16), (ntire.Hidden, ntire.Scale, ntire.K));
        var spec = ModelRegistry.TrainSpec("deflow", "aim");
        Assert.Equal((100_000, 8, 160, 1e-4), (spec.Steps, spec.Batch, spec.Crop, spec.Lr));
        Assert.Equal([50_000L, 75_000, 90_000, 95_000], spec.Milestones);
        Assert.Equal(5e-5, ModelRegistry.TrainSpec("deflow", "ntire").Lr);
        (code, log) = Run("train", "ludvae", "--clean", SampleData.Path, "--noisy", SampleData.Path, "--preset", "aim");
        Assert.Equal(2, code);
        Assert.Contains("--preset", log);
    }

    [Fact]
    public void Bad_arguments_fail_clearly()
    {
        using var dir = new TempDir();
        var (code, log) = Run("degrade", "--checkpoint", dir.Path, "--in", SampleData.Path, "--out", dir.File("o"));
        Assert.Equal(2, code);
        Assert.Contains("not a trained degradation model", log);
        (code, log) = Run("train", ModelRegistry.Kinds[0], "--clean", SampleData.Path, "--noisy", dir.File("missing"));
        Assert.Equal(2, code);
        Assert.Contains("--noisy", log);
        (code, _) = Run("train");
        Assert.Equal(2, code);
        (code, log) = Run("train", "notamodel");
        Assert.Equal(2, code);
    }
}
