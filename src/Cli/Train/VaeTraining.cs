// Training a learned degradation model (IDegradationVae) on unpaired folders, and using a trained
// one: the task the guarded trainer runs (UnpairedSampler batches, each slot clean or degraded with
// probability 1/2 as LUD-VAE's WeightedRandomSampler draws them), the run folder's model.json,
// loading, and tiled synthesis for images of any size. Shared by `engine train`, `engine degrade`
// and the quality benchmark.
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Cli.Training;
using Engine.Imaging;
using Engine.Imaging.Data;
using Engine.Models.Checkpoint;
using Engine.Models.Degradation;
using Engine.Models.Nn;
using Engine.Models.SeNmVae;
using Engine.Models.Training;
using Spectre.Console;

namespace Engine.Cli.Train;

/// <summary>Training settings of a degradation model (the architecture is in the model's own config).</summary>
internal sealed record VaeTrainSpec
{
    public int Steps { get; init; } = 2000;
    public int Batch { get; init; } = 8;
    public int Crop { get; init; } = 48;
    public double Lr { get; init; } = 1e-4;
    /// <summary>Steps at which the learning rate halves (LUD-VAE: 100k).</summary>
    public IReadOnlyList<long> Milestones { get; init; } = [];
    public double PDegraded { get; init; } = 0.5;
    public double SkipGradNorm { get; init; }
    public double ClipGradNorm { get; init; }
    public int CheckpointEvery { get; init; } = 500;

    public JsonObject ToJson() => new()
    {
        ["steps"] = Steps, ["batch"] = Batch, ["crop"] = Crop, ["lr"] = Lr,
        ["milestones"] = new JsonArray(Milestones.Select(m => (JsonNode?)m).ToArray()), ["p_degraded"] = PDegraded,
        ["skip_grad_norm"] = SkipGradNorm, ["clip_grad_norm"] = ClipGradNorm, ["checkpoint_every"] = CheckpointEvery,
    };
}

internal sealed class VaeTask : ITrainTask, IDisposable
{
    private readonly IDegradationVae _model;
    private readonly UnpairedSampler _sampler;
    private Prefetcher<UnpairedBatch>? _prefetch;
    private readonly ulong _seed;
    private readonly Device _device;
    private readonly Image[] _previewClean, _previewDegraded;

    public Module Model => _model.Module;

    public VaeTask(IDegradationVae model, ImageDataset clean, ImageDataset degraded, VaeTrainSpec spec, ulong seed, Device device)
    {
        _model = model; _seed = seed; _device = device;
        _sampler = new UnpairedSampler(clean, degraded, spec.PDegraded, new SamplerOptions { BatchSize = spec.Batch, CropSize = spec.Crop, Seed = seed, SmallImages = SmallImagePolicy.Pad });
        int size = Math.Max(spec.Crop, 64);
        _previewClean = Enumerable.Range(0, Math.Min(3, clean.Count)).Select(i => CenterCrop(clean.ImageAt(i), size)).ToArray();
        _previewDegraded = Enumerable.Range(0, Math.Min(3, degraded.Count)).Select(i => CenterCrop(degraded.ImageAt(i), size)).ToArray();
    }

    internal static Image CenterCrop(Image img, int size)
    {
        int w = Math.Min(size, img.Width), h = Math.Min(size, img.Height);
        return ImageGrid.Crop(img, (img.Width - w) / 2, (img.Height - h) / 2, w, h);
    }

    public StepOutput Loss(long step)
    {
        _prefetch ??= new Prefetcher<UnpairedBatch>(_sampler, start: step, depth: 4, workers: Math.Max(1, Environment.ProcessorCount / 2));
        if (_prefetch.NextIndex != step) throw new InvalidOperationException($"train: batch {_prefetch.NextIndex} is next but the trainer asked for {step}");
        var b = _prefetch.Next();
        var loss = _model.Loss(b.ImagesTensor(_device), b.IsDegraded, step, _seed);
        return new StepOutput(loss.Total, loss.Terms);
    }

    /// <summary>Sample grid: clean crops, two synthetic samples each, and real degraded crops for comparison.</summary>
    public void Report(string runDir, long step) => WriteSamples(_model, _previewClean, _previewDegraded, runDir, step, _seed, _device);

    internal static void WriteSamples(IDegradationVae model, Image[] previewClean, Image[] previewDegraded, string runDir, long step, ulong seed, Device device)
    {
        var rows = new List<IReadOnlyList<Image?>>();
        for (int i = 0; i < previewClean.Length; i++)
        {
            var c = previewClean[i];
            var s1 = VaeSynthesis.Degrade(model, c, device, new DegradeOptions { Seed = seed + 99, Offset = (ulong)i * 2 });
            var s2 = VaeSynthesis.Degrade(model, c, device, new DegradeOptions { Seed = seed + 99, Offset = (ulong)i * 2 + 1 });
            rows.Add([c, s1, s2, i < previewDegraded.Length ? previewDegraded[i] : null]);
        }
        Directory.CreateDirectory(Path.Combine(runDir, "samples"));
        ImageGrid.SavePng(Path.Combine(runDir, "samples", $"step-{step:D6}.png"), rows,
            new ImageGridOptions { ColumnTitles = ["clean", "synthetic 1", "synthetic 2", "real degraded"], Zoom = 2 });
    }

    public void Dispose() => _prefetch?.Dispose();
}

/// <summary>The training data of a degradation model: unpaired folders and, for semi-paired models, pairs.</summary>
internal sealed record VaeData(string? Clean, string? Degraded, string? PairedClean = null, string? PairedDegraded = null);

/// <summary>SeNM-VAE's batches: each slot paired, clean-only or degraded-only with probability 1/3
/// (over the sets given), as the code's WeightedRandomSampler draws them.</summary>
internal sealed class SemiPairedTask : ITrainTask, IDisposable
{
    private readonly ISemiPairedVae _model;
    private readonly SemiPairedSampler _sampler;
    private Prefetcher<SemiPairedBatch>? _prefetch;
    private readonly ulong _seed;
    private readonly Device _device;
    private readonly Image[] _previewClean, _previewDegraded;

    public Module Model => _model.Module;

    public SemiPairedTask(ISemiPairedVae model, PairedDataset? pairs, ImageDataset? clean, ImageDataset? degraded, VaeTrainSpec spec, ulong seed, Device device)
    {
        _model = model; _seed = seed; _device = device;
        _sampler = new SemiPairedSampler(pairs, clean, degraded, new SamplerOptions { BatchSize = spec.Batch, CropSize = spec.Crop, Seed = seed, SmallImages = SmallImagePolicy.Pad });
        int size = Math.Max(spec.Crop, 64);
        var cleanImages = clean is not null ? Enumerable.Range(0, Math.Min(3, clean.Count)).Select(clean.ImageAt)
                                            : Enumerable.Range(0, Math.Min(3, pairs!.Count)).Select(i => pairs.Get(i).Clean.Image);
        var degradedImages = degraded is not null ? Enumerable.Range(0, Math.Min(3, degraded.Count)).Select(degraded.ImageAt)
                                                  : Enumerable.Range(0, Math.Min(3, pairs!.Count)).Select(i => pairs.Get(i).Degraded.Image);
        _previewClean = cleanImages.Select(i => VaeTask.CenterCrop(i, size)).ToArray();
        _previewDegraded = degradedImages.Select(i => VaeTask.CenterCrop(i, size)).ToArray();
    }

    public StepOutput Loss(long step)
    {
        _prefetch ??= new Prefetcher<SemiPairedBatch>(_sampler, start: step, depth: 4, workers: Math.Max(1, Environment.ProcessorCount / 2));
        if (_prefetch.NextIndex != step) throw new InvalidOperationException($"train: batch {_prefetch.NextIndex} is next but the trainer asked for {step}");
        var b = _prefetch.Next();
        var loss = _model.Loss(b.CleanTensor(_device), b.DegradedTensor(_device), b.Kinds.Select(k => (int)k).ToArray(), step, _seed);
        return new StepOutput(loss.Total, loss.Terms);
    }

    public void Report(string runDir, long step) => VaeTask.WriteSamples(_model, _previewClean, _previewDegraded, runDir, step, _seed, _device);

    public void Dispose() => _prefetch?.Dispose();
}

internal static class VaeRun
{
    public const string ModelFile = "model.json";

    /// <summary>Trains (or resumes) a model on unpaired folders in runDir; model.json records its kind and config.</summary>
    public static TrainingSummary Train(IDegradationVae model, VaeTrainSpec spec, string cleanDir, string degradedDir, string runDir,
                                        ulong seed, Device device, IAnsiConsole con, CancellationToken cancel, JsonObject? settings = null)
        => Train(model, spec, new VaeData(cleanDir, degradedDir), runDir, seed, device, con, cancel, settings);

    /// <summary>Trains (or resumes) a model in runDir. Unpaired models need Clean and Degraded; a
    /// semi-paired model (SeNM-VAE) takes the pairs plus either unpaired folder. After training a
    /// semi-paired model, its level predictor's estimates on the training degraded images become
    /// the level pool synthesis can draw from (model.json is rewritten with it).</summary>
    public static TrainingSummary Train(IDegradationVae model, VaeTrainSpec spec, VaeData data, string runDir,
                                        ulong seed, Device device, IAnsiConsole con, CancellationToken cancel, JsonObject? settings = null)
    {
        Directory.CreateDirectory(runDir);
        ImageDataset? Folder(string? dir, string flag)
        {
            if (dir is null) return null;
            var d = new ImageDataset(dir, new ImageDatasetOptions { Cache = true, SkipUnreadable = true, Warn = s => con.MarkupLine($"[yellow]skipped[/] {Markup.Escape(s.Path)}: {Markup.Escape(s.Reason)}") });
            if (d.Count == 0) throw new ArgumentException($"{flag} '{dir}' has no readable images");
            return d;
        }
        var clean = Folder(data.Clean, "--clean");
        var degraded = Folder(data.Degraded, "--noisy");
        PairedDataset? pairs = null;
        if (data.PairedClean is not null || data.PairedDegraded is not null)
        {
            if (data.PairedClean is null || data.PairedDegraded is null)
                throw new ArgumentException("--paired-clean and --paired-noisy go together");
            if (model is not ISemiPairedVae)
                throw new ArgumentException($"{model.Kind} learns from unpaired folders only; paired folders are for senmvae");
            pairs = new PairedDataset(data.PairedClean, data.PairedDegraded, 1, new ImageDatasetOptions { Cache = true });
            if (pairs.Count == 0) throw new ArgumentException($"--paired-clean '{data.PairedClean}' has no pairs");
        }
        if (model is not ISemiPairedVae && (clean is null || degraded is null))
            throw new ArgumentException($"{model.Kind} needs both --clean and --noisy");
        if (model is ISemiPairedVae && pairs is null && (clean is null || degraded is null))
            throw new ArgumentException($"{model.Kind} needs --paired-clean/--paired-noisy, or both --clean and --noisy");
        WriteModelJson(runDir, model);
        ITrainTask task = model is ISemiPairedVae semi
            ? new SemiPairedTask(semi, pairs, clean, degraded, spec, seed, device)
            : new VaeTask(model, clean!, degraded!, spec, seed, device);
        using var disposeTask = (IDisposable)task;
        var trainable = model is ISemiPairedVae sp ? sp.TrainableParameters() : model.Module.NamedParameters();
        using var opt = new Adam(trainable, spec.Lr);
        var trainer = new Trainer(task, opt, new TrainerOptions
        {
            Steps = spec.Steps, CheckpointEvery = spec.CheckpointEvery, SkipGradNorm = spec.SkipGradNorm, ClipGradNorm = spec.ClipGradNorm,
            Schedule = spec.Milestones.Count > 0 ? new MultiStepLr(spec.Lr, spec.Milestones, 0.5) : new ConstantLr(spec.Lr),
        }, runDir);
        trainer.Memory = DeviceMemory.Probe(device);
        if (trainer.TryResume()) con.MarkupLine($"[yellow]resuming[/] {Markup.Escape(runDir)} at step {trainer.Step}");
        var config = settings ?? new JsonObject();
        config["model"] = new JsonObject { ["kind"] = model.Kind, ["config"] = model.Config.DeepClone() };
        config["training"] = spec.ToJson();
        config["clean"] = data.Clean; config["degraded"] = data.Degraded;
        config["paired_clean"] = data.PairedClean; config["paired_degraded"] = data.PairedDegraded;
        config["seed"] = seed; config["device"] = device.ToString();
        trainer.WriteConfig(config);
        var display = new TrainingDisplay(con, model.Kind);
        trainer.Observe(display).Observe(new LossPlots(runDir));
        var summary = display.Show(() => trainer.Run(cancel));
        if (model is SeNmVae senm && summary.LastStep > summary.FirstStep)
        {
            var pool = LevelPool(senm, degraded, pairs, device);
            if (pool.Length > 0)
            {
                senm.SetLevelSampler(senm.Settings.LevelSampler, pool);
                WriteModelJson(runDir, model);
                con.MarkupLine($"level pool: {pool.Length} predicted levels of the training degraded images, {pool.Min() * 255:F1}..{pool.Max() * 255:F1} /255 (median {pool.Order().ElementAt(pool.Length / 2) * 255:F1}); `engine degrade --level pool` draws from them");
            }
        }
        return summary;
    }

    private static void WriteModelJson(string runDir, IDegradationVae model)
        => File.WriteAllText(Path.Combine(runDir, ModelFile), new JsonObject { ["kind"] = model.Kind, ["config"] = model.Config.DeepClone() }
            .ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>The level predictor on every training degraded image (a center crop of up to 256 px,
    /// cropped to the model's size multiple), in the 0..1 scale.</summary>
    private static double[] LevelPool(SeNmVae model, ImageDataset? degraded, PairedDataset? pairs, Device device)
    {
        var images = new List<Image>();
        if (degraded is not null) for (int i = 0; i < degraded.Count; i++) images.Add(degraded.ImageAt(i));
        if (pairs is not null) for (int i = 0; i < pairs.Count; i++) images.Add(pairs.Get(i).Degraded.Image);
        model.Module.Eval();
        var levels = new List<double>();
        int m = model.Settings.SizeMultiple;
        foreach (var img in images)
        {
            int w = Math.Min(256, img.Width) / m * m, h = Math.Min(256, img.Height) / m * m;
            if (w < 16 || h < 16) continue;
            var crop = ImageGrid.Crop(img, (img.Width - w) / 2, (img.Height - h) / 2, w, h);
            using var scope = TensorScope.Begin();
            levels.Add(Math.Max(0, model.PredictLevels(crop.ToTensor(device).Unsqueeze(0))[0]));
        }
        return levels.ToArray();
    }

    /// <summary>Rebuilds a trained model from its run folder (model.json + checkpoints/model.safetensors).</summary>
    public static IDegradationVae Load(string runDir, Device device)
    {
        string json = Path.Combine(runDir, ModelFile), weights = Path.Combine(runDir, Trainer.CheckpointDir, "model.safetensors");
        if (!File.Exists(json) || !File.Exists(weights))
            throw new ArgumentException($"'{runDir}' is not a trained degradation model (needs {ModelFile} and {Trainer.CheckpointDir}/model.safetensors; train one with `engine train`)");
        var j = JsonNode.Parse(File.ReadAllText(json)) ?? throw new ArgumentException($"'{json}' is empty");
        string kind = (string?)j["kind"] ?? throw new ArgumentException($"'{json}' has no kind");
        var model = ModelRegistry.FromConfig(kind, (JsonObject)j["config"]!, device);
        using (TensorScope.Begin()) model.Module.LoadStateDict(SafeTensors.Load(weights, device).Tensors);
        model.Module.Eval();
        return model;
    }
}

/// <summary>Synthesis for whole images of any size: tiles with a context margin, so memory stays
/// bounded; each tile's draw uses its own offset, and only the tile's interior is kept.</summary>
internal static class VaeSynthesis
{
    public const int Tile = 192, Margin = 32;

    public static Image Degrade(IDegradationVae model, Image clean, Device device, DegradeOptions o)
    {
        Image y;
        if (o.ResidualOnly)
        {
            // clean + (sample - the same draws at temperature 0): only the degradation latent's part.
            var full = Tiled(model, clean, device, o with { ResidualOnly = false, MatchMean = false });
            var cold = Tiled(model, clean, device, o with { ResidualOnly = false, MatchMean = false, Temperature = 0 });
            var r = new float[clean.Data.Length];
            for (int i = 0; i < r.Length; i++) r[i] = clean.Data[i] + (full.Data[i] - cold.Data[i]);
            y = new Image(clean.Width, clean.Height, r);
        }
        else y = Tiled(model, clean, device, o with { MatchMean = false });
        return o.MatchMean ? MatchMeans(y, clean) : y;
    }

    /// <summary>Mean matching per whole image (not per tile), as the reference does it: each channel of
    /// y shifted so its mean equals the clean image's.</summary>
    public static Image MatchMeans(Image y, Image clean)
    {
        int hw = clean.Width * clean.Height;
        var d = (float[])y.Data.Clone();
        for (int c = 0; c < 3; c++)
        {
            double sy = 0, sx = 0;
            for (int i = 0; i < hw; i++) { sy += d[c * hw + i]; sx += clean.Data[c * hw + i]; }
            float shift = (float)((sx - sy) / hw);
            for (int i = 0; i < hw; i++) d[c * hw + i] += shift;
        }
        return new Image(clean.Width, clean.Height, d);
    }

    private static Image Tiled(IDegradationVae model, Image clean, Device device, DegradeOptions o)
    {
        if (clean.Width <= Tile + 2 * Margin && clean.Height <= Tile + 2 * Margin) return Whole(model, clean, device, o);
        var outData = new float[clean.Data.Length];
        int hw = clean.Width * clean.Height, t = 0;
        for (int y0 = 0; y0 < clean.Height; y0 += Tile)
            for (int x0 = 0; x0 < clean.Width; x0 += Tile, t++)
            {
                int x1 = Math.Min(clean.Width, x0 + Tile), y1 = Math.Min(clean.Height, y0 + Tile);
                int cx0 = Math.Max(0, x0 - Margin), cy0 = Math.Max(0, y0 - Margin);
                int cx1 = Math.Min(clean.Width, x1 + Margin), cy1 = Math.Min(clean.Height, y1 + Margin);
                var piece = ImageGrid.Crop(clean, cx0, cy0, cx1 - cx0, cy1 - cy0);
                var d = Whole(model, piece, device, o with { Offset = o.Offset + ((ulong)t << 24) });
                int pw = cx1 - cx0, phw = pw * (cy1 - cy0);
                for (int c = 0; c < 3; c++)
                    for (int y = y0; y < y1; y++)
                        for (int x = x0; x < x1; x++)
                            outData[c * hw + y * clean.Width + x] = d.Data[c * phw + (y - cy0) * pw + (x - cx0)];
            }
        return new Image(clean.Width, clean.Height, outData);
    }

    /// <summary>Sizes are padded (edge pixels repeated) to a multiple of this, which covers the
    /// models' downsampling (LUD-VAE's VQ-VAE-2 needs 8), and the output is cropped back.</summary>
    public const int Multiple = 8;

    private static Image Whole(IDegradationVae model, Image clean, Device device, DegradeOptions o)
    {
        int w = clean.Width, h = clean.Height;
        int pw = (w + Multiple - 1) / Multiple * Multiple, ph = (h + Multiple - 1) / Multiple * Multiple;
        var input = pw == w && ph == h ? clean : PadEdge(clean, pw, ph);
        Image y;
        using (var scope = TensorScope.Begin())
        using (GradMode.NoGrad())
            y = Image.FromTensor(model.Degrade(input.ToTensor(device).Unsqueeze(0), o).To(Device.Cpu));
        return pw == w && ph == h ? y : ImageGrid.Crop(y, 0, 0, w, h);
    }

    private static Image PadEdge(Image img, int pw, int ph)
    {
        var d = new float[3 * pw * ph];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < ph; y++)
                for (int x = 0; x < pw; x++)
                    d[(c * ph + y) * pw + x] = img.Data[(c * img.Height + Math.Min(y, img.Height - 1)) * img.Width + Math.Min(x, img.Width - 1)];
        return new Image(pw, ph, d);
    }
}
