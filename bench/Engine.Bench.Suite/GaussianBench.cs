// Benchmark cases of the fused Gaussian ops (Ops/Gaussian.cs) for `engine bench kernels`: each fused
// op next to the same math composed from primitive ops, f32, on one device, at a given element count
// (Sizes: 0.5M, 8.4M, 16.8M). Inputs are (B, n / B) with B = 16 (B = 1 when 16 does not divide n),
// random and never zero. bytesFloor is what any implementation must move: every input element read
// once, every output element written once (4 bytes each; the per-sample outputs are negligible).
//
// Lifetime: Cases is lazy. Each case's tensors are made when the enumerator reaches it and disposed
// when it moves past it (or is disposed), so run a case's actions before advancing, as KernelBench.Run's
// foreach does; a materialized list (ToList) holds actions over disposed tensors. Run each action
// inside a TensorScope (KernelBench.TimeOnce does), which frees its results and intermediates.
namespace Engine.Bench;

public static class GaussianBench
{
    /// <summary>The element counts of the reference runs: 2^19 (0.5M), 2^23 (8.4M), 2^24 (16.8M).</summary>
    public static readonly long[] Sizes = [1L << 19, 1L << 23, 1L << 24];

    private const double Temperature = 0.8;
    private const ulong Seed = 0x9a55_1a4e;

    public static IEnumerable<(string name, long bytesFloor, Action fused, Action composed)> Cases(Device d, long n)
    {
        if (n <= 0 || n > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(n), $"element count {n} must be in [1, {int.MaxValue}]");
        int b = n % 16 == 0 ? 16 : 1;
        int[] shape = [b, (int)(n / b)];
        long f = 4 * n; // bytes of one f32 tensor of n elements
        var made = new List<Tensor>();
        Tensor Make(ulong seed, double lo, double hi)
        {
            var t = TensorScope.Detach(Tensor.Uniform(shape, seed, 0, lo, hi, DType.F32, d));
            made.Add(t);
            return t;
        }
        void Free() { foreach (var t in made) t.Dispose(); made.Clear(); }
        try
        {
            // ---- reparameterized sample, temperature on the noise
            {
                Tensor mu = Make(1, -2, 2), ls = Make(2, -1, 0.5), gz = Make(3, 0.5, 1.5);
                yield return ("gaussian sample fwd", 3 * f,
                    () => Ops.GaussianSample(mu, ls, Seed, 0, Temperature),
                    () => Ops.Add(mu, Ops.Mul(Ops.Exp(ls), Ops.Mul(Tensor.Normal(shape, Seed, 0, 0, 1, DType.F32, d), Temperature))));
                // composed autograd keeps T*eps and exp(ls) from the forward pass: dls = gz * exp(ls) * T eps
                Tensor teps;
                using (var eps = Tensor.Normal(shape, Seed, 0, 0, 1, DType.F32, d)) teps = TensorScope.Detach(Ops.Mul(eps, Temperature));
                made.Add(teps);
                Tensor els = TensorScope.Detach(Ops.Exp(ls)); made.Add(els);
                yield return ("gaussian sample bwd", 3 * f,
                    () => Ops.GaussianSampleBackward(ls, gz, Seed, 0, Temperature),
                    () => Ops.Mul(Ops.Mul(gz, teps), els));
                Free();
            }
            // ---- KL(q || p), both diagonal Gaussians
            {
                Tensor mu1 = Make(4, -2, 2), ls1 = Make(5, -1, 0.5), mu2 = Make(6, -2, 2), ls2 = Make(7, -1, 0.5);
                Tensor gy = Make(8, 0.5, 1.5);
                Tensor gB = TensorScope.Detach(Tensor.Uniform([b], 9, 0, 0.5, 1.5, DType.F32, d)); made.Add(gB);
                Tensor Composed()
                {
                    // -1/2 + ls2 - ls1 + (e^{2 ls1} + (mu1 - mu2)^2) / (2 e^{2 ls2})
                    var num = Ops.Add(Ops.Exp(Ops.Mul(ls1, 2.0)), Ops.Square(Ops.Sub(mu1, mu2)));
                    return Ops.Add(Ops.Sub(Ops.Sub(ls2, ls1), 0.5), Ops.Div(num, Ops.Mul(Ops.Exp(Ops.Mul(ls2, 2.0)), 2.0)));
                }
                yield return ("kl elementwise fwd", 5 * f, () => Ops.KlNormal(mu1, ls1, mu2, ls2), () => Composed());
                yield return ("kl per-sample fwd", 4 * f,
                    () => Ops.KlNormal(mu1, ls1, mu2, ls2, GaussianReduction.SumPerSample),
                    () => Ops.Sum(Composed(), [1]));
                yield return ("kl elementwise bwd", 9 * f,
                    () => Ops.KlNormalBackward(mu1, ls1, mu2, ls2, gy, GaussianReduction.None),
                    () => ComposedKlBackward(mu1, ls1, mu2, ls2, gy));
                yield return ("kl per-sample bwd", 8 * f,
                    () => Ops.KlNormalBackward(mu1, ls1, mu2, ls2, gB, GaussianReduction.SumPerSample),
                    () => ComposedKlBackward(mu1, ls1, mu2, ls2, gB.Reshape(b, 1)));
                Free();
            }
            // ---- KL(q || N(0, I))
            {
                Tensor mu = Make(10, -2, 2), ls = Make(11, -1, 0.5);
                yield return ("kl std-normal per-sample fwd", 2 * f,
                    () => Ops.KlStdNormal(mu, ls, GaussianReduction.SumPerSample),
                    () => Ops.Sum(Ops.Sub(Ops.Mul(Ops.Sub(Ops.Add(Ops.Exp(Ops.Mul(ls, 2.0)), Ops.Square(mu)), 1.0), 0.5), ls), [1]));
                Free();
            }
        }
        finally { Free(); }
    }

    /// <summary>The four KL gradients from primitive ops (g broadcast over each sample when it is (B, 1)).</summary>
    private static void ComposedKlBackward(Tensor mu1, Tensor ls1, Tensor mu2, Tensor ls2, Tensor g)
    {
        var d = Ops.Sub(mu1, mu2);
        var w = Ops.Exp(Ops.Mul(ls2, -2.0));
        var gm1 = Ops.Mul(Ops.Mul(g, d), w);
        _ = Ops.Neg(gm1);
        var vm1 = Ops.Sub(Ops.Exp(Ops.Mul(Ops.Sub(ls1, ls2), 2.0)), 1.0);
        _ = Ops.Mul(g, vm1);
        _ = Ops.Neg(Ops.Mul(g, Ops.Add(vm1, Ops.Mul(Ops.Square(d), w))));
    }
}
