// Timing and validation helpers. Candidates (ours and its anchors) run interleaved, one timed call
// each per round, with the order reversed every other round (A B C, C B A, ...); each side's
// figure is the median of its rounds. Thread pools make back-to-back runs interfere: an idle
// pool's workers spin for a while after a call (libgomp ~10 ms measured here), taking a core from
// whoever runs next, and a pool that has gone to sleep pays a wake-up (large in a VM: a fast oneDNN
// call ran 2x slower with sleeping OpenMP workers). So before each timed call the runner waits
// SettleSeconds for the previous candidate's workers to stop spinning, then, for calls shorter
// than HotBelowSeconds, makes one untimed call so the candidate's own workers are awake: each side
// is timed in its own back-to-back steady state, without the other's threads on its cores.
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Engine.Bench;

/// <summary>A 64-byte aligned native float buffer.</summary>
public sealed unsafe class NativeBuffer : IDisposable
{
    public float* Ptr { get; private set; }
    public long Length { get; }

    public NativeBuffer(long length)
    {
        Length = length;
        Ptr = (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(1, length) * sizeof(float)), 64);
        new Span<float>(Ptr, checked((int)length)).Clear();
    }

    public Span<float> Span => new(Ptr, checked((int)Length));

    /// <summary>Uniform values in [-1, 1) from a seeded xorshift generator (never all zero).</summary>
    public NativeBuffer Random(ulong seed)
    {
        ulong s = seed * 0x9E3779B97F4A7C15UL + 1;
        for (long i = 0; i < Length; i++)
        {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            Ptr[i] = (float)((s >> 40) * (2.0 / (1UL << 24)) - 1.0);
        }
        return this;
    }

    public void Dispose()
    {
        if (Ptr != null) { NativeMemory.AlignedFree(Ptr); Ptr = null; }
    }
}

public static unsafe class Measure
{
    /// <summary>Largest norm-wise relative error an anchor may show against ours (f32, K up to ~10^4).</summary>
    public const double Tolerance = 1e-4;

    /// <summary>||other - ours|| / ||ours|| (2-norms, in double); +inf when either holds a NaN or ours is all zero.</summary>
    public static double RelError(float* ours, float* other, long n)
    {
        double num = 0, den = 0;
        for (long i = 0; i < n; i++)
        {
            double a = ours[i], d = other[i] - a;
            num += d * d; den += a * a;
        }
        if (double.IsNaN(num) || double.IsNaN(den) || den == 0) return double.PositiveInfinity;
        return Math.Sqrt(num / den);
    }

    public static double Median(IReadOnlyList<double> xs)
    {
        if (xs.Count == 0) return double.NaN;
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    public static double Time(Action run)
    {
        long t0 = Stopwatch.GetTimestamp();
        run();
        return Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    /// <summary>Pause before each timed call: longer than any anchor's idle spin (OpenBLAS as loaded here ~2 ms, libgomp ~10 ms).</summary>
    public const double SettleSeconds = 0.02;
    /// <summary>Calls shorter than this get an untimed call right before the timed one (wakes the candidate's own workers).</summary>
    public const double HotBelowSeconds = 0.1;

    /// <summary>
    /// Warms every candidate up (warmup calls each), picks a round count from the measured call
    /// times (at least minReps, at most maxReps, about budgetSeconds in all), then runs the rounds
    /// interleaved. Returns each candidate's per-round times in seconds.
    /// </summary>
    public static List<double>[] Interleaved(IReadOnlyList<Action> candidates, int warmup, int minReps, int maxReps, double budgetSeconds)
    {
        int k = candidates.Count;
        var est = new double[k];
        for (int w = 0; w < Math.Max(1, warmup); w++)
            for (int i = 0; i < k; i++) est[i] = Time(candidates[i]);
        double round = Enumerable.Range(0, k).Sum(i => SettleSeconds + est[i] * (est[i] < HotBelowSeconds ? 2 : 1));
        int reps = (int)Math.Clamp(Math.Ceiling(budgetSeconds / round), minReps, maxReps);
        var samples = Enumerable.Range(0, k).Select(_ => new List<double>(reps)).ToArray();
        for (int r = 0; r < reps; r++)
            for (int j = 0; j < k; j++)
            {
                int i = r % 2 == 0 ? j : k - 1 - j;
                Thread.Sleep(TimeSpan.FromSeconds(SettleSeconds));
                if (est[i] < HotBelowSeconds) candidates[i]();
                samples[i].Add(Time(candidates[i]));
            }
        return samples;
    }
}
