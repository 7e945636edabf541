// The storage-level backend boundary. A backend receives buffers plus layout (Buf) and never sees
// Tensor, autograd or broadcasting rules: the op layer (Engine.Ops) validates, broadcasts (by
// stride-0 views), allocates outputs and then calls exactly one backend method.
// Output buffers are contiguous unless a method says otherwise; inputs may be arbitrary strided
// views. Methods overwrite their outputs unless named *Add / *Accumulate.
namespace Engine;

/// <summary>A storage seen through a layout: what a backend method receives.</summary>
public readonly record struct Buf(Storage Storage, Layout Layout)
{
    public DType DType => Storage.DType;
    public int[] Shape => Layout.Shape;
    public long Numel => Layout.Numel;
}

public enum UnaryOp
{
    Neg, Abs, Exp, Log, Sqrt, Rsqrt, Square, Sigmoid, Tanh, Softplus, Relu,
    LeakyRelu, // alpha = negative slope
    Elu,       // alpha
    Gelu,      // exact (erf) form
    Clamp,     // alpha = lo, beta = hi
    PowScalar, // x^alpha
    Sign, Reciprocal, Sin, Cos, Log1p, Expm1, Erf,
}

public enum BinaryOp
{
    Add, Sub, Mul, Div, Pow, Maximum, Minimum,
    Eq, Ne, Lt, Le, Gt, Ge, // comparisons produce 1/0 in the input dtype
}

public enum ReduceOp { Sum, Mean, Max, Min, Var, LogSumExp, ArgMax, ArgMin }

public readonly record struct Conv2dParams(int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW, int Groups);

public readonly record struct Pool2dParams(int KH, int KW, int StrideH, int StrideW, int PadH, int PadW, int DilationH = 1, int DilationW = 1, bool CountIncludePad = true);

public partial interface IBackend
{
    Device Device { get; }

    Storage Allocate(DType dtype, long length, bool zero);

    /// <summary>Host -> storage copy of length elements starting at element dstOffset.</summary>
    void Upload<T>(ReadOnlySpan<T> src, Storage dst, long dstOffset) where T : unmanaged;

    /// <summary>Storage -> host copy of a (possibly strided) buffer in row-major order.</summary>
    void Download<T>(Buf src, Span<T> dst) where T : unmanaged;

    /// <summary>Strided copy src -> dst of the same shape; converts dtype when they differ.</summary>
    void Copy(Buf src, Buf dst);

    /// <summary>dst (any layout) = value.</summary>
    void Fill(Buf dst, double value);
}
