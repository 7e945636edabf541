// `engine synth`: applies one of the synthetic degradation pipelines (camera, correlated,
// compression, gaussian; optionally after a x2/x4 MATLAB-bicubic downscale) to a folder, writing
// PNGs with the same relative paths and a synth.json with the parameters and per-image draws, into a
// RunFolder (--out, default runs/synth-<time>) whose settings.json holds the command's settings.
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Engine.Imaging;
using Engine.Imaging.Degradation;
using Spectre.Console;

namespace Engine.Cli;

internal static class SynthCommand
{
    public static Command Build(IAnsiConsole con)
    {
        string names = string.Join(", ", Degradations.Names);
        var degradation = Opt.String("degradation", "NAME", $"the pipeline: {names} (--list shows their parameters)");
        var input = Opt.String("in", "DIR", "the clean images (.png, .jpg, .jpeg, .bmp, searched recursively)");
        var output = CommonOptions.Out("synth", "the degraded PNGs, synth.json and settings.json");
        var seed = CommonOptions.Seed(0);
        var scale = Opt.IntOneOf("scale", 1, "downscale factor before degrading (MATLAB bicubic)", 1, 2, 4);
        var targets = Opt.String("targets", "DIR", "also write the matching mod-cropped clean images here (with --scale 2 or 4)");
        var set = new Option<List<KeyValuePair<string, double>>>("--set")
        {
            Description = "override pipeline parameters, e.g. --set jpeg_min=80,jpeg_max=90",
            HelpName = "name=value,...",
            CustomParser = r =>
            {
                try { return ParseSet(r.Tokens.Count > 0 ? r.Tokens[0].Value : null); }
                catch (ArgumentException e) { r.AddError(e.Message); return []; }
            },
        };
        var strict = Opt.Flag("strict", "stop at the first unreadable image (default: skip it and list it)");
        var threads = Opt.Int("threads", 0, "worker threads (0: all cores)", min: 0);
        var list = Opt.Flag("list", "list the pipelines and their parameters, then exit");
        var cmd = new Command("synth", "degrade a folder of clean images with a synthetic pipeline (" + names + ")")
        {
            degradation, input, output, seed, scale, targets, set, strict, threads, list,
        };
        // --degradation and --in are required unless --list is given
        Opt.AddCheck(cmd, r =>
        {
            if (r.GetValue(list)) return;
            string? name = r.GetValue(degradation);
            if (name is null) r.AddError($"synth: --degradation NAME is required ({names}; --list shows their parameters)");
            else if (!Degradations.Names.Contains(name)) r.AddError($"synth: --degradation: unknown pipeline '{name}'; valid: {names}");
            if (r.GetValue(input) is null) r.AddError("synth: --in DIR (the clean images) is required");
        });
        cmd.SetAction(pr =>
        {
            if (pr.GetValue(list)) { ListPipelines(con); return 0; }
            return Run(con, new Settings(pr.GetValue(degradation)!, pr.GetValue(input)!, pr.GetValue(output), pr.GetValue(seed), pr.GetValue(scale),
                pr.GetValue(targets), pr.GetValue(set) ?? [], pr.GetValue(strict), pr.GetValue(threads)));
        });
        return cmd;
    }

    /// <summary>The parsed options of one synth run.</summary>
    public sealed record Settings(string Degradation, string Input, string? Output, ulong Seed, int Scale, string? Targets,
        List<KeyValuePair<string, double>> Overrides, bool Strict, int Threads);

    public static int Run(IAnsiConsole con, Settings s)
    {
        if (!Directory.Exists(s.Input)) throw new ArgumentException($"synth: --in '{s.Input}' is not a folder");
        if (s.Output is not null && string.Equals(Path.GetFullPath(s.Output).TrimEnd('/'), Path.GetFullPath(s.Input).TrimEnd('/'), StringComparison.Ordinal))
            throw new ArgumentException($"synth: --out '{s.Output}' is the --in folder; choose another one so the clean images are not overwritten");
        var d = Degradations.Create(s.Degradation, s.Scale, s.Overrides);
        var run = RunFolder.Create(s.Output, "synth", con);
        con.MarkupLine($"[bold]synth[/] {Markup.Escape(d.ToString())}");
        var parameters = new JsonObject();
        foreach (var (k, v) in d.Parameters) parameters[k] = v;
        var overrides = new JsonObject();
        foreach (var (k, v) in s.Overrides) overrides[k] = v;
        run.WriteSettings(new JsonObject
        {
            ["command"] = "synth",
            ["degradation"] = s.Degradation,
            ["in"] = s.Input,
            ["out"] = run.Path,
            ["seed"] = s.Seed,
            ["scale"] = s.Scale,
            ["targets"] = s.Targets,
            ["set"] = overrides,
            ["strict"] = s.Strict,
            ["threads"] = s.Threads,
            ["parameters"] = parameters,
        });
        if (s.Scale > 1 && s.Targets == null)
            con.MarkupLine("[yellow]note:[/] with --scale the degraded images are smaller than the inputs; --targets DIR writes the matching mod-cropped clean images");

        SynthReport report = null!;
        con.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("degrading", maxValue: 1);
                report = SynthFolder.Run(s.Input, run.Path, d, s.Seed, new SynthOptions(!s.Strict, s.Threads, s.Targets), (done, total) =>
                {
                    task.MaxValue = total;
                    task.Value = done;
                });
                task.Value = task.MaxValue;
            });
        foreach (var sk in report.Skipped)
            con.MarkupLine($"[yellow]skipped[/] {Markup.Escape(sk.Path)}: {Markup.Escape(sk.Reason)}");
        con.MarkupLine($"{report.Images.Count} images degraded in {report.Seconds:F1} s ({report.Images.Count / Math.Max(report.Seconds, 1e-9):F1} images/s)" +
                       (report.Skipped.Count > 0 ? $", [yellow]{report.Skipped.Count} skipped[/]" : "") +
                       $"; parameters and draws in {Markup.Escape(Path.Combine(run.Path, SynthFolder.ManifestName))}");
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
                throw new ArgumentException($"--set expects name=value pairs separated by commas (e.g. --set jpeg_min=80,jpeg_max=90), got '{part}'");
            list.Add(new(part[..eq].Trim(), v));
        }
        return list;
    }

    private static void ListPipelines(IAnsiConsole con)
    {
        foreach (var n in Degradations.Names)
        {
            var d = Degradations.Create(n);
            var t = new Table().Title($"[bold]{n}[/]: {Markup.Escape(d.Description)}").AddColumn("parameter").AddColumn("default").AddColumn("meaning");
            foreach (var (k, v) in d.Parameters)
                t.AddRow(k, v.ToString("G6", CultureInfo.InvariantCulture), Markup.Escape(d.Help(k)));
            con.Write(t);
        }
    }
}
