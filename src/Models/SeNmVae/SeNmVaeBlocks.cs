// SeNM-VAE's building blocks (ludvae-senmvae.md §2.3, §2.7, §2.9): the Gaussian head (two separate
// RDB + zero-weight 1x1 branches for the mean and the log standard deviation), the pixel-unshuffle
// down and pixel-shuffle up layers, the degradation-level predictor and the PatchGAN discriminator.
// The official checkpoints are not available here, so state-dict names are ours (documented in
// README.md (section senmvae)), not verified against released weights.
using Engine.Autograd;
using Engine.Models.Nn;

namespace Engine.Models.SeNmVae;

/// <summary>GauBlock(in -> out): mu = conv1x1(RDB_m(u)), ls = conv1x1(RDB_v(u)); the 1x1 weights
/// start at zero (biases keep PyTorch's default), so at init mu = bias and sigma = exp(bias).</summary>
public sealed class SeNmGauBlock : Module
{
    public ResidualDenseBlock RdbM { get; }
    public Conv2d ConvM { get; }
    public ResidualDenseBlock RdbV { get; }
    public Conv2d ConvV { get; }

    public SeNmGauBlock(ParamInit init, int inChannels, int outChannels, int growth)
    {
        RdbM = Child("rdb_m", new ResidualDenseBlock(init, inChannels, growth));
        ConvM = Child("conv_m", new Conv2d(init, inChannels, outChannels, 1, spec: InitSpec.ZeroWeight));
        RdbV = Child("rdb_v", new ResidualDenseBlock(init, inChannels, growth));
        ConvV = Child("conv_v", new Conv2d(init, inChannels, outChannels, 1, spec: InitSpec.ZeroWeight));
    }

    public (Var Mu, Var LogSigma) Forward(Var u) => (ConvM.Forward(RdbM.Forward(u)), ConvV.Forward(RdbV.Forward(u)));
}

/// <summary>DownSample(nf -> nf): PixelUnshuffle(2) then conv3x3(4 nf -> nf), default init.</summary>
public sealed class SeNmDown : Layer
{
    public Conv2d Conv { get; }
    public SeNmDown(ParamInit init, int nf) { Conv = Child("conv", new Conv2d(init, 4 * nf, nf, 3)); }
    public override Var Forward(Var x) => Conv.Forward(F.PixelUnshuffle(x, 2)); // (N, nf, H, W) -> (N, nf, H/2, W/2)
}

/// <summary>UpSample(nf -> nf): PixelShuffle(2) then conv3x3(nf / 4 -> nf), default init.</summary>
public sealed class SeNmUp : Layer
{
    public Conv2d Conv { get; }
    public SeNmUp(ParamInit init, int nf) { Conv = Child("conv", new Conv2d(init, nf / 4, nf, 3)); }
    public override Var Forward(Var x) => Conv.Forward(F.PixelShuffle(x, 2)); // (N, nf, H, W) -> (N, nf, 2H, 2W)
}

/// <summary>The degradation-level predictor (network_nlnet.py): four 4x4 stride-2 convs (w, 2w, 4w,
/// 8w; ReLU between), global average pool, Linear 8w -> 4w -> 2w -> 1 with ReLUs; no output
/// activation. Returns (N, 1, 1, 1) levels on the 0..1 scale.</summary>
public sealed class SeNmLevelNet : Module
{
    private readonly Conv2d[] _convs;
    private readonly Linear[] _fcs;

    public SeNmLevelNet(ParamInit init, int channels, int width)
    {
        _convs = new Conv2d[4];
        int c = channels;
        for (int i = 0; i < 4; i++)
        {
            int o = width << i;
            _convs[i] = Child($"conv{i + 1}", new Conv2d(init, c, o, 4, stride: 2, padding: 1, fused: i < 3 ? Activation.Relu : default));
            c = o;
        }
        _fcs = [Child("fc1", new Linear(init, c, c / 2)), Child("fc2", new Linear(init, c / 2, c / 4)), Child("fc3", new Linear(init, c / 4, 1))];
    }

    public Var Forward(Var y)
    {
        if (y.Shape[2] < 16 || y.Shape[3] < 16)
            throw new ShapeMismatchException("SeNmLevelNet", $"needs images of at least 16 x 16 (four stride-2 convs), got {Fmt.Shape(y.Shape)}");
        var h = y;
        foreach (var c in _convs) h = c.Forward(h);
        var v = F.Mean(h, [2, 3]); // (N, 8w)
        v = F.Relu(_fcs[0].Forward(v));
        v = F.Relu(_fcs[1].Forward(v));
        return F.Reshape(_fcs[2].Forward(v), v.Shape[0], 1, 1, 1);
    }
}

/// <summary>pix2pix's NLayerDiscriminator (n_layers 3, ndf w): conv4x4 s2 (bias) LReLU, then
/// w->2w s2, 2w->4w s2, 4w->8w s1 (no bias, BatchNorm, LReLU), conv4x4 s1 8w->1 (bias); a patch map
/// of logits (6 x 6 for 64 x 64 inputs).</summary>
public sealed class SeNmPatchGan : Module
{
    private readonly Conv2d[] _convs;
    private readonly BatchNorm2d[] _norms;

    public SeNmPatchGan(ParamInit init, int channels, int width)
    {
        _convs = new Conv2d[5];
        _norms = new BatchNorm2d[3];
        _convs[0] = Child("conv0", new Conv2d(init, channels, width, 4, stride: 2, padding: 1, fused: Activation.LeakyRelu(0.2)));
        int c = width;
        for (int i = 1; i <= 3; i++)
        {
            int o = width << i;
            _convs[i] = Child($"conv{i}", new Conv2d(init, c, o, 4, stride: i < 3 ? 2 : 1, padding: 1, bias: false));
            _norms[i - 1] = Child($"norm{i}", new BatchNorm2d(init, o));
            c = o;
        }
        _convs[4] = Child("conv4", new Conv2d(init, c, 1, 4, stride: 1, padding: 1));
    }

    public Var Forward(Var x)
    {
        if (x.Shape[2] < 24 || x.Shape[3] < 24)
            throw new ShapeMismatchException("SeNmPatchGan", $"needs images of at least 24 x 24 (three stride-2 and two 4x4 convs), got {Fmt.Shape(x.Shape)}");
        var h = _convs[0].Forward(x);
        for (int i = 1; i <= 3; i++) h = F.LeakyRelu(_norms[i - 1].Forward(_convs[i].Forward(h)), 0.2);
        return _convs[4].Forward(h);
    }
}
