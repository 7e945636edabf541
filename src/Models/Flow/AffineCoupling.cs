// DeFlow's conditional affine coupling and affine injector (spec 3.6; FlowAffineCouplingsAblation
// CondAffineSeparatedAndCond, split into its two halves so a flow step can order them):
//   AffineCoupling (fAffine): z1 = first C/2 channels, z2 = the rest; h = F([z1 || cond]) with
//     2 (C - C/2) channels; z2 is transformed, z1 passes through.
//   AffineInjector (fFeatures): h = F(cond) with 2C channels; all C channels are transformed.
// h is split "cross" (shift = even channels, raw scale = odd), scale = sigmoid(raw + 2) + eps, by
// the fused epilogue (Ops.AffineEpilogue), which also gives the per-sample logdet.
// multReverse (DeFlow: true, every config) swaps the directions of SRFlow's formulas:
//   Forward (encode)  y = x / scale - shift, logdet = -sum log scale;
//   Inverse (decode)  x = (y + shift) * scale, logdet = +sum log scale;
// so sampling only multiplies by scales in (eps, 1 + eps). multReverse = false is SRFlow's pair.
// In a DeFlow flow step the encode order is ActNorm -> InvConv -> coupling -> injector (FlowSequence
// of the two, in that order); decode runs the reverse.
using Engine.Autograd;

namespace Engine.Models.Flow;

public sealed class AffineCoupling : IFlowLayer, IDataInitialized
{
    public const double DefaultEps = 0.001; // DeFlow configs (the code default is 1e-4)

    public int Channels { get; }
    public int CondChannels { get; }
    public double Eps { get; }
    public bool MultReverse { get; }
    public DType DType { get; }
    public Device Device { get; }
    /// <summary>Channels that condition the transform (z1), C / 2.</summary>
    public int NnChannels => Channels / 2;
    /// <summary>Channels that are transformed (z2), C - C / 2.</summary>
    public int CoChannels => Channels - Channels / 2;
    /// <summary>fAffine = F(C/2 + condChannels -> 2 (C - C/2), hidden).</summary>
    public CondNet Net { get; }

    public AffineCoupling(int channels, int condChannels, int hidden, double eps = DefaultEps, bool multReverse = true, ulong seed = 0, DType dtype = DType.F32, Device? device = null)
    {
        if (channels < 2) throw new InvalidArgumentException("AffineCoupling", $"needs at least 2 channels, got {channels}");
        if (condChannels < 0) throw new InvalidArgumentException("AffineCoupling", $"conditioning channels must be >= 0, got {condChannels}");
        if (!(eps >= 0) || !double.IsFinite(eps)) throw new InvalidArgumentException("AffineCoupling", $"eps must be finite and >= 0, got {eps}");
        Channels = channels; CondChannels = condChannels; Eps = eps; MultReverse = multReverse; DType = dtype; Device = device ?? Device.Cpu;
        Net = new CondNet(NnChannels + condChannels, 2 * CoChannels, hidden, seed, dtype, Device);
    }

    private Var NetInput(Var z1, Var? cond) => cond == null ? z1 : F.Concat([z1, cond], 1);

    private (Var z1, Var z2) Halves(Var z, Var? cond)
    {
        FlowLayers.CheckInput("AffineCoupling", z, Channels, DType, Device);
        FlowLayers.CheckCond("AffineCoupling", z, cond, CondChannels);
        return (F.Narrow(z, 1, 0, NnChannels), F.Narrow(z, 1, NnChannels, CoChannels));
    }

    public (Var y, Var logdet) Forward(Var x, Var? cond = null)
    {
        var (z1, z2) = Halves(x, cond);
        var h = Net.Forward(NetInput(z1, cond));
        var (y2, ld) = MultReverse ? F.AffineEpilogueInverse(z2, h, Eps) : F.AffineEpilogue(z2, h, Eps);
        return (F.Concat([z1, y2], 1), ld);
    }

    public (Var x, Var logdet) Inverse(Var y, Var? cond = null)
    {
        var (z1, z2) = Halves(y, cond);
        var h = Net.Forward(NetInput(z1, cond));
        var (x2, ld) = MultReverse ? F.AffineEpilogue(z2, h, Eps) : F.AffineEpilogueInverse(z2, h, Eps);
        return (F.Concat([z1, x2], 1), ld);
    }

    public bool Initialized => Net.Initialized;

    public bool Initialize(Var x, Var? cond = null, bool force = false)
    {
        var (z1, _) = Halves(x, cond);
        return Net.Initialize(NetInput(z1, cond), null, force);
    }

    public IEnumerable<(string name, Var p)> Parameters() => FlowLayers.Prefixed("fAffine", Net.Parameters());
    public IEnumerable<(string name, Tensor t)> Buffers() => FlowLayers.Prefixed("fAffine", Net.Buffers());
}

public sealed class AffineInjector : IFlowLayer, IDataInitialized
{
    public int Channels { get; }
    public int CondChannels { get; }
    public double Eps { get; }
    public bool MultReverse { get; }
    public DType DType { get; }
    public Device Device { get; }
    /// <summary>fFeatures = F(condChannels -> 2C, hidden).</summary>
    public CondNet Net { get; }

    public AffineInjector(int channels, int condChannels, int hidden, double eps = AffineCoupling.DefaultEps, bool multReverse = true, ulong seed = 0, DType dtype = DType.F32, Device? device = null)
    {
        if (channels < 1) throw new InvalidArgumentException("AffineInjector", $"channels must be positive, got {channels}");
        if (condChannels < 1) throw new InvalidArgumentException("AffineInjector", $"needs conditioning channels, got {condChannels}");
        if (!(eps >= 0) || !double.IsFinite(eps)) throw new InvalidArgumentException("AffineInjector", $"eps must be finite and >= 0, got {eps}");
        Channels = channels; CondChannels = condChannels; Eps = eps; MultReverse = multReverse; DType = dtype; Device = device ?? Device.Cpu;
        Net = new CondNet(condChannels, 2 * channels, hidden, seed, dtype, Device);
    }

    private void Check(Var z, Var? cond)
    {
        FlowLayers.CheckInput("AffineInjector", z, Channels, DType, Device);
        FlowLayers.CheckCond("AffineInjector", z, cond, CondChannels);
    }

    public (Var y, Var logdet) Forward(Var x, Var? cond = null)
    {
        Check(x, cond);
        return ForwardWith(x, Net.Forward(cond!));
    }

    public (Var x, Var logdet) Inverse(Var y, Var? cond = null)
    {
        Check(y, cond);
        return InverseWith(y, Net.Forward(cond!));
    }

    /// <summary>Forward with the network output h = F(cond) given (e.g. computed once and reused).</summary>
    public (Var y, Var logdet) ForwardWith(Var x, Var h) => MultReverse ? F.AffineEpilogueInverse(x, h, Eps) : F.AffineEpilogue(x, h, Eps);

    /// <summary>Inverse with the network output h = F(cond) given.</summary>
    public (Var x, Var logdet) InverseWith(Var y, Var h) => MultReverse ? F.AffineEpilogue(y, h, Eps) : F.AffineEpilogueInverse(y, h, Eps);

    public bool Initialized => Net.Initialized;

    public bool Initialize(Var x, Var? cond = null, bool force = false)
    {
        Check(x, cond);
        return Net.Initialize(cond!, null, force);
    }

    public IEnumerable<(string name, Var p)> Parameters() => FlowLayers.Prefixed("fFeatures", Net.Parameters());
    public IEnumerable<(string name, Tensor t)> Buffers() => FlowLayers.Prefixed("fFeatures", Net.Buffers());
}
