// `engine demo`: the whole workflow in a minute or two on a CPU, on the bundled photos. Six photos
// are degraded with a synthetic pipeline (camera noise by default), a small residual conv denoiser
// trains on random crops of the (clean, degraded) pairs with the guarded trainer, and the seventh
// photo, never seen in training, measures it. The run folder gets everything a real run has:
// settings, data, metrics CSVs, loss curves, sample grids, checkpoints and a report.md.
using System.Globalization;
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Cli.Training;
using Engine.Imaging;
using Engine.Imaging.Data;
using Engine.Imaging.Degradation;
using Engine.Models.Nn;
using Engine.Models.Training;
using Spectre.Console;

namespace Engine.Cli.Demo;

internal sealed record DemoOptions
{
    public int Steps { get; init; } = 800;
    public int Batch { get; init; } = 8;
    public int Crop { get; init; } = 64;
    public int Width { get; init; } = 32;
    public int Depth { get; init; } = 5;
    public double Lr { get; init; } = 2e-3;
    public string Degradation { get; init; } = "camera";
    public int Seed { get; init; } = 1;
    public Device Device { get; init; } = Device.Cpu;
    public string? Out { get; init; }
    public int ValidateEvery { get; init; } = 50;
    public int CheckpointEvery { get; init; } = 100;

    public JsonObject ToJson() => new()
    {
        ["steps"] = Steps, ["batch"] = Batch, ["crop"] = Crop, ["width"] = Width, ["depth"] = Depth, ["lr"] = Lr,
        ["degradation"] = Degradation, ["seed"] = Seed, ["device"] = Device.ToString(),
        ["validate_every"] = ValidateEvery, ["checkpoint_every"] = CheckpointEvery,
    };
}

/// <summary>x - f(x): conv(3->w)+ReLU, (depth-2) x conv(w->w)+ReLU, conv(w->3); the last conv starts at zero so the net starts as the identity.</summary>
internal sealed class TinyDenoiser : Layer
{
    private readonly Sequential _body;

    public TinyDenoiser(ParamInit init, int width, int depth)
    {
        if (depth < 2) throw new InvalidArgumentException("TinyDenoiser", $"depth must be >= 2, got {depth}");
        _body = Child("body", new Sequential());
        _body.Add(new Conv2d(init, 3, width, 3, spec: InitSpec.Kaiming(), fused: Activation.Relu));
        for (int i = 0; i < depth - 2; i++) _body.Add(new Conv2d(init, width, width, 3, spec: InitSpec.Kaiming(), fused: Activation.Relu));
        _body.Add(new Conv2d(init, width, 3, 3, spec: InitSpec.Zeros));
    }

    public override Var Forward(Var x) => x - _body.Forward(x);
}

internal sealed class DemoTask : ITrainTask, IDisposable
{
    private readonly TinyDenoiser _net;
    private readonly PairedSampler _sampler;
    private Prefetcher<PairedBatch>? _prefetch;
    private readonly Image _testClean, _testDegraded;
    private readonly Device _device;

    public Module Model => _net;
    public double LastPsnr { get; private set; } = double.NaN;
    public double InputPsnr { get; }
    public PrefetchStats? Stats => _prefetch?.Stats;

    public DemoTask(DemoOptions o, PairedDataset train, Image testClean, Image testDegraded)
    {
        _device = o.Device;
        _net = new TinyDenoiser(new ParamInit((ulong)o.Seed, DType.F32, o.Device), o.Width, o.Depth);
        _sampler = new PairedSampler(train, new SamplerOptions { BatchSize = o.Batch, CropSize = o.Crop, Seed = (ulong)o.Seed });
        _testClean = testClean; _testDegraded = testDegraded;
        InputPsnr = Psnr(testDegraded);
    }

    public StepOutput Loss(long step)
    {
        // Batches come from a background prefetcher started at the first step asked for (0, or
        // the step a resumed run continues from); batch k is a function of (seed, k) only.
        _prefetch ??= new Prefetcher<PairedBatch>(_sampler, start: step, depth: 4, workers: 1);
        if (_prefetch.NextIndex != step)
            throw new InvalidOperationException($"demo: batch {_prefetch.NextIndex} is next but the trainer asked for {step}");
        var b = _prefetch.Next();
        var clean = new Var(b.CleanTensor(_device));
        var degraded = new Var(b.DegradedTensor(_device));
        var loss = F.Mean(F.Square(_net.Forward(degraded) - clean));
        return new StepOutput(loss, new Dictionary<string, double>());
    }

    public Image Restore(Image img)
    {
        using var scope = TensorScope.Begin();
        using var ng = GradMode.NoGrad();
        var x = new Var(img.ToTensor(_device).Unsqueeze(0));
        return Image.FromTensor(_net.Forward(x).Data.To(Device.Cpu));
    }

    private double Psnr(Image img) => Metrics.Psnr(Image8.FromImage(_testClean), Image8.FromImage(img));

    public IReadOnlyDictionary<string, double>? Validate(long step)
    {
        LastPsnr = Psnr(Restore(_testDegraded));
        return new Dictionary<string, double> { ["test_psnr"] = LastPsnr, ["test_psnr_gain"] = LastPsnr - InputPsnr };
    }

    public void Report(string runDir, long step)
    {
        var row = new List<Image?> { _testClean, _testDegraded, Restore(_testDegraded) };
        var crop = ImageGrid.CenterCropRow(row, Math.Min(96, Math.Min(_testClean.Width, _testClean.Height)));
        Directory.CreateDirectory(Path.Combine(runDir, "samples"));
        ImageGrid.SavePng(Path.Combine(runDir, "samples", $"step-{step:D6}.png"), [crop],
            new ImageGridOptions { ColumnTitles = ["clean", "degraded", $"restored @{step}"], Zoom = 2 });
    }

    public void Dispose()
    {
        _prefetch?.Dispose();
        _net.Dispose();
    }
}

internal static class DemoRun
{
    public const int TrainImages = 6;

    public static int Run(DemoOptions o, IAnsiConsole con)
    {
        string run = o.Out ?? Path.Combine("runs", "demo-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        Directory.CreateDirectory(run);
        con.MarkupLine($"[bold]demo[/]: a {o.Depth}-layer, {o.Width}-channel residual denoiser on the bundled photos degraded by '{Markup.Escape(o.Degradation)}'");
        var settings = new Table().AddColumn("setting").AddColumn("value");
        foreach (var (k, v) in o.ToJson()) settings.AddRow(k, Markup.Escape(v?.ToString() ?? ""));
        settings.AddRow("run folder", Markup.Escape(Path.GetFullPath(run)));
        con.Write(settings);

        // Data: six photos to train on, the seventh to test, each degraded once by the pipeline.
        var samples = SampleData.Files;
        if (samples.Count <= TrainImages) throw new ImageIOException(SampleData.Path, $"the demo needs {TrainImages + 1} bundled photos, found {samples.Count}");
        string data = Path.Combine(run, "data");
        string trainClean = Path.Combine(data, "train", "clean"), trainDeg = Path.Combine(data, "train", "degraded");
        string testClean = Path.Combine(data, "test", "clean"), testDeg = Path.Combine(data, "test", "degraded");
        foreach (var d in new[] { trainClean, testClean }) Directory.CreateDirectory(d);
        for (int i = 0; i <= TrainImages; i++)
            File.Copy(samples[i], Path.Combine(i < TrainImages ? trainClean : testClean, Path.GetFileName(samples[i])), overwrite: true);
        var degradation = Degradations.Create(o.Degradation);
        SynthFolder.Run(trainClean, trainDeg, degradation, (ulong)o.Seed);
        SynthFolder.Run(testClean, testDeg, degradation, (ulong)o.Seed);
        var train = new PairedDataset(trainClean, trainDeg, 1, new ImageDatasetOptions { Cache = true });
        var testC = ImageIO.Read(ImageFolder.List(testClean)[0]);
        var testD = ImageIO.Read(ImageFolder.List(testDeg)[0]);

        var options = new TrainerOptions
        {
            Steps = o.Steps, ValidateEvery = o.ValidateEvery, CheckpointEvery = o.CheckpointEvery,
            Schedule = new CosineLr(o.Lr, o.Steps, o.Lr * 0.05, WarmupSteps: Math.Min(20, o.Steps / 10)),
            SkipGradNorm = 1e3,
        };
        using var task = new DemoTask(o, train, testC, testD);
        using var opt = new Adam(task.Model.NamedParameters(), o.Lr);
        var trainer = new Trainer(task, opt, options, run);
        trainer.Memory = DeviceMemory.Probe(o.Device);
        if (trainer.TryResume()) con.MarkupLine($"[yellow]resuming[/] from the checkpoint in {Markup.Escape(run)} at step {trainer.Step}");
        var config = o.ToJson();
        config["command"] = "demo";
        config["degradation_parameters"] = new JsonObject(degradation.Parameters.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        trainer.WriteConfig(config);
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        var display = new TrainingDisplay(con, "demo");
        trainer.Observe(display).Observe(new LossPlots(run));
        TrainingSummary summary;
        try { summary = display.Show(() => trainer.Run(cts.Token)); }
        finally { Console.CancelKeyPress -= onCancel; }

        double gain = task.LastPsnr - task.InputPsnr;
        WriteReport(run, o, summary, task, degradation);
        con.MarkupLine($"held-out photo: degraded {task.InputPsnr:F2} dB -> restored {task.LastPsnr:F2} dB ([{(gain > 0 ? "green" : "red")}]{gain:+0.00;-0.00} dB[/])");
        con.MarkupLine($"{summary.LastStep - summary.FirstStep} steps in {summary.Seconds:F1} s ({summary.StepsPerSecond:F1} it/s), {summary.Skipped} skipped, peak memory {TrainingDisplay.Bytes(summary.PeakMemoryBytes)}; data {(task.Stats?.CropsPerSecond ?? 0):F0} crops/s");
        con.MarkupLine($"report: [link]{Markup.Escape(Path.GetFullPath(Path.Combine(run, "report.md")))}[/]");
        if (summary.StopReason == "cancelled") { con.MarkupLine("[yellow]stopped by Ctrl-C; the checkpoint holds the last completed step[/]"); return 130; }
        return gain > 0 ? 0 : 1;
    }

    private static void WriteReport(string run, DemoOptions o, TrainingSummary s, DemoTask task, Degradation d)
    {
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            "# engine demo",
            "",
            $"A {o.Depth}-layer, {o.Width}-channel residual conv denoiser trained for {s.LastStep} steps on random {o.Crop}x{o.Crop} crops of {TrainImages} bundled photos degraded by the `{d.Name}` pipeline ({d.Description}), then tested on a seventh photo it never saw.",
            "",
            "| measure | value |",
            "|---|---|",
            $"| test PSNR, degraded input | {task.InputPsnr.ToString("F2", inv)} dB |",
            $"| test PSNR, restored | {task.LastPsnr.ToString("F2", inv)} dB |",
            $"| gain | {(task.LastPsnr - task.InputPsnr).ToString("+0.00;-0.00", inv)} dB |",
            $"| steps (skipped) | {s.LastStep - s.FirstStep} ({s.Skipped}) |",
            $"| time | {s.Seconds.ToString("F1", inv)} s, {s.StepsPerSecond.ToString("F2", inv)} it/s |",
            $"| peak memory | {TrainingDisplay.Bytes(s.PeakMemoryBytes)} |",
            $"| parameters | {task.Model.ParameterCount()} |",
            $"| device | {o.Device} |",
            $"| stop | {s.StopReason} |",
            "",
            "![loss](plots/loss.png)",
            "",
            "![validation](plots/validation.png)",
            "",
            $"![samples](samples/step-{s.LastStep:D6}.png)",
            "",
            "Files: `config.json` (every setting), `metrics.csv` (one row per step), `validation.csv`, `checkpoints/` (safetensors + state.json; rerunning with the same --out resumes), `data/` (the pairs used), `samples/`, `plots/`.",
        };
        File.WriteAllLines(Path.Combine(run, "report.md"), lines);
    }
}
