// `engine demo` end to end at a small size: the run folder has every artifact a training run
// promises (settings, CSVs, loss-curve PNGs, sample grid, safetensors checkpoints, report), the
// held-out PSNR improves, and rerunning into the same folder resumes from the checkpoint.
using System.Text.Json.Nodes;
using Engine.Cli.Demo;
using Engine.Imaging;
using Engine.Tests.Imaging;
using Spectre.Console;
using Xunit;

namespace Engine.Tests.Cli;

public sealed class DemoTests
{
    private static IAnsiConsole Console(StringWriter w) => CliRunner.Console(w);

    [Fact]
    public void Demo_writes_a_complete_run_folder_improves_the_test_photo_and_resumes()
    {
        using var dir = new TempDir();
        string run = dir.File("run");
        var o = new DemoOptions { Steps = 60, Crop = 32, Batch = 4, Width = 16, Depth = 4, ValidateEvery = 20, CheckpointEvery = 20, Out = run };
        var log = new StringWriter();
        int rc = DemoRun.Run(o, Console(log));
        Assert.True(rc == 0, log.ToString());
        foreach (var f in new[] { "config.json", "metrics.csv", "validation.csv", "summary.json", "report.md",
                                  "plots/loss.png", "plots/optimizer.png", "plots/validation.png", "samples/step-000060.png",
                                  "checkpoints/model.safetensors", "checkpoints/optimizer.safetensors", "checkpoints/state.json",
                                  "data/train/degraded/synth.json", "data/test/degraded/p006.png" })
            Assert.True(File.Exists(Path.Combine(run, f)), $"missing {f}");
        var loss = ImageIO.Read(Path.Combine(run, "plots", "loss.png"));
        Assert.True(loss.Width > 100 && loss.Height > 100);
        Assert.Equal(61, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length);
        var val = File.ReadAllLines(Path.Combine(run, "validation.csv"));
        Assert.Equal(4, val.Length);
        Assert.True(double.Parse(val[^1].Split(',')[2], System.Globalization.CultureInfo.InvariantCulture) > 0, "test PSNR gain");
        Assert.Contains("held-out photo", log.ToString());
        Assert.Contains("| gain | +", File.ReadAllText(Path.Combine(run, "report.md")));
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!;
        Assert.Equal("camera", (string)cfg["degradation"]!);
        Assert.Equal(0.3, (double)cfg["degradation_parameters"]!["read_intercept"]!);

        var log2 = new StringWriter();
        DemoRun.Run(o with { Steps = 80 }, Console(log2));
        Assert.Contains("resuming from the checkpoint", log2.ToString());
        Assert.Contains("at step 60", log2.ToString());
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "summary.json")))!;
        Assert.Equal(60, (long)summary["first_step"]!);
        Assert.Equal(80, (long)summary["last_step"]!);
        Assert.Equal(81, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length);
    }
}
