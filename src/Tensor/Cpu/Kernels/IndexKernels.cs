// Gather / scatter-add / index-select / index-add along one axis of contiguous buffers viewed as
// (outer, dim, inner), PyTorch semantics, generic over float and double; index buffers are int32.
// Gather and IndexSelect OVERWRITE y; ScatterAdd and IndexAdd ACCUMULATE into y (y += ...), so the
// caller initialises y (zero for a gradient, a copy of the input for out-of-place ops).
// Every index is validated before anything is written: one outside [0, dim) (negative included) throws
// ArgumentOutOfRangeException naming the index value and its flat position in idx.
// Large calls (> 64K elements) run in parallel over (outer, inner-chunk) blocks; the scattered axis is
// always walked sequentially inside one block, so duplicate indices accumulate in a fixed order and the
// results are deterministic.
using System.Numerics;

namespace Engine.Cpu.Kernels;

public static unsafe class IndexKernels
{
    private const long ParallelThreshold = 1 << 16;
    private const int InnerChunk = 4096;

    /// <summary>y[o, j, i] = x[o, idx[o, j, i], i]; idx and y are (outer, dimIdx, inner), x is (outer, dimX, inner).</summary>
    public static void Gather<T>(int outer, int dimX, int dimIdx, int inner, T* x, int* idx, T* y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckSizes("Gather", outer, dimX, dimIdx, inner);
        CheckIndices("Gather", idx, (long)outer * dimIdx * inner, dimX);
        ForBlocks(outer, inner, (long)outer * dimIdx * inner, (o, i0, i1) =>
        {
            T* xs = x + (long)o * dimX * inner;
            for (int j = 0; j < dimIdx; j++)
            {
                long row = ((long)o * dimIdx + j) * inner;
                int* ir = idx + row;
                T* yr = y + row;
                for (int i = i0; i < i1; i++) yr[i] = xs[(long)ir[i] * inner + i];
            }
        });
    }

    /// <summary>y[o, idx[o, j, i], i] += src[o, j, i]; idx and src are (outer, dimIdx, inner), y is
    /// (outer, dimY, inner). Duplicates add in increasing j.</summary>
    public static void ScatterAdd<T>(int outer, int dimY, int dimIdx, int inner, T* y, int* idx, T* src)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckSizes("ScatterAdd", outer, dimY, dimIdx, inner);
        CheckIndices("ScatterAdd", idx, (long)outer * dimIdx * inner, dimY);
        ForBlocks(outer, inner, (long)outer * dimIdx * inner, (o, i0, i1) =>
        {
            T* ys = y + (long)o * dimY * inner;
            for (int j = 0; j < dimIdx; j++)
            {
                long row = ((long)o * dimIdx + j) * inner;
                int* ir = idx + row;
                T* sr = src + row;
                for (int i = i0; i < i1; i++) ys[(long)ir[i] * inner + i] += sr[i];
            }
        });
    }

    /// <summary>y[o, j, i] = x[o, idx[j], i] for j &lt; nIdx; x is (outer, dimX, inner), y is (outer, nIdx, inner).</summary>
    public static void IndexSelect<T>(int outer, int dimX, int inner, T* x, int* idx, int nIdx, T* y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckSizes("IndexSelect", outer, dimX, nIdx, inner);
        CheckIndices("IndexSelect", idx, nIdx, dimX);
        ForBlocks(outer, inner, (long)outer * nIdx * inner, (o, i0, i1) =>
        {
            for (int j = 0; j < nIdx; j++)
            {
                T* xr = x + ((long)o * dimX + idx[j]) * inner;
                T* yr = y + ((long)o * nIdx + j) * inner;
                new Span<T>(xr + i0, i1 - i0).CopyTo(new Span<T>(yr + i0, i1 - i0));
            }
        });
    }

    /// <summary>y[o, idx[j], i] += src[o, j, i] for j &lt; nIdx; y is (outer, dimY, inner), src is
    /// (outer, nIdx, inner). Duplicates add in increasing j.</summary>
    public static void IndexAdd<T>(int outer, int dimY, int inner, T* y, int* idx, int nIdx, T* src)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckSizes("IndexAdd", outer, dimY, nIdx, inner);
        CheckIndices("IndexAdd", idx, nIdx, dimY);
        ForBlocks(outer, inner, (long)outer * nIdx * inner, (o, i0, i1) =>
        {
            for (int j = 0; j < nIdx; j++)
            {
                T* yr = y + ((long)o * dimY + idx[j]) * inner;
                T* sr = src + ((long)o * nIdx + j) * inner;
                for (int i = i0; i < i1; i++) yr[i] += sr[i];
            }
        });
    }

    private static void CheckSizes(string op, int outer, int dim, int nIdx, int inner)
    {
        if (outer < 0 || dim < 0 || nIdx < 0 || inner < 0)
            throw new ArgumentException($"{op}: negative size (outer {outer}, dim {dim}, index {nIdx}, inner {inner})");
    }

    /// <summary>First (lowest-position) index outside [0, dim) throws; sequential so the report is deterministic.</summary>
    private static void CheckIndices(string op, int* idx, long count, int dim)
    {
        for (long k = 0; k < count; k++)
        {
            int v = idx[k];
            if ((uint)v >= (uint)dim)
                throw new ArgumentOutOfRangeException("idx", v, $"{op}: index {v} at position {k} is out of range for dimension of size {dim}");
        }
    }

    /// <summary>Calls body(o, i0, i1) over all outer rows and inner ranges. Small calls run as one sequential
    /// sweep; large ones as parallel blocks (one outer row x one inner chunk each). The scattered / indexed
    /// axis stays inside body, so no two blocks ever touch the same output element.</summary>
    private static void ForBlocks(int outer, int inner, long work, Action<int, int, int> body)
    {
        if (outer == 0 || inner == 0) return;
        int chunks = (inner + InnerChunk - 1) / InnerChunk;
        long blocks = (long)outer * chunks;
        if (work <= ParallelThreshold || blocks < 2 || Environment.ProcessorCount < 2)
        {
            for (int o = 0; o < outer; o++) body(o, 0, inner);
            return;
        }
        Parallel.For(0L, blocks, b =>
        {
            int o = (int)(b / chunks), ch = (int)(b % chunks);
            int i0 = ch * InnerChunk;
            body(o, i0, Math.Min(inner, i0 + InnerChunk));
        });
    }
}
