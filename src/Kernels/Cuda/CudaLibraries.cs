// The cuBLAS and cuDNN handles of one backend, bound to its stream, plus the convolution plans:
// descriptors and the algorithms found by cuDNN's search, once per shape (cudnnFind*Ex, fastest
// successful algorithm, like torch.backends.cudnn.benchmark = True), then reused.
using Engine.Cuda.Native;

namespace Engine.Cuda;

public sealed unsafe class CudaLibraries : IDisposable, IGpuBlas
{
    public IntPtr Blas { get; }
    public IntPtr Dnn { get; }
    public int BlasVersion { get; }
    public long DnnVersion { get; }
    private readonly Dictionary<ConvKey, ConvPlan> _plans = new();
    private readonly Lock _gate = new();

    public CudaLibraries(GpuRuntime rt)
    {
        NativeResolver.Install();
        Cublas.Check(Cublas.cublasCreate(out var b), "cublasCreate", "cuda init");
        Blas = b;
        Cublas.Check(Cublas.cublasSetStream(b, rt.Stream), "cublasSetStream", "cuda init");
        Cublas.Check(Cublas.cublasSetMathMode(b, Cublas.CUBLAS_DEFAULT_MATH), "cublasSetMathMode", "cuda init");
        Cublas.Check(Cublas.cublasGetVersion(b, out int v), "cublasGetVersion", "cuda init");
        BlasVersion = v;
        Cudnn.Check(Cudnn.cudnnCreate(out var d), "cudnnCreate", "cuda init");
        Dnn = d;
        Cudnn.Check(Cudnn.cudnnSetStream(d, rt.Stream), "cudnnSetStream", "cuda init");
        DnnVersion = (long)Cudnn.cudnnGetVersion();
    }

    public void GemmStridedBatched(DType dtype, bool transA, bool transB, int m, int n, int k,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, ulong c, int ldc, long strideC, int batch, bool tf32, string op)
    {
        int opA = transA ? Cublas.CUBLAS_OP_T : Cublas.CUBLAS_OP_N, opB = transB ? Cublas.CUBLAS_OP_T : Cublas.CUBLAS_OP_N;
        if (dtype == DType.F32)
        {
            float one = 1, zero = 0;
            Cublas.Check(Cublas.cublasGemmStridedBatchedEx(Blas, opA, opB, m, n, k, &one, a, Cublas.CUDA_R_32F, lda, strideA,
                b, Cublas.CUDA_R_32F, ldb, strideB, &zero, c, Cublas.CUDA_R_32F, ldc, strideC, batch,
                tf32 ? Cublas.CUBLAS_COMPUTE_32F_FAST_TF32 : Cublas.CUBLAS_COMPUTE_32F, Cublas.CUBLAS_GEMM_DEFAULT), "cublasGemmStridedBatchedEx", op);
        }
        else if (dtype == DType.F64)
        {
            double one = 1, zero = 0;
            Cublas.Check(Cublas.cublasGemmStridedBatchedEx(Blas, opA, opB, m, n, k, &one, a, Cublas.CUDA_R_64F, lda, strideA,
                b, Cublas.CUDA_R_64F, ldb, strideB, &zero, c, Cublas.CUDA_R_64F, ldc, strideC, batch,
                Cublas.CUBLAS_COMPUTE_64F, Cublas.CUBLAS_GEMM_DEFAULT), "cublasGemmStridedBatchedEx", op);
        }
        else throw new DTypeMismatchException(op, $"cuBLAS GEMM on {dtype.Name()}");
    }

    internal readonly record struct ConvKey(DType DType, int N, int C, int H, int W, int K, int KH, int KW, int OH, int OW, Conv2dParams P, bool Tf32);

    /// <summary>Descriptors of one convolution shape and the algorithm chosen for each direction (-1 = not searched yet).</summary>
    internal sealed class ConvPlan(IntPtr x, IntPtr y, IntPtr w, IntPtr conv, IntPtr bias)
    {
        public IntPtr X = x, Y = y, W = w, Conv = conv, Bias = bias;
        public int Fwd = -1, BwdData = -1, BwdFilter = -1;
        public int FwdMath, BwdDataMath, BwdFilterMath;
        public long FwdWs, BwdDataWs, BwdFilterWs;
    }

    internal ConvPlan Plan(ConvKey k)
    {
        lock (_gate)
        {
            if (_plans.TryGetValue(k, out var plan)) return plan;
            const string op = "conv2d";
            int dt = k.DType == DType.F64 ? Cudnn.CUDNN_DATA_DOUBLE : Cudnn.CUDNN_DATA_FLOAT;
            Cudnn.Check(Cudnn.cudnnCreateTensorDescriptor(out var x), "cudnnCreateTensorDescriptor", op);
            Cudnn.Check(Cudnn.cudnnSetTensor4dDescriptor(x, Cudnn.CUDNN_TENSOR_NCHW, dt, k.N, k.C, k.H, k.W), "cudnnSetTensor4dDescriptor", op);
            Cudnn.Check(Cudnn.cudnnCreateTensorDescriptor(out var y), "cudnnCreateTensorDescriptor", op);
            Cudnn.Check(Cudnn.cudnnSetTensor4dDescriptor(y, Cudnn.CUDNN_TENSOR_NCHW, dt, k.N, k.K, k.OH, k.OW), "cudnnSetTensor4dDescriptor", op);
            Cudnn.Check(Cudnn.cudnnCreateTensorDescriptor(out var bias), "cudnnCreateTensorDescriptor", op);
            Cudnn.Check(Cudnn.cudnnSetTensor4dDescriptor(bias, Cudnn.CUDNN_TENSOR_NCHW, dt, 1, k.K, 1, 1), "cudnnSetTensor4dDescriptor", op);
            Cudnn.Check(Cudnn.cudnnCreateFilterDescriptor(out var w), "cudnnCreateFilterDescriptor", op);
            Cudnn.Check(Cudnn.cudnnSetFilter4dDescriptor(w, dt, Cudnn.CUDNN_TENSOR_NCHW, k.K, k.C / k.P.Groups, k.KH, k.KW), "cudnnSetFilter4dDescriptor", op);
            Cudnn.Check(Cudnn.cudnnCreateConvolutionDescriptor(out var c), "cudnnCreateConvolutionDescriptor", op);
            Cudnn.Check(Cudnn.cudnnSetConvolution2dDescriptor(c, k.P.PadH, k.P.PadW, k.P.StrideH, k.P.StrideW, k.P.DilationH, k.P.DilationW,
                Cudnn.CUDNN_CROSS_CORRELATION, dt), "cudnnSetConvolution2dDescriptor", op);
            Cudnn.Check(Cudnn.cudnnSetConvolutionGroupCount(c, k.P.Groups), "cudnnSetConvolutionGroupCount", op);
            // TF32 off: FMA math only (full FP32); on: tensor-op math allowed (cuDNN then uses TF32 for FP32).
            // f64: default math (FP64 is never reduced in precision).
            Cudnn.Check(Cudnn.cudnnSetConvolutionMathType(c, k.DType == DType.F64 ? Cudnn.CUDNN_DEFAULT_MATH : k.Tf32 ? Cudnn.CUDNN_TENSOR_OP_MATH : Cudnn.CUDNN_FMA_MATH),
                "cudnnSetConvolutionMathType", op);
            plan = new ConvPlan(x, y, w, c, bias);
            _plans[k] = plan;
            return plan;
        }
    }

    public int PlanCount { get { lock (_gate) return _plans.Count; } }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var p in _plans.Values)
            {
                Cudnn.cudnnDestroyTensorDescriptor(p.X); Cudnn.cudnnDestroyTensorDescriptor(p.Y); Cudnn.cudnnDestroyTensorDescriptor(p.Bias);
                Cudnn.cudnnDestroyFilterDescriptor(p.W); Cudnn.cudnnDestroyConvolutionDescriptor(p.Conv);
            }
            _plans.Clear();
        }
        Cublas.cublasDestroy(Blas);
        Cudnn.cudnnDestroy(Dnn);
    }
}
