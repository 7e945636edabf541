// Basic layers: convolution (with an optionally fused ReLU/leaky-ReLU epilogue), transposed
// convolution, linear, activation, and pixel-shuffle up/down blocks. Weight layouts and parameter
// names are PyTorch's (weight, bias; conv (out, in/groups, kh, kw), transposed conv
// (in, out/groups, kh, kw), linear (out, in)) so state dicts load across.
using Engine.Autograd;

namespace Engine.Models.Nn;

public sealed class Conv2d : Layer
{
    public int InChannels { get; }
    public int OutChannels { get; }
    public int Kernel { get; }
    public Conv2dParams Options { get; }
    /// <summary>Activation applied inside the convolution's output pass (one write instead of two).</summary>
    public Activation Fused { get; }
    public Var Weight { get; }
    public Var? Bias { get; }

    public Conv2d(ParamInit init, int inChannels, int outChannels, int kernel, int stride = 1, int padding = -1,
                  bool bias = true, int groups = 1, InitSpec? spec = null, Activation fused = default)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernel <= 0 || stride <= 0 || groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new InvalidArgumentException("Conv2d", $"in {inChannels}, out {outChannels}, kernel {kernel}, stride {stride}, groups {groups}: all positive, channels divisible by groups");
        spec ??= InitSpec.Default;
        if (padding < 0) padding = kernel / 2; // "same" for odd kernels
        InChannels = inChannels; OutChannels = outChannels; Kernel = kernel; Fused = fused;
        Options = new Conv2dParams(stride, stride, padding, padding, 1, 1, groups);
        long fanIn = (long)inChannels / groups * kernel * kernel, fanOut = (long)outChannels / groups * kernel * kernel;
        Weight = Param("weight", init.Weight([outChannels, inChannels / groups, kernel, kernel], fanIn, fanOut, spec));
        if (bias) Bias = Param("bias", init.Bias(outChannels, fanIn, spec));
    }

    public override Var Forward(Var x) => F.Conv2d(x, Weight, Bias, Options, Fused);
}

public sealed class ConvTranspose2d : Layer
{
    public Conv2dParams Options { get; }
    public int OutputPadding { get; }
    public Var Weight { get; }
    public Var? Bias { get; }

    public ConvTranspose2d(ParamInit init, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0,
                           int outputPadding = 0, bool bias = true, int groups = 1, InitSpec? spec = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernel <= 0 || stride <= 0 || groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new InvalidArgumentException("ConvTranspose2d", $"in {inChannels}, out {outChannels}, kernel {kernel}, stride {stride}, groups {groups}: all positive, channels divisible by groups");
        spec ??= InitSpec.Default;
        Options = new Conv2dParams(stride, stride, padding, padding, 1, 1, groups);
        OutputPadding = outputPadding;
        long fanIn = (long)outChannels / groups * kernel * kernel, fanOut = (long)inChannels / groups * kernel * kernel;
        Weight = Param("weight", init.Weight([inChannels, outChannels / groups, kernel, kernel], fanIn, fanOut, spec));
        if (bias) Bias = Param("bias", init.Bias(outChannels, fanIn, spec));
    }

    public override Var Forward(Var x) => F.ConvTranspose2d(x, Weight, Bias, Options, OutputPadding, OutputPadding);
}

public sealed class Linear : Layer
{
    public Var Weight { get; }
    public Var? Bias { get; }

    public Linear(ParamInit init, int inFeatures, int outFeatures, bool bias = true, InitSpec? spec = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new InvalidArgumentException("Linear", $"in {inFeatures} and out {outFeatures} features must be positive");
        spec ??= InitSpec.Default;
        Weight = Param("weight", init.Weight([outFeatures, inFeatures], inFeatures, outFeatures, spec));
        if (bias) Bias = Param("bias", init.Bias(outFeatures, inFeatures, spec));
    }

    public override Var Forward(Var x) => F.Linear(x, Weight, Bias);
}

public enum ActKind { Identity, Relu, LeakyRelu, Sigmoid, Tanh, Gelu, Elu, Softplus }

/// <summary>A parameter-free activation as a layer (for Sequential).</summary>
public sealed class Act(ActKind kind, double slope = 0.2) : Layer
{
    public ActKind Kind { get; } = kind;

    public override Var Forward(Var x) => Apply(Kind, x, slope);

    public static Var Apply(ActKind kind, Var x, double slope = 0.2) => kind switch
    {
        ActKind.Identity => x,
        ActKind.Relu => F.Relu(x),
        ActKind.LeakyRelu => F.LeakyRelu(x, slope),
        ActKind.Sigmoid => F.Sigmoid(x),
        ActKind.Tanh => F.Tanh(x),
        ActKind.Gelu => F.Gelu(x),
        ActKind.Elu => F.Elu(x),
        ActKind.Softplus => F.Softplus(x),
        _ => throw new InvalidArgumentException("Act", $"unknown activation {kind}"),
    };
}

/// <summary>Sub-pixel upsampling by r: a 3x3 conv to C*r^2 channels, then pixel shuffle
/// (ESPCN/EDSR's upsampler; weights "conv.weight", "conv.bias").</summary>
public sealed class PixelShuffleUp : Layer
{
    public int Factor { get; }
    public Conv2d Conv { get; }

    public PixelShuffleUp(ParamInit init, int channels, int factor, int outChannels = -1, InitSpec? spec = null)
    {
        if (factor < 2) throw new InvalidArgumentException("PixelShuffleUp", $"factor must be >= 2, got {factor}");
        Factor = factor;
        Conv = Child("conv", new Conv2d(init, channels, (outChannels > 0 ? outChannels : channels) * factor * factor, 3, spec: spec));
    }

    public override Var Forward(Var x) => F.PixelShuffle(Conv.Forward(x), Factor);
}

/// <summary>Space-to-depth downsampling by r (pixel unshuffle: C -> C*r^2 channels), then an
/// optional 1x1 or 3x3 conv to a chosen width (kernel 0: no conv).</summary>
public sealed class PixelUnshuffleDown : Layer
{
    public int Factor { get; }
    public Conv2d? Conv { get; }

    public PixelUnshuffleDown(ParamInit init, int channels, int factor, int outChannels = -1, int kernel = 3, InitSpec? spec = null)
    {
        if (factor < 2) throw new InvalidArgumentException("PixelUnshuffleDown", $"factor must be >= 2, got {factor}");
        Factor = factor;
        if (kernel > 0) Conv = Child("conv", new Conv2d(init, channels * factor * factor, outChannels > 0 ? outChannels : channels * factor * factor, kernel, spec: spec));
    }

    public override Var Forward(Var x)
    {
        var y = F.PixelUnshuffle(x, Factor);
        return Conv != null ? Conv.Forward(y) : y;
    }
}
