// Models.Nn.VectorQuantizer as a Module: what its state dict holds in EMA and gradient mode, that
// Training and Module.Train/Eval are one flag, and that a saved state restores the quantizer exactly
// (same codes, same EMA update afterwards).
using Engine.Autograd;
using Engine.Models.Nn;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Vq;

public class VectorQuantizerModuleTests
{
    [Fact]
    public void State_dict_holds_the_codebook_and_the_ema_statistics()
    {
        using var ema = new VectorQuantizer(new VectorQuantizerOptions { NumCodes = 6, Dim = 3, Seed = 1 });
        Assert.Equal(["cluster_size", "codebook", "embed_sum"], ema.StateDict().Keys.Order(StringComparer.Ordinal));
        Assert.Empty(ema.NamedParameters());
        Assert.Equal(18, ema.CodebookSize);
        using var grad = new VectorQuantizer(new VectorQuantizerOptions { NumCodes = 6, Dim = 3, Decay = 0, Seed = 1 });
        Assert.Equal(["codebook"], grad.StateDict().Keys);
        Assert.Equal(18, grad.ParameterCount());
        Assert.Same(grad.Codebook, grad.NamedParameters().Single().Param);

        ema.Eval();
        Assert.False(ema.Training);
        ema.Training = true;
        Assert.True(ema.IsTraining);
    }

    [Fact]
    public void Loading_a_saved_state_reproduces_codes_and_the_next_ema_update()
    {
        var rng = TestData.Rng();
        var opts = new VectorQuantizerOptions { NumCodes = 8, Dim = 4, Seed = 3 };
        using var a = new VectorQuantizer(opts);
        using var scope = TensorScope.Begin();
        var z1 = Tensor.FromArray(TestData.Floats(rng, 20 * 4, -2, 2), [20, 4]);
        var z2 = Tensor.FromArray(TestData.Floats(rng, 20 * 4, -2, 2), [20, 4]);
        a.Forward(new Var(z1)); // moves the EMA state away from its initialization
        var saved = a.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        using var b = new VectorQuantizer(opts with { Seed = 4 });
        Assert.NotEqual(saved["codebook"].ToDoubleArray(), b.Codebook.Data.ToDoubleArray());
        b.LoadStateDict(saved);
        var oa = a.Forward(new Var(z2));
        var ob = b.Forward(new Var(z2));
        Assert.Equal(oa.Indices.ToArray<int>(), ob.Indices.ToArray<int>());
        Assert.Equal(oa.Quantized.Data.ToDoubleArray(), ob.Quantized.Data.ToDoubleArray());
        foreach (var k in saved.Keys)
            Assert.Equal(a.StateDict()[k].ToDoubleArray(), b.StateDict()[k].ToDoubleArray());
    }
}
