// `engine restore train|eval|run`: the downstream restorers as plain commands on folders - train
// DnCNN (denoising) or an RRDB network (x2/x4 super-resolution) on paired folders, evaluate a
// trained one on paired folders (PSNR/SSIM per image and mean), and restore a folder.
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Imaging;
using Engine.Imaging.Data;
using Spectre.Console;

namespace Engine.Cli.Restore;

internal static class RestoreCommand
{
    public static Command Build(IAnsiConsole con)
    {
        var cmd = new Command("restore", "train, evaluate and apply restoration networks (DnCNN, RRDB) on folders");
        cmd.Subcommands.Add(BuildTrain(con));
        cmd.Subcommands.Add(BuildEval(con));
        cmd.Subcommands.Add(BuildRun(con));
        cmd.SetAction(int (_) => throw new ArgumentException("restore: name a subcommand: engine restore train|eval|run (engine restore train --help lists its options)"));
        return cmd;
    }

    private static Command BuildTrain(IAnsiConsole con)
    {
        var arch = Opt.String("arch", "dncnn|rrdb", "network: dncnn (denoising) or rrdb (super-resolution)", required: true);
        var clean = Opt.String("clean", "DIR", "clean (target) images", required: true);
        var degraded = Opt.String("degraded", "DIR", "degraded (input) images, matched to --clean by relative path without extension", required: true);
        var valClean = Opt.String("val-clean", "DIR", "clean validation images (optional; with --val-degraded)");
        var valDegraded = Opt.String("val-degraded", "DIR", "degraded validation images");
        var scale = Opt.IntOneOf("scale", 1, "super-resolution factor (rrdb: 2 or 4; dncnn: 1)", 1, 2, 4);
        var preset = CommonOptions.Preset("small", "tiny", "small", "paper");
        var steps = Opt.Int("steps", 0, "training steps (0: the preset's)", min: 0);
        var batch = Opt.Int("batch", 0, "crops per step (0: the preset's)", min: 0);
        var crop = Opt.Int("crop", 0, "crop side of the clean image (0: the preset's)", min: 0);
        var lr = Opt.Double("lr", 0, "learning rate (0: the preset's)", min: 0);
        var seed = CommonOptions.Seed(1);
        var device = CommonOptions.Device("cpu");
        var output = CommonOptions.Out("restore-train");
        var cmd = new Command("train", "train a restorer on paired folders; the run folder gets the checkpoint, metrics, loss curves and restorer.json")
        {
            arch, clean, degraded, valClean, valDegraded, scale, preset, steps, batch, crop, lr, seed, device, output,
        };
        Opt.AddCheck(cmd, r =>
        {
            var a = r.GetValue(arch);
            if (a != null && a is not ("dncnn" or "rrdb")) r.AddError($"--arch must be dncnn or rrdb, got '{a}'");
            // Inside a validator an option that was not given reads as default(T), not its default value.
            int sc = r.GetResult(scale) is null ? 1 : r.GetValue(scale);
            if (a == "dncnn" && sc != 1) r.AddError("--scale: dncnn restores at the same size (scale 1); use --arch rrdb for super-resolution");
            if (a == "rrdb" && sc == 1) r.AddError("--scale: rrdb is the super-resolution network; give --scale 2 or 4");
            if ((r.GetValue(valClean) == null) != (r.GetValue(valDegraded) == null)) r.AddError("--val-clean and --val-degraded go together");
        });
        cmd.SetAction(pr =>
        {
            var dev = pr.GetValue(device);
            DevicesCommand.Require(dev);
            int s = pr.GetValue(scale);
            var spec = RestorerSpec.Preset(pr.GetValue(arch)!, pr.GetValue(preset)!, s);
            if (pr.GetValue(steps) > 0) spec = spec with { Steps = pr.GetValue(steps) };
            if (pr.GetValue(batch) > 0) spec = spec with { Batch = pr.GetValue(batch) };
            if (pr.GetValue(crop) > 0) spec = spec with { Crop = pr.GetValue(crop) };
            if (pr.GetValue(lr) > 0) spec = spec with { Lr = pr.GetValue(lr) };
            RequireDir("--clean", pr.GetValue(clean)!); RequireDir("--degraded", pr.GetValue(degraded)!);
            var train = new PairedDataset(pr.GetValue(clean)!, pr.GetValue(degraded)!, s, new ImageDatasetOptions { Cache = true, SkipUnreadable = true });
            PairedDataset? val = null;
            if (pr.GetValue(valClean) is { } vc)
            {
                RequireDir("--val-clean", vc); RequireDir("--val-degraded", pr.GetValue(valDegraded)!);
                val = new PairedDataset(vc, pr.GetValue(valDegraded)!, s, new ImageDatasetOptions { Cache = true });
            }
            var run = RunFolder.Create(pr.GetValue(output), "restore-train", con);
            var settings = spec.ToJson();
            settings["clean"] = train.Clean.Root; settings["degraded"] = train.Degraded.Root; settings["pairs"] = train.Count;
            settings["seed"] = pr.GetValue(seed); settings["device"] = dev.ToString(); settings["preset"] = pr.GetValue(preset);
            run.WriteSettings(settings);
            using var cts = CancelOnCtrlC();
            var (task, summary) = RestoreRun.Train(spec, train, val, run.Path, pr.GetValue(seed), dev, con, $"{spec.Arch} x{s}", cts.Token);
            task.Dispose();
            con.MarkupLine($"{summary.LastStep - summary.FirstStep} steps in {summary.Seconds:F1} s ({summary.StepsPerSecond:F2} it/s), {summary.Skipped} skipped, peak memory {Training.TrainingDisplay.Bytes(summary.PeakMemoryBytes)}; {summary.StopReason}");
            con.MarkupLine($"restorer saved in {Markup.Escape(run.Path)} (evaluate: engine restore eval --checkpoint {Markup.Escape(run.Path)} --clean DIR --degraded DIR)");
            return summary.StopReason == "cancelled" ? 130 : 0;
        });
        return cmd;
    }

    private static Command BuildEval(IAnsiConsole con)
    {
        var checkpoint = Opt.String("checkpoint", "RUN", "a run folder written by `engine restore train`", required: true);
        var clean = Opt.String("clean", "DIR", "clean (reference) images", required: true);
        var degraded = Opt.String("degraded", "DIR", "degraded inputs, matched by relative path without extension", required: true);
        var yChannel = Opt.Flag("y-channel", "PSNR/SSIM on BT.601 Y instead of RGB");
        var cropBorder = Opt.Int("crop", -1, "pixels cropped from each border before measuring (default: the scale)", min: -1);
        var json = Opt.String("json", "FILE", "write per-image and mean values as JSON");
        var device = CommonOptions.Device("cpu");
        var cmd = new Command("eval", "PSNR/SSIM of a trained restorer on paired folders, per image and mean") { checkpoint, clean, degraded, yChannel, cropBorder, json, device };
        cmd.SetAction(pr =>
        {
            var dev = pr.GetValue(device);
            DevicesCommand.Require(dev);
            var (net, spec) = RestoreRun.Load(pr.GetValue(checkpoint)!, dev);
            using var _ = net;
            RequireDir("--clean", pr.GetValue(clean)!); RequireDir("--degraded", pr.GetValue(degraded)!);
            var pairs = new PairedDataset(pr.GetValue(clean)!, pr.GetValue(degraded)!, spec.Scale);
            int border = pr.GetValue(cropBorder) >= 0 ? pr.GetValue(cropBorder) : (spec.Scale > 1 ? spec.Scale : 0);
            var metric = new MetricOptions(pr.GetValue(yChannel) ? MetricChannel.Y : MetricChannel.Rgb, border);
            var r = RestoreEval.Evaluate(net, pairs, dev, metric);
            var t = new Table().AddColumn("image").AddColumn("PSNR (dB)").AddColumn("SSIM");
            foreach (var s in r.Images) t.AddRow(Markup.Escape(s.Key), RestoreRun.F2(s.Psnr), s.Ssim.ToString("F4", CultureInfo.InvariantCulture));
            t.AddRow("[bold]mean[/]", RestoreRun.F2(r.MeanPsnr), r.MeanSsim.ToString("F4", CultureInfo.InvariantCulture));
            con.Write(t);
            if (pr.GetValue(json) is { } path)
            {
                static JsonNode? N(double v) => double.IsFinite(v) ? v : null;
                var j = new JsonObject
                {
                    ["checkpoint"] = pr.GetValue(checkpoint), ["restorer"] = spec.ToJson(), ["metric"] = metric.ToString(),
                    ["images"] = new JsonArray(r.Images.Select(s => (JsonNode?)new JsonObject { ["name"] = s.Key, ["psnr"] = N(s.Psnr), ["ssim"] = N(s.Ssim) }).ToArray()),
                    ["mean"] = new JsonObject { ["psnr"] = N(r.MeanPsnr), ["ssim"] = N(r.MeanSsim) },
                };
                File.WriteAllText(path, j.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            return 0;
        });
        return cmd;
    }

    private static Command BuildRun(IAnsiConsole con)
    {
        var checkpoint = Opt.String("checkpoint", "RUN", "a run folder written by `engine restore train`", required: true);
        var input = Opt.String("in", "DIR", "images to restore", required: true);
        var output = Opt.String("out", "DIR", "where the restored PNGs go (same relative paths)", required: true);
        var device = CommonOptions.Device("cpu");
        var cmd = new Command("run", "restore every image of a folder with a trained restorer") { checkpoint, input, output, device };
        cmd.SetAction(pr =>
        {
            var dev = pr.GetValue(device);
            DevicesCommand.Require(dev);
            var (net, _) = RestoreRun.Load(pr.GetValue(checkpoint)!, dev);
            using var __ = net;
            string inDir = pr.GetValue(input)!, outDir = pr.GetValue(output)!;
            RequireDir("--in", inDir);
            if (Path.GetFullPath(inDir).TrimEnd('/') == Path.GetFullPath(outDir).TrimEnd('/'))
                throw new ArgumentException("restore run: --out must differ from --in (the inputs would be overwritten)");
            var files = ImageFolder.List(inDir);
            int done = 0, skipped = 0;
            foreach (var f in files)
            {
                Image img;
                try { img = ImageIO.Read(f); }
                catch (EngineException e) when (e is ImageFormatException or ImageIOException) { con.MarkupLine($"[yellow]skipped[/] {Markup.Escape(e.Message)}"); skipped++; continue; }
                var rel = Path.ChangeExtension(Path.GetRelativePath(inDir, f), ".png");
                var dst = Path.Combine(outDir, rel);
                Directory.CreateDirectory(Path.GetDirectoryName(dst)!);
                ImageIO.WritePng(dst, RestoreEval.Apply(net, img, dev));
                done++;
            }
            con.MarkupLine($"{done} images restored into {Markup.Escape(outDir)}{(skipped > 0 ? $", [yellow]{skipped} skipped[/]" : "")}");
            return 0;
        });
        return cmd;
    }

    private static void RequireDir(string option, string dir)
    {
        if (!Directory.Exists(dir)) throw new ArgumentException($"{option} '{dir}' is not a folder");
    }

    internal static CancellationTokenSource CancelOnCtrlC()
    {
        var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler h = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += h;
        cts.Token.Register(() => Console.CancelKeyPress -= h);
        return cts;
    }
}
