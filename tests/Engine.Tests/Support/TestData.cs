// Seeded test data: every random input in a test comes from a generator whose seed is derived
// from the test's name, so a failure reproduces exactly.
using System.Runtime.CompilerServices;

namespace Engine.Tests.Support;

public static class TestData
{
    /// <summary>A System.Random seeded from a stable (FNV-1a) hash of the calling test's name.</summary>
    public static System.Random Rng([CallerMemberName] string name = "", int salt = 0)
    {
        uint h = 2166136261;
        foreach (char c in name) { h ^= c; h *= 16777619; }
        h ^= (uint)salt; h *= 16777619;
        return new System.Random((int)(h & 0x7fffffff));
    }

    public static float[] Floats(System.Random rng, int n, double lo = -1, double hi = 1)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(lo + (hi - lo) * rng.NextDouble());
        return a;
    }

    public static double[] Doubles(System.Random rng, int n, double lo = -1, double hi = 1)
    {
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.NextDouble();
        return a;
    }
}
