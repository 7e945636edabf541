// Float64 finite-difference checks of src/Autograd/Ops/Vq.cs, plus exact checks where a stop-gradient
// makes finite differences inapplicable by design:
//   - VqGather with repeated codes (the gradient of a code is the sum over its rows), alone and under
//     a nonlinearity, and through the codebook loss;
//   - the straight-through estimator, checked where q = x + c: its value then moves with x exactly as
//     the passed-through gradient says, so a rule that dropped, doubled or negated gy fails; and that
//     nothing reaches q (exact);
//   - the commitment loss (gradient to x only; q held constant) and the codebook loss (gradient to q
//     only; x held constant); the fused loss with both weights against the closed form (exact).
using Engine.Autograd;
using Xunit;
using Engine.Tests.Autograd;
using static Engine.Tests.Autograd.Grad;

namespace Engine.Tests.Vq;

public class VqGradTests
{
    private static readonly GradCaseTable Cases = Build();

    private static GradCaseTable Build()
    {
        var t = new GradCaseTable();
        var idx = Idx([3, 0, 3, 3, 1, 4, 0, 3, 1], 9); // code 2 unused, code 3 four times
        t.Add("gather", v => F.VqGather(v[0], idx), rng => [U(rng, [5, 3])]);
        t.Add("gather_then_square", v => F.Square(F.VqGather(v[0], idx)), rng => [U(rng, [5, 3])]);
        t.Add("codebook_loss_through_gather", v => F.VqCodebookLoss(v[0], F.VqGather(v[1], idx)),
            rng => [U(rng, [9, 3]), U(rng, [5, 3])], new() { SkipInputs = [0] });

        // q = x + c: the straight-through value equals x + c, whose derivative is the identity.
        t.Add("straight_through", v => F.StraightThrough(v[0], F.Add(v[0], v[1])), rng => [U(rng, [6, 4]), U(rng, [6, 4])], new() { SkipInputs = [1] });
        t.Add("straight_through_then_square", v => F.Square(F.StraightThrough(v[0], F.Add(v[0], v[1]))),
            rng => [U(rng, [6, 4]), U(rng, [6, 4])], new() { SkipInputs = [1] });

        t.Add("commitment_loss", v => F.VqCommitmentLoss(v[0], v[1], 0.25), rng => [U(rng, [7, 5]), U(rng, [7, 5])], new() { SkipInputs = [1] });
        t.Add("codebook_loss", v => F.VqCodebookLoss(v[0], v[1]), rng => [U(rng, [7, 5]), U(rng, [7, 5])], new() { SkipInputs = [0] });
        t.Add("commitment_loss_4d", v => F.VqCommitmentLoss(v[0], v[1], 1.5), rng => [U(rng, [2, 3, 2, 2]), U(rng, [2, 3, 2, 2])], new() { SkipInputs = [1] });
        return t;
    }

    public static TheoryData<string> Names => Cases.Names();

    [Theory, MemberData(nameof(Names))]
    public void GradCheck(string name) => Check(nameof(VqGradTests), name, Cases[name]);

    [Fact]
    public void FusedLossGradientsAreTheClosedForm()
    {
        using var scope = TensorScope.Begin();
        var rng = Engine.Tests.Support.TestData.Rng(nameof(FusedLossGradientsAreTheClosedForm));
        var xv = U(rng, [4, 3]);
        var qv = U(rng, [4, 3]);
        var x = new Var(xv, requiresGrad: true);
        var q = new Var(qv, requiresGrad: true);
        const double beta = 0.25, cw = 0.75;
        var loss = F.VqLoss(x, q, beta, cw);
        var xs = xv.ToArray<double>();
        var qs = qv.ToArray<double>();
        double mse = xs.Zip(qs, (a, b) => (a - b) * (a - b)).Sum() / xs.Length;
        Assert.Equal((beta + cw) * mse, loss.Item(), 14);
        loss.Backward();
        var gx = x.Grad!.ToArray<double>();
        var gq = q.Grad!.ToArray<double>();
        for (int i = 0; i < xs.Length; i++)
        {
            Assert.Equal(2 * beta / xs.Length * (xs[i] - qs[i]), gx[i], 15);
            Assert.Equal(2 * cw / xs.Length * (qs[i] - xs[i]), gq[i], 15);
        }
    }

    [Fact]
    public void StraightThroughPassesTheGradientToXOnlyAndKeepsQsValue()
    {
        using var scope = TensorScope.Begin();
        var x = new Var(Tensor.FromArray([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [3, 2]), requiresGrad: true);
        var codebook = new Var(Tensor.FromArray([1.0, 2.0, 3.0, 4.0], [2, 2]), requiresGrad: true);
        using var idx = Idx([1, 0, 1], 3);
        var q = F.VqGather(codebook, idx);
        var st = F.StraightThrough(x, q);
        Assert.Equal(q.Data.ToArray<double>(), st.Data.ToArray<double>());
        using var w = Tensor.FromArray([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [3, 2]);
        F.Sum(F.Mul(st, new Var(w))).Backward();
        Assert.Equal(w.ToArray<double>(), x.Grad!.ToArray<double>());
        Assert.Null(codebook.Grad);
    }

    [Fact]
    public void CommitmentLossSendsNothingToTheCodebook()
    {
        using var scope = TensorScope.Begin();
        var x = new Var(Tensor.FromArray([0.1, 0.2, 0.3, 0.4], [2, 2]), requiresGrad: true);
        var codebook = new Var(Tensor.FromArray([1.0, 2.0, 3.0, 4.0], [2, 2]), requiresGrad: true);
        using var idx = Idx([1, 0], 2);
        F.VqCommitmentLoss(x, F.VqGather(codebook, idx), 0.25).Backward();
        Assert.NotNull(x.Grad);
        Assert.Null(codebook.Grad);
    }
}
