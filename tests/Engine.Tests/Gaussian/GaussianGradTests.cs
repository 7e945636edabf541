// Float64 finite-difference gradient checks of the fused Gaussian ops (src/Autograd/Ops/Gaussian.cs):
// every differentiable input of every op, under every reduction, both temperature modes of the
// sample (its backward regenerates eps from (seed, offset)), the standard-normal variants (null
// prior / null mean or log sigma), inputs that do not require grad (their gradients are skipped),
// and the flow bits-per-dim with and without a Gaussian prior. The functions are smooth: no kinks.
using Engine.Autograd;
using Engine.Tests.Autograd;
using Xunit;
using static Engine.Tests.Autograd.Grad;

namespace Engine.Tests.Gaussian;

public class GaussianGradTests
{
    private static readonly int[] Shape = [3, 2, 5];

    private static readonly GaussianReduction[] Reductions =
        [GaussianReduction.None, GaussianReduction.SumPerSample, GaussianReduction.MeanPerSample, GaussianReduction.Sum, GaussianReduction.Mean];

    // mu in [-1.5, 1.5], log sigma in [-1, 0.8]: exp(2 ls) spans 0.14 .. 5.
    private static Tensor Mu(System.Random rng) => U(rng, Shape, -1.5, 1.5);
    private static Tensor Ls(System.Random rng) => U(rng, Shape, -1, 0.8);

    private static readonly GradCaseTable Cases = Build();

    private static GradCaseTable Build()
    {
        var t = new GradCaseTable();
        // ---- reparameterized sample
        foreach (var mode in new[] { TemperatureMode.Noise, TemperatureMode.Sample })
            foreach (double temp in new[] { 1.0, 0.7 })
                t.Add($"sample_{mode}_T{temp}", v => F.GaussianSample(v[0], v[1], 0x5eed, 3, temp, mode), rng => [Mu(rng), Ls(rng)]);
        t.Add("sample_odd_count_high_offset", v => F.GaussianSample(v[0], v[1], 77, (1UL << 32) - 1, 1.3),
            rng => [U(rng, [7], -1, 1), U(rng, [7], -1, 0.5)]);
        t.Add("sample_only_log_sigma", v => F.GaussianSample(v[0], v[1], 9, 0), rng => [Mu(rng), Ls(rng)], new() { SkipInputs = [0] });
        t.Add("sample_only_mu", v => F.GaussianSample(v[0], v[1], 9, 0, 0.5, TemperatureMode.Sample), rng => [Mu(rng), Ls(rng)], new() { SkipInputs = [1] });

        // ---- KL
        foreach (var r in Reductions)
        {
            t.Add($"kl_normal_{r}", v => F.KlNormal(v[0], v[1], v[2], v[3], r), rng => [Mu(rng), Ls(rng), Mu(rng), Ls(rng)]);
            t.Add($"kl_std_normal_{r}", v => F.KlStdNormal(v[0], v[1], r), rng => [Mu(rng), Ls(rng)]);
        }
        t.Add("kl_normal_fixed_prior", v => F.KlNormal(v[0], v[1], v[2], v[3], GaussianReduction.SumPerSample),
            rng => [Mu(rng), Ls(rng), Mu(rng), Ls(rng)], new() { SkipInputs = [2, 3] });
        t.Add("kl_normal_only_prior", v => F.KlNormal(v[0], v[1], v[2], v[3], GaussianReduction.Sum),
            rng => [Mu(rng), Ls(rng), Mu(rng), Ls(rng)], new() { SkipInputs = [0, 1] });
        t.Add("kl_normal_rank1", v => F.KlNormal(v[0], v[1], v[2], v[3], GaussianReduction.SumPerSample),
            rng => [U(rng, [4]), U(rng, [4], -1, 1), U(rng, [4]), U(rng, [4], -1, 1)]);
        t.Add("kl_normal_scalar_input", v => F.KlNormal(v[0], v[1], v[2], v[3], GaussianReduction.Mean),
            rng => [U(rng, []), U(rng, [], -1, 1), U(rng, []), U(rng, [], -1, 1)]);

        // ---- NLL
        foreach (var r in Reductions)
        {
            t.Add($"nll_{r}", v => F.GaussianNll(v[0], v[1], v[2], r), rng => [Mu(rng), Mu(rng), Ls(rng)]);
            t.Add($"nll_std_{r}", v => F.GaussianNll(v[0], null, null, r), rng => [Mu(rng)]);
        }
        t.Add("nll_mean_only", v => F.GaussianNll(v[0], v[1], null, GaussianReduction.SumPerSample), rng => [Mu(rng), Mu(rng)]);
        t.Add("nll_log_sigma_only", v => F.GaussianNll(v[0], null, v[1], GaussianReduction.MeanPerSample), rng => [Mu(rng), Ls(rng)]);
        t.Add("nll_data_fixed", v => F.GaussianNll(v[0], v[1], v[2], GaussianReduction.Sum), rng => [Mu(rng), Mu(rng), Ls(rng)], new() { SkipInputs = [0] });

        // ---- flow bits per dim (DeFlow: 32 bins, dims = H * W of the image)
        t.Add("bpd_std_prior", v => F.FlowBitsPerDim(v[0], v[1], 32, 2 * 5), rng => [Mu(rng), U(rng, [3], -20, 20)]);
        t.Add("bpd_gaussian_prior", v => F.FlowBitsPerDim(v[0], v[1], 256, 30, v[2], v[3]), rng => [Mu(rng), U(rng, [3], -5, 5), Mu(rng), Ls(rng)]);
        t.Add("bpd_logdet_only", v => F.FlowBitsPerDim(v[0], v[1], 32, 10), rng => [Mu(rng), U(rng, [3], -5, 5)], new() { SkipInputs = [0] });

        // ---- dequantization (gradient 1 in x)
        t.Add("dequantize_centered", v => F.Dequantize(v[0], 32, 4, 11), rng => [U(rng, Shape, 0, 1)]);
        t.Add("dequantize_uncentered", v => F.Dequantize(v[0], 256, 4, 11, centered: false), rng => [U(rng, Shape, 0, 1)]);

        // ---- composed: a VAE-style loss through sample, KL and NLL at once
        t.Add("vae_loss", v =>
        {
            var z = F.GaussianSample(v[0], v[1], 21, 0);
            var kl = F.KlNormal(v[0], v[1], v[2], v[3], GaussianReduction.SumPerSample);
            var nll = F.GaussianNll(v[4], z, v[3], GaussianReduction.SumPerSample);
            return kl + nll;
        }, rng => [Mu(rng), Ls(rng), Mu(rng), Ls(rng), Mu(rng)]);
        return t;
    }

    public static TheoryData<string> Names => Cases.Names();

    [Theory, MemberData(nameof(Names))]
    public void Gradient(string name) => Check(nameof(GaussianGradTests), name, Cases[name]);

    [Fact]
    public void InputsThatNeedNoGradientGetNone()
    {
        using var scope = TensorScope.Begin();
        var rng = Engine.Tests.Support.TestData.Rng();
        var mu1 = new Var(Mu(rng), requiresGrad: true);
        var ls1 = new Var(Ls(rng));
        var mu2 = new Var(Mu(rng));
        var ls2 = new Var(Ls(rng), requiresGrad: true);
        var kl = F.KlNormal(mu1, ls1, mu2, ls2, GaussianReduction.Sum);
        kl.Backward();
        Assert.NotNull(mu1.Grad);
        Assert.NotNull(ls2.Grad);
        Assert.Null(ls1.Grad);
        Assert.Null(mu2.Grad);
        // mu2 = -mu1's gradient when both are requested: one pass writes both.
        var (g1, _, g3, _) = Ops.KlNormalBackward(mu1.Data, ls1.Data, mu2.Data, ls2.Data, Tensor.Ones([], DType.F64), GaussianReduction.Sum);
        var a = g1!.ToArray<double>(); var b = g3!.ToArray<double>();
        for (int i = 0; i < a.Length; i++) Assert.Equal(-a[i], b[i]);
    }

    [Fact]
    public void NoNodeWithoutGradOrUnderNoGrad()
    {
        using var scope = TensorScope.Begin();
        var rng = Engine.Tests.Support.TestData.Rng();
        var z = F.GaussianSample(new Var(Mu(rng)), new Var(Ls(rng)), 1, 0);
        Assert.True(z.IsLeaf);
        using (GradMode.NoGrad())
        {
            var k = F.KlStdNormal(new Var(Mu(rng), requiresGrad: true), new Var(Ls(rng), requiresGrad: true));
            Assert.True(k.IsLeaf);
        }
    }
}
