// Option factories for the `engine` commands (System.CommandLine). Every typed option parses its
// own value and reports a bad one as a parse error that names the option ("--steps must be an
// integer >= 1, got 'abc'"), so Entry turns it into exit code 2 before any command runs.
// CommonOptions holds the options several commands share (--device, --seed, --out, --preset), so
// each reads and validates them the same way.
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Engine.Cli;

/// <summary>Typed option builders with range checks whose messages name the option.</summary>
internal static class Opt
{
    /// <summary>--name N: an integer in [min, max], <paramref name="def"/> when absent.</summary>
    public static Option<int> Int(string name, int def, string description, int min = int.MinValue, int max = int.MaxValue) =>
        new("--" + name)
        {
            Description = description,
            HelpName = "N",
            DefaultValueFactory = _ => def,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return def;
                string s = r.Tokens[0].Value;
                if (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max) return v;
                r.AddError($"--{name} must be an integer {Range(min, max)}, got '{s}'");
                return def;
            },
        };

    /// <summary>--name N: one of <paramref name="allowed"/>, <paramref name="def"/> when absent.</summary>
    public static Option<int> IntOneOf(string name, int def, string description, params int[] allowed) =>
        new("--" + name)
        {
            Description = description,
            HelpName = string.Join("|", allowed),
            DefaultValueFactory = _ => def,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return def;
                string s = r.Tokens[0].Value;
                if (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && allowed.Contains(v)) return v;
                r.AddError($"--{name} must be {OneOf(allowed)}, got '{s}'");
                return def;
            },
        };

    /// <summary>A check across options, run at parse time (its errors exit with code 2). It is skipped when an
    /// option it reads failed to parse: that option's own error is reported, and reading its value would throw.</summary>
    public static void AddCheck(Command cmd, Action<CommandResult> check) =>
        cmd.Validators.Add(r =>
        {
            try { check(r); }
            catch (InvalidOperationException) { }
        });

    private static string OneOf(int[] allowed) =>
        allowed.Length == 1 ? allowed[0].ToString(CultureInfo.InvariantCulture)
            : string.Join(", ", allowed[..^1]) + " or " + allowed[^1];

    /// <summary>--name X: a finite number >= min, <paramref name="def"/> when absent.</summary>
    public static Option<double> Double(string name, double def, string description, double min = double.MinValue) =>
        new("--" + name)
        {
            Description = description,
            HelpName = "X",
            DefaultValueFactory = _ => def,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return def;
                string s = r.Tokens[0].Value;
                if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v >= min) return v;
                r.AddError($"--{name} must be a number >= {min.ToString(CultureInfo.InvariantCulture)}, got '{s}'");
                return def;
            },
        };

    /// <summary>--name 1,2,...: a comma-separated list of integers >= min; null when absent.</summary>
    public static Option<int[]?> IntList(string name, string description, int min = int.MinValue) =>
        new("--" + name)
        {
            Description = description,
            HelpName = "N,N,...",
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return null;
                string s = r.Tokens[0].Value;
                var parts = s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                var v = new int[parts.Length];
                for (int i = 0; i < parts.Length; i++)
                    if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out v[i]) || v[i] < min)
                    {
                        r.AddError($"--{name} must be a comma-separated list of integers >= {min}, got '{s}'");
                        return null;
                    }
                if (v.Length == 0) r.AddError($"--{name} needs at least one value");
                return v;
            },
        };

    /// <summary>--name VALUE: free text (a path, a filter); null when absent unless required.</summary>
    public static Option<string?> String(string name, string helpName, string description, bool required = false) =>
        new("--" + name) { Description = description, HelpName = helpName, Required = required };

    /// <summary>--name: a switch.</summary>
    public static Option<bool> Flag(string name, string description) => new("--" + name) { Description = description };

    /// <summary>--name VALUE: one of <paramref name="names"/> (case-sensitive), <paramref name="def"/> when absent.</summary>
    public static Option<string> StringOneOf(string name, string def, string description, params string[] names)
    {
        if (!names.Contains(def)) throw new ArgumentException($"--{name}: default '{def}' is not one of {string.Join(", ", names)}");
        return new Option<string>("--" + name)
        {
            Description = $"{description}: {string.Join(", ", names)}",
            HelpName = "NAME",
            DefaultValueFactory = _ => def,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return def;
                string s = r.Tokens[0].Value;
                if (names.Contains(s)) return s;
                r.AddError($"--{name} must be one of {string.Join(", ", names)}, got '{s}'");
                return def;
            },
        };
    }

    private static string Range(int min, int max) =>
        max == int.MaxValue ? $">= {min}" : min == int.MinValue ? $"<= {max}" : $"in [{min}, {max}]";
}

/// <summary>The options shared by the commands that take them: --device, --seed, --out, --preset.</summary>
internal static class CommonOptions
{
    /// <summary>--device cpu|cuda[:N]; <paramref name="cudaOnly"/> rejects cpu at parse time.</summary>
    public static Option<Device> Device(string def = "cpu", bool cudaOnly = false) =>
        new("--device")
        {
            Description = cudaOnly ? "the GPU: cuda or cuda:N" : "where tensors live: cpu, cuda or cuda:N",
            HelpName = cudaOnly ? "cuda[:N]" : "cpu|cuda[:N]",
            DefaultValueFactory = _ => Engine.Device.Parse(def),
            CustomParser = r =>
            {
                var fallback = Engine.Device.Parse(def);
                if (r.Tokens.Count == 0) return fallback;
                string s = r.Tokens[0].Value;
                Device d;
                try { d = Engine.Device.Parse(s); }
                catch (ArgumentException e)
                {
                    r.AddError($"--device: {e.Message}");
                    return fallback;
                }
                if (cudaOnly && d.Type != DeviceType.Cuda)
                {
                    r.AddError($"--device must be cuda or cuda:N, got '{s}'");
                    return fallback;
                }
                return d;
            },
        };

    /// <summary>--seed N: the seed of every random draw of the run (a non-negative integer).</summary>
    public static Option<ulong> Seed(ulong def) =>
        new("--seed")
        {
            Description = "seed of every random draw (same seed, same result)",
            HelpName = "N",
            DefaultValueFactory = _ => def,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return def;
                string s = r.Tokens[0].Value;
                if (ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v)) return v;
                r.AddError($"--seed must be a non-negative integer, got '{s}'");
                return def;
            },
        };

    /// <summary>--out RUN: the run folder (RunFolder.Create; default runs/&lt;command&gt;-&lt;time&gt;).</summary>
    public static Option<string?> Out(string command, string what = "the run's outputs") =>
        new("--out")
        {
            Description = $"folder for {what} (default runs/{command}-<yyyyMMdd-HHmmss>)",
            HelpName = "RUN",
        };

    /// <summary>--preset NAME: one of <paramref name="names"/> (case-sensitive), <paramref name="def"/> when absent.</summary>
    public static Option<string> Preset(string def, params string[] names) => Opt.StringOneOf("preset", def, "a named set of defaults", names);
}
