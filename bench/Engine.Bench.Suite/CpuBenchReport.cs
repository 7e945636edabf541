// Output of the CPU benchmark: a Spectre.Console table per kind (GEMM, conv) for the terminal and a
// JSON file with everything (machine, measured peaks, one flat row per case x threads x anchor).
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace Engine.Bench;

public static class CpuBenchReport
{
    public static void Render(IAnsiConsole console, BenchReport r)
    {
        var m = r.Machine;
        console.MarkupLine($"[bold]CPU benchmark[/]{(r.Quick ? " [yellow](quick: few rounds, not a measurement)[/]" : "")}");
        var info = new Grid().AddColumn().AddColumn();
        void Row(string k, string v) => info.AddRow(new Markup($"[grey]{Markup.Escape(k)}[/]"), new Markup(Markup.Escape(v)));
        Row("cpu", $"{m.CpuModel}, {m.LogicalCores} logical cores");
        Row("isa", $"Avx512F {m.Avx512F}, Avx2 {m.Avx2}, Fma {m.Fma}; our GEMM micro-kernel {m.GemmIsa}");
        Row("runtime", $"{m.Runtime} on {m.Os}");
        foreach (var (t, p) in m.PeakGflops) Row($"FMA peak, {t} thread{(t == 1 ? "" : "s")}", $"{F(p)} GFLOP/s f32 ({m.PeakIsa}, measured)");
        foreach (var o in m.OpenBlas) Row("openblas", o);
        Row("onednn", m.OneDnn);
        console.Write(info);
        console.WriteLine();

        foreach (var kind in new[] { "gemm", "conv" })
        {
            var rows = r.Cases.Where(c => c.Kind == kind).ToList();
            if (rows.Count == 0) continue;
            var anchors = rows.SelectMany(c => c.Anchors.Select(a => a.Anchor)).Distinct().ToList();
            var table = new Table().Border(TableBorder.Rounded)
                .Title(kind == "gemm" ? "GEMM  C = A * B  (f32, row-major, MxNxK)" : "conv2d 3x3 pad 1 stride 1  (f32, NCHW, C -> C)");
            table.AddColumn("case").AddColumn(new TableColumn("thr").RightAligned())
                 .AddColumn(new TableColumn("ours\nGFLOP/s").RightAligned()).AddColumn(new TableColumn("ours\neff").RightAligned());
            // Anchor header on two lines ("OpenBLAS" / "SkylakeX") keeps the table narrow.
            foreach (var a in anchors) table.AddColumn(new TableColumn(Markup.Escape(a.Replace(' ', '\n'))).RightAligned());
            foreach (var c in rows)
            {
                var cells = new List<string> { Markup.Escape(c.Name), c.Threads.ToString(CultureInfo.InvariantCulture), F(c.OursGflops), Pct(c.OursEfficiency) };
                foreach (var name in anchors)
                {
                    var a = c.Anchors.FirstOrDefault(x => x.Anchor == name);
                    cells.Add(a switch
                    {
                        null => "",
                        { Status: AnchorStatus.Ok } => $"{F(a.Gflops!.Value)} {Ratio(a.Ratio!.Value)}",
                        { Status: AnchorStatus.Mismatch } => "[red]mismatch[/]",
                        _ => "[grey]unavailable[/]",
                    });
                }
                table.AddRow(cells.ToArray());
            }
            console.Write(table);
            if (kind == "conv")
            {
                // Implementation names, once per case and layout (forward / backward data / backward weights).
                var impls = rows.SelectMany(c => c.Anchors.Where(a => a.Impl is not null).Select(a => $"{c.Name}, {a.Anchor}: {a.Impl}")).Distinct();
                foreach (var line in impls) console.MarkupLine($"[grey]  {Markup.Escape(line)}[/]");
            }
        }

        // Reasons once each, below the tables.
        var reasons = r.Cases.SelectMany(c => c.Anchors).Where(a => a.Status != AnchorStatus.Ok)
            .Select(a => $"{a.Anchor}: {a.Status.ToString().ToLowerInvariant()}: {a.Reason}").Distinct().ToList();
        foreach (var s in reasons) console.MarkupLine($"[yellow]{Markup.Escape(s)}[/]");
        console.MarkupLine("[grey]anchor cells: anchor GFLOP/s, then ours/anchor (> 1x: ours faster). eff: ours GFLOP/s / measured FMA peak at the same thread count.[/]");
        console.MarkupLine($"[grey]method: {Markup.Escape(r.Method)}[/]");
    }

    private static string F(double v) => double.IsFinite(v) ? v.ToString(v >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture) : "n/a";
    private static string Pct(double v) => double.IsFinite(v) ? (100 * v).ToString("F0", CultureInfo.InvariantCulture) + "%" : "n/a";
    private static string Ratio(double v)
    {
        string s = v.ToString("F2", CultureInfo.InvariantCulture) + "x";
        return v >= 1 ? $"[green]{s}[/]" : v >= 0.8 ? s : $"[red]{s}[/]";
    }

    // JSON: snake_case, one flat row per case x threads x anchor (ours repeated on each row).
    public sealed record JsonRow(
        string Kind, string Name, string Shape, int Threads, double Flops, int Reps,
        double OursGflops, double OursMedianMs, double OursEfficiency,
        string Anchor, string AnchorStatus, string? AnchorReason, string? AnchorImpl,
        double? AnchorGflops, double? AnchorMedianMs, double? Ratio, double? AnchorEfficiency, double? RelError);

    public sealed record JsonDoc(
        string Benchmark, DateTimeOffset Time, bool Quick, IReadOnlyList<int> Threads, string Method, MachineInfo Machine,
        IReadOnlyList<JsonRow> Results);

    public static JsonDoc ToJson(BenchReport r) => new(
        "cpu", DateTimeOffset.UtcNow, r.Quick, r.Threads, r.Method, r.Machine,
        r.Cases.SelectMany(c => c.Anchors.Select(a => new JsonRow(
            c.Kind, c.Name, c.Shape, c.Threads, c.Flops, c.Reps,
            Round(c.OursGflops), Round(c.OursMedianSeconds * 1e3), Round(c.OursEfficiency),
            a.Anchor, a.Status.ToString().ToLowerInvariant(), a.Reason, a.Impl,
            Round(a.Gflops), Round(a.MedianSeconds * 1e3), Round(a.Ratio), Round(a.Efficiency), a.RelError))).ToList());

    private static double Round(double v) => Math.Round(v, 4);
    private static double? Round(double? v) => v is { } x ? Math.Round(x, 4) : null;

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // "C=64->64" stays readable
    };

    public static void WriteJson(string path, BenchReport r)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, JsonSerializer.Serialize(ToJson(r), JsonOptions) + "\n");
    }
}
