// `engine synth`: applies one of the synthetic degradation pipelines (camera, correlated,
// compression, gaussian; optionally after a x2/x4 MATLAB-bicubic downscale) to a folder, writing
// PNGs with the same relative paths and a synth.json with the parameters and per-image draws.
using System.Globalization;
using Engine.Imaging;
using Engine.Imaging.Degradation;
using Spectre.Console;

namespace Engine.Cli;

internal static class SynthCommand
{
    public static int Run(Args a)
    {
        if (a.Flag("list"))
        {
            a.RejectUnknown("synth");
            ListPipelines();
            return 0;
        }
        string name = a.String("degradation") ?? throw new ArgumentException("synth: --degradation NAME is required (" + string.Join(", ", Degradations.Names) + "; --list shows their parameters)");
        string input = a.String("in") ?? throw new ArgumentException("synth: --in DIR (the clean images) is required");
        string output = a.String("out") ?? throw new ArgumentException("synth: --out DIR (where the degraded images go) is required");
        int seedInt = a.Int("seed", 0, 0);
        int scale = a.Int("scale", 1, 1);
        string? targets = a.String("targets");
        int threads = a.Int("threads", 0, 0);
        bool strict = a.Flag("strict");
        var overrides = ParseSet(a.String("set"));
        a.RejectUnknown("synth");
        if (!Directory.Exists(input)) throw new ArgumentException($"synth: --in '{input}' is not a folder");
        if (scale is not (1 or 2 or 4)) throw new ArgumentException($"synth: --scale must be 1, 2 or 4, got {scale}");
        if (!Degradations.Names.Contains(name)) throw new ArgumentException($"synth: unknown degradation '{name}'; valid: {string.Join(", ", Degradations.Names)}");
        if (scale > 1 && targets == null)
            AnsiConsole.MarkupLine("[yellow]note:[/] with --scale the degraded images are smaller than the inputs; --targets DIR writes the matching mod-cropped clean images");

        var d = Degradations.Create(name, scale, overrides);
        ulong seed = (ulong)seedInt;
        AnsiConsole.MarkupLine($"[bold]synth[/] {Markup.Escape(d.ToString())}");
        AnsiConsole.MarkupLine($"  seed {seed}, {Markup.Escape(input)} -> {Markup.Escape(output)}{(targets != null ? ", targets -> " + Markup.Escape(targets) : "")}");

        SynthReport report = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("degrading", maxValue: 1);
                report = SynthFolder.Run(input, output, d, seed, new SynthOptions(!strict, threads, targets), (done, total) =>
                {
                    task.MaxValue = total;
                    task.Value = done;
                });
                task.Value = task.MaxValue;
            });
        foreach (var s in report.Skipped)
            AnsiConsole.MarkupLine($"[yellow]skipped[/] {Markup.Escape(s.Path)}: {Markup.Escape(s.Reason)}");
        AnsiConsole.MarkupLine($"{report.Images.Count} images degraded in {report.Seconds:F1} s ({report.Images.Count / Math.Max(report.Seconds, 1e-9):F1} images/s)" +
                               (report.Skipped.Count > 0 ? $", [yellow]{report.Skipped.Count} skipped[/]" : "") +
                               $"; parameters and draws in {Markup.Escape(Path.Combine(output, SynthFolder.ManifestName))}");
        return 0;
    }

    /// <summary>--set name=value[,name=value...]</summary>
    internal static List<KeyValuePair<string, double>> ParseSet(string? s)
    {
        var list = new List<KeyValuePair<string, double>>();
        if (string.IsNullOrWhiteSpace(s)) return list;
        foreach (var part in s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0 || !double.TryParse(part[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                throw new ArgumentException($"synth: --set expects name=value pairs separated by commas (e.g. --set jpeg_min=80,jpeg_max=90), got '{part}'");
            list.Add(new(part[..eq].Trim(), v));
        }
        return list;
    }

    private static void ListPipelines()
    {
        foreach (var n in Degradations.Names)
        {
            var d = Degradations.Create(n);
            var t = new Table().Title($"[bold]{n}[/]: {Markup.Escape(d.Description)}").AddColumn("parameter").AddColumn("default").AddColumn("meaning");
            foreach (var (k, v) in d.Parameters)
                t.AddRow(k, v.ToString("G6", CultureInfo.InvariantCulture), Markup.Escape(d.Help(k)));
            AnsiConsole.Write(t);
        }
    }
}
