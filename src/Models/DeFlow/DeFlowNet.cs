// DeFlow (Wolf et al., CVPR 2021), the network only (spec sections 3, 4, 8): the RRDB conditioning
// net ("RRDB", DeFlowCondNet), the conditional flow ("flowUpsamplerNet", DeFlowFlowNet) and the
// domain-Y shift of the final latent ("mean_shift" (C), "cov_shift" (C x C), zero-initialized as
// std_init_shift 0; the reference's names for these are not in the spec). Names mirror the
// reference's RRDBGlowNet (see DeFlowFlow.cs / DeFlowCondNet.cs for the per-module details).
// Encode(x, lq) -> (latents [eps1, z3], sum of Jacobian log-determinants); Decode(z, lq) -> x.
// The conditional is the LQ image as given: the reference's on-the-fly N(0, 0.03^2) noise on it
// (spec 1.4) is left to the caller, so Encode and Decode of the same lq see the same features.
// Parameter counts (spec 8): the model omits the reference's dead parts, the never-run initial
// injector conv "f" (320 -> 96, 3x3 with bias) and the identity matrices kept as parameters beside
// each cov_shift; OfficialParameterCount adds them back (62,935,305 for Aim, 39,741,641 for Ntire).
// ChangeableParameterCount further drops what gets no gradient (unused RRDB heads, the masked
// halves of every LU l / u).
// The unpaired NLL objective, the conditional noise and degradation sampling are in DeFlowModel.cs
// (class DeFlow, an IDegradationVae); CLI and bench wiring are not here yet.
using Engine.Autograd;
using Engine.Models.Nn;

namespace Engine.Models.DeFlow;

public sealed class DeFlowNet : Module
{
    /// <summary>Output channels of the reference's dead initial-injector conv f.</summary>
    public const int DeadInjectorOut = 96;

    public DeFlowConfig Config { get; }
    public DeFlowCondNet Rrdb { get; }
    public DeFlowFlowNet Flow { get; }
    public Var MeanShift { get; }
    public Var CovShift { get; }

    public DeFlowNet(ParamInit init, DeFlowConfig config)
    {
        ArgumentNullException.ThrowIfNull(init);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        Rrdb = Child("RRDB", new DeFlowCondNet(new ParamInit(Engine.Models.Flow.FlowLayers.SubSeed(init.Seed, 0), init.DType, init.Device), config));
        Flow = Child("flowUpsamplerNet", new DeFlowFlowNet(new ParamInit(Engine.Models.Flow.FlowLayers.SubSeed(init.Seed, 1), init.DType, init.Device), config));
        int c = config.FinalChannels;
        MeanShift = Param("mean_shift", init.Zeros([c]));
        CovShift = Param("cov_shift", init.Zeros([c, c]));
    }

    /// <summary>The per-level conditionals of an LQ image.</summary>
    public IReadOnlyList<Var> Condition(Var lq) => Rrdb.Forward(lq);

    /// <summary>Encode x (N, C, H, W), H and W divisible by 2^L, conditioned on lq (N, C, H/s, W/s).</summary>
    public (IReadOnlyList<Var> Z, Var LogDet) Encode(Var x, Var lq)
    {
        CheckPair("DeFlowNet.Encode", x.Shape, lq);
        return Flow.Encode(x, Condition(lq));
    }

    /// <summary>Decode latents (Encode's order) conditioned on lq: the image and the decode logdet.</summary>
    public (Var X, Var LogDet) Decode(IReadOnlyList<Var> z, Var lq)
    {
        ArgumentNullException.ThrowIfNull(z);
        if (z.Count == 0) throw new InvalidArgumentException("DeFlowNet.Decode", "no latents");
        var f = z[^1].Shape;
        int up = 1 << Config.Levels;
        CheckPair("DeFlowNet.Decode", [f[0], Config.InChannels, f[2] * up, f[3] * up], lq);
        return Flow.Decode(z, Condition(lq));
    }

    private void CheckPair(string op, int[] x, Var lq)
    {
        int div = 1 << Config.Levels, s = Config.Scale;
        if (x.Length != 4 || x[1] != Config.InChannels || x[2] % div != 0 || x[3] % div != 0)
            throw new ShapeMismatchException(op, $"image {Fmt.Shape(x)} must be (N, {Config.InChannels}, H, W) with H and W divisible by {div}");
        if (x[2] % s != 0 || x[3] % s != 0 || lq.Rank != 4 || lq.Shape[0] != x[0] || lq.Shape[2] != x[2] / s || lq.Shape[3] != x[3] / s)
            throw new ShapeMismatchException(op, $"conditional {Fmt.Shape(lq.Shape)} must be ({x[0]}, {Config.InChannels}, {x[2] / s}, {x[3] / s}) for image {Fmt.Shape(x)} at scale {s}");
    }

    /// <summary>Parameters of the reference the model does not build: the dead conv f and the
    /// identity matrices beside each cov_shift.</summary>
    public long DeadParameterCount()
    {
        long f = 9L * Config.CondChannels * DeadInjectorOut + DeadInjectorOut;
        long eye = (long)Config.FinalChannels * Config.FinalChannels + Flow.SplitShifts.Sum(s => (long)s.Mean.Numel * s.Mean.Numel);
        return f + eye;
    }

    /// <summary>The parameter count the reference reports (sum of numel over its nn.Parameters, fixed and dead ones included).</summary>
    public long OfficialParameterCount() => ParameterCount() + DeadParameterCount();

    /// <summary>Parameters that can receive a gradient: the model's, less the RRDB heads no level
    /// uses (HRconv, conv_last, the upconvs above the highest tap) and the masked entries of every
    /// LU l and u (C^2 + C per 1x1 conv).</summary>
    public long ChangeableParameterCount()
    {
        int maxUp = Enumerable.Range(1, Config.Levels).Max(l => Config.TapLog2(l));
        long heads = Rrdb.HrConv.NamedParameters().Sum(p => p.Param.Numel) + Rrdb.ConvLast.NamedParameters().Sum(p => p.Param.Numel)
                   + Rrdb.UpConvs.Skip(Math.Max(0, maxUp)).Sum(u => u.NamedParameters().Sum(p => p.Param.Numel));
        long masked = Flow.InvConvs.Sum(i => (long)i.Channels * i.Channels + i.Channels);
        return ParameterCount() - heads - masked;
    }
}
