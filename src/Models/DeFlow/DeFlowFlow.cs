// DeFlow's flow (spec section 3; FlowUpsamplerNet of the reference with K 16, L 3,
// additionalFlowNoAffine 2, one split, noInitialInj, LU 1x1 convs, CondAffineSeparatedAndCond with
// multReverse): per level l = 1..L
//   Squeeze(2) (channel order 4c + 2dy + dx) -> TransitionSteps x [ActNorm -> InvConv1x1LU] ->
//   K x [ActNorm -> InvConv1x1LU -> conditional affine coupling^-1 -> affine injector^-1]
//   (encode direction; scale sigmoid(raw + 2) + eps) -> Split (only after level l < L - 1, the
//   reference's off-by-one; L = 3 splits once, after level 1, keeping 6 of 12 channels).
// The final latent has 96 channels at H/8 (3 input channels, L = 3).
// Encode returns the latents in the reference's order [eps of each split, final z] and the sum of
// the Jacobian log-determinants, including each split's -sum(logs) but no prior term (the domain
// priors of spec 5 are the objective's business). Decode is the exact inverse.
// The flow layers (src/Models/Flow) keep their own IFlowLayer Parameters()/Buffers(); ParamNode
// adopts them into the Nn.Module tree under the reference's ModuleList indices, so the names read
// "layers.3.actnorm.bias", "layers.3.invconv.l", "layers.3.affine.fAffine.0.weight",
// "layers.3.affine.fFeatures.4.logs", "layers.19.conv.weight" (the split's prior conv). The split's
// domain shift is "layers.19.mean_shift" / "layers.19.cov_shift" (its reference name is not in the
// spec; this is a guess). ActNorm's "initialized" flag is a buffer here (an attribute there).
using Engine.Autograd;
using Engine.Models.Flow;
using Engine.Models.Nn;

namespace Engine.Models.DeFlow;

/// <summary>A module node holding adopted parameters and buffers under dotted names (intermediate
/// nodes are created as needed).</summary>
public sealed class ParamNode : Module
{
    public void AddParam(string dotted, Var v)
    {
        var (node, leaf) = Walk(dotted);
        node.Param(leaf, v);
    }

    public void AddBuffer(string dotted, Tensor t)
    {
        var (node, leaf) = Walk(dotted);
        node.Buffer(leaf, t);
    }

    /// <summary>Adopts every parameter and buffer of a flow layer under prefix.</summary>
    public void Adopt(string prefix, IFlowLayer layer)
    {
        foreach (var (n, p) in layer.Parameters()) AddParam($"{prefix}.{n}", p);
        foreach (var (n, b) in layer.Buffers()) AddBuffer($"{prefix}.{n}", b);
    }

    private (ParamNode node, string leaf) Walk(string dotted)
    {
        var parts = dotted.Split('.');
        var node = this;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            var next = node.Children().FirstOrDefault(c => c.Name == parts[i]).Child as ParamNode;
            node = next ?? node.Child(parts[i], new ParamNode());
        }
        return (node, parts[^1]);
    }
}

public sealed class DeFlowFlowNet : Module
{
    /// <summary>One level's layers and their indices in the reference's ModuleList.</summary>
    public sealed record Level(int Index, int Channels, Squeeze Squeeze, IReadOnlyList<FlowSequence> Transitions,
                               IReadOnlyList<FlowSequence> Steps, Split? Split, int SplitIndex);

    public DeFlowConfig Config { get; }
    public IReadOnlyList<Level> Levels { get; }
    /// <summary>The 1x1 convolutions (for the dead-entry count: half of each l and u).</summary>
    public IReadOnlyList<InvConv1x1LU> InvConvs { get; }
    /// <summary>Domain-Y shift of each split latent: mean (C) and covariance factor M (C x C), zero-initialized.</summary>
    public IReadOnlyList<(Var Mean, Var Cov)> SplitShifts { get; }

    public DeFlowFlowNet(ParamInit init, DeFlowConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        var dt = init.DType; var dev = init.Device;
        var node = Child("layers", new ParamNode());
        var levels = new List<Level>();
        var invs = new List<InvConv1x1LU>();
        var shifts = new List<(Var, Var)>();
        ulong k = 0;
        ulong Next() => FlowLayers.SubSeed(init.Seed, k++);
        int idx = 0;
        for (int l = 1; l <= config.Levels; l++)
        {
            int c = config.LevelChannels(l);
            int levelIndex = idx;
            var sq = new Squeeze(2);
            idx++;
            var trans = new List<FlowSequence>();
            for (int t = 0; t < config.TransitionSteps; t++, idx++)
            {
                var an = new ActNorm(c, dt, dev); var inv = new InvConv1x1LU(c, Next(), dt, dev);
                node.Adopt($"{idx}.actnorm", an); node.Adopt($"{idx}.invconv", inv);
                invs.Add(inv);
                trans.Add(new FlowSequence(an, inv));
            }
            var steps = new List<FlowSequence>();
            for (int s = 0; s < config.K; s++, idx++)
            {
                var an = new ActNorm(c, dt, dev); var inv = new InvConv1x1LU(c, Next(), dt, dev);
                var cp = new AffineCoupling(c, config.CondChannels, config.Hidden, config.Eps, multReverse: true, seed: Next(), dtype: dt, device: dev);
                var ij = new AffineInjector(c, config.CondChannels, config.Hidden, config.Eps, multReverse: true, seed: Next(), dtype: dt, device: dev);
                node.Adopt($"{idx}.actnorm", an); node.Adopt($"{idx}.invconv", inv);
                node.Adopt($"{idx}.affine", cp); node.Adopt($"{idx}.affine", ij);
                invs.Add(inv);
                steps.Add(new FlowSequence(an, inv, cp, ij)); // encode: coupling^-1 then injector^-1
            }
            Split? split = null; int splitIndex = -1;
            if (config.SplitAfter(l))
            {
                split = new Split(c, 0, 0.5, Next(), dt, dev, config.SplitDivisionEps);
                splitIndex = idx;
                node.Adopt($"{idx}", split);
                var mean = new Var(init.Zeros([split.Consume]), requiresGrad: true, name: "mean_shift");
                var cov = new Var(init.Zeros([split.Consume, split.Consume]), requiresGrad: true, name: "cov_shift");
                node.AddParam($"{idx}.mean_shift", mean); node.AddParam($"{idx}.cov_shift", cov);
                shifts.Add((mean, cov));
                idx++;
            }
            levels.Add(new Level(levelIndex, c, sq, trans, steps, split, splitIndex));
        }
        Levels = levels; InvConvs = invs; SplitShifts = shifts;
    }

    /// <summary>Encode x (N, C_in, H, W) with the per-level conditionals: the latents [split eps..., final z]
    /// and the per-sample sum of Jacobian log-determinants (no prior terms).</summary>
    public (IReadOnlyList<Var> Z, Var LogDet) Encode(Var x, IReadOnlyList<Var> cond)
    {
        CheckCond(cond);
        var zs = new List<Var>();
        Var? total = null;
        void Add(Var ld) => total = total == null ? ld : F.Add(total, ld);
        var h = x;
        for (int l = 0; l < Levels.Count; l++)
        {
            var lv = Levels[l];
            h = lv.Squeeze.Forward(h).y;
            foreach (var t in lv.Transitions) { var (y, ld) = t.Forward(h); Add(ld); h = y; }
            foreach (var s in lv.Steps) { var (y, ld) = s.Forward(h, cond[l]); Add(ld); h = y; }
            if (lv.Split != null)
            {
                var (kept, eps, ld) = lv.Split.Encode(h);
                Add(ld); zs.Add(eps); h = kept;
            }
        }
        zs.Add(h);
        return (zs, total ?? FlowLayers.ZeroLogDet(h));
    }

    /// <summary>Decode the latents (Encode's order) with the same conditionals: x and the per-sample
    /// log-determinant of the decode map (the negative of Encode's).</summary>
    public (Var X, Var LogDet) Decode(IReadOnlyList<Var> z, IReadOnlyList<Var> cond)
    {
        CheckCond(cond);
        int splits = Levels.Count(lv => lv.Split != null);
        if (z.Count != splits + 1)
            throw new InvalidArgumentException("DeFlowFlowNet.Decode", $"needs {splits + 1} latents ({splits} split, 1 final), got {z.Count}");
        Var? total = null;
        void Add(Var ld) => total = total == null ? ld : F.Add(total, ld);
        var h = z[^1];
        int j = splits - 1;
        for (int l = Levels.Count - 1; l >= 0; l--)
        {
            var lv = Levels[l];
            if (lv.Split != null) { var (x, ld) = lv.Split.Decode(h, z[j--]); Add(ld); h = x; }
            for (int s = lv.Steps.Count - 1; s >= 0; s--) { var (x, ld) = lv.Steps[s].Inverse(h, cond[l]); Add(ld); h = x; }
            for (int t = lv.Transitions.Count - 1; t >= 0; t--) { var (x, ld) = lv.Transitions[t].Inverse(h); Add(ld); h = x; }
            h = lv.Squeeze.Inverse(h).x;
        }
        return (h, total ?? FlowLayers.ZeroLogDet(h));
    }

    /// <summary>ActNorm data-dependent init (spec 3.3) on a batch: every ActNorm, the coupling
    /// networks' included, initialized in encode order on the batch as it reaches it. Records no graph.</summary>
    public bool DataInitialize(Var x, IReadOnlyList<Var> cond, bool force = false)
    {
        CheckCond(cond);
        using var ng = GradMode.NoGrad();
        bool any = false;
        var h = x;
        for (int l = 0; l < Levels.Count; l++)
        {
            var lv = Levels[l];
            h = lv.Squeeze.Forward(h).y;
            foreach (var t in lv.Transitions) { any |= t.Initialize(h, null, force); h = t.Forward(h).y; }
            foreach (var s in lv.Steps) { any |= s.Initialize(h, cond[l], force); h = s.Forward(h, cond[l]).y; }
            if (lv.Split != null) h = lv.Split.Encode(h).kept;
        }
        return any;
    }

    private void CheckCond(IReadOnlyList<Var> cond)
    {
        ArgumentNullException.ThrowIfNull(cond);
        if (cond.Count != Levels.Count)
            throw new InvalidArgumentException("DeFlowFlowNet", $"needs one conditional per level ({Levels.Count}), got {cond.Count}");
    }
}
