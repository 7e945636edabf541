// Loss-curve PNGs of a run folder, drawn with ScottPlot from metrics.csv and validation.csv:
// plots/loss.png (the loss per step, faint, and its moving average), plots/terms.png (each logged
// term's moving average, one panel each), plots/optimizer.png (learning rate and gradient norm) and
// plots/validation.png (each validation metric). Written at every checkpoint and at the end, so an
// interrupted run still has its curves.
using System.Globalization;
using Engine.Models.Training;
using ScottPlot;

namespace Engine.Cli.Training;

internal sealed class LossPlots(string runDir) : ITrainingObserver
{
    public const int Width = 900, PanelHeight = 300;

    public void OnCheckpoint(long step, string dir) => Write(runDir);
    public void OnEnd(TrainingSummary summary) => Write(runDir);

    /// <summary>Draws every plot the CSVs allow; returns the files written.</summary>
    public static IReadOnlyList<string> Write(string runDir)
    {
        var written = new List<string>();
        string plots = Path.Combine(runDir, "plots");
        var m = ReadCsv(Path.Combine(runDir, Trainer.MetricsCsv));
        if (m != null && m.Rows > 0)
        {
            Directory.CreateDirectory(plots);
            var steps = m.Column("step");
            written.Add(Panels(Path.Combine(plots, "loss.png"), steps, [("loss", m.Column("loss"))], raw: true));
            var terms = m.Names.Where(n => n is not ("step" or "loss" or "grad_norm" or "skipped" or "lr" or "seconds" or "memory_bytes")).ToList();
            if (terms.Count > 0) written.Add(Panels(Path.Combine(plots, "terms.png"), steps, terms.Select(t => (t, m.Column(t))).ToList(), raw: false));
            written.Add(Panels(Path.Combine(plots, "optimizer.png"), steps, [("learning rate", m.Column("lr")), ("gradient norm", m.Column("grad_norm"))], raw: true));
        }
        var v = ReadCsv(Path.Combine(runDir, Trainer.ValidationCsv));
        if (v != null && v.Rows > 0)
        {
            Directory.CreateDirectory(plots);
            var steps = v.Column("step");
            written.Add(Panels(Path.Combine(plots, "validation.png"), steps, v.Names.Where(n => n != "step").Select(n => (n, v.Column(n))).ToList(), raw: true, markers: true));
        }
        return written;
    }

    private static string Panels(string path, double[] x, IReadOnlyList<(string Name, double[] Y)> series, bool raw, bool markers = false)
    {
        var mp = new Multiplot();
        mp.AddPlots(series.Count);
        for (int i = 0; i < series.Count; i++)
        {
            var (name, y) = series[i];
            var plot = mp.GetPlot(i);
            var (fx, fy) = Finite(x, y);
            if (fx.Length > 0)
            {
                int window = Math.Max(1, fx.Length / 50);
                if (raw)
                {
                    var s = plot.Add.Scatter(fx, fy);
                    s.MarkerSize = markers ? 5 : 0;
                    s.LineWidth = 1;
                    if (window > 1 && !markers) { s.Color = s.Color.WithAlpha(0.35); }
                    s.LegendText = name;
                }
                if (!markers && (window > 1 || !raw))
                {
                    var sm = plot.Add.Scatter(fx, MovingAverage(fy, window));
                    sm.MarkerSize = 0;
                    sm.LineWidth = 2;
                    sm.LegendText = window > 1 ? $"{name} (mean of {window})" : name;
                }
            }
            plot.Title(name);
            plot.XLabel("step");
            plot.ShowLegend(Alignment.UpperRight);
        }
        mp.SavePng(path, Width, PanelHeight * series.Count);
        return path;
    }

    private static (double[] X, double[] Y) Finite(double[] x, double[] y)
    {
        var fx = new List<double>(); var fy = new List<double>();
        for (int i = 0; i < Math.Min(x.Length, y.Length); i++)
            if (double.IsFinite(x[i]) && double.IsFinite(y[i])) { fx.Add(x[i]); fy.Add(y[i]); }
        return (fx.ToArray(), fy.ToArray());
    }

    /// <summary>Trailing moving average (the first points average what exists so far).</summary>
    public static double[] MovingAverage(double[] y, int window)
    {
        var o = new double[y.Length];
        double s = 0;
        for (int i = 0; i < y.Length; i++)
        {
            s += y[i];
            if (i >= window) s -= y[i - window];
            o[i] = s / Math.Min(i + 1, window);
        }
        return o;
    }

    private sealed class Csv(List<string> names, List<double[]> rows)
    {
        public List<string> Names { get; } = names;
        public int Rows => rows.Count;
        public double[] Column(string name)
        {
            int c = Names.IndexOf(name);
            return c < 0 ? [] : rows.Select(r => c < r.Length ? r[c] : double.NaN).ToArray();
        }
    }

    private static Csv? ReadCsv(string path)
    {
        if (!File.Exists(path)) return null;
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) return null;
        var names = lines[0].Split(',').ToList();
        var rows = lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',').Select(c =>
            double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN).ToArray()).ToList();
        return new Csv(names, rows);
    }
}
