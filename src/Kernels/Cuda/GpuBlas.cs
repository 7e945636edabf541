// The GEMM a CUDA backend's matmul reduces to, in cuBLAS's own terms (column-major, op flags,
// leading dimensions, batch strides), so the row-major -> column-major mapping is one piece of
// code whatever executes it: CudaLibraries (cuBLAS) on a GPU, a reference loop under the host
// emulation in the tests.
namespace Engine.Cuda;

public interface IGpuBlas
{
    /// <summary>For each batch b: C_b = op(A_b) op(B_b), column-major, C_b of m x n with leading
    /// dimension ldc; op(A) is m x k (A is k x m with lda when transA), op(B) is k x n.
    /// X_b starts at x + b * strideX elements (a stride of 0 broadcasts).</summary>
    void GemmStridedBatched(DType dtype, bool transA, bool transB, int m, int n, int k,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, ulong c, int ldc, long strideC, int batch, bool tf32, string op);
}
