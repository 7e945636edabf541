// The CUDA backend end to end, one body per check with a row per accelerator ("cuda": the real GPU,
// skipped without one; "emu": the same backend over the host emulation of its kernels):
// transfers, device-mixing errors, storage returning to the caching allocator when a scope ends,
// out-of-memory reporting, and a whole forward/backward pass whose loss and gradients must equal
// the CPU backend's.
using Engine.Autograd;
using Engine.Cuda;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Cuda;

[CollectionDefinition("DeviceAllocator", DisableParallelization = true)]
public sealed class DeviceAllocatorCollection;

[Collection("DeviceAllocator")]
public class DeviceBackendTests
{
    public static TheoryData<string> Rows => new(TestDevices.Accelerators);

    [Theory]
    [MemberData(nameof(Rows))]
    public void TransfersRoundTripEveryDTypeAndStridedViews(string row)
    {
        var dev = TestDevices.Get(row);
        var rng = TestData.Rng();
        var f = TestData.Floats(rng, 60);
        var d = TestData.Doubles(rng, 60);
        var i = Enumerable.Range(-30, 60).ToArray();
        using var tf = Tensor.FromArray(f, [3, 4, 5], dev);
        using var td = Tensor.FromArray(d, [3, 4, 5]).To(dev);
        using var ti = Tensor.FromArray(i, [60], dev);
        Assert.Equal(dev, tf.Device);
        Assert.Equal(f, tf.ToArray<float>());
        Assert.Equal(d, td.To(Device.Cpu).ToArray<double>());
        Assert.Equal(i, ti.ToArray<int>());
        // A permuted, narrowed view downloads in row-major order of the view.
        using var cpuView = Tensor.FromArray(f, [3, 4, 5]).Permute([2, 0, 1]).Narrow(0, 1, 3);
        using var devView = tf.Permute([2, 0, 1]).Narrow(0, 1, 3);
        Assert.Equal(cpuView.ToArray<float>(), devView.ToArray<float>());
        Assert.Equal(cpuView.ToArray<float>(), devView.To(Device.Cpu).ToArray<float>());
        // dtype conversion on the device
        using var conv = tf.To(DType.F64);
        Assert.Equal(Array.ConvertAll(f, v => (double)v), conv.ToArray<double>());
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void MixingDevicesIsATypedErrorNamingBoth(string row)
    {
        var dev = TestDevices.Get(row);
        using var a = Tensor.Ones([2, 3], device: dev);
        using var b = Tensor.Ones([2, 3]);
        var e = Assert.Throws<DeviceMismatchException>(() => Ops.Add(a, b));
        Assert.Contains(dev.ToString(), e.Message);
        Assert.Contains("cpu", e.Message);
        Assert.Throws<DeviceMismatchException>(() => Ops.Matmul(b, a.Reshape(3, 2)));
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void ScopesReturnBlocksToTheAllocatorAndTheCacheServesTheNextStep(string row)
    {
        var dev = TestDevices.Get(row);
        var alloc = ((CudaBackend)Backends.Get(dev)).Allocator;
        long before = alloc.CurrentBytes;
        long driverAllocs = 0;
        for (int step = 0; step < 3; step++)
        {
            using (TensorScope.Begin())
            {
                var x = Tensor.Uniform([64, 256], 7, (ulong)step * 1000, device: dev);
                var y = Ops.Exp(Ops.Mul(x, 2.0));
                var s = Ops.Sum(y, [1]);
                Assert.True(alloc.CurrentBytes > before);
                Assert.True(double.IsFinite(s.ToArray<float>()[0]));
            }
            Assert.Equal(before, alloc.CurrentBytes);
            if (step == 0) driverAllocs = alloc.DriverAllocations;
        }
        // Steps 2 and 3 allocate the same sizes: served from the cache, no new driver allocation.
        Assert.Equal(driverAllocs, alloc.DriverAllocations);
        Assert.True(alloc.CacheHits > 0);
        Assert.True(alloc.PeakBytes > before);
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void OutOfMemoryNamesTheRequestAndTheDevice(string row)
    {
        var dev = TestDevices.Get(row);
        var be = (CudaBackend)Backends.Get(dev);
        long huge = be.Runtime.TotalMemory * 2 / 4; // elements of f32: twice the device's memory
        var e = Assert.Throws<CudaOutOfMemoryException>(() => Tensor.Empty([(int)Math.Min(huge, int.MaxValue), (int)Math.Max(1, huge / int.MaxValue + 1)], DType.F32, dev));
        Assert.Contains(dev.ToString(), e.Message);
        Assert.Contains("out of memory allocating", e.Message);
        Assert.True(e.Requested > be.Runtime.TotalMemory);
    }

    /// <summary>A small network's loss and every parameter gradient on the device equal the CPU's.
    /// The emulated row has no cuBLAS/cuDNN, so its network uses everything but conv and matmul.</summary>
    [Theory]
    [MemberData(nameof(Rows))]
    public void ForwardAndBackwardMatchTheCpu(string row)
    {
        var dev = TestDevices.Get(row);
        bool libs = row == TestDevices.Cuda;
        var rng = TestData.Rng();
        var xData = TestData.Floats(rng, 2 * 4 * 8 * 8);
        var wData = TestData.Floats(rng, 6 * 4 * 3 * 3, -0.3, 0.3);
        var sData = TestData.Floats(rng, 4, 0.5, 1.5);
        var mData = TestData.Floats(rng, 16 * 5, -0.3, 0.3);
        var idx = new[] { 3, 0, 2, 3, 1 };

        (double loss, float[][] grads) Run(Device d)
        {
            using var scope = TensorScope.Begin();
            var x = new Var(Tensor.FromArray(xData, [2, 4, 8, 8], d));
            var w = new Var(Tensor.FromArray(wData, [6, 4, 3, 3], d), requiresGrad: true);
            var s = new Var(Tensor.FromArray(sData, [1, 4, 1, 1], d), requiresGrad: true);
            var m = new Var(Tensor.FromArray(mData, [16, 5], d), requiresGrad: true);
            var h = F.Mul(x, s);                                                    // broadcast scale
            h = F.Pad2d(h, 1, 1, 1, 1, PadMode.Reflect);
            h = libs ? F.Conv2d(h, w, null, new Conv2dParams(1, 1, 0, 0, 1, 1, 1), Activation.LeakyRelu(0.2))
                     : F.LeakyRelu(F.Mul(h, F.Sum(s)), 0.2);
            h = F.MaxPool2d(h, 2);                                                  // (2, C, 4, 4)
            h = F.UpsampleBilinear(h, 6, 6);
            h = F.AvgPool2d(h, 3);                                                  // (2, C, 2, 2)
            var flat = F.Reshape(h, 2, -1);                                         // (2, 4C)
            var sel = F.IndexSelect(flat, 1, Tensor.FromArray(Enumerable.Range(0, 16).ToArray(), [16], d));
            var z = libs ? F.Matmul(sel, m) : F.Mul(F.Reshape(F.Sum(sel, [1], keepDim: true), 2, 1), F.Sum(m, [0], keepDim: true));
            var g = F.IndexSelect(z, 1, Tensor.FromArray(idx, [5], d));
            var loss = F.Add(F.Mean(F.Square(F.Tanh(g))), F.Mean(F.LogSumExp(z, [1])));
            loss.Backward();
            double l = loss.Item();
            var grads = new[] { w, s, m }.Where(p => p.Grad != null).Select(p => p.Grad!.To(Device.Cpu).ToArray<float>()).ToArray();
            foreach (var p in new[] { w, s, m }) p.ZeroGrad();
            return (l, grads);
        }

        var (lc, gc) = Run(Device.Cpu);
        var (ld, gd) = Run(dev);
        Assert.Equal(lc, ld, 1e-5 * Math.Max(1, Math.Abs(lc)));
        Assert.Equal(gc.Length, gd.Length);
        for (int k = 0; k < gc.Length; k++)
        {
            double scale = gc[k].Max(v => Math.Abs(v)) + 1e-12;
            for (int j = 0; j < gc[k].Length; j++)
                Assert.True(Math.Abs(gc[k][j] - gd[k][j]) <= 1e-4 * scale, $"gradient {k}[{j}]: cpu {gc[k][j]} vs {dev} {gd[k][j]}");
        }
    }
}
