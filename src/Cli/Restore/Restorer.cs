// The downstream restorers that judge synthetic training data (BENCHMARK.md step 5): their
// architecture settings by preset, training on paired folders with the guarded trainer, and
// evaluation (PSNR/SSIM on the 8-bit grid) on paired folders. Shared by `engine restore` and
// `engine bench quality`.
using System.Globalization;
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Cli.Demo;
using Engine.Cli.Training;
using Engine.Imaging;
using Engine.Imaging.Data;
using Engine.Models.Checkpoint;
using Engine.Models.Nn;
using Engine.Models.Restoration;
using Engine.Models.Training;
using Spectre.Console;

namespace Engine.Cli.Restore;

/// <summary>What network restores and how it trains. Arch: "dncnn" (denoising, scale 1), "rrdb"
/// (super-resolution x Scale), "tiny" (the demo's small residual conv net).</summary>
internal sealed record RestorerSpec
{
    public string Arch { get; init; } = "dncnn";
    public int Features { get; init; } = 64;
    public int Depth { get; init; } = 17;
    public int Blocks { get; init; } = 23;
    public int Growth { get; init; } = 32;
    public int Scale { get; init; } = 1;
    public int Steps { get; init; } = 1000;
    public int Batch { get; init; } = 16;
    public int Crop { get; init; } = 64;
    public double Lr { get; init; } = 1e-3;
    /// <summary>"l2" (DnCNN's MSE) or "l1" (ESRGAN's PSNR-oriented pre-training).</summary>
    public string Loss { get; init; } = "l2";

    public static readonly string[] Archs = ["dncnn", "rrdb", "tiny"];

    /// <summary>Presets: tiny (CI smoke), small (CPU minutes), paper (the papers' sizes; GPU).</summary>
    public static RestorerSpec Preset(string arch, string preset, int scale) => (arch, preset) switch
    {
        ("dncnn", "tiny") => new() { Arch = "dncnn", Features = 16, Depth = 5, Steps = 120, Batch = 8, Crop = 40, Lr = 2e-3 },
        ("dncnn", "small") => new() { Arch = "dncnn", Features = 32, Depth = 8, Steps = 1500, Batch = 8, Crop = 48, Lr = 1e-3 },
        ("dncnn", "paper") => new() { Arch = "dncnn", Features = 64, Depth = 17, Steps = 100_000, Batch = 128, Crop = 40, Lr = 1e-3 },
        ("rrdb", "tiny") => new() { Arch = "rrdb", Features = 16, Growth = 8, Blocks = 1, Scale = scale, Steps = 120, Batch = 4, Crop = 64, Lr = 2e-4, Loss = "l1" },
        ("rrdb", "small") => new() { Arch = "rrdb", Features = 32, Growth = 16, Blocks = 3, Scale = scale, Steps = 1500, Batch = 8, Crop = 96, Lr = 2e-4, Loss = "l1" },
        ("rrdb", "paper") => new() { Arch = "rrdb", Features = 64, Growth = 32, Blocks = 23, Scale = scale, Steps = 400_000, Batch = 16, Crop = 128, Lr = 2e-4, Loss = "l1" },
        ("tiny", _) => new() { Arch = "tiny", Features = 32, Depth = 5, Steps = preset == "tiny" ? 120 : 800, Batch = 8, Crop = 48, Lr = 2e-3 },
        _ => throw new ArgumentException($"unknown restorer '{arch}' / preset '{preset}' (archs: {string.Join(", ", Archs)}; presets: tiny, small, paper)"),
    };

    public Layer Build(ParamInit init) => Arch switch
    {
        "tiny" => new TinyDenoiser(init, Features, Depth),
        _ => RestorerFactory.Build(this, init),
    };

    public JsonObject ToJson() => new()
    {
        ["arch"] = Arch, ["features"] = Features, ["depth"] = Depth, ["blocks"] = Blocks, ["growth"] = Growth, ["scale"] = Scale,
        ["steps"] = Steps, ["batch"] = Batch, ["crop"] = Crop, ["lr"] = Lr, ["loss"] = Loss,
    };

    public static RestorerSpec FromJson(JsonNode j) => new()
    {
        Arch = (string)j["arch"]!, Features = (int)j["features"]!, Depth = (int)j["depth"]!, Blocks = (int)j["blocks"]!,
        Growth = (int)j["growth"]!, Scale = (int)j["scale"]!, Steps = (int)j["steps"]!, Batch = (int)j["batch"]!,
        Crop = (int)j["crop"]!, Lr = (double)j["lr"]!, Loss = (string)j["loss"]!,
    };
}

/// <summary>Trains a restorer on (clean, degraded) pairs: degraded crops in, clean crops out.</summary>
internal sealed class RestoreTask : ITrainTask, IDisposable
{
    private readonly Layer _net;
    private readonly RestorerSpec _spec;
    private readonly PairedSampler _sampler;
    private Prefetcher<PairedBatch>? _prefetch;
    private readonly PairedDataset? _val;
    private readonly Device _device;

    public Module Model => _net;
    public Layer Net => _net;

    public RestoreTask(RestorerSpec spec, PairedDataset train, PairedDataset? val, ulong seed, Device device)
    {
        _spec = spec; _val = val; _device = device;
        if (train.Scale != spec.Scale)
            throw new ArgumentException($"restore: the pairs are x{train.Scale} (clean {train.Clean.Root}, degraded {train.Degraded.Root}) but the restorer is x{spec.Scale}");
        _net = spec.Build(new ParamInit(seed, DType.F32, device));
        _sampler = new PairedSampler(train, new SamplerOptions { BatchSize = spec.Batch, CropSize = spec.Crop, Seed = seed, SmallImages = SmallImagePolicy.Pad });
    }

    public StepOutput Loss(long step)
    {
        _prefetch ??= new Prefetcher<PairedBatch>(_sampler, start: step, depth: 4, workers: Math.Max(1, Environment.ProcessorCount / 2));
        if (_prefetch.NextIndex != step) throw new InvalidOperationException($"restore: batch {_prefetch.NextIndex} is next but the trainer asked for {step}");
        var b = _prefetch.Next();
        var clean = new Var(b.CleanTensor(_device));
        var degraded = new Var(b.DegradedTensor(_device));
        var diff = _net.Forward(degraded) - clean;
        var loss = _spec.Loss == "l1" ? F.Mean(F.Abs(diff)) : F.Mean(F.Square(diff));
        return new StepOutput(loss, new Dictionary<string, double>());
    }

    public IReadOnlyDictionary<string, double>? Validate(long step)
    {
        if (_val == null) return null;
        var r = RestoreEval.Evaluate(_net, _val, _device, MetricOptions.Default);
        return new Dictionary<string, double> { ["val_psnr"] = r.MeanPsnr, ["val_ssim"] = r.MeanSsim };
    }

    public void Dispose()
    {
        _prefetch?.Dispose();
        _net.Dispose();
    }
}

internal sealed record ImageScore(string Key, double Psnr, double Ssim);

internal sealed record EvalResult(IReadOnlyList<ImageScore> Images)
{
    public double MeanPsnr => Images.Count == 0 ? double.NaN : Images.Average(i => i.Psnr);
    public double MeanSsim => Images.Count == 0 ? double.NaN : Images.Average(i => i.Ssim);
}

internal static class RestoreEval
{
    /// <summary>Runs the network on a whole image (no grad); the output is clipped only when quantized.</summary>
    public static Image Apply(Layer net, Image input, Device device)
    {
        using var scope = TensorScope.Begin();
        using var ng = GradMode.NoGrad();
        var x = new Var(input.ToTensor(device).Unsqueeze(0));
        return Image.FromTensor(net.Forward(x).Data.To(Device.Cpu));
    }

    /// <summary>PSNR/SSIM of the restored degraded images against the clean ones, per pair.</summary>
    public static EvalResult Evaluate(Layer net, PairedDataset pairs, Device device, MetricOptions metric, Action<string, Image>? onRestored = null)
    {
        bool wasTraining = net.IsTraining;
        net.Eval();
        try
        {
            var scores = new List<ImageScore>();
            for (int i = 0; i < pairs.Count; i++)
            {
                var p = pairs.Get(i);
                var restored = Apply(net, p.Degraded.Image, device);
                var clean = p.Clean.Image;
                if (restored.Width != clean.Width || restored.Height != clean.Height)
                    throw new ShapeMismatchException("restore eval", $"'{p.Key}': restored {restored.Width}x{restored.Height}, clean {clean.Width}x{clean.Height}");
                var (a, b) = (Image8.FromImage(clean), Image8.FromImage(restored));
                scores.Add(new ImageScore(p.Key, Metrics.Psnr(a, b, metric), Metrics.Ssim(a, b, metric)));
                onRestored?.Invoke(p.Key, restored);
            }
            return new EvalResult(scores);
        }
        finally { net.Train(wasTraining); }
    }
}

/// <summary>Training and loading restorers in run folders (restorer.json + checkpoints/).</summary>
internal static class RestoreRun
{
    public const string SpecFile = "restorer.json";

    public static (RestoreTask Task, TrainingSummary Summary) Train(RestorerSpec spec, PairedDataset train, PairedDataset? val, string runDir,
        ulong seed, Device device, IAnsiConsole con, string title, CancellationToken cancel = default, int validateEvery = 0)
    {
        Directory.CreateDirectory(runDir);
        var task = new RestoreTask(spec, train, val, seed, device);
        using var opt = new Adam(task.Model.NamedParameters(), spec.Lr);
        var options = new TrainerOptions
        {
            Steps = spec.Steps,
            ValidateEvery = val != null ? (validateEvery > 0 ? validateEvery : Math.Max(1, spec.Steps / 5)) : 0,
            CheckpointEvery = Math.Max(1, spec.Steps / 4),
            Schedule = new MultiStepLr(spec.Lr, [spec.Steps / 2, spec.Steps * 3 / 4], 0.5),
            SkipGradNorm = 1e4,
        };
        var trainer = new Trainer(task, opt, options, runDir);
        trainer.Memory = DeviceMemory.Probe(device);
        trainer.TryResume();
        var spec_ = spec.ToJson();
        File.WriteAllText(Path.Combine(runDir, SpecFile), spec_.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        trainer.WriteConfig(new JsonObject
        {
            ["command"] = "restore train", ["restorer"] = spec.ToJson(), ["seed"] = seed, ["device"] = device.ToString(),
            ["clean"] = train.Clean.Root, ["degraded"] = train.Degraded.Root, ["pairs"] = train.Count,
        });
        var display = new TrainingDisplay(con, title);
        trainer.Observe(display).Observe(new LossPlots(runDir));
        var summary = display.Show(() => trainer.Run(cancel));
        return (task, summary);
    }

    /// <summary>Loads a trained restorer from a run folder (its restorer.json and checkpoint).</summary>
    public static (Layer Net, RestorerSpec Spec) Load(string runDir, Device device)
    {
        string specPath = Path.Combine(runDir, SpecFile), model = Path.Combine(runDir, Trainer.CheckpointDir, "model.safetensors");
        if (!File.Exists(specPath) || !File.Exists(model))
            throw new ArgumentException($"'{runDir}' is not a restorer run folder (needs {SpecFile} and {Trainer.CheckpointDir}/model.safetensors; train one with `engine restore train`)");
        var spec = RestorerSpec.FromJson(System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(specPath))!);
        var net = spec.Build(new ParamInit(0, DType.F32, device));
        using (TensorScope.Begin()) net.LoadStateDict(SafeTensors.Load(model, device).Tensors);
        net.Eval();
        return (net, spec);
    }

    public static string F2(double v) => double.IsPositiveInfinity(v) ? "inf" : v.ToString("F2", CultureInfo.InvariantCulture);
}

/// <summary>Builds the benchmark architectures from Engine.Models.Restoration: DnCNN in KAIR's layout
/// (every conv biased, BN, orthogonal init; as NeCA trains its denoisers) and BasicSR's RRDBNet.</summary>
internal static class RestorerFactory
{
    public static Layer Build(RestorerSpec s, ParamInit init) => s.Arch switch
    {
        "dncnn" => new DnCnn(init, DnCnnConfig.Kair(3, s.Depth) with { Features = s.Features }),
        "rrdb" => new RrdbNet(init, new RrdbNetConfig(3, 3, s.Features, s.Growth, s.Blocks, s.Scale)),
        _ => throw new ArgumentException($"unknown restorer architecture '{s.Arch}' (dncnn, rrdb, tiny)"),
    };
}
