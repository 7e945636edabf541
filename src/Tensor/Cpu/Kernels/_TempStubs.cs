// TEMPORARY compile shim, deleted when the helper kernels land.
using System.Numerics;
namespace Engine { public enum PadMode { Zero, Reflect, Replicate } }
namespace Engine.Cpu.Kernels
{
public readonly record struct Conv2dGeometry(int N, int Cin, int H, int W, int Cout, int KH, int KW, int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW, int Groups);
public static unsafe class Gemm { public static void Batched<T>(int batch, bool transA, bool transB, int M, int N, int K, T alpha, T* A, long lda, long strideA, T* B, long ldb, long strideB, T beta, T* C, long ldc, long strideC) where T : unmanaged, IFloatingPointIeee754<T> { for (int b=0;b<batch;b++) for(int i=0;i<M;i++) for(int j=0;j<N;j++){ T s=T.Zero; for(int k=0;k<K;k++){ T av = transA? A[b*strideA+k*lda+i]:A[b*strideA+i*lda+k]; T bv= transB? B[b*strideB+j*ldb+k]:B[b*strideB+k*ldb+j]; s+=av*bv;} C[b*strideC+i*ldc+j]=alpha*s;} } }
public static unsafe class Conv2dKernels {
 public static void Forward<T>(Conv2dGeometry g, T* x, T* w, T* b, T* y) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void BackwardData<T>(Conv2dGeometry g, T* gy, T* w, T* gx) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void BackwardFilter<T>(Conv2dGeometry g, T* x, T* gy, T* gw) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
}
public static unsafe class PoolKernels {
 public static void MaxPool2d<T>(int n,int c,int h,int w,int kh,int kw,int sh,int sw,int ph,int pw,int dh,int dw,T* x,T* y,int* a) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void MaxPool2dBackward<T>(int n,int c,int h,int w,int oh,int ow,T* gy,int* a,T* gx) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void AvgPool2d<T>(int n,int c,int h,int w,int kh,int kw,int sh,int sw,int ph,int pw,bool cip,T* x,T* y) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void AvgPool2dBackward<T>(int n,int c,int h,int w,int kh,int kw,int sh,int sw,int ph,int pw,bool cip,T* gy,T* gx) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
}
public static unsafe class ResampleKernels {
 public static void UpsampleNearest<T>(int n,int c,int h,int w,int oh,int ow,T* x,T* y) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void UpsampleNearestBackward<T>(int n,int c,int h,int w,int oh,int ow,T* gy,T* gx) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void UpsampleBilinear<T>(int n,int c,int h,int w,int oh,int ow,bool ac,T* x,T* y) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void UpsampleBilinearBackward<T>(int n,int c,int h,int w,int oh,int ow,bool ac,T* gy,T* gx) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
}
public static unsafe class PadKernels {
 public static void Pad2d<T>(int planes,int h,int w,int l,int r,int t,int b,PadMode m,T v,T* x,T* y) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void Pad2dBackward<T>(int planes,int h,int w,int l,int r,int t,int b,PadMode m,T* gy,T* gx) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
}
public static unsafe class IndexKernels {
 public static void Gather<T>(int o,int dx,int di,int i,T* x,int* idx,T* y) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void ScatterAdd<T>(int o,int dy,int di,int i,T* y,int* idx,T* s) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void IndexSelect<T>(int o,int dx,int i,T* x,int* idx,int n,T* y) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
 public static void IndexAdd<T>(int o,int dy,int i,T* y,int* idx,int n,T* s) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
}
}
namespace Engine.Random { public static class Philox {
 public static void FillUniform(Span<float> d, ulong s, ulong o, float lo, float hi) { var r = new System.Random((int)s); for (int i=0;i<d.Length;i++) d[i]=lo+(hi-lo)*(float)r.NextDouble(); }
 public static void FillUniform(Span<double> d, ulong s, ulong o, double lo, double hi) { var r = new System.Random((int)s); for (int i=0;i<d.Length;i++) d[i]=lo+(hi-lo)*r.NextDouble(); }
 public static void FillNormal(Span<float> d, ulong s, ulong o, float m, float sd) => throw new NotSupportedException();
 public static void FillNormal(Span<double> d, ulong s, ulong o, double m, double sd) => throw new NotSupportedException();
} }
