// Flow kernels on raw pointers (the CPU backend's, and the oracle of kernels-cu/flow.cu):
//   ActNorm / ActNormBackward  - per-channel affine y = (x + b) e^l (inverse y = x e^-l - b), NCHW
//                                contiguous; backward writes gx and the per-channel sums gb, gl.
//   Affine / AffineBackward    - the coupling / injector epilogue with h in "cross" order
//                                (shift = h[2c], raw = h[2c+1]), scale = sigmoid(raw + 2) + eps;
//                                x may have any sample stride (xs), everything else is dense.
//   LuInverse                  - W^-1 = U^-1 L^-1 P^T for W = P L U by two triangular solves (host,
//                                double; the matrices are C x C with C <= a few hundred).
// Every output is overwritten. Sums accumulate in double, in a fixed order that does not depend on
// the thread count: per-plane partial sums first, then added plane by plane.
using System.Numerics;

namespace Engine.Cpu.Kernels;

public static unsafe class FlowKernels
{
    /// <summary>sigmoid(z) and its derivative sigmoid(z)(1 - sigmoid(z)), both from e = exp(-|z|)
    /// so that neither loses precision to 1 - sigmoid when |z| is large.</summary>
    public static (T s, T ds) Sigmoid<T>(T z) where T : IFloatingPointIeee754<T>
    {
        T e = T.Exp(-T.Abs(z));
        T d = T.One + e;
        T s = z >= T.Zero ? T.One / d : e / d;
        return (s, e / (d * d));
    }

    // ------------------------------------------------------------------ ActNorm

    public static void ActNorm<T>(T* x, T* bias, T* logs, T* y, int n, int c, long hw, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long planes = (long)n * c;
        CpuThreads.ForChunks(planes, planes * hw, (p0, p1) =>
        {
            for (long pl = p0; pl < p1; pl++)
            {
                int ch = (int)(pl % c);
                T b = bias[ch];
                T* xp = x + pl * hw; T* yp = y + pl * hw;
                if (inverse)
                {
                    T s = T.Exp(-logs[ch]);
                    for (long i = 0; i < hw; i++) yp[i] = xp[i] * s - b;
                }
                else
                {
                    T s = T.Exp(logs[ch]);
                    for (long i = 0; i < hw; i++) yp[i] = (xp[i] + b) * s;
                }
            }
        });
    }

    /// <summary>Forward: gx = gy e^l, gb = sum gy e^l, gl = sum gy (x + b) e^l.
    /// Inverse (y = x e^-l - b): gx = gy e^-l, gb = -sum gy, gl = -sum gy x e^-l. gx may be null.</summary>
    public static void ActNormBackward<T>(T* x, T* gy, T* bias, T* logs, T* gx, T* gbias, T* glogs, int n, int c, long hw, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CpuThreads.ForChunks(c, (long)n * c * hw, (c0, c1) =>
        {
            for (long ch = c0; ch < c1; ch++)
            {
                T b = bias[ch];
                T s = inverse ? T.Exp(-logs[ch]) : T.Exp(logs[ch]);
                double sb = 0, sl = 0;
                for (int i = 0; i < n; i++)
                {
                    long off = ((long)i * c + ch) * hw;
                    T* xp = x + off; T* gp = gy + off; T* gxp = gx == null ? null : gx + off;
                    double pb = 0, pl = 0;
                    for (long k = 0; k < hw; k++)
                    {
                        T g = gp[k];
                        T gs = g * s;
                        if (gxp != null) gxp[k] = gs;
                        if (inverse) { pb -= double.CreateTruncating(g); pl -= double.CreateTruncating(gs * xp[k]); }
                        else { pb += double.CreateTruncating(gs); pl += double.CreateTruncating(gs * (xp[k] + b)); }
                    }
                    sb += pb; sl += pl;
                }
                gbias[ch] = T.CreateTruncating(sb);
                glogs[ch] = T.CreateTruncating(sl);
            }
        });
    }

    // ------------------------------------------------------------------ affine epilogue

    /// <summary>y (N, C, HW) dense from x (sample stride xs) and h (N, 2C, HW); logdet[n] = +-sum log scale.</summary>
    public static void Affine<T>(T* x, long xs, T* h, T* y, T* logdet, int n, int c, long hw, T eps, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long planes = (long)n * c;
        var part = new double[planes];
        T two = T.CreateTruncating(2);
        CpuThreads.ForChunks(planes, planes * hw, (p0, p1) =>
        {
            for (long pl = p0; pl < p1; pl++)
            {
                long i = pl / c, ch = pl - i * c;
                T* xp = x + i * xs + ch * hw;
                T* yp = y + pl * hw;
                T* shp = h + (i * 2 * c + 2 * ch) * hw;
                T* rp = shp + hw;
                double acc = 0;
                for (long k = 0; k < hw; k++)
                {
                    T s = Sigmoid(rp[k] + two).s + eps;
                    yp[k] = inverse ? xp[k] / s - shp[k] : (xp[k] + shp[k]) * s;
                    acc += double.CreateTruncating(T.Log(s));
                }
                part[pl] = acc;
            }
        });
        for (int i = 0; i < n; i++)
        {
            double acc = 0;
            for (int ch = 0; ch < c; ch++) acc += part[(long)i * c + ch];
            logdet[i] = T.CreateTruncating(inverse ? -acc : acc);
        }
    }

    /// <summary>Gradients of Affine. With s = sigmoid(r + 2) + eps, ds = sigmoid'(r + 2):
    /// forward  gx = gy s,  gshift = gy s,  graw = gy (x + shift) ds + gld ds / s;
    /// inverse  gx = gy / s, gshift = -gy, graw = -(gy x / s + gld) ds / s.
    /// gy or gld may be null (taken as 0); gx may be null (not written).</summary>
    public static void AffineBackward<T>(T* x, long xs, T* h, T* gy, T* gld, T* gx, T* gh, int n, int c, long hw, T eps, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long planes = (long)n * c;
        T two = T.CreateTruncating(2);
        CpuThreads.ForChunks(planes, planes * hw, (p0, p1) =>
        {
            for (long pl = p0; pl < p1; pl++)
            {
                long i = pl / c, ch = pl - i * c;
                T* xp = x + i * xs + ch * hw;
                long hoff = (i * 2 * c + 2 * ch) * hw;
                T* shp = h + hoff; T* rp = shp + hw;
                T* gshp = gh + hoff; T* grp = gshp + hw;
                T* gyp = gy == null ? null : gy + pl * hw;
                T* gxp = gx == null ? null : gx + pl * hw;
                T G = gld == null ? T.Zero : gld[i];
                for (long k = 0; k < hw; k++)
                {
                    var (sg, ds) = Sigmoid(rp[k] + two);
                    T s = sg + eps;
                    T g = gyp == null ? T.Zero : gyp[k];
                    if (inverse)
                    {
                        T gs = g / s;
                        if (gxp != null) gxp[k] = gs;
                        gshp[k] = -g;
                        grp[k] = -(gs * xp[k] + G) * ds / s;
                    }
                    else
                    {
                        T gs = g * s;
                        if (gxp != null) gxp[k] = gs;
                        gshp[k] = gs;
                        grp[k] = g * (xp[k] + shp[k]) * ds + G * ds / s;
                    }
                }
            }
        });
    }

    // ------------------------------------------------------------------ LU inverse (host)

    /// <summary>W^-1 for W = P L U (row-major c x c arrays): X = L^-1 P^T by forward substitution
    /// (L unit lower: its diagonal and upper part are not read), then U^-1 X by back substitution
    /// (U upper: its strictly lower part is not read). Throws on a zero diagonal entry of U.</summary>
    public static double[] LuInverse(double[] p, double[] l, double[] u, int c)
    {
        var x = new double[c * c];
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++) x[i * c + j] = p[j * c + i]; // P^T
        // L X = P^T, row by row from the top (unit diagonal).
        for (int i = 1; i < c; i++)
            for (int k = 0; k < i; k++)
            {
                double lik = l[i * c + k];
                if (lik == 0) continue;
                for (int j = 0; j < c; j++) x[i * c + j] -= lik * x[k * c + j];
            }
        // U Y = X, row by row from the bottom.
        for (int i = c - 1; i >= 0; i--)
        {
            for (int k = i + 1; k < c; k++)
            {
                double uik = u[i * c + k];
                if (uik == 0) continue;
                for (int j = 0; j < c; j++) x[i * c + j] -= uik * x[k * c + j];
            }
            double d = u[i * c + i];
            if (d == 0 || !double.IsFinite(d)) throw new ArgumentException($"upper factor has diagonal entry {d} at ({i}, {i}): W is singular");
            for (int j = 0; j < c; j++) x[i * c + j] /= d;
        }
        return x;
    }
}
