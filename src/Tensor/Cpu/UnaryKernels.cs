// Scalar definitions of every unary op and its derivative, generic over float/double. One struct
// per op so the row loops specialize and inline. Stable forms: sigmoid and softplus never
// overflow; gelu is the exact erf form. Derivatives get x, y = f(x) and the op's parameters.
using System.Numerics;

namespace Engine.Cpu;

internal interface IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{
    static abstract T F(T x, T a, T b);
    static abstract T D(T x, T y, T a, T b); // dy/dx
}

internal static class Scalar<T> where T : IFloatingPointIeee754<T>
{
    public static readonly T Half = T.CreateChecked(0.5);
    public static readonly T Two = T.CreateChecked(2);
    public static readonly T InvSqrt2 = T.CreateChecked(0.70710678118654752440);
    public static readonly T InvSqrt2Pi = T.CreateChecked(0.39894228040143267794);
    public static readonly T TwoOverSqrtPi = T.CreateChecked(1.12837916709551257390);
}

internal static class SpecialMath
{
    /// <summary>erf to ~1e-16 relative: erf(x) = 2/sqrt(pi) e^{-x^2} sum 2^n x^{2n+1}/(2n+1)!!
    /// (all terms positive, no cancellation); |x| >= 6 rounds to +-1.</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        if (ax >= 6) return Math.Sign(x);
        double term = ax, sum = ax, x2 = ax * ax;
        for (int n = 1; n < 200; n++)
        {
            term *= 2 * x2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        double r = 1.1283791670955126 * Math.Exp(-x2) * sum;
        return x < 0 ? -r : r;
    }

    /// <summary>erfc to ~2e-14 relative (5e-16 absolute) over the whole line, without the
    /// cancellation of 1 - erf(x) for large x: 1 - erf below 1.5 (erfc >= 0.034 there), above it
    /// the Laplace continued fraction erfc(x) = e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
    /// evaluated bottom-up with 10 + 200/x^2 terms (enough for double precision from 1.5 up).</summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return x;
        if (x < 1.5) return 1 - Erf(x);
        if (x > 30) return 0; // below the smallest subnormal
        int n = 10 + (int)(200 / (x * x));
        double f = x;
        for (int k = n; k >= 1; k--) f = x + 0.5 * k / f;
        // e^{-x^2} as e^{-z^2} e^{(z - x)(z + x)} with z a multiple of 2^-12, so z^2 is exact and
        // the rounding of x^2 (relative error eps * x^2 after exp) does not enter.
        double z = Math.Round(x * 4096) / 4096;
        return Math.Exp(-z * z) * Math.Exp((z - x) * (z + x)) / (1.7724538509055160273 * f);
    }

    // .NET's generic LogP1/ExpM1 are log(1+x) and exp(x)-1, which lose all precision near 0.
    // These are the classic compensated forms (Goldberg / Kahan).
    // The correction factor x / (u - 1) (resp. x / log u) is formed first: it is ~1, whereas
    // log(u) * x or (u - 1) * x overflows for large x (log1p(1e37f), expm1(88f), expm1(709)).
    public static T Log1p<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T u = T.One + x;
        if (u == T.One) return x;
        if (T.IsPositiveInfinity(u)) return u; // x = +inf (1 + a finite x cannot overflow)
        return T.Log(u) * (x / (u - T.One));
    }

    public static T Expm1<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T u = T.Exp(x);
        if (u == T.One) return x;
        T um1 = u - T.One;
        return um1 == -T.One ? -T.One : T.IsPositiveInfinity(u) ? u : um1 * (x / T.Log(u));
    }
}

internal struct KNeg<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => -x; public static T D(T x, T y, T a, T b) => -T.One; }
internal struct KAbs<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => T.Abs(x); public static T D(T x, T y, T a, T b) => x > T.Zero ? T.One : x < T.Zero ? -T.One : T.Zero; }
internal struct KExp<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => T.Exp(x); public static T D(T x, T y, T a, T b) => y; }
internal struct KLog<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => T.Log(x); public static T D(T x, T y, T a, T b) => T.One / x; }
internal struct KSqrt<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => T.Sqrt(x); public static T D(T x, T y, T a, T b) => Scalar<T>.Half / y; }
internal struct KRsqrt<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => T.One / T.Sqrt(x); public static T D(T x, T y, T a, T b) => -Scalar<T>.Half * y * y * y; }
internal struct KSquare<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => x * x; public static T D(T x, T y, T a, T b) => Scalar<T>.Two * x; }
internal struct KSigmoid<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{
    public static T F(T x, T a, T b)
    {
        if (x >= T.Zero) return T.One / (T.One + T.Exp(-x));
        T e = T.Exp(x); return e / (T.One + e);
    }
    public static T D(T x, T y, T a, T b) => y * (T.One - y);
}
internal struct KTanh<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => T.Tanh(x); public static T D(T x, T y, T a, T b) => T.One - y * y; }
internal struct KSoftplus<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{
    // log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}): no overflow for large |x|.
    public static T F(T x, T a, T b) => T.Max(x, T.Zero) + SpecialMath.Log1p(T.Exp(-T.Abs(x)));
    public static T D(T x, T y, T a, T b) => KSigmoid<T>.F(x, a, b);
}
internal struct KRelu<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{
    // x < 0 ? 0 : x, not x > 0 ? x : 0, so that NaN propagates (as in PyTorch and like Maximum, Max).
    public static T F(T x, T a, T b) => x < T.Zero ? T.Zero : x;
    public static T D(T x, T y, T a, T b) => x > T.Zero ? T.One : T.Zero;
}
internal struct KLeakyRelu<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => x > T.Zero ? x : a * x; public static T D(T x, T y, T a, T b) => x > T.Zero ? T.One : a; }
internal struct KElu<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => x > T.Zero ? x : a * SpecialMath.Expm1(x); public static T D(T x, T y, T a, T b) => x > T.Zero ? T.One : a * T.Exp(x); }
internal struct KGelu<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{
    // Phi(x) = erfc(-x/sqrt 2)/2, in double: 1 + erf(x/sqrt 2) cancels for x < 0 (43% relative
    // error at x = -8 in f64, 4% at x = -5 in f32, 0 instead of -7.6e-23 at x = -10).
    private static double Phi(T x) => 0.5 * SpecialMath.Erfc(-double.CreateTruncating(x) * 0.70710678118654752440);
    public static T F(T x, T a, T b) => T.CreateTruncating(double.CreateTruncating(x) * Phi(x));
    public static T D(T x, T y, T a, T b)
        => T.CreateTruncating(Phi(x)) + x * Scalar<T>.InvSqrt2Pi * T.Exp(-Scalar<T>.Half * x * x);
}
internal struct KClamp<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{
    public static T F(T x, T a, T b) => T.IsNaN(x) ? x : x < a ? a : x > b ? b : x;
    public static T D(T x, T y, T a, T b) => x >= a && x <= b ? T.One : T.Zero;
}
internal struct KPowScalar<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{
    public static T F(T x, T a, T b) => a == Scalar<T>.Two ? x * x : T.Pow(x, a);
    public static T D(T x, T y, T a, T b) => a == T.Zero ? T.Zero : a * T.Pow(x, a - T.One);
}
internal struct KSign<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => x > T.Zero ? T.One : x < T.Zero ? -T.One : x; public static T D(T x, T y, T a, T b) => T.Zero; }
internal struct KReciprocal<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => T.One / x; public static T D(T x, T y, T a, T b) => -y * y; }
internal struct KSin<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => T.Sin(x); public static T D(T x, T y, T a, T b) => T.Cos(x); }
internal struct KCos<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => T.Cos(x); public static T D(T x, T y, T a, T b) => -T.Sin(x); }
internal struct KLog1p<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => SpecialMath.Log1p(x); public static T D(T x, T y, T a, T b) => T.One / (T.One + x); }
internal struct KExpm1<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{ public static T F(T x, T a, T b) => SpecialMath.Expm1(x); public static T D(T x, T y, T a, T b) => y + T.One; }
internal struct KErf<T> : IUnaryKernel<T> where T : IFloatingPointIeee754<T>
{
    public static T F(T x, T a, T b) => T.CreateTruncating(SpecialMath.Erf(double.CreateTruncating(x)));
    public static T D(T x, T y, T a, T b) => Scalar<T>.TwoOverSqrtPi * T.Exp(-x * x);
}
