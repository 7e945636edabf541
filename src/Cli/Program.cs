// The `engine` command, parsed with System.CommandLine. Commands so far: demo (a small end-to-end
// training run on generated data), devices, synth, metrics (+ metrics noise), bench cpu|gpu|kernels|data,
// version. Later issues add train, degrade, restore, eval.
// Exit codes: 0 success (and --help); 1 a library error (EngineException: "error: message") or `engine`
// with no arguments (usage printed, nothing run); 2 wrong or missing arguments (unknown option or command,
// bad value, missing required option, or an ArgumentException a command throws for its inputs).
// No stack trace is printed for any of these.
using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using Engine.Cli;
using Spectre.Console;

return Entry.Run(args);

namespace Engine.Cli
{
    internal static class Entry
    {
        public const int UsageError = 2, Failure = 1;

        /// <summary>Runs one command; <paramref name="console"/> (default: the terminal) receives all output,
        /// help and error messages included.</summary>
        public static int Run(string[] args, IAnsiConsole? console = null)
        {
            var con = console ?? AnsiConsole.Console;
            var writer = con.Profile.Out.Writer;
            if (args.Length == 1 && args[0] == "help") args = ["--help"];
            var root = BuildRoot(con);
            var parse = root.Parse(args);
            if (parse.Action is ParseErrorAction)
            {
                foreach (var e in parse.Errors) con.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                con.MarkupLine(Markup.Escape($"see '{CommandPath(parse.CommandResult)} --help' for the options"));
                return UsageError;
            }
            try
            {
                Engine.Cuda.CudaSetup.Register();
                return parse.Invoke(new InvocationConfiguration { Output = writer, Error = writer, EnableDefaultExceptionHandler = false });
            }
            catch (ArgumentException e)
            {
                con.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                return UsageError;
            }
            catch (EngineException e)
            {
                con.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                return Failure;
            }
        }

        /// <summary>The command tree; every command writes to <paramref name="con"/>.</summary>
        internal static RootCommand BuildRoot(IAnsiConsole con)
        {
            var root = new RootCommand("engine - learn and synthesize realistic image degradations");
            // our own --version (prints the runtime and core count too) in place of the built-in one
            foreach (var v in root.Options.OfType<VersionOption>().ToList()) root.Options.Remove(v);
            var version = Opt.Flag("version", "print the version");
            root.Options.Add(version);
            root.SetAction(pr =>
            {
                if (pr.GetValue(version)) return PrintVersion(con);
                new HelpAction().Invoke(pr);
                return Failure;   // `engine` alone: usage, nothing done
            });

            root.Subcommands.Add(DemoCommand.Build(con));
            root.Subcommands.Add(DevicesCommand.Build(con));
            root.Subcommands.Add(SynthCommand.Build(con));
            root.Subcommands.Add(MetricsCommand.Build(con));
            root.Subcommands.Add(Train.TrainCommand.Build(con));
            root.Subcommands.Add(Train.DegradeCommand.Build(con));
            root.Subcommands.Add(Restore.RestoreCommand.Build(con));
            root.Subcommands.Add(BenchCommand.Build(con));
            var versionCmd = new Command("version", "print the version");
            versionCmd.SetAction(_ => PrintVersion(con));
            root.Subcommands.Add(versionCmd);
            return root;
        }

        private static int PrintVersion(IAnsiConsole con)
        {
            con.MarkupLine(Markup.Escape($"engine {typeof(Entry).Assembly.GetName().Version} (.NET {Environment.Version}, {Environment.ProcessorCount} cores)"));
            return 0;
        }

        private static string CommandPath(System.CommandLine.Parsing.CommandResult r)
        {
            var names = new List<string>();
            for (System.CommandLine.Parsing.SymbolResult? s = r; s is not null; s = s.Parent)
                if (s is System.CommandLine.Parsing.CommandResult c) names.Add(c.Command is RootCommand ? "engine" : c.Command.Name);
            names.Reverse();
            return string.Join(" ", names);
        }
    }
}
