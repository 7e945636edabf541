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
        long n = 1;
        foreach (int d in shape) n *= d;
        // Merge dims contiguous in every operand and drop size-1 dims: the CPU backend's rule, shared.
        var (cs, cst) = Engine.Cpu.Strided.Coalesce(shape, operands.Select(o => o.Strides).ToArray());
        if (cs.Length > MaxRank)
            throw new UnsupportedOpException(op, $"cuda: {cs.Length} non-mergeable dims of shape {Fmt.Shape(shape)} exceed the kernel limit of {MaxRank}");
        var g = new Geom { N = n, Rank = cs.Length };
        bool contig = cs.Length == 1;
        for (int d = 0; d < cs.Length; d++)
        {
            g.Shape[d] = cs[d];
            for (int k = 0; k < operands.Length; k++)
            {
                g.Strides[k * MaxRank + d] = cst[k][d];
                if (cst[k][d] != 1) contig = false;
            }
        }
        g.Contiguous = contig ? 1 : 0;
        return g;
    }
}
