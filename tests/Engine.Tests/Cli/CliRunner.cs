// Runs the `engine` command in process (Entry.Run) with a console that writes plain text to a
// string: no colours, not interactive, 400 columns so messages do not wrap.
using Engine.Cli;
using Spectre.Console;

namespace Engine.Tests.Cli;

internal static class CliRunner
{
    public static IAnsiConsole Console(StringWriter w)
    {
        var con = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(w),
        });
        con.Profile.Width = 400;
        return con;
    }

    public static (int Code, string Output) Run(params string[] args)
    {
        var sw = new StringWriter();
        int code = Entry.Run(args, Console(sw));
        return (code, sw.ToString());
    }
}
