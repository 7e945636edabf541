// The `engine` command. Commands so far: demo (a small end-to-end training run on generated data),
// bench cpu (our CPU kernels side by side with OpenBLAS and oneDNN), devices (what CUDA pieces were found),
// metrics (PSNR/SSIM of image folders, noise KLs), version. Later issues add
// train, degrade, restore, eval and more bench targets.
using Engine.Cli;
using Spectre.Console;

return Entry.Run(args);

namespace Engine.Cli
{
    internal static class Entry
    {
        /// <summary>Runs one command; <paramref name="console"/> (default: the terminal) receives the
        /// output of the commands that take it (metrics) and every error message.</summary>
        public static int Run(string[] args, IAnsiConsole? console = null)
        {
            var con = console ?? AnsiConsole.Console;
            try
            {
                if (args.Length == 0 || args[0] is "help" or "--help" or "-h") { Usage(); return args.Length == 0 ? 1 : 0; }
                Engine.Cuda.CudaSetup.Register();
                switch (args[0])
                {
                    case "demo": return DemoCommand.Run(Args.Parse(args[1..]));
                    case "bench": return BenchCommand.Run(args[1..]);
                    case "devices": return DevicesCommand.Run(Args.Parse(args[1..]));
                    case "synth": return SynthCommand.Run(Args.Parse(args[1..], "strict", "list"));
                    case "metrics": return MetricsCommand.Run(args[1..], con);
                    case "version" or "--version":
                        AnsiConsole.MarkupLine($"engine {typeof(Entry).Assembly.GetName().Version} (.NET {Environment.Version}, {Environment.ProcessorCount} cores)");
                        return 0;
                    default:
                        con.MarkupLine($"[red]unknown command '{Markup.Escape(args[0])}'[/]");
                        Usage();
                        return 2;
                }
            }
            catch (ArgumentException e)
            {
                con.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                return 2;
            }
            catch (EngineException e)
            {
                con.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                return 1;
            }
        }

        private static void Usage()
        {
            AnsiConsole.MarkupLine("[bold]engine[/] - learn and synthesize realistic image degradations");
            AnsiConsole.MarkupLine("");
            AnsiConsole.MarkupLine("usage: engine <command> [options]");
            AnsiConsole.MarkupLine("");
            AnsiConsole.MarkupLine("  [green]demo[/]      train a small residual conv denoiser on generated images and watch the loss fall");
            AnsiConsole.MarkupLine("            --steps N (300)  --batch N (8)  --size N (32)  --lr X (0.05)  --noise X (0.1)  --seed N (1)  --threads N (all cores)  --device cpu|cuda[:N] (cpu)");
            AnsiConsole.MarkupLine("  [green]devices[/]   the GPUs, driver, CUDA, NVRTC, cuBLAS and cuDNN this machine has (or why none was found)");
            AnsiConsole.MarkupLine("  [green]bench cpu[/] our CPU GEMM and conv kernels vs OpenBLAS and oneDNN, interleaved in one run: GFLOP/s, ratios, efficiency vs the measured FMA peak");
            AnsiConsole.MarkupLine("            --threads 1,2 (1 and all cores)  --quick (few cases and rounds: a smoke test)  --json FILE  --filter TEXT (cases whose name contains it)");
            AnsiConsole.MarkupLine("  [green]bench gpu[/] cuBLAS SGEMM, cuDNN conv fwd/bwd and elementwise bandwidth on the CUDA backend (bench/gpu/run.sh sets them beside PyTorch)");
            AnsiConsole.MarkupLine("            --device cuda[:N]  --reps N (7)  --iters N (10)  --json FILE");
            AnsiConsole.MarkupLine("  [green]bench kernels[/] each fused op (Gaussian sample/KL, VQ search, flow ActNorm/coupling/1x1) vs its composition from primitive ops, with the memory-bandwidth floor");
            AnsiConsole.MarkupLine("            --device cpu|cuda[:N] (cpu)  --rounds N (7)  --quick  --filter TEXT  --json FILE");
            AnsiConsole.MarkupLine("  [green]synth[/]     degrade a folder of clean images with a synthetic pipeline (camera, correlated, compression, gaussian)");
            AnsiConsole.MarkupLine("            --degradation NAME  --in DIR  --out DIR  --seed N (0)  --scale 1|2|4 (1)  --targets DIR  --set name=value,...  --strict  --threads N  --list");
            AnsiConsole.MarkupLine("  [green]metrics[/]   PSNR and SSIM of each test image against the reference image of the same name (relative path without extension), and their mean");
            AnsiConsole.MarkupLine("            --reference DIR  --test DIR  --y-channel (BT.601 Y; default RGB)  --round-y (integer Y)  --crop N (0, px per side)  --json FILE (infinite PSNR written as null)");
            AnsiConsole.MarkupLine("  [green]metrics noise[/] synthetic vs real noise per image and pooled: residual histogram KLs (NeCA, Noise Flow add-one, NAFlow), SeNM-VAE gray-intensity KL, std ratio per brightness band");
            AnsiConsole.MarkupLine("            --clean DIR  --real DIR  --synthetic DIR  --bands N (8)  --json FILE");
            AnsiConsole.MarkupLine("  [green]bench data[/] training crops/s (decode, random crop, flips/rotations, batch tensor) with and without the dataset cache and the prefetcher");
            AnsiConsole.MarkupLine("            " + Markup.Escape(DataBenchCommand.Usage));
            AnsiConsole.MarkupLine("  [green]version[/]   print the version");
        }
    }

    /// <summary>--name value options and --flag switches; unknown names are rejected by the command that reads them.</summary>
    internal sealed class Args
    {
        private readonly Dictionary<string, string> _values = new();
        private readonly HashSet<string> _flags = [];
        private readonly HashSet<string> _read = [];

        /// <summary>flags: the names that take no value (e.g. "quick" for --quick).</summary>
        public static Args Parse(string[] args, params string[] flags)
        {
            var a = new Args();
            for (int i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--")) throw new ArgumentException($"unexpected argument '{args[i]}' (options look like --name value)");
                string name = args[i][2..];
                if (flags.Contains(name)) { a._flags.Add(name); continue; }
                if (i + 1 >= args.Length) throw new ArgumentException($"option {args[i]} needs a value");
                a._values[name] = args[++i];
            }
            return a;
        }

        public bool Flag(string name)
        {
            _read.Add(name);
            return _flags.Contains(name);
        }

        public string? String(string name)
        {
            _read.Add(name);
            return _values.GetValueOrDefault(name);
        }

        /// <summary>A comma-separated list of integers, e.g. --threads 1,2.</summary>
        public int[]? IntList(string name, int min = int.MinValue)
        {
            _read.Add(name);
            if (!_values.TryGetValue(name, out var s)) return null;
            var parts = s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var v = new int[parts.Length];
            for (int i = 0; i < parts.Length; i++)
                if (!int.TryParse(parts[i], out v[i]) || v[i] < min) throw new ArgumentException($"--{name} must be a comma-separated list of integers >= {min}, got '{s}'");
            if (v.Length == 0) throw new ArgumentException($"--{name} needs at least one value");
            return v;
        }

        public int Int(string name, int def, int min = int.MinValue)
        {
            _read.Add(name);
            if (!_values.TryGetValue(name, out var s)) return def;
            if (!int.TryParse(s, out int v) || v < min) throw new ArgumentException($"--{name} must be an integer >= {min}, got '{s}'");
            return v;
        }

        public double Double(string name, double def, double min = double.MinValue)
        {
            _read.Add(name);
            if (!_values.TryGetValue(name, out var s)) return def;
            if (!double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out double v) || v < min) throw new ArgumentException($"--{name} must be a number >= {min}, got '{s}'");
            return v;
        }

        public void RejectUnknown(string command)
        {
            var unknown = _values.Keys.Concat(_flags).Where(k => !_read.Contains(k)).ToList();
            if (unknown.Count > 0) throw new ArgumentException($"{command}: unknown option(s) {string.Join(", ", unknown.Select(u => "--" + u))}");
        }
    }
}
