// Behaviour of the backward engine (src/Autograd/BackwardEngine.cs, Node.cs, Var.cs) with exact
// expected gradients: accumulation over several uses of one Var, diamond graphs, un-broadcasting,
// leaf accumulation across Backward calls until ZeroGrad, NoGrad, Detach, typed errors for a
// non-scalar root or a rule whose gradient does not fit its input, and that GradCheck itself
// rejects a deliberately wrong backward rule built with the public F.Record.
using Engine.Autograd;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Autograd;

public class BackwardEngineTests
{
    private static Var Leaf(double[] data, int[] shape, bool grad = true) => new(Tensor.FromArray(data, shape), requiresGrad: grad);

    private static void Near(double[] expected, Tensor? actual, double tol = 1e-12)
    {
        Assert.NotNull(actual);
        var a = actual.ToArray<double>();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tol * Math.Max(1, Math.Abs(expected[i])), $"element {i}: expected {expected[i]:R}, got {a[i]:R}");
    }

    private static double[] Map(double[] x, Func<double, double> f) => x.Select(f).ToArray();

    [Fact]
    public void VarUsedTwiceAccumulates()
    {
        using var scope = TensorScope.Begin();
        var d = TestData.Doubles(TestData.Rng(), 6);
        var x = Leaf(d, [2, 3]);
        F.Sum(F.Mul(x, x)).Backward();
        Near(Map(d, v => 2 * v), x.Grad);

        x.ZeroGrad();
        F.Sum(F.Add(x, x)).Backward();
        Near(Map(d, _ => 2.0), x.Grad);

        // Three uses through different ops: d/dx (x*x + 3x - exp(x)) = 2x + 3 - exp(x).
        x.ZeroGrad();
        F.Sum(F.Sub(F.Add(F.Mul(x, x), F.Mul(x, 3.0)), F.Exp(x))).Backward();
        Near(Map(d, v => 2 * v + 3 - Math.Exp(v)), x.Grad);
    }

    [Fact]
    public void DiamondGraph()
    {
        using var scope = TensorScope.Begin();
        var d = TestData.Doubles(TestData.Rng(), 5, -1, 1);
        var x = Leaf(d, [5]);
        // z feeds two branches that meet again: y = sum(sin(z) * z^2) with z = 2x.
        var z = F.Mul(x, 2.0);
        var y = F.Sum(F.Mul(F.Sin(z), F.Square(z)));
        y.Backward();
        Near(Map(d, v => 2 * (Math.Cos(2 * v) * 4 * v * v + Math.Sin(2 * v) * 4 * v)), x.Grad, 1e-10);

        // Two nested diamonds sharing x: a = x + 1, b = a * a, c = a * b (= a^3), y = sum(b + c).
        x.ZeroGrad();
        var a = F.Add(x, 1.0);
        var b = F.Mul(a, a);
        var c = F.Mul(a, b);
        F.Sum(F.Add(b, c)).Backward();
        Near(Map(d, v => 2 * (v + 1) + 3 * (v + 1) * (v + 1)), x.Grad, 1e-10);
    }

    [Fact]
    public void BroadcastInputGradientsAreReducedToTheirShape()
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        var dy = TestData.Doubles(rng, 24);
        var y = Leaf(dy, [2, 3, 4]);
        var col = Leaf(TestData.Doubles(rng, 3), [3, 1]);
        var row = Leaf(TestData.Doubles(rng, 4), [1, 4]);
        var s = Leaf([0.5], []);
        F.Sum(F.Mul(F.Add(F.Add(y, col), row), s)).Backward();
        Assert.Equal([3, 1], col.Grad!.Shape);
        Assert.Equal([1, 4], row.Grad!.Shape);
        Assert.Equal([2, 3, 4], y.Grad!.Shape);
        Assert.Empty(s.Grad!.Shape);
        Near(Map(new double[3], _ => 8 * 0.5), col.Grad);   // each col element feeds 2*4 outputs
        Near(Map(new double[4], _ => 6 * 0.5), row.Grad);   // each row element feeds 2*3 outputs
        Near(Map(new double[24], _ => 0.5), y.Grad);
        // d/ds sum((y + col + row) * s) = sum(y + col + row).
        var yv = y.Data.ToArray<double>(); var cv = col.Data.ToArray<double>(); var rv = row.Data.ToArray<double>();
        double expect = 0;
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++) expect += yv[(i * 3 + j) * 4 + k] + cv[j] + rv[k];
        Near([expect], s.Grad);
    }

    [Fact]
    public void LeafGradsAccumulateAcrossBackwardCallsUntilZeroGrad()
    {
        var d = TestData.Doubles(TestData.Rng(), 4);
        var x = Leaf(d, [4]);
        for (int step = 1; step <= 2; step++)
        {
            // Each step in its own scope: the leaf gradient lives outside scopes and survives.
            using var scope = TensorScope.Begin();
            F.Sum(F.Mul(x, 3.0)).Backward();
        }
        Near(Map(d, _ => 6.0), x.Grad);

        // A transposed (strided) gradient accumulates into the contiguous leaf gradient correctly.
        var m = Leaf(TestData.Doubles(TestData.Rng(salt: 1), 6), [2, 3]);
        var w = Tensor.FromArray([1.0, 2, 3, 4, 5, 6], [3, 2]);
        for (int step = 0; step < 2; step++)
        {
            using var scope = TensorScope.Begin();
            F.Sum(F.Mul(F.Transpose(m, 0, 1), new Var(w))).Backward();
        }
        Near([2, 6, 10, 4, 8, 12], m.Grad);

        x.ZeroGrad();
        Assert.Null(x.Grad);
        using (TensorScope.Begin()) F.Sum(F.Mul(x, 3.0)).Backward();
        Near(Map(d, _ => 3.0), x.Grad);
        x.ZeroGrad(); m.ZeroGrad();
        w.Dispose();
    }

    [Fact]
    public void BackwardOnAScalarLeafSetsItsGradToOne()
    {
        using var scope = TensorScope.Begin();
        var x = Leaf([2.5], []);
        x.Backward();
        Near([1.0], x.Grad);
        x.Backward();
        Near([2.0], x.Grad);
        x.ZeroGrad();
    }

    [Fact]
    public void GraphCannotBeBackpropagatedTwice()
    {
        using var scope = TensorScope.Begin();
        var x = Leaf([1.0, 2.0], [2]);
        var y = F.Sum(F.Exp(x));
        y.Backward();
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("already backpropagated", e.Message);
    }

    [Fact]
    public void NoGradRecordsNothing()
    {
        using var scope = TensorScope.Begin();
        var x = Leaf([1.0, -2.0, 3.0], [3]);
        Assert.True(GradMode.Enabled);
        Var y;
        using (GradMode.NoGrad())
        {
            Assert.False(GradMode.Enabled);
            using (GradMode.NoGrad()) Assert.False(GradMode.Enabled);
            Assert.False(GradMode.Enabled);   // nesting restores the outer NoGrad, not Enabled
            y = F.Sum(F.Mul(F.Exp(x), x));
        }
        Assert.True(GradMode.Enabled);
        Assert.False(y.RequiresGrad);
        Assert.True(y.IsLeaf);
        Assert.Equal(Math.Exp(1) - 2 * Math.Exp(-2) + 3 * Math.Exp(3), y.Item(), 12);
        Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Null(x.Grad);

        // Recording resumes after the block.
        var z = F.Sum(F.Mul(x, x));
        Assert.True(z.RequiresGrad);
        Assert.False(z.IsLeaf);
    }

    [Fact]
    public void DetachCutsTheGraph()
    {
        using var scope = TensorScope.Begin();
        var d = new[] { 0.5, -1.5, 2.0 };
        var x = Leaf(d, [3]);
        var dx = x.Detach();
        Assert.False(dx.RequiresGrad);
        Assert.True(dx.IsLeaf);
        Assert.Equal(d, dx.Data.ToArray<double>());
        // y = sum(stop(x) * x): only the second factor is differentiated, so dy/dx = x, not 2x.
        F.Sum(F.Mul(dx, x)).Backward();
        Near(d, x.Grad);

        // Detaching an intermediate: nothing flows back through it.
        x.ZeroGrad();
        var h = F.Exp(x).Detach();
        F.Sum(F.Add(F.Mul(h, 2.0), x)).Backward();
        Near([1.0, 1.0, 1.0], x.Grad);
    }

    [Fact]
    public void NonScalarRootNeedsAnUpstreamGradient()
    {
        using var scope = TensorScope.Begin();
        var x = Leaf([1.0, 2.0, 3.0, 4.0], [2, 2]);
        var y = F.Mul(x, 3.0);
        var e = Assert.Throws<ShapeMismatchException>(() => y.Backward());
        Assert.Contains("[2, 2]", e.Message);
        Assert.Null(x.Grad);
        // A wrongly shaped upstream gradient is refused too, naming both shapes.
        using var bad = Tensor.Ones([4], DType.F64);
        var e2 = Assert.Throws<ShapeMismatchException>(() => y.Backward(bad));
        Assert.Contains("[4]", e2.Message);
        Assert.Contains("[2, 2]", e2.Message);
        Assert.Null(x.Grad);
        // With one it works and weights the gradient.
        using var g = Tensor.FromArray([1.0, -1.0, 0.5, 2.0], [2, 2]);
        y.Backward(g);
        Near([3.0, -3.0, 1.5, 6.0], x.Grad);
    }

    [Fact]
    public void InputsThatDoNotRequireGradGetNoGrad()
    {
        using var scope = TensorScope.Begin();
        var a = Leaf([1.0, 2.0], [2]);
        var b = Leaf([3.0, 4.0], [2], grad: false);
        var c = new Var(Tensor.FromArray([5.0, 6.0], [2]));     // default: no grad
        F.Sum(F.Add(F.Mul(a, b), F.Mul(b, c))).Backward();
        Near([3.0, 4.0], a.Grad);
        Assert.Null(b.Grad);
        Assert.Null(c.Grad);
        // A result of only constants records nothing.
        var k = F.Mul(b, c);
        Assert.False(k.RequiresGrad);
        Assert.True(k.IsLeaf);
    }

    [Fact]
    public void IntegerVarCannotRequireGrad()
    {
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<DTypeMismatchException>(() => new Var(Tensor.FromArray([1, 2], [2]), requiresGrad: true));
        Assert.Contains("i32", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void RuleGradientOfTheWrongShapeIsATypedErrorNamingTheOp()
    {
        using var scope = TensorScope.Begin();
        var x = Leaf([1.0, 2.0, 3.0], [3]);
        // A rule whose gradient neither matches nor broadcasts to its input's shape.
        var y = F.Record("BadShapeRule", Ops.Mul(x.Data, 2.0), [x], gy => [Tensor.Ones([2], DType.F64)]);
        var e = Assert.Throws<ShapeMismatchException>(() => F.Sum(y).Backward());
        Assert.Contains("BadShapeRule", e.Message);
        Assert.Contains("[2]", e.Message);
        Assert.Contains("[3]", e.Message);

        var y2 = F.Record("BadDTypeRule", Ops.Mul(x.Data, 2.0), [x], gy => [Tensor.Ones([3], DType.F32)]);
        var e2 = Assert.Throws<DTypeMismatchException>(() => F.Sum(y2).Backward());
        Assert.Contains("BadDTypeRule", e2.Message);

        var y3 = F.Record("BadArityRule", Ops.Mul(x.Data, 2.0), [x], gy => [gy.Alias(), gy.Alias()]);
        var e3 = Assert.Throws<InvalidOperationException>(() => F.Sum(y3).Backward());
        Assert.Contains("BadArityRule", e3.Message);
    }

    [Fact]
    public void RuleGradientOfABroadcastShapeIsSummedByTheEngine()
    {
        // Rules may return the output-shaped gradient; the engine sums it down to the input shape.
        using var scope = TensorScope.Begin();
        var x = Leaf([1.0, 2.0, 3.0], [3, 1]);
        var y = F.Record("ExpandLike", Ops.Add(x.Data, Tensor.Zeros([3, 4], DType.F64)), [x], gy => [gy.Alias()]);
        F.Sum(y).Backward();
        Assert.Equal([3, 1], x.Grad!.Shape);
        Near([4.0, 4.0, 4.0], x.Grad);
    }

    [Fact]
    public void GradCheckCatchesAWrongGradient()
    {
        using var scope = TensorScope.Begin();
        var input = Tensor.FromArray(TestData.Doubles(TestData.Rng(), 6, 0.5, 1.5), [2, 3]);
        // square with its derivative written as x instead of 2x.
        static Var WrongSquare(Var x)
        {
            var xd = x.Data;
            return F.Record("WrongSquare", Ops.Square(xd), [x], gy => [Ops.Mul(gy, xd)]);
        }
        static Var RightSquare(Var x)
        {
            var xd = x.Data;
            return F.Record("RightSquare", Ops.Square(xd), [x], gy => { using var t = Ops.Mul(gy, xd); return [Ops.Mul(t, 2.0)]; });
        }
        var bad = GradCheck.Run(v => WrongSquare(v[0]), [input]);
        Assert.False(bad.Ok, "GradCheck accepted a gradient off by a factor of 2");
        Assert.Contains("input 0", bad.Message);
        Assert.Contains("analytic", bad.Message);
        var good = GradCheck.Run(v => RightSquare(v[0]), [input]);
        Assert.True(good.Ok, good.Message);
        Assert.Equal(6, good.Checked);

        // A wrong gradient for the second input only (the first is right) is still caught.
        var input2 = Tensor.FromArray(TestData.Doubles(TestData.Rng(salt: 1), 6, 0.5, 1.5), [2, 3]);
        static Var WrongMulB(Var a, Var b)
        {
            Tensor ad = a.Data, bd = b.Data;
            return F.Record("WrongMul", Ops.Mul(ad, bd), [a, b], gy => [Ops.Mul(gy, bd), Ops.Mul(gy, bd)]);
        }
        var bad2 = GradCheck.Run(v => WrongMulB(v[0], v[1]), [input, input2]);
        Assert.False(bad2.Ok);
        Assert.Contains("input 1", bad2.Message);

        // A function that records no node is reported, not passed.
        var none = GradCheck.Run(v => v[0].Detach(), [input]);
        Assert.False(none.Ok);
        Assert.Equal(0, none.Checked);
    }

    [Fact]
    public void GradCheckSkipsOnlyElementsAtKinks()
    {
        using var scope = TensorScope.Begin();
        var input = Tensor.FromArray([-0.7, 0.0, 0.3, 0.00001, 1.2], [5]);
        var r = GradCheck.Run(v => F.Relu(v[0]), [input], new GradCheckOptions { Kinks = [0] });
        Assert.True(r.Ok, r.Message);
        Assert.Equal(2, r.SkippedAtKinks);   // 0 and 1e-5 lie within KinkWidth 1e-4 of the kink
        Assert.Equal(3, r.Checked);
    }

    [Fact]
    public void DataArgumentsMayBeDisposedBeforeBackward()
    {
        // Condition and index tensors are data the caller owns; a rule that reads them must hold its
        // own reference, so disposing them right after the forward call (e.g. `using` in a helper)
        // leaves Backward working.
        using var scope = TensorScope.Begin();
        var a = Leaf([1.0, -2.0, 3.0], [3]);
        var b = Leaf([0.5, 0.5, 0.5], [3]);
        static Var WhereNonNeg(Var a, Var b) { using var c = Ops.Ge(a.Data, 0.0); return F.Where(c, a, b); }
        static Var Pick(Var x, Func<Var, Tensor, Var> op) { using var i = Tensor.FromArray([2, 0, 2], [3]); return op(x, i); }
        F.Sum(WhereNonNeg(a, b)).Backward();
        Near([1.0, 0.0, 1.0], a.Grad);
        Near([0.0, 1.0, 0.0], b.Grad);
        a.ZeroGrad(); b.ZeroGrad();
        F.Sum(Pick(a, (x, i) => F.Gather(x, 0, i))).Backward();
        Near([1.0, 0.0, 2.0], a.Grad);
        a.ZeroGrad();
        F.Sum(Pick(a, (x, i) => F.IndexSelect(x, 0, i))).Backward();
        Near([1.0, 0.0, 2.0], a.Grad);
        a.ZeroGrad();
        F.Sum(F.Square(Pick(a, (x, i) => F.ScatterAdd(x, 0, i, b)))).Backward();
        Near([2 * (1.0 + 0.5), 2 * -2.0, 2 * (3.0 + 1.0)], a.Grad);
        Near([2 * (3.0 + 1.0), 2 * (1.0 + 0.5), 2 * (3.0 + 1.0)], b.Grad);
        a.ZeroGrad(); b.ZeroGrad();
        F.Sum(F.Square(Pick(a, (x, i) => F.IndexAdd(x, 0, i, b)))).Backward();
        Near([2 * (1.0 + 0.5), 2 * -2.0, 2 * (3.0 + 1.0)], a.Grad);
        Near([2 * (3.0 + 1.0), 2 * (1.0 + 0.5), 2 * (3.0 + 1.0)], b.Grad);
    }
}
