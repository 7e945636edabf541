// Vector-quantization kernels on contiguous row-major buffers, generic over float and double: the
// nearest-code search, the deterministic row scatter-add (segment sum), code counts, perplexity, the
// squared-error loss and its backward, and the EMA codebook update with dead-code restart.
// Every output is OVERWRITTEN except the EMA state (codebook, cluster sizes, sums), updated in place.
//
// Bitwise contract shared with kernels-cu/vq.cu (the CUDA backend reproduces these exact roundings):
// - norms and dot products are fused multiply-adds in increasing d starting from +0
//   (acc = fma(a_d, b_d, acc)); the score of code k is ||e_k||^2 - (dot + dot); so a score does not
//   depend on where the code sits in a tile, and duplicate codes tie exactly;
// - the winner is the least (score, k) pair: lower score, then lower k; NaN scores never win;
// - segment sums add the rows of a code in increasing row order onto +0;
// - the EMA arithmetic is spelled out operation by operation (no contraction) in EmaUpdate.
// The perplexity and the squared-error sum accumulate in double in a fixed order of their own and
// agree with the device up to rounding.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Cpu.Kernels;

public static unsafe class VqKernels
{
    /// <summary>Rows per register tile of the nearest-code search.</summary>
    private const int Mr = 4;
    /// <summary>Rows per parallel task.</summary>
    private const int RowsPerTask = 64;

    // ------------------------------------------------------------------ nearest code

    /// <summary>Nearest code of each row of x (n, d) in e (k, d): idx (n) overwritten, dist (n) too when
    /// not null. See the file header for the exact arithmetic and the tie rule.</summary>
    public static void Nearest<T>(int n, int k, int d, T* x, T* e, int* idx, T* dist, int? threads = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n < 0 || k < 0 || d < 0) throw new ArgumentException($"VqNearest: negative size (n {n}, k {k}, d {d})");
        if (n == 0) return;
        if (k == 0) throw new ArgumentException("VqNearest: empty codebook");
        int w = Vector256<T>.Count, nr = 2 * w;
        int kp = (k + nr - 1) / nr * nr;
        // Codebook packed in panels of NR codes, each panel (d, NR) contiguous, so a tile's two
        // vectors per d are read sequentially (a plain (d, kp) transpose strides by kp, a power of two
        // at the usual K, and thrashes the L1 sets); padded codes have a NaN norm and never win.
        var eT = new T[(long)d * kp];
        var en = new T[kp];
        for (int c = 0; c < k; c++)
        {
            T* row = e + (long)c * d;
            en[c] = SquaredNorm(row, d);
            long panel = (long)(c / nr) * d * nr + c % nr;
            for (int j = 0; j < d; j++) eT[panel + (long)j * nr] = row[j];
        }
        for (int c = k; c < kp; c++) en[c] = T.NaN;

        int tasks = (n + RowsPerTask - 1) / RowsPerTask;
        fixed (T* pe = eT, pn = en)
        {
            T* eTp = pe, enp = pn;
            CpuThreads.ForChunks(tasks, (long)n * k * Math.Max(d, 1), (t0, t1) =>
            {
                var padBuf = new T[Mr * Math.Max(d, 1)];
                T* bestS = stackalloc T[Mr];
                int* bestK = stackalloc int[Mr];
                for (long t = t0; t < t1; t++)
                {
                    int r0 = (int)t * RowsPerTask, r1 = Math.Min(n, r0 + RowsPerTask);
                    for (int r = r0; r < r1; r += Mr)
                    {
                        int m = Math.Min(Mr, r1 - r);
                        T* xr = x + (long)r * d;
                        fixed (T* pad = padBuf)
                        {
                            if (m < Mr)
                            {
                                // Tail rows go through the same micro-kernel from a zero-padded copy.
                                padBuf.AsSpan().Clear();
                                new ReadOnlySpan<T>(xr, m * d).CopyTo(padBuf);
                                xr = pad;
                            }
                            Tile(xr, d, eTp, enp, k, kp, bestS, bestK);
                        }
                        for (int i = 0; i < m; i++)
                        {
                            bool none = bestK[i] == k;
                            idx[r + i] = none ? 0 : bestK[i];
                            if (dist != null)
                            {
                                T dv = none ? T.NaN : SquaredNorm(x + (long)(r + i) * d, d) + bestS[i];
                                dist[r + i] = dv < T.Zero ? T.Zero : dv;
                            }
                        }
                    }
                }
            }, threads);
        }
    }

    /// <summary>The (score, code) winner of Mr rows at x (Mr, d) over all codes. bestK = k means no
    /// non-NaN score was seen.</summary>
    private static void Tile<T>(T* x, int d, T* eT, T* en, int k, int kp, T* bestS, int* bestK)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        // Running per-lane winners: lane L of vector j holds the best code among kb + j*w + L.
        // Within a lane codes come in increasing order, so a strict "less" keeps the lowest code on
        // ties; the sentinel (+inf, k) yields to any non-NaN score, +inf included.
        var bs = stackalloc Vector256<T>[Mr * 2];
        var bk = stackalloc Vector256<T>[Mr * 2];
        var inf = Vector256.Create(T.PositiveInfinity);
        var sentinel = Vector256.Create(T.CreateTruncating(k));
        for (int i = 0; i < Mr * 2; i++) { bs[i] = inf; bk[i] = sentinel; }
        var lane = Vector256<T>.Indices;
        T* x0 = x, x1 = x + d, x2 = x + 2 * d, x3 = x + 3 * d;
        for (int kb = 0; kb < kp; kb += 2 * w)
        {
            Vector256<T> a00 = default, a01 = default, a10 = default, a11 = default,
                         a20 = default, a21 = default, a30 = default, a31 = default;
            T* col = eT + (long)kb * d; // panel kb / (2w), (d, 2w)
            for (int j = 0; j < d; j++, col += 2 * w)
            {
                var b0 = Vector256.Load(col);
                var b1 = Vector256.Load(col + w);
                var v = Vector256.Create(x0[j]); a00 = Fma(v, b0, a00); a01 = Fma(v, b1, a01);
                v = Vector256.Create(x1[j]); a10 = Fma(v, b0, a10); a11 = Fma(v, b1, a11);
                v = Vector256.Create(x2[j]); a20 = Fma(v, b0, a20); a21 = Fma(v, b1, a21);
                v = Vector256.Create(x3[j]); a30 = Fma(v, b0, a30); a31 = Fma(v, b1, a31);
            }
            var n0 = Vector256.Load(en + kb);
            var n1 = Vector256.Load(en + kb + w);
            var c0 = lane + Vector256.Create(T.CreateTruncating(kb));
            var c1 = c0 + Vector256.Create(T.CreateTruncating(w));
            Update(ref bs[0], ref bk[0], n0 - (a00 + a00), c0, sentinel);
            Update(ref bs[1], ref bk[1], n1 - (a01 + a01), c1, sentinel);
            Update(ref bs[2], ref bk[2], n0 - (a10 + a10), c0, sentinel);
            Update(ref bs[3], ref bk[3], n1 - (a11 + a11), c1, sentinel);
            Update(ref bs[4], ref bk[4], n0 - (a20 + a20), c0, sentinel);
            Update(ref bs[5], ref bk[5], n1 - (a21 + a21), c1, sentinel);
            Update(ref bs[6], ref bk[6], n0 - (a30 + a30), c0, sentinel);
            Update(ref bs[7], ref bk[7], n1 - (a31 + a31), c1, sentinel);
        }
        for (int i = 0; i < Mr; i++)
        {
            T s = T.PositiveInfinity;
            int c = k;
            for (int j = 0; j < 2; j++)
                for (int l = 0; l < w; l++)
                {
                    T cs = bs[i * 2 + j][l];
                    int ck = int.CreateTruncating(bk[i * 2 + j][l]);
                    if (Better(cs, ck, s, c)) { s = cs; c = ck; }
                }
            bestS[i] = s; bestK[i] = c;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update<T>(ref Vector256<T> best, ref Vector256<T> bestK, Vector256<T> s, Vector256<T> code, Vector256<T> sentinel)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var take = Vector256.LessThan(s, best) | (Vector256.Equals(bestK, sentinel) & Vector256.Equals(s, s));
        best = Vector256.ConditionalSelect(take, s, best);
        bestK = Vector256.ConditionalSelect(take, code, bestK);
    }

    /// <summary>The tie rule: (s, k) beats (b, bk) when s is a number and (s, k) is lexicographically smaller.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Better<T>(T s, int k, T b, int bk) where T : IFloatingPointIeee754<T>
        => !T.IsNaN(s) && (s < b || (s == b && k < bk));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    /// <summary>sum_j v_j^2 as fused multiply-adds in increasing j from +0.</summary>
    public static T SquaredNorm<T>(T* v, int d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T acc = T.Zero;
        for (int j = 0; j < d; j++) acc = T.FusedMultiplyAdd(v[j], v[j], acc);
        return acc;
    }

    // ------------------------------------------------------------------ segment sum and counts

    /// <summary>Throws for the first (lowest-position) index outside [0, k).</summary>
    public static void CheckIndices(string op, int* idx, long n, int k)
    {
        for (long i = 0; i < n; i++)
            if ((uint)idx[i] >= (uint)k)
                throw new ArgumentOutOfRangeException("idx", idx[i], $"{op}: index {idx[i]} at position {i} is out of range for {k} codes");
    }

    /// <summary>y (k, d) = per-code sums of the rows of src (n, d), each code's rows added in increasing
    /// row order onto +0; counts (k) when not null. Tasks own disjoint code ranges and each scans all
    /// rows, so the order per code never depends on the thread count.</summary>
    public static void SegmentSum<T>(int n, int k, int d, T* src, int* idx, T* y, int* counts, int? threads = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckIndices("VqSegmentSum", idx, n, k);
        new Span<T>(y, checked(k * d)).Clear();
        if (counts != null) new Span<int>(counts, k).Clear();
        CpuThreads.ForChunks(k, (long)n * Math.Max(d, 1), (k0, k1) =>
        {
            for (long i = 0; i < n; i++)
            {
                int c = idx[i];
                if (c < k0 || c >= k1) continue;
                var acc = new Span<T>(y + (long)c * d, d);
                System.Numerics.Tensors.TensorPrimitives.Add(acc, new ReadOnlySpan<T>(src + i * d, d), acc);
                if (counts != null) counts[c]++;
            }
        }, threads);
    }

    public static void Counts(int n, int k, int* idx, int* counts)
    {
        CheckIndices("VqCounts", idx, n, k);
        new Span<int>(counts, k).Clear();
        for (long i = 0; i < n; i++) counts[idx[i]]++;
    }

    /// <summary>exp(-sum p log p) over the counts (p = c / total, zero counts skipped; 1 for an empty histogram).</summary>
    public static double Perplexity(int k, int* counts)
    {
        long total = 0;
        for (int c = 0; c < k; c++) total += counts[c];
        if (total == 0) return 1.0;
        double h = 0;
        for (int c = 0; c < k; c++)
        {
            if (counts[c] <= 0) continue;
            double p = counts[c] / (double)total;
            h += p * Math.Log(p);
        }
        return Math.Exp(-h);
    }

    // ------------------------------------------------------------------ squared error

    /// <summary>sum_i (x_i - q_i)^2 in double.</summary>
    public static double SquaredError<T>(long n, T* x, T* q) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double acc = 0;
        for (long i = 0; i < n; i++)
        {
            double v = double.CreateTruncating(x[i] - q[i]);
            acc += v * v;
        }
        return acc;
    }

    /// <summary>gx = cx * (x - q), gq = cq * (q - x) (either pointer may be null).</summary>
    public static void SquaredErrorBackward<T>(long n, T* x, T* q, T cx, T cq, T* gx, T* gq) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (long i = 0; i < n; i++)
        {
            if (gx != null) gx[i] = cx * (x[i] - q[i]);
            if (gq != null) gq[i] = cq * (q[i] - x[i]);
        }
    }

    // ------------------------------------------------------------------ EMA update

    /// <summary>Threads of the device's one-block statistics pass; the CPU reproduces its summation tree.</summary>
    public const int EmaStatsThreads = 256;

    /// <summary>Row drawn for a restarted code: the top 32 bits of w0 * n, w0 = word 0 of Philox block
    /// (offset + code) of the seed (multiply-shift, exact in integers on every backend).</summary>
    public static int RestartRow(ulong seed, ulong offset, int code, int n)
    {
        var (w0, _, _, _) = Engine.Random.Philox.Block(seed, offset + (ulong)code);
        return (int)(((ulong)w0 * (uint)n) >> 32);
    }

    /// <summary>
    /// In-place EMA update from n rows x (n, d) with codes idx:
    ///   counts[c] = #rows of code c, s_c = their sum (SegmentSum's order);
    ///   N_c = a*N_c + b*counts[c] and m_c = a*m_c + b*s_c in T, a = (T)decay, b = (T)(1 - decay);
    ///   total = sum_c N_c in double (strided partials over EmaStatsThreads, then a halving tree);
    ///   e_c = (T)(m_c / ((N_c + eps) / (total + k*eps) * total)) (double);
    ///   a code with threshold &gt; 0, n &gt; 0 and N_c &lt; threshold restarts: e_c = x_r,
    ///   N_c = (T)threshold, m_c = (T)threshold * x_r, r = RestartRow(seed, offset, c, n).
    /// </summary>
    public static void EmaUpdate<T>(int n, int k, int d, T* x, int* idx, T* codebook, T* clusterSize, T* embedSum, int* counts,
        double decay, double eps, double threshold, ulong seed, ulong offset)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sums = new T[(long)k * d];
        fixed (T* s = sums)
        {
            SegmentSum(n, k, d, x, idx, s, counts);
            T a = T.CreateTruncating(decay), b = T.CreateTruncating(1.0 - decay);
            var partial = new double[EmaStatsThreads];
            for (int c = 0; c < k; c++)
            {
                T nc = a * clusterSize[c] + b * T.CreateTruncating(counts[c]);
                clusterSize[c] = nc;
                partial[c % EmaStatsThreads] += double.CreateTruncating(nc);
            }
            for (int half = EmaStatsThreads / 2; half > 0; half /= 2)
                for (int t = 0; t < half; t++) partial[t] += partial[t + half];
            double total = partial[0];
            double denom = total + k * eps;
            T thr = T.CreateTruncating(threshold);
            for (int c = 0; c < k; c++)
            {
                T* e = codebook + (long)c * d, m = embedSum + (long)c * d, sc = s + (long)c * d;
                if (threshold > 0 && n > 0 && double.CreateTruncating(clusterSize[c]) < threshold)
                {
                    T* xr = x + (long)RestartRow(seed, offset, c, n) * d;
                    for (int j = 0; j < d; j++) { e[j] = xr[j]; m[j] = thr * xr[j]; }
                    clusterSize[c] = thr;
                    continue;
                }
                double smooth = (double.CreateTruncating(clusterSize[c]) + eps) / denom * total;
                for (int j = 0; j < d; j++)
                {
                    T mv = a * m[j] + b * sc[j];
                    m[j] = mv;
                    e[j] = T.CreateTruncating(double.CreateTruncating(mv) / smooth);
                }
            }
        }
    }
}
