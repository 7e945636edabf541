// The iteration space of an elementwise kernel: one shape and up to four operands' strides,
// passed by value to kernels as `Geom` (kernels-cu/common.cuh has the identical layout). Dims
// contiguous in every operand are merged and size-1 dims dropped first, so most calls reach the
// kernel as rank 1 (the contiguous fast path).
using System.Runtime.InteropServices;

namespace Engine.Cuda;

[StructLayout(LayoutKind.Sequential)]
public unsafe struct Geom
{
    public const int MaxRank = 8, MaxOperands = 4;
    public long N;
    public int Rank;
    public int Contiguous; // 1 when every operand is dense with unit inner stride (rank 1, stride 1)
    public fixed long Shape[MaxRank];
    public fixed long Strides[MaxOperands * MaxRank]; // operand k, dim d at [k * MaxRank + d]

    /// <summary>Builds the geometry for operands of one common shape (strides in elements).</summary>
    public static Geom Build(string op, int[] shape, params Layout[] operands)
    {
        if (operands.Length > MaxOperands) throw new ArgumentException($"at most {MaxOperands} operands");
        // Merge dims contiguous in every operand; drop size-1 dims.
        var s = new List<long>();
        var st = new List<long>[operands.Length];
        for (int k = 0; k < st.Length; k++) st[k] = [];
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            bool merge = s.Count > 0;
            for (int k = 0; merge && k < operands.Length; k++)
                if (st[k][^1] != operands[k].Strides[i] * shape[i]) merge = false;
            if (merge)
            {
                s[^1] *= shape[i];
                for (int k = 0; k < operands.Length; k++) st[k][^1] = operands[k].Strides[i];
                continue;
            }
            s.Add(shape[i]);
            for (int k = 0; k < operands.Length; k++) st[k].Add(operands[k].Strides[i]);
        }
        if (s.Count > MaxRank)
            throw new UnsupportedOpException(op, $"cuda: {s.Count} non-mergeable dims of shape {Fmt.Shape(shape)} exceed the kernel limit of {MaxRank}");
        var g = new Geom { Rank = s.Count };
        long n = 1;
        for (int d = 0; d < s.Count; d++)
        {
            g.Shape[d] = s[d]; n *= s[d];
            for (int k = 0; k < operands.Length; k++) g.Strides[k * MaxRank + d] = st[k][d];
        }
        foreach (int d in shape) if (d == 0) n = 0;
        g.N = n;
        bool contig = s.Count <= 1;
        for (int k = 0; contig && k < operands.Length; k++) if (s.Count == 1 && st[k][0] != 1) contig = false;
        g.Contiguous = contig ? 1 : 0;
        if (s.Count == 0) { g.Rank = 1; g.Shape[0] = 1; for (int k = 0; k < operands.Length; k++) g.Strides[k * MaxRank] = 1; }
        return g;
    }
}
