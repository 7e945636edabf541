// Typed errors of the fused Gaussian ops: shape, dtype and device mismatches, ranks, bad arguments
// and wrongly shaped upstream gradients each throw the documented exception type, name the op and
// every offending shape / dtype / device, and allocate nothing (CpuMemory's live and peak bytes are
// unchanged across the failing call). The backends' own buffer checks are exercised directly too.
using Engine.Tests.TensorCore;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Gaussian;

[Collection("CpuMemory")] // asserts on process-wide CpuMemory counters: runs alone
public class GaussianErrorTests
{
    private static void Fails<TEx>(Func<object?> op, params string[] mustName) where TEx : EngineException => ErrorAssert.Fails<TEx>(op, mustName);

    private static Tensor F32(params int[] shape) => Tensor.Ones(shape);
    private static Tensor F64(params int[] shape) => Tensor.Ones(shape, DType.F64);

    [Fact]
    public void ShapeMismatch()
    {
        using var a = F32(2, 3); using var b = F32(3, 2); using var c = F32(2, 3);
        Fails<ShapeMismatchException>(() => Ops.GaussianSample(a, b, 1, 0), "GaussianSample", "log sigma [3, 2] f32 cpu", "mu [2, 3] f32 cpu");
        Fails<ShapeMismatchException>(() => Ops.KlNormal(a, c, c, b), "KlNormal", "log sigma2 [3, 2]", "mu1 [2, 3]");
        Fails<ShapeMismatchException>(() => Ops.KlStdNormal(a, b, GaussianReduction.SumPerSample), "KlStdNormal", "[3, 2]", "[2, 3]");
        Fails<ShapeMismatchException>(() => Ops.GaussianNll(a, b, null), "GaussianNll", "mu [3, 2]", "x [2, 3]");
        Fails<ShapeMismatchException>(() => Ops.GaussianNll(a, null, b), "GaussianNll", "log sigma [3, 2]", "x [2, 3]");
        using var ld = F32(3);
        Fails<ShapeMismatchException>(() => Ops.FlowBitsPerDim(a, ld, 32, 4), "FlowBitsPerDim", "logdet [3] f32 cpu", "(2)", "z [2, 3]");
        using var ld2 = F32(2, 1);
        Fails<ShapeMismatchException>(() => Ops.FlowBitsPerDim(a, ld2, 32, 4), "FlowBitsPerDim", "logdet [2, 1]");
        // upstream gradients must have the forward output's shape
        using var g = F32(3);
        Fails<ShapeMismatchException>(() => Ops.KlNormalBackward(a, c, null, null, g, GaussianReduction.SumPerSample), "KlNormalBackward", "grad [3]", "[2]");
        Fails<ShapeMismatchException>(() => Ops.GaussianNllBackward(a, null, null, g, GaussianReduction.None), "GaussianNllBackward", "grad [3]", "[2, 3]");
        Fails<ShapeMismatchException>(() => Ops.GaussianSampleBackward(a, g, 1, 0), "GaussianSampleBackward", "grad [3]", "[2, 3]");
        using var ld1 = F32(2);
        Fails<ShapeMismatchException>(() => Ops.FlowBitsPerDimBackward(a, ld1, 32, 4, null, null, g), "FlowBitsPerDimBackward", "grad [3]", "[2]");
    }

    [Fact]
    public void DTypeMismatch()
    {
        using var a = F32(2, 3); using var b = F64(2, 3);
        using var i = Tensor.FromArray(new[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        Fails<DTypeMismatchException>(() => Ops.GaussianSample(a, b, 1, 0), "GaussianSample", "f64", "f32");
        Fails<DTypeMismatchException>(() => Ops.KlNormal(a, a, b, a), "KlNormal", "mu2 [2, 3] f64", "mu1 [2, 3] f32");
        Fails<DTypeMismatchException>(() => Ops.KlStdNormal(i, i), "KlStdNormal", "i32");
        Fails<DTypeMismatchException>(() => Ops.GaussianNll(a, null, b), "GaussianNll", "f64", "f32");
        Fails<DTypeMismatchException>(() => Ops.Dequantize(i, 32, 1, 0), "Dequantize", "i32");
        using var ld = F64(2);
        Fails<DTypeMismatchException>(() => Ops.FlowBitsPerDim(a, ld, 32, 3), "FlowBitsPerDim", "f32", "f64");
        using var g = F64(2);
        Fails<DTypeMismatchException>(() => Ops.KlNormalBackward(a, a, null, null, g, GaussianReduction.SumPerSample), "KlNormalBackward", "f64", "f32");
    }

    [Fact]
    public void DeviceMismatch()
    {
        using var cpu = F32(2, 3);
        using var gpu = FakeDevice.Make([2, 3], Device.Cuda(0));
        Fails<DeviceMismatchException>(() => Ops.GaussianSample(cpu, gpu, 1, 0), "GaussianSample", "[2, 3] f32 cuda:0", "[2, 3] f32 cpu");
        Fails<DeviceMismatchException>(() => Ops.KlNormal(cpu, cpu, cpu, gpu), "KlNormal", "log sigma2", "cuda:0", "cpu");
        Fails<DeviceMismatchException>(() => Ops.GaussianNll(cpu, gpu, null), "GaussianNll", "cuda:0", "cpu");
        using var ld = FakeDevice.Make([2], Device.Cuda(0));
        Fails<DeviceMismatchException>(() => Ops.FlowBitsPerDim(cpu, ld, 32, 3), "FlowBitsPerDim", "cuda:0", "cpu");
    }

    [Fact]
    public void RankAndArguments()
    {
        using var s = Tensor.Scalar(1.0f);
        Fails<RankException>(() => Ops.KlStdNormal(s, s, GaussianReduction.SumPerSample), "KlStdNormal", "[] f32 cpu");
        Fails<RankException>(() => Ops.GaussianNll(s, null, null, GaussianReduction.MeanPerSample), "GaussianNll", "[] f32 cpu");
        using var sd = Tensor.Scalar(1.0f);
        Fails<RankException>(() => Ops.FlowBitsPerDim(s, sd, 32, 1), "FlowBitsPerDim", "rank >= 1");
        using var a = F32(2, 3); using var ld = F32(2);
        Fails<InvalidArgumentException>(() => Ops.GaussianSample(a, a, 1, 0, double.NaN), "GaussianSample", "temperature", "NaN");
        Fails<InvalidArgumentException>(() => Ops.GaussianSample(a, a, 1, 0, double.PositiveInfinity, TemperatureMode.Sample), "GaussianSample", "temperature");
        Fails<InvalidArgumentException>(() => Ops.GaussianSample(a, a, 1, 0, 1, (TemperatureMode)7), "GaussianSample", "mode 7");
        Fails<InvalidArgumentException>(() => Ops.KlStdNormal(a, a, (GaussianReduction)9), "KlStdNormal", "reduction 9");
        Fails<InvalidArgumentException>(() => Ops.FlowBitsPerDim(a, ld, 0, 3), "FlowBitsPerDim", "nBins", "0");
        Fails<InvalidArgumentException>(() => Ops.FlowBitsPerDim(a, ld, 32, 0), "FlowBitsPerDim", "dims", "0");
        Fails<InvalidArgumentException>(() => Ops.Dequantize(a, -1, 1, 0), "Dequantize", "nBins", "-1");
        Fails<InvalidArgumentException>(() => Ops.KlNormalBackward(a, a, a, null, ld, GaussianReduction.SumPerSample), "KlNormalBackward", "both");
    }

    [Fact]
    public void BackendRejectsBuffersTheOpLayerWouldNeverPass()
    {
        using var scope = TensorScope.Begin();
        var be = Backends.Get(Device.Cpu);
        var a = F32(4, 3); var b = F32(4, 3); var y5 = F32(5); var yd = F64(4);
        var t = F32(3, 4).Transpose(0, 1);
        Fails<ShapeMismatchException>(() => { be.GaussianKl(a.Buf, b.Buf, null, null, y5.Buf, 1); return null; }, "GaussianKl", "[5]", "does not divide", "[4, 3]");
        Fails<DTypeMismatchException>(() => { be.GaussianNll(a.Buf, null, null, yd.Buf, 1, null, 0, 0); return null; }, "GaussianNll", "f64", "f32");
        Fails<UnsupportedOpException>(() => { be.GaussianSample(t.Buf, a.Buf, a.Buf, 1, 0, 1, 1); return null; }, "GaussianSample", "contiguous");
        Fails<ShapeMismatchException>(() => { be.GaussianKlBackward(a.Buf, b.Buf, null, null, y5.Buf, 1, a.Buf, null, null, null); return null; }, "GaussianKlBackward", "[5]");
    }
}
