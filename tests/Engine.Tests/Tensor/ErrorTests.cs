// Typed errors: representative ops throw the documented exception type, the message names the op
// and every offending shape / dtype / device, and a failing op allocates nothing (CpuMemory's live
// and peak bytes are unchanged across the call, so allocate-then-dispose also fails the test).
using System.Reflection;
using Engine;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.TensorCore;

[Collection("CpuMemory")] // asserts on process-wide CpuMemory counters: runs alone
public class ErrorTests
{
    private static TEx Fails<TEx>(Func<object?> op, params string[] mustName) where TEx : EngineException => ErrorAssert.Fails<TEx>(op, mustName);

    private static Tensor F32(params int[] shape) => Tensor.Ones(shape);
    private static Tensor F64(params int[] shape) => Tensor.Ones(shape, DType.F64);
    private static Conv2dParams Conv(int stride = 1, int pad = 0, int groups = 1) => new(stride, stride, pad, pad, 1, 1, groups);

    [Fact]
    public void ShapeMismatch()
    {
        using var a = F32(2, 3); using var b = F32(4, 3); using var c = F32(3, 5); using var d = F32(4, 5);
        var e = Fails<ShapeMismatchException>(() => Ops.Add(a, b), "Add", "[2, 3]", "[4, 3]");
        Assert.Equal("Add", ((ShapeMismatchException)e).Op);
        Fails<ShapeMismatchException>(() => Ops.Where(a, a, b), "Where", "[2, 3]", "[4, 3]");
        Fails<ShapeMismatchException>(() => Ops.Matmul(a, d), "Matmul", "[2, 3]", "[4, 5]");
        Fails<ShapeMismatchException>(() => Ops.Matmul(a, c, transA: true), "Matmul", "[2, 3]^T", "[3, 5]");
        using var b3 = F32(2, 3, 5); using var b4 = F32(3, 5, 2);
        Fails<ShapeMismatchException>(() => Ops.Matmul(b3, b4), "Matmul", "[2]", "[3]"); // batch dims 2 vs 3
        Fails<ShapeMismatchException>(() => Ops.Concat([a, c], 0), "Concat", "[2, 3]", "[3, 5]");
        Fails<ShapeMismatchException>(() => Ops.Stack([a, b], 0), "Stack", "[2, 3]", "[4, 3]");
        Fails<ShapeMismatchException>(() => Ops.Split(a, [1, 1], 1), "Split", "[2, 3]");
        Fails<ShapeMismatchException>(() => a.Reshape(4, 2), "Reshape", "[2, 3]", "[4, 2]");
        using var x = F32(1, 4, 5, 5); using var w = F32(6, 3, 3, 3); using var bias = F32(5);
        Fails<ShapeMismatchException>(() => Ops.Conv2d(x, w, null, Conv(groups: 2)), "Conv2d", "[1, 4, 5, 5]", "[6, 3, 3, 3]", "groups=2");
        using var w2 = F32(6, 4, 3, 3);
        Fails<ShapeMismatchException>(() => Ops.Conv2d(x, w2, bias, Conv()), "Conv2d", "bias [5]", "(6)");
        using var big = F32(6, 4, 7, 7);
        Fails<ShapeMismatchException>(() => Ops.Conv2d(x, big, null, Conv()), "Conv2d", "[1, 4, 5, 5]", "7x7");
        using var wt = F32(4, 3, 3, 3); // conv_transpose weight (Cin, Cout/groups, kh, kw): Cout = 3
        Fails<ShapeMismatchException>(() => Ops.ConvTranspose2d(x, wt, bias, Conv(stride: 2)), "ConvTranspose2d", "bias [5]", "(3)");
        using var wtBad = F32(3, 3, 3, 3);
        Fails<ShapeMismatchException>(() => Ops.ConvTranspose2d(x, wtBad, null, Conv()), "ConvTranspose2d", "[1, 4, 5, 5]", "[3, 3, 3, 3]");
        // conv gradients: a grad whose extent does not follow from the given sizes is refused
        // before the kernel could read outside it
        using var gy = F32(1, 6, 3, 3);
        Fails<ShapeMismatchException>(() => Ops.Conv2dBackwardData(gy, w2, 6, 5, Conv()), "Conv2dBackwardData", "[1, 6, 3, 3]", "6x5", "(N, 6, 4, 3)");
        Fails<ShapeMismatchException>(() => Ops.Conv2dBackwardFilter(x, gy, 2, 2, Conv()), "Conv2dBackwardFilter", "[1, 4, 5, 5]", "[1, 6, 3, 3]", "2x2");
        using var ps = F32(1, 6, 2, 2);
        Fails<ShapeMismatchException>(() => Ops.PixelShuffle(ps, 2), "PixelShuffle", "[1, 6, 2, 2]");
    }

    [Fact]
    public void DTypeMismatch()
    {
        using var a = F32(2, 3); using var b = F64(2, 3); using var i = Tensor.FromArray(new[] { 1, 2, 3 }, [3]);
        using var m = F64(3, 2);
        Fails<DTypeMismatchException>(() => Ops.Add(a, b), "Add", "f32", "f64");
        Fails<DTypeMismatchException>(() => Ops.Matmul(a, m), "Matmul", "[2, 3] f32", "[3, 2] f64");
        Fails<DTypeMismatchException>(() => Ops.Exp(i), "Exp", "[3] i32");
        Fails<DTypeMismatchException>(() => Ops.Sum(i), "Sum", "i32");
        Fails<DTypeMismatchException>(() => Ops.ArgMax(i), "ArgMax", "i32");
        Fails<DTypeMismatchException>(() => Ops.Concat([a, b], 0), "Concat", "f32", "f64");
        using var x = F32(1, 2, 4, 4); using var w = F64(3, 2, 3, 3); using var wt = F32(2, 3, 3, 3); using var bias = F64(3);
        Fails<DTypeMismatchException>(() => Ops.Conv2d(x, w, null, Conv()), "Conv2d", "f32", "f64");
        Fails<DTypeMismatchException>(() => Ops.ConvTranspose2d(x, wt, bias, Conv()), "ConvTranspose2d", "[3] f64");
        Fails<DTypeMismatchException>(() => a.ToArray<double>(), "ToArray", "f32");
    }

    [Fact]
    public void DeviceMismatch()
    {
        // A tensor that claims to live on cuda:0, backed by a fake backend that is never
        // registered and throws if anything is called on it: the op must reject it first.
        using var gpu = FakeDevice.Make([2, 3], Device.Cuda(0));
        using var cpu = F32(2, 3); using var m = F32(3, 2);
        var e = Fails<DeviceMismatchException>(() => Ops.Add(cpu, gpu), "Add", "[2, 3] f32 cpu", "[2, 3] f32 cuda:0");
        Assert.Equal("Add", ((DeviceMismatchException)e).Op);
        Fails<DeviceMismatchException>(() => Ops.Matmul(gpu, m), "Matmul", "cuda:0", "cpu");
        Fails<DeviceMismatchException>(() => Ops.Concat([cpu, gpu], 0), "Concat", "cpu", "cuda:0");
        Fails<DeviceMismatchException>(() => Ops.Where(cpu, cpu, gpu), "Where", "cpu", "cuda:0");
        Fails<DeviceMismatchException>(() => { cpu.CopyFrom(gpu); return null; }, "CopyFrom", "cpu", "cuda:0");
    }

    [Fact]
    public void Rank()
    {
        using var v = F32(3); using var a = F32(3, 4); using var x3 = F32(2, 5, 5); using var w = F32(3, 2, 3, 3);
        Fails<RankException>(() => Ops.Matmul(v, a), "Matmul", "[3]", "[3, 4]");
        Fails<RankException>(() => Ops.Conv2d(x3, w, null, Conv()), "Conv2d", "[2, 5, 5]", "rank 4");
        Fails<RankException>(() => Ops.PixelShuffle(a, 2), "PixelShuffle", "[3, 4]");
        Fails<RankException>(() => a.Permute(0), "Permute", "[3, 4]");
        Fails<RankException>(() => Ops.Concat([a, x3], 0), "Concat", "[3, 4]", "[2, 5, 5]");
        Fails<RankException>(() => Ops.Pad2d(v, 1, 1, 1, 1), "Pad2d", "[3]");
    }

    [Fact]
    public void DimOutOfRange()
    {
        using var a = F32(3, 4);
        Fails<DimOutOfRangeException>(() => Ops.Sum(a, [2]), "Sum", "dim 2", "rank 2");
        Fails<DimOutOfRangeException>(() => Ops.Max(a, [-3], keepDim: true), "Max", "dim -3", "rank 2");
        Fails<DimOutOfRangeException>(() => Ops.ArgMax(a, 5), "ArgMax", "dim 5");
        Fails<DimOutOfRangeException>(() => Ops.Concat([a, a], 2), "Concat", "dim 2");
        Fails<DimOutOfRangeException>(() => Ops.Stack([a, a], 3), "Stack", "dim 3", "rank 3");
        Fails<DimOutOfRangeException>(() => Ops.Chunk(a, 2, -3), "Chunk", "dim -3");
        Fails<DimOutOfRangeException>(() => a.Transpose(0, 2), "Transpose", "dim 2");
        Fails<DimOutOfRangeException>(() => a.Size(2), "size", "dim 2");
    }

    [Fact]
    public void InvalidArgument()
    {
        using var a = F32(3, 4); using var x = F32(1, 2, 5, 5); using var w = F32(3, 2, 3, 3); using var wt = F32(2, 3, 3, 3);
        Fails<InvalidArgumentException>(() => Ops.Clamp(a, 1, -1), "Clamp", "lo 1", "hi -1");
        Fails<InvalidArgumentException>(() => Ops.Sum(a, [1, -1]), "Sum", "repeated axis");
        Fails<InvalidArgumentException>(() => Ops.Chunk(a, 0, 0), "Chunk", "0");
        Fails<InvalidArgumentException>(() => Ops.Split(a, 0, 0), "Split", "0");
        Fails<InvalidArgumentException>(() => Ops.Conv2d(x, w, null, Conv(stride: 0)), "Conv2d", "StrideH = 0");
        Fails<InvalidArgumentException>(() => Ops.ConvTranspose2d(x, wt, null, Conv(stride: 2), 2, 0), "ConvTranspose2d", "output padding (2, 0)");
        Fails<InvalidArgumentException>(() => Ops.Concat([], 0), "Concat");
        Fails<InvalidArgumentException>(() => Ops.Pad2d(a, 4, 0, 0, 0, PadMode.Reflect), "Pad2d", "(4, 0, 0, 0)", "3x4");
        Fails<InvalidArgumentException>(() => Tensor.Empty([2, -1]), "Empty", "[2, -1]");
        Fails<InvalidArgumentException>(() => a.Narrow(1, 3, 2), "Narrow", "[3, 5)", "[3, 4]");
    }

    [Fact]
    public void UnsupportedOp()
    {
        using var x = F32(1, 2, 6, 6);
        Fails<UnsupportedOpException>(() => Ops.AvgPool2d(x, new Pool2dParams(2, 2, 2, 2, 0, 0, DilationH: 2, DilationW: 2)), "AvgPool2d", "dilation");
        // torch accepts stride <= output padding < dilation; we refuse it rather than compute a
        // result whose backward rules do not fit (see Ops.ConvTranspose2d).
        using var wt = F32(2, 3, 3, 3);
        Fails<UnsupportedOpException>(() => Ops.ConvTranspose2d(x, wt, null, new Conv2dParams(1, 1, 0, 0, 2, 2, 1), 1, 0), "ConvTranspose2d", "output padding (1, 0)", "stride (1, 1)");
    }

    [Fact]
    public void TheHarnessNoticesAnAllocationBeforeTheThrow()
    {
        // Fails itself must be able to fail: an "op" that allocates, frees and then throws.
        var ex = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Fails<ShapeMismatchException>(() =>
        {
            using (Tensor.Zeros([1000])) { }
            throw new ShapeMismatchException("Fake", "[1000]");
        }, "Fake"));
        Assert.Contains("allocated", ex.Message);
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Fails<ShapeMismatchException>(() => throw new ShapeMismatchException("Fake", "x"), "[2, 3]"));
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Fails<ShapeMismatchException>(() => throw new RankException("Fake", "x")));
    }
}

/// <summary>Tensors on a device with no real backend: a DispatchProxy IBackend that only answers
/// Device. It is never registered with Backends, so nothing else in the process sees it.</summary>
public class FakeDevice : DispatchProxy
{
    private Device _device;

    protected override object? Invoke(MethodInfo? method, object?[]? args) => method?.Name switch
    {
        "get_Device" => _device,
        _ => throw new InvalidOperationException($"fake {_device} backend: {method?.Name} must not be reached (the op should have rejected the device first)"),
    };

    private sealed class FakeStorage(IBackend backend, DType dtype, long length) : Storage(backend, dtype, length)
    {
        protected override void Free() { }
    }

    public static Tensor Make(int[] shape, Device device, DType dtype = DType.F32)
    {
        var backend = Create<IBackend, FakeDevice>();
        ((FakeDevice)(object)backend)._device = device;
        return new Tensor(new FakeStorage(backend, dtype, Layout.Contiguous(shape).Numel), Layout.Contiguous(shape), addRef: false);
    }
}
