// The native anchors of the CPU benchmark, loaded once per process: native libraries are not
// unloaded (OpenBLAS and libgomp own thread pools), and a second OpenBLAS copy per core type
// would only waste memory. Loading never throws: a missing library becomes a reason string.
namespace Engine.Bench.Anchors;

/// <summary>An anchor that loaded, or why it did not.</summary>
public sealed record AnchorLoad<T>(string Name, T? Value, string? Unavailable) where T : class
{
    public static AnchorLoad<T> Ok(string name, T value) => new(name, value, null);
    public static AnchorLoad<T> Fail(string name, string reason) => new(name, null, reason);
}

public sealed class AnchorSet
{
    /// <summary>Core types measured besides OpenBLAS's own detection (BENCHMARK.md: with and without SkylakeX).</summary>
    public static readonly string[] ExtraOpenBlasCoreTypes = ["SkylakeX"];

    private static readonly Lazy<AnchorSet> _shared = new(() => new AnchorSet(), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The process-wide anchors (loaded on first use).</summary>
    public static AnchorSet Shared => _shared.Value;

    /// <summary>OpenBLAS default first, then one instance per extra core type.</summary>
    public IReadOnlyList<AnchorLoad<OpenBlas>> OpenBlas { get; }
    public AnchorLoad<Dnnl> Dnnl { get; }

    private AnchorSet()
    {
        OpenBlas = Anchors.OpenBlas.LoadSet(ExtraOpenBlasCoreTypes);
        Dnnl = Anchors.Dnnl.Load();
    }
}
