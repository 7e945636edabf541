// Flow kernels on raw pointers (the CPU backend's, and the oracle of kernels-cu/flow.cu):
//   ActNorm / ActNormBackward  - per-channel affine y = (x + b) e^l (inverse y = x e^-l - b), NCHW
//                                contiguous; backward writes gx and the per-channel sums gb, gl.
//   Affine / AffineBackward    - the coupling / injector epilogue with h in "cross" order
//                                (shift = h[2c], raw = h[2c+1]), scale = sigmoid(raw + 2) + eps;
//                                x may have any sample stride (xs), everything else is dense.
//   LuInverse                  - W^-1 = U^-1 L^-1 P^T for W = P L U by two triangular solves (host,
//                                double; the matrices are C x C with C <= a few hundred).
// Every output is overwritten. Sums accumulate in double, in a fixed order that does not depend on
// the thread count: per-plane partial sums first, then added plane by plane. Planes are processed
// in chunks of 512 elements with TensorPrimitives (vectorized exp/log/sigmoid), the temporaries of
// a chunk staying in L1, so main memory is still touched once per element.
using System.Numerics;
using System.Numerics.Tensors;

namespace Engine.Cpu.Kernels;

public static unsafe class FlowKernels
{
    /// <summary>Elements per chunk of the vectorized loops: a plane is processed in chunks whose
    /// temporaries stay in L1, so main memory is still read and written once.</summary>
    private const int Chunk = 512;

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
                T s = inverse ? T.Exp(-logs[ch]) : T.Exp(logs[ch]);
                for (long k0 = 0; k0 < hw; k0 += Chunk)
                {
                    int m = (int)Math.Min(Chunk, hw - k0);
                    var xs = new ReadOnlySpan<T>(x + pl * hw + k0, m);
                    var ys = new Span<T>(y + pl * hw + k0, m);
                    if (inverse) { TensorPrimitives.Multiply(xs, s, ys); TensorPrimitives.Subtract(ys, b, ys); }
                    else { TensorPrimitives.Add(xs, b, ys); TensorPrimitives.Multiply(ys, s, ys); }
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
            Span<T> gs = stackalloc T[Chunk];
            Span<T> t = stackalloc T[Chunk];
            for (long ch = c0; ch < c1; ch++)
            {
                T b = bias[ch];
                T s = inverse ? T.Exp(-logs[ch]) : T.Exp(logs[ch]);
                double sb = 0, sl = 0;
                for (int i = 0; i < n; i++)
                {
                    long off = ((long)i * c + ch) * hw;
                    for (long k0 = 0; k0 < hw; k0 += Chunk)
                    {
                        int m = (int)Math.Min(Chunk, hw - k0);
                        var xs = new ReadOnlySpan<T>(x + off + k0, m);
                        var g = new ReadOnlySpan<T>(gy + off + k0, m);
                        var gsv = gs[..m]; var tv = t[..m];
                        TensorPrimitives.Multiply(g, s, gsv);
                        if (gx != null) gsv.CopyTo(new Span<T>(gx + off + k0, m));
                        if (inverse) { TensorPrimitives.Multiply(gsv, xs, tv); sb -= SumD<T>(g); sl -= SumD<T>(tv); }
                        else { TensorPrimitives.Add(xs, b, tv); TensorPrimitives.Multiply(tv, gsv, tv); sb += SumD<T>(gsv); sl += SumD<T>(tv); }
                    }
                }
                gbias[ch] = T.CreateTruncating(sb);
                glogs[ch] = T.CreateTruncating(sl);
            }
        });
    }

    /// <summary>Sum in double (the per-channel / per-sample sums must not lose f32 precision).</summary>
    private static double SumD<T>(ReadOnlySpan<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double a = 0;
        foreach (T e in v) a += double.CreateTruncating(e);
        return a;
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
            Span<T> s = stackalloc T[Chunk];
            Span<T> t = stackalloc T[Chunk];
            for (long pl = p0; pl < p1; pl++)
            {
                long i = pl / c, ch = pl - i * c;
                T* xp = x + i * xs + ch * hw;
                T* yp = y + pl * hw;
                T* shp = h + (i * 2 * c + 2 * ch) * hw;
                T* rp = shp + hw;
                double acc = 0;
                for (long k0 = 0; k0 < hw; k0 += Chunk)
                {
                    int m = (int)Math.Min(Chunk, hw - k0);
                    var sv = s[..m]; var tv = t[..m];
                    var xv = new ReadOnlySpan<T>(xp + k0, m); var sh = new ReadOnlySpan<T>(shp + k0, m);
                    var yv = new Span<T>(yp + k0, m);
                    TensorPrimitives.Add(new ReadOnlySpan<T>(rp + k0, m), two, sv);
                    TensorPrimitives.Sigmoid(sv, sv);
                    TensorPrimitives.Add(sv, eps, sv);                      // scale
                    if (inverse) { TensorPrimitives.Divide(xv, sv, yv); TensorPrimitives.Subtract(yv, sh, yv); }
                    else { TensorPrimitives.Add(xv, sh, yv); TensorPrimitives.Multiply(yv, sv, yv); }
                    TensorPrimitives.Log(sv, tv);
                    acc += SumD<T>(tv);
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

    /// <summary>Gradients of Affine. With s = sigmoid(r + 2) + eps and ds = sigmoid(r + 2) sigmoid(-r - 2)
    /// (the derivative, without the 1 - sigmoid cancellation):
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
            Span<T> z = stackalloc T[Chunk];
            Span<T> ds = stackalloc T[Chunk];
            Span<T> s = stackalloc T[Chunk];
            Span<T> t = stackalloc T[Chunk];
            for (long pl = p0; pl < p1; pl++)
            {
                long i = pl / c, ch = pl - i * c;
                T* xp = x + i * xs + ch * hw;
                long hoff = (i * 2 * c + 2 * ch) * hw;
                T* shp = h + hoff; T* rp = shp + hw;
                T* gshp = gh + hoff; T* grp = gshp + hw;
                T G = gld == null ? T.Zero : gld[i];
                for (long k0 = 0; k0 < hw; k0 += Chunk)
                {
                    int m = (int)Math.Min(Chunk, hw - k0);
                    var zv = z[..m]; var dv = ds[..m]; var sv = s[..m]; var tv = t[..m];
                    var xv = new ReadOnlySpan<T>(xp + k0, m);
                    var gsh = new Span<T>(gshp + k0, m); var gr = new Span<T>(grp + k0, m);
                    TensorPrimitives.Add(new ReadOnlySpan<T>(rp + k0, m), two, zv);
                    TensorPrimitives.Negate(zv, dv);
                    TensorPrimitives.Sigmoid(zv, zv);
                    TensorPrimitives.Sigmoid(dv, dv);
                    TensorPrimitives.Multiply(zv, dv, dv);                 // ds
                    TensorPrimitives.Add(zv, eps, sv);                     // scale
                    if (gy == null)
                    {
                        gsh.Clear();
                        TensorPrimitives.Divide(dv, sv, tv);
                        TensorPrimitives.Multiply(tv, inverse ? -G : G, gr);
                        continue;
                    }
                    var g = new ReadOnlySpan<T>(gy + pl * hw + k0, m);
                    if (inverse)
                    {
                        TensorPrimitives.Divide(g, sv, tv);                // gy / s
                        if (gx != null) tv.CopyTo(new Span<T>(gx + pl * hw + k0, m));
                        TensorPrimitives.Negate(g, gsh);
                        TensorPrimitives.Multiply(tv, xv, tv);
                        TensorPrimitives.Add(tv, G, tv);
                        TensorPrimitives.Multiply(tv, dv, tv);
                        TensorPrimitives.Divide(tv, sv, tv);
                        TensorPrimitives.Negate(tv, gr);
                    }
                    else
                    {
                        TensorPrimitives.Multiply(g, sv, tv);              // gy s
                        if (gx != null) tv.CopyTo(new Span<T>(gx + pl * hw + k0, m));
                        tv.CopyTo(gsh);
                        TensorPrimitives.Add(xv, new ReadOnlySpan<T>(shp + k0, m), zv);
                        TensorPrimitives.Multiply(zv, g, zv);
                        TensorPrimitives.Multiply(zv, dv, zv);              // gy (x + shift) ds
                        TensorPrimitives.Divide(dv, sv, tv);
                        TensorPrimitives.Multiply(tv, G, tv);               // gld ds / s
                        TensorPrimitives.Add(zv, tv, gr);
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
