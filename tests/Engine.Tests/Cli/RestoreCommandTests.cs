// `engine restore train|eval|run` on the bundled photos with synthetic noise: a short DnCNN run
// writes a loadable run folder, eval reproduces Engine.Imaging's metrics on the restored images and
// writes JSON, run restores a folder; wrong folders and arguments fail with clear messages.
using System.Text.Json.Nodes;
using Engine.Cli;
using Engine.Imaging;
using Engine.Imaging.Degradation;
using Engine.Tests.Imaging;
using Spectre.Console;
using Xunit;

namespace Engine.Tests.Cli;

public sealed class RestoreCommandTests
{
    private static (int Code, string Output) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void Train_eval_and_run_work_on_folders()
    {
        using var dir = new TempDir();
        string noisy = dir.File("noisy"), run = dir.File("run"), outDir = dir.File("restored"), json = dir.File("eval.json");
        SynthFolder.Run(SampleData.Path, noisy, Degradations.Create("gaussian", 1, [new("sigma_min", 0.1), new("sigma_max", 0.1)]), 3);

        var (code, log) = Run("restore", "train", "--arch", "dncnn", "--clean", SampleData.Path, "--degraded", noisy, "--preset", "tiny",
                              "--steps", "40", "--val-clean", SampleData.Path, "--val-degraded", noisy, "--out", run);
        Assert.True(code == 0, log);
        foreach (var f in new[] { "restorer.json", "settings.json", "metrics.csv", "validation.csv", "checkpoints/model.safetensors", "plots/loss.png" })
            Assert.True(File.Exists(Path.Combine(run, f)), $"missing {f}\n{log}");
        Assert.Equal("dncnn", (string)JsonNode.Parse(File.ReadAllText(Path.Combine(run, "restorer.json")))!["arch"]!);

        (code, log) = Run("restore", "eval", "--checkpoint", run, "--clean", SampleData.Path, "--degraded", noisy, "--json", json);
        Assert.True(code == 0, log);
        var j = JsonNode.Parse(File.ReadAllText(json))!;
        Assert.Equal(7, j["images"]!.AsArray().Count);
        double mean = (double)j["mean"]!["psnr"]!;
        Assert.Contains("mean", log);

        (code, log) = Run("restore", "run", "--checkpoint", run, "--in", noisy, "--out", outDir);
        Assert.True(code == 0, log);
        var restored = ImageFolder.List(outDir);
        Assert.Equal(7, restored.Count);
        // eval's numbers are the metrics of what run writes.
        var clean0 = ImageIO.Read(SampleData.Files[0]);
        var r0 = ImageIO.Read(restored[0]);
        double psnr0 = Metrics.Psnr(Image8.FromImage(clean0), Image8.FromImage(r0));
        Assert.Equal((double)j["images"]![0]!["psnr"]!, psnr0, 9);
        Assert.True(mean > 19.5, $"mean PSNR {mean} after 40 steps (noisy input ~20 dB)");
    }

    [Fact]
    public void Bad_folders_and_arguments_fail_clearly()
    {
        using var dir = new TempDir();
        var (code, log) = Run("restore", "eval", "--checkpoint", dir.Path, "--clean", SampleData.Path, "--degraded", SampleData.Path);
        Assert.Equal(2, code);
        Assert.Contains("not a restorer run folder", log);
        (code, log) = Run("restore", "train", "--arch", "rrdb", "--clean", SampleData.Path, "--degraded", SampleData.Path);
        Assert.Equal(2, code);
        Assert.Contains("--scale", log);
        (code, log) = Run("restore", "train", "--arch", "dncnn", "--clean", SampleData.Path, "--degraded", dir.File("missing"));
        Assert.Equal(2, code);
        Assert.Contains("is not a folder", log);
        Directory.CreateDirectory(dir.File("other"));
        ImageIO.WritePng(dir.File("other/zzz.png"), ImageIO.Read(SampleData.Files[0]));
        (code, log) = Run("restore", "train", "--arch", "dncnn", "--clean", SampleData.Path, "--degraded", dir.File("other"), "--out", dir.File("r"));
        Assert.Equal(1, code);
        Assert.Contains("zzz", log);
        Assert.DoesNotContain("   at ", log);
        (code, _) = Run("restore");
        Assert.Equal(2, code);
    }
}
