// Elementwise ops with their backward rules. Binary rules return full-size gradients; the engine
// un-broadcasts them to each input's shape. Comparisons are not differentiable (no node).
namespace Engine.Autograd;

public static partial class F
{
    public static Var Unary(UnaryOp op, Var x, double alpha = 0, double beta = 0)
    {
        var y = Ops.Unary(op, x.Data, alpha, beta);
        var xd = x.Data;
        return Record(op.ToString(), y, [x], gy => [Ops.UnaryBackward(op, xd, y, gy, alpha, beta)]);
    }

    public static Var Neg(Var x) => Unary(UnaryOp.Neg, x);
    public static Var Abs(Var x) => Unary(UnaryOp.Abs, x);
    public static Var Exp(Var x) => Unary(UnaryOp.Exp, x);
    public static Var Log(Var x) => Unary(UnaryOp.Log, x);
    public static Var Sqrt(Var x) => Unary(UnaryOp.Sqrt, x);
    public static Var Rsqrt(Var x) => Unary(UnaryOp.Rsqrt, x);
    public static Var Square(Var x) => Unary(UnaryOp.Square, x);
    public static Var Sigmoid(Var x) => Unary(UnaryOp.Sigmoid, x);
    public static Var Tanh(Var x) => Unary(UnaryOp.Tanh, x);
    public static Var Softplus(Var x) => Unary(UnaryOp.Softplus, x);
    public static Var Relu(Var x) => Unary(UnaryOp.Relu, x);
    public static Var LeakyRelu(Var x, double slope = 0.01) => Unary(UnaryOp.LeakyRelu, x, slope);
    public static Var Elu(Var x, double alpha = 1.0) => Unary(UnaryOp.Elu, x, alpha);
    public static Var Gelu(Var x) => Unary(UnaryOp.Gelu, x);
    public static Var Sin(Var x) => Unary(UnaryOp.Sin, x);
    public static Var Cos(Var x) => Unary(UnaryOp.Cos, x);
    public static Var Log1p(Var x) => Unary(UnaryOp.Log1p, x);
    public static Var Expm1(Var x) => Unary(UnaryOp.Expm1, x);
    public static Var Erf(Var x) => Unary(UnaryOp.Erf, x);
    public static Var Reciprocal(Var x) => Unary(UnaryOp.Reciprocal, x);
    public static Var Pow(Var x, double exponent) => Unary(UnaryOp.PowScalar, x, exponent);

    public static Var Clamp(Var x, double lo, double hi)
    {
        var y = Ops.Clamp(x.Data, lo, hi);
        var xd = x.Data;
        return Record("Clamp", y, [x], gy => [Ops.UnaryBackward(UnaryOp.Clamp, xd, y, gy, lo, hi)]);
    }

    public static Var Add(Var a, Var b) => Record("Add", Ops.Add(a.Data, b.Data), [a, b], gy => [gy.Alias(), gy.Alias()]);
    public static Var Sub(Var a, Var b) => Record("Sub", Ops.Sub(a.Data, b.Data), [a, b], gy => [gy.Alias(), Ops.Neg(gy)]);

    public static Var Mul(Var a, Var b)
    {
        Tensor ad = a.Data, bd = b.Data;
        return Record("Mul", Ops.Mul(ad, bd), [a, b], gy => [
            a.RequiresGrad ? Ops.Mul(gy, bd) : null,
            b.RequiresGrad ? Ops.Mul(gy, ad) : null]);
    }

    public static Var Div(Var a, Var b)
    {
        Tensor ad = a.Data, bd = b.Data;
        var y = Ops.Div(ad, bd);
        return Record("Div", y, [a, b], gy =>
        {
            Tensor? ga = a.RequiresGrad ? Ops.Div(gy, bd) : null;
            Tensor? gb = null;
            if (b.RequiresGrad)
            {
                using var t = Ops.Mul(gy, y);          // gy * a / b
                using var t2 = Ops.Div(t, bd);         // gy * a / b^2
                gb = Ops.Neg(t2);
            }
            return [ga, gb];
        });
    }

    /// <summary>a^b elementwise; d/da = b a^(b-1), d/db = a^b ln a.</summary>
    public static Var Pow(Var a, Var b)
    {
        Tensor ad = a.Data, bd = b.Data;
        var y = Ops.Pow(ad, bd);
        return Record("Pow", y, [a, b], gy =>
        {
            Tensor? ga = null, gb = null;
            if (a.RequiresGrad)
            {
                using var bm1 = Ops.Sub(bd, 1.0);
                using var p = Ops.Pow(ad, bm1);
                using var t = Ops.Mul(p, bd);
                ga = Ops.Mul(t, gy);
            }
            if (b.RequiresGrad)
            {
                using var la = Ops.Log(ad);
                using var t = Ops.Mul(y, la);
                gb = Ops.Mul(t, gy);
            }
            return [ga, gb];
        });
    }

    /// <summary>Elementwise max; on ties the gradient is split evenly (as torch.maximum).</summary>
    public static Var Maximum(Var a, Var b) => MinMax("Maximum", a, b, true);
    public static Var Minimum(Var a, Var b) => MinMax("Minimum", a, b, false);

    private static Var MinMax(string name, Var a, Var b, bool max)
    {
        Tensor ad = a.Data, bd = b.Data;
        var y = max ? Ops.Maximum(ad, bd) : Ops.Minimum(ad, bd);
        return Record(name, y, [a, b], gy =>
        {
            using var aw = max ? Ops.Gt(ad, bd) : Ops.Lt(ad, bd);
            using var eq = Ops.Eq(ad, bd);
            using var half = Ops.Mul(eq, 0.5);
            using var wa = Ops.Add(aw, half);          // 1 where a wins, 0.5 on ties
            using var wb = Ops.BinaryScalar(BinaryOp.Sub, wa, 1.0, scalarFirst: true);
            return [a.RequiresGrad ? Ops.Mul(gy, wa) : null, b.RequiresGrad ? Ops.Mul(gy, wb) : null];
        });
    }

    public static Var Add(Var a, double s) => Record("AddScalar", Ops.Add(a.Data, s), [a], gy => [gy.Alias()]);
    public static Var Sub(Var a, double s) => Record("SubScalar", Ops.Sub(a.Data, s), [a], gy => [gy.Alias()]);
    public static Var Mul(Var a, double s) => Record("MulScalar", Ops.Mul(a.Data, s), [a], gy => [Ops.Mul(gy, s)]);
    public static Var Div(Var a, double s) => Record("DivScalar", Ops.Div(a.Data, s), [a], gy => [Ops.Div(gy, s)]);
    public static Var RSub(double s, Var a) => Record("RSubScalar", Ops.BinaryScalar(BinaryOp.Sub, a.Data, s, true), [a], gy => [Ops.Neg(gy)]);

    public static Var RDiv(double s, Var a)
    {
        var ad = a.Data;
        var y = Ops.BinaryScalar(BinaryOp.Div, ad, s, true);
        return Record("RDivScalar", y, [a], gy =>
        {
            using var t = Ops.Div(y, ad);  // s / a^2
            using var n = Ops.Neg(t);
            return [Ops.Mul(gy, n)];
        });
    }

    public static Var Maximum(Var a, double s) => MinMaxScalar("MaximumScalar", a, s, true);
    public static Var Minimum(Var a, double s) => MinMaxScalar("MinimumScalar", a, s, false);

    private static Var MinMaxScalar(string name, Var a, double s, bool max)
    {
        var ad = a.Data;
        var y = max ? Ops.Maximum(ad, s) : Ops.Minimum(ad, s);
        return Record(name, y, [a], gy =>
        {
            using var w = max ? Ops.Gt(ad, s) : Ops.Lt(ad, s);
            using var eq = Ops.Eq(ad, s);
            using var half = Ops.Mul(eq, 0.5);
            using var ww = Ops.Add(w, half);
            return [Ops.Mul(gy, ww)];
        });
    }

    /// <summary>cond ? a : b (cond is data, not differentiated). The node holds its own reference to
    /// cond, so the caller may dispose it before backward.</summary>
    public static Var Where(Tensor cond, Var a, Var b)
    {
        Tensor ad = a.Data, bd = b.Data;
        var y = Ops.Where(cond, ad, bd);
        var c = cond.Alias();
        return Record("Where", y, [a, b], gy =>
        {
            using var z = Tensor.Zeros([], gy.DType, gy.Device);
            return [a.RequiresGrad ? Ops.Where(c, gy, z) : null, b.RequiresGrad ? Ops.Where(c, z, gy) : null];
        }, c);
    }

    // Comparisons: data only.
    public static Tensor Gt(Var a, Var b) => Ops.Gt(a.Data, b.Data);
    public static Tensor Lt(Var a, Var b) => Ops.Lt(a.Data, b.Data);
    public static Tensor Ge(Var a, Var b) => Ops.Ge(a.Data, b.Data);
    public static Tensor Le(Var a, Var b) => Ops.Le(a.Data, b.Data);
    public static Tensor Eq(Var a, Var b) => Ops.Eq(a.Data, b.Data);
    public static Tensor Ne(Var a, Var b) => Ops.Ne(a.Data, b.Data);
}
