// `engine bench kernels`: each fused op against the same math composed from primitive ops, on one
// device, interleaved (fused, composed, composed, fused, ...), median over rounds. Each fused
// figure is also set against the memory-bandwidth floor: the fewest bytes the op must move divided
// by the copy bandwidth measured in the same run (a large device-to-device copy on the GPU, a large
// memcpy on the CPU), so "efficiency 80%" means 80% of the time a pure stream of those bytes takes.
using System.Diagnostics;
using System.Text.Json;
using Engine.Cuda;

namespace Engine.Bench;

/// <summary>One benchmark case: the fused op and its composition; Flop 0 when the op is memory-bound.</summary>
public sealed record KernelCase(string Group, string Name, double Flop, long BytesFloor, Action Fused, Action Composed);

public sealed record KernelRow(string Group, string Name, double FusedMs, double ComposedMs, double Speedup, double FloorMs, double Efficiency, double Flop);

public static class KernelBench
{
    /// <summary>Seconds per call of op on device d (synchronized: GPU work is waited for).</summary>
    public static double TimeOnce(Device d, Action op)
    {
        if (d.Type == DeviceType.Cuda && Backends.Get(d) is CudaBackend { Runtime: CudaRuntime rt })
            return rt.TimeMs(() => { using (TensorScope.Begin()) op(); }) / 1e3;
        var sw = Stopwatch.StartNew();
        using (TensorScope.Begin()) op();
        if (Backends.Get(d) is CudaBackend cb) cb.Runtime.Synchronize();
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>Copy bandwidth in bytes/s (read + write counted), measured on a 256 MiB buffer.</summary>
    public static double CopyBandwidth(Device d, int rounds = 5)
    {
        const int n = 64 << 20;
        using var a = Tensor.Full([n], 1.0f, DType.F32, d);
        using var b = Tensor.Empty([n], DType.F32, d);
        var be = Backends.Get(d);
        var t = new List<double>();
        for (int r = 0; r < rounds + 1; r++) t.Add(TimeOnce(d, () => be.Copy(a.Buf, b.Buf)));
        t.RemoveAt(0);
        t.Sort();
        return 2.0 * 4 * n / t[t.Count / 2];
    }

    /// <summary>Every fused-op case of issue 5, lazily (each family frees a case's inputs when the
    /// enumeration moves on). quick: the smallest size of each family only.</summary>
    public static IEnumerable<KernelCase> AllCases(Device d, bool quick, string? filter)
    {
        bool Keep(string g, string n) => filter == null || $"{g} {n}".Contains(filter, StringComparison.OrdinalIgnoreCase);
        foreach (long n in quick ? GaussianBench.Sizes.Take(1) : GaussianBench.Sizes)
            foreach (var c in GaussianBench.Cases(d, n))
                if (Keep("gaussian", c.name)) yield return new KernelCase("gaussian", $"{c.name} n={n}", 0, c.bytesFloor, c.fused, c.composed);
        var vq = quick ? VqBench.Cases(d, 8192, 64, [512]) : VqBench.Cases(d);
        foreach (var c in vq)
            if (Keep("vq", c.name)) yield return new KernelCase("vq", c.name, c.flop, c.bytesFloor, c.fused, c.composed);
        foreach (var c in quick ? FlowBench.Cases(d, [FlowBench.Shapes[0]]) : FlowBench.Cases(d))
            if (Keep("flow", c.name)) yield return new KernelCase("flow", c.name, 0, c.bytesFloor, c.fused, c.composed);
    }

    public static List<KernelRow> Run(Device d, IEnumerable<KernelCase> cases, int rounds, Action<string> log)
    {
        double bw = CopyBandwidth(d);
        log($"{d}: copy bandwidth {bw / 1e9:F1} GB/s (read + write)");
        var rows = new List<KernelRow>();
        foreach (var c in cases)
        {
            TimeOnce(d, c.Fused); TimeOnce(d, c.Composed); // warm-up: compiles, algorithm searches, caches
            var f = new List<double>(); var p = new List<double>();
            for (int r = 0; r < rounds; r++)
            {
                if (r % 2 == 0) { f.Add(TimeOnce(d, c.Fused)); p.Add(TimeOnce(d, c.Composed)); }
                else { p.Add(TimeOnce(d, c.Composed)); f.Add(TimeOnce(d, c.Fused)); }
            }
            f.Sort(); p.Sort();
            double fm = f[f.Count / 2] * 1e3, pm = p[p.Count / 2] * 1e3, floor = c.BytesFloor / bw * 1e3;
            var row = new KernelRow(c.Group, c.Name, fm, pm, pm / fm, floor, floor / fm, c.Flop);
            rows.Add(row);
            log($"{c.Group} {c.Name}: fused {fm:F3} ms, composed {pm:F3} ms, x{row.Speedup:F2}, floor {floor:F3} ms ({100 * row.Efficiency:F0}%)");
        }
        return rows;
    }

    public static void WriteJson(string path, Device d, List<KernelRow> rows)
        => File.WriteAllText(path, JsonSerializer.Serialize(new { device = d.ToString(), rows }, new JsonSerializerOptions { WriteIndented = true }));
}
