// The shared flow test base (CONVENTIONS, tests 6): for every layer case of FlowLayerCases,
//   - inverse(forward(x)) == x and the two logdets cancel (f64 and f32, batch of 2);
//   - logdet equals log|det J| of the Jacobian computed by central differences in f64 on a tiny
//     input (N = 1, 16 to 32 dimensions);
//   - gradients of the layer's output and logdet w.r.t. the input, the conditioning and every
//     parameter match finite differences (f64), in both directions;
//   - the forward and inverse passes (values and gradients) on every device row match the CPU.
using Engine.Autograd;
using Engine.Models.Flow;
using Engine.Tests.Support;
using Engine.Tests.TensorCore;
using Xunit;

namespace Engine.Tests.Flow;

public class FlowLayerTests
{
    public static TheoryData<string> Cases => new(FlowLayerCases.Names);

    public static TheoryData<string, string> CasesByDType()
    {
        var r = new TheoryData<string, string>();
        foreach (var n in FlowLayerCases.Names) foreach (var d in new[] { "f64", "f32" }) r.Add(n, d);
        return r;
    }

    private static Tensor Input(string name, int[] shape, DType dt, Device dev, int salt = 0)
        => FlowLayerCases.Rand(TestData.Rng("input." + name, salt), shape, -1.5, 1.5, dt, dev);

    [Theory]
    [MemberData(nameof(CasesByDType))]
    public void InverseOfForwardIsIdentityAndLogdetsCancel(string name, string dtype)
    {
        var dt = dtype == "f64" ? DType.F64 : DType.F32;
        using var scope = TensorScope.Begin();
        using var ng = GradMode.NoGrad();
        var c = FlowLayerCases.Build(name, dt, Device.Cpu);
        var x = Input(name, c.Shape, dt, Device.Cpu);
        var (y, ld) = c.Forward(x, c.Cond);
        var (x2, ld2) = c.Inverse(y, c.Cond);
        Assert.Equal(c.Shape, x2.Shape);
        Assert.Equal([c.Shape[0]], ld.Shape);
        Assert.Equal([c.Shape[0]], ld2.Shape);
        // Split's 1e-6 in the encode division makes decode(encode(x)) differ from x by ~1e-6 relative
        double tol = c.Layer is Split ? 1e-4 : dt == DType.F64 ? 1e-10 : 1e-4;
        var a = x.ToDoubleArray(); var b = x2.Data.ToDoubleArray();
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - b[i]) <= tol * Math.Max(1, Math.Abs(a[i])), $"{name} [{dtype}]: x[{i}] = {a[i]:R}, inverse(forward(x)) = {b[i]:R}");
        var l1 = ld.Data.ToDoubleArray(); var l2 = ld2.Data.ToDoubleArray();
        for (int i = 0; i < l1.Length; i++)
            Assert.True(Math.Abs(l1[i] + l2[i]) <= tol * Math.Max(1, Math.Abs(l1[i])), $"{name} [{dtype}]: logdet forward {l1[i]:R} + inverse {l2[i]:R} != 0");
        // and the other way round: forward(inverse(y)) == y
        var (yx, _) = c.Inverse(y, c.Cond);
        var (y2, _) = c.Forward(yx, c.Cond);
        var ya = y.Data.ToDoubleArray(); var yb = y2.Data.ToDoubleArray();
        for (int i = 0; i < ya.Length; i++)
            Assert.True(Math.Abs(ya[i] - yb[i]) <= tol * Math.Max(1, Math.Abs(ya[i])), $"{name} [{dtype}]: y[{i}] = {ya[i]:R}, forward(inverse(y)) = {yb[i]:R}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LogdetEqualsLogAbsDetOfNumericJacobian(string name)
    {
        using var scope = TensorScope.Begin();
        using var ng = GradMode.NoGrad();
        var c = FlowLayerCases.Build(name, DType.F64, Device.Cpu);
        var x0 = Input(name, c.TinyShape, DType.F64, Device.Cpu, 1).ToArray<double>();
        int d = x0.Length;
        double[] Map(double[] xv)
        {
            using var s = TensorScope.Begin();
            return c.Forward(new Var(Tensor.FromArray(xv, c.TinyShape)), c.TinyCond).y.Data.ToDoubleArray();
        }
        Assert.Equal(d, Map(x0).Length);
        const double h = 1e-5;
        var jac = new double[d * d]; // jac[i, j] = d y_i / d x_j
        for (int j = 0; j < d; j++)
        {
            var xp = (double[])x0.Clone(); xp[j] += h;
            var xm = (double[])x0.Clone(); xm[j] -= h;
            var yp = Map(xp); var ym = Map(xm);
            for (int i = 0; i < d; i++) jac[i * d + j] = (yp[i] - ym[i]) / (2 * h);
        }
        double numeric = LogAbsDet(jac, d);
        double analytic = c.Forward(new Var(Tensor.FromArray(x0, c.TinyShape)), c.TinyCond).logdet.Data.ToDoubleArray()[0];
        Assert.True(Math.Abs(numeric - analytic) <= c.JacobianTol * Math.Max(1, Math.Abs(numeric)),
            $"{name} on {Fmt.Shape(c.TinyShape)}: logdet {analytic:R}, log|det J| by finite differences {numeric:R} (diff {Math.Abs(numeric - analytic):E2}, tol {c.JacobianTol:E1})");
        // the inverse's logdet is the log|det| of the inverse map
        var y0 = c.Forward(new Var(Tensor.FromArray(x0, c.TinyShape)), c.TinyCond).y.Data;
        double inv = c.Inverse(y0, c.TinyCond).logdet.Data.ToDoubleArray()[0];
        Assert.True(Math.Abs(numeric + inv) <= c.JacobianTol * Math.Max(1, Math.Abs(numeric)), $"{name}: inverse logdet {inv:R} vs -log|det J| {-numeric:R}");
    }

    /// <summary>log|det A| by LU with partial pivoting (A row-major n x n, copied).</summary>
    public static double LogAbsDet(double[] a, int n)
    {
        var m = (double[])a.Clone();
        double acc = 0;
        for (int k = 0; k < n; k++)
        {
            int p = k;
            for (int i = k + 1; i < n; i++) if (Math.Abs(m[i * n + k]) > Math.Abs(m[p * n + k])) p = i;
            if (p != k) for (int j = 0; j < n; j++) (m[k * n + j], m[p * n + j]) = (m[p * n + j], m[k * n + j]);
            double d = m[k * n + k];
            if (d == 0) return double.NegativeInfinity;
            acc += Math.Log(Math.Abs(d));
            for (int i = k + 1; i < n; i++)
            {
                double f = m[i * n + k] / d;
                for (int j = k; j < n; j++) m[i * n + j] -= f * m[k * n + j];
            }
        }
        return acc;
    }

    [Fact]
    public void LogAbsDetIsRight()
    {
        // det [[0, 2, 0], [3, 0, 0], [0, 0, -0.5]] = 3 (needs a pivot)
        Assert.Equal(Math.Log(3), LogAbsDet([0, 2, 0, 3, 0, 0, 0, 0, -0.5], 3), 12);
        Assert.Equal(double.NegativeInfinity, LogAbsDet([1, 2, 2, 4], 2));
    }

    // ------------------------------------------------------------------ gradients

    public static TheoryData<string, string> CasesByDirection()
    {
        var r = new TheoryData<string, string>();
        foreach (var n in FlowLayerCases.Names) foreach (var d in new[] { "forward", "inverse" }) r.Add(n, d);
        return r;
    }

    /// <summary>Backpropagates L = sum(wy * y) + sum(wl * logdet) and compares the gradient of every
    /// parameter element, input element and conditioning element with central differences of L.</summary>
    [Theory]
    [MemberData(nameof(CasesByDirection))]
    public void GradientsOfInputConditioningAndParametersMatchFiniteDifferences(string name, string direction)
    {
        using var scope = TensorScope.Begin();
        var c = FlowLayerCases.Build(name, DType.F64, Device.Cpu);
        bool fwd = direction == "forward";
        var x = new Var(Input(name, c.TinyShape, DType.F64, Device.Cpu, 2), requiresGrad: true);
        if (!fwd) x = new Var(c.Forward(x.Data, c.TinyCond).y.Data, requiresGrad: true); // a valid point of the inverse
        var cond = c.TinyCond == null ? null : new Var(c.TinyCond.Data, requiresGrad: true);
        var rng = TestData.Rng($"grad.{name}.{direction}");
        var (y0, ld0) = fwd ? c.Forward(x, cond) : c.Inverse(x, cond);
        var wy = new Var(FlowLayerCases.Rand(rng, y0.Shape, 0.5, 1.5, DType.F64, Device.Cpu));
        var wl = new Var(FlowLayerCases.Rand(rng, ld0.Shape, 0.5, 1.5, DType.F64, Device.Cpu));
        double Loss(bool backward)
        {
            using var s = TensorScope.Begin();
            var (y, ld) = fwd ? c.Forward(x, cond) : c.Inverse(x, cond);
            var loss = F.Add(F.Sum(F.Mul(y, wy)), F.Sum(F.Mul(ld, wl)));
            if (backward) loss.Backward(); // leaf gradients outlive the scope
            return loss.Item();
        }
        Loss(backward: true);
        var targets = c.Layer.Parameters().Select(p => (p.name, v: p.p)).Append(("input", x));
        if (cond != null) targets = targets.Append(("cond", cond));
        using var ng = GradMode.NoGrad();
        int checkedN = 0;
        foreach (var (pname, v) in targets)
        {
            var g = v.Grad?.ToDoubleArray() ?? new double[v.Numel];
            var data = v.Data;
            var vals = data.ToDoubleArray();
            for (int i = 0; i < vals.Length; i++)
            {
                const double h = 1e-6;
                double x0 = vals[i];
                SetElement(data, i, x0 + h); double lp = Loss(false);
                SetElement(data, i, x0 - h); double lm = Loss(false);
                SetElement(data, i, x0);
                double num = (lp - lm) / (2 * h);
                Assert.True(Math.Abs(num - g[i]) <= 1e-6 + 1e-5 * Math.Abs(num),
                    $"{name} {direction}: d L / d {pname}[{i}] analytic {g[i]:R}, numeric {num:R}");
                checkedN++;
            }
        }
        Assert.True(checkedN > 0);
    }

    private static void SetElement(Tensor t, int flat, double v)
    {
        var a = t.ToArray<double>();
        a[flat] = v;
        using var n = Tensor.FromArray(a, t.Shape);
        t.CopyFrom(n);
    }

    [Fact]
    public void DeadEntriesOfTheLuFactorsGetZeroGradient()
    {
        using var scope = TensorScope.Begin();
        var layer = new InvConv1x1LU(5, 3, DType.F64);
        FlowLayerCases.Randomize(layer, TestData.Rng());
        foreach (bool fwd in new[] { true, false })
        {
            var x = new Var(Input("dead", [2, 5, 3, 3], DType.F64, Device.Cpu));
            var (y, ld) = fwd ? layer.Forward(x) : layer.Inverse(x);
            F.Add(F.Sum(F.Mul(y, y)), F.Sum(ld)).Backward();
            var gl = layer.L.Grad!.ToArray<double>(); var gu = layer.U.Grad!.ToArray<double>();
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 5; j++)
                {
                    if (j >= i) Assert.True(gl[i * 5 + j] == 0, $"l[{i}, {j}] (dead) got gradient {gl[i * 5 + j]}");
                    else Assert.True(gl[i * 5 + j] != 0, $"l[{i}, {j}] (live) got no gradient");
                    if (j <= i) Assert.True(gu[i * 5 + j] == 0, $"u[{i}, {j}] (dead) got gradient {gu[i * 5 + j]}");
                    else Assert.True(gu[i * 5 + j] != 0, $"u[{i}, {j}] (live) got no gradient");
                }
            foreach (var (_, p) in layer.Parameters()) p.ZeroGrad();
        }
    }

    // ------------------------------------------------------------------ device rows

    public static TheoryData<string, string> DeviceRows()
    {
        var r = new TheoryData<string, string>();
        foreach (var d in TestDevices.Accelerators) foreach (var n in FlowLayerCases.Names) r.Add(d, n);
        return r;
    }

    [Theory]
    [MemberData(nameof(DeviceRows))]
    public void ForwardInverseAndGradientsMatchTheCpu(string device, string name)
    {
        var dev = TestDevices.Get(device);
        using var scope = TensorScope.Begin();
        var cpu = FlowLayerCases.Build(name, DType.F32, Device.Cpu);
        if (device == TestDevices.Emu && cpu.UsesConv)
            Assert.Skip($"{name} needs conv2d, which the CUDA backend runs on cuDNN; the host emulation has no cuDNN");
        var onDev = FlowLayerCases.Build(name, DType.F32, dev);
        var state = FlowLayers.State(cpu.Layer);
        FlowLayers.Load(onDev.Layer, state);
        foreach (var t in state.Values) t.Dispose();
        var results = new[] { (c: cpu, d: Device.Cpu), (c: onDev, d: dev) }.Select(cd =>
        {
            var c = cd.c;
            var x = new Var(Input(name, c.Shape, DType.F32, cd.d), requiresGrad: true);
            var cond = c.Cond == null ? null : new Var(c.Cond.Data, requiresGrad: true);
            var (y, ld) = c.Forward(x, cond);
            var (xi, ldi) = c.Inverse(y, cond);
            F.Add(F.Add(F.Sum(F.Mul(y, y)), F.Sum(ld)), F.Add(F.Sum(F.Mul(xi, xi)), F.Sum(ldi))).Backward();
            var outs = new List<(string, double[])> { ("y", y.Data.ToDoubleArray()), ("logdet", ld.Data.ToDoubleArray()), ("x", xi.Data.ToDoubleArray()), ("gx", x.Grad!.ToDoubleArray()) };
            if (cond != null) outs.Add(("gcond", cond.Grad!.ToDoubleArray()));
            foreach (var (pn, p) in c.Layer.Parameters()) { outs.Add(("g" + pn, p.Grad!.ToDoubleArray())); p.ZeroGrad(); }
            return outs;
        }).ToArray();
        for (int k = 0; k < results[0].Count; k++)
        {
            var (what, want) = results[0][k];
            var got = results[1][k].Item2;
            var m = GoldenOpTests.Compare(got, want, (1e-4, 1e-5, true));
            Assert.True(m == null, m == null ? "" : $"{name} on {device} {what}: {m.Value.Count} element(s) differ from the cpu, first at {m.Value.First}: {m.Value.Ours:R} vs {m.Value.Ref:R} (max abs {m.Value.MaxAbs:G3})");
        }
    }
}
