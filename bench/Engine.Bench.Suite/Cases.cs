// Benchmark cases and their results. GEMM shapes are MxNxK of row-major C = A * B (f32); the
// conv-shaped ones are the GEMMs an im2col 3x3 convolution runs (M = Cout, N = H*W, K = Cin*9).
// Convolutions are 3x3, padding 1, stride 1, Cin = Cout, NCHW f32, with bias in the forward pass.
using System.Text.Json.Serialization;

namespace Engine.Bench;

public sealed record GemmCase(int M, int N, int K)
{
    public string Name => M == N && N == K ? $"gemm {M}" : $"gemm {M}x{N}x{K}";
    public string Shape => $"M={M} N={N} K={K}";
    public double Flops => 2.0 * M * N * K;

    public static readonly GemmCase[] Full =
    [
        new(1024, 1024, 1024),
        new(64, 4096, 576),
        new(64, 16384, 576),
        new(128, 16384, 1152),
        new(64, 16384, 64),
    ];

    public static readonly GemmCase[] Quick = [new(1024, 1024, 1024), new(64, 4096, 576)];
}

public sealed record ConvCase(int N, int C, int Size, bool Backward)
{
    public string Name => $"conv c{C} n{N} {Size}x{Size} {(Backward ? "fwd+bwd" : "fwd")}";
    public string Shape => $"N={N} C={C}->{C} {Size}x{Size} k3 p1 s1";
    public Cpu.Kernels.Conv2dGeometry Geometry => new(N, C, Size, Size, C, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    /// <summary>Forward multiply-adds x 2; backward data and backward filter cost one forward each.</summary>
    public double Flops => 2.0 * N * C * C * 9 * Size * Size * (Backward ? 3 : 1);

    public static IEnumerable<ConvCase> Full =>
        from c in new[] { 64, 128 }
        from n in new[] { 1, 8 }
        from s in new[] { 64, 128 }
        from b in new[] { false, true }
        select new ConvCase(n, c, s, b);

    public static readonly ConvCase[] Quick = [new(1, 64, 64, false), new(1, 64, 64, true)];
}

public enum AnchorStatus
{
    /// <summary>Validated against ours and timed.</summary>
    Ok,
    /// <summary>Library missing, no implementation, or it failed to set up: not timed.</summary>
    Unavailable,
    /// <summary>Its result disagreed with ours beyond the tolerance: not timed.</summary>
    Mismatch,
}

public sealed record AnchorResult(
    string Anchor, AnchorStatus Status, string? Reason, string? Impl,
    double? Gflops, double? MedianSeconds, double? Ratio, double? Efficiency, double? RelError);

public sealed record CaseResult(
    string Kind, string Name, string Shape, int Threads, double Flops, int Reps,
    double OursGflops, double OursMedianSeconds, double OursEfficiency,
    IReadOnlyList<AnchorResult> Anchors);

public sealed record MachineInfo(
    string CpuModel, int LogicalCores, string Os, string Runtime,
    [property: JsonPropertyName("avx512f")] bool Avx512F, bool Avx2, bool Fma, string GemmIsa, string PeakIsa,
    [property: JsonPropertyName("openblas")] IReadOnlyList<string> OpenBlas,
    [property: JsonPropertyName("onednn")] string OneDnn,
    IReadOnlyDictionary<int, double> PeakGflops);

/// <summary>method: how the figures were taken (settling, warm calls, anchor settings), printed and saved with them.</summary>
public sealed record BenchReport(MachineInfo Machine, bool Quick, IReadOnlyList<int> Threads, string Method, IReadOnlyList<CaseResult> Cases);
