// RRDBNet, the ESRGAN generator, as BasicSR defines it (basicsr/archs/rrdbnet_arch.py), with its
// parameter names so BasicSR checkpoints load by name:
//   conv_first (c_in' -> nf) ; feat = that + conv_body(body(that)), body = N x RRDB (body.{i}.rdb1.conv1 ...)
//   nearest x2 -> conv_up1 -> lrelu(0.2) ; nearest x2 -> conv_up2 -> lrelu(0.2)
//   conv_hr -> lrelu(0.2) -> conv_last (nf -> c_out); no output clamp.
// Scales 2 and 1 pixel-unshuffle the input by 2 or 4 first (c_in' = 4 c_in or 16 c_in); the two
// x2 upsampling stages are always there, so the output is `scale` times the input.
// Init as BasicSR: every RDB conv Kaiming-normal x 0.1 with zero bias (InitSpec.Esrgan); the other
// convs keep PyTorch's default.
using Engine.Autograd;
using Engine.Models.Nn;

namespace Engine.Models.Restoration;

/// <summary>RRDBNet's shape: channels in/out, features nf, growth gc, RRDB count, scale (4, 2 or 1).</summary>
public sealed record RrdbNetConfig(int InChannels = 3, int OutChannels = 3, int Features = 64, int Growth = 32, int Blocks = 23, int Scale = 4)
{
    /// <summary>ESRGAN x4: nf 64, gc 32, 23 blocks; 16,697,987 parameters.</summary>
    public static readonly RrdbNetConfig Esrgan = new();

    /// <summary>A CPU-sized variant: nf 32, gc 16, 3 blocks, x4.</summary>
    public static readonly RrdbNetConfig Small = new(Features: 32, Growth: 16, Blocks: 3);

    /// <summary>Input channels after the scale's pixel unshuffle (what conv_first sees).</summary>
    public int FirstConvInChannels => InChannels * (Scale == 4 ? 1 : Scale == 2 ? 4 : 16);
}

public sealed class RrdbNet : Layer
{
    public const double Slope = 0.2;
    public RrdbNetConfig Config { get; }
    public Conv2d ConvFirst { get; }
    public Sequential Body { get; }
    public Conv2d ConvBody { get; }
    public Conv2d ConvUp1 { get; }
    public Conv2d ConvUp2 { get; }
    public Conv2d ConvHr { get; }
    public Conv2d ConvLast { get; }

    public RrdbNet(ParamInit init, RrdbNetConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.InChannels <= 0 || config.OutChannels <= 0 || config.Features <= 0 || config.Growth <= 0 || config.Blocks < 0)
            throw new InvalidArgumentException("RrdbNet", $"channels {config.InChannels}->{config.OutChannels}, nf {config.Features}, gc {config.Growth} must be positive and blocks {config.Blocks} non-negative");
        if (config.Scale is not (1 or 2 or 4))
            throw new InvalidArgumentException("RrdbNet", $"scale must be 1, 2 or 4, got {config.Scale}");
        Config = config;
        int nf = config.Features;
        var lrelu = Activation.LeakyRelu(Slope);
        ConvFirst = Child("conv_first", new Conv2d(init, config.FirstConvInChannels, nf, 3));
        var body = new Sequential();
        for (int i = 0; i < config.Blocks; i++) body.Add(new Rrdb(init, nf, config.Growth, InitSpec.Esrgan()));
        Body = Child("body", body);
        ConvBody = Child("conv_body", new Conv2d(init, nf, nf, 3));
        ConvUp1 = Child("conv_up1", new Conv2d(init, nf, nf, 3, fused: lrelu));
        ConvUp2 = Child("conv_up2", new Conv2d(init, nf, nf, 3, fused: lrelu));
        ConvHr = Child("conv_hr", new Conv2d(init, nf, nf, 3, fused: lrelu));
        ConvLast = Child("conv_last", new Conv2d(init, nf, config.OutChannels, 3));
    }

    /// <summary>(N, c_in, H, W) -> (N, c_out, scale H, scale W); H and W divisible by 4 / scale.</summary>
    public override Var Forward(Var x)
    {
        int div = 4 / Config.Scale;
        if (x.Rank != 4 || x.Shape[1] != Config.InChannels || x.Shape[2] % div != 0 || x.Shape[3] % div != 0)
            throw new ShapeMismatchException("RrdbNet", $"scale {Config.Scale} expects (N, {Config.InChannels}, H, W) with H and W divisible by {div}, got {Fmt.Shape(x.Shape)}");
        var h = div > 1 ? F.PixelUnshuffle(x, div) : x;
        var feat = ConvFirst.Forward(h);                      // (N, nf, H', W')
        feat = feat + ConvBody.Forward(Body.Forward(feat));
        int hh = feat.Shape[2], ww = feat.Shape[3];
        feat = ConvUp1.Forward(F.UpsampleNearest(feat, 2 * hh, 2 * ww));
        feat = ConvUp2.Forward(F.UpsampleNearest(feat, 4 * hh, 4 * ww));
        return ConvLast.Forward(ConvHr.Forward(feat));        // (N, c_out, 4 H', 4 W')
    }
}
