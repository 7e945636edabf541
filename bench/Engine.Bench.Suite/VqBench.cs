// Benchmark cases of the fused nearest-code search (Ops.VqNearest) against the composed form from
// primitive ops (distances materialized: ||x||^2 - 2 x e^T + ||e||^2 through Matmul, then ArgMin),
// at the quantizer's shape: N = 65,536 rows (16 x 64 x 64 latents) of D = 64, K = 512 and 1024 codes.
// A runner (`engine bench kernels`) times `fused` and `composed` side by side; this file only builds
// the cases.
//   flop       2 N K D, the dot products both forms compute (norms and comparisons not counted);
//   bytesFloor reading x and e once and writing the N indices (the fused op's minimum traffic; the
//              composed form also writes and reads the N x K matrix several times).
// Inputs are Philox normals (never zero); each action uses the next of four x buffers so the rows
// rotate through more memory than an H100's 50 MB L2. The inputs of a case live until the enumerator
// moves past it (or is disposed): run a case's actions before asking for the next one.
namespace Engine.Bench;

public static class VqBench
{
    public const int Rows = 65536, Dim = 64;
    public static readonly int[] Codes = [512, 1024];
    private const int Rotation = 4;

    public static IEnumerable<(string name, double flop, long bytesFloor, Action fused, Action composed)> Cases(Device d)
        => Cases(d, Rows, Dim, Codes);

    /// <summary>The same cases at other sizes (tests use small ones).</summary>
    public static IEnumerable<(string name, double flop, long bytesFloor, Action fused, Action composed)> Cases(Device d, int rows, int dim, int[] codes)
    {
        foreach (int k in codes)
        {
            var xs = new Tensor[Rotation];
            Tensor e;
            using (TensorScope.Suspend())
            {
                for (int i = 0; i < Rotation; i++) xs[i] = Tensor.Normal([rows, dim], 1000 + (ulong)i, 0, 0, 1, DType.F32, d);
                e = Tensor.Normal([k, dim], 7, 0, 0, 1, DType.F32, d);
            }
            try
            {
                int next = 0;
                Tensor X() { var x = xs[next]; next = (next + 1) % Rotation; return x; }
                void Fused()
                {
                    var (idx, _) = Ops.VqNearest(X(), e);
                    idx.Dispose();
                }
                void Composed()
                {
                    using var scope = TensorScope.Begin();
                    Composite(X(), e).Dispose();
                }
                double flop = 2.0 * rows * k * dim;
                long bytes = ((long)rows * dim + (long)k * dim) * sizeof(float) + (long)rows * sizeof(int);
                yield return ($"vq nearest N={rows} D={dim} K={k}", flop, bytes, Fused, Composed);
            }
            finally
            {
                foreach (var x in xs) x.Dispose();
                e.Dispose();
            }
        }
    }

    /// <summary>The composed form: indices (N, I32) of argmin over the materialized (N, K) distances.</summary>
    public static Tensor Composite(Tensor x, Tensor e)
    {
        using var scope = TensorScope.Begin();
        var xe = Ops.Matmul(x, e, transB: true);                                // (N, K)
        var xn = Ops.Sum(Ops.Square(x), [1], keepDim: true);                    // (N, 1)
        var en = Ops.Sum(Ops.Square(e), [1], keepDim: true).Reshape(1, -1);     // (1, K)
        var dist = Ops.Add(Ops.Add(Ops.Mul(xe, -2.0), en), xn);                 // (N, K)
        return scope.Keep(Ops.ArgMin(dist, 1));
    }
}
