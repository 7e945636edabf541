// `engine bench <target>`: benchmarks with their anchors, measured side by side in one run.
// Targets so far: cpu (GEMM and convolution vs OpenBLAS and oneDNN; see bench/Engine.Bench.Suite) and
// gpu (cuBLAS/cuDNN/our kernels on the CUDA backend; bench/gpu/run.sh sets them beside PyTorch),
// kernels (fused ops vs their composition) and data (training crops/s, DataBenchCommand.cs).
// The anchors are native libraries called from the bench suite only; the engine's kernels never
// call them.
using System.CommandLine;
using Engine.Bench;
using Spectre.Console;

namespace Engine.Cli;

internal static class BenchCommand
{
    /// <summary>`bench` with one subcommand per target (a target is required: `engine bench` alone is a usage error).</summary>
    public static Command Build(IAnsiConsole con)
    {
        var cmd = new Command("bench", "benchmarks with their anchors, measured side by side in one run (targets: cpu, gpu, kernels, data, quality)");
        cmd.Subcommands.Add(BuildCpu(con));
        cmd.Subcommands.Add(BuildGpu(con));
        cmd.Subcommands.Add(BuildKernels(con));
        cmd.Subcommands.Add(DataBenchCommand.Build(con));
        cmd.Subcommands.Add(Quality.QualityCommand.Build(con));
        cmd.SetAction(int (_) => throw new ArgumentException("bench: name a target: engine bench cpu|gpu|kernels|data|quality [options] (engine bench TARGET --help lists them)"));
        return cmd;
    }

    private static Option<string?> Json() => Opt.String("json", "FILE", "write the results here as JSON");

    private static Command BuildCpu(IAnsiConsole con)
    {
        var threads = Opt.IntList("threads", "thread counts to run, e.g. 1,2 (default: 1 and all cores)", min: 1);
        var quick = Opt.Flag("quick", "few cases and rounds: a smoke test");
        var filter = Opt.String("filter", "TEXT", "only the cases whose name contains TEXT (case-insensitive)");
        var json = Json();
        var cmd = new Command("cpu", "our CPU GEMM and conv kernels vs OpenBLAS and oneDNN, interleaved in one run: GFLOP/s, ratios, efficiency vs the measured FMA peak")
        {
            threads, quick, filter, json,
        };
        cmd.SetAction(pr => Cpu(con, new CpuBenchOptions { Quick = pr.GetValue(quick), Threads = pr.GetValue(threads), Filter = pr.GetValue(filter) }, pr.GetValue(json)));
        return cmd;
    }

    private static Command BuildGpu(IAnsiConsole con)
    {
        var device = CommonOptions.Device("cuda", cudaOnly: true);
        var reps = Opt.Int("reps", 7, "timed repetitions per case", min: 1);
        var iters = Opt.Int("iters", 10, "launches per repetition", min: 1);
        var json = Json();
        var cmd = new Command("gpu", "cuBLAS SGEMM, cuDNN conv fwd/bwd and elementwise bandwidth on the CUDA backend (bench/gpu/run.sh sets them beside PyTorch)")
        {
            device, reps, iters, json,
        };
        cmd.SetAction(pr => Gpu(con, pr.GetValue(device), pr.GetValue(reps), pr.GetValue(iters), pr.GetValue(json)));
        return cmd;
    }

    private static Command BuildKernels(IAnsiConsole con)
    {
        var device = CommonOptions.Device("cpu");
        var rounds = Opt.Int("rounds", 7, "interleaved rounds", min: 1);
        var quick = Opt.Flag("quick", "small shapes: a smoke test");
        var filter = Opt.String("filter", "TEXT", "only the cases whose name contains TEXT");
        var json = Json();
        var cmd = new Command("kernels", "each fused op (Gaussian sample/KL, VQ search, flow ActNorm/coupling/1x1) vs its composition from primitive ops, with the memory-bandwidth floor")
        {
            device, rounds, quick, filter, json,
        };
        cmd.SetAction(pr => Kernels(con, pr.GetValue(device), pr.GetValue(rounds), pr.GetValue(quick), pr.GetValue(filter), pr.GetValue(json)));
        return cmd;
    }

    private static int Kernels(IAnsiConsole con, Device dev, int rounds, bool quick, string? filter, string? json)
    {
        DevicesCommand.Require(dev);
        con.MarkupLine($"[bold]bench kernels[/]: fused ops vs their composition from primitive ops on {dev}, {rounds} interleaved rounds{(quick ? ", quick" : "")}");
        var rows = KernelBench.Run(dev, KernelBench.AllCases(dev, quick, filter), rounds, line => con.MarkupLine($"[grey]{Markup.Escape(line)}[/]"));
        var table = new Spectre.Console.Table().AddColumn("op").AddColumn("fused ms").AddColumn("composed ms").AddColumn("speedup").AddColumn("floor ms").AddColumn("efficiency");
        foreach (var r in rows)
            table.AddRow(Markup.Escape($"{r.Group} {r.Name}"), r.FusedMs.ToString("F3"), r.ComposedMs.ToString("F3"), $"x{r.Speedup:F2}", r.FloorMs.ToString("F3"), $"{100 * r.Efficiency:F0}%");
        con.Write(table);
        if (json is not null) { KernelBench.WriteJson(json, dev, rows); con.MarkupLine($"results written to {Markup.Escape(json)}"); }
        return 0;
    }

    private static int Gpu(IAnsiConsole con, Device dev, int reps, int iters, string? json)
    {
        DevicesCommand.Require(dev);
        var rows = GpuBench.Run(dev.Index, reps, iters, line => con.MarkupLine($"[grey]{Markup.Escape(line)}[/]"));
        var table = new Spectre.Console.Table().AddColumn("case").AddColumn("ms").AddColumn("rate");
        foreach (var r in rows) table.AddRow(Markup.Escape(r.Name), r.Ms.ToString("F3"), $"{r.Rate:F0} {r.Unit}");
        con.Write(table);
        if (json is not null) { GpuBench.WriteJson(json, rows, dev.ToString()); con.MarkupLine($"results written to {Markup.Escape(json)}"); }
        return 0;
    }

    private static int Cpu(IAnsiConsole con, CpuBenchOptions opts, string? json)
    {
        con.MarkupLine($"[bold]bench cpu[/]: threads {string.Join(",", opts.ThreadCounts)}{(opts.Quick ? ", quick" : "")}{(opts.Filter is null ? "" : $", filter '{Markup.Escape(opts.Filter)}'")}");
        var report = CpuBench.Run(opts, line => con.MarkupLine($"[grey]{Markup.Escape(line)}[/]"));
        con.WriteLine();
        CpuBenchReport.Render(con, report);
        if (json is not null)
        {
            CpuBenchReport.WriteJson(json, report);
            con.MarkupLine($"results written to {Markup.Escape(json)}");
        }
        return 0;
    }
}
