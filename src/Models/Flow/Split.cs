// Split with a learned conditional prior (spec 3.8; DeFlow Split.Split2d). Of C channels the first
// Pass = C - round(C * consumeRatio) are kept (z1) and the last Consume are emitted (z2), scored
// under a Gaussian whose mean and log-sigma come from a Conv2dZeros 3x3 on z1 (and, when
// condChannels > 0, on [z1 || cond]; DeFlow's configs use none), split "cross": mean = even
// channels, logs = odd channels.
//   Encode: eps = (z2 - mean) / (exp(logs) + 1e-6); Jacobian logdet = -sum logs (the 1e-6 is in
//           the division only, as in the reference; it shifts the true log|det| by ~1e-6/exp(logs)).
//   Decode: z2 = mean + exp(logs) * eps (no 1e-6), x = [z1 || z2]; Jacobian logdet = +sum logs.
// Forward / Inverse add the log-density of eps under the standard normal (domain X's prior; DeFlow
// scores domain Y's eps under N(mu, I + M M^T) at the model level, which calls Encode / Decode and
// supplies its own prior). Forward: logdet = log N(eps; 0, I) - sum logs; Inverse draws
// eps ~ N(0, T^2 I) (T = Temperature, Philox with SampleSeed and an advancing offset) and returns
// the exact negative, sum logs - log N(eps; 0, I).
using Engine.Autograd;

namespace Engine.Models.Flow;

public sealed class Split : IFlowLayer
{
    public const double DivisionEps = 1e-6;
    /// <summary>The constant added to exp(logs) in Encode's division (DivisionEps by default, as the
    /// reference; 0 makes Encode and Decode exact inverses).</summary>
    public double DivEps { get; }
    private static readonly double Log2Pi = Math.Log(2 * Math.PI);

    public int Channels { get; }
    public int CondChannels { get; }
    public int Pass { get; }
    public int Consume { get; }
    public DType DType { get; }
    public Device Device { get; }
    public Conv2dZeros Conv { get; }
    /// <summary>Standard deviation of the draws of Inverse (DeFlow's eps_std).</summary>
    public double Temperature { get; set; } = 1.0;
    public ulong SampleSeed { get; set; }
    private ulong _offset;

    public Split(int channels, int condChannels = 0, double consumeRatio = 0.5, ulong sampleSeed = 0, DType dtype = DType.F32, Device? device = null, double divisionEps = DivisionEps)
    {
        // int(round(C * ratio)) with Python's round half to even
        int consume = (int)Math.Round(channels * consumeRatio, MidpointRounding.ToEven);
        if (channels < 2 || consume < 1 || consume >= channels)
            throw new InvalidArgumentException("Split", $"{channels} channels with consume ratio {consumeRatio} leave nothing to keep or to emit");
        if (condChannels < 0) throw new InvalidArgumentException("Split", $"conditioning channels must be >= 0, got {condChannels}");
        if (!(divisionEps >= 0) || !double.IsFinite(divisionEps)) throw new InvalidArgumentException("Split", $"division eps must be finite and >= 0, got {divisionEps}");
        DivEps = divisionEps;
        Channels = channels; CondChannels = condChannels; Consume = consume; Pass = channels - consume;
        DType = dtype; Device = device ?? Device.Cpu; SampleSeed = sampleSeed;
        Conv = new Conv2dZeros(Pass + condChannels, 2 * consume, 3, dtype, Device);
    }

    /// <summary>(mean, logs) of the prior of z2, each (N, Consume, H, W).</summary>
    public (Var mean, Var logs) Prior(Var z1, Var? cond = null)
    {
        var h = Conv.Forward(cond == null ? z1 : F.Concat([z1, cond], 1));
        return (F.Slice(h, 1, 0, 2 * Consume, 2), F.Slice(h, 1, 1, 2 * Consume, 2));
    }

    /// <summary>Encode: the kept half, the emitted latent eps and the Jacobian logdet -sum logs.</summary>
    public (Var kept, Var eps, Var logdet) Encode(Var x, Var? cond = null)
    {
        FlowLayers.CheckInput("Split", x, Channels, DType, Device);
        FlowLayers.CheckCond("Split", x, cond, CondChannels);
        var z1 = F.Narrow(x, 1, 0, Pass);
        var z2 = F.Narrow(x, 1, Pass, Consume);
        var (mean, logs) = Prior(z1, cond);
        var eps = F.Div(F.Sub(z2, mean), F.Add(F.Exp(logs), DivEps));
        return (z1, eps, F.Neg(F.Sum(logs, [1, 2, 3])));
    }

    /// <summary>Decode from the kept half and a latent eps: x and the Jacobian logdet +sum logs.</summary>
    public (Var x, Var logdet) Decode(Var kept, Var eps, Var? cond = null)
    {
        FlowLayers.CheckInput("Split", kept, Pass, DType, Device, "kept half");
        FlowLayers.CheckCond("Split", kept, cond, CondChannels);
        var e = eps.Data;
        if (e.Rank != 4 || e.Size(0) != kept.Size(0) || e.Size(1) != Consume || e.Size(2) != kept.Size(2) || e.Size(3) != kept.Size(3))
            throw new ShapeMismatchException("Split", $"latent {FlowLayers.Describe(e)} must be ({kept.Size(0)}, {Consume}, {kept.Size(2)}, {kept.Size(3)}) for kept half {FlowLayers.Describe(kept.Data)}");
        var (mean, logs) = Prior(kept, cond);
        var z2 = F.Add(mean, F.Mul(F.Exp(logs), eps));
        return (F.Concat([kept, z2], 1), F.Sum(logs, [1, 2, 3]));
    }

    /// <summary>log N(eps; 0, I) per sample: -1/2 sum over (C, H, W) of (eps^2 + log 2 pi).</summary>
    public static Var StandardNormalLogProb(Var eps) => F.Mul(F.Sum(F.Add(F.Square(eps), Log2Pi), [1, 2, 3]), -0.5);

    public (Var y, Var logdet) Forward(Var x, Var? cond = null)
    {
        var (kept, eps, ld) = Encode(x, cond);
        return (kept, F.Add(ld, StandardNormalLogProb(eps)));
    }

    public (Var x, Var logdet) Inverse(Var y, Var? cond = null)
    {
        FlowLayers.CheckInput("Split", y, Pass, DType, Device, "kept half");
        int[] shape = [y.Size(0), Consume, y.Size(2), y.Size(3)];
        var eps = new Var(Tensor.Normal(shape, SampleSeed, _offset, 0, Temperature, DType, Device));
        _offset += Engine.Random.Philox.BlocksUsed(eps.Numel, DType.Size());
        var (x, ld) = Decode(y, eps, cond);
        return (x, F.Sub(ld, StandardNormalLogProb(eps)));
    }

    public IEnumerable<(string name, Var p)> Parameters() => FlowLayers.Prefixed("conv", Conv.Parameters());
}
