// BenchmarkDotNet: our conv2d forward (3x3, pad 1, stride 1, C -> C, NCHW f32, with bias) vs
// oneDNN (baseline: the layouts oneDNN prefers, reordered outside the timed call; also plain
// NCHW/OIHW). Each anchor is checked against our output in its setup.
using BenchmarkDotNet.Attributes;
using Engine.Bench.Anchors;
using Engine.Cpu;
using Engine.Cpu.Kernels;

namespace Engine.Bench;

public unsafe class ConvBenchmarks
{
    /// <summary>"c{channels} n{batch} {size}": two of `engine bench cpu`'s conv shapes.</summary>
    [Params("c64 n1 64", "c128 n8 64")]
    public string Shape { get; set; } = "c64 n1 64";

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; } = 1;

    public static IEnumerable<int> ThreadCounts => new[] { 1, Environment.ProcessorCount }.Distinct();

    private Conv2dGeometry _g;
    private NativeBuffer? _x, _w, _b, _y, _ref;
    private DnnlConv? _dnnl;

    private void Common()
    {
        var p = Shape.Split(' ');
        var c = new ConvCase(int.Parse(p[1][1..]), int.Parse(p[0][1..]), int.Parse(p[2]), Backward: false);
        _g = c.Geometry;
        _x = new NativeBuffer((long)_g.N * _g.Cin * _g.H * _g.W).Random(1);
        _w = new NativeBuffer((long)_g.Cout * _g.Cin * _g.KH * _g.KW).Random(2);
        _b = new NativeBuffer(_g.Cout).Random(3);
        _y = new NativeBuffer((long)_g.N * _g.Cout * _g.OH * _g.OW);
        _ref = new NativeBuffer(_y.Length);
        CpuThreads.Count = Threads;
        Conv2dKernels.Forward(_g, _x.Ptr, _w.Ptr, _b.Ptr, _ref.Ptr);
    }

    private void Anchor(DnnlLayout layout)
    {
        Common();
        var load = AnchorSet.Shared.Dnnl;
        var d = load.Value ?? throw new InvalidOperationException($"oneDNN unavailable: {load.Unavailable}");
        _dnnl = new DnnlConv(d, _g, layout, training: false, Threads);
        _dnnl.SetInputs(_x!.Ptr, _w!.Ptr, _b!.Ptr, null);
        _dnnl.Forward();
        _dnnl.ReadY(_y!.Ptr);
        double err = Measure.RelError(_ref!.Ptr, _y.Ptr, _y.Length);
        if (!(err <= Measure.Tolerance)) throw new InvalidOperationException($"oneDNN ({layout}, {_dnnl.ForwardImpl}) disagrees with ours: relative error {err:G3}");
        Console.WriteLine($"// oneDNN {layout}: {_dnnl.ForwardImpl}");
    }

    [GlobalSetup(Target = nameof(Ours))] public void SetupOurs() => Common();
    [GlobalSetup(Target = nameof(OneDnnPreferred))] public void SetupPreferred() => Anchor(DnnlLayout.Preferred);
    [GlobalSetup(Target = nameof(OneDnnNchw))] public void SetupNchw() => Anchor(DnnlLayout.Plain);

    [Benchmark(Baseline = true)]
    public void OneDnnPreferred() => _dnnl!.Forward();

    [Benchmark]
    public void OneDnnNchw() => _dnnl!.Forward();

    [Benchmark]
    public void Ours() => Conv2dKernels.Forward(_g, _x!.Ptr, _w!.Ptr, _b!.Ptr, _y!.Ptr);

    [GlobalCleanup]
    public void Cleanup()
    {
        _dnnl?.Dispose();
        _x?.Dispose(); _w?.Dispose(); _b?.Dispose(); _y?.Dispose(); _ref?.Dispose();
    }
}
