// Helpers for the checkpoint tests: the expected-values JSON shared with safetensors_ref.py
// (reading it, and writing it for tensors we saved), exact value comparison, hand-built files,
// and running the Python reference (/usr/bin/python3, or ENGINE_TEST_PYTHON) with a skip, never
// a silent pass, where Python or numpy is missing.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Models.Checkpoint;
using Xunit;

namespace Engine.Tests.Checkpoint;

/// <summary>One tensor of an expected-values JSON: file dtype, shape, row-major values as double
/// (integers exact up to 2^53, every float dtype exact), raw bytes when given.</summary>
internal sealed record ExpectedTensor(string DType, int[] Shape, double[] Values, byte[]? Raw, long[]? Offsets);

internal static class CheckpointTestSupport
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "Checkpoint");
    public static string Golden(string name) => Path.Combine(Dir, name);

    public static (Dictionary<string, ExpectedTensor> Tensors, Dictionary<string, string> Metadata) ReadExpected(JsonElement file)
    {
        var tensors = new Dictionary<string, ExpectedTensor>(StringComparer.Ordinal);
        foreach (var t in file.GetProperty("tensors").EnumerateObject())
        {
            var v = t.Value;
            tensors[t.Name] = new ExpectedTensor(
                v.GetProperty("dtype").GetString()!,
                v.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                v.GetProperty("values").EnumerateArray().Select(Num).ToArray(),
                v.TryGetProperty("hex", out var h) ? Convert.FromHexString(h.GetString()!) : null,
                v.TryGetProperty("data_offsets", out var o) ? o.EnumerateArray().Select(e => e.GetInt64()).ToArray() : null);
        }
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        if (file.TryGetProperty("metadata", out var m))
            foreach (var kv in m.EnumerateObject()) meta[kv.Name] = kv.Value.GetString()!;
        return (tensors, meta);
    }

    private static double Num(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? e.GetString() switch { "nan" => double.NaN, "inf" => double.PositiveInfinity, "-inf" => double.NegativeInfinity, var s => double.Parse(s!, CultureInfo.InvariantCulture) }
        : e.GetDouble();

    /// <summary>Our tensors as the expected-values JSON safetensors_ref.py verify reads.</summary>
    public static string ExpectedJson(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var root = new JsonObject();
        var meta = new JsonObject();
        foreach (var (k, v) in metadata ?? new Dictionary<string, string>()) meta[k] = v;
        root["metadata"] = meta;
        var ts = new JsonObject();
        foreach (var (name, t) in tensors)
        {
            var vals = new JsonArray();
            if (t.DType == DType.I32) foreach (int x in t.ToArray<int>()) vals.Add(x);
            else foreach (double x in t.ToDoubleArray()) vals.Add(Value(x));
            ts[name] = new JsonObject
            {
                ["dtype"] = SafeTensorsDTypes.FromEngine(t.DType).Name(),
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
                ["values"] = vals,
            };
        }
        root["tensors"] = ts;
        return root.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>A float as JSON: a number, or a string where JSON numbers cannot carry it exactly
    /// (NaN, infinities, and -0, which Python's json reads back as the integer 0).</summary>
    private static JsonNode Value(double x) =>
        double.IsNaN(x) ? JsonValue.Create("nan") : double.IsInfinity(x) ? JsonValue.Create(x > 0 ? "inf" : "-inf")
        : x == 0 && double.IsNegative(x) ? JsonValue.Create("-0.0") : JsonValue.Create(x);

    /// <summary>Asserts a loaded tensor equals the expected one exactly (bitwise for floats, so -0
    /// and NaN count), after the load conversion: F16/BF16 -> F32, integers -> I32.</summary>
    public static void AssertTensor(string name, ExpectedTensor e, Tensor t)
    {
        var expectDType = e.DType switch { "F32" or "F16" or "BF16" => DType.F32, "F64" => DType.F64, _ => DType.I32 };
        Assert.True(t.DType == expectDType, $"'{name}': dtype {t.DType.Name()}, expected {expectDType.Name()} (file {e.DType})");
        Assert.True(t.Shape.SequenceEqual(e.Shape), $"'{name}': shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", e.Shape)}]");
        double[] got = t.DType switch
        {
            DType.F32 => t.ToArray<float>().Select(x => (double)x).ToArray(),
            DType.F64 => t.ToArray<double>(),
            _ => t.ToArray<int>().Select(x => (double)x).ToArray(),
        };
        Assert.Equal(e.Values.Length, got.Length);
        for (int i = 0; i < got.Length; i++)
        {
            bool same = double.IsNaN(e.Values[i]) ? double.IsNaN(got[i])
                : BitConverter.DoubleToInt64Bits(e.Values[i]) == BitConverter.DoubleToInt64Bits(got[i]);
            Assert.True(same, $"'{name}' element {i}: got {got[i].ToString("R", CultureInfo.InvariantCulture)}, expected {e.Values[i].ToString("R", CultureInfo.InvariantCulture)}");
        }
    }

    /// <summary>A file from a header string (written as given: no padding added) and data bytes;
    /// <paramref name="n"/> overrides the length field.</summary>
    public static string RawFile(string path, string header, byte[]? data = null, ulong? n = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes(n ?? (ulong)h.Length));
        f.Write(h);
        f.Write(data ?? []);
        return path;
    }
}

/// <summary>The Python reference: which interpreter, and whether it can run at all here.</summary>
internal static class PythonRef
{
    public static string Script => Path.Combine(CheckpointTestSupport.Dir, "safetensors_ref.py");

    /// <summary>ENGINE_TEST_PYTHON when set (a machine whose torch/safetensors live elsewhere), else /usr/bin/python3.</summary>
    public static string Interpreter => Environment.GetEnvironmentVariable("ENGINE_TEST_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    private static readonly Lazy<string?> NumpyMissing = new(() =>
    {
        if (!File.Exists(Interpreter)) return $"{Interpreter} does not exist (set ENGINE_TEST_PYTHON to a Python 3 with numpy)";
        var (rc, output) = Run("-c", "import numpy");
        return rc == 0 ? null : $"{Interpreter} cannot import numpy: {output.Trim()}";
    });

    /// <summary>Skips the calling test, with the reason, unless Python with numpy is here.</summary>
    public static void RequireNumpy()
    {
        if (NumpyMissing.Value is { } why) Assert.Skip(why);
    }

    /// <summary>Runs the reference script; exit status 3 (a package missing) skips the test.</summary>
    public static (int Rc, string Output) RunScript(params string[] args)
    {
        RequireNumpy();
        var r = Run([Script, .. args]);
        if (r.Rc == 3) Assert.Skip($"{Interpreter} {Path.GetFileName(Script)} {args[0]}: {r.Output.Trim()}");
        return r;
    }

    public static (int Rc, string Output) Run(params string[] args)
    {
        var psi = new ProcessStartInfo(Interpreter) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"{Interpreter} {string.Join(" ", args)} ran over 120 s"); }
        return (p.ExitCode, output + err.Result);
    }
}
