// How a training run looks in the terminal: a Spectre.Console progress bar whose description
// carries the step, the smoothed loss and terms, it/s, memory and skips (ETA from the bar), or,
// when the output is not an interactive terminal (CI logs, files), one plain line every ~5 % of
// the run. Trainer.Run happens inside Show so the bar stays live.
using System.Globalization;
using Engine.Models.Training;
using Spectre.Console;

namespace Engine.Cli.Training;

internal sealed class TrainingDisplay : ITrainingObserver
{
    private readonly IAnsiConsole _con;
    private readonly string _title;
    private ProgressTask? _task;
    private long _first, _steps, _skipped, _lastLine = -1;
    private double _smooth = double.NaN;
    private readonly Dictionary<string, double> _terms = new();
    private readonly System.Diagnostics.Stopwatch _sw = new();

    public TrainingDisplay(IAnsiConsole console, string title) { _con = console; _title = title; }

    /// <summary>Runs body (which calls Trainer.Run) under a live progress bar when the terminal allows it.</summary>
    public T Show<T>(Func<T> body)
    {
        if (!_con.Profile.Capabilities.Interactive) return body();
        T result = default!;
        _con.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                _task = ctx.AddTask(Markup.Escape(_title), maxValue: 1);
                result = body();
            });
        return result;
    }

    public void OnStart(long firstStep, long steps)
    {
        _first = firstStep; _steps = steps;
        _sw.Restart();
        if (_task != null) { _task.MaxValue = steps; _task.Value = firstStep; }
        else _con.MarkupLine($"{Markup.Escape(_title)}: steps {firstStep}..{steps}");
    }

    public void OnStep(StepRecord r)
    {
        if (r.Skipped) _skipped++;
        const double a = 0.05; // EMA of the terms shown (the CSV has the raw values)
        if (double.IsFinite(r.Loss)) _smooth = double.IsNaN(_smooth) ? r.Loss : (1 - a) * _smooth + a * r.Loss;
        foreach (var (k, v) in r.Logs)
            if (double.IsFinite(v)) _terms[k] = _terms.TryGetValue(k, out var s) ? (1 - a) * s + a * v : v;
        long done = r.Step + 1;
        double rate = (done - _first) / Math.Max(_sw.Elapsed.TotalSeconds, 1e-9);
        string text = Line(done, rate, r.MemoryBytes);
        if (_task != null)
        {
            _task.Description = Markup.Escape(text);
            _task.Value = done;
        }
        else
        {
            long every = Math.Max(1, (_steps - _first) / 20);
            if (done == _steps || done - _first == 1 || done / every != _lastLine)
            {
                _lastLine = done / every;
                _con.WriteLine(text);
            }
        }
    }

    private string Line(long done, double rate, long mem)
    {
        var terms = string.Join(" ", _terms.OrderBy(t => t.Key, StringComparer.Ordinal).Take(4).Select(t => $"{t.Key} {Fmt(t.Value)}"));
        return $"{_title} {done}/{_steps} loss {Fmt(_smooth)}{(terms.Length > 0 ? " | " + terms : "")} | {rate:F2} it/s | mem {Bytes(mem)}{(_skipped > 0 ? $" | skipped {_skipped}" : "")}";
    }

    public void OnValidation(long step, IReadOnlyDictionary<string, double> metrics)
    {
        var text = string.Join(", ", metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key} {Fmt(m.Value)}"));
        if (_task == null) _con.WriteLine($"  validation at step {step}: {text}");
        else _con.MarkupLine($"  [grey]validation at step {step}:[/] {Markup.Escape(text)}");
    }

    public void OnEnd(TrainingSummary s)
    {
        if (_task != null) _task.Value = _task.MaxValue;
    }

    public static string Fmt(double v) => double.IsNaN(v) ? "-" : Math.Abs(v) >= 1e4 || (Math.Abs(v) < 1e-3 && v != 0) ? v.ToString("0.###e0", CultureInfo.InvariantCulture) : v.ToString("0.####", CultureInfo.InvariantCulture);

    public static string Bytes(long b) => b >= 1L << 30 ? $"{b / (double)(1L << 30):F2} GiB" : $"{b / (double)(1 << 20):F0} MiB";
}
