// `engine train MODEL` and `engine degrade`: train a learned degradation model on a clean folder
// and a degraded folder (unpaired), then synthesize degraded copies of any clean folder with it.
using System.CommandLine;
using System.Text.Json.Nodes;
using Engine.Imaging;
using Engine.Models.Degradation;
using Spectre.Console;

namespace Engine.Cli.Train;

internal static class TrainCommand
{
    public static Command Build(IAnsiConsole con)
    {
        var cmd = new Command("train", $"train a degradation model on unpaired clean and degraded folders ({string.Join(", ", ModelRegistry.Kinds)})");
        foreach (var kind in ModelRegistry.Kinds) cmd.Subcommands.Add(BuildModel(con, kind));
        cmd.SetAction(int (_) => throw new ArgumentException($"train: name a model: engine train {string.Join("|", ModelRegistry.Kinds)} --clean DIR --noisy DIR --out RUN"));
        return cmd;
    }

    /// <summary>Per-channel mean and std of the clean and degraded folders (every pixel of every readable image).</summary>
    internal static Models.DeFlow.ChannelStats DomainStats(string cleanDir, string noisyDir, IAnsiConsole con)
    {
        IEnumerable<float[]> Pixels(string dir) => ImageFolder.List(dir).Select(f =>
        {
            try { return ImageIO.Read(f).Data; }
            catch (EngineException e) when (e is ImageFormatException or ImageIOException) { con.MarkupLine($"[yellow]skipped[/] {Markup.Escape(e.Message)}"); return []; }
        });
        var (mc, sc) = Models.DeFlow.ChannelStats.Measure(Pixels(cleanDir));
        var (mn, sn) = Models.DeFlow.ChannelStats.Measure(Pixels(noisyDir));
        var st = new Models.DeFlow.ChannelStats(mc, sc, mn, sn);
        st.Validate();
        con.MarkupLine($"normalization: clean mean {string.Join("/", mc.Select(v => (v * 255).ToString("F1")))} std {string.Join("/", sc.Select(v => (v * 255).ToString("F1")))}; degraded mean {string.Join("/", mn.Select(v => (v * 255).ToString("F1")))} std {string.Join("/", sn.Select(v => (v * 255).ToString("F1")))} (0..255)");
        return st;
    }

    private static Command BuildModel(IAnsiConsole con, string kind)
    {
        bool semi = kind == "senmvae";
        var clean = Opt.String("clean", "DIR", semi ? "unpaired clean images (optional)" : "clean-domain images", required: !semi);
        var noisy = Opt.String("noisy", "DIR", semi ? "unpaired degraded images (optional)" : "degraded-domain images (unpaired with --clean)", required: !semi);
        var pairedClean = Opt.String("paired-clean", "DIR", "clean halves of the pairs (file names match --paired-noisy)", required: semi);
        var pairedNoisy = Opt.String("paired-noisy", "DIR", "degraded halves of the pairs", required: semi);
        var preset = CommonOptions.Preset("small", ModelRegistry.Presets(kind));
        var steps = Opt.Int("steps", 0, "training steps (0: the preset's)", min: 0);
        var batch = Opt.Int("batch", 0, "crops per step (0: the preset's)", min: 0);
        var crop = Opt.Int("crop", 0, "crop side (0: the preset's)", min: 0);
        var lr = Opt.Double("lr", 0, "Adam learning rate (0: the preset's)", min: 0);
        var seed = CommonOptions.Seed(1);
        var device = CommonOptions.Device("cpu");
        var output = CommonOptions.Out($"train-{kind}");
        var cmd = new Command(kind, ModelRegistry.Describe(kind)) { clean, noisy, preset, steps, batch, crop, lr, seed, device, output };
        var covariance = Opt.StringOneOf("covariance-init", "random", "DeFlow's covariance factor M at init: random (learns the correlated shift) or zero (the official code's; never learns)", "random", "zero");
        var normalizeDomains = Opt.Flag("normalize", "DeFlow's AIM-RWSR normalization (on with --preset aim): remap the degraded domain to the clean domain's per-channel mean and std (measured on the two folders) for training, and back at synthesis");
        if (kind == "deflow") { cmd.Options.Add(covariance); cmd.Options.Add(normalizeDomains); }
        if (semi) { cmd.Options.Add(pairedClean); cmd.Options.Add(pairedNoisy); }
        cmd.SetAction(pr =>
        {
            var dev = pr.GetValue(device);
            DevicesCommand.Require(dev);
            string? c = pr.GetValue(clean), n = pr.GetValue(noisy);
            string? pc = semi ? pr.GetValue(pairedClean) : null, pn = semi ? pr.GetValue(pairedNoisy) : null;
            foreach (var (flag, dir) in new[] { ("--clean", c), ("--noisy", n), ("--paired-clean", pc), ("--paired-noisy", pn) })
                if (dir is not null && !Directory.Exists(dir)) throw new ArgumentException($"{flag} '{dir}' is not a folder");
            string p = pr.GetValue(preset)!;
            var spec = ModelRegistry.TrainSpec(kind, p);
            if (pr.GetValue(steps) > 0) spec = spec with { Steps = pr.GetValue(steps) };
            if (pr.GetValue(batch) > 0) spec = spec with { Batch = pr.GetValue(batch) };
            if (pr.GetValue(crop) > 0) spec = spec with { Crop = pr.GetValue(crop) };
            if (pr.GetValue(lr) > 0) spec = spec with { Lr = pr.GetValue(lr) };
            ulong s = pr.GetValue(seed);
            var run = RunFolder.Create(pr.GetValue(output), $"train-{kind}", con);
            using var model = kind == "deflow" && (pr.GetValue(normalizeDomains) || p == "aim")
                ? new Models.DeFlow.DeFlow(new Models.Nn.ParamInit(s, DType.F32, dev),
                    ModelRegistry.DeFlowPreset(p) with { CovarianceInit = pr.GetValue(covariance)!, Normalize = DomainStats(c!, n!, con) })
                : ModelRegistry.Create(kind == "deflow" && pr.GetValue(covariance) == "zero" ? ModelRegistry.DeFlowZeroCovariance : kind, p, spec, s, dev);
            var settings = new JsonObject
            {
                ["model"] = kind, ["preset"] = p, ["parameters"] = model.Module.ParameterCount(), ["config"] = model.Config.DeepClone(),
                ["training"] = spec.ToJson(), ["clean"] = c, ["noisy"] = n, ["paired_clean"] = pc, ["paired_noisy"] = pn, ["seed"] = s, ["device"] = dev.ToString(),
            };
            run.WriteSettings(settings);
            using var cts = Restore.RestoreCommand.CancelOnCtrlC();
            var summary = VaeRun.Train(model, spec, new VaeData(c, n, pc, pn), run.Path, s, dev, con, cts.Token);
            con.MarkupLine($"{summary.LastStep - summary.FirstStep} steps in {summary.Seconds:F1} s ({summary.StepsPerSecond:F2} it/s), {summary.Skipped} skipped, peak memory {Training.TrainingDisplay.Bytes(summary.PeakMemoryBytes)}; {summary.StopReason}");
            con.MarkupLine($"model saved in {Markup.Escape(run.Path)} (synthesize: engine degrade --checkpoint {Markup.Escape(run.Path)} --in CLEAN --out DIR)");
            return summary.StopReason == "cancelled" ? 130 : 0;
        });
        return cmd;
    }
}

internal static class DegradeCommand
{
    public static Command Build(IAnsiConsole con)
    {
        var checkpoint = Opt.String("checkpoint", "RUN", "a run folder written by `engine train`", required: true);
        var input = Opt.String("in", "DIR", "clean images to degrade", required: true);
        var output = Opt.String("out", "DIR", "where the synthetic degraded PNGs go (same relative paths; _sK suffixes with --samples > 1)", required: true);
        var samples = Opt.Int("samples", 1, "synthetic samples per image", min: 1);
        var temperature = Opt.Double("temperature", 1.0, "scale of the degradation latent's prior sample", min: 0);
        var noiseLevel = Opt.Double("noise-level", -1, "the model's conditioning noise level on the 0..255 scale (default: the model's)", min: -1);
        var level = Opt.String("level", "L", "SeNM-VAE's degradation level: a value on the 0..255 scale, or sidd (the code's shot/read sampler, per image), pool (the predictor's levels of the training degraded images) or fixed (the model's default)");
        var normalize = Opt.Flag("normalize", "shift each output channel to the clean image's mean (SeNM-VAE's --normalize; removes the content path's colour cast)");
        var residual = Opt.Flag("residual", "write clean + (sample - the same draws at temperature 0): only the degradation latent's contribution, without the content path's reconstruction error (our option)");
        var method = Opt.IntOneOf("method", 3, "3: clean -> degraded (default; LUD-VAE's method 3); 2: degraded -> clean (LUD-VAE's translation, SeNM-VAE's denoise, DeFlow's reverse translation)", 1, 2, 3);
        var seed = CommonOptions.Seed(1);
        var device = CommonOptions.Device("cpu");
        var cmd = new Command("degrade", "synthesize degraded copies of clean images with a trained degradation model")
        {
            checkpoint, input, output, samples, temperature, noiseLevel, level, normalize, residual, method, seed, device,
        };
        Opt.AddCheck(cmd, r =>
        {
            if (r.GetResult(level) is null) return;
            string? v = r.GetValue(level);
            if (v is "sidd" or "pool" or "fixed") return;
            if (!double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double d) || !(d >= 0) || !double.IsFinite(d))
                r.AddError($"--level must be a number >= 0 (0..255 scale) or sidd, pool, fixed; got '{v}'");
            else if (r.GetResult(noiseLevel) is not null)
                r.AddError("--level and --noise-level both set the level; give one");
        });
        cmd.SetAction(pr =>
        {
            var dev = pr.GetValue(device);
            DevicesCommand.Require(dev);
            string inDir = pr.GetValue(input)!, outDir = pr.GetValue(output)!;
            if (!Directory.Exists(inDir)) throw new ArgumentException($"--in '{inDir}' is not a folder");
            if (Path.GetFullPath(inDir).TrimEnd('/') == Path.GetFullPath(outDir).TrimEnd('/'))
                throw new ArgumentException("degrade: --out must differ from --in (the clean images would be overwritten)");
            using var model = VaeRun.Load(pr.GetValue(checkpoint)!, dev);
            int k = pr.GetValue(samples);
            ulong s = pr.GetValue(seed);
            double nl = pr.GetValue(noiseLevel);
            string? lv = pr.GetValue(level);
            string? sampler = lv is "sidd" or "pool" or "fixed" ? lv : null;
            if (lv is not null && sampler is null) nl = double.Parse(lv, System.Globalization.CultureInfo.InvariantCulture);
            if (sampler is not null && model is not Models.SeNmVae.SeNmVae)
                throw new ArgumentException($"--level {sampler}: only senmvae has a level sampler ({model.Kind} takes a number)");
            var files = ImageFolder.List(inDir);
            int done = 0, skipped = 0;
            con.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()).Start(ctx =>
            {
                var task = ctx.AddTask("degrading", maxValue: Math.Max(1, files.Count));
                foreach (var f in files)
                {
                    Image img;
                    try { img = ImageIO.Read(f); }
                    catch (EngineException e) when (e is ImageFormatException or ImageIOException) { con.MarkupLine($"[yellow]skipped[/] {Markup.Escape(e.Message)}"); skipped++; task.Increment(1); continue; }
                    string rel = Path.GetRelativePath(inDir, f).Replace('\\', '/');
                    ulong key = Imaging.Degradation.DegradationRng.ImageSeed(s, rel);
                    for (int i = 0; i < k; i++)
                    {
                        var o = new DegradeOptions
                        {
                            Temperature = pr.GetValue(temperature), Method = pr.GetValue(method), NoiseLevel = nl >= 0 ? nl / 255.0 : null, LevelSampler = sampler,
                            MatchMean = pr.GetValue(normalize), ResidualOnly = pr.GetValue(residual),
                            Seed = key, Offset = (ulong)i << 40,
                        };
                        var y = VaeSynthesis.Degrade(model, img, dev, o);
                        string name = k == 1 ? Path.ChangeExtension(rel, ".png") : Path.Combine(Path.GetDirectoryName(rel) ?? "", $"{Path.GetFileNameWithoutExtension(rel)}_s{i}.png");
                        string dst = Path.Combine(outDir, name);
                        Directory.CreateDirectory(Path.GetDirectoryName(dst)!);
                        ImageIO.WritePng(dst, y);
                    }
                    done++;
                    task.Increment(1);
                }
            });
            con.MarkupLine($"{done} images x {k} samples written to {Markup.Escape(outDir)}{(skipped > 0 ? $", [yellow]{skipped} skipped[/]" : "")}");
            return 0;
        });
        return cmd;
    }
}
