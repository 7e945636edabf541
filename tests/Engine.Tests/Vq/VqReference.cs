// Straightforward references for the VQ tests (no blocking, no vectorization, no shared code with
// the kernels): fp64 brute-force nearest code on the direct form ||x - e||^2, the per-code row sum
// in the documented order, and the EMA update written out from the VQ-VAE-2 / rosinality formulas.
// Also seeded data builders and the device rows (cpu, cuda, emu) x dtype.
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Vq;

public static class VqReference
{
    public static TheoryData<string, string> DeviceDTypeRows()
    {
        var r = new TheoryData<string, string>();
        foreach (var dev in TestDevices.All)
            foreach (var dt in new[] { "f32", "f64" }) r.Add(dev, dt);
        return r;
    }

    public static DType Parse(string dt) => dt == "f64" ? DType.F64 : DType.F32;

    /// <summary>Standard normal draws from a seeded System.Random (Box-Muller).</summary>
    public static double[] Normal(System.Random rng, int n, double scale = 1)
    {
        var a = new double[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            a[i] = scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
        return a;
    }

    /// <summary>Values rounded to the dtype, so the reference sees exactly what the op sees.</summary>
    public static double[] Round(double[] v, DType dt) => dt == DType.F64 ? (double[])v.Clone() : Array.ConvertAll(v, x => (double)(float)x);

    public static Tensor Put(double[] v, int[] shape, DType dt, Device dev)
    {
        using var t = dt == DType.F64 ? Tensor.FromArray(v, shape) : Tensor.FromArray(Array.ConvertAll(v, x => (float)x), shape);
        return t.To(dev);
    }

    public static Tensor PutIdx(int[] v, Device dev)
    {
        using var t = Tensor.FromArray(v, [v.Length]);
        return t.To(dev);
    }

    public static double[] Get(Tensor t)
    {
        using var c = t.To(Device.Cpu);
        return c.ToDoubleArray();
    }

    public static int[] GetIdx(Tensor t)
    {
        using var c = t.To(Device.Cpu);
        return c.ToArray<int>();
    }

    /// <summary>Nearest code by the direct squared distance in double; lowest index on exact ties.</summary>
    public static (int[] Idx, double[] Dist, double[] Gap) Nearest(double[] x, double[] e, int n, int k, int d)
    {
        var idx = new int[n];
        var dist = new double[n];
        var gap = new double[n]; // distance to the runner-up, for judging near ties
        Parallel.For(0, n, i =>
        {
            double best = double.PositiveInfinity, second = double.PositiveInfinity;
            int bi = 0;
            for (int c = 0; c < k; c++)
            {
                double s = 0;
                for (int j = 0; j < d; j++)
                {
                    double t = x[i * d + j] - e[c * d + j];
                    s += t * t;
                }
                if (s < best) { second = best; best = s; bi = c; }
                else if (s < second) second = s;
            }
            idx[i] = bi; dist[i] = best; gap[i] = second - best;
        });
        return (idx, dist, gap);
    }

    /// <summary>y[k] = sum of src rows with idx == k, added in increasing row order onto +0, in the
    /// dtype's arithmetic (float rounding after every add for f32).</summary>
    public static double[] SegmentSum(double[] src, int[] idx, int k, int d, DType dt)
    {
        var y = new double[k * d];
        if (dt == DType.F32)
        {
            var yf = new float[k * d];
            for (int i = 0; i < idx.Length; i++)
                for (int j = 0; j < d; j++) yf[idx[i] * d + j] += (float)src[i * d + j];
            return Array.ConvertAll(yf, v => (double)v);
        }
        for (int i = 0; i < idx.Length; i++)
            for (int j = 0; j < d; j++) y[idx[i] * d + j] += src[i * d + j];
        return y;
    }

    public sealed record EmaState(double[] Codebook, double[] ClusterSize, double[] EmbedSum, int[] Counts);

    /// <summary>
    /// The EMA update as the formulas read, in double:
    ///   N = decay N + (1 - decay) n;  m = decay m + (1 - decay) s;  total = sum N;
    ///   e = m / ((N + eps) / (total + K eps) * total);
    ///   codes with N &lt; threshold (threshold &gt; 0): e = x_r, N = threshold, m = threshold x_r with r = restartRow(c).
    /// </summary>
    public static EmaState Ema(double[] x, int[] idx, int k, int d, EmaState s, double decay, double eps, double threshold, Func<int, int> restartRow)
    {
        int n = idx.Length;
        var counts = new int[k];
        var sums = new double[k * d];
        for (int i = 0; i < n; i++)
        {
            counts[idx[i]]++;
            for (int j = 0; j < d; j++) sums[idx[i] * d + j] += x[i * d + j];
        }
        var N = new double[k];
        var m = new double[k * d];
        var e = new double[k * d];
        for (int c = 0; c < k; c++) N[c] = decay * s.ClusterSize[c] + (1 - decay) * counts[c];
        double total = N.Sum();
        for (int c = 0; c < k; c++)
        {
            if (threshold > 0 && n > 0 && N[c] < threshold)
            {
                int r = restartRow(c);
                for (int j = 0; j < d; j++) { e[c * d + j] = x[r * d + j]; m[c * d + j] = threshold * x[r * d + j]; }
                N[c] = threshold;
                continue;
            }
            double smooth = (N[c] + eps) / (total + k * eps) * total;
            for (int j = 0; j < d; j++)
            {
                m[c * d + j] = decay * s.EmbedSum[c * d + j] + (1 - decay) * sums[c * d + j];
                e[c * d + j] = m[c * d + j] / smooth;
            }
        }
        return new EmaState(e, N, m, counts);
    }

    /// <summary>First index where a and b differ (bitwise for doubles, NaN equal to NaN), or -1.</summary>
    public static int FirstDifference(double[] a, double[] b)
    {
        if (a.Length != b.Length) return Math.Min(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.DoubleToInt64Bits(a[i]) != BitConverter.DoubleToInt64Bits(b[i]) && !(double.IsNaN(a[i]) && double.IsNaN(b[i]))) return i;
        return -1;
    }

    public static int FirstDifference(int[] a, int[] b)
    {
        if (a.Length != b.Length) return Math.Min(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return i;
        return -1;
    }

    /// <summary>Asserts bitwise equality and names the case, the first mismatch and the max abs/rel error.</summary>
    public static void AssertSameBits(double[] expected, double[] actual, string what)
    {
        int i = FirstDifference(expected, actual);
        if (i < 0) return;
        double maxAbs = 0, maxRel = 0;
        for (int j = 0; j < Math.Min(expected.Length, actual.Length); j++)
        {
            double dlt = Math.Abs(expected[j] - actual[j]);
            if (double.IsNaN(dlt)) continue;
            maxAbs = Math.Max(maxAbs, dlt);
            if (expected[j] != 0) maxRel = Math.Max(maxRel, dlt / Math.Abs(expected[j]));
        }
        Assert.Fail($"{what}: not bitwise equal; first difference at {i}: expected {(i < expected.Length ? expected[i] : double.NaN):R}, got {(i < actual.Length ? actual[i] : double.NaN):R} (lengths {expected.Length}/{actual.Length}, max abs {maxAbs:E3}, max rel {maxRel:E3})");
    }

    public static void AssertClose(double[] expected, double[] actual, double rtol, double atol, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        double maxAbs = 0, maxRel = 0;
        int first = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double dlt = Math.Abs(expected[i] - actual[i]);
            bool ok = dlt <= atol + rtol * Math.Abs(expected[i]) || (double.IsNaN(expected[i]) && double.IsNaN(actual[i]));
            if (!double.IsNaN(dlt)) { maxAbs = Math.Max(maxAbs, dlt); if (expected[i] != 0) maxRel = Math.Max(maxRel, dlt / Math.Abs(expected[i])); }
            if (!ok && first < 0) first = i;
        }
        if (first >= 0)
            Assert.Fail($"{what}: first mismatch at {first}: expected {expected[first]:R}, got {actual[first]:R} (rtol {rtol:E1}, atol {atol:E1}; max abs {maxAbs:E3}, max rel {maxRel:E3})");
    }
}
