// Residual building blocks: the plain residual block (conv-act-conv + skip, with EDSR's residual
// scale), ESRGAN's residual dense block (five 3x3 convs, each seeing the concatenation of all
// earlier outputs, leaky ReLU 0.2, output scaled by 0.2 and added to the input) and the RRDB
// (three dense blocks, again scaled by 0.2 around a skip). Parameter names match BasicSR's
// RRDBNet (conv1..conv5, rdb1..rdb3) so its state dicts load by name.
using Engine.Autograd;

namespace Engine.Models.Nn;

public sealed class ResidualBlock : Layer
{
    public double ResidualScale { get; }
    public Conv2d Conv1 { get; }
    public Conv2d Conv2 { get; }

    public ResidualBlock(ParamInit init, int channels, int kernel = 3, double residualScale = 1.0, ActKind act = ActKind.Relu, InitSpec? spec = null)
    {
        ResidualScale = residualScale;
        var fused = act == ActKind.Relu ? Activation.Relu : act == ActKind.LeakyRelu ? Activation.LeakyRelu(0.2) : default;
        if (act is not (ActKind.Relu or ActKind.LeakyRelu))
            throw new InvalidArgumentException("ResidualBlock", $"activation must be Relu or LeakyRelu, got {act}");
        Conv1 = Child("conv1", new Conv2d(init, channels, channels, kernel, spec: spec, fused: fused));
        Conv2 = Child("conv2", new Conv2d(init, channels, channels, kernel, spec: spec));
    }

    public override Var Forward(Var x)
    {
        var r = Conv2.Forward(Conv1.Forward(x));
        return ResidualScale == 1.0 ? x + r : x + r * ResidualScale;
    }
}

/// <summary>ESRGAN's ResidualDenseBlock_5C: features nf, growth gc.</summary>
public sealed class ResidualDenseBlock : Layer
{
    public const double ResidualScale = 0.2, Slope = 0.2;
    private readonly Conv2d[] _convs;

    public ResidualDenseBlock(ParamInit init, int nf = 64, int gc = 32, InitSpec? spec = null)
    {
        spec ??= InitSpec.Esrgan();
        _convs = new Conv2d[5];
        for (int i = 0; i < 5; i++)
        {
            int inCh = nf + i * gc, outCh = i < 4 ? gc : nf;
            _convs[i] = Child($"conv{i + 1}", new Conv2d(init, inCh, outCh, 3, spec: spec, fused: i < 4 ? Activation.LeakyRelu(Slope) : default));
        }
    }

    public override Var Forward(Var x)
    {
        var feats = new List<Var> { x };
        for (int i = 0; i < 4; i++) feats.Add(_convs[i].Forward(feats.Count == 1 ? x : F.Concat(feats, 1)));
        var x5 = _convs[4].Forward(F.Concat(feats, 1));
        return x5 * ResidualScale + x;
    }
}

/// <summary>Residual-in-residual dense block: three dense blocks, scaled by 0.2, plus the input.</summary>
public sealed class Rrdb : Layer
{
    public const double ResidualScale = 0.2;
    private readonly ResidualDenseBlock[] _blocks;

    public Rrdb(ParamInit init, int nf = 64, int gc = 32, InitSpec? spec = null)
    {
        _blocks = [Child("rdb1", new ResidualDenseBlock(init, nf, gc, spec)),
                   Child("rdb2", new ResidualDenseBlock(init, nf, gc, spec)),
                   Child("rdb3", new ResidualDenseBlock(init, nf, gc, spec))];
    }

    public override Var Forward(Var x)
    {
        var h = x;
        foreach (var b in _blocks) h = b.Forward(h);
        return h * ResidualScale + x;
    }
}
