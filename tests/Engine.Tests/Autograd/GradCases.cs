// Shared machinery for the gradient-check suites: a named case (function, seeded f64 inputs,
// options) and the runner that checks it. Each [Theory] row is one case name, so a failure names
// the op and configuration; the random inputs are seeded from "<suite>.<case>" (TestData.Rng).
using Engine.Autograd;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Autograd;

/// <summary>One gradient check: f over inputs built from a seeded generator.</summary>
public sealed record GradCase(Func<Var[], Var> F, Func<System.Random, Tensor[]> Inputs, GradCheckOptions? Options = null);

/// <summary>Cases of one suite, keyed by a unique name.</summary>
public sealed class GradCaseTable
{
    private readonly Dictionary<string, GradCase> _cases = new(StringComparer.Ordinal);
    public void Add(string name, Func<Var[], Var> f, Func<System.Random, Tensor[]> inputs, GradCheckOptions? options = null)
    {
        if (!_cases.TryAdd(name, new GradCase(f, inputs, options))) throw new InvalidOperationException($"duplicate grad case {name}");
    }
    public GradCase this[string name] => _cases[name];
    public TheoryData<string> Names() => new(_cases.Keys);
}

public static class Grad
{
    /// <summary>Runs GradCheck on the case and asserts it passed and checked at least one element.</summary>
    public static GradCheckResult Check(string suite, string name, GradCase c)
    {
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng($"{suite}.{name}");
        var inputs = c.Inputs(rng);
        var r = GradCheck.Run(c.F, inputs, c.Options);
        var shapes = string.Join(", ", inputs.Select(t => Fmt.Shape(t.Layout.Shape)));
        Assert.True(r.Ok, $"{suite}.{name} (inputs {shapes}): {r.Message}");
        Assert.True(r.Checked > 0, $"{suite}.{name}: no element was checked ({r.SkippedAtKinks} skipped at kinks)");
        return r;
    }

    /// <summary>Uniform f64 tensor in [lo, hi).</summary>
    public static Tensor U(System.Random rng, int[] shape, double lo = -1, double hi = 1)
        => Tensor.FromArray(TestData.Doubles(rng, Numel(shape), lo, hi), shape);

    /// <summary>f64 tensor with |x| in [lo, hi) and a random sign (keeps x away from 0).</summary>
    public static Tensor AwayFromZero(System.Random rng, int[] shape, double lo = 0.3, double hi = 2)
    {
        var d = TestData.Doubles(rng, Numel(shape), lo, hi);
        for (int i = 0; i < d.Length; i++) if (rng.Next(2) == 0) d[i] = -d[i];
        return Tensor.FromArray(d, shape);
    }

    /// <summary>Pairwise distinct values (a shuffled grid with spacing `gap`, plus jitter far smaller
    /// than the gap): max/min/max-pool have no ties, and a +-eps perturbation never changes the winner.</summary>
    public static Tensor Distinct(System.Random rng, int[] shape, double gap = 0.05)
    {
        int n = Numel(shape);
        var d = new double[n];
        for (int i = 0; i < n; i++) d[i] = (i - n / 2.0) * gap + gap * 0.2 * rng.NextDouble();
        for (int i = n - 1; i > 0; i--) { int j = rng.Next(i + 1); (d[i], d[j]) = (d[j], d[i]); }
        return Tensor.FromArray(d, shape);
    }

    public static Tensor Idx(int[] data, params int[] shape) => Tensor.FromArray(data, shape);

    public static int Numel(int[] shape) => shape.Aggregate(1, (p, s) => p * s);

    public static int[] S(params int[] shape) => shape;
}
