// Access to the PyTorch goldens written by gen_restoration.py (beside this file; provenance in
// restoration.json): tensors as (values, shape), plus comparison helpers that report the first
// mismatching index with both values and the max abs error.
using Engine.Models.Checkpoint;
using Xunit;

namespace Engine.Tests.Restoration;

internal static class RestorationGolden
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "Restoration");

    private static readonly Lazy<Dictionary<string, (double[] Values, int[] Shape)>> Values = new(() =>
    {
        using var scope = TensorScope.Begin();
        var (t, _) = SafeTensors.Load(Path.Combine(Dir, "restoration_golden.safetensors"));
        return t.ToDictionary(kv => kv.Key, kv => (kv.Value.ToDoubleArray(), kv.Value.Shape));
    });

    public static double[] Get(string name) => Values.Value[name].Values;

    /// <summary>A golden tensor as a new tensor of the given dtype and device (in the current scope).</summary>
    public static Tensor AsTensor(string name, DType dtype, Device device)
    {
        var (v, s) = Values.Value[name];
        using var host = Tensor.FromArray(v, s);
        using var cast = host.To(dtype);
        return cast.To(device);
    }

    /// <summary>Model weights from a golden safetensors file (integers converted to I32, as a PyTorch checkpoint needs).</summary>
    public static Dictionary<string, Tensor> Weights(string file)
        => SafeTensors.Load(Path.Combine(Dir, file), new SafeTensorsLoadOptions { ConvertIntegersToI32 = true }).Tensors;

    /// <summary>|got - want| <= tol * max(1, |want|) elementwise; the message names the case.</summary>
    public static void Close(string what, double[] want, Tensor got, double tol)
    {
        var g = got.ToDoubleArray();
        Assert.True(want.Length == g.Length, $"{what}: {g.Length} values, golden has {want.Length}");
        double maxAbs = 0; int first = -1;
        for (int i = 0; i < g.Length; i++)
        {
            double e = Math.Abs(g[i] - want[i]);
            maxAbs = Math.Max(maxAbs, e);
            if (first < 0 && !(e <= tol * Math.Max(1, Math.Abs(want[i])))) first = i;
        }
        Assert.True(first < 0, first < 0 ? "" : $"{what}: first mismatch at [{first}]: ours {g[first]:R} vs torch {want[first]:R}; max abs error {maxAbs:E3}, tol {tol:E1}");
    }
}
