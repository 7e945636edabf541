// `engine bench <target>`: benchmarks with their anchors, measured side by side in one run.
// Targets so far: cpu (GEMM and convolution vs OpenBLAS and oneDNN; see bench/Engine.Bench.Suite) and
// gpu (cuBLAS/cuDNN/our kernels on the CUDA backend; bench/gpu/run.sh sets them beside PyTorch),
// kernels (fused ops vs their composition) and data (training crops/s, DataBenchCommand.cs).
// The anchors are native libraries called from the bench suite only; the engine's kernels never
// call them.
using Engine.Bench;
using Spectre.Console;

namespace Engine.Cli;

internal static class BenchCommand
{
    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith("--"))
            throw new ArgumentException("bench: name a target: engine bench cpu [--threads 1,2] [--quick] [--json FILE] [--filter TEXT]");
        switch (args[0])
        {
            case "cpu": return Cpu(Args.Parse(args[1..], "quick"));
            case "gpu": return Gpu(Args.Parse(args[1..]));
            case "kernels": return Kernels(Args.Parse(args[1..], "quick"));
            case "data": return DataBenchCommand.Run(Args.Parse(args[1..], "cache"));
            default: throw new ArgumentException($"bench: unknown target '{args[0]}' (targets: cpu, gpu, kernels, data)");
        }
    }

    private static int Kernels(Args a)
    {
        var dev = Device.Parse(a.String("device") ?? "cpu");
        int rounds = a.Int("rounds", 7, 1);
        bool quick = a.Flag("quick");
        string? filter = a.String("filter"), json = a.String("json");
        a.RejectUnknown("bench kernels");
        DevicesCommand.Require(dev);
        AnsiConsole.MarkupLine($"[bold]bench kernels[/]: fused ops vs their composition from primitive ops on {dev}, {rounds} interleaved rounds{(quick ? ", quick" : "")}");
        var rows = KernelBench.Run(dev, KernelBench.AllCases(dev, quick, filter), rounds, line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"));
        var table = new Spectre.Console.Table().AddColumn("op").AddColumn("fused ms").AddColumn("composed ms").AddColumn("speedup").AddColumn("floor ms").AddColumn("efficiency");
        foreach (var r in rows)
            table.AddRow(Markup.Escape($"{r.Group} {r.Name}"), r.FusedMs.ToString("F3"), r.ComposedMs.ToString("F3"), $"x{r.Speedup:F2}", r.FloorMs.ToString("F3"), $"{100 * r.Efficiency:F0}%");
        AnsiConsole.Write(table);
        if (json is not null) { KernelBench.WriteJson(json, dev, rows); AnsiConsole.MarkupLine($"results written to {Markup.Escape(json)}"); }
        return 0;
    }

    private static int Gpu(Args a)
    {
        var dev = Device.Parse(a.String("device") ?? "cuda");
        int reps = a.Int("reps", 7, 1), iters = a.Int("iters", 10, 1);
        string? json = a.String("json");
        a.RejectUnknown("bench gpu");
        DevicesCommand.Require(dev);
        if (dev.Type != DeviceType.Cuda) throw new ArgumentException("bench gpu: --device must be cuda or cuda:N");
        var rows = GpuBench.Run(dev.Index, reps, iters, line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"));
        var table = new Spectre.Console.Table().AddColumn("case").AddColumn("ms").AddColumn("rate");
        foreach (var r in rows) table.AddRow(Markup.Escape(r.Name), r.Ms.ToString("F3"), $"{r.Rate:F0} {r.Unit}");
        AnsiConsole.Write(table);
        if (json is not null) { GpuBench.WriteJson(json, rows, dev.ToString()); AnsiConsole.MarkupLine($"results written to {Markup.Escape(json)}"); }
        return 0;
    }

    private static int Cpu(Args a)
    {
        var opts = new CpuBenchOptions
        {
            Quick = a.Flag("quick"),
            Threads = a.IntList("threads", min: 1),
            Filter = a.String("filter"),
        };
        string? json = a.String("json");
        a.RejectUnknown("bench cpu");
        AnsiConsole.MarkupLine($"[bold]bench cpu[/]: threads {string.Join(",", opts.ThreadCounts)}{(opts.Quick ? ", quick" : "")}{(opts.Filter is null ? "" : $", filter '{Markup.Escape(opts.Filter)}'")}");
        var report = CpuBench.Run(opts, line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"));
        AnsiConsole.WriteLine();
        CpuBenchReport.Render(AnsiConsole.Console, report);
        if (json is not null)
        {
            CpuBenchReport.WriteJson(json, report);
            AnsiConsole.MarkupLine($"results written to {Markup.Escape(json)}");
        }
        return 0;
    }
}
