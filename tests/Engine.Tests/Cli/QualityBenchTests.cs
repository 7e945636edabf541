// The quality benchmark's tiny preset end to end on the bundled photos: the seeded split is
// disjoint and reproducible, every artifact is written, and the restorer trained on true pairs
// (oracle) beats the one trained without degradation (none) on the test pairs.
using System.Text.Json.Nodes;
using Engine.Cli.Quality;
using Engine.Imaging;
using Engine.Tests.Imaging;
using Spectre.Console;
using Xunit;

namespace Engine.Tests.Cli;

public sealed class QualityBenchTests
{
    [Fact]
    public void Split_is_seeded_disjoint_and_complete()
    {
        var files = Enumerable.Range(0, 41).Select(i => $"/p/p{i:D3}.png").ToList();
        var a = QualityBench.MakeSplit(files, 3);
        var b = QualityBench.MakeSplit(files.AsEnumerable().Reverse().ToList(), 3);
        Assert.Equal(a.T, b.T); // the input order does not matter
        Assert.Equal((16, 15, 2, 2, 6), (a.X.Count, a.Y0.Count, a.P.Count, a.V.Count, a.T.Count));
        var all = a.X.Concat(a.Y0).Concat(a.P).Concat(a.V).Concat(a.T).ToList();
        Assert.Equal(41, all.Distinct().Count());
        Assert.NotEqual(a.T, QualityBench.MakeSplit(files, 4).T);
        Assert.Throws<ArgumentException>(() => QualityBench.MakeSplit(files.Take(4).ToList(), 1));
    }

    [Fact]
    public void Tiny_preset_oracle_beats_none_and_writes_the_report()
    {
        using var dir = new TempDir();
        var log = new StringWriter();
        var con = CliRunner.Console(log);
        int rc = QualityBench.Run(new QualityOptions { Preset = "tiny", Degradation = "camera", Out = dir.Path, Seed = 1 }, con, TestContext.Current.CancellationToken);
        Assert.Equal(0, rc);
        var report = JsonNode.Parse(File.ReadAllText(dir.File("report.json")))!;
        var rows = report["rows"]!.AsArray().ToDictionary(r => (string)r!["model"]!, r => r!);
        Assert.Equal(["none", "awgn", "oracle"], rows.Keys);
        double none = (double)rows["none"]["psnr"]!, oracle = (double)rows["oracle"]["psnr"]!;
        Assert.True(oracle > none + 0.3, $"oracle {oracle:F2} dB vs none {none:F2} dB\n{log}");
        Assert.True((double)rows["awgn"]["details"]!["sigma"]! > 0);
        foreach (var f in new[] { "report.md", "grids/none.png", "grids/oracle.png", "models/oracle/restorer/plots/loss.png",
                                  "models/oracle/restorer/checkpoints/model.safetensors", "data/T/degraded/synth.json" })
            Assert.True(File.Exists(Path.Combine(dir.Path, f)), $"missing {f}");
        Assert.Contains("| oracle |", File.ReadAllText(dir.File("report.md")));
        var grid = ImageIO.Read(dir.File("grids/oracle.png"));
        Assert.True(grid.Width > 4 * 96);
    }

    [Fact]
    public void Senmvae_row_trains_on_the_paired_patches_and_the_unpaired_domains()
    {
        using var dir = new TempDir();
        var log = new StringWriter();
        var con = CliRunner.Console(log);
        int rc = QualityBench.Run(new QualityOptions { Preset = "tiny", Degradation = "camera", Out = dir.Path, Seed = 1, Models = ["senmvae"], Pairs = 3, RestorerSteps = 20 },
                                  con, TestContext.Current.CancellationToken);
        Assert.True(rc == 0, log.ToString());
        var row = JsonNode.Parse(File.ReadAllText(dir.File("report.json")))!["rows"]!.AsArray().Single()!;
        Assert.Equal("senmvae", (string)row["model"]!);
        Assert.True(double.IsFinite((double)row["psnr"]!));
        Assert.Equal(3, (int)row["details"]!["pairs"]!["patches"]!);
        Assert.StartsWith("pool", (string)row["details"]!["level_sampler"]!);
        Assert.Equal(3, Directory.GetFiles(dir.File("models/senmvae/pairs/clean"), "*.png").Length);
        Assert.Equal(3, Directory.GetFiles(dir.File("models/senmvae/pairs/degraded"), "*.png").Length);
        var settings = JsonNode.Parse(File.ReadAllText(dir.File("models/senmvae/train/config.json")))!;
        Assert.EndsWith("pairs/clean", ((string)settings["paired_clean"]!).Replace('\\', '/'));
    }
}
