// TEMPORARY compile shim, deleted when the helper kernels land.
using System.Numerics;
namespace Engine.Cpu.Kernels
{
public readonly record struct Conv2dGeometry(int N, int Cin, int H, int W, int Cout, int KH, int KW, int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW, int Groups);
public static unsafe class Gemm { public static void Batched<T>(int batch, bool transA, bool transB, int M, int N, int K, T alpha, T* A, long lda, long strideA, T* B, long ldb, long strideB, T beta, T* C, long ldc, long strideC) where T : unmanaged, IFloatingPointIeee754<T> { for (int b=0;b<batch;b++) for(int i=0;i<M;i++) for(int j=0;j<N;j++){ T s=T.Zero; for(int k=0;k<K;k++){ T av = transA? A[b*strideA+k*lda+i]:A[b*strideA+i*lda+k]; T bv= transB? B[b*strideB+j*ldb+k]:B[b*strideB+k*ldb+j]; s+=av*bv;} C[b*strideC+i*ldc+j]=alpha*s;} } }
public static unsafe class Conv2dKernels {
 public static void Forward<T>(Conv2dGeometry g, T* x, T* w, T* b, T* y) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void BackwardData<T>(Conv2dGeometry g, T* gy, T* w, T* gx) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void BackwardFilter<T>(Conv2dGeometry g, T* x, T* gy, T* gw) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
}
}
namespace Engine.Random { public static class Philox {
 public static void FillUniform(Span<float> d, ulong s, ulong o, float lo, float hi) { var r = new System.Random((int)s); for (int i=0;i<d.Length;i++) d[i]=lo+(hi-lo)*(float)r.NextDouble(); }
 public static void FillUniform(Span<double> d, ulong s, ulong o, double lo, double hi) { var r = new System.Random((int)s); for (int i=0;i<d.Length;i++) d[i]=lo+(hi-lo)*r.NextDouble(); }
 public static void FillNormal(Span<float> d, ulong s, ulong o, float m, float sd) => throw new NotSupportedException();
 public static void FillNormal(Span<double> d, ulong s, ulong o, double m, double sd) => throw new NotSupportedException();
} }
