// The `engine` command. Commands so far: demo (a small end-to-end training run on generated data),
// version. Later issues add train, degrade, restore, eval and bench.
using Engine.Cli;
using Spectre.Console;

return Entry.Run(args);

namespace Engine.Cli
{
    internal static class Entry
    {
        public static int Run(string[] args)
        {
            try
            {
                if (args.Length == 0 || args[0] is "help" or "--help" or "-h") { Usage(); return args.Length == 0 ? 1 : 0; }
                var opts = Args.Parse(args.Skip(1).ToArray());
                switch (args[0])
                {
                    case "demo": return DemoCommand.Run(opts);
                    case "version" or "--version":
                        AnsiConsole.MarkupLine($"engine {typeof(Entry).Assembly.GetName().Version} (.NET {Environment.Version}, {Environment.ProcessorCount} cores)");
                        return 0;
                    default:
                        AnsiConsole.MarkupLine($"[red]unknown command '{Markup.Escape(args[0])}'[/]");
                        Usage();
                        return 2;
                }
            }
            catch (ArgumentException e)
            {
                AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                return 2;
            }
            catch (EngineException e)
            {
                AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
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
            AnsiConsole.MarkupLine("            --steps N (300)  --batch N (8)  --size N (32)  --lr X (0.05)  --noise X (0.1)  --seed N (1)  --threads N (all cores)");
            AnsiConsole.MarkupLine("  [green]version[/]   print the version");
        }
    }

    /// <summary>--name value options; unknown names are rejected by the command that reads them.</summary>
    internal sealed class Args
    {
        private readonly Dictionary<string, string> _values = new();
        private readonly HashSet<string> _read = [];

        public static Args Parse(string[] args)
        {
            var a = new Args();
            for (int i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--")) throw new ArgumentException($"unexpected argument '{args[i]}' (options look like --name value)");
                if (i + 1 >= args.Length) throw new ArgumentException($"option {args[i]} needs a value");
                a._values[args[i][2..]] = args[++i];
            }
            return a;
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
            var unknown = _values.Keys.Where(k => !_read.Contains(k)).ToList();
            if (unknown.Count > 0) throw new ArgumentException($"{command}: unknown option(s) {string.Join(", ", unknown.Select(u => "--" + u))}");
        }
    }
}
