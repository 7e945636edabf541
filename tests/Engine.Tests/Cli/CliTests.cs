// The `engine` command line (System.CommandLine), run in process through Entry.Run with a console that
// writes to a string: --help on every command lists every option; unknown options and commands, missing
// required options and bad values exit with code 2 and a message naming the option; a library error
// (EngineException) exits with code 1 and "error: message"; none of them prints a stack trace.
// Also RunFolder (settings table + settings.json) through `engine synth`, and CommonOptions' parsers.
using System.CommandLine;
using System.Text.Json;
using Engine.Cli;
using Engine.Imaging;
using Engine.Tests.Imaging;
using Engine.Tests.Support;
using Spectre.Console;
using Xunit;

namespace Engine.Tests.Cli;

/// <summary>Entry.Run with its output captured (no colours, no progress bars, wide enough not to wrap names).</summary>
internal static class CliRun
{
    public static IAnsiConsole Console(StringWriter sw)
    {
        var con = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(sw),
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

public class CliTests
{
    private const string StackTraceLine = "   at ";

    /// <summary>Every command of the tree as its path of names (root excluded), depth first.</summary>
    private static List<(string[] Path, Command Command)> AllCommands()
    {
        var root = Entry.BuildRoot(CliRun.Console(new StringWriter()));
        var list = new List<(string[], Command)> { ([], root) };
        void Walk(Command c, string[] path)
        {
            foreach (var sub in c.Subcommands)
            {
                string[] p = [.. path, sub.Name];
                list.Add((p, sub));
                Walk(sub, p);
            }
        }
        Walk(root, []);
        return list;
    }

    private static void AssertUsageError(int code, string output, params string[] mentions)
    {
        Assert.True(code == 2, $"exit code {code}, expected 2; output:\n{output}");
        Assert.Contains("error:", output);
        foreach (var m in mentions) Assert.Contains(m, output);
        Assert.DoesNotContain(StackTraceLine, output);
    }

    [Fact]
    public void EveryCommandAndSubcommandHasHelpListingEachOption()
    {
        var commands = AllCommands();
        var names = commands.Select(c => string.Join(" ", c.Path)).ToList();
        foreach (var expected in new[] { "demo", "devices", "synth", "metrics", "metrics noise", "bench", "bench cpu", "bench gpu", "bench kernels", "bench data", "version" })
            Assert.Contains(expected, names);
        foreach (var (path, cmd) in commands)
        {
            var (code, output) = CliRun.Run([.. path, "--help"]);
            string which = "engine " + string.Join(" ", path);
            Assert.True(code == 0, $"{which} --help: exit code {code}\n{output}");
            Assert.Contains("Usage:", output);
            if (cmd.Description is { } d) Assert.Contains(d, output);
            foreach (var o in cmd.Options) Assert.True(output.Contains(o.Name), $"{which} --help does not mention {o.Name}:\n{output}");
            foreach (var s in cmd.Subcommands) Assert.True(output.Contains(s.Name), $"{which} --help does not mention subcommand {s.Name}:\n{output}");
        }
    }

    [Fact]
    public void CommonOptionsAppearWhereTheyApply()
    {
        var byPath = AllCommands().ToDictionary(c => string.Join(" ", c.Path), c => c.Command);
        bool Has(string cmd, string opt) => byPath[cmd].Options.Any(o => o.Name == opt);
        Assert.True(Has("demo", "--device") && Has("demo", "--seed"));
        Assert.True(Has("synth", "--seed") && Has("synth", "--out"));
        Assert.True(Has("bench kernels", "--device") && Has("bench gpu", "--device") && Has("bench data", "--seed"));
    }

    [Fact]
    public void NoArgumentsPrintsUsageAndExits1HelpAndVersionExit0()
    {
        var (code, output) = CliRun.Run();
        Assert.Equal(1, code);
        Assert.Contains("Usage:", output);
        Assert.Contains("synth", output);
        Assert.Contains("metrics", output);

        (code, output) = CliRun.Run("help");
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);

        foreach (var v in new[] { "version", "--version" })
        {
            (code, output) = CliRun.Run(v);
            Assert.Equal(0, code);
            Assert.StartsWith("engine ", output.TrimStart());
            Assert.Contains(".NET", output);
        }
    }

    public static TheoryData<string[]> CommandsWithAnUnknownOption()
    {
        string dir = Path.GetTempPath();
        return new TheoryData<string[]>
        {
            new[] { "demo", "--bogus-opt", "1" },
            new[] { "devices", "--bogus-opt" },
            new[] { "synth", "--degradation", "camera", "--in", dir, "--bogus-opt", "1" },
            new[] { "metrics", "--reference", dir, "--test", dir, "--bogus-opt" },
            new[] { "metrics", "noise", "--clean", dir, "--real", dir, "--synthetic", dir, "--bogus-opt" },
            new[] { "bench", "cpu", "--bogus-opt" },
            new[] { "bench", "gpu", "--bogus-opt" },
            new[] { "bench", "kernels", "--bogus-opt" },
            new[] { "bench", "data", "--bogus-opt" },
            new[] { "version", "--bogus-opt" },
            new[] { "--bogus-opt" },
        };
    }

    [Theory]
    [MemberData(nameof(CommandsWithAnUnknownOption))]
    public void UnknownOptionExits2AndNamesIt(string[] args)
    {
        var (code, output) = CliRun.Run(args);
        AssertUsageError(code, output, "--bogus-opt");
    }

    [Fact]
    public void UnknownCommandOrBenchTargetExits2AndNamesIt()
    {
        var (code, output) = CliRun.Run("frobnicate");
        AssertUsageError(code, output, "frobnicate");
        (code, output) = CliRun.Run("bench", "tpu");
        AssertUsageError(code, output, "tpu");
        (code, output) = CliRun.Run("bench");
        AssertUsageError(code, output, "name a target", "cpu|gpu|kernels|data");
    }

    [Theory]
    [InlineData("--test", "metrics", "--reference", "REF")]
    [InlineData("--reference", "metrics", "--test", "REF")]
    [InlineData("--synthetic", "metrics", "noise", "--clean", "REF", "--real", "REF")]
    [InlineData("--clean", "metrics", "noise", "--synthetic", "REF", "--real", "REF")]
    [InlineData("--in", "synth", "--degradation", "camera")]
    [InlineData("--degradation", "synth", "--in", "REF")]
    public void MissingRequiredOptionExits2AndNamesIt(string missing, params string[] args)
    {
        using var dir = new TempDir();
        var (code, output) = CliRun.Run(args.Select(a => a == "REF" ? dir.Path : a).ToArray());
        AssertUsageError(code, output, missing, "required");
    }

    [Theory]
    [InlineData("--seed", "demo", "--seed", "abc")]
    [InlineData("--seed", "demo", "--seed", "-1")]
    [InlineData("--steps", "demo", "--steps", "0")]
    [InlineData("--crop", "demo", "--crop", "4")]
    [InlineData("--lr", "demo", "--lr", "-0.5")]
    [InlineData("--lr", "demo", "--lr", "x")]
    [InlineData("--degradation", "demo", "--degradation", "blur")]
    [InlineData("--threads", "demo", "--threads", "0")]
    [InlineData("--device", "demo", "--device", "tpu")]
    [InlineData("--scale", "synth", "--degradation", "camera", "--in", "REF", "--scale", "3")]
    [InlineData("--seed", "synth", "--degradation", "camera", "--in", "REF", "--seed", "abc")]
    [InlineData("--threads", "synth", "--degradation", "camera", "--in", "REF", "--threads", "-2")]
    [InlineData("--set", "synth", "--degradation", "camera", "--in", "REF", "--set", "jpeg_min")]
    [InlineData("--degradation", "synth", "--degradation", "nosuch", "--in", "REF")]
    [InlineData("--crop", "metrics", "--reference", "REF", "--test", "REF", "--crop", "-1")]
    [InlineData("--round-y", "metrics", "--reference", "REF", "--test", "REF", "--round-y")]
    [InlineData("--bands", "metrics", "noise", "--clean", "REF", "--real", "REF", "--synthetic", "REF", "--bands", "0")]
    [InlineData("--threads", "bench", "cpu", "--threads", "1,0")]
    [InlineData("--device", "bench", "gpu", "--device", "cpu")]
    [InlineData("--reps", "bench", "gpu", "--reps", "0")]
    [InlineData("--rounds", "bench", "kernels", "--rounds", "many")]
    [InlineData("--crop", "bench", "data", "--crop", "0")]
    [InlineData("--step-ms", "bench", "data", "--step-ms", "-5")]
    public void BadValueExits2AndNamesTheOption(string option, params string[] args)
    {
        using var dir = new TempDir();
        var (code, output) = CliRun.Run(args.Select(a => a == "REF" ? dir.Path : a).ToArray());
        AssertUsageError(code, output, option);
    }

    [Fact]
    public void EngineExceptionFromACommandExits1WithErrorAndNoStackTrace()
    {
        using var dir = new TempDir();
        // synth on a folder without images: ImageIOException from SynthFolder
        string empty = Directory.CreateDirectory(dir.File("empty")).FullName;
        var (code, output) = CliRun.Run("synth", "--degradation", "gaussian", "--in", empty, "--out", dir.File("out"));
        Assert.True(code == 1, output);
        Assert.Contains("error:", output);
        Assert.Contains("no images", output);
        Assert.DoesNotContain(StackTraceLine, output);

        // metrics on a file that is not an image: ImageFormatException from ImageIO.Read
        string bad = Directory.CreateDirectory(dir.File("bad")).FullName;
        File.WriteAllBytes(Path.Combine(bad, "x.png"), [1, 2, 3, 4, 5, 6, 7, 8]);
        (code, output) = CliRun.Run("metrics", "--reference", bad, "--test", bad);
        Assert.True(code == 1, output);
        Assert.Contains("error:", output);
        Assert.Contains("x.png", output);
        Assert.DoesNotContain(StackTraceLine, output);

        // an unknown --set parameter: InvalidArgumentException from the degradation
        string one = Directory.CreateDirectory(dir.File("one")).FullName;
        ImageIO.Write(Path.Combine(one, "a.png"), ImagingTestSupport.Random8(TestData.Rng(), 8, 8));
        (code, output) = CliRun.Run("synth", "--degradation", "gaussian", "--in", one, "--out", dir.File("out2"), "--set", "no_such_param=1");
        Assert.True(code == 1, output);
        Assert.Contains("error:", output);
        Assert.Contains("no_such_param", output);
        Assert.DoesNotContain(StackTraceLine, output);
    }

    [Fact]
    public void SynthPrintsItsSettingsAndSavesThemInTheRunFolder()
    {
        var rng = TestData.Rng();
        using var dir = new TempDir();
        string input = Directory.CreateDirectory(dir.File("in")).FullName;
        foreach (var n in new[] { "a", "b" }) ImageIO.Write(Path.Combine(input, n + ".png"), ImagingTestSupport.Random8(rng, 24, 20));
        string output = dir.File("run");
        var (code, text) = CliRun.Run("synth", "--degradation", "gaussian", "--in", input, "--out", output, "--seed", "17", "--threads", "1");
        Assert.True(code == 0, text);
        Assert.True(File.Exists(Path.Combine(output, "a.png")) && File.Exists(Path.Combine(output, "b.png")), text);
        Assert.True(File.Exists(Path.Combine(output, "synth.json")));

        var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, RunFolder.SettingsName))).RootElement;
        Assert.Equal("synth", settings.GetProperty("command").GetString());
        Assert.Equal("gaussian", settings.GetProperty("degradation").GetString());
        Assert.Equal(17UL, settings.GetProperty("seed").GetUInt64());
        Assert.Equal(1, settings.GetProperty("scale").GetInt32());
        Assert.Equal(output, settings.GetProperty("out").GetString());
        Assert.Equal(JsonValueKind.Null, settings.GetProperty("targets").ValueKind);
        Assert.True(settings.GetProperty("parameters").EnumerateObject().Any());
        // the printed table names every setting, nested ones with dotted names
        Assert.Contains("setting", text);
        foreach (var p in settings.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.Object)) Assert.Contains(p.Name, text);
        foreach (var p in settings.GetProperty("parameters").EnumerateObject()) Assert.Contains("parameters." + p.Name, text);

        // --out the --in folder is refused before anything is written there
        (code, text) = CliRun.Run("synth", "--degradation", "gaussian", "--in", input, "--out", input);
        AssertUsageError(code, text, "--out");
        Assert.False(File.Exists(Path.Combine(input, RunFolder.SettingsName)));
    }

    [Fact]
    public void RunFolderDefaultsToRunsCommandTimeAndAvoidsExistingFolders()
    {
        var t = new DateTime(2031, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        string p = RunFolder.DefaultPath("bench quality", t);
        Assert.Equal(Path.Combine("runs", "bench-quality-20310203-040506"), p);

        using var dir = new TempDir();
        var sw = new StringWriter();
        var run = RunFolder.Create(dir.File("r1"), "synth", CliRun.Console(sw));
        Assert.True(Directory.Exists(run.Path));
        run.WriteSettings(new System.Text.Json.Nodes.JsonObject { ["lr"] = 0.5, ["model"] = new System.Text.Json.Nodes.JsonObject { ["width"] = 32 }, ["name"] = "x y" });
        string text = sw.ToString();
        Assert.Contains("model.width", text);
        Assert.Contains("x y", text);
        var doc = JsonDocument.Parse(File.ReadAllText(run.File(RunFolder.SettingsName))).RootElement;
        Assert.Equal(0.5, doc.GetProperty("lr").GetDouble());
        Assert.Equal(32, doc.GetProperty("model").GetProperty("width").GetInt32());

        File.WriteAllText(dir.File("afile"), "");
        Assert.Throws<ArgumentException>(() => RunFolder.Create(dir.File("afile"), "synth"));
    }

    [Fact]
    public void CommonOptionsParseTypedValuesAndRejectOthersByName()
    {
        var device = CommonOptions.Device("cpu");
        var seed = CommonOptions.Seed(3);
        var preset = CommonOptions.Preset("small", "small", "large");
        var outDir = CommonOptions.Out("train");
        var cmd = new RootCommand { device, seed, preset, outDir };

        var ok = cmd.Parse(["--device", "cuda:1", "--seed", "18446744073709551615", "--preset", "large", "--out", "r"]);
        Assert.Empty(ok.Errors);
        Assert.Equal(Device.Cuda(1), ok.GetValue(device));
        Assert.Equal(ulong.MaxValue, ok.GetValue(seed));
        Assert.Equal("large", ok.GetValue(preset));
        Assert.Equal("r", ok.GetValue(outDir));

        var defaults = cmd.Parse([]);
        Assert.Empty(defaults.Errors);
        Assert.Equal(Device.Cpu, defaults.GetValue(device));
        Assert.Equal(3UL, defaults.GetValue(seed));
        Assert.Equal("small", defaults.GetValue(preset));
        Assert.Null(defaults.GetValue(outDir));

        foreach (var (args, name) in new[] { (new[] { "--preset", "huge" }, "--preset"), (["--seed", "1.5"], "--seed"), (["--device", "cuda:-1"], "--device") })
        {
            var bad = cmd.Parse(args);
            Assert.NotEmpty(bad.Errors);
            Assert.Contains(name, bad.Errors[0].Message);
        }
        Assert.Throws<ArgumentException>(() => CommonOptions.Preset("medium", "small", "large"));
    }
}
