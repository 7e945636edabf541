// Fused Gaussian kernels over contiguous buffers, generic over float and double: reparameterized
// sample (+ backward regenerating eps), KL divergence, negative log-likelihood (each elementwise or
// summed per group, + fused backward) and dequantization noise. Formulas and the group/reduction
// contract: Backend/IBackend.Gaussian.cs. Every output is OVERWRITTEN.
//
// Vectorized with Vector<T> (Vector.Exp), a short tail run as one zero-padded vector, so every element
// goes through the same arithmetic. Random numbers come from Engine.Random.Philox's fills (the very
// code behind Tensor.Normal / Tensor.Uniform), one tile at a time; tiles start on Philox block bounds.
// Reductions: each group is cut into fixed chunks of ReduceChunk elements whose sums (lanes in double,
// then the lanes in order) are added in chunk order, so the result depends only on n and G, never
// on the thread count.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Random;

namespace Engine.Cpu.Kernels;

public static unsafe class GaussianKernels
{
    /// <summary>Elements per tile of drawn numbers (stack buffer) and per unit of parallel work.</summary>
    private const int Tile = 1024;
    /// <summary>Elements per partial sum of a reduction (fixed, so the summation order is too).</summary>
    public const long ReduceChunk = 1 << 15;

    private static readonly double HalfLog2Pi = 0.5 * Math.Log(2 * Math.PI);

    // ------------------------------------------------------------------ sample

    /// <summary>z = a * mu + exp(ls) * (t * eps).</summary>
    public static void Sample<T>(long n, T* mu, T* ls, T* z, ulong seed, ulong offset, T t, T a)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ForTiles(n, 16, (i0, i1) =>
        {
            Span<T> buf = stackalloc T[Tile];
            var vt = new Vector<T>(t); var va = new Vector<T>(a);
            for (long s = i0; s < i1; s += Tile)
            {
                int len = (int)Math.Min(Tile, i1 - s);
                var eps = Normals(buf, s, len, seed, offset);
                fixed (T* pe = eps)
                    for (int j = 0; j < len; j += W<T>())
                    {
                        int c = Math.Min(W<T>(), len - j);
                        long i = s + j;
                        var v = va * Ld(mu, i, c) + Exp(Ld(ls, i, c)) * (vt * Ld(pe, j, c));
                        St(z, i, c, v);
                    }
            }
        });
    }

    /// <summary>gmu = a * gz; gls = gz * exp(ls) * (t * eps); null outputs skipped.</summary>
    public static void SampleBackward<T>(long n, T* ls, T* gz, T* gmu, T* gls, ulong seed, ulong offset, T t, T a)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ForTiles(n, gls == null ? 1 : 16, (i0, i1) =>
        {
            Span<T> buf = stackalloc T[Tile];
            var vt = new Vector<T>(t); var va = new Vector<T>(a);
            for (long s = i0; s < i1; s += Tile)
            {
                int len = (int)Math.Min(Tile, i1 - s);
                var eps = gls == null ? default : Normals(buf, s, len, seed, offset);
                fixed (T* pe = eps)
                    for (int j = 0; j < len; j += W<T>())
                    {
                        int c = Math.Min(W<T>(), len - j);
                        long i = s + j;
                        var g = Ld(gz, i, c);
                        if (gmu != null) St(gmu, i, c, va * g);
                        if (gls != null) St(gls, i, c, g * Exp(Ld(ls, i, c)) * (vt * Ld(pe, j, c)));
                    }
            }
        });
    }

    /// <summary>Normals for elements [start, start + len) of the (seed, offset) stream, in buf. start is a tile
    /// start, so a whole number of Philox blocks (4 f32 or 2 f64 elements) precedes it.</summary>
    private static Span<T> Normals<T>(Span<T> buf, long start, int len, ulong seed, ulong offset) where T : unmanaged
    {
        ulong block = offset + FirstBlock<T>(start);
        if (typeof(T) == typeof(float)) Philox.FillNormal(MemoryMarshal.Cast<T, float>(buf[..len]), seed, block, 0f, 1f);
        else Philox.FillNormal(MemoryMarshal.Cast<T, double>(buf[..len]), seed, block, 0.0, 1.0);
        return buf[..len];
    }

    /// <summary>The Philox block of element start, which must begin a block (tiles are multiples of 4 elements).</summary>
    private static ulong FirstBlock<T>(long start) where T : unmanaged
    {
        int per = typeof(T) == typeof(float) ? 4 : 2;
        if (start % per != 0) throw new InvalidOperationException($"Gaussian kernels: tile start {start} is inside a Philox block");
        return (ulong)(start / per);
    }

    // ------------------------------------------------------------------ dequantization

    /// <summary>y = x + (u - c) / nBins, u uniform [0, 1) from (seed, offset); each step rounded once (no FMA).</summary>
    public static void Dequantize<T>(long n, T* x, T* y, ulong seed, ulong offset, T nBins, T c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ForTiles(n, 8, (i0, i1) =>
        {
            Span<T> buf = stackalloc T[Tile];
            for (long s = i0; s < i1; s += Tile)
            {
                int len = (int)Math.Min(Tile, i1 - s);
                ulong block = offset + FirstBlock<T>(s);
                if (typeof(T) == typeof(float)) Philox.FillUniform(MemoryMarshal.Cast<T, float>(buf[..len]), seed, block, 0f, 1f);
                else Philox.FillUniform(MemoryMarshal.Cast<T, double>(buf[..len]), seed, block, 0.0, 1.0);
                for (int j = 0; j < len; j++) y[s + j] = x[s + j] + (buf[j] - c) / nBins;
            }
        });
    }

    // ------------------------------------------------------------------ KL divergence

    /// <summary>KL(N(mu1, e^{2 ls1}) || N(mu2, e^{2 ls2})) = 0.5 (v + d^2 w - 1) - (ls1 - ls2), with
    /// v = e^{2 (ls1 - ls2)} (the variance ratio) and w = e^{-2 ls2}; null mu2 / ls2 read as 0.</summary>
    private readonly struct Kl<T>(T* mu1, T* ls1, T* mu2, T* ls2) : IValue<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<T> At(long i, int c)
        {
            var half = new Vector<T>(T.CreateTruncating(0.5));
            var d = Ld(mu1, i, c) - Ld(mu2, i, c);
            var l2 = Ld(ls2, i, c);
            var r = Ld(ls1, i, c) - l2;
            var v = Exp(r + r);
            var dd = d * d;
            if (ls2 != null) dd *= Exp(-(l2 + l2));
            return half * (v + dd - Vector<T>.One) - r;
        }
    }

    public static void KlForward<T>(long n, long groups, T* mu1, T* ls1, T* mu2, T* ls2, T* y, double scale)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Forward(n, groups, new Kl<T>(mu1, ls1, mu2, ls2), y, scale, null, 0, 0);

    /// <summary>gmu1 = g d w, gmu2 = -gmu1, gls1 = g (v - 1), gls2 = g (1 - v - d^2 w), g = scale * gy[group].</summary>
    public static void KlBackward<T>(long n, long groups, T* mu1, T* ls1, T* mu2, T* ls2, T* gy, double scale, T* gmu1, T* gls1, T* gmu2, T* gls2)
        where T : unmanaged, IFloatingPointIeee754<T>
        => GroupWise(n, groups, gy, scale, 8, new KlGrad<T>(mu1, ls1, mu2, ls2, gmu1, gls1, gmu2, gls2));

    private readonly struct KlGrad<T>(T* mu1, T* ls1, T* mu2, T* ls2, T* gmu1, T* gls1, T* gmu2, T* gls2) : IGradBody<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run(long i, int c, Vector<T> g)
        {
            var d = Ld(mu1, i, c) - Ld(mu2, i, c);
            var l2 = Ld(ls2, i, c);
            var w = ls2 == null ? Vector<T>.One : Exp(-(l2 + l2));
            if (gmu1 != null || gmu2 != null)
            {
                var gm = g * d * w;
                if (gmu1 != null) St(gmu1, i, c, gm);
                if (gmu2 != null) St(gmu2, i, c, -gm);
            }
            if (gls1 != null || gls2 != null)
            {
                var r = Ld(ls1, i, c) - l2;
                var vm1 = Exp(r + r) - Vector<T>.One;
                if (gls1 != null) St(gls1, i, c, g * vm1);
                if (gls2 != null) St(gls2, i, c, -(g * (vm1 + d * d * w)));
            }
        }
    }

    // ------------------------------------------------------------------ negative log-likelihood

    /// <summary>-log N(x; mu, e^{2 ls}) = 0.5 ln(2 pi) + ls + 0.5 (x - mu)^2 e^{-2 ls}; null mu / ls read as 0.</summary>
    private readonly struct Nll<T>(T* x, T* mu, T* ls) : IValue<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<T> At(long i, int c)
        {
            var half = new Vector<T>(T.CreateTruncating(0.5));
            var r = Ld(x, i, c) - Ld(mu, i, c);
            var q = half * r * r;
            if (ls == null) return q + new Vector<T>(T.CreateTruncating(HalfLog2Pi));
            var l = Ld(ls, i, c);
            return q * Exp(-(l + l)) + l + new Vector<T>(T.CreateTruncating(HalfLog2Pi));
        }
    }

    public static void NllForward<T>(long n, long groups, T* x, T* mu, T* ls, T* y, double scale, T* addend, double addScale, double bias)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Forward(n, groups, new Nll<T>(x, mu, ls), y, scale, addend, addScale, bias);

    /// <summary>gx = g r w, gmu = -gx, gls = g (1 - r^2 w), r = x - mu, w = e^{-2 ls}, g = scale * gy[group].</summary>
    public static void NllBackward<T>(long n, long groups, T* x, T* mu, T* ls, T* gy, double scale, T* gx, T* gmu, T* gls)
        where T : unmanaged, IFloatingPointIeee754<T>
        => GroupWise(n, groups, gy, scale, 4, new NllGrad<T>(x, mu, ls, gx, gmu, gls));

    private readonly struct NllGrad<T>(T* x, T* mu, T* ls, T* gx, T* gmu, T* gls) : IGradBody<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run(long i, int c, Vector<T> g)
        {
            var r = Ld(x, i, c) - Ld(mu, i, c);
            var l = Ld(ls, i, c);
            var w = ls == null ? Vector<T>.One : Exp(-(l + l));
            var rw = r * w;
            if (gx != null || gmu != null)
            {
                var gr = g * rw;
                if (gx != null) St(gx, i, c, gr);
                if (gmu != null) St(gmu, i, c, -gr);
            }
            if (gls != null) St(gls, i, c, g * (Vector<T>.One - r * rw));
        }
    }

    // ------------------------------------------------------------------ shared drivers

    private interface IValue<T> where T : unmanaged
    {
        /// <summary>Values of elements [i, i + c), c at most one vector (the other lanes are don't-care).</summary>
        Vector<T> At(long i, int c);
    }

    /// <summary>y_g = scale * sum_group V + addScale * addend_g + bias (G = groups), elementwise when G == n.</summary>
    private static void Forward<T, V>(long n, long groups, V f, T* y, double scale, T* addend, double addScale, double bias)
        where T : unmanaged, IFloatingPointIeee754<T> where V : struct, IValue<T>
    {
        if (groups == 0) return;
        if (groups == n)
        {
            // Elementwise: the epilogue in T (skipped when it is the identity).
            bool plain = scale == 1 && addend == null && bias == 0;
            var vs = new Vector<T>(T.CreateTruncating(scale));
            var va = new Vector<T>(T.CreateTruncating(addScale));
            var vb = new Vector<T>(T.CreateTruncating(bias));
            ForTiles(n, 8, (i0, i1) =>
            {
                for (long i = i0; i < i1; i += W<T>())
                {
                    int c = (int)Math.Min(W<T>(), i1 - i);
                    var v = f.At(i, c);
                    if (!plain)
                    {
                        v *= vs;
                        if (addend != null) v += va * Ld(addend, i, c);
                        v += vb;
                    }
                    St(y, i, c, v);
                }
            });
            return;
        }
        long m = n / groups, per = (m + ReduceChunk - 1) / ReduceChunk;
        var partial = new double[groups * per];
        ForGroupChunks(n, groups, 8, (task, i0, i1) => partial[task] = SumOf<T, V>(f, i0, i1));
        for (long g = 0; g < groups; g++)
        {
            double s = 0;
            for (long k = 0; k < per; k++) s += partial[g * per + k];
            double r = scale * s + bias;
            if (addend != null) r += addScale * double.CreateTruncating(addend[g]);
            y[g] = T.CreateTruncating(r);
        }
    }

    /// <summary>Sum of f over [i0, i1): full vectors into per-lane double accumulators, then the lanes
    /// in order, then the tail elements in order.</summary>
    private static double SumOf<T, V>(V f, long i0, long i1) where T : unmanaged, IFloatingPointIeee754<T> where V : struct, IValue<T>
    {
        int w = W<T>();
        var a0 = Vector<double>.Zero; var a1 = Vector<double>.Zero;
        long i = i0;
        for (; i + w <= i1; i += w)
        {
            var v = f.At(i, w);
            if (typeof(T) == typeof(float))
            {
                Vector.Widen(v.As<T, float>(), out var lo, out var hi);
                a0 += lo; a1 += hi;
            }
            else a0 += v.As<T, double>();
        }
        double s = 0;
        for (int k = 0; k < Vector<double>.Count; k++) s += a0[k];
        for (int k = 0; k < Vector<double>.Count; k++) s += a1[k];
        if (i < i1)
        {
            int c = (int)(i1 - i);
            var v = f.At(i, c);
            for (int k = 0; k < c; k++) s += double.CreateTruncating(v[k]);
        }
        return s;
    }

    private interface IGradBody<T> where T : unmanaged
    {
        /// <summary>Writes the gradients of elements [i, i + c) (c at most one vector) for upstream g.</summary>
        void Run(long i, int c, Vector<T> g);
    }

    /// <summary>Runs body over every vector of [0, n) with g = scale * gy of the element's group (a per-lane
    /// vector when G == n, else a broadcast: a vector never crosses a group boundary).</summary>
    private static void GroupWise<T, B>(long n, long groups, T* gy, double scale, long work, B body)
        where T : unmanaged, IFloatingPointIeee754<T> where B : struct, IGradBody<T>
    {
        if (groups == 0 || n == 0) return;
        var s = T.CreateTruncating(scale);
        var vs = new Vector<T>(s);
        if (groups == n)
        {
            ForTiles(n, work, (i0, i1) =>
            {
                for (long i = i0; i < i1; i += W<T>())
                {
                    int c = (int)Math.Min(W<T>(), i1 - i);
                    body.Run(i, c, scale == 1 ? Ld(gy, i, c) : vs * Ld(gy, i, c));
                }
            });
            return;
        }
        long m = n / groups, per = (m + ReduceChunk - 1) / ReduceChunk;
        ForGroupChunks(n, groups, work, (task, i0, i1) =>
        {
            var g = new Vector<T>(s * gy[task / per]);
            for (long i = i0; i < i1; i += W<T>()) body.Run(i, (int)Math.Min(W<T>(), i1 - i), g);
        });
    }

    /// <summary>Parallel over tiles of [0, n).</summary>
    private static void ForTiles(long n, long work, Action<long, long> body)
    {
        if (n <= 0) return;
        long tiles = (n + Tile - 1) / Tile;
        CpuThreads.ForChunks(tiles, n * work, (t0, t1) => body(t0 * Tile, Math.Min(n, t1 * Tile)));
    }

    /// <summary>Parallel over the (group, chunk) tasks of a grouped pass; task = g * chunksPerGroup + k
    /// covers [g m + k ReduceChunk, min((g + 1) m, g m + (k + 1) ReduceChunk)).</summary>
    private static void ForGroupChunks(long n, long groups, long work, Action<long, long, long> body)
    {
        long m = n / groups, per = (m + ReduceChunk - 1) / ReduceChunk;
        long tasks = groups * per;
        if (tasks == 0) return;
        CpuThreads.ForChunks(tasks, n * work, (t0, t1) =>
        {
            for (long task = t0; task < t1; task++)
            {
                long g = task / per, k = task % per;
                long i0 = g * m + k * ReduceChunk, i1 = Math.Min((g + 1) * m, i0 + ReduceChunk);
                body(task, i0, i1);
            }
        });
    }

    // ------------------------------------------------------------------ vector helpers

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int W<T>() => Vector<T>.Count;

    /// <summary>Elements [i, i + c) of p as a vector (zero-padded past c); a null p reads as zeros.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Ld<T>(T* p, long i, int c) where T : unmanaged
    {
        if (p == null) return Vector<T>.Zero;
        if (c == Vector<T>.Count) return Vector.Load(p + i);
        return LdTail(p + i, c);
    }

    // Out of line: its stack buffer must not be inlined into the callers' loops.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector<T> LdTail<T>(T* p, int c) where T : unmanaged
    {
        Span<T> t = stackalloc T[Vector<T>.Count];
        t.Clear();
        new ReadOnlySpan<T>(p, c).CopyTo(t);
        return new Vector<T>(t);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void St<T>(T* p, long i, int c, Vector<T> v) where T : unmanaged
    {
        if (c == Vector<T>.Count) { v.Store(p + i); return; }
        for (int k = 0; k < c; k++) p[i + k] = v[k];
    }

    /// <summary>e^v. Float lanes go through double: Vector.Exp(Vector&lt;float&gt;) is off by up to ~2 ulp (and gives
    /// 1.0000001 for e^0), the rounded double result is the correctly rounded float almost always.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Exp<T>(Vector<T> v) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            Vector.Widen(v.As<T, float>(), out var lo, out var hi);
            return Vector.Narrow(Vector.Exp(lo), Vector.Exp(hi)).As<float, T>();
        }
        return Vector.Exp(v.As<T, double>()).As<double, T>();
    }
}
