// SeNM-VAE's settings (ludvae-senmvae.md §2.2, §2.7, §2.8, §2.12). Defaults are the official
// SIDD configuration: nls = [2, 4] (L = 7 latent layers), nf 64, RDB growth 32, a 16-channel
// degradation latent, the z_n KL weight 1e-2 ramped in over 10k steps, the z KL at 1e-7 of it,
// the level predictor's L1 loss at weight 1, and generation at level 25/255 with temperature 1.
using System.Text.Json.Nodes;

namespace Engine.Models.SeNmVae;

/// <param name="Features">nf: the width of every trunk tensor and of the content latent z (64).</param>
/// <param name="Growth">gc: the residual dense blocks' growth (32).</param>
/// <param name="NoiseDim">Channels of the degradation latent z_n (16).</param>
/// <param name="Groups">nls: residual dense blocks per resolution group; every group but the last
/// adds one resampling layer (pixel-unshuffle down in the encoders, pixel-shuffle up in the decoder)
/// that also carries a latent. [2, 4] gives L = 2 + 1 + 4 = 7.</param>
/// <param name="Channels">Image channels (3).</param>
/// <param name="KlWeight">The z_n KL weight after the ramp (the code's KL_weight 1e-2).</param>
/// <param name="KlzWeight">The content KL's weight relative to the z_n KL (the code's KLZ_weight, the paper's lambda 1e-7).</param>
/// <param name="KlAnnealSteps">Steps of the linear ramp c(t) = min(t / this, 1) (1e4).</param>
/// <param name="LevelLossWeight">Weight of the level predictor's L1 loss on paired samples (1).</param>
/// <param name="LevelWidth">Width of the level predictor's first conv (64; then 128, 256, 512).</param>
/// <param name="GanWeight">Weight of the relativistic PatchGAN generator term (the code's 0.1; 0 = off).</param>
/// <param name="DiscriminatorWidth">ndf of the PatchGAN (64).</param>
/// <param name="GenerationLevel">The level used when synthesis names none and LevelSampler is "fixed" (25/255).</param>
/// <param name="LevelSampler">How synthesis picks a level when none is given: "sidd" (the code's
/// log-uniform shot/read sampler, per image), "fixed" (GenerationLevel) or "pool" (uniform over
/// LevelPool, the predictor's levels of the training degraded images).</param>
/// <param name="LevelPool">Levels for the "pool" sampler (0..1 scale).</param>
public sealed record SeNmVaeConfig(
    int Features = 64, int Growth = 32, int NoiseDim = 16, IReadOnlyList<int>? Groups = null, int Channels = 3,
    double KlWeight = 1e-2, double KlzWeight = 1e-7, double KlAnnealSteps = 1e4, double LevelLossWeight = 1,
    int LevelWidth = 64, double GanWeight = 0, int DiscriminatorWidth = 64,
    double GenerationLevel = 25.0 / 255, string LevelSampler = "sidd", IReadOnlyList<double>? LevelPool = null)
{
    public IReadOnlyList<int> GroupSizes => Groups ?? [2, 4];

    /// <summary>L: the number of latent layers.</summary>
    public int Layers => GroupSizes.Sum() + GroupSizes.Count - 1;

    /// <summary>Input sides must be multiples of this (2^(groups - 1)).</summary>
    public int SizeMultiple => 1 << (GroupSizes.Count - 1);

    /// <summary>Per layer i (0 = shallowest): whether it is a resampling layer, and its resolution divisor.</summary>
    public (bool Resample, int Divisor)[] LayerLayout()
    {
        var r = new List<(bool, int)>();
        int div = 1;
        for (int g = 0; g < GroupSizes.Count; g++)
        {
            for (int k = 0; k < GroupSizes[g]; k++) r.Add((false, div));
            if (g < GroupSizes.Count - 1) { div *= 2; r.Add((true, div)); }
        }
        return r.ToArray();
    }

    /// <summary>c(t) * KlWeight with t = step + 1 (the code's 1-based iteration).</summary>
    public double NoiseKlWeight(long step) => Math.Min((step + 1) / KlAnnealSteps, 1.0) * KlWeight;

    public static long RdbParams(long nf, long gc) =>
        Enumerable.Range(0, 4).Sum(i => (nf + i * gc) * gc * 9 + gc) + (nf + 4 * gc) * nf * 9 + nf;

    /// <summary>The generator's analytic parameter count (§2.13): 19,955,739 at the defaults.</summary>
    public long ExpectedGeneratorParameters()
    {
        long f = Features, g = Growth, nz = NoiseDim, c = Channels;
        int layers = Layers, resample = GroupSizes.Count - 1, rdbs = layers - resample;
        long rdb = RdbParams(f, g);
        long stems = 3 * (c * f + f);
        long encoders = 3 * (rdbs * rdb + resample * (4 * f * f * 9 + f));
        long zHeads = 2L * layers * 2 * (rdb + f * f + f);
        long nHeads = 2L * layers * 2 * (RdbParams(f + 1, g) + (f + 1) * nz + nz);
        long decoder = rdbs * rdb + resample * (f / 4 * f * 9 + f);
        long proj = layers * (nz * f + f) + layers * (f * f + f);
        long output = f * f * 9 + f + f * c * 9 + c;
        return stems + encoders + zHeads + nHeads + decoder + proj + output;
    }

    /// <summary>The level predictor's parameters (2,920,897 at width 64).</summary>
    public long ExpectedLevelNetParameters()
    {
        long w = LevelWidth, c = Channels;
        return (c * w * 16 + w) + (w * 2 * w * 16 + 2 * w) + (2 * w * 4 * w * 16 + 4 * w) + (4 * w * 8 * w * 16 + 8 * w)
             + (8 * w * 4 * w + 4 * w) + (4 * w * 2 * w + 2 * w) + (2 * w + 1);
    }

    public void Validate()
    {
        const string op = "SeNmVae";
        if (Features <= 0 || Features % 4 != 0 || Growth <= 0 || NoiseDim <= 0 || Channels <= 0 || LevelWidth <= 0 || DiscriminatorWidth <= 0)
            throw new InvalidArgumentException(op, $"features {Features} (a positive multiple of 4), growth {Growth}, noise dim {NoiseDim}, channels {Channels}, level width {LevelWidth}, discriminator width {DiscriminatorWidth} must be positive");
        if (GroupSizes.Count == 0 || GroupSizes.Any(n => n < 0) || GroupSizes.Count > 6)
            throw new InvalidArgumentException(op, $"groups must be 1-6 non-negative block counts, got [{string.Join(", ", GroupSizes)}]");
        foreach (var (name, v) in new[] { ("KL weight", KlWeight), ("KLZ weight", KlzWeight), ("level loss weight", LevelLossWeight), ("GAN weight", GanWeight), ("generation level", GenerationLevel) })
            if (!(v >= 0) || !double.IsFinite(v)) throw new InvalidArgumentException(op, $"{name} must be finite and >= 0, got {v}");
        if (!(KlAnnealSteps > 0)) throw new InvalidArgumentException(op, $"KL anneal steps must be > 0, got {KlAnnealSteps}");
        if (LevelSampler is not ("sidd" or "fixed" or "pool"))
            throw new InvalidArgumentException(op, $"level sampler must be sidd, fixed or pool, got '{LevelSampler}'");
        if (LevelSampler == "pool" && (LevelPool is null || LevelPool.Count == 0 || LevelPool.Any(l => !(l >= 0) || !double.IsFinite(l))))
            throw new InvalidArgumentException(op, "the pool level sampler needs a non-empty pool of finite levels >= 0");
    }

    public JsonObject ToJson()
    {
        var j = new JsonObject
        {
            ["kind"] = SeNmVae.KindName,
            ["features"] = Features, ["growth"] = Growth, ["noise_dim"] = NoiseDim,
            ["groups"] = new JsonArray(GroupSizes.Select(g => (JsonNode?)g).ToArray()), ["channels"] = Channels,
            ["kl_weight"] = KlWeight, ["klz_weight"] = KlzWeight, ["kl_anneal_steps"] = KlAnnealSteps,
            ["level_loss_weight"] = LevelLossWeight, ["level_width"] = LevelWidth,
            ["gan_weight"] = GanWeight, ["discriminator_width"] = DiscriminatorWidth,
            ["generation_level"] = GenerationLevel, ["level_sampler"] = LevelSampler,
        };
        if (LevelPool is not null) j["level_pool"] = new JsonArray(LevelPool.Select(l => (JsonNode?)l).ToArray());
        return j;
    }

    public static SeNmVaeConfig FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var kind = json["kind"]?.GetValue<string>();
        if (kind != null && kind != SeNmVae.KindName)
            throw new InvalidArgumentException("SeNmVae", $"config kind is '{kind}', expected '{SeNmVae.KindName}'");
        var d = new SeNmVaeConfig();
        double D(string k, double v) => json[k] is JsonNode n ? n.GetValue<double>() : v;
        int I(string k, int v) => json[k] is JsonNode n ? n.GetValue<int>() : v;
        var c = new SeNmVaeConfig(
            I("features", d.Features), I("growth", d.Growth), I("noise_dim", d.NoiseDim),
            json["groups"] is JsonArray g ? g.Select(x => x!.GetValue<int>()).ToArray() : null, I("channels", d.Channels),
            D("kl_weight", d.KlWeight), D("klz_weight", d.KlzWeight), D("kl_anneal_steps", d.KlAnnealSteps),
            D("level_loss_weight", d.LevelLossWeight), I("level_width", d.LevelWidth),
            D("gan_weight", d.GanWeight), I("discriminator_width", d.DiscriminatorWidth),
            D("generation_level", d.GenerationLevel), json["level_sampler"]?.GetValue<string>() ?? d.LevelSampler,
            json["level_pool"] is JsonArray p ? p.Select(x => x!.GetValue<double>()).ToArray() : null);
        c.Validate();
        return c;
    }
}
