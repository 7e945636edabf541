// Gradient checks for the reductions of src/Autograd/Ops/Reduce.cs (Sum, Mean, Max, Min, Var with
// correction 0 and 1, LogSumExp) over one axis, a negative axis, several axes and all axes, with and
// without keepDim. Max/Min inputs have pairwise distinct values (no ties, the winner never changes
// under the +-eps perturbation); tie splitting is asserted separately.
using Engine.Autograd;
using Xunit;
using static Engine.Tests.Autograd.Grad;

namespace Engine.Tests.Autograd;

public class ReduceGradTests
{
    private static readonly int[] Shape = [2, 3, 4];

    private static readonly (string Name, int[]? Axes, bool Keep)[] AxisConfigs =
    [
        ("ax1", [1], false),
        ("ax1_keep", [1], true),
        ("ax-1", [-1], false),
        ("ax0_keep", [0], true),
        ("ax02", [0, 2], false),
        ("ax02_keep", [0, 2], true),
        ("ax-1_0", [-1, 0], false),
        ("all", null, false),
        ("all_keep", null, true),
        ("all_explicit", [0, 1, 2], false),
        ("all_empty_axes", [], false),
    ];

    private static readonly GradCaseTable Cases = Build();

    private static GradCaseTable Build()
    {
        var t = new GradCaseTable();
        Func<System.Random, Tensor[]> rand = rng => [U(rng, Shape, -2, 2)];
        Func<System.Random, Tensor[]> distinct = rng => [Distinct(rng, Shape)];
        foreach (var (n, ax, keep) in AxisConfigs)
        {
            t.Add($"sum_{n}", v => F.Sum(v[0], ax, keep), rand);
            t.Add($"mean_{n}", v => F.Mean(v[0], ax, keep), rand);
            t.Add($"max_{n}", v => F.Max(v[0], ax, keep), distinct);
            t.Add($"min_{n}", v => F.Min(v[0], ax, keep), distinct);
            t.Add($"var0_{n}", v => F.Var(v[0], ax, keep, correction: 0), rand);
            t.Add($"var1_{n}", v => F.Var(v[0], ax, keep, correction: 1), rand);
            t.Add($"logsumexp_{n}", v => F.LogSumExp(v[0], ax, keep), rand);
        }
        // Large inputs: a stable logsumexp (and its softmax gradient) must not overflow. Outputs near
        // 710 carry rounding of ~1e-13 (one ulp), which a 2e-6 central difference would amplify to
        // ~1e-7: a larger step (truncation error ~eps^2 |f'''| ~ 1e-9) keeps the reference exact enough.
        t.Add("logsumexp_large", v => F.LogSumExp(v[0], [1]), rng => [U(rng, [3, 5], 700, 720)], new() { Eps = 1e-4 });
        // A reduction of a non-contiguous view (the rule's reshape of gy must follow x's shape).
        t.Add("sum_of_transposed", v => F.Sum(F.Transpose(v[0], 0, 2), [1]), rand);
        t.Add("var1_of_transposed", v => F.Var(F.Transpose(v[0], 0, 1), [0, 2], keepDim: true), rand);
        t.Add("max_of_permuted", v => F.Max(F.Permute(v[0], 2, 0, 1), [2]), distinct);
        return t;
    }

    public static TheoryData<string> Names => Cases.Names();

    [Theory, MemberData(nameof(Names))]
    public void Reduce(string op) => Check(nameof(ReduceGradTests), op, Cases[op]);

    [Fact]
    public void MaxMinSplitTiesEvenly()
    {
        using var scope = TensorScope.Begin();
        var x = new Var(Tensor.FromArray([1.0, 3.0, 3.0, 0.0, 5.0, 5.0, 5.0, 2.0], [2, 4]), requiresGrad: true);
        F.Sum(F.Max(x, [1])).Backward();
        Assert.Equal([0.0, 0.5, 0.5, 0.0, 1 / 3.0, 1 / 3.0, 1 / 3.0, 0.0], x.Grad!.ToArray<double>());
        x.ZeroGrad();
        F.Min(x).Backward();
        Assert.Equal([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], x.Grad!.ToArray<double>());
    }
}
