// cuDNN bindings (libcudnn.so.9 / .8): the descriptor-based convolution API (forward, backward
// data, backward filter, algorithm search) and tensor addition for the bias.
// cudnnStatus_t 0 = CUDNN_STATUS_SUCCESS.
using System.Runtime.InteropServices;

namespace Engine.Cuda.Native;

public static unsafe partial class Cudnn
{
    private const string Lib = "cudnn";

    public const int CUDNN_TENSOR_NCHW = 0, CUDNN_TENSOR_NHWC = 1;
    public const int CUDNN_DATA_FLOAT = 0, CUDNN_DATA_DOUBLE = 1;
    public const int CUDNN_CROSS_CORRELATION = 1;
    public const int CUDNN_DEFAULT_MATH = 0, CUDNN_TENSOR_OP_MATH = 1, CUDNN_FMA_MATH = 3;

    /// <summary>cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t (identical layouts).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct AlgoPerf
    {
        public int Algo;
        public int Status;
        public float Time;
        public nuint Memory;
        public int Determinism;
        public int MathType;
        public int Reserved0, Reserved1, Reserved2;
    }

    [LibraryImport(Lib)] public static partial nuint cudnnGetVersion();
    [LibraryImport(Lib)] public static partial byte* cudnnGetErrorString(int status);
    [LibraryImport(Lib)] public static partial int cudnnCreate(out IntPtr handle);
    [LibraryImport(Lib)] public static partial int cudnnDestroy(IntPtr handle);
    [LibraryImport(Lib)] public static partial int cudnnSetStream(IntPtr handle, IntPtr stream);

    [LibraryImport(Lib)] public static partial int cudnnCreateTensorDescriptor(out IntPtr desc);
    [LibraryImport(Lib)] public static partial int cudnnDestroyTensorDescriptor(IntPtr desc);
    [LibraryImport(Lib)] public static partial int cudnnSetTensor4dDescriptor(IntPtr desc, int format, int dataType, int n, int c, int h, int w);
    [LibraryImport(Lib)] public static partial int cudnnSetTensor4dDescriptorEx(IntPtr desc, int dataType, int n, int c, int h, int w, int ns, int cs, int hs, int ws);
    [LibraryImport(Lib)] public static partial int cudnnCreateFilterDescriptor(out IntPtr desc);
    [LibraryImport(Lib)] public static partial int cudnnDestroyFilterDescriptor(IntPtr desc);
    [LibraryImport(Lib)] public static partial int cudnnSetFilter4dDescriptor(IntPtr desc, int dataType, int format, int k, int c, int h, int w);
    [LibraryImport(Lib)] public static partial int cudnnCreateConvolutionDescriptor(out IntPtr desc);
    [LibraryImport(Lib)] public static partial int cudnnDestroyConvolutionDescriptor(IntPtr desc);
    [LibraryImport(Lib)] public static partial int cudnnSetConvolution2dDescriptor(IntPtr desc, int padH, int padW, int strideH, int strideW, int dilH, int dilW, int mode, int computeType);
    [LibraryImport(Lib)] public static partial int cudnnSetConvolutionGroupCount(IntPtr desc, int groups);
    [LibraryImport(Lib)] public static partial int cudnnSetConvolutionMathType(IntPtr desc, int mathType);

    [LibraryImport(Lib)] public static partial int cudnnFindConvolutionForwardAlgorithmEx(IntPtr h, IntPtr xDesc, ulong x, IntPtr wDesc, ulong w, IntPtr convDesc,
        IntPtr yDesc, ulong y, int requested, out int returned, AlgoPerf* perf, ulong workspace, nuint workspaceBytes);
    [LibraryImport(Lib)] public static partial int cudnnFindConvolutionBackwardDataAlgorithmEx(IntPtr h, IntPtr wDesc, ulong w, IntPtr dyDesc, ulong dy, IntPtr convDesc,
        IntPtr dxDesc, ulong dx, int requested, out int returned, AlgoPerf* perf, ulong workspace, nuint workspaceBytes);
    [LibraryImport(Lib)] public static partial int cudnnFindConvolutionBackwardFilterAlgorithmEx(IntPtr h, IntPtr xDesc, ulong x, IntPtr dyDesc, ulong dy, IntPtr convDesc,
        IntPtr dwDesc, ulong dw, int requested, out int returned, AlgoPerf* perf, ulong workspace, nuint workspaceBytes);

    [LibraryImport(Lib)] public static partial int cudnnConvolutionForward(IntPtr h, void* alpha, IntPtr xDesc, ulong x, IntPtr wDesc, ulong w, IntPtr convDesc,
        int algo, ulong workspace, nuint workspaceBytes, void* beta, IntPtr yDesc, ulong y);
    [LibraryImport(Lib)] public static partial int cudnnConvolutionBackwardData(IntPtr h, void* alpha, IntPtr wDesc, ulong w, IntPtr dyDesc, ulong dy, IntPtr convDesc,
        int algo, ulong workspace, nuint workspaceBytes, void* beta, IntPtr dxDesc, ulong dx);
    [LibraryImport(Lib)] public static partial int cudnnConvolutionBackwardFilter(IntPtr h, void* alpha, IntPtr xDesc, ulong x, IntPtr dyDesc, ulong dy, IntPtr convDesc,
        int algo, ulong workspace, nuint workspaceBytes, void* beta, IntPtr dwDesc, ulong dw);
    [LibraryImport(Lib)] public static partial int cudnnAddTensor(IntPtr h, void* alpha, IntPtr aDesc, ulong a, void* beta, IntPtr cDesc, ulong c);

    public static string Describe(int s)
    {
        try { var p = cudnnGetErrorString(s); if (p != null) return Marshal.PtrToStringUTF8((IntPtr)p)!; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        return $"cudnnStatus {s}";
    }

    public static void Check(int s, string call, string op)
    {
        if (s != 0) throw new CudaException("cudnn", call, s, Describe(s), op);
    }
}
