// cuBLAS bindings (libcublas.so.13 / .12 / .11). Column-major, host pointer mode (alpha/beta on
// the host). cublasStatus_t 0 = CUBLAS_STATUS_SUCCESS.
using System.Runtime.InteropServices;

namespace Engine.Cuda.Native;

public static unsafe partial class Cublas
{
    private const string Lib = "cublas";

    public const int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;
    public const int CUBLAS_DEFAULT_MATH = 0, CUBLAS_PEDANTIC_MATH = 2, CUBLAS_TF32_TENSOR_OP_MATH = 3;
    public const int CUDA_R_32F = 0, CUDA_R_64F = 1;
    public const int CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_FAST_TF32 = 77, CUBLAS_COMPUTE_64F = 70;
    public const int CUBLAS_GEMM_DEFAULT = -1;

    [LibraryImport(Lib, EntryPoint = "cublasCreate_v2")] public static partial int cublasCreate(out IntPtr handle);
    [LibraryImport(Lib, EntryPoint = "cublasDestroy_v2")] public static partial int cublasDestroy(IntPtr handle);
    [LibraryImport(Lib, EntryPoint = "cublasGetVersion_v2")] public static partial int cublasGetVersion(IntPtr handle, out int version);
    [LibraryImport(Lib, EntryPoint = "cublasSetStream_v2")] public static partial int cublasSetStream(IntPtr handle, IntPtr stream);
    [LibraryImport(Lib)] public static partial int cublasSetMathMode(IntPtr handle, int mode);
    [LibraryImport(Lib, EntryPoint = "cublasSetWorkspace_v2")] public static partial int cublasSetWorkspace(IntPtr handle, ulong workspace, nuint bytes);

    [LibraryImport(Lib, EntryPoint = "cublasSgemm_v2")]
    public static partial int cublasSgemm(IntPtr h, int ta, int tb, int m, int n, int k, float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);
    [LibraryImport(Lib, EntryPoint = "cublasDgemm_v2")]
    public static partial int cublasDgemm(IntPtr h, int ta, int tb, int m, int n, int k, double* alpha, ulong a, int lda, ulong b, int ldb, double* beta, ulong c, int ldc);
    [LibraryImport(Lib)]
    public static partial int cublasSgemmStridedBatched(IntPtr h, int ta, int tb, int m, int n, int k, float* alpha, ulong a, int lda, long strideA,
        ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC, int batch);
    [LibraryImport(Lib)]
    public static partial int cublasDgemmStridedBatched(IntPtr h, int ta, int tb, int m, int n, int k, double* alpha, ulong a, int lda, long strideA,
        ulong b, int ldb, long strideB, double* beta, ulong c, int ldc, long strideC, int batch);
    [LibraryImport(Lib)]
    public static partial int cublasGemmEx(IntPtr h, int ta, int tb, int m, int n, int k, void* alpha, ulong a, int aType, int lda,
        ulong b, int bType, int ldb, void* beta, ulong c, int cType, int ldc, int computeType, int algo);
    [LibraryImport(Lib)]
    public static partial int cublasGemmStridedBatchedEx(IntPtr h, int ta, int tb, int m, int n, int k, void* alpha, ulong a, int aType, int lda, long strideA,
        ulong b, int bType, int ldb, long strideB, void* beta, ulong c, int cType, int ldc, long strideC, int batch, int computeType, int algo);

    [LibraryImport(Lib)] public static partial byte* cublasGetStatusName(int status);

    public static string Describe(int s)
    {
        try { var p = cublasGetStatusName(s); if (p != null) return Marshal.PtrToStringUTF8((IntPtr)p)!; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        return s switch
        {
            1 => "CUBLAS_STATUS_NOT_INITIALIZED", 3 => "CUBLAS_STATUS_ALLOC_FAILED", 7 => "CUBLAS_STATUS_INVALID_VALUE",
            8 => "CUBLAS_STATUS_ARCH_MISMATCH", 11 => "CUBLAS_STATUS_MAPPING_ERROR", 13 => "CUBLAS_STATUS_EXECUTION_FAILED",
            14 => "CUBLAS_STATUS_INTERNAL_ERROR", 15 => "CUBLAS_STATUS_NOT_SUPPORTED", 16 => "CUBLAS_STATUS_LICENSE_ERROR",
            _ => $"cublasStatus {s}",
        };
    }

    public static void Check(int s, string call, string op)
    {
        if (s != 0) throw new CudaException("cublas", call, s, Describe(s), op);
    }
}
