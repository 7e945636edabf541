// The spatial golden cases (Golden/spatial.json, PyTorch) through Engine.Ops on every device row:
// pooling, resampling, padding and the index ops, forward and the backward ops their autograd rules
// use. SpatialKernelTests checks the CPU kernels directly; this runs the same cases through the
// backend seam, so the accelerator rows (real GPU, host emulation) are checked against the golden
// values and, with GoldenOpTests' parity tolerance, against the CPU backend's results.
using Engine.Tests.Support;
using Engine.Tests.TensorCore;
using Xunit;
using static Engine.Tests.Kernels.SpatialGolden;

namespace Engine.Tests.Kernels;

public class SpatialOpsDeviceTests
{
    private static readonly string[] SpatialOps = ["maxpool", "avgpool", "nearest", "bilinear", "pad", "gather", "scatter_add", "index_select", "index_add"];

    public static TheoryData<string, string, string> Rows()
    {
        var r = new TheoryData<string, string, string>();
        foreach (var device in TestDevices.All)
            foreach (var op in SpatialOps)
                foreach (var dt in new[] { "f64", "f32" }) r.Add(device, op, dt);
        return r;
    }

    /// <summary>One named output of a case: the tensor, its golden values, and whether the CPU
    /// and the device must agree exactly (copies, argmax) or within the parity tolerance.</summary>
    private readonly record struct Output(string Name, Tensor Y, double[]? Golden, int[]? GoldenInt, bool Exact);

    [Theory]
    [MemberData(nameof(Rows))]
    public void MatchesTorchAndCpu(string device, string op, string dtype)
    {
        var dev = TestDevices.Get(device);
        var dt = dtype == "f64" ? DType.F64 : DType.F32;
        var cases = Cases(op).ToArray();
        Assert.NotEmpty(cases);
        foreach (var c in cases)
        {
            using var scope = TensorScope.Begin();
            var outs = Run(c, dt, dev);
            var cpu = dev == Device.Cpu ? null : Run(c, dt, Device.Cpu);
            for (int k = 0; k < outs.Count; k++)
            {
                var o = outs[k];
                string head = $"{c} {Params(c)} [{dtype}] {o.Name} on {device}";
                Assert.True(o.Y.Device == dev, $"{head}: result on {o.Y.Device}");
                var y = o.Y.To(Device.Cpu);
                if (o.GoldenInt != null)
                {
                    var got = y.ToArray<int>();
                    Assert.True(o.GoldenInt.SequenceEqual(got), $"{head}: [{string.Join(", ", got)}], torch [{string.Join(", ", o.GoldenInt)}]");
                    if (cpu != null) Assert.True(cpu[k].Y.ToArray<int>().SequenceEqual(got), $"{head}: differs from the cpu backend");
                    continue;
                }
                var vals = y.ToDoubleArray();
                Close(o.Golden!, vals, dt, head);
                if (cpu != null)
                {
                    var m = GoldenOpTests.Compare(vals, cpu[k].Y.ToDoubleArray(), GoldenOpTests.Tolerance(dt, o.Exact ? "exact" : "parity"));
                    Assert.True(m == null, m == null ? "" : $"{head}: parity with cpu: {m.Value.Count} element(s) differ, first at {m.Value.First}: " +
                        $"{device} {m.Value.Ours:R}, cpu {m.Value.Ref:R} (rtol {m.Value.Rtol:G3}, atol {m.Value.Atol:G3})");
                }
            }
        }
    }

    private static string Params(GoldenCase c) => c.Op switch
    {
        "maxpool" => $"shape [{string.Join(", ", c.I("shape"))}] k [{string.Join(", ", c.I("k"))}] s [{string.Join(", ", c.I("s"))}] p [{string.Join(", ", c.I("p"))}] d [{string.Join(", ", c.I("d"))}]",
        "avgpool" => $"shape [{string.Join(", ", c.I("shape"))}] k [{string.Join(", ", c.I("k"))}] s [{string.Join(", ", c.I("s"))}] p [{string.Join(", ", c.I("p"))}] cip {c.Bool("cip")}",
        "pad" => $"shape [{string.Join(", ", c.I("shape"))}] pads [{string.Join(", ", c.I("pads"))}] mode {c.Str("mode")}",
        "nearest" or "bilinear" => $"shape [{string.Join(", ", c.I("shape"))}] -> [{string.Join(", ", c.I("oshape"))}]",
        _ => $"shape [{string.Join(", ", c.I("shape"))}] dim {c.Int("dim")}",
    };

    /// <summary>SpatialGolden's tolerance: 1e-10 (f64) or 1e-5 (f32), relative above magnitude 1.</summary>
    private static void Close(double[] expected, double[] actual, DType dt, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, torch {expected.Length}");
        double tol = dt == DType.F64 ? Tol<double>() : Tol<float>();
        for (int i = 0; i < expected.Length; i++)
        {
            double a = actual[i], e = expected[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (double.IsInfinity(e) && a == e) continue;
            Assert.True(Math.Abs(a - e) <= tol * Math.Max(1.0, Math.Abs(e)), $"{what}[{i}]: got {a:R}, torch {e:R} (tol {tol})");
        }
    }

    private static Tensor In(double[] v, int[] shape, DType dt, Device dev)
    {
        using var t = dt == DType.F64 ? Tensor.FromArray(v, shape) : Tensor.FromArray(Array.ConvertAll(v, x => (float)x), shape);
        return t.To(dev);
    }

    private static Tensor Idx(int[] v, int[] shape, Device dev)
    {
        using var t = Tensor.FromArray(v, shape);
        return t.To(dev);
    }

    private static List<Output> Run(GoldenCase c, DType dt, Device dev)
    {
        var r = new List<Output>();
        int[] s = c.I("shape");
        switch (c.Op)
        {
            case "maxpool":
            {
                int[] k = c.I("k"), st = c.I("s"), p = c.I("p"), d = c.I("d"), os = c.I("oshape");
                var (y, am) = Ops.MaxPool2dWithIndices(In(c.D("x"), s, dt, dev), new Pool2dParams(k[0], k[1], st[0], st[1], p[0], p[1], d[0], d[1]));
                r.Add(new("y", y, c.D("y"), null, true));
                r.Add(new("argmax", am, null, c.I("argmax"), true));
                r.Add(new("gx", Ops.MaxPool2dBackward(In(c.D("gy"), os, dt, dev), am, s), c.D("gx"), null, false));
                break;
            }
            case "avgpool":
            {
                int[] k = c.I("k"), st = c.I("s"), p = c.I("p"), os = c.I("oshape");
                var pp = new Pool2dParams(k[0], k[1], st[0], st[1], p[0], p[1], CountIncludePad: c.Bool("cip"));
                r.Add(new("y", Ops.AvgPool2d(In(c.D("x"), s, dt, dev), pp), c.D("y"), null, false));
                r.Add(new("gx", Ops.AvgPool2dBackward(In(c.D("gy"), os, dt, dev), s, pp), c.D("gx"), null, false));
                break;
            }
            case "nearest":
            case "bilinear":
            {
                int[] os = c.I("oshape");
                var x = In(c.D("x"), s, dt, dev);
                var gy = In(c.D("gy"), os, dt, dev);
                if (c.Op == "nearest")
                {
                    r.Add(new("y", Ops.UpsampleNearest(x, os[2], os[3]), c.D("y"), null, true));
                    r.Add(new("gx", Ops.UpsampleNearestBackward(gy, s), c.D("gx"), null, false));
                }
                else
                {
                    bool ac = c.Bool("ac");
                    r.Add(new("y", Ops.UpsampleBilinear(x, os[2], os[3], ac), c.D("y"), null, false));
                    r.Add(new("gx", Ops.UpsampleBilinearBackward(gy, s, ac), c.D("gx"), null, false));
                }
                break;
            }
            case "pad":
            {
                int[] pads = c.I("pads"), os = c.I("oshape");
                var mode = c.Str("mode") switch { "reflect" => PadMode.Reflect, "replicate" => PadMode.Replicate, _ => PadMode.Zero };
                r.Add(new("y", Ops.Pad2d(In(c.D("x"), s, dt, dev), pads[0], pads[1], pads[2], pads[3], mode, c.Num("value")), c.D("y"), null, true));
                r.Add(new("gx", Ops.Pad2dBackward(In(c.D("gy"), os, dt, dev), s, pads[0], pads[1], pads[2], pads[3], mode), c.D("gx"), null, mode == PadMode.Zero));
                break;
            }
            case "gather":
            {
                int dim = c.Int("dim");
                int[] ish = c.I("ishape");
                var idx = Idx(c.I("idx"), ish, dev);
                r.Add(new("y", Ops.Gather(In(c.D("x"), s, dt, dev), dim, idx), c.D("y"), null, true));
                r.Add(new("gx", Ops.ScatterAdd(Tensor.Zeros(s, dt, dev), dim, idx, In(c.D("gy"), ish, dt, dev)), c.D("gx"), null, false));
                break;
            }
            case "scatter_add":
            {
                int dim = c.Int("dim");
                int[] ish = c.I("ishape");
                var idx = Idx(c.I("idx"), ish, dev);
                r.Add(new("y", Ops.ScatterAdd(In(c.D("x"), s, dt, dev), dim, idx, In(c.D("src"), ish, dt, dev)), c.D("y"), null, false));
                r.Add(new("gsrc", Ops.Gather(In(c.D("gy"), s, dt, dev), dim, idx), c.D("gsrc"), null, true));
                break;
            }
            case "index_select":
            {
                int dim = c.Int("dim");
                int[] idxv = c.I("idx"), os = c.I("oshape");
                var idx = Idx(idxv, [idxv.Length], dev);
                r.Add(new("y", Ops.IndexSelect(In(c.D("x"), s, dt, dev), dim, idx), c.D("y"), null, true));
                r.Add(new("gx", Ops.IndexAdd(Tensor.Zeros(s, dt, dev), dim, idx, In(c.D("gy"), os, dt, dev)), c.D("gx"), null, false));
                break;
            }
            case "index_add":
            {
                int dim = c.Int("dim");
                int[] idxv = c.I("idx");
                var idx = Idx(idxv, [idxv.Length], dev);
                var ss = (int[])s.Clone(); ss[dim] = idxv.Length;
                r.Add(new("y", Ops.IndexAdd(In(c.D("x"), s, dt, dev), dim, idx, In(c.D("src"), ss, dt, dev)), c.D("y"), null, false));
                r.Add(new("gsrc", Ops.IndexSelect(In(c.D("gy"), s, dt, dev), dim, idx), c.D("gsrc"), null, true));
                break;
            }
            default: throw new InvalidOperationException($"no device runner for spatial op '{c.Op}'");
        }
        return r;
    }
}
