// The guarded trainer on a tiny regression task: the loss falls and the run folder is complete;
// resuming from a checkpoint reproduces an uninterrupted run bit for bit; non-finite losses and
// large gradient norms skip the update and are counted; an exception or a cancellation keeps the
// state of the last completed step; a diverging run stops with a clear error.
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Models.Checkpoint;
using Engine.Models.Nn;
using Engine.Models.Training;
using Engine.Tests.Imaging;
using Xunit;

namespace Engine.Tests.Training;

public sealed class TrainerTests
{
    /// <summary>Fit y = 2 x0 - x1 + 0.5 with a Linear(2, 1); batch k is drawn from Philox(seed, k).</summary>
    private sealed class Regression : ITrainTask, IDisposable
    {
        private readonly Linear _lin;
        private readonly ulong _seed;
        public Func<long, double>? LossScale { get; init; }
        public long ThrowAt { get; init; } = -1;
        public Module Model => _lin;
        public Regression(ulong seed = 1) { _seed = seed; _lin = new Linear(new ParamInit(seed), 2, 1); }

        public StepOutput Loss(long step)
        {
            if (step == ThrowAt) throw new InvalidOperationException("boom");
            var x = Tensor.Uniform([16, 2], _seed + 100, (ulong)step * 16, -1, 1);
            var xs = x.ToFloatArray();
            var y = new float[16];
            for (int i = 0; i < 16; i++) y[i] = 2 * xs[2 * i] - xs[2 * i + 1] + 0.5f;
            var err = _lin.Forward(new Var(x)) - new Var(Tensor.FromArray(y, [16, 1]));
            var loss = F.Mean(F.Square(err));
            double s = LossScale?.Invoke(step) ?? 1;
            if (s != 1) loss = loss * s;
            return new StepOutput(loss, new Dictionary<string, double> { ["mse"] = loss.Data.Item() });
        }

        public IReadOnlyDictionary<string, double>? Validate(long step) => new Dictionary<string, double> { ["bias"] = _lin.Bias!.Data.Item() };

        public float[] Weights() => [.. _lin.Weight.Data.ToFloatArray(), .. _lin.Bias!.Data.ToFloatArray()];
        public void Dispose() => _lin.Dispose();
    }

    private static (Trainer, Adam) Make(Regression task, string dir, TrainerOptions o)
    {
        var opt = new Adam(task.Model.NamedParameters(), lr: 0.05);
        return (new Trainer(task, opt, o, dir), opt);
    }

    private sealed class Recorder(Action<StepRecord>? onStep = null) : ITrainingObserver
    {
        public List<StepRecord> Steps { get; } = [];
        public TrainingSummary? End { get; private set; }
        public void OnStep(StepRecord r) { Steps.Add(r); onStep?.Invoke(r); }
        public void OnEnd(TrainingSummary s) => End = s;
    }

    [Fact]
    public void Loss_falls_and_the_run_folder_is_complete()
    {
        using var dir = new TempDir();
        using var task = new Regression();
        var (tr, opt) = Make(task, dir.Path, new TrainerOptions { Steps = 120, ValidateEvery = 50, CheckpointEvery = 40 });
        using var _ = opt;
        var rec = new Recorder();
        tr.Observe(rec).WriteConfig(new JsonObject { ["model"] = "regression" });
        var s = tr.Run(TestContext.Current.CancellationToken);
        Assert.Equal("completed", s.StopReason);
        Assert.Equal(120, s.LastStep);
        Assert.True(rec.Steps[^1].Loss < 0.01 * rec.Steps[0].Loss, $"{rec.Steps[0].Loss} -> {rec.Steps[^1].Loss}");
        var csv = File.ReadAllLines(dir.File(Trainer.MetricsCsv));
        Assert.Equal("step,loss,mse,grad_norm,skipped,lr,seconds,memory_bytes", csv[0]);
        Assert.Equal(121, csv.Length);
        var val = File.ReadAllLines(dir.File(Trainer.ValidationCsv));
        Assert.Equal(["step,bias", "50", "100", "120"], val.Select(l => l.Split(',')[0] == "step" ? l : l.Split(',')[0]));
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "checkpoints", "state.json")))!;
        Assert.Equal(120, (long)state["step"]!);
        var (w, meta) = SafeTensors.Load(Path.Combine(dir.Path, "checkpoints", "model.safetensors"));
        Assert.Equal(task.Weights()[..2], w["weight"].ToFloatArray());
        Assert.Equal("120", meta["step"]);
        var cfg = JsonNode.Parse(File.ReadAllText(dir.File("config.json")))!;
        Assert.Equal("regression", (string)cfg["model"]!);
        Assert.Equal(120, (long)cfg["trainer"]!["steps"]!);
        var summary = JsonNode.Parse(File.ReadAllText(dir.File("summary.json")))!;
        Assert.Equal("completed", (string)summary["stop_reason"]!);
        Assert.True((long)summary["peak_memory_bytes"]! > 0);
    }

    [Fact]
    public void Resume_reproduces_an_uninterrupted_run_exactly()
    {
        using var straightDir = new TempDir();
        using var straight = new Regression();
        var (t1, o1) = Make(straight, straightDir.Path, new TrainerOptions { Steps = 30, CheckpointEvery = 0, Schedule = new CosineLr(0.05, 30) });
        t1.Run(TestContext.Current.CancellationToken); o1.Dispose();

        using var dir = new TempDir();
        using (var first = new Regression())
        {
            var (t2, o2) = Make(first, dir.Path, new TrainerOptions { Steps = 30, CheckpointEvery = 0, Schedule = new CosineLr(0.05, 30) });
            using var cts = new CancellationTokenSource();
            t2.Observe(new Recorder(r => { if (r.Step == 11) cts.Cancel(); }));
            var s = t2.Run(cts.Token);
            Assert.Equal("cancelled", s.StopReason);
            Assert.Equal(12, s.LastStep);
            o2.Dispose();
        }
        using var resumed = new Regression(seed: 1);
        var (t3, o3) = Make(resumed, dir.Path, new TrainerOptions { Steps = 30, CheckpointEvery = 0, Schedule = new CosineLr(0.05, 30) });
        Assert.True(t3.TryResume());
        Assert.Equal(12, t3.Step);
        t3.Run(TestContext.Current.CancellationToken); o3.Dispose();
        Assert.Equal(straight.Weights(), resumed.Weights());
        Assert.Equal(File.ReadAllLines(straightDir.File(Trainer.MetricsCsv)).Select(l => string.Join(",", l.Split(',')[..4])),
                     File.ReadAllLines(dir.File(Trainer.MetricsCsv)).Select(l => string.Join(",", l.Split(',')[..4])));
    }

    [Fact]
    public void Non_finite_losses_and_large_gradients_skip_the_update_and_are_counted()
    {
        using var dir = new TempDir();
        using var task = new Regression { LossScale = k => k == 3 ? double.NaN : k == 5 ? 1e6 : 1 };
        var (tr, opt) = Make(task, dir.Path, new TrainerOptions { Steps = 8, SkipGradNorm = 1e3, CheckpointEvery = 0 });
        using var _ = opt;
        float[]? before = null;
        var rec = new Recorder(r => { if (r.Step == 2 || r.Step == 4) before = task.Weights(); if (r.Step is 3 or 5) Assert.Equal(before, task.Weights()); });
        var s = tr.Observe(rec).Run(TestContext.Current.CancellationToken);
        Assert.Equal(2, s.Skipped);
        Assert.Equal([false, false, false, true, false, true, false, false], rec.Steps.Select(r => r.Skipped));
        Assert.StartsWith("loss NaN", rec.Steps[3].SkipReason);
        Assert.Contains("> 1000", rec.Steps[5].SkipReason);
        Assert.Equal(6, opt.StepCount);
        Assert.Equal("1", File.ReadAllLines(dir.File(Trainer.MetricsCsv))[4].Split(',')[4]);
    }

    [Fact]
    public void An_exception_keeps_the_last_completed_step()
    {
        using var dir = new TempDir();
        using var task = new Regression { ThrowAt = 6 };
        var (tr, opt) = Make(task, dir.Path, new TrainerOptions { Steps = 20, CheckpointEvery = 4 });
        using var _ = opt;
        var e = Assert.Throws<TrainingFailedException>(() => tr.Run(TestContext.Current.CancellationToken));
        Assert.Contains("boom", e.Message);
        Assert.Contains("step 6", e.Message);
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "checkpoints", "state.json")))!;
        Assert.Equal(6, (long)state["step"]!);
        var (w, _) = SafeTensors.Load(Path.Combine(dir.Path, "checkpoints", "model.safetensors"));
        Assert.Equal(task.Weights()[..2], w["weight"].ToFloatArray());
        Assert.StartsWith("failed at step 6", (string)JsonNode.Parse(File.ReadAllText(dir.File("summary.json")))!["stop_reason"]!);
    }

    [Fact]
    public void A_diverging_run_stops_with_a_clear_error()
    {
        using var dir = new TempDir();
        using var task = new Regression { LossScale = k => k >= 2 ? double.PositiveInfinity : 1 };
        var (tr, opt) = Make(task, dir.Path, new TrainerOptions { Steps = 50, MaxConsecutiveSkips = 5, CheckpointEvery = 0 });
        using var _ = opt;
        var e = Assert.Throws<TrainingFailedException>(() => tr.Run(TestContext.Current.CancellationToken));
        Assert.Contains("5 consecutive steps skipped", e.Message);
        Assert.Equal(2, opt.StepCount);
    }

    [Fact]
    public void Bad_options_are_typed_errors()
    {
        using var dir = new TempDir();
        using var task = new Regression();
        using var opt = new Adam(task.Model.NamedParameters());
        Assert.Throws<InvalidArgumentException>(() => new Trainer(task, opt, new TrainerOptions { Steps = 0 }, dir.Path));
        Assert.Throws<InvalidArgumentException>(() => new Trainer(task, opt, new TrainerOptions { SkipGradNorm = -1 }, dir.Path));
    }
}
