// Elementwise ops: unary (+ fused backward), binary with broadcasting, scalar forms, comparisons,
// where, clamp. Outputs are new contiguous tensors.
namespace Engine;

public static partial class Ops
{
    public static Tensor Unary(UnaryOp op, Tensor x, double alpha = 0, double beta = 0)
    {
        CheckFloat(op.ToString(), x);
        var y = Tensor.Empty(x.Layout.Shape, x.DType, x.Device);
        x.Backend.Unary(op, x.Buf, y.Buf, alpha, beta);
        return y;
    }

    /// <summary>gx = gy * op'(x). y = op(x) may be passed when the derivative uses it (sigmoid, tanh, exp...).</summary>
    public static Tensor UnaryBackward(UnaryOp op, Tensor x, Tensor? y, Tensor gy, double alpha = 0, double beta = 0)
    {
        string name = op + "Backward";
        CheckSameDevice(name, x, gy); CheckSameDType(name, x, gy);
        if (!x.Layout.SameShape(gy.Layout)) throw new ShapeMismatchException(name, $"x {Fmt.Of(x)} vs grad {Fmt.Of(gy)}");
        var gx = Tensor.Empty(x.Layout.Shape, x.DType, x.Device);
        x.Backend.UnaryBackward(op, x.Buf, (y ?? x).Buf, gy.Buf, gx.Buf, alpha, beta);
        return gx;
    }

    public static Tensor Neg(Tensor x) => Unary(UnaryOp.Neg, x);
    public static Tensor Abs(Tensor x) => Unary(UnaryOp.Abs, x);
    public static Tensor Exp(Tensor x) => Unary(UnaryOp.Exp, x);
    public static Tensor Log(Tensor x) => Unary(UnaryOp.Log, x);
    public static Tensor Sqrt(Tensor x) => Unary(UnaryOp.Sqrt, x);
    public static Tensor Rsqrt(Tensor x) => Unary(UnaryOp.Rsqrt, x);
    public static Tensor Square(Tensor x) => Unary(UnaryOp.Square, x);
    public static Tensor Sigmoid(Tensor x) => Unary(UnaryOp.Sigmoid, x);
    public static Tensor Tanh(Tensor x) => Unary(UnaryOp.Tanh, x);
    public static Tensor Softplus(Tensor x) => Unary(UnaryOp.Softplus, x);
    public static Tensor Relu(Tensor x) => Unary(UnaryOp.Relu, x);
    public static Tensor LeakyRelu(Tensor x, double slope = 0.01) => Unary(UnaryOp.LeakyRelu, x, slope);
    public static Tensor Elu(Tensor x, double alpha = 1.0) => Unary(UnaryOp.Elu, x, alpha);
    public static Tensor Gelu(Tensor x) => Unary(UnaryOp.Gelu, x);
    public static Tensor Sign(Tensor x) => Unary(UnaryOp.Sign, x);
    public static Tensor Reciprocal(Tensor x) => Unary(UnaryOp.Reciprocal, x);
    public static Tensor Sin(Tensor x) => Unary(UnaryOp.Sin, x);
    public static Tensor Cos(Tensor x) => Unary(UnaryOp.Cos, x);
    public static Tensor Log1p(Tensor x) => Unary(UnaryOp.Log1p, x);
    public static Tensor Expm1(Tensor x) => Unary(UnaryOp.Expm1, x);
    public static Tensor Erf(Tensor x) => Unary(UnaryOp.Erf, x);
    public static Tensor Pow(Tensor x, double exponent) => Unary(UnaryOp.PowScalar, x, exponent);

    public static Tensor Clamp(Tensor x, double lo, double hi)
    {
        if (!(lo <= hi)) throw new InvalidArgumentException("Clamp", $"lo {lo} > hi {hi}");
        return Unary(UnaryOp.Clamp, x, lo, hi);
    }

    public static Tensor Binary(BinaryOp op, Tensor a, Tensor b)
    {
        string name = op.ToString();
        CheckSameDevice(name, a, b); CheckSameDType(name, a, b); CheckFloat(name, a);
        var shape = BroadcastShape(name, a.Layout.Shape, b.Layout.Shape);
        var y = Tensor.Empty(shape, a.DType, a.Device);
        using var ea = a.Expand(shape);
        using var eb = b.Expand(shape);
        a.Backend.Binary(op, ea.Buf, eb.Buf, y.Buf);
        return y;
    }

    public static Tensor BinaryScalar(BinaryOp op, Tensor a, double s, bool scalarFirst = false)
    {
        CheckFloat(op.ToString(), a);
        var y = Tensor.Empty(a.Layout.Shape, a.DType, a.Device);
        a.Backend.BinaryScalar(op, a.Buf, s, scalarFirst, y.Buf);
        return y;
    }

    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);
    public static Tensor Sub(Tensor a, Tensor b) => Binary(BinaryOp.Sub, a, b);
    public static Tensor Mul(Tensor a, Tensor b) => Binary(BinaryOp.Mul, a, b);
    public static Tensor Div(Tensor a, Tensor b) => Binary(BinaryOp.Div, a, b);
    public static Tensor Pow(Tensor a, Tensor b) => Binary(BinaryOp.Pow, a, b);
    public static Tensor Maximum(Tensor a, Tensor b) => Binary(BinaryOp.Maximum, a, b);
    public static Tensor Minimum(Tensor a, Tensor b) => Binary(BinaryOp.Minimum, a, b);
    public static Tensor Eq(Tensor a, Tensor b) => Binary(BinaryOp.Eq, a, b);
    public static Tensor Ne(Tensor a, Tensor b) => Binary(BinaryOp.Ne, a, b);
    public static Tensor Lt(Tensor a, Tensor b) => Binary(BinaryOp.Lt, a, b);
    public static Tensor Le(Tensor a, Tensor b) => Binary(BinaryOp.Le, a, b);
    public static Tensor Gt(Tensor a, Tensor b) => Binary(BinaryOp.Gt, a, b);
    public static Tensor Ge(Tensor a, Tensor b) => Binary(BinaryOp.Ge, a, b);

    public static Tensor Add(Tensor a, double s) => BinaryScalar(BinaryOp.Add, a, s);
    public static Tensor Sub(Tensor a, double s) => BinaryScalar(BinaryOp.Sub, a, s);
    public static Tensor Mul(Tensor a, double s) => BinaryScalar(BinaryOp.Mul, a, s);
    public static Tensor Div(Tensor a, double s) => BinaryScalar(BinaryOp.Div, a, s);
    public static Tensor Maximum(Tensor a, double s) => BinaryScalar(BinaryOp.Maximum, a, s);
    public static Tensor Minimum(Tensor a, double s) => BinaryScalar(BinaryOp.Minimum, a, s);
    public static Tensor Gt(Tensor a, double s) => BinaryScalar(BinaryOp.Gt, a, s);
    public static Tensor Lt(Tensor a, double s) => BinaryScalar(BinaryOp.Lt, a, s);
    public static Tensor Ge(Tensor a, double s) => BinaryScalar(BinaryOp.Ge, a, s);
    public static Tensor Le(Tensor a, double s) => BinaryScalar(BinaryOp.Le, a, s);
    public static Tensor Eq(Tensor a, double s) => BinaryScalar(BinaryOp.Eq, a, s);

    /// <summary>y = cond != 0 ? a : b with three-way broadcasting.</summary>
    public static Tensor Where(Tensor cond, Tensor a, Tensor b)
    {
        CheckSameDevice("Where", cond, a); CheckSameDevice("Where", a, b);
        CheckSameDType("Where", a, b); CheckFloat("Where", a);
        if (!cond.DType.IsFloat() && cond.DType != DType.I32) throw new DTypeMismatchException("Where", $"condition {Fmt.Of(cond)}");
        var shape = BroadcastShape("Where", BroadcastShape("Where", cond.Layout.Shape, a.Layout.Shape), b.Layout.Shape);
        using var cc = cond.To(a.DType);
        using var ec = cc.Expand(shape);
        using var ea = a.Expand(shape);
        using var eb = b.Expand(shape);
        var y = Tensor.Empty(shape, a.DType, a.Device);
        a.Backend.Where(ec.Buf, ea.Buf, eb.Buf, y.Buf);
        return y;
    }
}
