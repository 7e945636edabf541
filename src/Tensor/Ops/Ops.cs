// The op layer: validation (typed errors before any allocation), broadcasting, output allocation
// and dispatch to the storage-level backend. One partial file per op family.
namespace Engine;

public static partial class Ops
{
    internal static void CheckSameDevice(string op, Tensor a, Tensor b)
    {
        if (a.Device != b.Device) throw new DeviceMismatchException(op, $"{Fmt.Of(a)} vs {Fmt.Of(b)}");
    }

    internal static void CheckSameDType(string op, Tensor a, Tensor b)
    {
        if (a.DType != b.DType) throw new DTypeMismatchException(op, $"{Fmt.Of(a)} vs {Fmt.Of(b)}");
    }

    internal static void CheckFloat(string op, Tensor a)
    {
        if (!a.DType.IsFloat()) throw new DTypeMismatchException(op, $"needs a floating tensor, got {Fmt.Of(a)}");
    }

    internal static void CheckIndex(string op, Tensor idx)
    {
        if (idx.DType != DType.I32) throw new DTypeMismatchException(op, $"index must be i32, got {Fmt.Of(idx)}");
    }

    internal static void CheckRank(string op, Tensor a, int rank, string what)
    {
        if (a.Rank != rank) throw new RankException(op, $"{what} must have rank {rank}, got {Fmt.Of(a)}");
    }

    /// <summary>NumPy broadcasting of two shapes.</summary>
    public static int[] BroadcastShape(string op, int[] a, int[] b)
    {
        int n = Math.Max(a.Length, b.Length);
        var r = new int[n];
        for (int i = 0; i < n; i++)
        {
            int da = i - (n - a.Length) >= 0 ? a[i - (n - a.Length)] : 1;
            int db = i - (n - b.Length) >= 0 ? b[i - (n - b.Length)] : 1;
            if (da != db && da != 1 && db != 1) throw new ShapeMismatchException(op, $"cannot broadcast {Fmt.Shape(a)} with {Fmt.Shape(b)}");
            r[i] = da == 1 ? db : da;
        }
        return r;
    }

    internal static int[] NormAxes(string op, int[]? axes, int rank)
    {
        if (axes == null || axes.Length == 0) return Enumerable.Range(0, rank).ToArray();
        var r = axes.Select(a => Tensor.NormDim(op, a, rank)).Distinct().OrderBy(a => a).ToArray();
        if (r.Length != axes.Length) throw new InvalidArgumentException(op, $"repeated axis in [{string.Join(", ", axes)}]");
        return r;
    }
}
