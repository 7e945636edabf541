// BenchmarkDotNet: our GEMM vs OpenBLAS (baseline: its own core detection; also SkylakeX kernels
// through a private copy of the library), row-major C = A * B in f32. Each anchor is checked
// against our result in its setup, so a wrong binding fails instead of timing garbage. A missing
// library fails only that anchor's benchmarks (per-target setups).
using BenchmarkDotNet.Attributes;
using Engine.Bench.Anchors;
using Engine.Cpu;
using Engine.Cpu.Kernels;

namespace Engine.Bench;

public unsafe class GemmBenchmarks
{
    /// <summary>MxNxK: a square product and the GEMM of a 128->128 3x3 convolution on a 128x128 image.</summary>
    [Params("1024x1024x1024", "128x16384x1152")]
    public string Shape { get; set; } = "1024x1024x1024";

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; } = 1;

    public static IEnumerable<int> ThreadCounts => new[] { 1, Environment.ProcessorCount }.Distinct();

    private int _m, _n, _k;
    private NativeBuffer? _a, _b, _c, _ref;
    private OpenBlas? _blas;

    private void Common()
    {
        var d = Shape.Split('x').Select(int.Parse).ToArray();
        (_m, _n, _k) = (d[0], d[1], d[2]);
        _a = new NativeBuffer((long)_m * _k).Random(1);
        _b = new NativeBuffer((long)_k * _n).Random(2);
        _c = new NativeBuffer((long)_m * _n);
        _ref = new NativeBuffer((long)_m * _n);
        CpuThreads.Count = Threads;
        Gemm.Run<float>(false, false, _m, _n, _k, 1f, _a.Ptr, _k, _b.Ptr, _n, 0f, _ref.Ptr, _n, isa: null, threads: Threads);
    }

    private void Anchor(int index)
    {
        Common();
        var load = AnchorSet.Shared.OpenBlas[index];
        _blas = load.Value ?? throw new InvalidOperationException($"{load.Name} unavailable: {load.Unavailable}");
        _blas.Threads = Threads;
        _blas.Sgemm(_m, _n, _k, _a!.Ptr, _b!.Ptr, _c!.Ptr);
        double err = Measure.RelError(_ref!.Ptr, _c.Ptr, (long)_m * _n);
        if (!(err <= Measure.Tolerance)) throw new InvalidOperationException($"{load.Name} disagrees with ours: relative error {err:G3}");
    }

    [GlobalSetup(Target = nameof(Ours))] public void SetupOurs() => Common();
    [GlobalSetup(Target = nameof(OpenBlasDefault))] public void SetupDefault() => Anchor(0);
    [GlobalSetup(Target = nameof(OpenBlasSkylakeX))] public void SetupSkylakeX() => Anchor(1);

    [Benchmark(Baseline = true)]
    public void OpenBlasDefault() => _blas!.Sgemm(_m, _n, _k, _a!.Ptr, _b!.Ptr, _c!.Ptr);

    [Benchmark]
    public void OpenBlasSkylakeX() => _blas!.Sgemm(_m, _n, _k, _a!.Ptr, _b!.Ptr, _c!.Ptr);

    [Benchmark]
    public void Ours() => Gemm.Run<float>(false, false, _m, _n, _k, 1f, _a!.Ptr, _k, _b!.Ptr, _n, 0f, _c!.Ptr, _n, isa: null, threads: Threads);

    [GlobalCleanup]
    public void Cleanup()
    {
        _a?.Dispose(); _b?.Dispose(); _c?.Dispose(); _ref?.Dispose();
    }
}
