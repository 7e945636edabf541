// The fused flow ops (ActNorm, the affine coupling / injector epilogue, LU inverse):
//  - float64 finite-difference gradient checks of every differentiable output, alone and together
//    (the epilogue's two outputs share one backward node, so "y only" and "logdet only" exercise
//    the paths where one output receives no gradient);
//  - one body per device row (cpu, cuda, emu) that runs the fused forward and backward on the device
//    and compares them with (a) the CPU backend's fused result, by the parity tolerance, and (b) an
//    independent reference composed from primitive differentiable ops on the CPU in float64;
//  - the layout paths: an epilogue input that is a channel Narrow (strided samples), (1, C, 1, 1)
//    ActNorm parameters.
using Engine.Autograd;
using Engine.Tests.Autograd;
using Engine.Tests.Support;
using Engine.Tests.TensorCore;
using Xunit;

namespace Engine.Tests.Flow;

public class FlowOpsTests
{
    private const double Eps = 0.001; // DeFlow's affine eps (spec 3.6)

    // ------------------------------------------------------------------ composed references

    /// <summary>ActNorm from primitive ops: (x + b) e^l, or x e^-l - b; logdet = +-H W sum l.</summary>
    public static (Var y, Var logdet) ComposedActNorm(Var x, Var bias, Var logs, bool inverse)
    {
        int c = x.Size(1);
        var b4 = F.Reshape(bias, 1, c, 1, 1);
        var l4 = F.Reshape(logs, 1, c, 1, 1);
        var y = inverse ? F.Sub(F.Mul(x, F.Exp(F.Neg(l4))), b4) : F.Mul(F.Add(x, b4), F.Exp(l4));
        double hw = x.Size(2) * x.Size(3);
        var ld = F.Expand(F.Reshape(F.Mul(F.Sum(logs), inverse ? -hw : hw), 1), x.Size(0));
        return (y, ld);
    }

    /// <summary>The epilogue from primitive ops, exactly as DeFlow's Python: cross split, sigmoid(raw + 2) + eps.</summary>
    public static (Var y, Var logdet) ComposedEpilogue(Var x, Var h, double eps, bool inverse)
    {
        int c2 = h.Size(1);
        var shift = F.Slice(h, 1, 0, c2, 2);
        var raw = F.Slice(h, 1, 1, c2, 2);
        var scale = F.Add(F.Sigmoid(F.Add(raw, 2.0)), eps);
        var y = inverse ? F.Sub(F.Div(x, scale), shift) : F.Mul(F.Add(x, shift), scale);
        var ld = F.Sum(F.Log(scale), [1, 2, 3]);
        return (y, inverse ? F.Neg(ld) : ld);
    }

    private static Var Both(Var y, Var ld) => F.Concat([F.Reshape(y, y.Size(0), -1), F.Reshape(ld, ld.Size(0), 1)], 1);

    // ------------------------------------------------------------------ gradient checks

    private static readonly GradCaseTable Cases = BuildCases();
    public static TheoryData<string> CaseNames => Cases.Names();

    private static GradCaseTable BuildCases()
    {
        var t = new GradCaseTable();
        foreach (bool inv in new[] { false, true })
        {
            string a = inv ? "actnorm_inverse" : "actnorm";
            Func<Var[], (Var, Var)> an = v => inv ? F.ActNormInverse(v[0], v[1], v[2]) : F.ActNorm(v[0], v[1], v[2]);
            Func<System.Random, Tensor[]> anIn = r => [Grad.U(r, [2, 3, 2, 3], -2, 2), Grad.U(r, [3]), Grad.U(r, [1, 3, 1, 1], -0.7, 0.7)];
            t.Add($"{a}.y", v => an(v).Item1, anIn);
            t.Add($"{a}.logdet", v => an(v).Item2, anIn);
            t.Add($"{a}.both", v => { var (y, ld) = an(v); return Both(y, ld); }, anIn);

            string e = inv ? "epilogue_inverse" : "epilogue";
            Func<Var[], (Var, Var)> ep = v => inv ? F.AffineEpilogueInverse(v[0], v[1], Eps) : F.AffineEpilogue(v[0], v[1], Eps);
            // raw scales in [-4, 3]: scale spans (0.12, 0.99), so 1/scale stays moderate
            Func<System.Random, Tensor[]> epIn = r => [Grad.U(r, [2, 3, 2, 3], -2, 2), Grad.U(r, [2, 6, 2, 3], -4, 3)];
            t.Add($"{e}.y", v => ep(v).Item1, epIn);
            t.Add($"{e}.logdet", v => ep(v).Item2, epIn);
            t.Add($"{e}.both", v => { var (y, ld) = ep(v); return Both(y, ld); }, epIn);
            // x a channel Narrow of a (2, 5, 2, 3) tensor: samples 30 apart, each dense
            t.Add($"{e}.strided_x", v =>
            {
                var x = F.Narrow(v[0], 1, 2, 3);
                var (y, ld) = inv ? F.AffineEpilogueInverse(x, v[1], Eps) : F.AffineEpilogue(x, v[1], Eps);
                return Both(y, ld);
            }, r => [Grad.U(r, [2, 5, 2, 3], -2, 2), Grad.U(r, [2, 6, 2, 3], -4, 3)]);
            // only h differentiated (x is data), and eps = 0
            t.Add($"{e}.h_only_eps0", v =>
            {
                var (y, ld) = inv ? F.AffineEpilogueInverse(v[0], v[1], 0) : F.AffineEpilogue(v[0], v[1], 0);
                return Both(y, ld);
            }, epIn, new GradCheckOptions { SkipInputs = [0] });
        }
        t.Add("lu_inverse", v => F.LuInverse(TestPermutation(4), v[0], v[1]), r =>
        {
            var u = Grad.U(r, [4, 4]).ToArray<double>();
            for (int i = 0; i < 4; i++) u[i * 4 + i] = (r.Next(2) == 0 ? -1 : 1) * (1 + r.NextDouble());
            return [Grad.U(r, [4, 4]), Tensor.FromArray(u, [4, 4])];
        });
        return t;
    }

    /// <summary>A fixed permutation matrix: row i has its 1 in column (i + 1) mod c (a cyclic shift).</summary>
    public static Tensor TestPermutation(int c, DType dtype = DType.F64)
    {
        var m = new double[c * c];
        for (int i = 0; i < c; i++) m[i * c + (i + 1) % c] = 1;
        using var t = Tensor.FromArray(m, [c, c]);
        return t.To(dtype);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void GradientsMatchFiniteDifferences(string name) => Grad.Check("flow", name, Cases[name]);

    [Fact]
    public void TestPermutationIsAPermutation()
    {
        foreach (int c in new[] { 3, 4, 6 })
        {
            using var p = TestPermutation(c);
            var m = p.ToArray<double>();
            for (int i = 0; i < c; i++)
            {
                Assert.Equal(1.0, Enumerable.Range(0, c).Sum(j => m[i * c + j]));
                Assert.Equal(1.0, Enumerable.Range(0, c).Sum(j => m[j * c + i]));
            }
            Assert.False(Enumerable.Range(0, c).All(i => m[i * c + i] == 1), "identity is a weak test permutation");
        }
    }

    // ------------------------------------------------------------------ LU inverse

    [Fact]
    public void LuInverseInvertsPLU()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        const int c = 7;
        var l = TestData.Doubles(rng, c * c);
        var u = TestData.Doubles(rng, c * c);
        for (int i = 0; i < c; i++) u[i * c + i] = 1.5 + rng.NextDouble();
        var p = TestPermutation(c);
        var lt = Tensor.FromArray(l, [c, c]);
        var ut = Tensor.FromArray(u, [c, c]);
        // W = P (tril_-1(l) + I) triu(u), built by primitives
        var lEff = Ops.Add(Ops.Mul(lt, F.TriangleMask(c, false, DType.F64, Device.Cpu)), F.Identity(c, DType.F64, Device.Cpu));
        var uEff = Ops.Mul(ut, F.TriangleMask(c, true, DType.F64, Device.Cpu));
        var w = Ops.Matmul(p, Ops.Matmul(lEff, uEff));
        var inv = Ops.LuInverse(p, lt, ut);
        var prod = Ops.Matmul(w, inv).ToArray<double>();
        var prod2 = Ops.Matmul(inv, w).ToArray<double>();
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++)
            {
                Assert.True(Math.Abs(prod[i * c + j] - (i == j ? 1 : 0)) < 1e-12, $"W W^-1 [{i}, {j}] = {prod[i * c + j]}");
                Assert.True(Math.Abs(prod2[i * c + j] - (i == j ? 1 : 0)) < 1e-12, $"W^-1 W [{i}, {j}] = {prod2[i * c + j]}");
            }
        // f32 in, f32 out (computed in double on the host)
        var inv32 = Ops.LuInverse(p.To(DType.F32), lt.To(DType.F32), ut.To(DType.F32));
        Assert.Equal(DType.F32, inv32.DType);
        var a = inv.ToArray<double>(); var b = inv32.ToDoubleArray();
        for (int k = 0; k < a.Length; k++) Assert.True(Math.Abs(a[k] - b[k]) <= 1e-6 * Math.Max(1, Math.Abs(a[k])), $"f32 [{k}]: {b[k]} vs {a[k]}");
    }

    // ------------------------------------------------------------------ device rows

    public sealed record OpCase(string Op, int N, int C, int H, int W, bool Inverse)
    {
        public override string ToString() => $"{Op}{(Inverse ? "_inverse" : "")} x ({N}, {C}, {H}, {W})";
    }

    private static readonly OpCase[] DeviceCases =
    [
        new("actnorm", 2, 3, 5, 7, false), new("actnorm", 2, 3, 5, 7, true),
        new("actnorm", 3, 4, 40, 33, false), new("actnorm", 1, 2, 1, 1, true),
        new("epilogue", 2, 3, 5, 7, false), new("epilogue", 2, 3, 5, 7, true),
        new("epilogue", 3, 4, 40, 33, false), new("epilogue", 3, 4, 40, 33, true),
        new("epilogue", 1, 2, 1, 1, false),
    ];

    public static TheoryData<string, string> DeviceRows()
    {
        var r = new TheoryData<string, string>();
        foreach (var d in TestDevices.All) foreach (var dt in new[] { "f64", "f32" }) r.Add(d, dt);
        return r;
    }

    private sealed record Result(string Name, double[] Values);

    /// <summary>Forward + backward of one case with fixed upstream gradients; fused or composed.</summary>
    private static List<Result> Run(OpCase c, DType dt, Device dev, bool fused, int seedSalt)
    {
        var rng = TestData.Rng(c.ToString(), seedSalt);
        Tensor Make(int[] shape, double lo, double hi)
        {
            using var t = Tensor.FromArray(TestData.Doubles(rng, shape.Aggregate(1, (a, b) => a * b), lo, hi), shape);
            using var typed = t.To(dt);
            return typed.To(dev);
        }
        var res = new List<Result>();
        if (c.Op == "actnorm")
        {
            var x = new Var(Make([c.N, c.C, c.H, c.W], -2, 2), true);
            var b = new Var(Make([c.C], -1, 1), true);
            var l = new Var(Make([1, c.C, 1, 1], -0.7, 0.7), true);
            var gy = Make([c.N, c.C, c.H, c.W], -1, 1);
            var gl = Make([c.N], -1, 1);
            var (y, ld) = fused ? (c.Inverse ? F.ActNormInverse(x, b, l) : F.ActNorm(x, b, l)) : ComposedActNorm(x, b, l, c.Inverse);
            var loss = F.Add(F.Sum(F.Mul(y, new Var(gy))), F.Sum(F.Mul(ld, new Var(gl))));
            loss.Backward();
            res.Add(new("y", y.Data.ToDoubleArray())); res.Add(new("logdet", ld.Data.ToDoubleArray()));
            res.Add(new("gx", x.Grad!.ToDoubleArray())); res.Add(new("gbias", b.Grad!.ToDoubleArray())); res.Add(new("glogs", l.Grad!.ToDoubleArray()));
            foreach (var v in new[] { x, b, l }) v.ZeroGrad();
        }
        else
        {
            // x is a channel Narrow of a bigger tensor (strided samples), as the coupling's z2 is
            var big = new Var(Make([c.N, c.C + 2, c.H, c.W], -2, 2), true);
            var x = F.Narrow(big, 1, 1, c.C);
            var h = new Var(Make([c.N, 2 * c.C, c.H, c.W], -4, 3), true);
            var gy = Make([c.N, c.C, c.H, c.W], -1, 1);
            var gl = Make([c.N], -1, 1);
            var (y, ld) = fused ? (c.Inverse ? F.AffineEpilogueInverse(x, h, Eps) : F.AffineEpilogue(x, h, Eps)) : ComposedEpilogue(x, h, Eps, c.Inverse);
            var loss = F.Add(F.Sum(F.Mul(y, new Var(gy))), F.Sum(F.Mul(ld, new Var(gl))));
            loss.Backward();
            res.Add(new("y", y.Data.ToDoubleArray())); res.Add(new("logdet", ld.Data.ToDoubleArray()));
            res.Add(new("gx", big.Grad!.ToDoubleArray())); res.Add(new("gh", h.Grad!.ToDoubleArray()));
            big.ZeroGrad(); h.ZeroGrad();
        }
        return res;
    }

    private static void AssertClose(List<Result> ours, List<Result> reference, (double rtol, double atol, bool scaled) tol, string head)
    {
        Assert.Equal(reference.Count, ours.Count);
        for (int k = 0; k < ours.Count; k++)
        {
            var m = GoldenOpTests.Compare(ours[k].Values, reference[k].Values, tol);
            Assert.True(m == null, m == null ? "" :
                $"{head} {ours[k].Name}: {m.Value.Count} of {ours[k].Values.Length} element(s) differ, first at {m.Value.First}: ours {m.Value.Ours:R}, reference {m.Value.Ref:R}; " +
                $"max abs err {m.Value.MaxAbs:G3}, max rel err {m.Value.MaxRel:G3} (rtol {m.Value.Rtol:G3}, atol {m.Value.Atol:G3})");
        }
    }

    [Theory]
    [MemberData(nameof(DeviceRows))]
    public void FusedMatchesCpuAndComposedReference(string device, string dtype)
    {
        var dev = TestDevices.Get(device);
        var dt = dtype == "f64" ? DType.F64 : DType.F32;
        // composed reference in f64 on the CPU from the same (dt-rounded) inputs
        var refTol = dt == DType.F64 ? (1e-10, 1e-10, true) : (1e-4, 1e-5, true);
        foreach (var c in DeviceCases)
        {
            using var scope = TensorScope.Begin();
            string head = $"{c} [{dtype}] on {device}";
            var ours = Run(c, dt, dev, fused: true, 0);
            var composed = Run(c with { }, dt, Device.Cpu, fused: false, 0);
            AssertClose(ours, composed, refTol, head + " vs composed primitives");
            if (dev != Device.Cpu)
                AssertClose(ours, Run(c, dt, Device.Cpu, fused: true, 0), GoldenOpTests.Tolerance(dt, "parity"), head + " vs cpu backend");
        }
    }

    [Theory]
    [MemberData(nameof(DeviceRows))]
    public void EpilogueBackwardWithOnlyOneUpstreamGradient(string device, string dtype)
    {
        // The backend op called directly: gy only (gld null), gld only (gy null, gx null).
        var dev = TestDevices.Get(device);
        var dt = dtype == "f64" ? DType.F64 : DType.F32;
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        Tensor M(int[] s, double lo, double hi) => Tensor.FromArray(TestData.Doubles(rng, s.Aggregate(1, (a, b) => a * b), lo, hi), s).To(dt).To(dev);
        var x = M([2, 3, 4, 5], -2, 2); var h = M([2, 6, 4, 5], -4, 3); var gy = M([2, 3, 4, 5], -1, 1); var gl = M([2], -1, 1);
        foreach (bool inv in new[] { false, true })
        {
            var (gx1, gh1) = Ops.AffineEpilogueBackward(x, h, gy, null, Eps, inv);
            var (gx2, gh2) = Ops.AffineEpilogueBackward(x, h, null, gl, Eps, inv);
            var (gx3, gh3) = Ops.AffineEpilogueBackward(x, h, gy, gl, Eps, inv);
            Assert.NotNull(gx1); Assert.Null(gx2); Assert.NotNull(gx3);
            // linear in the upstream gradients: gh(gy, gl) = gh(gy, 0) + gh(0, gl)
            var sum = Ops.Add(gh1, gh2).ToDoubleArray();
            var m = GoldenOpTests.Compare(gh3.ToDoubleArray(), sum, GoldenOpTests.Tolerance(dt, "parity"));
            Assert.True(m == null, $"inverse={inv} on {device} [{dtype}]: gh not additive, first at {m?.First}: {m?.Ours} vs {m?.Ref}");
            Assert.Equal(gx1!.ToDoubleArray(), gx3!.ToDoubleArray());
            // gl only: the shift gradient is exactly 0
            var g2 = gh2.ToDoubleArray();
            for (int i = 0; i < 2; i++) for (int ch = 0; ch < 3; ch++) for (int k = 0; k < 20; k++)
                Assert.Equal(0.0, g2[(i * 6 + 2 * ch) * 20 + k]);
        }
    }
}
