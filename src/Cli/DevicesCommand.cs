// `engine devices`: what the CUDA backend found on this machine (GPUs, driver and CUDA version,
// NVRTC, cuBLAS, cuDNN and the files they were loaded from) or why a piece is missing. Also the
// check every --device option goes through, so a missing GPU is one clear message.
using System.CommandLine;
using Engine.Cuda;
using Spectre.Console;

namespace Engine.Cli;

internal static class DevicesCommand
{
    public static Command Build(IAnsiConsole con)
    {
        var cmd = new Command("devices", "the GPUs, driver, CUDA, NVRTC, cuBLAS and cuDNN this machine has (or why none was found)");
        cmd.SetAction(_ => Run(con));
        return cmd;
    }

    public static int Run(IAnsiConsole con)
    {
        var table = new Table().AddColumn("component").AddColumn("found");
        table.AddRow("cpu", Markup.Escape($"{Environment.ProcessorCount} cores, {(System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "AVX-512" : System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "AVX2" : "scalar")} kernels"));
        foreach (var (label, value) in CudaSetup.Report()) table.AddRow(Markup.Escape(label), Markup.Escape(value));
        con.Write(table);
        bool gpu = CudaSetup.TryProbe(out var why);
        con.MarkupLine(gpu ? "[green]CUDA is available: use --device cuda (or cuda:N)[/]" : $"[yellow]no usable GPU ({Markup.Escape(why)}); commands run on the CPU[/]");
        return 0;
    }

    /// <summary>Throws a clear error when a CUDA device was asked for and none can be used.</summary>
    public static void Require(Device d)
    {
        if (d.Type != DeviceType.Cuda) return;
        if (!CudaSetup.TryProbe(out var why))
            throw new ArgumentException($"--device {d}: no usable GPU: {why} (run `engine devices` for details)");
    }
}
