// CPU elementwise family. Contiguous rows take TensorPrimitives fast paths where one exists;
// everything else runs a per-op specialized strided loop (struct kernels from UnaryKernels.cs).
using System.Numerics;
using System.Numerics.Tensors;

namespace Engine.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void Unary(UnaryOp op, Buf x, Buf y, double alpha, double beta)
    {
        if (x.DType == DType.F32) UnaryT<float>(op, x, y, (float)alpha, (float)beta);
        else if (x.DType == DType.F64) UnaryT<double>(op, x, y, alpha, beta);
        else throw new DTypeMismatchException(op.ToString(), $"cpu unary on {x.DType.Name()}");
    }

    public void UnaryBackward(UnaryOp op, Buf x, Buf y, Buf gy, Buf gx, double alpha, double beta)
    {
        if (x.DType == DType.F32) UnaryBackwardT<float>(op, x, y, gy, gx, (float)alpha, (float)beta);
        else UnaryBackwardT<double>(op, x, y, gy, gx, alpha, beta);
    }

    private static void UnaryT<T>(UnaryOp op, Buf x, Buf y, T a, T b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: Map<T, KNeg<T>>(x, y, a, b, static (s, d) => TensorPrimitives.Negate(s, d)); break;
            case UnaryOp.Abs: Map<T, KAbs<T>>(x, y, a, b, static (s, d) => TensorPrimitives.Abs(s, d)); break;
            case UnaryOp.Exp: Map<T, KExp<T>>(x, y, a, b, static (s, d) => TensorPrimitives.Exp(s, d)); break;
            case UnaryOp.Log: Map<T, KLog<T>>(x, y, a, b, static (s, d) => TensorPrimitives.Log(s, d)); break;
            case UnaryOp.Sqrt: Map<T, KSqrt<T>>(x, y, a, b, static (s, d) => TensorPrimitives.Sqrt(s, d)); break;
            case UnaryOp.Rsqrt: Map<T, KRsqrt<T>>(x, y, a, b, null); break;
            case UnaryOp.Square: Map<T, KSquare<T>>(x, y, a, b, static (s, d) => TensorPrimitives.Multiply(s, s, d)); break;
            case UnaryOp.Sigmoid: Map<T, KSigmoid<T>>(x, y, a, b, null); break;
            // No TensorPrimitives.Tanh fast path: it returns -6e-8 for tanh(0f) and is off by ~1e-8
            // relative near 0 in double (golden tests); the scalar T.Tanh is accurate.
            case UnaryOp.Tanh: Map<T, KTanh<T>>(x, y, a, b, null); break;
            case UnaryOp.Softplus: Map<T, KSoftplus<T>>(x, y, a, b, null); break;
            case UnaryOp.Relu: Map<T, KRelu<T>>(x, y, a, b, null); break;
            case UnaryOp.LeakyRelu: Map<T, KLeakyRelu<T>>(x, y, a, b, null); break;
            case UnaryOp.Elu: Map<T, KElu<T>>(x, y, a, b, null); break;
            case UnaryOp.Gelu: Map<T, KGelu<T>>(x, y, a, b, null); break;
            case UnaryOp.Clamp: Map<T, KClamp<T>>(x, y, a, b, null); break;
            case UnaryOp.PowScalar: Map<T, KPowScalar<T>>(x, y, a, b, null); break;
            case UnaryOp.Sign: Map<T, KSign<T>>(x, y, a, b, null); break;
            case UnaryOp.Reciprocal: Map<T, KReciprocal<T>>(x, y, a, b, null); break;
            case UnaryOp.Sin: Map<T, KSin<T>>(x, y, a, b, null); break;
            case UnaryOp.Cos: Map<T, KCos<T>>(x, y, a, b, null); break;
            case UnaryOp.Log1p: Map<T, KLog1p<T>>(x, y, a, b, null); break;
            case UnaryOp.Expm1: Map<T, KExpm1<T>>(x, y, a, b, null); break;
            case UnaryOp.Erf: Map<T, KErf<T>>(x, y, a, b, null); break;
            default: throw new UnsupportedOpException(op.ToString(), "cpu unary");
        }
    }

    private delegate void SpanMap<T>(ReadOnlySpan<T> s, Span<T> d);

    private static void Map<T, K>(Buf x, Buf y, T a, T b, SpanMap<T>? fast)
        where T : unmanaged, IFloatingPointIeee754<T> where K : IUnaryKernel<T>
    {
        T* px = P<T>(x), py = P<T>(y);
        Strided.ForRows(x.Shape, [x.Layout.Strides, y.Layout.Strides], [0, 0], (o, st, n) =>
        {
            T* s = px + o[0]; T* d = py + o[1];
            if (st[0] == 1 && st[1] == 1)
            {
                if (fast != null) { fast(new ReadOnlySpan<T>(s, n), new Span<T>(d, n)); return; }
                for (int i = 0; i < n; i++) d[i] = K.F(s[i], a, b);
            }
            else
                for (int i = 0; i < n; i++) d[i * st[1]] = K.F(s[i * st[0]], a, b);
        });
    }

    private static void UnaryBackwardT<T>(UnaryOp op, Buf x, Buf y, Buf gy, Buf gx, T a, T b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: Deriv<T, KNeg<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Abs: Deriv<T, KAbs<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Exp: Deriv<T, KExp<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Log: Deriv<T, KLog<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Sqrt: Deriv<T, KSqrt<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Rsqrt: Deriv<T, KRsqrt<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Square: Deriv<T, KSquare<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Sigmoid: Deriv<T, KSigmoid<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Tanh: Deriv<T, KTanh<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Softplus: Deriv<T, KSoftplus<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Relu: Deriv<T, KRelu<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.LeakyRelu: Deriv<T, KLeakyRelu<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Elu: Deriv<T, KElu<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Gelu: Deriv<T, KGelu<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Clamp: Deriv<T, KClamp<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.PowScalar: Deriv<T, KPowScalar<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Sign: Deriv<T, KSign<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Reciprocal: Deriv<T, KReciprocal<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Sin: Deriv<T, KSin<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Cos: Deriv<T, KCos<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Log1p: Deriv<T, KLog1p<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Expm1: Deriv<T, KExpm1<T>>(x, y, gy, gx, a, b); break;
            case UnaryOp.Erf: Deriv<T, KErf<T>>(x, y, gy, gx, a, b); break;
            default: throw new BackwardNotSupportedException(op.ToString(), "cpu unary backward");
        }
    }

    private static void Deriv<T, K>(Buf x, Buf y, Buf gy, Buf gx, T a, T b)
        where T : unmanaged, IFloatingPointIeee754<T> where K : IUnaryKernel<T>
    {
        T* px = P<T>(x), py = P<T>(y), pg = P<T>(gy), pgx = P<T>(gx);
        Strided.ForRows(x.Shape, [x.Layout.Strides, y.Layout.Strides, gy.Layout.Strides, gx.Layout.Strides], [0, 0, 0, 0], (o, st, n) =>
        {
            T* sx = px + o[0]; T* sy = py + o[1]; T* sg = pg + o[2]; T* d = pgx + o[3];
            for (int i = 0; i < n; i++)
                d[i * st[3]] = sg[i * st[2]] * K.D(sx[i * st[0]], sy[i * st[1]], a, b);
        });
    }

    public void Binary(BinaryOp op, Buf a, Buf b, Buf y)
    {
        if (a.DType == DType.F32) BinaryT<float>(op, a, b, y);
        else if (a.DType == DType.F64) BinaryT<double>(op, a, b, y);
        else throw new DTypeMismatchException(op.ToString(), $"cpu binary on {a.DType.Name()}");
    }

    private static T Apply<T>(BinaryOp op, T u, T v) where T : IFloatingPointIeee754<T> => op switch
    {
        BinaryOp.Add => u + v,
        BinaryOp.Sub => u - v,
        BinaryOp.Mul => u * v,
        BinaryOp.Div => u / v,
        BinaryOp.Pow => T.Pow(u, v),
        BinaryOp.Maximum => T.IsNaN(u) || T.IsNaN(v) ? T.NaN : T.Max(u, v),
        BinaryOp.Minimum => T.IsNaN(u) || T.IsNaN(v) ? T.NaN : T.Min(u, v),
        BinaryOp.Eq => u == v ? T.One : T.Zero,
        BinaryOp.Ne => u != v ? T.One : T.Zero,
        BinaryOp.Lt => u < v ? T.One : T.Zero,
        BinaryOp.Le => u <= v ? T.One : T.Zero,
        BinaryOp.Gt => u > v ? T.One : T.Zero,
        BinaryOp.Ge => u >= v ? T.One : T.Zero,
        _ => throw new UnsupportedOpException(op.ToString(), "cpu binary"),
    };

    private static void BinaryT<T>(BinaryOp op, Buf a, Buf b, Buf y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* pa = P<T>(a), pb = P<T>(b), py = P<T>(y);
        Strided.ForRows(y.Shape, [a.Layout.Strides, b.Layout.Strides, y.Layout.Strides], [0, 0, 0], (o, st, n) =>
        {
            T* sa = pa + o[0]; T* sb = pb + o[1]; T* d = py + o[2];
            if (st[0] == 1 && st[1] == 1 && st[2] == 1)
            {
                var ra = new ReadOnlySpan<T>(sa, n); var rb = new ReadOnlySpan<T>(sb, n); var rd = new Span<T>(d, n);
                switch (op)
                {
                    case BinaryOp.Add: TensorPrimitives.Add(ra, rb, rd); return;
                    case BinaryOp.Sub: TensorPrimitives.Subtract(ra, rb, rd); return;
                    case BinaryOp.Mul: TensorPrimitives.Multiply(ra, rb, rd); return;
                    case BinaryOp.Div: TensorPrimitives.Divide(ra, rb, rd); return;
                }
            }
            switch (op)
            {
                // Hot ops get their own loops so the switch is not inside the element loop.
                case BinaryOp.Add: for (int i = 0; i < n; i++) d[i * st[2]] = sa[i * st[0]] + sb[i * st[1]]; break;
                case BinaryOp.Sub: for (int i = 0; i < n; i++) d[i * st[2]] = sa[i * st[0]] - sb[i * st[1]]; break;
                case BinaryOp.Mul: for (int i = 0; i < n; i++) d[i * st[2]] = sa[i * st[0]] * sb[i * st[1]]; break;
                case BinaryOp.Div: for (int i = 0; i < n; i++) d[i * st[2]] = sa[i * st[0]] / sb[i * st[1]]; break;
                default: for (int i = 0; i < n; i++) d[i * st[2]] = Apply(op, sa[i * st[0]], sb[i * st[1]]); break;
            }
        });
    }

    public void BinaryScalar(BinaryOp op, Buf a, double s, bool scalarFirst, Buf y)
    {
        if (a.DType == DType.F32) BinaryScalarT(op, a, (float)s, scalarFirst, y);
        else if (a.DType == DType.F64) BinaryScalarT(op, a, s, scalarFirst, y);
        else throw new DTypeMismatchException(op.ToString(), $"cpu binary on {a.DType.Name()}");
    }

    private static void BinaryScalarT<T>(BinaryOp op, Buf a, T s, bool scalarFirst, Buf y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* pa = P<T>(a), py = P<T>(y);
        Strided.ForRows(a.Shape, [a.Layout.Strides, y.Layout.Strides], [0, 0], (o, st, n) =>
        {
            T* sa = pa + o[0]; T* d = py + o[1];
            if (!scalarFirst && st[0] == 1 && st[1] == 1)
            {
                var ra = new ReadOnlySpan<T>(sa, n); var rd = new Span<T>(d, n);
                switch (op)
                {
                    case BinaryOp.Add: TensorPrimitives.Add(ra, s, rd); return;
                    case BinaryOp.Sub: TensorPrimitives.Subtract(ra, s, rd); return;
                    case BinaryOp.Mul: TensorPrimitives.Multiply(ra, s, rd); return;
                    case BinaryOp.Div: TensorPrimitives.Divide(ra, s, rd); return;
                }
            }
            if (scalarFirst) for (int i = 0; i < n; i++) d[i * st[1]] = Apply(op, s, sa[i * st[0]]);
            else for (int i = 0; i < n; i++) d[i * st[1]] = Apply(op, sa[i * st[0]], s);
        });
    }

    public void Where(Buf cond, Buf a, Buf b, Buf y)
    {
        if (a.DType == DType.F32) WhereT<float>(cond, a, b, y);
        else WhereT<double>(cond, a, b, y);
    }

    private static void WhereT<T>(Buf cond, Buf a, Buf b, Buf y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* pc = P<T>(cond), pa = P<T>(a), pb = P<T>(b), py = P<T>(y);
        Strided.ForRows(y.Shape, [cond.Layout.Strides, a.Layout.Strides, b.Layout.Strides, y.Layout.Strides], [0, 0, 0, 0], (o, st, n) =>
        {
            T* sc = pc + o[0]; T* sa = pa + o[1]; T* sb = pb + o[2]; T* d = py + o[3];
            for (int i = 0; i < n; i++) d[i * st[3]] = sc[i * st[0]] != T.Zero ? sa[i * st[1]] : sb[i * st[2]];
        });
    }
}
