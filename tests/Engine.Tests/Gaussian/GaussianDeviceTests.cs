// The fused Gaussian ops on every device row (cpu, cuda, emu = the CUDA kernels of gaussian.cu under
// the host emulation), forward and the fused backward through autograd, f64 and f32. Each case is
// checked two ways: against the same math composed from primitive autograd ops, evaluated in f64 on
// the CPU (with eps / u drawn by Tensor.Normal / Tensor.Uniform in the case's dtype), and, on the
// accelerator rows, against the CPU backend's fused result by the one parity tolerance table
// (GoldenOpTests.Tolerance "parity"; dequantization is "exact"). Shapes cover a single element, odd
// sizes (partial Philox blocks), groups spanning several GPU summation chunks (8192 elements) and
// more groups than the emulated grid has blocks; offsets include counter carries. A failure names
// the op, case, dtype, output and device, the first mismatching index with both values and the max
// abs/rel error.
using Engine.Autograd;
using Engine.Tests.Support;
using Engine.Tests.TensorCore;
using Xunit;

namespace Engine.Tests.Gaussian;

public class GaussianDeviceTests
{
    private static readonly string[] OpNames = ["sample", "kl", "kl_std", "nll", "nll_std", "bpd", "dequantize"];

    public static TheoryData<string, string, string> Rows()
    {
        var r = new TheoryData<string, string, string>();
        foreach (var device in TestDevices.All)
            foreach (var op in OpNames)
                foreach (var dt in new[] { "f64", "f32" }) r.Add(device, op, dt);
        return r;
    }

    /// <summary>One case: the fused function, its primitive composition (eps / u given as the last input),
    /// input generators and whether outputs must match the CPU bitwise.</summary>
    private sealed record Case(string Name, int[][] Shapes, (double lo, double hi)[] Ranges, Func<Var[], Var> Fused,
        Func<Var[], Tensor?, Var> Composed, Func<DType, Tensor?>? Noise = null, bool Exact = false, bool[]? NoGrad = null);

    private static readonly int[][] Shapes = [[1], [7], [3, 5, 67], [2, 20000], [300, 3]];
    private static readonly GaussianReduction[] Reductions = Enum.GetValues<GaussianReduction>();
    private static readonly (double, double) M = (-1.5, 1.5), L = (-1, 0.8);

    private static IEnumerable<Case> Cases(string op)
    {
        foreach (var s in Shapes)
        {
            string sh = "[" + string.Join(", ", s) + "]";
            switch (op)
            {
                case "sample":
                    foreach (var (seed, offset, temp, mode) in new[] { (0x5eedUL, 0UL, 1.0, TemperatureMode.Noise), (77UL, (1UL << 32) - 3, 0.6, TemperatureMode.Sample),
                        (0xffff_ffff_ffff_ffffUL, ulong.MaxValue - 2, 1.7, TemperatureMode.Noise) })
                    {
                        int[] shape = s;
                        yield return new Case($"{sh} seed 0x{seed:x} offset {offset} T {temp} {mode}", [s, s], [M, L],
                            v => F.GaussianSample(v[0], v[1], seed, offset, temp, mode),
                            (v, eps) =>
                            {
                                var noise = F.Exp(v[1]) * new Var(Ops.Mul(eps!, temp));
                                return (mode == TemperatureMode.Noise ? v[0] : v[0] * temp) + noise;
                            },
                            dt => Normal64(shape, seed, offset, dt));
                    }
                    break;
                case "kl":
                    foreach (var r in Reductions)
                        yield return new Case($"{sh} {r}", [s, s, s, s], [M, L, M, L], v => F.KlNormal(v[0], v[1], v[2], v[3], r),
                            (v, _) => Reduce(-0.5 + v[3] - v[1] + (F.Exp(v[1] * 2.0) + F.Square(v[0] - v[2])) / (F.Exp(v[3] * 2.0) * 2.0), r));
                    yield return new Case($"{sh} fixed prior", [s, s, s, s], [M, L, M, L], v => F.KlNormal(v[0], v[1], v[2], v[3], GaussianReduction.SumPerSample),
                        (v, _) => Reduce(-0.5 + v[3] - v[1] + (F.Exp(v[1] * 2.0) + F.Square(v[0] - v[2])) / (F.Exp(v[3] * 2.0) * 2.0), GaussianReduction.SumPerSample),
                        NoGrad: [false, false, true, true]);
                    break;
                case "kl_std":
                    foreach (var r in Reductions)
                        yield return new Case($"{sh} {r}", [s, s], [M, L], v => F.KlStdNormal(v[0], v[1], r),
                            (v, _) => Reduce((F.Exp(v[1] * 2.0) + F.Square(v[0]) - 1.0) * 0.5 - v[1], r));
                    break;
                case "nll":
                    foreach (var r in Reductions)
                        yield return new Case($"{sh} {r}", [s, s, s], [M, M, L], v => F.GaussianNll(v[0], v[1], v[2], r),
                            (v, _) => Reduce(v[2] + F.Square(v[0] - v[1]) / (F.Exp(v[2] * 2.0) * 2.0) + HalfLog2Pi, r));
                    break;
                case "nll_std":
                    foreach (var r in Reductions)
                        yield return new Case($"{sh} {r}", [s], [M], v => F.GaussianNll(v[0], null, null, r),
                            (v, _) => Reduce(F.Square(v[0]) * 0.5 + HalfLog2Pi, r));
                    yield return new Case($"{sh} mean only", [s, s], [M, M], v => F.GaussianNll(v[0], v[1], null, GaussianReduction.Sum),
                        (v, _) => Reduce(F.Square(v[0] - v[1]) * 0.5 + HalfLog2Pi, GaussianReduction.Sum));
                    break;
                case "bpd":
                {
                    int[] b = [s[0]];
                    long dims = Math.Max(1, s.Skip(1).Aggregate(1L, (p, d) => p * d) / 3);
                    yield return new Case($"{sh} N(0, I) 32 bins dims {dims}", [s, b], [M, (-50, 50)], v => F.FlowBitsPerDim(v[0], v[1], 32, dims),
                        (v, _) => Bits(Reduce(F.Square(v[0]) * 0.5 + HalfLog2Pi, GaussianReduction.SumPerSample), v[1], 32, dims));
                    yield return new Case($"{sh} N(mu, sigma) 256 bins dims {dims}", [s, b, s, s], [M, (-50, 50), M, L], v => F.FlowBitsPerDim(v[0], v[1], 256, dims, v[2], v[3]),
                        (v, _) => Bits(Reduce(v[3] + F.Square(v[0] - v[2]) / (F.Exp(v[3] * 2.0) * 2.0) + HalfLog2Pi, GaussianReduction.SumPerSample), v[1], 256, dims));
                    break;
                }
                case "dequantize":
                    foreach (var (seed, offset, bins, centered) in new[] { (31UL, 7UL, 32.0, true), (9UL, (1UL << 32) - 1, 256.0, false), (5UL, 3UL, 100.0, true) })
                    {
                        int[] shape = s;
                        yield return new Case($"{sh} seed {seed} offset {offset} {bins} bins{(centered ? " centered" : "")}", [s], [(0, 1)],
                            v => F.Dequantize(v[0], bins, seed, offset, centered),
                            (v, u) => v[0] + new Var(Ops.Div(Ops.Sub(u!, centered ? 0.5 : 0.0), bins)),
                            dt => Uniform64(shape, seed, offset, dt), Exact: true);
                    }
                    break;
            }
        }
    }

    private static readonly double HalfLog2Pi = 0.5 * Math.Log(2 * Math.PI);

    private static Var Reduce(Var v, GaussianReduction r) => r switch
    {
        GaussianReduction.None => v,
        // rank 1: one element per sample, nothing to reduce (F.Sum with no axes would reduce all)
        GaussianReduction.SumPerSample or GaussianReduction.MeanPerSample when v.Rank == 1 => v,
        GaussianReduction.SumPerSample => F.Sum(v, Enumerable.Range(1, v.Rank - 1).ToArray()),
        GaussianReduction.MeanPerSample => F.Mean(v, Enumerable.Range(1, v.Rank - 1).ToArray()),
        GaussianReduction.Sum => F.Sum(v),
        _ => F.Mean(v),
    };

    /// <summary>(sum nll - logdet + dims ln bins) / (dims ln 2): DeFlow's -(log p + logdet - dims ln bins) / (dims ln 2).</summary>
    private static Var Bits(Var nllSum, Var logdet, double bins, long dims) => (nllSum - logdet + dims * Math.Log(bins)) / (dims * Math.Log(2));

    private static Tensor Normal64(int[] shape, ulong seed, ulong offset, DType dt)
    {
        using var t = Tensor.Normal(shape, seed, offset, 0, 1, dt);
        return t.To(DType.F64);
    }

    private static Tensor Uniform64(int[] shape, ulong seed, ulong offset, DType dt)
    {
        using var t = Tensor.Uniform(shape, seed, offset, 0, 1, dt);
        return t.To(DType.F64);
    }

    // ------------------------------------------------------------------ the test body

    private sealed record Result(string Name, double[] Values);

    [Theory]
    [MemberData(nameof(Rows))]
    public void MatchesCompositionAndCpu(string device, string op, string dtype)
    {
        var dev = TestDevices.Get(device);
        var dt = dtype == "f64" ? DType.F64 : DType.F32;
        int n = 0;
        foreach (var c in Cases(op))
        {
            n++;
            using var scope = TensorScope.Begin();
            var rng = TestData.Rng($"{nameof(GaussianDeviceTests)}.{op}.{c.Name}");
            // f32-representable inputs, so every dtype and device sees the same values
            var inputs = c.Shapes.Select((s, k) => Array.ConvertAll(TestData.Doubles(rng, s.Aggregate(1, (p, d) => p * d), c.Ranges[k].lo, c.Ranges[k].hi), v => (double)(float)v)).ToArray();
            var yShape = Forward(c, inputs, DType.F64, Device.Cpu).Y.Shape;
            var gy = Array.ConvertAll(TestData.Doubles(rng, yShape.Aggregate(1, (p, d) => p * d), 0.5, 1.5), v => (double)(float)v);

            var ours = Evaluate(c, inputs, gy, dt, dev, fused: true);
            var reference = Evaluate(c, inputs, gy, dt, Device.Cpu, fused: false);
            var cpu = dev == Device.Cpu ? null : Evaluate(c, inputs, gy, dt, Device.Cpu, fused: true);
            Assert.Equal(reference.Count, ours.Count);
            for (int k = 0; k < ours.Count; k++)
            {
                string head = $"{op} {c.Name} [{dtype}] {ours[k].Name} on {device}";
                var refTol = dt == DType.F64 ? (1e-10, 1e-10, true) : (1e-4, 2e-5, true);
                var m = GoldenOpTests.Compare(ours[k].Values, reference[k].Values, refTol);
                Assert.True(m == null, m == null ? "" : $"{head}: vs the primitive composition in f64: {Describe(m.Value, "composition")}");
                if (cpu == null) continue;
                var p = GoldenOpTests.Compare(ours[k].Values, cpu[k].Values, GoldenOpTests.Tolerance(dt, c.Exact ? "exact" : "parity"));
                Assert.True(p == null, p == null ? "" : $"{head}: parity with cpu: {Describe(p.Value, "cpu")}");
            }
        }
        Assert.True(n > 0, $"no cases for {op}");
    }

    private static string Describe(GoldenOpTests.Mismatch m, string reference) =>
        m.First < 0 ? $"length {m.Ours} vs {reference} {m.Ref}"
        : $"{m.Count} element(s) differ (rtol {m.Rtol:G3}, atol {m.Atol:G3}), first at flat index {m.First}: ours {m.Ours:R}, {reference} {m.Ref:R}; " +
          $"max abs err {m.MaxAbs:G3}, max rel err {m.MaxRel:G3}";

    private static (Var Y, Var[] Inputs) Forward(Case c, double[][] inputs, DType dt, Device dev)
    {
        var vars = inputs.Select((v, k) =>
        {
            using var t64 = Tensor.FromArray(v, c.Shapes[k]);
            using var t = t64.To(dt);
            return new Var(t.To(dev), requiresGrad: !(c.NoGrad?[k] ?? false));
        }).ToArray();
        return (c.Fused(vars), vars);
    }

    /// <summary>Output and input gradients (for the upstream gy), as f64 host arrays. fused: the fused op in dtype dt
    /// on dev; else the primitive composition in f64 on the CPU, with the case's noise drawn in dtype dt.</summary>
    private static List<Result> Evaluate(Case c, double[][] inputs, double[] gy, DType dt, Device dev, bool fused)
    {
        Var y; Var[] vars;
        if (fused) (y, vars) = Forward(c, inputs, dt, dev);
        else
        {
            // the composition sees the inputs rounded to dt, computes in f64
            vars = inputs.Select((v, k) =>
            {
                using var t64 = Tensor.FromArray(v, c.Shapes[k]);
                using var t = t64.To(dt);
                return new Var(t.To(DType.F64), requiresGrad: !(c.NoGrad?[k] ?? false));
            }).ToArray();
            y = c.Composed(vars, c.Noise?.Invoke(dt));
        }
        var r = new List<Result> { new("value", Host(y.Data)) };
        var yShape = y.Shape;
        using var g64 = Tensor.FromArray(gy, yShape);
        using var g = g64.To(y.DType);
        using var gd = g.To(y.Device);
        y.Backward(gd);
        for (int k = 0; k < vars.Length; k++)
        {
            if (c.NoGrad?[k] ?? false) { Assert.Null(vars[k].Grad); continue; }
            Assert.True(vars[k].Grad != null, $"{c.Name}: input {k} got no gradient");
            Assert.True(vars[k].Grad!.Device == (fused ? dev : Device.Cpu), $"{c.Name}: gradient {k} on {vars[k].Grad!.Device}");
            r.Add(new($"grad of input {k}", Host(vars[k].Grad!)));
            vars[k].ZeroGrad();
        }
        return r;
    }

    private static double[] Host(Tensor t)
    {
        using var c = t.To(Device.Cpu);
        return c.ToDoubleArray();
    }

    [Theory]
    [MemberData(nameof(DrawRows))]
    public void SampleEpsIsTheCpuNormalDraw(string device, ulong seed, ulong offset, int n)
    {
        var dev = TestDevices.Get(device);
        using var scope = TensorScope.Begin();
        foreach (var dt in new[] { DType.F32, DType.F64 })
        {
            var cpu = Tensor.Normal([n], seed, offset, 0, 1, dt).ToDoubleArray();
            using var zero = Tensor.Zeros([n], dt, dev);
            var eps = Host(Ops.GaussianSample(zero, zero, seed, offset));
            double tol = dt == DType.F32 ? 1e-5 : 1e-12; // PhiloxTests' normal tolerance
            for (int i = 0; i < n; i++)
                Assert.True(Math.Abs(eps[i] - cpu[i]) <= tol,
                    $"sample eps {dt.Name()} seed 0x{seed:x} offset {offset} n {n} on {device}: first mismatch at {i}: {device} {eps[i]:R}, cpu normal {cpu[i]:R} (tolerance {tol} abs)");
        }
    }

    /// <summary>The emulator finds kernels in preprocessed code, the GPU's kernel library by scanning the source
    /// for `extern "C" __global__ void name(`: every kernel of gaussian.cu must be visible to both, or the emu
    /// rows pass while a real GPU cannot launch it.</summary>
    [Fact]
    public void EveryGaussianKernelIsIndexedForTheGpu()
    {
        var emulated = TestDevices.EmuRuntime.Kernels().Where(k => k.StartsWith("gauss_", StringComparison.Ordinal)).Order().ToArray();
        var indexed = Engine.Cuda.KernelLibrary.KernelFiles.Where(kv => kv.Value == "gaussian.cu").Select(kv => kv.Key).Order().ToArray();
        Assert.Equal(20, indexed.Length);
        Assert.Equal(indexed, emulated);
    }

    public static TheoryData<string, ulong, ulong, int> DrawRows()
    {
        var r = new TheoryData<string, ulong, ulong, int>();
        foreach (var row in TestDevices.Accelerators)
            foreach (var (seed, offset, n) in new[] { (0UL, 0UL, 1), (42UL, 5UL, 7), (9UL, (1UL << 32) - 3, 37), (2024UL, 123_456_789_012UL, 10_003) })
                r.Add(row, seed, offset, n);
        return r;
    }
}
