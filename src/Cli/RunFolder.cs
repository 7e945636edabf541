// The folder a command writes its outputs to (--out RUN), shared by the commands that produce files.
// Default: runs/<command>-<yyyyMMdd-HHmmss> (UTC) under the working directory, with -2, -3, ... when two
// runs start in the same second. WriteSettings prints every setting as a table when the run starts and
// saves them as settings.json in the folder, so a run's outputs always carry the settings that made them.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Engine.Cli;

internal sealed class RunFolder
{
    public const string SettingsName = "settings.json";

    private readonly IAnsiConsole _console;

    /// <summary>The folder, as given or generated (created on disk).</summary>
    public string Path { get; }

    private RunFolder(string path, IAnsiConsole console)
    {
        Path = path;
        _console = console;
    }

    /// <summary>Creates <paramref name="outDir"/>, or runs/&lt;command&gt;-&lt;UTC time&gt; when it is null.</summary>
    public static RunFolder Create(string? outDir, string command, IAnsiConsole? console = null, DateTime? utcNow = null)
    {
        string path = outDir ?? DefaultPath(command, utcNow ?? DateTime.UtcNow);
        if (System.IO.File.Exists(path)) throw new ArgumentException($"--out '{path}' is a file, not a folder");
        try { Directory.CreateDirectory(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--out '{path}': cannot create the folder ({e.Message})");
        }
        return new RunFolder(path, console ?? AnsiConsole.Console);
    }

    /// <summary>runs/&lt;command&gt;-&lt;yyyyMMdd-HHmmss&gt;, with a -N suffix if that folder exists already.</summary>
    internal static string DefaultPath(string command, DateTime utcNow)
    {
        string name = command.Replace(' ', '-') + "-" + utcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        string path = System.IO.Path.Combine("runs", name);
        for (int k = 2; Directory.Exists(path) || System.IO.File.Exists(path); k++) path = System.IO.Path.Combine("runs", $"{name}-{k}");
        return path;
    }

    /// <summary>A path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Prints every setting (nested objects as dotted names) and writes them to settings.json.</summary>
    public void WriteSettings(JsonObject settings)
    {
        var table = new Table().AddColumn("setting").AddColumn("value");
        foreach (var (key, value) in Flatten("", settings)) table.AddRow(Markup.Escape(key), Markup.Escape(value));
        _console.Write(table);
        string file = File(SettingsName);
        try { System.IO.File.WriteAllText(file, settings.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--out '{Path}': cannot write {SettingsName} ({e.Message})");
        }
    }

    /// <summary>(dotted name, printed value) for every leaf; strings unquoted, null as "-".</summary>
    internal static IEnumerable<(string Key, string Value)> Flatten(string prefix, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o)
                    foreach (var row in Flatten(prefix.Length == 0 ? k : prefix + "." + k, v)) yield return row;
                break;
            case null:
                yield return (prefix, "-");
                break;
            case JsonValue v when v.TryGetValue(out string? s):
                yield return (prefix, s);
                break;
            default:
                yield return (prefix, node.ToJsonString());
                break;
        }
    }
}
