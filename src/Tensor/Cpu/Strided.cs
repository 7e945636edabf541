// Strided iteration for the CPU backend: coalesces dims that are contiguous in every operand, then
// walks "rows" (the innermost dim) in parallel chunks. Row callbacks receive each operand's start
// offset and the inner stride, so contiguous rows can take vectorized fast paths.
namespace Engine.Cpu;

internal delegate void RowAction(long[] offsets, long[] innerStrides, int length);

internal static class Strided
{
    /// <summary>Merges adjacent dims that are contiguous for every operand; drops size-1 dims.</summary>
    public static (int[] shape, long[][] strides) Coalesce(int[] shape, long[][] strides)
    {
        var s = new List<int>();
        var st = strides.Select(_ => new List<long>()).ToArray();
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            if (s.Count > 0)
            {
                bool merge = true;
                for (int k = 0; k < strides.Length; k++)
                    if (st[k][^1] != strides[k][i] * shape[i]) { merge = false; break; }
                if (merge)
                {
                    s[^1] *= shape[i];
                    for (int k = 0; k < strides.Length; k++) st[k][^1] = strides[k][i];
                    continue;
                }
            }
            s.Add(shape[i]);
            for (int k = 0; k < strides.Length; k++) st[k].Add(strides[k][i]);
        }
        if (s.Count == 0) { s.Add(1); foreach (var l in st) l.Add(1); }
        return ([.. s], st.Select(l => l.ToArray()).ToArray());
    }

    /// <summary>Calls row for every innermost row of the (coalesced) iteration space.</summary>
    public static void ForRows(int[] shape, long[][] strides, long[] baseOffsets, RowAction row)
    {
        long numel = 1; foreach (int d in shape) numel *= d;
        if (numel == 0) return;
        var (cs, cst) = Coalesce(shape, strides);
        int rank = cs.Length, inner = cs[^1];
        long rows = numel / inner;
        int nops = strides.Length;
        var innerStrides = cst.Select(a => a[^1]).ToArray();

        void Run(long r0, long r1)
        {
            var idx = new long[rank];
            long rem = r0;
            for (int d = rank - 2; d >= 0; d--) { idx[d] = rem % cs[d]; rem /= cs[d]; }
            var offs = new long[nops];
            for (long r = r0; r < r1; r++)
            {
                for (int k = 0; k < nops; k++)
                {
                    long o = baseOffsets[k];
                    for (int d = 0; d < rank - 1; d++) o += idx[d] * cst[k][d];
                    offs[k] = o;
                }
                row(offs, innerStrides, inner);
                for (int d = rank - 2; d >= 0; d--) { if (++idx[d] < cs[d]) break; idx[d] = 0; }
            }
        }

        CpuThreads.ForChunks(rows, numel, Run);
    }
}

/// <summary>Fixed worker count for CPU parallelism; work below a grain size stays on the caller's thread.</summary>
public static class CpuThreads
{
    private static int _count = Environment.ProcessorCount;
    public static int Count { get => _count; set => _count = Math.Max(1, value); }
    public const long Grain = 1 << 15;

    /// <summary>Splits [0, n) into at most Count chunks when total work exceeds the grain.</summary>
    public static void ForChunks(long n, long work, Action<long, long> body, int? threads = null)
    {
        int t = (int)Math.Min(threads ?? Count, Math.Max(1, Math.Min(n, work / Grain)));
        if (t <= 1) { body(0, n); return; }
        long per = (n + t - 1) / t;
        Parallel.For(0, t, new ParallelOptions { MaxDegreeOfParallelism = t }, i =>
        {
            long a = i * per, b = Math.Min(n, a + per);
            if (a < b) body(a, b);
        });
    }
}
