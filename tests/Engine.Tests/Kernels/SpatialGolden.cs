// Loader and comparison helpers for Golden/spatial.json (written by Golden/gen_spatial.py from PyTorch).
using System.Numerics;
using System.Text.Json;
using Xunit;

namespace Engine.Tests.Kernels;

/// <summary>One golden case: named number arrays (inputs, gy, outputs, gradients), int arrays and scalars.</summary>
public sealed class GoldenCase(int index, JsonElement e)
{
    public int Index { get; } = index;
    public string Op => e.GetProperty("op").GetString()!;
    public double[] D(string name) => e.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
    public int[] I(string name) => e.GetProperty(name).EnumerateArray().Select(v => v.GetInt32()).ToArray();
    public int Int(string name) => e.GetProperty(name).GetInt32();
    public bool Bool(string name) => e.GetProperty(name).GetBoolean();
    public double Num(string name) => e.GetProperty(name).GetDouble();
    public string Str(string name) => e.GetProperty(name).GetString()!;
    public override string ToString() => $"case #{Index} ({Op})";
}

public static class SpatialGolden
{
    private static readonly Lazy<(string torch, GoldenCase[] cases)> Data = new(Load);

    public static string TorchVersion => Data.Value.torch;

    public static IEnumerable<GoldenCase> Cases(string op) => Data.Value.cases.Where(c => c.Op == op);

    private static (string, GoldenCase[]) Load()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Golden", "spatial.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        var cases = root.GetProperty("cases").EnumerateArray().Select((e, i) => new GoldenCase(i, e.Clone())).ToArray();
        return (root.GetProperty("torch").GetString()!, cases);
    }

    public static T[] Cast<T>(double[] a) where T : IFloatingPointIeee754<T>
    {
        var r = new T[a.Length];
        for (int i = 0; i < a.Length; i++) r[i] = T.CreateTruncating(a[i]);
        return r;
    }

    /// <summary>Tolerance: 1e-10 for double, 1e-5 for float (relative above magnitude 1).</summary>
    public static double Tol<T>() => typeof(T) == typeof(double) ? 1e-10 : 1e-5;

    public static void Close<T>(double[] expected, T[] actual, string what) where T : IFloatingPointIeee754<T>
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        double tol = Tol<T>();
        for (int i = 0; i < expected.Length; i++)
        {
            double a = double.CreateTruncating(actual[i]), e = expected[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (double.IsInfinity(e) && a == e) continue;
            Assert.True(Math.Abs(a - e) <= tol * Math.Max(1.0, Math.Abs(e)), $"{what}[{i}]: got {a:R}, expected {e:R} (tol {tol})");
        }
    }

    public static long Prod(int[] shape)
    {
        long p = 1;
        foreach (int s in shape) p *= s;
        return p;
    }

    /// <summary>(outer, inner) sizes around axis d of shape.</summary>
    public static (int outer, int inner) Around(int[] shape, int d)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= shape[i];
        for (int i = d + 1; i < shape.Length; i++) inner *= shape[i];
        return (outer, inner);
    }
}
