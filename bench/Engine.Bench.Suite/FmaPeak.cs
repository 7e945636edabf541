// Measured f32 FMA peak: the physical limit the GEMM/conv efficiencies are quoted against.
// Each thread runs 16 independent FMA dependency chains on Vector512 (AVX-512F) or Vector256
// (AVX2+FMA) registers: enough chains to cover FMA latency x throughput on current x86 cores
// (e.g. 4 cycles x 2 pipes), so the loop is bound by FMA throughput alone. The chains converge to
// a fixed point (a = a*m + c, m < 1), so no value overflows or goes denormal. For N threads, N
// dedicated threads start together; the peak is total FLOPs / wall time, best of several runs.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Bench;

public static class FmaPeak
{
    /// <summary>Vector ISA the peak loop uses: "AVX-512F", "AVX2+FMA" or "none".</summary>
    public static string Isa =>
        Avx512F.IsSupported ? "AVX-512F" : Fma.IsSupported && Avx2.IsSupported ? "AVX2+FMA" : "none";

    private const int Chains = 16;

    /// <summary>
    /// Best-of-runs f32 GFLOP/s of threads threads running FMA chains at once, each for about
    /// seconds; NaN when the CPU has no FMA vector unit.
    /// </summary>
    public static double Measure(int threads, double seconds = 0.05, int runs = 5)
    {
        if (Isa == "none") return double.NaN;
        // Calibrate the iteration count on one thread so one run lasts about `seconds`.
        long iters = 1 << 16;
        Loop(iters); // JIT
        while (true)
        {
            long t0 = Stopwatch.GetTimestamp();
            Loop(iters);
            double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (s >= seconds / 4 || iters >= 1L << 34) { iters = Math.Max(1, (long)(iters * seconds / Math.Max(s, 1e-9))); break; }
            iters *= 4;
        }
        double flopsPerIter = 2.0 * Chains * (Avx512F.IsSupported ? 16 : 8);
        double best = 0;
        for (int r = 0; r < runs; r++)
        {
            double wall = RunOn(threads, iters);
            best = Math.Max(best, threads * iters * flopsPerIter / wall / 1e9);
        }
        return best;
    }

    private static double RunOn(int threads, long iters)
    {
        if (threads == 1)
        {
            long t0 = Stopwatch.GetTimestamp();
            Loop(iters);
            return Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        using var ready = new CountdownEvent(threads);
        using var go = new ManualResetEventSlim(false);
        var workers = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            workers[i] = new Thread(() => { ready.Signal(); go.Wait(); Loop(iters); }) { IsBackground = true };
            workers[i].Start();
        }
        ready.Wait();
        long start = Stopwatch.GetTimestamp();
        go.Set();
        foreach (var w in workers) w.Join();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static float _sink;

    private static void Loop(long iters)
    {
        float s = Avx512F.IsSupported ? Loop512(iters) : Loop256(iters);
        _sink += s; // keeps the chains alive
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Loop512(long iters)
    {
        var m = Vector512.Create(0.999f);
        var c = Vector512.Create(0.001f);
        Vector512<float> a0 = Vector512.Create(0.10f), a1 = Vector512.Create(0.11f), a2 = Vector512.Create(0.12f), a3 = Vector512.Create(0.13f),
            a4 = Vector512.Create(0.14f), a5 = Vector512.Create(0.15f), a6 = Vector512.Create(0.16f), a7 = Vector512.Create(0.17f),
            a8 = Vector512.Create(0.18f), a9 = Vector512.Create(0.19f), a10 = Vector512.Create(0.20f), a11 = Vector512.Create(0.21f),
            a12 = Vector512.Create(0.22f), a13 = Vector512.Create(0.23f), a14 = Vector512.Create(0.24f), a15 = Vector512.Create(0.25f);
        for (long i = 0; i < iters; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, m, c); a1 = Avx512F.FusedMultiplyAdd(a1, m, c);
            a2 = Avx512F.FusedMultiplyAdd(a2, m, c); a3 = Avx512F.FusedMultiplyAdd(a3, m, c);
            a4 = Avx512F.FusedMultiplyAdd(a4, m, c); a5 = Avx512F.FusedMultiplyAdd(a5, m, c);
            a6 = Avx512F.FusedMultiplyAdd(a6, m, c); a7 = Avx512F.FusedMultiplyAdd(a7, m, c);
            a8 = Avx512F.FusedMultiplyAdd(a8, m, c); a9 = Avx512F.FusedMultiplyAdd(a9, m, c);
            a10 = Avx512F.FusedMultiplyAdd(a10, m, c); a11 = Avx512F.FusedMultiplyAdd(a11, m, c);
            a12 = Avx512F.FusedMultiplyAdd(a12, m, c); a13 = Avx512F.FusedMultiplyAdd(a13, m, c);
            a14 = Avx512F.FusedMultiplyAdd(a14, m, c); a15 = Avx512F.FusedMultiplyAdd(a15, m, c);
        }
        var sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)) + ((a12 + a13) + (a14 + a15));
        return Vector512.Sum(sum);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Loop256(long iters)
    {
        var m = Vector256.Create(0.999f);
        var c = Vector256.Create(0.001f);
        Vector256<float> a0 = Vector256.Create(0.10f), a1 = Vector256.Create(0.11f), a2 = Vector256.Create(0.12f), a3 = Vector256.Create(0.13f),
            a4 = Vector256.Create(0.14f), a5 = Vector256.Create(0.15f), a6 = Vector256.Create(0.16f), a7 = Vector256.Create(0.17f),
            a8 = Vector256.Create(0.18f), a9 = Vector256.Create(0.19f), a10 = Vector256.Create(0.20f), a11 = Vector256.Create(0.21f),
            a12 = Vector256.Create(0.22f), a13 = Vector256.Create(0.23f), a14 = Vector256.Create(0.24f), a15 = Vector256.Create(0.25f);
        for (long i = 0; i < iters; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, c); a1 = Fma.MultiplyAdd(a1, m, c);
            a2 = Fma.MultiplyAdd(a2, m, c); a3 = Fma.MultiplyAdd(a3, m, c);
            a4 = Fma.MultiplyAdd(a4, m, c); a5 = Fma.MultiplyAdd(a5, m, c);
            a6 = Fma.MultiplyAdd(a6, m, c); a7 = Fma.MultiplyAdd(a7, m, c);
            a8 = Fma.MultiplyAdd(a8, m, c); a9 = Fma.MultiplyAdd(a9, m, c);
            a10 = Fma.MultiplyAdd(a10, m, c); a11 = Fma.MultiplyAdd(a11, m, c);
            a12 = Fma.MultiplyAdd(a12, m, c); a13 = Fma.MultiplyAdd(a13, m, c);
            a14 = Fma.MultiplyAdd(a14, m, c); a15 = Fma.MultiplyAdd(a15, m, c);
        }
        var sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)) + ((a12 + a13) + (a14 + a15));
        return Vector256.Sum(sum);
    }
}
