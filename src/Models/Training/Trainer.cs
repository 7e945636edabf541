// The guarded training loop shared by every model. A task (ITrainTask) builds the loss of step k
// as a pure function of (its seed, k) - data batches and sampling noise included - so a run
// resumed from a checkpoint at step k continues exactly as if it had never stopped. The trainer:
// - skips an update whose loss is not finite or whose gradient norm is not finite or above
//   SkipGradNorm, and counts the skips (a run that skips too many in a row stops with a clear error);
// - optionally clips by global norm, sets the learning rate from the schedule, updates a weight EMA;
// - validates every ValidateEvery steps, checkpoints every CheckpointEvery steps, and on an
//   exception or a cancellation (Ctrl-C) writes the state of the last completed step before
//   returning or rethrowing, so nothing is lost;
// - appends one CSV row per step (metrics.csv) and per validation (validation.csv);
// - reports progress to observers (the CLI draws it; plots are written by an observer too).
// Run folder: config.json, metrics.csv, validation.csv, checkpoints/{model,ema,optimizer}.safetensors
// + checkpoints/state.json, summary.json (and whatever observers add: plots/, samples/).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Models.Checkpoint;
using Engine.Models.Nn;

namespace Engine.Models.Training;

/// <summary>The loss of one step and the scalars to log beside it (e.g. the loss terms).</summary>
public sealed record StepOutput(Var Loss, IReadOnlyDictionary<string, double> Logs);

public interface ITrainTask
{
    /// <summary>The weights that are trained and checkpointed.</summary>
    Module Model { get; }

    /// <summary>Builds the loss of step k (0-based) inside the trainer's TensorScope; batches and
    /// noise must be a function of the task's seed and k only.</summary>
    StepOutput Loss(long step);

    /// <summary>Validation metrics at a step (evaluation mode is set around the call), or null for none.</summary>
    IReadOnlyDictionary<string, double>? Validate(long step) => null;

    /// <summary>Called after each checkpoint and at the end, e.g. to write sample grids into runDir.</summary>
    void Report(string runDir, long step) { }
}

public sealed record TrainerOptions
{
    public long Steps { get; init; } = 1000;
    public int ValidateEvery { get; init; }
    public int CheckpointEvery { get; init; } = 500;
    /// <summary>Skip the update when the gradient norm exceeds this (0: only non-finite norms skip).</summary>
    public double SkipGradNorm { get; init; }
    /// <summary>Clip gradients to this global norm before the update (0: no clipping).</summary>
    public double ClipGradNorm { get; init; }
    /// <summary>Weight EMA decay (0: no EMA).</summary>
    public double EmaDecay { get; init; }
    /// <summary>Stop with an error after this many consecutive skipped steps (the run is diverging).</summary>
    public int MaxConsecutiveSkips { get; init; } = 100;
    public ILrSchedule? Schedule { get; init; }

    public JsonObject ToJson() => new()
    {
        ["steps"] = Steps, ["validate_every"] = ValidateEvery, ["checkpoint_every"] = CheckpointEvery,
        ["skip_grad_norm"] = SkipGradNorm, ["clip_grad_norm"] = ClipGradNorm, ["ema_decay"] = EmaDecay,
        ["max_consecutive_skips"] = MaxConsecutiveSkips, ["schedule"] = Schedule?.Describe(),
    };
}

/// <summary>What the trainer tells its observers.</summary>
public interface ITrainingObserver
{
    void OnStart(long firstStep, long steps) { }
    void OnStep(StepRecord record) { }
    void OnValidation(long step, IReadOnlyDictionary<string, double> metrics) { }
    void OnCheckpoint(long step, string dir) { }
    void OnEnd(TrainingSummary summary) { }
}

public sealed record StepRecord(long Step, double Loss, IReadOnlyDictionary<string, double> Logs, double GradNorm, bool Skipped,
                                string? SkipReason, double LearningRate, double Seconds, long MemoryBytes);

public sealed record TrainingSummary(long FirstStep, long LastStep, long Skipped, double Seconds, double StepsPerSecond,
                                     long PeakMemoryBytes, string StopReason, IReadOnlyDictionary<string, double> LastLogs);

/// <summary>The run stopped because the task or the numbers went wrong; the last good state is saved.</summary>
public sealed class TrainingFailedException(string message, Exception? inner = null) : EngineException(message)
{
    public Exception? Cause { get; } = inner;
}

public sealed class Trainer
{
    public const string CheckpointDir = "checkpoints", MetricsCsv = "metrics.csv", ValidationCsv = "validation.csv";

    private readonly ITrainTask _task;
    private readonly Optimizer _opt;
    private readonly TrainerOptions _o;
    private readonly string _runDir;
    private readonly List<ITrainingObserver> _observers = [];
    private WeightEma? _ema;
    private long _skipped;
    private List<string>? _csvColumns;

    /// <summary>Current and peak bytes of the training device (default: the CPU accounting).</summary>
    public Func<(long Current, long Peak)> Memory { get; set; } = () => (CpuMemory.LiveBytes, CpuMemory.PeakBytes);

    /// <summary>The step the next Run starts at (0, or the resumed step).</summary>
    public long Step { get; private set; }

    public Trainer(ITrainTask task, Optimizer optimizer, TrainerOptions options, string runDir)
    {
        _task = task; _opt = optimizer; _o = options; _runDir = runDir;
        if (options.Steps <= 0) throw new InvalidArgumentException("Trainer", $"steps must be positive, got {options.Steps}");
        if (options.ValidateEvery < 0 || options.CheckpointEvery < 0) throw new InvalidArgumentException("Trainer", "validate_every and checkpoint_every must be >= 0");
        if (options.SkipGradNorm < 0 || options.ClipGradNorm < 0) throw new InvalidArgumentException("Trainer", "skip_grad_norm and clip_grad_norm must be >= 0");
        Directory.CreateDirectory(runDir);
        if (options.EmaDecay > 0) _ema = new WeightEma(task.Model, options.EmaDecay);
    }

    public WeightEma? Ema => _ema;

    public Trainer Observe(ITrainingObserver o) { _observers.Add(o); return this; }

    /// <summary>Writes config.json: the caller's settings (preset, model, data, seed, device) plus the trainer's.</summary>
    public void WriteConfig(JsonObject config)
    {
        config["trainer"] = _o.ToJson();
        config["parameters"] = _task.Model.ParameterCount();
        File.WriteAllText(Path.Combine(_runDir, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Loads the checkpoint in the run folder (model, optimizer, EMA, step, skip count) if
    /// there is one; returns whether it resumed.</summary>
    public bool TryResume()
    {
        string dir = Path.Combine(_runDir, CheckpointDir), state = Path.Combine(dir, "state.json");
        if (!File.Exists(state)) return false;
        var s = JsonNode.Parse(File.ReadAllText(state)) ?? throw new CheckpointFormatException(state, "empty state file");
        using (TensorScope.Begin())
        {
            var (model, _) = SafeTensors.Load(Path.Combine(dir, "model.safetensors"));
            _task.Model.LoadStateDict(model);
            var (opt, _) = SafeTensors.Load(Path.Combine(dir, "optimizer.safetensors"));
            _opt.LoadStateDict(opt);
            if (_ema != null && File.Exists(Path.Combine(dir, "ema.safetensors")))
                _ema.LoadStateDict(SafeTensors.Load(Path.Combine(dir, "ema.safetensors")).Tensors);
        }
        Step = (long)(s["step"] ?? throw new CheckpointFormatException(state, "no 'step'"));
        _skipped = (long?)s["skipped"] ?? 0;
        TruncateCsv(Path.Combine(_runDir, MetricsCsv), Step);
        TruncateCsv(Path.Combine(_runDir, ValidationCsv), Step + 1); // its rows are keyed by completed steps
        return true;
    }

    /// <summary>Runs from Step to options.Steps. Cancellation stops after the current step and
    /// saves; an exception saves the last completed step and is rethrown as TrainingFailedException.</summary>
    public TrainingSummary Run(CancellationToken cancel = default)
    {
        long first = Step;
        foreach (var o in _observers) o.OnStart(first, _o.Steps);
        var sw = Stopwatch.StartNew();
        var lastLogs = new Dictionary<string, double>();
        string stop = "completed";
        int consecutiveSkips = 0;
        var model = _task.Model;
        var parameters = model.Parameters();
        try
        {
            while (Step < _o.Steps)
            {
                if (cancel.IsCancellationRequested) { stop = "cancelled"; break; }
                long k = Step;
                double lr = _o.Schedule?.At(k) ?? _opt.LearningRate;
                _opt.LearningRate = lr;
                var t0 = sw.Elapsed.TotalSeconds;
                double loss, norm = double.NaN;
                long stepMemory;
                string? skipReason = null;
                IReadOnlyDictionary<string, double> logs;
                using (var scope = TensorScope.Begin())
                {
                    _opt.ZeroGrad();
                    var output = _task.Loss(k);
                    logs = output.Logs;
                    loss = output.Loss.Data.Item();
                    if (!double.IsFinite(loss)) skipReason = $"loss {loss}";
                    else
                    {
                        output.Loss.Backward();
                        norm = _o.ClipGradNorm > 0 ? GradClip.ClipByGlobalNorm(parameters, _o.ClipGradNorm) : GradClip.GlobalNorm(parameters);
                        if (!double.IsFinite(norm)) skipReason = $"gradient norm {norm}";
                        else if (_o.SkipGradNorm > 0 && norm > _o.SkipGradNorm) skipReason = $"gradient norm {norm:G4} > {_o.SkipGradNorm:G4}";
                    }
                    stepMemory = Memory().Current; // with the step's activations and gradients still alive
                }
                if (skipReason == null)
                {
                    _opt.Step();
                    _ema?.Update();
                    consecutiveSkips = 0;
                }
                else
                {
                    _skipped++;
                    if (++consecutiveSkips >= _o.MaxConsecutiveSkips)
                    {
                        _opt.ZeroGrad();
                        throw new TrainingFailedException($"training diverged: {consecutiveSkips} consecutive steps skipped (last: {skipReason}) at step {k}; the last good checkpoint is kept");
                    }
                }
                _opt.ZeroGrad();
                Step = k + 1;
                var rec = new StepRecord(k, loss, logs, norm, skipReason != null, skipReason, lr, sw.Elapsed.TotalSeconds - t0, stepMemory);
                lastLogs = new Dictionary<string, double>(logs) { ["loss"] = loss };
                AppendMetrics(rec);
                foreach (var o in _observers) o.OnStep(rec);

                if (_o.ValidateEvery > 0 && Step % _o.ValidateEvery == 0) Validate();
                if (_o.CheckpointEvery > 0 && Step % _o.CheckpointEvery == 0 && Step < _o.Steps) SaveCheckpoint();
            }
            if (stop == "completed" && _o.ValidateEvery > 0 && Step % _o.ValidateEvery != 0) Validate();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _opt.ZeroGrad();
            SaveCheckpoint();
            var failed = Summary(first, sw, lastLogs, $"failed at step {Step}: {e.Message}");
            foreach (var o in _observers) o.OnEnd(failed);
            if (e is TrainingFailedException) throw;
            throw new TrainingFailedException($"training failed at step {Step} ({e.GetType().Name}: {e.Message}); the state after step {Step} is saved in {Path.Combine(_runDir, CheckpointDir)}", e);
        }
        SaveCheckpoint();
        var summary = Summary(first, sw, lastLogs, stop);
        foreach (var o in _observers) o.OnEnd(summary);
        return summary;
    }

    private TrainingSummary Summary(long first, Stopwatch sw, Dictionary<string, double> lastLogs, string stop)
    {
        double secs = sw.Elapsed.TotalSeconds;
        var s = new TrainingSummary(first, Step, _skipped, secs, (Step - first) / Math.Max(secs, 1e-9), Memory().Peak, stop, lastLogs);
        var j = new JsonObject
        {
            ["first_step"] = s.FirstStep, ["last_step"] = s.LastStep, ["skipped_steps"] = s.Skipped,
            ["seconds"] = Math.Round(s.Seconds, 3), ["steps_per_second"] = Math.Round(s.StepsPerSecond, 4),
            ["peak_memory_bytes"] = s.PeakMemoryBytes, ["stop_reason"] = s.StopReason,
            ["parameters"] = _task.Model.ParameterCount(),
        };
        var last = new JsonObject();
        foreach (var (k, v) in lastLogs) last[k] = double.IsFinite(v) ? v : null;
        j["last"] = last;
        File.WriteAllText(Path.Combine(_runDir, "summary.json"), j.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return s;
    }

    private void Validate()
    {
        var model = _task.Model;
        model.Eval();
        IReadOnlyDictionary<string, double>? m;
        try
        {
            using var scope = TensorScope.Begin();
            using var ng = GradMode.NoGrad();
            m = _task.Validate(Step);
        }
        finally { model.Train(); }
        if (m == null) return;
        string path = Path.Combine(_runDir, ValidationCsv);
        var keys = m.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (!File.Exists(path)) File.WriteAllText(path, "step," + string.Join(",", keys) + "\n");
        File.AppendAllText(path, Step.ToString(CultureInfo.InvariantCulture) + "," + string.Join(",", keys.Select(k => F(m[k]))) + "\n");
        foreach (var o in _observers) o.OnValidation(Step, m);
    }

    /// <summary>Writes model, optimizer, EMA and state.json for the last completed step. Each file
    /// is replaced atomically and state.json last, so a crash mid-save leaves the previous
    /// checkpoint loadable (state.json names the step the files belong to).</summary>
    public void SaveCheckpoint()
    {
        string dir = Path.Combine(_runDir, CheckpointDir);
        Directory.CreateDirectory(dir);
        var meta = new Dictionary<string, string> { ["step"] = Step.ToString(CultureInfo.InvariantCulture), ["format"] = "engine" };
        SafeTensors.Save(Path.Combine(dir, "model.safetensors"), _task.Model.StateDict(), meta);
        SafeTensors.Save(Path.Combine(dir, "optimizer.safetensors"), _opt.StateDict(), meta);
        if (_ema != null) SafeTensors.Save(Path.Combine(dir, "ema.safetensors"), _ema.StateDict(), meta);
        var state = new JsonObject { ["step"] = Step, ["skipped"] = _skipped, ["optimizer_steps"] = _opt.StepCount, ["learning_rate"] = _opt.LearningRate };
        string tmp = Path.Combine(dir, "state.json.tmp");
        File.WriteAllText(tmp, state.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(tmp, Path.Combine(dir, "state.json"), overwrite: true);
        foreach (var o in _observers) o.OnCheckpoint(Step, dir);
        _task.Report(_runDir, Step);
    }

    private void AppendMetrics(StepRecord r)
    {
        string path = Path.Combine(_runDir, MetricsCsv);
        if (_csvColumns == null)
        {
            _csvColumns = r.Logs.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
            if (!File.Exists(path) || new FileInfo(path).Length == 0)
                File.WriteAllText(path, "step,loss," + string.Join("", _csvColumns.Select(c => c + ",")) + "grad_norm,skipped,lr,seconds,memory_bytes\n");
            else
            {
                var header = File.ReadLines(path).First().Split(',');
                _csvColumns = header.Skip(2).Take(header.Length - 7).ToList();
            }
        }
        var cells = new List<string> { r.Step.ToString(CultureInfo.InvariantCulture), F(r.Loss) };
        cells.AddRange(_csvColumns.Select(c => r.Logs.TryGetValue(c, out var v) ? F(v) : ""));
        cells.AddRange([F(r.GradNorm), r.Skipped ? "1" : "0", F(r.LearningRate), F(r.Seconds), r.MemoryBytes.ToString(CultureInfo.InvariantCulture)]);
        File.AppendAllText(path, string.Join(",", cells) + "\n");
    }

    /// <summary>Drops CSV rows of steps >= step (they belong to a run past the checkpoint being resumed).</summary>
    private static void TruncateCsv(string path, long step)
    {
        if (!File.Exists(path)) return;
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) return;
        var keep = new List<string> { lines[0] };
        foreach (var l in lines.Skip(1))
        {
            int comma = l.IndexOf(',');
            if (comma > 0 && long.TryParse(l[..comma], CultureInfo.InvariantCulture, out long s) && s < step) keep.Add(l);
        }
        File.WriteAllLines(path, keep);
    }

    private static string F(double v) => double.IsFinite(v) ? v.ToString("G9", CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture);
}
