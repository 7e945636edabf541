// Smoke test of the flow benchmark hook (bench/Engine.Bench.Suite/FlowBench.cs) on tiny shapes on
// the CPU: every case runs its fused and its composed action, the byte floors follow the shapes,
// and the inputs and outputs are all freed once the enumeration ends. Timings are not taken.
using Engine.Bench;
using Xunit;

namespace Engine.Tests.Bench;

[Collection("CpuMemory")] // asserts on process-wide CpuMemory counters: runs alone
public class FlowBenchTests
{
    [Fact]
    public void EveryCaseRunsBothWaysAndFreesItsTensors()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long live = CpuMemory.LiveBytes;
        var shapes = new[] { new FlowBenchShape(2, 4, 6, 5), new FlowBenchShape(1, 6, 4, 4) };
        var names = new List<string>();
        foreach (var (name, bytes, fused, composed) in FlowBench.Cases(Device.Cpu, shapes))
        {
            fused();
            composed();
            names.Add(name);
            var shape = shapes.First(s => name.EndsWith(s.ToString(), StringComparison.Ordinal));
            long unit = shape.Numel * sizeof(float);
            long want = name.StartsWith("actnorm fwd", StringComparison.Ordinal) ? 2 : name.StartsWith("actnorm bwd", StringComparison.Ordinal) ? 3
                : name.StartsWith("coupling epilogue fwd", StringComparison.Ordinal) ? 4 : name.StartsWith("coupling epilogue bwd", StringComparison.Ordinal) ? 7 : 2;
            Assert.Equal(want * unit, bytes);
        }
        Assert.Equal(10, names.Count);
        foreach (var family in new[] { "actnorm fwd", "actnorm bwd", "coupling epilogue fwd", "coupling epilogue bwd", "invconv1x1 fwd" })
            Assert.Equal(2, names.Count(n => n.StartsWith(family, StringComparison.Ordinal)));
        Assert.Equal(live, CpuMemory.LiveBytes);
        Assert.Equal(["12x80x80 n8", "24x40x40 n8", "96x20x20 n8", "32x128x128 n16"], FlowBench.Shapes.Select(s => s.ToString()));
    }
}
