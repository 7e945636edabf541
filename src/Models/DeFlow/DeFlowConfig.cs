// DeFlow's shape (spec /work/shared/specs/deflow.md sections 3, 4, 8): flow levels, steps, hidden
// width of the coupling/injector networks, the conditional's scale, and the conditioning RRDB
// (blocks, nf, gc, which block outputs are tapped). Presets: Aim (h 128, x8; 62,935,305 parameters
// counted the official way), Ntire (h 64, x4; 39,741,641) and Tiny (a few thousand parameters, for
// CPU tests). The derived quantities (channels per level, where the split is, the conditioning
// width, which RRDB feature map feeds each level) live here so the model and the parameter count
// agree by construction.
namespace Engine.Models.DeFlow;

public sealed record DeFlowConfig(
    int Hidden = 128,
    int Scale = 8,
    int Levels = 3,
    int K = 16,
    int TransitionSteps = 2,
    int RrdbBlocks = 23,
    int Features = 64,
    int Growth = 32,
    IReadOnlyList<int>? TapBlocks = null,
    int InChannels = 3,
    double Eps = 0.001,
    double SplitDivisionEps = 1e-6)
{
    /// <summary>AIM-RWSR: hidden 128, conditional x8.</summary>
    public static readonly DeFlowConfig Aim = new(Hidden: 128, Scale: 8);
    /// <summary>NTIRE-RWSR (and DPED-RWSR): hidden 64, conditional x4.</summary>
    public static readonly DeFlowConfig Ntire = new(Hidden: 64, Scale: 4);
    /// <summary>A CPU-test size: 3 levels, K = 2, hidden 8, RRDB of 3 blocks (nf 8, gc 4) tapping blocks 0 and 2.</summary>
    public static readonly DeFlowConfig Tiny = new(Hidden: 8, Scale: 4, K: 2, RrdbBlocks: 3, Features: 8, Growth: 4, TapBlocks: [0, 2]);

    /// <summary>RRDB block outputs concatenated into the conditional (official: 1, 8, 15, 22).</summary>
    public IReadOnlyList<int> Taps => TapBlocks ?? [1, 8, 15, 22];

    /// <summary>Width of the per-level conditional: nf x (1 + taps) (320 in every official config).</summary>
    public int CondChannels => Features * (1 + Taps.Count);

    /// <summary>Whether level l (1-based) ends with a split: l &lt; L - 1, the reference's off-by-one
    /// (correct_splits = false), so L = 3 has one split, after level 1.</summary>
    public bool SplitAfter(int level) => level < Levels - 1;

    /// <summary>Flow channels inside level l (after its squeeze, before its split).</summary>
    public int LevelChannels(int level)
    {
        int c = InChannels;
        for (int l = 1; l <= level; l++)
        {
            c *= 4;
            if (l < level && SplitAfter(l)) c -= SplitConsume(c);
        }
        return c;
    }

    /// <summary>Channels a split of c channels emits: round(c / 2), Python's round half to even.</summary>
    public static int SplitConsume(int c) => (int)Math.Round(c * 0.5, MidpointRounding.ToEven);

    /// <summary>Channels of the final latent (96 for 3 input channels and 3 levels).</summary>
    public int FinalChannels => LevelChannels(Levels);

    /// <summary>Spatial ratio of level l's conditional to the LQ image: Scale / 2^l (4, 2, 1 on x8;
    /// 2, 1, 1/2 on x4). Returned as a power of two: 2 means x4, 1 x2, 0 x1, -1 x1/2.</summary>
    public int TapLog2(int level) => (int)Math.Round(Math.Log2(Scale)) - level;

    /// <summary>Upsampling convs of the RRDB: upconv1, upconv2 always, upconv3 from x8 on (as the reference).</summary>
    public int UpConvs => Math.Max(2, (int)Math.Round(Math.Log2(Scale)));

    /// <summary>Checks the shape; throws InvalidArgumentException naming the first bad field.</summary>
    public void Validate()
    {
        void Need(bool ok, string what) { if (!ok) throw new InvalidArgumentException("DeFlowConfig", what); }
        Need(Hidden >= 1 && K >= 1 && TransitionSteps >= 0 && InChannels >= 1, $"hidden {Hidden}, K {K}, transition steps {TransitionSteps}, in channels {InChannels}: hidden, K and channels must be positive");
        Need(Levels >= 1, $"levels must be >= 1, got {Levels}");
        Need(Scale >= 2 && (Scale & (Scale - 1)) == 0, $"scale must be a power of two >= 2, got {Scale}");
        Need(RrdbBlocks >= 1 && Features >= 1 && Growth >= 1, $"RRDB blocks {RrdbBlocks}, nf {Features}, gc {Growth} must be positive");
        Need(Taps.Count >= 1 && Taps.All(t => t >= 0 && t < RrdbBlocks) && Taps.Distinct().Count() == Taps.Count, $"tapped blocks [{string.Join(", ", Taps)}] must be distinct and in [0, {RrdbBlocks})");
        Need(Eps >= 0 && double.IsFinite(Eps), $"eps must be finite and >= 0, got {Eps}");
        Need(SplitDivisionEps >= 0 && double.IsFinite(SplitDivisionEps), $"split division eps must be finite and >= 0, got {SplitDivisionEps}");
        for (int l = 1; l <= Levels; l++)
            Need(TapLog2(l) >= -1, $"level {l} is {-TapLog2(l)} halvings below the LQ image; the reference has only fea_up0 (x1/2)");
    }
}
