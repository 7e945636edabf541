// The learned degradation models the CLI knows, with their presets: tiny (CI smoke: seconds),
// small (CPU: minutes), paper (the sizes and iteration counts of the published code; GPU).
using System.Text.Json.Nodes;
using Engine.Models.Degradation;

namespace Engine.Cli.Train;

internal static partial class ModelRegistry
{
    public static readonly string[] Kinds = ["ludvae", "ludvae-tpami", "deflow", "senmvae"];

    /// <summary>Benchmark rows that are a kind with a non-default setting: name -> the kind it trains as.</summary>
    public static readonly IReadOnlyDictionary<string, string> Variants = new Dictionary<string, string>
    {
        [DeFlowZeroCovariance] = "deflow",
        [SeNmResidual] = "senmvae",
    };

    /// <summary>The kind a registry name (kind or variant) trains as, for presets.</summary>
    public static string BaseKind(string name) => Variants.TryGetValue(name, out var k) ? k : name;

    public static string Describe(string kind) => kind switch
    {
        "ludvae" => "LUD-VAE as the ICLR paper describes it: VQ-VAE-2 content latent, Gaussian degradation latent, Gaussian-blur h",
        "ludvae-tpami" => "LUD-VAE as its public code builds it: hierarchical Gaussian degradation latent with learned priors, noise-injection h",
        "deflow" => "DeFlow: a conditional flow on a bicubic-downscaled conditional, degraded latents shifted by a learned Gaussian (unpaired likelihood)",
        "senmvae" => "SeNM-VAE: a hierarchical VAE trained on a few pairs plus unpaired clean and degraded images, with degradation-level control",
        SeNmResidual => "SeNM-VAE synthesizing clean + its degradation latent's contribution only (our option, not the reference's)",
        DeFlowZeroCovariance => "DeFlow with the official code's zero covariance init (the shift's covariance never learns)",
        _ => throw new ArgumentException($"unknown model '{kind}'; available: {string.Join(", ", Kinds)}"),
    };

    /// <summary>The --preset names a kind takes.</summary>
    public static string[] Presets(string kind) => BaseKind(kind) == "deflow" ? ["tiny", "small", "paper", "aim", "ntire"] : ["tiny", "small", "paper"];

    public static VaeTrainSpec TrainSpec(string kind, string preset) => (BaseKind(kind), preset) switch
    {
        ("senmvae", "tiny") => new VaeTrainSpec { Steps = 60, Batch = 4, Crop = 32, Lr = 5e-4, SkipGradNorm = 150, CheckpointEvery = 30 },
        (_, "tiny") => new VaeTrainSpec { Steps = 60, Batch = 4, Crop = 32, Lr = 5e-4, CheckpointEvery = 30 },
        ("ludvae", "small") => new VaeTrainSpec { Steps = 1200, Batch = 8, Crop = 64, Lr = 2e-4, CheckpointEvery = 300 },
        ("senmvae", "small") => new VaeTrainSpec { Steps = 1200, Batch = 8, Crop = 32, Lr = 1e-3, SkipGradNorm = 150, CheckpointEvery = 300 },
        (_, "small") => new VaeTrainSpec { Steps = 1200, Batch = 8, Crop = 48, Lr = 2e-4, CheckpointEvery = 300 },
        ("ludvae-tpami", "paper") => new VaeTrainSpec { Steps = 200_000, Batch = 16, Crop = 64, Lr = 1e-4, Milestones = [100_000], CheckpointEvery = 50_000 },
        ("ludvae", "paper") => new VaeTrainSpec { Steps = 200_000, Batch = 16, Crop = 160, Lr = 1e-4, CheckpointEvery = 50_000 },
        ("senmvae", "paper") => new VaeTrainSpec { Steps = 300_000, Batch = 8, Crop = 64, Lr = 1e-4, Milestones = [150_000, 225_000, 270_000, 285_000], SkipGradNorm = 150, CheckpointEvery = 50_000 },
        ("deflow", "aim") => new VaeTrainSpec { Steps = 100_000, Batch = 8, Crop = 160, Lr = 1e-4, Milestones = [50_000, 75_000, 90_000, 95_000], CheckpointEvery = 5_000 },
        ("deflow", "paper" or "ntire") => new VaeTrainSpec { Steps = 100_000, Batch = 8, Crop = 160, Lr = 5e-5, Milestones = [50_000, 75_000, 90_000, 95_000], CheckpointEvery = 10_000, ClipGradNorm = 0 },
        _ => throw new ArgumentException($"unknown model '{kind}' or preset '{preset}' (presets: tiny, small, paper; deflow also aim, ntire)"),
    };

    public static IDegradationVae Create(string kind, string preset, VaeTrainSpec spec, ulong seed, Device device)
    {
        IDegradationVae? m = null;
        CreateCore(kind, preset, spec, seed, device, ref m);
        return m ?? throw new ArgumentException($"model '{kind}' is not available in this build");
    }

    public static IDegradationVae FromConfig(string kind, JsonObject config, Device device)
    {
        IDegradationVae? m = null;
        FromConfigCore(kind, config, device, ref m);
        return m ?? throw new ArgumentException($"model '{kind}' (from model.json) is not available in this build");
    }

    static partial void CreateCore(string kind, string preset, VaeTrainSpec spec, ulong seed, Device device, ref IDegradationVae? model);
    static partial void FromConfigCore(string kind, JsonObject config, Device device, ref IDegradationVae? model);
}
