// `engine bench quality`: BENCHMARK.md's protocol end to end, reproducible from a seed.
// 1. Split the photos by a seeded shuffle into X (clean domain), Y0 (becomes the degraded domain),
//    P (paired set), V (validation pairs) and T (test pairs).
// 2. Degrade Y0, P, V, T with the pipeline D (for --scale s, D includes the x s downscale).
// 3-4. Each model fits on (X, D(Y0)) [+ (P, D(P))] and synthesizes degraded copies of X.
// 5. A restorer (DnCNN, or RRDB for SR) trains on (X, synthetic) with the preset's fixed budget and
//    is evaluated by PSNR/SSIM on (D(T), T).
// 6. The synthetic noise itself is measured on T: KL between the residual histograms of synthetic
//    and true degraded T (NeCA's 66 bins) and the synthetic/true residual std per brightness band.
// 7. Everything goes to a report folder: report.md and report.json (one row per model, with the
//    time each step took), per-model run folders (loss curves, checkpoints) and image grids.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Cli.Restore;
using Engine.Imaging;
using Engine.Imaging.Data;
using Engine.Imaging.Degradation;
using Spectre.Console;

namespace Engine.Cli.Quality;

internal sealed record QualityOptions
{
    public string Preset { get; init; } = "tiny";
    public string Degradation { get; init; } = "camera";
    public int Scale { get; init; } = 1;
    public IReadOnlyList<string> Models { get; init; } = ["none", "awgn", "oracle"];
    public string? Photos { get; init; }
    public ulong Seed { get; init; } = 1;
    public string Out { get; init; } = "runs/quality";
    public Device Device { get; init; } = Device.Cpu;
    /// <summary>Synthetic samples per clean image for stochastic models.</summary>
    public int Samples { get; init; } = 2;
    /// <summary>Override of the restorer's training steps (0: the preset's).</summary>
    public int RestorerSteps { get; init; }
    /// <summary>Paired patches semi-paired models get from the P split.</summary>
    public int Pairs { get; init; } = 10;

    public JsonObject ToJson() => new()
    {
        ["preset"] = Preset, ["degradation"] = Degradation, ["scale"] = Scale, ["models"] = new JsonArray(Models.Select(m => (JsonNode?)m).ToArray()),
        ["photos"] = Photos, ["seed"] = Seed, ["out"] = Out, ["device"] = Device.ToString(), ["samples"] = Samples, ["restorer_steps"] = RestorerSteps, ["pairs"] = Pairs,
    };
}

internal sealed record Split(IReadOnlyList<string> X, IReadOnlyList<string> Y0, IReadOnlyList<string> P, IReadOnlyList<string> V, IReadOnlyList<string> T);

internal sealed record ModelRow(string Model, double Psnr, double Ssim, double NoiseKl, double StdError, double[] StdRatio,
                                double FitSeconds, double SynthSeconds, double RestorerSeconds, double RestorerStepsPerSecond, JsonObject Details);

internal static class QualityBench
{
    /// <summary>The seeded split: T 15 %, V 5 %, P 5 % (each at least 1), the rest halved into X and Y0 (X gets the odd one).</summary>
    public static Split MakeSplit(IReadOnlyList<string> files, ulong seed)
    {
        int n = files.Count;
        int t = Math.Max(1, (int)Math.Round(0.15 * n)), v = Math.Max(1, (int)Math.Round(0.05 * n)), p = Math.Max(1, (int)Math.Round(0.05 * n));
        int rest = n - t - v - p;
        if (rest < 2) throw new ArgumentException($"bench quality: {n} photos are too few to split into X, Y0, P, V and T (need at least {t + v + p + 2})");
        var order = files.OrderBy(f => f, StringComparer.Ordinal).ToArray();
        var rng = new DegradationRng(seed);
        for (int i = n - 1; i > 0; i--)
        {
            int j = rng.Int(0, i);
            (order[i], order[j]) = (order[j], order[i]);
        }
        int x = (rest + 1) / 2;
        return new Split(order[..x], order[x..rest], order[rest..(rest + p)], order[(rest + p)..(rest + p + v)], order[(rest + p + v)..]);
    }

    public static string DefaultPhotos(string preset)
    {
        if (preset == "tiny") return SampleData.Path;
        foreach (var c in new[] { "../shared/data/photos", "../../shared/data/photos", "/work/shared/data/photos" })
            if (Directory.Exists(c)) return c;
        throw new ArgumentException($"bench quality --preset {preset}: no --photos DIR given and ../shared/data/photos was not found");
    }

    public static int Run(QualityOptions o, IAnsiConsole con, CancellationToken cancel = default)
    {
        var total = Stopwatch.StartNew();
        string photos = o.Photos ?? DefaultPhotos(o.Preset);
        var files = ImageFolder.List(photos);
        var models = o.Models.Select(DegradationModels.Create).ToList();
        var truth = Degradations.Create(o.Degradation, o.Scale);
        string arch = o.Scale == 1 ? "dncnn" : "rrdb";
        var restorer = RestorerSpec.Preset(arch, o.Preset, o.Scale);
        if (o.RestorerSteps > 0) restorer = restorer with { Steps = o.RestorerSteps };
        Directory.CreateDirectory(o.Out);
        var split = MakeSplit(files, o.Seed);

        con.MarkupLine($"[bold]bench quality[/] preset {o.Preset}, degradation {Markup.Escape(truth.ToString())}, models {string.Join(", ", o.Models)}");
        con.MarkupLine($"  photos {Markup.Escape(photos)} ({files.Count}): X {split.X.Count}, Y0 {split.Y0.Count}, P {split.P.Count}, V {split.V.Count}, T {split.T.Count}; restorer {arch} {Markup.Escape(restorer.ToJson().ToJsonString())}");

        // Steps 1-2: the split folders and their true degradations.
        var prep = Stopwatch.StartNew();
        string data = Path.Combine(o.Out, "data");
        var dirs = new Dictionary<string, (string Clean, string Target, string Low, string Degraded)>();
        foreach (var (name, list) in new[] { ("X", split.X), ("Y0", split.Y0), ("P", split.P), ("V", split.V), ("T", split.T) })
        {
            string clean = Path.Combine(data, name, "clean"), target = Path.Combine(data, name, "target"),
                   low = Path.Combine(data, name, "clean_lr"), deg = Path.Combine(data, name, "degraded");
            CopyFiles(list, clean);
            SynthFolder.Run(clean, deg, truth, o.Seed, new SynthOptions(SkipUnreadable: false, TargetDir: o.Scale > 1 ? target : null));
            if (o.Scale > 1)
                SynthFolder.Run(clean, low, Degradations.Create("gaussian", o.Scale, [new("sigma_min", 0), new("sigma_max", 0)]), o.Seed, new SynthOptions(SkipUnreadable: false));
            dirs[name] = (clean, o.Scale > 1 ? target : clean, o.Scale > 1 ? low : clean, deg);
        }
        double prepSeconds = prep.Elapsed.TotalSeconds;
        var testPairs = new PairedDataset(dirs["T"].Target, dirs["T"].Degraded, o.Scale, new ImageDatasetOptions { Cache = true });
        var valPairs = new PairedDataset(dirs["V"].Target, dirs["V"].Degraded, o.Scale, new ImageDatasetOptions { Cache = true });
        var metric = o.Scale > 1 ? new MetricOptions(MetricChannel.Y, o.Scale) : MetricOptions.Default;
        // The degraded test inputs themselves (denoising only: for SR they are smaller than the targets).
        (double Psnr, double Ssim)? input = null;
        if (o.Scale == 1)
        {
            var scores = Enumerable.Range(0, testPairs.Count).Select(i => testPairs.Get(i)).Select(p =>
                (Metrics.Psnr(Image8.FromImage(p.Clean.Image), Image8.FromImage(p.Degraded.Image), metric), Metrics.Ssim(Image8.FromImage(p.Clean.Image), Image8.FromImage(p.Degraded.Image), metric))).ToList();
            input = (scores.Average(x => x.Item1), scores.Average(x => x.Item2));
            con.MarkupLine($"  degraded test inputs: PSNR {input.Value.Psnr:F2} dB, SSIM {input.Value.Ssim:F4}");
        }

        var rows = new List<ModelRow>();
        foreach (var m in models)
        {
            if (cancel.IsCancellationRequested) break;
            con.MarkupLine($"[bold]model {m.Name}[/]");
            string mdir = Path.Combine(o.Out, "models", m.Name);
            var ctx = new QualityContext(dirs["X"].Low, dirs["Y0"].Degraded, dirs["P"].Low, dirs["P"].Degraded, dirs["V"].Low, dirs["V"].Degraded,
                                         truth, o.Preset, o.Seed, o.Device, mdir, con, o.Pairs);
            var sw = Stopwatch.StartNew();
            m.Fit(ctx);
            double fit = sw.Elapsed.TotalSeconds;

            // Steps 3-4: synthetic pairs (target, synthetic degraded), K samples per image for stochastic models.
            sw.Restart();
            string tClean = Path.Combine(o.Out, "train", m.Name, "clean"), tDeg = Path.Combine(o.Out, "train", m.Name, "degraded");
            Directory.CreateDirectory(tClean); Directory.CreateDirectory(tDeg);
            int k = m.Stochastic ? Math.Max(1, o.Samples) : 1;
            var xTargets = ImageFolder.List(dirs["X"].Target);
            var xLow = ImageFolder.List(dirs["X"].Low);
            for (int i = 0; i < xTargets.Count; i++)
            {
                var target = ImageIO.Read(xTargets[i]);
                var low = ImageIO.Read(xLow[i]);
                string stem = Path.GetFileNameWithoutExtension(xTargets[i]);
                for (int s = 0; s < k; s++)
                {
                    ImageIO.WritePng(Path.Combine(tClean, $"{stem}_s{s}.png"), target);
                    ImageIO.WritePng(Path.Combine(tDeg, $"{stem}_s{s}.png"), m.Synthesize(low, o.Seed + 7, stem, s));
                }
            }
            double synth = sw.Elapsed.TotalSeconds;

            // Step 5: the restorer on the synthetic pairs, evaluated on the true test pairs.
            var trainPairs = new PairedDataset(tClean, tDeg, o.Scale, new ImageDatasetOptions { Cache = true });
            var (task, summary) = RestoreRun.Train(restorer, trainPairs, valPairs, Path.Combine(mdir, "restorer"), o.Seed, o.Device, con, $"{m.Name} restorer", cancel);
            using var _ = task;
            var restored = new Dictionary<string, Image>();
            var eval = RestoreEval.Evaluate(task.Net, testPairs, o.Device, metric, (key, img) => restored[key] = img);

            // Step 6: the noise on T, synthetic vs true.
            var (kl, ratio, synthetic) = NoiseOnTest(m, testPairs, dirs["T"].Low, o.Seed);
            double stdErr = ratio.Where(double.IsFinite).Select(r => Math.Abs(r - 1)).DefaultIfEmpty(double.NaN).Average();
            var row = new ModelRow(m.Name, eval.MeanPsnr, eval.MeanSsim, kl, stdErr, ratio, fit, synth, summary.Seconds, summary.StepsPerSecond, m.Describe());
            rows.Add(row);
            WriteGrid(o, m, testPairs, synthetic, restored);
            (m as IDisposable)?.Dispose();
            con.MarkupLine($"  {m.Name}: PSNR {RestoreRun.F2(row.Psnr)} dB, SSIM {row.Ssim:F4}, noise KL {row.NoiseKl:F4}, std error {row.StdError:F3}; fit {fit:F1} s, synth {synth:F1} s, restorer {summary.Seconds:F1} s ({summary.StepsPerSecond:F2} it/s)");
        }
        WriteReport(o, photos, split, restorer, truth, rows, prepSeconds, total.Elapsed.TotalSeconds, input);
        PrintTable(con, rows);
        con.MarkupLine($"report: {Markup.Escape(Path.GetFullPath(Path.Combine(o.Out, "report.md")))} ({total.Elapsed.TotalMinutes:F1} min)");
        return cancel.IsCancellationRequested ? 130 : 0;
    }

    private static void CopyFiles(IReadOnlyList<string> files, string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (var f in files) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)), overwrite: true);
    }

    /// <summary>KL(true || synthetic) of the pooled residual histograms (NeCA bins, add-one smoothing) and the std ratio per brightness band.</summary>
    private static (double Kl, double[] Ratio, Dictionary<string, (Image Low, Image Synthetic)> Samples) NoiseOnTest(IDegradationModel m, PairedDataset test, string lowDir, ulong seed)
    {
        var lows = ImageFolder.List(lowDir).ToDictionary(p => Path.GetFileNameWithoutExtension(p), p => p);
        var realRes = new List<double>(); var synthRes = new List<double>(); var cleanVals = new List<double>();
        var samples = new Dictionary<string, (Image, Image)>();
        for (int i = 0; i < test.Count; i++)
        {
            var p = test.Get(i);
            var low = ImageIO.Read(lows[Path.GetFileNameWithoutExtension(p.Key)]);
            var low8 = Image8.FromImage(low);
            var synth = m.Synthesize(low, seed + 13, "test/" + p.Key, 0);
            samples[p.Key] = (low, synth);
            realRes.AddRange(NoiseStats.Residuals(Image8.FromImage(p.Degraded.Image), low8));
            synthRes.AddRange(NoiseStats.Residuals(Image8.FromImage(synth), low8));
            cleanVals.AddRange(low8.Data.Select(v => v / 255.0));
        }
        double kl = NoiseStats.HistogramKl(realRes.ToArray(), synthRes.ToArray(), NoiseKldVariant.NoiseFlowAddOne);
        var real = NoiseStats.StdPerBand(cleanVals.ToArray(), realRes.ToArray());
        var syn = NoiseStats.StdPerBand(cleanVals.ToArray(), synthRes.ToArray());
        return (kl, NoiseStats.StdRatio(real, syn), samples);
    }

    /// <summary>Contact sheet of the first two test photos, reusing the synthetic samples NoiseOnTest drew.</summary>
    private static void WriteGrid(QualityOptions o, IDegradationModel m, PairedDataset test, Dictionary<string, (Image Low, Image Synthetic)> samples, Dictionary<string, Image> restored)
    {
        var rows = new List<IReadOnlyList<Image?>>();
        var labels = new List<string>();
        for (int i = 0; i < Math.Min(2, test.Count); i++)
        {
            var p = test.Get(i);
            var (low, synth) = samples[p.Key];
            int size = Math.Min(96, Math.Min(low.Width, low.Height));
            rows.Add(ImageGrid.CenterCropRow([low, p.Degraded.Image, synth], size));
            if (o.Scale == 1) rows[^1] = [.. rows[^1], ImageGrid.CenterCropRow([restored[p.Key]], size)[0]];
            labels.Add(p.Key);
        }
        Directory.CreateDirectory(Path.Combine(o.Out, "grids"));
        ImageGrid.SavePng(Path.Combine(o.Out, "grids", $"{m.Name}.png"), rows, new ImageGridOptions
        {
            ColumnTitles = o.Scale == 1 ? ["clean", "true degraded", $"{m.Name} synthetic", "restored"] : ["clean (LR)", "true degraded", $"{m.Name} synthetic"],
            RowLabels = labels, Zoom = 2,
        });
    }

    private static void PrintTable(IAnsiConsole con, List<ModelRow> rows)
    {
        var t = new Table().AddColumn("model").AddColumn("PSNR").AddColumn("SSIM").AddColumn("noise KL").AddColumn("std error").AddColumn("restorer s");
        foreach (var r in rows)
            t.AddRow(r.Model, RestoreRun.F2(r.Psnr), r.Ssim.ToString("F4", CultureInfo.InvariantCulture), r.NoiseKl.ToString("F4", CultureInfo.InvariantCulture),
                     r.StdError.ToString("F3", CultureInfo.InvariantCulture), r.RestorerSeconds.ToString("F0", CultureInfo.InvariantCulture));
        con.Write(t);
    }

    private static void WriteReport(QualityOptions o, string photos, Split split, RestorerSpec restorer, Degradation truth, List<ModelRow> rows, double prepSeconds, double seconds, (double Psnr, double Ssim)? input)
    {
        var inv = CultureInfo.InvariantCulture;
        static JsonNode? N(double v) => double.IsFinite(v) ? v : null;
        var json = new JsonObject
        {
            ["options"] = o.ToJson(),
            ["photos"] = photos,
            ["split"] = new JsonObject
            {
                ["X"] = Names(split.X), ["Y0"] = Names(split.Y0), ["P"] = Names(split.P), ["V"] = Names(split.V), ["T"] = Names(split.T),
            },
            ["degradation"] = truth.ToString(),
            ["restorer"] = restorer.ToJson(),
            ["prepare_seconds"] = prepSeconds,
            ["input"] = input is { } inp ? new JsonObject { ["psnr"] = N(inp.Psnr), ["ssim"] = N(inp.Ssim) } : null,
            ["seconds"] = seconds,
            ["rows"] = new JsonArray(rows.Select(r => (JsonNode?)new JsonObject
            {
                ["model"] = r.Model, ["psnr"] = N(r.Psnr), ["ssim"] = N(r.Ssim), ["noise_kl"] = N(r.NoiseKl), ["std_error"] = N(r.StdError),
                ["std_ratio_per_band"] = new JsonArray(r.StdRatio.Select(v => N(v)).ToArray()),
                ["fit_seconds"] = r.FitSeconds, ["synth_seconds"] = r.SynthSeconds, ["restorer_seconds"] = r.RestorerSeconds,
                ["restorer_steps_per_second"] = r.RestorerStepsPerSecond, ["details"] = r.Details,
            }).ToArray()),
        };
        File.WriteAllText(Path.Combine(o.Out, "report.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        var md = new List<string>
        {
            $"# Quality benchmark: {o.Degradation}{(o.Scale > 1 ? $" x{o.Scale}" : "")}, preset {o.Preset}",
            "",
            $"Photos `{photos}` split by seed {o.Seed}: X {split.X.Count}, Y0 {split.Y0.Count}, P {split.P.Count}, V {split.V.Count}, T {split.T.Count}. Degradation: {truth}.",
            $"Restorer: {restorer.Arch} ({restorer.Features} features, depth {restorer.Depth}, {restorer.Steps} steps of batch {restorer.Batch} x {restorer.Crop}px, lr {restorer.Lr.ToString(inv)}, {restorer.Loss}). PSNR/SSIM on the test pairs{(o.Scale > 1 ? $" (Y channel, {o.Scale}-px border crop)" : " (RGB)")}; noise KL = KL(true || synthetic) of the pooled residual histograms on the test images (Noise Flow's add-one smoothed variant of NeCA's 66 bins, finite even for the noise-free baseline); std error = mean over brightness bands of |synthetic std / true std - 1|.",
            "",
            "| model | PSNR (dB) | SSIM | noise KL | std error | fit (s) | synth (s) | restorer (s) | restorer it/s |",
            "|---|---|---|---|---|---|---|---|---|",
        };
        if (input is { } x) md.Add($"| (degraded input) | {RestoreRun.F2(x.Psnr)} | {x.Ssim.ToString("F4", inv)} | | | | | | |");
        foreach (var r in rows)
            md.Add($"| {r.Model} | {RestoreRun.F2(r.Psnr)} | {r.Ssim.ToString("F4", inv)} | {r.NoiseKl.ToString("F4", inv)} | {r.StdError.ToString("F3", inv)} | {r.FitSeconds.ToString("F1", inv)} | {r.SynthSeconds.ToString("F1", inv)} | {r.RestorerSeconds.ToString("F1", inv)} | {r.RestorerStepsPerSecond.ToString("F2", inv)} |");
        md.Add("");
        md.Add($"Preparing the splits took {prepSeconds.ToString("F1", inv)} s; the whole run {(seconds / 60).ToString("F1", inv)} min.");
        md.Add("");
        foreach (var r in rows)
        {
            md.Add($"## {r.Model}");
            md.Add("");
            md.Add($"{r.Details.ToJsonString()}");
            md.Add("");
            md.Add($"![{r.Model}](grids/{r.Model}.png)");
            md.Add("");
            md.Add($"Restorer loss curves: `models/{r.Model}/restorer/plots/`.");
            md.Add("");
        }
        File.WriteAllLines(Path.Combine(o.Out, "report.md"), md);
    }

    private static JsonArray Names(IReadOnlyList<string> files) => new(files.Select(f => (JsonNode?)Path.GetFileName(f)).ToArray());
}
