// DnCNN (Zhang et al., TIP 2017), the residual-learning denoiser used to judge synthetic noise:
// D convolutions, 3x3 with padding 1 throughout:
//   layer 1: conv (c -> F) + ReLU; layers 2 .. D-1: conv (F -> F) + BatchNorm(F) + ReLU;
//   layer D: conv (F -> c); output = input - net(input) (the network predicts the noise).
// The layers sit in one Sequential whose indices count the parameter-free ReLUs too, exactly as
// the PyTorch ports build them, so their checkpoints load by name: the original port
// (cszn/DnCNN dncnn_pytorch: prefix "dncnn", bias on the first conv only, BN eps 1e-4 and PyTorch
// momentum 0.95, orthogonal weights, BN gamma 1) and KAIR (network_dncnn.py: prefix "model",
// every conv biased, BN eps 1e-4 and momentum 0.9, orthogonal gain 0.2 (KAIR's clamp to [-1, 1]
// cannot bite at that gain), BN gamma U(0.1, 1)). See docs/specs' DnCNN section for the sources.
using Engine.Autograd;
using Engine.Models.Nn;

namespace Engine.Models.Restoration;

/// <summary>DnCNN's shape and the conventions of the port it follows.</summary>
/// <param name="Channels">Image channels c (1 gray, 3 color).</param>
/// <param name="Depth">Convolution count D (17 for DnCNN-S, 20 for the blind and color models).</param>
/// <param name="Features">Width F of the hidden layers.</param>
/// <param name="AllBiases">Bias on every conv (KAIR); false: on the first conv only (the original port).</param>
/// <param name="BnEps">Batch-norm epsilon.</param>
/// <param name="BnMomentum">Batch-norm momentum in PyTorch's convention (weight of the new batch statistic).</param>
/// <param name="ConvInit">How conv weights start (biases start at zero unless PyTorchDefault).</param>
/// <param name="BnGammaRange">Batch-norm gamma drawn from U(lo, hi); null: ones.</param>
/// <param name="Prefix">Name of the Sequential holding the layers ("dncnn" original, "model" KAIR).</param>
public sealed record DnCnnConfig(
    int Channels = 1, int Depth = 17, int Features = 64, bool AllBiases = false,
    double BnEps = 1e-4, double BnMomentum = 0.95, InitSpec? ConvInit = null,
    (double Lo, double Hi)? BnGammaRange = null, string Prefix = "dncnn")
{
    /// <summary>The original PyTorch port (cszn/DnCNN main_train.py): DnCNN-S with D = 17.</summary>
    public static DnCnnConfig Original(int channels = 1, int depth = 17) => new(channels, depth);

    /// <summary>KAIR's DnCNN (train_dncnn.json init).</summary>
    public static DnCnnConfig Kair(int channels = 1, int depth = 17)
        => new(channels, depth, AllBiases: true, BnMomentum: 0.9, ConvInit: InitSpec.Orthogonal(0.2), BnGammaRange: (0.1, 1.0), Prefix: "model");

    /// <summary>Blind color denoiser as NeCA trains it: KAIR's layout, D = 20, 3 channels.</summary>
    public static DnCnnConfig Blind(int channels = 3) => Kair(channels, 20);

    /// <summary>Parameter count from the layer table: first conv with bias, D-2 hidden convs
    /// (+ bias when AllBiases) each with BN's gamma and beta, last conv (+ bias when AllBiases).</summary>
    public long ExpectedParameterCount()
    {
        long k = 9, c = Channels, f = Features;
        long first = c * f * k + f;
        long mid = f * f * k + (AllBiases ? f : 0) + 2 * f;
        long last = f * c * k + (AllBiases ? c : 0);
        return first + (Depth - 2) * mid + last;
    }
}

public sealed class DnCnn : Layer
{
    public DnCnnConfig Config { get; }
    /// <summary>The layer stack (conv, ReLU, [conv, BN, ReLU] x (D-2), conv): net(y), the predicted noise.</summary>
    public Sequential Body { get; }

    public DnCnn(ParamInit init, DnCnnConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Channels <= 0 || config.Features <= 0 || config.Depth < 2)
            throw new InvalidArgumentException("DnCnn", $"channels {config.Channels} and features {config.Features} must be positive and depth {config.Depth} at least 2");
        if (string.IsNullOrEmpty(config.Prefix) || config.Prefix.Contains('.'))
            throw new InvalidArgumentException("DnCnn", $"prefix must be a non-empty name without '.', got '{config.Prefix}'");
        Config = config;
        var spec = config.ConvInit ?? InitSpec.Orthogonal();
        int c = config.Channels, f = config.Features;
        var seq = new Sequential(new Conv2d(init, c, f, 3, bias: true, spec: spec), new Act(ActKind.Relu));
        for (int i = 0; i < config.Depth - 2; i++)
        {
            seq.Add(new Conv2d(init, f, f, 3, bias: config.AllBiases, spec: spec));
            seq.Add(new BatchNorm2d(init, f, config.BnEps, config.BnMomentum, weightInit: config.BnGammaRange));
            seq.Add(new Act(ActKind.Relu));
        }
        seq.Add(new Conv2d(init, f, c, 3, bias: config.AllBiases, spec: spec));
        Body = Child(config.Prefix, seq);
    }

    /// <summary>The predicted noise net(y), (N, c, H, W).</summary>
    public Var PredictNoise(Var y)
    {
        if (y.Rank != 4 || y.Shape[1] != Config.Channels)
            throw new ShapeMismatchException("DnCnn", $"expects (N, {Config.Channels}, H, W), got {Fmt.Shape(y.Shape)}");
        return Body.Forward(y);
    }

    /// <summary>The denoised image y - net(y).</summary>
    public override Var Forward(Var y) => y - PredictNoise(y);
}
