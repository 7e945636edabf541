// The README's "Using the engine from code" example, verbatim, so the documentation cannot rot.
using Engine.Autograd;
using Xunit;

namespace Engine.Tests.Docs;

public class ReadmeExampleTests
{
    [Fact]
    public void UsingTheEngineFromCodeRuns()
    {
        using var scope = TensorScope.Begin();                 // frees every temporary at the end
        var x = new Var(Tensor.Normal([8, 3, 32, 32], seed: 1));
        var w = new Var(Tensor.Normal([16, 3, 3, 3], seed: 2, std: 0.1), requiresGrad: true);
        var y = F.Relu(F.Conv2d(x, w, padding: 1));
        var loss = F.Mean(F.Square(y));
        loss.Backward();                                       // w.Grad now holds dLoss/dw

        Assert.NotNull(w.Grad);
        Assert.Equal(w.Shape, w.Grad!.Shape);
        Assert.True(loss.Item() > 0);
        Assert.Contains(w.Grad.ToArray<float>(), g => g != 0);
    }

    [Fact]
    public void ReadmeErrorMessageExampleIsWhatTheEngineSays()
    {
        using var scope = TensorScope.Begin();
        var ex = Assert.ThrowsAny<EngineException>(() => Ops.Matmul(Tensor.Zeros([2, 3]), Tensor.Zeros([4, 5])));
        Assert.Equal("Matmul: shape mismatch: inner dims differ: [2, 3] @ [4, 5] (3 vs 4)", ex.Message);
    }
}
