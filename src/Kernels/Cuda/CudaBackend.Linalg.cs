// Matmul on cuBLAS (strided-batched GEMM; TF32 only when AllowTf32 is set) and convolutions on
// cuDNN (NCHW descriptors, algorithms searched once per shape and cached; workspaces from the
// caching allocator). A host-emulated runtime has neither library: these ops then throw.
using Engine.Cuda.Native;

namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    private CudaLibraries? _libs;

    /// <summary>Allow TF32 tensor cores for FP32 matmul and convolution (off by default: full FP32,
    /// matching the CPU backend's tolerances). ENGINE_ALLOW_TF32=1 turns it on for a process.</summary>
    public bool AllowTf32 { get; set; } = Environment.GetEnvironmentVariable("ENGINE_ALLOW_TF32") == "1";

    /// <summary>Upper bound of the workspace offered to cuDNN's algorithm search.</summary>
    public long ConvSearchWorkspaceLimit { get; set; } = 1L << 30;

    public CudaLibraries Libraries
    {
        get
        {
            if (_libs != null) return _libs;
            if (Runtime is not CudaRuntime)
                throw new UnsupportedOpException("cuda libraries", $"{Runtime.Name} has no cuBLAS/cuDNN (matmul and convolutions need a real GPU)");
            lock (Allocator) return _libs ??= new CudaLibraries(Runtime);
        }
    }

    /// <summary>Where matmul's GEMM runs: cuBLAS on a GPU, or a runtime that brings its own (host emulation).</summary>
    public IGpuBlas Blas => Runtime as IGpuBlas ?? Libraries;

    /// <summary>(transposed, leading dimension) of a (B, R, C) operand as a row-major matrix, or null
    /// when neither inner axis has unit stride: the CPU backend's rule, shared.</summary>
    private static (bool t, long ld)? MatrixForm(Layout l) => Engine.Cpu.CpuBackend.MatrixForm(l);

    public void Matmul(Buf a, Buf b, Buf c)
    {
        const string op = "matmul";
        if (a.DType != b.DType || a.DType != c.DType || !a.DType.IsFloat())
            throw new DTypeMismatchException(op, $"cuda matmul needs f32 or f64 operands of one dtype, got {a.DType.Name()}, {b.DType.Name()} -> {c.DType.Name()}");
        int batch = a.Shape[0], m = a.Shape[1], k = a.Shape[2], n = b.Shape[2];
        if (c.Numel == 0) return;
        if (k == 0) { Fill(c, 0); return; }
        CudaStorage? ta = null, tb = null;
        try
        {
            var fa = MatrixForm(a.Layout);
            if (fa == null) { ta = Contig(a, out a); fa = MatrixForm(a.Layout); }
            var fb = MatrixForm(b.Layout);
            if (fb == null) { tb = Contig(b, out b); fb = MatrixForm(b.Layout); }
            var (tA, ldA) = fa!.Value;
            var (tB, ldB) = fb!.Value;
            if (ldA > int.MaxValue || ldB > int.MaxValue || m > int.MaxValue)
                throw new UnsupportedOpException(op, $"leading dimensions {ldA}, {ldB} exceed cuBLAS's int range");
            // Row-major C (m x n) = A B  <=>  column-major C^T (n x m) = B^T A^T: the GEMM sees b first.
            // A row-major R x C matrix with row stride ld is a column-major C x R matrix with ld: op N;
            // a transposed one (unit row stride) is column-major R x C: op T.
            long sA = batch == 1 ? 0 : a.Layout.Strides[0], sB = batch == 1 ? 0 : b.Layout.Strides[0], sC = (long)m * n;
            string what = $"{op} {batch}x[{m}x{k}]x[{k}x{n}] {a.DType.Name()}{(AllowTf32 && a.DType == DType.F32 ? " tf32" : "")}";
            Blas.GemmStridedBatched(a.DType, tB, tA, n, m, k, Ptr(b, op), (int)ldB, sB, Ptr(a, op), (int)ldA, sA, Ptr(c, op), n, sC, batch,
                AllowTf32 && a.DType == DType.F32, what);
        }
        finally { ta?.Dispose(); tb?.Dispose(); }
    }

    /// <summary>A contiguous scratch copy of b; <paramref name="view"/> describes it.</summary>
    private CudaStorage Contig(Buf b, out Buf view)
    {
        var s = Scratch(b.DType, b.Numel);
        view = new Buf(s, Layout.Contiguous(b.Shape));
        Copy(b, view);
        return s;
    }

    // ------------------------------------------------------------------ convolutions (cuDNN)
    private CudaLibraries.ConvPlan ConvPlanFor(Buf x, Buf w, Buf y, Conv2dParams p, out CudaLibraries libs)
    {
        libs = Libraries;
        if (x.DType != w.DType || x.DType != y.DType || !x.DType.IsFloat())
            throw new DTypeMismatchException("conv2d", $"cuda convolution needs f32 or f64 tensors of one dtype, got x {x.DType.Name()}, w {w.DType.Name()}, y {y.DType.Name()}");
        var k = new CudaLibraries.ConvKey(x.DType, x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], w.Shape[0], w.Shape[2], w.Shape[3],
            y.Shape[2], y.Shape[3], p, AllowTf32 && x.DType == DType.F32);
        return libs.Plan(k);
    }

    /// <summary>Workspace for an algorithm search, straight from the driver (not the cache, so a
    /// one-off large block is not kept reserved): up to ConvSearchWorkspaceLimit or a quarter of the
    /// free memory, halved until the driver grants it.</summary>
    private sealed class SearchWs : IDisposable
    {
        private readonly GpuRuntime _rt;
        public ulong Ptr { get; }
        public long Bytes { get; }
        public SearchWs(CudaBackend be)
        {
            _rt = be.Runtime;
            long free = _rt is CudaRuntime cr ? cr.MemoryInfo().free : _rt.TotalMemory;
            long want = Math.Max(0, Math.Min(be.ConvSearchWorkspaceLimit, free / 4));
            while (want >= 1 << 20 && (Ptr = _rt.TryMemAlloc(want)) == 0) want /= 2;
            Bytes = Ptr == 0 ? 0 : want;
        }
        public void Dispose() { if (Ptr != 0) _rt.MemFree(Ptr); }
    }

    private const int MaxAlgos = 16;

    /// <summary>Picks the fastest successful result of a cudnnFind*Ex search.</summary>
    private static (int algo, int math, long ws) Best(Cudnn.AlgoPerf* perf, int n, string op)
    {
        for (int i = 0; i < n; i++)
            if (perf[i].Status == 0) return (perf[i].Algo, perf[i].MathType, (long)perf[i].Memory);
        throw new CudaException("cudnn", "cudnnFind*AlgorithmEx", -1, "no algorithm succeeded", op);
    }

    public void Conv2d(Buf x, Buf w, Buf? bias, Buf y, Conv2dParams p, Activation act = default)
    {
        const string op = "conv2d";
        var plan = ConvPlanFor(x, w, y, p, out var libs);
        if (y.Numel == 0) return;
        ulong px = Ptr(x, op), pw = Ptr(w, op), py = Ptr(y, op);
        if (plan.Fwd < 0)
        {
            using var ws = new SearchWs(this);
            var perf = stackalloc Cudnn.AlgoPerf[MaxAlgos];
            Cudnn.Check(Cudnn.cudnnFindConvolutionForwardAlgorithmEx(libs.Dnn, plan.X, px, plan.W, pw, plan.Conv, plan.Y, py, MaxAlgos, out int got, perf, ws.Ptr, (nuint)ws.Bytes),
                "cudnnFindConvolutionForwardAlgorithmEx", Describe(op, x, w, y, p));
            (plan.Fwd, plan.FwdMath, plan.FwdWs) = Best(perf, got, op);
        }
        Cudnn.Check(Cudnn.cudnnSetConvolutionMathType(plan.Conv, plan.FwdMath), "cudnnSetConvolutionMathType", op);
        using (var ws = Scratch(DType.F32, Math.Max(1, (plan.FwdWs + 3) / 4)))
        {
            if (x.DType == DType.F32) { float one = 1, zero = 0; Cudnn.Check(Cudnn.cudnnConvolutionForward(libs.Dnn, &one, plan.X, px, plan.W, pw, plan.Conv, plan.Fwd, ws.Ptr, (nuint)plan.FwdWs, &zero, plan.Y, py), "cudnnConvolutionForward", Describe(op, x, w, y, p)); }
            else { double one = 1, zero = 0; Cudnn.Check(Cudnn.cudnnConvolutionForward(libs.Dnn, &one, plan.X, px, plan.W, pw, plan.Conv, plan.Fwd, ws.Ptr, (nuint)plan.FwdWs, &zero, plan.Y, py), "cudnnConvolutionForward", Describe(op, x, w, y, p)); }
        }
        if (bias is { } b)
        {
            if (b.DType != y.DType) throw new DTypeMismatchException(op, $"bias {b.DType.Name()} vs output {y.DType.Name()}");
            if (x.DType == DType.F32) { float one = 1; Cudnn.Check(Cudnn.cudnnAddTensor(libs.Dnn, &one, plan.Bias, Ptr(b, op), &one, plan.Y, py), "cudnnAddTensor", op + " bias"); }
            else { double one = 1; Cudnn.Check(Cudnn.cudnnAddTensor(libs.Dnn, &one, plan.Bias, Ptr(b, op), &one, plan.Y, py), "cudnnAddTensor", op + " bias"); }
        }
        if (!act.IsNone)
            Unary(act.Kind == ActivationKind.Relu ? UnaryOp.Relu : UnaryOp.LeakyRelu, y, y, act.Slope, 0);
    }

    public void Conv2dBackwardData(Buf gy, Buf w, Buf gx, Conv2dParams p)
    {
        const string op = "conv2d backward data";
        var plan = ConvPlanFor(gx, w, gy, p, out var libs);
        if (gx.Numel == 0) return;
        if (gy.Numel == 0) { Fill(gx, 0); return; }
        ulong pgy = Ptr(gy, op), pw = Ptr(w, op), pgx = Ptr(gx, op);
        if (plan.BwdData < 0)
        {
            using var ws = new SearchWs(this);
            var perf = stackalloc Cudnn.AlgoPerf[MaxAlgos];
            Cudnn.Check(Cudnn.cudnnFindConvolutionBackwardDataAlgorithmEx(libs.Dnn, plan.W, pw, plan.Y, pgy, plan.Conv, plan.X, pgx, MaxAlgos, out int got, perf, ws.Ptr, (nuint)ws.Bytes),
                "cudnnFindConvolutionBackwardDataAlgorithmEx", Describe(op, gx, w, gy, p));
            (plan.BwdData, plan.BwdDataMath, plan.BwdDataWs) = Best(perf, got, op);
        }
        Cudnn.Check(Cudnn.cudnnSetConvolutionMathType(plan.Conv, plan.BwdDataMath), "cudnnSetConvolutionMathType", op);
        using var w2 = Scratch(DType.F32, Math.Max(1, (plan.BwdDataWs + 3) / 4));
        if (gx.DType == DType.F32) { float one = 1, zero = 0; Cudnn.Check(Cudnn.cudnnConvolutionBackwardData(libs.Dnn, &one, plan.W, pw, plan.Y, pgy, plan.Conv, plan.BwdData, w2.Ptr, (nuint)plan.BwdDataWs, &zero, plan.X, pgx), "cudnnConvolutionBackwardData", Describe(op, gx, w, gy, p)); }
        else { double one = 1, zero = 0; Cudnn.Check(Cudnn.cudnnConvolutionBackwardData(libs.Dnn, &one, plan.W, pw, plan.Y, pgy, plan.Conv, plan.BwdData, w2.Ptr, (nuint)plan.BwdDataWs, &zero, plan.X, pgx), "cudnnConvolutionBackwardData", Describe(op, gx, w, gy, p)); }
    }

    public void Conv2dBackwardFilter(Buf x, Buf gy, Buf gw, Conv2dParams p)
    {
        const string op = "conv2d backward filter";
        var plan = ConvPlanFor(x, gw, gy, p, out var libs);
        if (gw.Numel == 0) return;
        if (gy.Numel == 0 || x.Numel == 0) { Fill(gw, 0); return; }
        ulong px = Ptr(x, op), pgy = Ptr(gy, op), pgw = Ptr(gw, op);
        if (plan.BwdFilter < 0)
        {
            using var ws = new SearchWs(this);
            var perf = stackalloc Cudnn.AlgoPerf[MaxAlgos];
            Cudnn.Check(Cudnn.cudnnFindConvolutionBackwardFilterAlgorithmEx(libs.Dnn, plan.X, px, plan.Y, pgy, plan.Conv, plan.W, pgw, MaxAlgos, out int got, perf, ws.Ptr, (nuint)ws.Bytes),
                "cudnnFindConvolutionBackwardFilterAlgorithmEx", Describe(op, x, gw, gy, p));
            (plan.BwdFilter, plan.BwdFilterMath, plan.BwdFilterWs) = Best(perf, got, op);
        }
        Cudnn.Check(Cudnn.cudnnSetConvolutionMathType(plan.Conv, plan.BwdFilterMath), "cudnnSetConvolutionMathType", op);
        using var w2 = Scratch(DType.F32, Math.Max(1, (plan.BwdFilterWs + 3) / 4));
        if (x.DType == DType.F32) { float one = 1, zero = 0; Cudnn.Check(Cudnn.cudnnConvolutionBackwardFilter(libs.Dnn, &one, plan.X, px, plan.Y, pgy, plan.Conv, plan.BwdFilter, w2.Ptr, (nuint)plan.BwdFilterWs, &zero, plan.W, pgw), "cudnnConvolutionBackwardFilter", Describe(op, x, gw, gy, p)); }
        else { double one = 1, zero = 0; Cudnn.Check(Cudnn.cudnnConvolutionBackwardFilter(libs.Dnn, &one, plan.X, px, plan.Y, pgy, plan.Conv, plan.BwdFilter, w2.Ptr, (nuint)plan.BwdFilterWs, &zero, plan.W, pgw), "cudnnConvolutionBackwardFilter", Describe(op, x, gw, gy, p)); }
    }

    private static string Describe(string op, Buf x, Buf w, Buf y, Conv2dParams p)
        => $"{op} x {Fmt.Shape(x.Shape)} w {Fmt.Shape(w.Shape)} y {Fmt.Shape(y.Shape)} {x.DType.Name()} stride ({p.StrideH}, {p.StrideW}) pad ({p.PadH}, {p.PadW}) dilation ({p.DilationH}, {p.DilationW}) groups {p.Groups}";
}
