// The CPU benchmark suite: our GEMM and convolution kernels side by side with native anchors
// (OpenBLAS with its own core detection and with OPENBLAS_CORETYPE=SkylakeX; oneDNN with its
// preferred layouts and with plain NCHW), interleaved in one run. Per case and thread count:
// our result is computed, each anchor's result is checked against it (norm-wise relative error,
// Measure.Tolerance) so a wrong binding cannot produce a fast bogus number, then ours and every
// validated anchor run interleaved and each gets the median time. Figures: GFLOP/s, ratio
// ours/anchor (> 1: we are faster) and efficiency against the FMA peak measured in the same run for
// the same thread count. Our thread count is set with CpuThreads.Count and passed where the API
// takes one; OpenBLAS gets openblas_set_num_threads, oneDNN omp_set_num_threads.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Engine.Bench.Anchors;
using Engine.Cpu;
using Engine.Cpu.Kernels;

namespace Engine.Bench;

public sealed record CpuBenchOptions
{
    /// <summary>Fewer cases and rounds: a smoke test, not a measurement.</summary>
    public bool Quick { get; init; }
    /// <summary>Thread counts to measure; default 1 and all logical cores.</summary>
    public IReadOnlyList<int>? Threads { get; init; }
    /// <summary>Only cases whose name contains this (case-insensitive).</summary>
    public string? Filter { get; init; }
    /// <summary>Replace the built-in case lists (null: Full or Quick).</summary>
    public IReadOnlyList<GemmCase>? GemmCases { get; init; }
    public IReadOnlyList<ConvCase>? ConvCases { get; init; }
    public ulong Seed { get; init; } = 1;

    public IReadOnlyList<int> ThreadCounts => Threads ?? [.. new[] { 1, Environment.ProcessorCount }.Distinct()];
}

public static unsafe class CpuBench
{
    public static BenchReport Run(CpuBenchOptions o, Action<string>? log = null)
    {
        foreach (int t in o.ThreadCounts)
            if (t < 1) throw new ArgumentException($"thread counts must be >= 1, got {t}");
        var anchors = AnchorSet.Shared;
        var threads = o.ThreadCounts.Distinct().ToList();
        int savedThreads = CpuThreads.Count;
        try
        {
            // The FMA peak is measured before and after the cases and the best is kept: on a shared
            // machine one measurement can catch a core busy with something else.
            var peaks = new SortedDictionary<int, double>();
            void MeasurePeaks()
            {
                foreach (int t in threads)
                    peaks[t] = Math.Max(peaks.GetValueOrDefault(t), FmaPeak.Measure(t, seconds: o.Quick ? 0.02 : 0.05, runs: o.Quick ? 5 : 10));
            }
            MeasurePeaks();
            log?.Invoke($"FMA peak ({FmaPeak.Isa}): {string.Join(", ", peaks.Select(p => $"{p.Key} thread(s) {p.Value:F1} GFLOP/s"))}");

            bool Selected(string name) => o.Filter is null || name.Contains(o.Filter, StringComparison.OrdinalIgnoreCase);
            var gemms = (o.GemmCases ?? (o.Quick ? GemmCase.Quick : GemmCase.Full)).Where(c => Selected(c.Name)).ToList();
            var convs = (o.ConvCases ?? (o.Quick ? ConvCase.Quick : ConvCase.Full.ToArray())).Where(c => Selected(c.Name)).ToList();
            var reps = o.Quick ? new Reps(1, 3, 3, 0) : new Reps(2, 5, 25, 3.0);

            var results = new List<CaseResult>();
            foreach (var c in gemms)
                foreach (int t in threads) Add(RunGemm(c, t, anchors, reps, o.Seed));
            foreach (var c in convs)
                foreach (int t in threads) Add(RunConv(c, t, anchors, reps, o.Seed));

            MeasurePeaks();
            log?.Invoke($"FMA peak, best of start and end: {string.Join(", ", peaks.Select(p => $"{p.Key} thread(s) {p.Value:F1} GFLOP/s"))}");
            return new BenchReport(Machine(anchors, peaks), o.Quick, threads, Method(reps), [.. results.Select(r => WithPeak(r, peaks[r.Threads]))]);

            void Add(CaseResult r)
            {
                results.Add(r);
                log?.Invoke($"{r.Name} [{r.Threads}t] ours {r.OursGflops:F1} GFLOP/s | " + string.Join(" | ", r.Anchors.Select(a =>
                    a.Status == AnchorStatus.Ok ? $"{a.Anchor} {a.Gflops:F1} ({a.Ratio:F2}x)" : $"{a.Anchor} {a.Status.ToString().ToLowerInvariant()}")));
            }
        }
        finally
        {
            CpuThreads.Count = savedThreads;
        }
    }

    private readonly record struct Reps(int Warmup, int Min, int Max, double BudgetSeconds);

    private static string Method(Reps r) =>
        $"{r.Warmup} warm-up call(s) each, then " + (r.Min == r.Max ? $"{r.Min}" : $"{r.Min} to {r.Max} (about {r.BudgetSeconds:G3} s per case)") +
        " interleaved rounds, order reversed every other round; " +
        $"before each timed call a {Measure.SettleSeconds * 1e3:G3} ms pause (idle thread pools stop spinning) and, for calls under {Measure.HotBelowSeconds * 1e3:G3} ms, one untimed call; " +
        $"median per side; anchors validated against ours first (relative error <= {Measure.Tolerance:G2}); " +
        $"OpenBLAS loaded with OPENBLAS_THREAD_TIMEOUT={OpenBlas.ThreadTimeoutLog2}; oneDNN layouts: any (its choice) and plain nchw/oihw, reorders untimed";

    /// <summary>An anchor ready to time, or the result that says why it is not timed.</summary>
    private sealed record Candidate(string Name, string? Impl, Action? Run, double RelError, AnchorResult? NotTimed);

    private static CaseResult WithPeak(CaseResult r, double peak) => r with
    {
        OursEfficiency = r.OursGflops / peak,
        Anchors = [.. r.Anchors.Select(a => a.Gflops is { } g ? a with { Efficiency = g / peak } : a)],
    };

    private static CaseResult RunGemm(GemmCase c, int t, AnchorSet anchors, Reps reps, ulong seed)
    {
        int m = c.M, n = c.N, k = c.K;
        using var a = new NativeBuffer((long)m * k).Random(seed);
        using var b = new NativeBuffer((long)k * n).Random(seed + 1);
        using var ours = new NativeBuffer((long)m * n);
        CpuThreads.Count = t;
        float* pa = a.Ptr, pb = b.Ptr, pc = ours.Ptr;
        Action runOurs = () => Gemm.Run<float>(false, false, m, n, k, 1f, pa, k, pb, n, 0f, pc, n, isa: null, threads: t);
        runOurs();

        var outs = new List<NativeBuffer>();
        try
        {
            var cands = new List<Candidate>();
            foreach (var load in anchors.OpenBlas)
            {
                if (load.Value is not { } ob) { cands.Add(Unavailable(load.Name, load.Unavailable!)); continue; }
                ob.Threads = t;
                var o = new NativeBuffer((long)m * n);
                outs.Add(o);
                float* po = o.Ptr;
                Action run = () => ob.Sgemm(m, n, k, pa, pb, po);
                run();
                cands.Add(Validated(load.Name, ob.CoreName, run, Measure.RelError(pc, po, (long)m * n)));
            }
            return Finish("gemm", c.Name, c.Shape, c.Flops, t, reps, runOurs, cands);
        }
        finally
        {
            foreach (var o in outs) o.Dispose();
        }
    }

    private static CaseResult RunConv(ConvCase c, int t, AnchorSet anchors, Reps reps, ulong seed)
    {
        var g = c.Geometry;
        long xn = (long)g.N * g.Cin * g.H * g.W, yn = (long)g.N * g.Cout * g.OH * g.OW, wn = (long)g.Cout * g.Cin * g.KH * g.KW;
        using var x = new NativeBuffer(xn).Random(seed);
        using var w = new NativeBuffer(wn).Random(seed + 1);
        using var bias = new NativeBuffer(g.Cout).Random(seed + 2);
        using var gy = new NativeBuffer(yn).Random(seed + 3);
        using var y = new NativeBuffer(yn);
        using var gx = new NativeBuffer(xn);
        using var gw = new NativeBuffer(wn);
        using var ay = new NativeBuffer(yn);
        using var agx = new NativeBuffer(xn);
        using var agw = new NativeBuffer(wn);
        CpuThreads.Count = t;
        float* px = x.Ptr, pw = w.Ptr, pb = bias.Ptr, pgy = gy.Ptr, py = y.Ptr, pgx = gx.Ptr, pgw = gw.Ptr;
        Action runOurs = c.Backward
            ? () =>
            {
                Conv2dKernels.Forward(g, px, pw, pb, py);
                Conv2dKernels.BackwardData(g, pgy, pw, pgx);
                Conv2dKernels.BackwardFilter(g, px, pgy, pgw);
            }
            : () => Conv2dKernels.Forward(g, px, pw, pb, py);
        runOurs();

        var convs = new List<DnnlConv>();
        try
        {
            var cands = new List<Candidate>();
            foreach (var layout in new[] { DnnlLayout.Preferred, DnnlLayout.Plain })
            {
                string name = layout == DnnlLayout.Preferred ? "oneDNN any" : "oneDNN nchw";
                if (anchors.Dnnl.Value is not { } d) { cands.Add(Unavailable(name, anchors.Dnnl.Unavailable!)); continue; }
                try
                {
                    var dc = new DnnlConv(d, g, layout, c.Backward, t);
                    convs.Add(dc);
                    dc.SetInputs(px, pw, pb, pgy);
                    Action run = c.Backward
                        ? () => { dc.Forward(); dc.BackwardData(); dc.BackwardWeights(); }
                        : dc.Forward;
                    run();
                    dc.ReadY(ay.Ptr);
                    double err = Measure.RelError(py, ay.Ptr, yn);
                    string impl = dc.ForwardImpl;
                    if (c.Backward)
                    {
                        dc.ReadGx(agx.Ptr);
                        dc.ReadGw(agw.Ptr);
                        err = Math.Max(err, Math.Max(Measure.RelError(pgx, agx.Ptr, xn), Measure.RelError(pgw, agw.Ptr, wn)));
                        impl = $"{dc.ForwardImpl} / {dc.BackwardDataImpl} / {dc.BackwardWeightsImpl}";
                    }
                    cands.Add(Validated(name, impl, run, err));
                }
                catch (DnnlException e)
                {
                    // No implementation for this layout, or a failed call: the column says so.
                    cands.Add(Unavailable(name, e.Message));
                }
            }
            return Finish("conv", c.Name, c.Shape, c.Flops, t, reps, runOurs, cands);
        }
        finally
        {
            foreach (var dc in convs) dc.Dispose();
        }
    }

    private static Candidate Unavailable(string name, string reason)
        => new(name, null, null, double.NaN, new AnchorResult(name, AnchorStatus.Unavailable, reason, null, null, null, null, null, null));

    private static Candidate Validated(string name, string impl, Action run, double relError)
        => relError <= Measure.Tolerance
            ? new Candidate(name, impl, run, relError, null)
            : new Candidate(name, impl, null, relError, new AnchorResult(name, AnchorStatus.Mismatch,
                $"relative error {relError:G3} against ours exceeds {Measure.Tolerance:G2}: not timed", impl, null, null, null, null, relError));

    /// <summary>Times ours and the validated anchors interleaved; efficiencies are filled in later (WithPeak).</summary>
    private static CaseResult Finish(string kind, string name, string shape, double flops, int t, Reps reps, Action ours, List<Candidate> cands)
    {
        var timed = cands.Where(c => c.Run is not null).ToList();
        var samples = Measure.Interleaved([ours, .. timed.Select(c => c.Run!)], reps.Warmup, reps.Min, reps.Max, reps.BudgetSeconds);
        double oursMed = Measure.Median(samples[0]);
        double oursG = flops / oursMed / 1e9;
        var results = cands.Select(c =>
        {
            if (c.NotTimed is not null) return c.NotTimed;
            double med = Measure.Median(samples[1 + timed.IndexOf(c)]);
            double g = flops / med / 1e9;
            return new AnchorResult(c.Name, AnchorStatus.Ok, null, c.Impl, g, med, oursG / g, double.NaN, c.RelError);
        }).ToList();
        return new CaseResult(kind, name, shape, t, flops, samples[0].Count, oursG, oursMed, double.NaN, results);
    }

    private static MachineInfo Machine(AnchorSet anchors, IReadOnlyDictionary<int, double> peaks)
    {
        string cpu = "unknown";
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException) { }
        var ob = anchors.OpenBlas.Select(l => l.Value is { } v
            ? $"{l.Name}: {v.Config} (core {v.CoreName}, {v.LoadedFrom})"
            : $"{l.Name}: unavailable ({l.Unavailable})").ToList();
        string dnnl = anchors.Dnnl.Value?.VersionText ?? $"unavailable ({anchors.Dnnl.Unavailable})";
        return new MachineInfo(cpu, Environment.ProcessorCount, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription,
            Avx512F.IsSupported, Avx2.IsSupported, Fma.IsSupported, Gemm.BestIsa.ToString(), FmaPeak.Isa, ob, dnnl,
            peaks.ToDictionary(p => p.Key, p => Math.Round(p.Value, 1)));
    }
}
