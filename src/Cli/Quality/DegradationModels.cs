// The rows of the quality benchmark: each "degradation model" learns (or not) from the clean
// domain X and the degraded domain Y and then synthesizes degraded copies of clean images. The
// baselines: none (the clean image itself), awgn (white Gaussian noise whose sigma matches the
// true residual std on the validation pairs) and oracle (the true pipeline D, i.e. true pairs).
// Learned models (LUD-VAE, DeFlow, SeNM-VAE) register here as further rows.
using System.Text.Json.Nodes;
using Engine.Imaging;
using Engine.Imaging.Data;
using Engine.Imaging.Degradation;
using Spectre.Console;

namespace Engine.Cli.Quality;

/// <summary>Everything a degradation model may use: the unpaired domains, the paired split, the
/// validation pairs, where to put its run folder, and the run's settings.</summary>
internal sealed record QualityContext(
    string CleanX,            // clean-domain images at the degraded resolution (bicubic-downscaled for SR)
    string DegradedY,         // the unpaired degraded domain D(Y0)
    string PairedClean,       // P at the degraded resolution
    string PairedDegraded,    // D(P)
    string ValClean,          // V at the degraded resolution
    string ValDegraded,       // D(V)
    Degradation TrueDegradation,
    string Preset, ulong Seed, Device Device, string RunDir, IAnsiConsole Console,
    int Pairs = 10);          // paired patches for semi-paired models, cut from (PairedClean, PairedDegraded)

internal interface IDegradationModel
{
    string Name { get; }
    /// <summary>Whether Synthesize draws random samples (then several per clean image are used).</summary>
    bool Stochastic { get; }
    /// <summary>Learns from the context (trains, tunes); called once before any Synthesize.</summary>
    void Fit(QualityContext ctx);
    /// <summary>A degraded version of a clean image (at the same resolution).</summary>
    Image Synthesize(Image clean, ulong seed, string key, int sample);
    /// <summary>What was learned or chosen, for the report.</summary>
    JsonObject Describe();
}

internal sealed class NoneModel : IDegradationModel
{
    public string Name => "none";
    public bool Stochastic => false;
    public void Fit(QualityContext ctx) { }
    public Image Synthesize(Image clean, ulong seed, string key, int sample) => clean;
    public JsonObject Describe() => new() { ["what"] = "no degradation: the restorer learns the identity" };
}

internal sealed class AwgnModel : IDegradationModel
{
    private Degradation? _noise;
    public double Sigma { get; private set; }
    public string Name => "awgn";
    public bool Stochastic => true;

    /// <summary>sigma = the std of the true residuals D(v) - v over the validation pairs (8-bit grid, all pixels and channels pooled).</summary>
    public void Fit(QualityContext ctx)
    {
        var val = new PairedDataset(ctx.ValClean, ctx.ValDegraded);
        double ss = 0; long n = 0;
        for (int i = 0; i < val.Count; i++)
        {
            var p = val.Get(i);
            var r = NoiseStats.Residuals(Image8.FromImage(p.Degraded.Image), Image8.FromImage(p.Clean.Image));
            foreach (var v in r) ss += v * v;
            n += r.Length;
        }
        Sigma = Math.Sqrt(ss / Math.Max(1, n));
        _noise = Degradations.Create("gaussian", 1, [new("sigma_min", Sigma), new("sigma_max", Sigma)]);
    }

    public Image Synthesize(Image clean, ulong seed, string key, int sample)
        => (_noise ?? throw new InvalidOperationException("awgn: Fit first")).Apply(clean, seed, $"{key}#{sample}").Image;

    public JsonObject Describe() => new() { ["what"] = "white Gaussian noise, sigma = std of the true residuals on the validation pairs", ["sigma"] = Sigma, ["sigma_255"] = Sigma * 255 };
}

internal sealed class OracleModel : IDegradationModel
{
    private Degradation? _d;
    public string Name => "oracle";
    public bool Stochastic => true;

    /// <summary>The true pipeline (at scale 1: the clean images given here are already at the degraded resolution).</summary>
    public void Fit(QualityContext ctx) => _d = Degradations.Create(ctx.TrueDegradation.Name, 1, ctx.TrueDegradation.Parameters);

    public Image Synthesize(Image clean, ulong seed, string key, int sample)
        => (_d ?? throw new InvalidOperationException("oracle: Fit first")).Apply(clean, seed, $"{key}#{sample}").Image;

    public JsonObject Describe() => new() { ["what"] = "the true degradation pipeline (true pairs)" };
}

/// <summary>A learned model (engine train's registry): trained on (X, D(Y0)) with the preset's
/// settings in models/NAME/train, then sampled (Method 3, temperature 1) per clean image.</summary>
internal sealed class LearnedModel(string kind) : IDegradationModel, IDisposable
{
    private Models.Degradation.IDegradationVae? _model;
    private Device _device = Device.Cpu;
    private JsonObject _details = new();
    public string Name => kind;
    public bool Stochastic => true;

    public void Fit(QualityContext ctx)
    {
        var spec = Train.ModelRegistry.TrainSpec(kind, ctx.Preset);
        _device = ctx.Device;
        _model = Train.ModelRegistry.Create(kind, ctx.Preset, spec, ctx.Seed, ctx.Device);
        var data = new Train.VaeData(ctx.CleanX, ctx.DegradedY);
        JsonObject? pairInfo = null;
        if (_model is Models.Degradation.ISemiPairedVae)
        {
            var (pc, pd, size) = CutPairs(ctx, Math.Max(2 * spec.Crop, 64));
            data = data with { PairedClean = pc, PairedDegraded = pd };
            pairInfo = new JsonObject { ["patches"] = ctx.Pairs, ["patch_size"] = size, ["from"] = ctx.PairedClean };
        }
        var summary = Train.VaeRun.Train(_model, spec, data, Path.Combine(ctx.RunDir, "train"), ctx.Seed, ctx.Device, ctx.Console, CancellationToken.None);
        _model.Module.Eval();
        _details = new JsonObject
        {
            ["what"] = Train.ModelRegistry.Describe(kind), ["parameters"] = _model.Module.ParameterCount(), ["config"] = _model.Config.DeepClone(),
            ["training"] = spec.ToJson(), ["train_seconds"] = summary.Seconds, ["train_steps_per_second"] = summary.StepsPerSecond,
            ["skipped_steps"] = summary.Skipped, ["peak_memory_bytes"] = summary.PeakMemoryBytes,
        };
        if (pairInfo is not null) _details["pairs"] = pairInfo;
        if (kind == Train.ModelRegistry.SeNmResidual) _details["residual_only"] = "clean + (sample - the same draws at temperature 0)";
        if (_model is Models.SeNmVae.SeNmVae)
        {
            _matchMean = true;
            _details["normalize"] = "per-channel mean matching to the clean image (the reference's --normalize, recommended by its README for synthesis)";
        }
        if (_model is Models.SeNmVae.SeNmVae senm && senm.Settings.LevelPool is { Count: > 0 } pool)
        {
            _levelSampler = "pool";
            _details["level_sampler"] = "pool: the level predictor's estimates on the training degraded images";
            _details["level_pool_255"] = new JsonArray(pool.Select(l => (JsonNode?)Math.Round(l * 255, 2)).ToArray());
        }
    }

    private string? _levelSampler;
    private bool _matchMean;

    /// <summary>The benchmark's paired set for semi-paired models: ctx.Pairs patches of side size
    /// (or the largest multiple of 8 the photo allows) at seeded positions in the P photos, cycling
    /// over them, written as PNGs (lossless, so the pairs are exactly the true ones).</summary>
    private static (string Clean, string Degraded, int Size) CutPairs(QualityContext ctx, int size)
    {
        var pairs = new PairedDataset(ctx.PairedClean, ctx.PairedDegraded);
        if (pairs.Count == 0) throw new ArgumentException($"the P split ('{ctx.PairedClean}') has no pairs for {ctx.Pairs} paired patches");
        string cd = Path.Combine(ctx.RunDir, "pairs", "clean"), dd = Path.Combine(ctx.RunDir, "pairs", "degraded");
        Directory.CreateDirectory(cd);
        Directory.CreateDirectory(dd);
        var rng = new DegradationRng(DegradationRng.ImageSeed(ctx.Seed, "quality-pairs"));
        int used = size;
        for (int k = 0; k < ctx.Pairs; k++)
        {
            var p = pairs.Get(k % pairs.Count);
            var (c, d) = (p.Clean.Image, p.Degraded.Image);
            int s = Math.Min(size, Math.Min(c.Width, c.Height)) / 8 * 8;
            used = Math.Min(used, s);
            int x0 = rng.Int(0, c.Width - s), y0 = rng.Int(0, c.Height - s);
            string name = $"p{k:D4}.png";
            ImageIO.WritePng(Path.Combine(cd, name), ImageGrid.Crop(c, x0, y0, s, s));
            ImageIO.WritePng(Path.Combine(dd, name), ImageGrid.Crop(d, x0, y0, s, s));
        }
        return (cd, dd, used);
    }

    public Image Synthesize(Image clean, ulong seed, string key, int sample)
        => Train.VaeSynthesis.Degrade(_model ?? throw new InvalidOperationException($"{kind}: Fit first"), clean, _device,
            new Models.Degradation.DegradeOptions { Seed = DegradationRng.ImageSeed(seed, key), Offset = (ulong)sample << 40, LevelSampler = _levelSampler, MatchMean = _matchMean, ResidualOnly = kind == Train.ModelRegistry.SeNmResidual });

    public JsonObject Describe() => _details;

    public void Dispose() => _model?.Dispose();
}

internal static class DegradationModels
{
    public static readonly List<string> Names = ["none", "awgn", "oracle", .. Train.ModelRegistry.Kinds, .. Train.ModelRegistry.Variants.Keys];

    public static IDegradationModel Create(string name) => name switch
    {
        "none" => new NoneModel(),
        "awgn" => new AwgnModel(),
        "oracle" => new OracleModel(),
        _ when Train.ModelRegistry.Kinds.Contains(name) || Train.ModelRegistry.Variants.ContainsKey(name) => new LearnedModel(name),
        _ => throw new ArgumentException($"unknown model '{name}' for --models; available: {string.Join(", ", Names)}"),
    };
}
