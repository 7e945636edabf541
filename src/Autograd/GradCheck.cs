// Finite-difference gradient check in float64. The function's output is contracted with fixed
// random weights (L = sum(w * f(x))) so every output element contributes; each input element is
// perturbed by +-eps and the central difference compared with the analytical gradient.
// Elements whose value lies within `kinkWidth` of a known kink (relu at 0, clamp bounds, ...) are
// skipped and counted, never silently passed.
namespace Engine.Autograd;

public sealed record GradCheckOptions
{
    public double Eps { get; init; } = 1e-6;
    public double Atol { get; init; } = 1e-7;
    public double Rtol { get; init; } = 1e-5;
    /// <summary>Input values at which the function is not differentiable.</summary>
    public double[] Kinks { get; init; } = [];
    public double KinkWidth { get; init; } = 1e-4;
    /// <summary>Inputs (by position) not to check, e.g. integer-valued ones.</summary>
    public int[] SkipInputs { get; init; } = [];
    public ulong Seed { get; init; } = 1234;
}

public sealed record GradCheckResult(bool Ok, int Checked, int SkippedAtKinks, double MaxAbsError, double MaxRelError, string Message);

public static class GradCheck
{
    public static GradCheckResult Run(Func<Var[], Var> f, Tensor[] inputs, GradCheckOptions? options = null)
    {
        var o = options ?? new GradCheckOptions();
        foreach (var t in inputs)
            if (t.DType != DType.F64) throw new DTypeMismatchException("GradCheck", $"inputs must be f64, got {Fmt.Of(t)}");
        using var scope = TensorScope.Begin();
        var vals = inputs.Select(t => t.Contiguous().ToArray<double>()).ToArray();
        var shapes = inputs.Select(t => t.Shape).ToArray();

        // Analytical gradients.
        var vars = vals.Select((v, i) => new Var(Tensor.FromArray((double[])v.Clone(), shapes[i]), requiresGrad: !o.SkipInputs.Contains(i))).ToArray();
        var y = f(vars);
        if (y.DType != DType.F64) throw new DTypeMismatchException("GradCheck", $"function output must be f64, got {Fmt.Of(y.Data)}");
        using var w = Tensor.Uniform(y.Data.Layout.Shape, o.Seed, 0, 0.5, 1.5, DType.F64);
        if (!y.RequiresGrad) return new GradCheckResult(false, 0, 0, 0, 0, "output does not require grad: the op recorded no node");
        y.Backward(w);
        var wv = w.ToArray<double>();
        var analytic = vars.Select(v => v.Grad?.ToArray<double>()).ToArray();
        foreach (var v in vars) v.ZeroGrad();

        double Loss(double[][] xs)
        {
            using var s = TensorScope.Begin();
            using var ng = GradMode.NoGrad();
            var vs = xs.Select((x, i) => new Var(Tensor.FromArray(x, shapes[i]))).ToArray();
            var yy = f(vs).Data.Contiguous().ToArray<double>();
            double acc = 0;
            for (int i = 0; i < yy.Length; i++) acc += yy[i] * wv[i];
            return acc;
        }

        int checkedN = 0, skipped = 0;
        double maxAbs = 0, maxRel = 0;
        for (int k = 0; k < vals.Length; k++)
        {
            if (o.SkipInputs.Contains(k)) continue;
            var g = analytic[k];
            for (int j = 0; j < vals[k].Length; j++)
            {
                double x0 = vals[k][j];
                if (o.Kinks.Any(kk => Math.Abs(x0 - kk) < o.KinkWidth)) { skipped++; continue; }
                vals[k][j] = x0 + o.Eps; double lp = Loss(vals);
                vals[k][j] = x0 - o.Eps; double lm = Loss(vals);
                vals[k][j] = x0;
                double num = (lp - lm) / (2 * o.Eps);
                double ana = g?[j] ?? 0;
                double err = Math.Abs(num - ana);
                checkedN++;
                maxAbs = Math.Max(maxAbs, err);
                maxRel = Math.Max(maxRel, err / Math.Max(Math.Abs(num), 1e-12));
                if (err > o.Atol + o.Rtol * Math.Abs(num))
                    return new GradCheckResult(false, checkedN, skipped, maxAbs, maxRel,
                        $"input {k} {Fmt.Shape(shapes[k])} element {j} (x = {x0:R}): analytic {ana:R} vs numeric {num:R} (abs err {err:E3}, atol {o.Atol:E1}, rtol {o.Rtol:E1})");
            }
        }
        return new GradCheckResult(true, checkedN, skipped, maxAbs, maxRel, $"{checkedN} elements checked, {skipped} skipped at kinks, max abs err {maxAbs:E3}");
    }
}
