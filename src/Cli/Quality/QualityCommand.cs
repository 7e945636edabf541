// `engine bench quality`: options for the quality benchmark (QualityBench.cs).
using System.CommandLine;
using Engine.Imaging.Degradation;
using Spectre.Console;

namespace Engine.Cli.Quality;

internal static class QualityCommand
{
    public static Command Build(IAnsiConsole con)
    {
        var preset = CommonOptions.Preset("tiny", "tiny", "small", "paper");
        var degradation = Opt.String("degradation", "NAME", $"the true pipeline D: {string.Join(", ", Degradations.Names.Where(n => n != "gaussian"))} (default camera)");
        var scale = Opt.IntOneOf("scale", 1, "1: denoising (DnCNN); 2 or 4: super-resolution after a bicubic downscale (RRDB)", 1, 2, 4);
        var models = Opt.String("models", "LIST", $"comma-separated rows (default none,awgn,oracle; available: {string.Join(", ", DegradationModels.Names)})");
        var photos = Opt.String("photos", "DIR", "the photo folder to split (default: the bundled samples for tiny, ../shared/data/photos otherwise)");
        var samples = Opt.Int("samples", 2, "synthetic samples per clean image for stochastic models", min: 1);
        var restorerSteps = Opt.Int("restorer-steps", 0, "override the restorer's training steps (0: the preset's)", min: 0);
        var seed = CommonOptions.Seed(1);
        var pairs = Opt.Int("pairs", 10, "paired patches cut from the P split for semi-paired models (senmvae; the paper uses 10, 96 and 960)", min: 1);
        var device = CommonOptions.Device("cpu");
        var output = CommonOptions.Out("quality", "the report, data splits and model runs");
        var cmd = new Command("quality", "BENCHMARK.md's protocol: split photos, degrade, fit each model, train a restorer on its synthetic pairs, score on true test pairs")
        {
            preset, degradation, scale, models, photos, samples, restorerSteps, pairs, seed, device, output,
        };
        Opt.AddCheck(cmd, r =>
        {
            var d = r.GetValue(degradation);
            if (d != null && !Degradations.Names.Contains(d)) r.AddError($"--degradation must be one of {string.Join(", ", Degradations.Names)}, got '{d}'");
            if (r.GetValue(models) is { } m)
                foreach (var name in m.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    if (!DegradationModels.Names.Contains(name)) r.AddError($"--models: unknown model '{name}'; available: {string.Join(", ", DegradationModels.Names)}");
        });
        cmd.SetAction(pr =>
        {
            var dev = pr.GetValue(device);
            DevicesCommand.Require(dev);
            var list = (pr.GetValue(models) ?? "none,awgn,oracle").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (list.Length == 0) throw new ArgumentException("--models: give at least one model");
            var run = RunFolder.Create(pr.GetValue(output), "quality", con);
            var o = new QualityOptions
            {
                Preset = pr.GetValue(preset)!, Degradation = pr.GetValue(degradation) ?? "camera", Scale = pr.GetValue(scale), Models = list,
                Photos = pr.GetValue(photos), Seed = pr.GetValue(seed), Out = run.Path, Device = dev, Samples = pr.GetValue(samples),
                RestorerSteps = pr.GetValue(restorerSteps), Pairs = pr.GetValue(pairs),
            };
            if (o.Photos != null && !Directory.Exists(o.Photos)) throw new ArgumentException($"--photos '{o.Photos}' is not a folder");
            run.WriteSettings(o.ToJson());
            using var cts = Restore.RestoreCommand.CancelOnCtrlC();
            return QualityBench.Run(o, con, cts.Token);
        });
        return cmd;
    }
}
