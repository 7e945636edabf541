// Building blocks of the ICLR LUD-VAE (VQ-VAE-2 variant): rosinality/vq-vae-2-pytorch's residual
// block, strided encoder and transposed-conv decoder (stage 1 of VQ-VAE-2, same layer order and
// parameter names), the Gaussian posterior head of the degradation VAE, and the fixed Gaussian blur h.
// - VqResBlock(C, R): x + conv1x1(R->C)(relu(conv3x3(C->R)(relu(x)))).
// - VqVae2Encoder(in, C, stride 4): conv4x4/2 (in->C/2), relu, conv4x4/2 (C/2->C), relu, conv3x3 (C->C);
//   stride 2: conv4x4/2 (in->C/2), relu, conv3x3 (C/2->C); then NumRes VqResBlocks and a relu.
// - VqVae2Decoder(in, out, C, stride 4): conv3x3 (in->C), NumRes VqResBlocks, relu, convT4x4/2 (C->C/2),
//   relu, convT4x4/2 (C/2->out); stride 2: ... relu, convT4x4/2 (C->out).
// All convolutions carry a bias and PyTorch's default initialization, as in the template.
using Engine.Autograd;
using Engine.Imaging;
using Engine.Models.Nn;

namespace Engine.Models.Degradation;

/// <summary>rosinality's ResBlock: relu, conv3x3 (C -> R), relu, conv1x1 (R -> C), plus the input.</summary>
public sealed class VqResBlock : Layer
{
    private readonly Conv2d _conv1, _conv2;

    public VqResBlock(ParamInit init, int channels, int resChannels)
    {
        // Children named as the template's Sequential indices ("conv.1", "conv.3").
        var seq = Child("conv", new Sequential(new Act(ActKind.Relu), new Conv2d(init, channels, resChannels, 3, fused: Activation.Relu),
            new Act(ActKind.Identity), new Conv2d(init, resChannels, channels, 1)));
        _conv1 = (Conv2d)seq[1];
        _conv2 = (Conv2d)seq[3];
    }

    public override Var Forward(Var x) => x + _conv2.Forward(_conv1.Forward(F.Relu(x)));

    public static long Count(int c, int r) => (long)c * r * 9 + r + (long)r * c + c;
}

/// <summary>rosinality's Encoder with stride 4 or 2 (output H/stride x W/stride, C channels).</summary>
public sealed class VqVae2Encoder : Layer
{
    public int Stride { get; }
    public Sequential Blocks { get; }

    public VqVae2Encoder(ParamInit init, int inChannels, int channels, int numRes, int resChannels, int stride)
    {
        if (stride is not (2 or 4))
            throw new InvalidArgumentException("VqVae2Encoder", $"stride must be 2 or 4, got {stride}");
        if (channels < 2 || channels % 2 != 0)
            throw new InvalidArgumentException("VqVae2Encoder", $"channels must be even and >= 2, got {channels}");
        Stride = stride;
        int half = channels / 2;
        var seq = stride == 4
            ? new Sequential(new Conv2d(init, inChannels, half, 4, stride: 2, padding: 1, fused: Activation.Relu), new Act(ActKind.Identity),
                             new Conv2d(init, half, channels, 4, stride: 2, padding: 1, fused: Activation.Relu), new Act(ActKind.Identity),
                             new Conv2d(init, channels, channels, 3, padding: 1))
            : new Sequential(new Conv2d(init, inChannels, half, 4, stride: 2, padding: 1, fused: Activation.Relu), new Act(ActKind.Identity),
                             new Conv2d(init, half, channels, 3, padding: 1));
        for (int i = 0; i < numRes; i++) seq.Add(new VqResBlock(init, channels, resChannels));
        seq.Add(new Act(ActKind.Relu));
        Blocks = Child("blocks", seq);
    }

    public override Var Forward(Var x) => Blocks.Forward(x);

    /// <summary>Parameter count from the layer list above.</summary>
    public static long Count(int inC, int c, int numRes, int r, int stride)
    {
        long h = c / 2;
        long convs = stride == 4
            ? inC * h * 16 + h + h * c * 16 + c + (long)c * c * 9 + c
            : inC * h * 16 + h + h * c * 9 + c;
        return convs + numRes * VqResBlock.Count(c, r);
    }
}

/// <summary>rosinality's Decoder with stride 4 or 2 (output H*stride x W*stride, out channels).</summary>
public sealed class VqVae2Decoder : Layer
{
    public Sequential Blocks { get; }

    public VqVae2Decoder(ParamInit init, int inChannels, int outChannels, int channels, int numRes, int resChannels, int stride)
    {
        if (stride is not (2 or 4))
            throw new InvalidArgumentException("VqVae2Decoder", $"stride must be 2 or 4, got {stride}");
        if (channels < 2 || channels % 2 != 0)
            throw new InvalidArgumentException("VqVae2Decoder", $"channels must be even and >= 2, got {channels}");
        var seq = new Sequential(new Conv2d(init, inChannels, channels, 3, padding: 1));
        for (int i = 0; i < numRes; i++) seq.Add(new VqResBlock(init, channels, resChannels));
        seq.Add(new Act(ActKind.Relu));
        if (stride == 4)
        {
            seq.Add(new ConvTranspose2d(init, channels, channels / 2, 4, stride: 2, padding: 1));
            seq.Add(new Act(ActKind.Relu));
            seq.Add(new ConvTranspose2d(init, channels / 2, outChannels, 4, stride: 2, padding: 1));
        }
        else seq.Add(new ConvTranspose2d(init, channels, outChannels, 4, stride: 2, padding: 1));
        Blocks = Child("blocks", seq);
    }

    public override Var Forward(Var x) => Blocks.Forward(x);

    public static long Count(int inC, int outC, int c, int numRes, int r, int stride)
    {
        long h = c / 2;
        long head = (long)inC * c * 9 + c + numRes * VqResBlock.Count(c, r);
        return head + (stride == 4 ? c * h * 16 + h + h * outC * 16 + outC : (long)c * outC * 16 + outC);
    }
}

/// <summary>A diagonal Gaussian head: two parallel 1x1 convs giving mu and log sigma (as LUD-VAE's GauBlock).</summary>
public sealed class GaussianHead : Module
{
    public Conv2d Mu { get; }
    public Conv2d LogSigma { get; }

    public GaussianHead(ParamInit init, int inChannels, int latentChannels)
    {
        Mu = Child("mu", new Conv2d(init, inChannels, latentChannels, 1));
        LogSigma = Child("log_sigma", new Conv2d(init, inChannels, latentChannels, 1));
    }

    public (Var Mu, Var LogSigma) Forward(Var x) => (Mu.Forward(x), LogSigma.Forward(x));

    public static long Count(int inC, int l) => 2 * ((long)inC * l + l);
}

/// <summary>The inference-invariant low-pass h: a depthwise convolution with the normalized
/// size x size Gaussian (outer product of Filters.GaussianKernel1D) after replicate padding, so it
/// runs on any device and equals Filters.GaussianBlur(x, size, sigma, BorderMode.Replicate) up to
/// rounding. The kernel is fixed (no parameters, nothing in the state dict).</summary>
public static class FixedGaussianBlur
{
    public static Var Apply(Var x, int size, double sigma)
    {
        const string op = "FixedGaussianBlur";
        if (x.Rank != 4)
            throw new ShapeMismatchException(op, $"input [{string.Join(", ", x.Shape)}] must be (N, C, H, W)");
        if (size == 1) return x;
        var k1 = Filters.GaussianKernel1D(size, sigma); // validates: odd size, sigma > 0
        int c = x.Size(1), pad = size / 2;
        var taps = new double[c * size * size];
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < size; i++)
                for (int j = 0; j < size; j++) taps[(ch * size + i) * size + j] = k1[i] * k1[j];
        var w = Tensor.FromArray(taps, [c, 1, size, size], x.Data.Device);
        if (x.Data.DType != DType.F64) w = w.To(x.Data.DType);
        var padded = F.Pad2d(x, pad, PadMode.Replicate);
        return F.Conv2d(padded, new Var(w), null, new Conv2dParams(1, 1, 0, 0, 1, 1, c));
    }
}
