// Gradient checks for the elementwise ops of src/Autograd/Ops/Elementwise.cs: every unary op (inputs
// kept inside its domain, kinks listed), every binary op on equal and broadcast shapes (including a
// broadcast first operand and both operands broadcast), the scalar forms, and Where.
using Engine.Autograd;
using Xunit;
using static Engine.Tests.Autograd.Grad;

namespace Engine.Tests.Autograd;

public class ElementwiseGradTests
{
    private static readonly int[] Shape = [3, 4, 2];

    private static GradCheckOptions Kinks(params double[] k) => new() { Kinks = k };

    private static Func<System.Random, Tensor[]> Range(double lo, double hi) => rng => [U(rng, Shape, lo, hi)];

    // ---- unary ------------------------------------------------------------------------------------

    private static readonly GradCaseTable UnaryCases = BuildUnary();

    private static GradCaseTable BuildUnary()
    {
        var t = new GradCaseTable();
        t.Add("neg", v => F.Neg(v[0]), Range(-1, 1));
        t.Add("abs", v => F.Abs(v[0]), Range(-1, 1), Kinks(0));
        t.Add("exp", v => F.Exp(v[0]), Range(-2, 2));
        t.Add("log", v => F.Log(v[0]), Range(0.2, 3));
        t.Add("sqrt", v => F.Sqrt(v[0]), Range(0.2, 3));
        t.Add("rsqrt", v => F.Rsqrt(v[0]), Range(0.2, 3));
        t.Add("square", v => F.Square(v[0]), Range(-2, 2));
        t.Add("sigmoid", v => F.Sigmoid(v[0]), Range(-4, 4));
        t.Add("tanh", v => F.Tanh(v[0]), Range(-3, 3));
        t.Add("softplus", v => F.Softplus(v[0]), Range(-4, 4));
        // Far tails, where a stable softplus switches formulation: the gradient must stay sigmoid(x).
        t.Add("softplus_tails", v => F.Softplus(v[0]), rng => [AwayFromZero(rng, Shape, 15, 40)]);
        t.Add("relu", v => F.Relu(v[0]), Range(-1, 1), Kinks(0));
        t.Add("leaky_relu", v => F.LeakyRelu(v[0], 0.1), Range(-1, 1), Kinks(0));
        t.Add("leaky_relu_default", v => F.LeakyRelu(v[0]), Range(-1, 1), Kinks(0));
        t.Add("elu", v => F.Elu(v[0]), Range(-2, 2), Kinks(0));
        t.Add("elu_alpha", v => F.Elu(v[0], 0.7), Range(-2, 2), Kinks(0));
        t.Add("gelu", v => F.Gelu(v[0]), Range(-3, 3));
        t.Add("sin", v => F.Sin(v[0]), Range(-3, 3));
        t.Add("cos", v => F.Cos(v[0]), Range(-3, 3));
        t.Add("log1p", v => F.Log1p(v[0]), Range(-0.6, 3));
        t.Add("expm1", v => F.Expm1(v[0]), Range(-2, 2));
        t.Add("erf", v => F.Erf(v[0]), Range(-2.5, 2.5));
        t.Add("reciprocal", v => F.Reciprocal(v[0]), rng => [AwayFromZero(rng, Shape, 0.3, 2)]);
        t.Add("pow_2.5", v => F.Pow(v[0], 2.5), Range(0.2, 2));
        t.Add("pow_-1.5", v => F.Pow(v[0], -1.5), Range(0.3, 2));
        t.Add("pow_3_negative_base", v => F.Pow(v[0], 3.0), Range(-1.5, 1.5));
        t.Add("pow_0.5", v => F.Pow(v[0], 0.5), Range(0.2, 2));
        t.Add("clamp", v => F.Clamp(v[0], -0.5, 0.4), Range(-1, 1), Kinks(-0.5, 0.4));
        // The generic entry point, including Sign (no named wrapper; derivative 0 away from 0).
        t.Add("unary_generic_elu", v => F.Unary(UnaryOp.Elu, v[0], 0.3), Range(-2, 2), Kinks(0));
        t.Add("unary_generic_sign", v => F.Unary(UnaryOp.Sign, v[0]), Range(-1, 1), Kinks(0));
        return t;
    }

    public static TheoryData<string> UnaryNames => UnaryCases.Names();

    [Theory, MemberData(nameof(UnaryNames))]
    public void Unary(string op) => Check(nameof(ElementwiseGradTests), op, UnaryCases[op]);

    [Fact]
    public void ClampSkipsOnlyElementsAtItsBounds()
    {
        // Elements exactly at the bounds are skipped, the rest (inside and outside) are checked.
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([-1.0, -0.5, -0.2, 0.0, 0.3, 0.4, 0.9], [7]);
        var r = GradCheck.Run(v => F.Clamp(v[0], -0.5, 0.4), [x], Kinks(-0.5, 0.4));
        Assert.True(r.Ok, r.Message);
        Assert.Equal(2, r.SkippedAtKinks);
        Assert.Equal(5, r.Checked);
    }

    // ---- binary (tensor, tensor) with broadcasting -------------------------------------------------

    private static readonly (string Name, int[] A, int[] B)[] BinaryShapes =
    [
        ("same", [3, 4], [3, 4]),
        ("bcast_b_3x1", [2, 3, 4], [3, 1]),
        ("bcast_b_1x4", [2, 3, 4], [1, 4]),
        ("bcast_a", [1, 4], [2, 3, 4]),
        ("bcast_both", [2, 1, 4], [3, 1]),
        ("bcast_scalar_tensor", [2, 3], []),
    ];

    private static readonly GradCaseTable BinaryCases = BuildBinary();

    private static GradCaseTable BuildBinary()
    {
        var t = new GradCaseTable();
        foreach (var (sn, sa, sb) in BinaryShapes)
        {
            t.Add($"add_{sn}", v => F.Add(v[0], v[1]), rng => [U(rng, sa), U(rng, sb)]);
            t.Add($"sub_{sn}", v => F.Sub(v[0], v[1]), rng => [U(rng, sa), U(rng, sb)]);
            t.Add($"mul_{sn}", v => F.Mul(v[0], v[1]), rng => [U(rng, sa), U(rng, sb)]);
            t.Add($"div_{sn}", v => F.Div(v[0], v[1]), rng => [U(rng, sa), AwayFromZero(rng, sb, 0.5, 2)]);
            // a > 0 keeps a^b real and ln a finite (d/db = a^b ln a).
            t.Add($"pow_{sn}", v => F.Pow(v[0], v[1]), rng => [U(rng, sa, 0.3, 2), U(rng, sb, -1.5, 2)]);
            // Random continuous values: ties (the only kinks) have probability zero.
            t.Add($"maximum_{sn}", v => F.Maximum(v[0], v[1]), rng => [U(rng, sa), U(rng, sb)]);
            t.Add($"minimum_{sn}", v => F.Minimum(v[0], v[1]), rng => [U(rng, sa), U(rng, sb)]);
        }
        // One operand constant (requiresGrad false): the other's gradient is still right.
        t.Add("mul_const_b", v => F.Mul(v[0], v[1]), rng => [U(rng, [2, 3]), U(rng, [3])], new() { SkipInputs = [1] });
        t.Add("div_const_a", v => F.Div(v[0], v[1]), rng => [U(rng, [2, 3]), AwayFromZero(rng, [2, 3], 0.5, 2)], new() { SkipInputs = [0] });
        t.Add("pow_const_b", v => F.Pow(v[0], v[1]), rng => [U(rng, [2, 3], 0.3, 2), U(rng, [2, 3], -1, 2)], new() { SkipInputs = [1] });
        t.Add("maximum_const_a", v => F.Maximum(v[0], v[1]), rng => [U(rng, [2, 3]), U(rng, [2, 3])], new() { SkipInputs = [0] });
        // The same Var on both sides of binary ops (x - x would be constant; x * x and x / (1 + x^2) are not).
        t.Add("mul_self", v => F.Mul(v[0], v[0]), rng => [U(rng, [3, 4])]);
        t.Add("div_self_mix", v => F.Div(v[0], F.Add(F.Square(v[0]), 1.0)), rng => [U(rng, [3, 4])]);
        // Operators on Var (the overloads route to the F functions).
        t.Add("operators", v => (2.0 - v[0] * 3.0) / (1.5 + v[1] * v[1]) + v[0] / 2.0 - (-v[1]) + 1.0 / (v[1] + 3.0) - 0.25,
            rng => [U(rng, [2, 3]), U(rng, [3])]);
        return t;
    }

    public static TheoryData<string> BinaryNames => BinaryCases.Names();

    [Theory, MemberData(nameof(BinaryNames))]
    public void Binary(string op) => Check(nameof(ElementwiseGradTests), op, BinaryCases[op]);

    // ---- scalar forms ------------------------------------------------------------------------------

    private static readonly GradCaseTable ScalarCases = BuildScalar();

    private static GradCaseTable BuildScalar()
    {
        var t = new GradCaseTable();
        var x = Range(-1, 1);
        t.Add("add_scalar", v => F.Add(v[0], 1.7), x);
        t.Add("sub_scalar", v => F.Sub(v[0], -0.3), x);
        t.Add("mul_scalar", v => F.Mul(v[0], -2.5), x);
        t.Add("div_scalar", v => F.Div(v[0], 0.4), x);
        t.Add("rsub_scalar", v => F.RSub(3.0, v[0]), x);
        t.Add("rdiv_scalar", v => F.RDiv(-1.3, v[0]), rng => [AwayFromZero(rng, Shape, 0.3, 2)]);
        t.Add("maximum_scalar", v => F.Maximum(v[0], 0.1), x, Kinks(0.1));
        t.Add("minimum_scalar", v => F.Minimum(v[0], -0.2), x, Kinks(-0.2));
        return t;
    }

    public static TheoryData<string> ScalarNames => ScalarCases.Names();

    [Theory, MemberData(nameof(ScalarNames))]
    public void Scalar(string op) => Check(nameof(ElementwiseGradTests), op, ScalarCases[op]);

    // ---- where -------------------------------------------------------------------------------------

    private static readonly GradCaseTable WhereCases = BuildWhere();

    private static GradCaseTable BuildWhere()
    {
        var t = new GradCaseTable();
        // cond from comparing the inputs themselves (a piecewise function of both).
        t.Add("where_cond_from_inputs", v => F.Where(F.Gt(v[0], v[1]), F.Mul(v[0], 2.0), F.Exp(v[1])), rng => [U(rng, [3, 4]), U(rng, [3, 4])]);
        // cond from a comparison of fixed data, broadcast three ways: cond (2,3,4), a (3,1), b (1,4).
        t.Add("where_broadcast", v => F.Where(Ops.Lt(v[2].Data, 0.0), v[0], v[1]), rng => [U(rng, [3, 1]), U(rng, [1, 4]), U(rng, [2, 3, 4])], new() { SkipInputs = [2] });
        // Only one branch requires grad.
        t.Add("where_const_b", v => F.Where(F.Ge(v[0], v[1]), v[0], v[1]), rng => [U(rng, [2, 5]), U(rng, [2, 5])], new() { SkipInputs = [1] });
        return t;
    }

    public static TheoryData<string> WhereNames => WhereCases.Names();

    [Theory, MemberData(nameof(WhereNames))]
    public void Where(string op) => Check(nameof(ElementwiseGradTests), op, WhereCases[op]);

    // ---- tie semantics (not reachable by finite differences) ---------------------------------------

    [Fact]
    public void MaximumMinimumSplitTiesEvenly()
    {
        using var scope = TensorScope.Begin();
        var a = new Var(Tensor.FromArray([1.0, 2.0, 3.0], [3]), requiresGrad: true);
        var b = new Var(Tensor.FromArray([0.0, 2.0, 4.0], [3]), requiresGrad: true);
        F.Sum(F.Maximum(a, b)).Backward();
        Assert.Equal([1.0, 0.5, 0.0], a.Grad!.ToArray<double>());
        Assert.Equal([0.0, 0.5, 1.0], b.Grad!.ToArray<double>());
        a.ZeroGrad(); b.ZeroGrad();
        F.Sum(F.Minimum(a, b)).Backward();
        Assert.Equal([0.0, 0.5, 1.0], a.Grad!.ToArray<double>());
        Assert.Equal([1.0, 0.5, 0.0], b.Grad!.ToArray<double>());
        a.ZeroGrad();
        F.Sum(F.Maximum(a, 2.0)).Backward();
        Assert.Equal([0.0, 0.5, 1.0], a.Grad!.ToArray<double>());
    }
}
