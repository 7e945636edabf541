// The benchmark hook of the fused Gaussian ops (bench/Engine.Bench.Suite/GaussianBench.cs) on a tiny
// size, on every device row: every case runs its fused and composed action, names are unique, the
// byte floors are the documented multiples of one tensor, and the inputs are freed when the
// enumeration ends (the emulated device's allocator is back to its starting bytes). Timings are not
// asserted.
using Engine.Bench;
using Engine.Cuda;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Gaussian;

/// <summary>Asserts on the emulated device's allocator, which every emu test shares: runs alone.</summary>
[CollectionDefinition("DeviceAllocatorBytes", DisableParallelization = true)]
public sealed class DeviceAllocatorBytesCollection;

[Collection("DeviceAllocatorBytes")]
public class GaussianBenchTests
{
    [Theory]
    [MemberData(nameof(TestDevices.AllRows), MemberType = typeof(TestDevices))]
    public void EveryCaseRunsFusedAndComposed(string device)
    {
        var dev = TestDevices.Get(device);
        const long n = 4096;
        var alloc = (Backends.Get(dev) as CudaBackend)?.Allocator;
        long before = alloc?.CurrentBytes ?? 0;
        var names = new List<string>();
        foreach (var (name, floor, fused, composed) in GaussianBench.Cases(dev, n))
        {
            names.Add(name);
            Assert.True(floor > 0 && floor % (4 * n) == 0, $"{name}: bytes floor {floor} is not a multiple of one f32 tensor ({4 * n} bytes)");
            using (TensorScope.Begin()) fused();
            using (TensorScope.Begin()) composed();
        }
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Contains("gaussian sample fwd", names);
        Assert.Contains("kl per-sample bwd", names);
        if (alloc != null) Assert.True(before == alloc.CurrentBytes, $"{device}: {alloc.CurrentBytes - before} bytes still allocated after the enumeration");
        Assert.Equal([1L << 19, 1L << 23, 1L << 24], GaussianBench.Sizes);
    }
}
