// SeNM-VAE presets. paper = the official SIDD configuration (nls [2, 4], nf 64, z_n 16, batch 8 of
// 64 px crops, Adam 1e-4 halved at 150k/225k/270k/285k of 300k steps, update skipped when the
// gradient norm reaches 150, the relativistic PatchGAN at 0.1; LPIPS is left out, see
// README.md (section senmvae)). The CPU presets shrink the widths and the hierarchy and ramp the z_n KL in over
// the first fifth of the run (the code ramps over 10k of 300k steps) to 1e-3 instead of 1e-2: in a
// few hundred steps at 1e-2 the degradation latent collapses to its prior (measured in the tests).
using System.Text.Json.Nodes;
using Engine.Models.Degradation;
using Engine.Models.Nn;
using Engine.Models.SeNmVae;

namespace Engine.Cli.Train;

internal static partial class ModelRegistry
{
    public static SeNmVaeConfig SeNmPreset(string preset, VaeTrainSpec spec) => preset switch
    {
        "paper" => new SeNmVaeConfig(GanWeight: 0.1),
        "tiny" => new SeNmVaeConfig(Features: 8, Growth: 4, NoiseDim: 4, Groups: [1, 1], LevelWidth: 8, KlWeight: 1e-3, KlAnnealSteps: Math.Max(1, spec.Steps / 5)),
        "small" => new SeNmVaeConfig(Features: 16, Growth: 8, NoiseDim: 8, Groups: [1, 1], LevelWidth: 16, KlWeight: 1e-3, KlAnnealSteps: Math.Max(1, spec.Steps / 5)),
        _ => throw new ArgumentException($"unknown preset '{preset}' (tiny, small, paper)"),
    };

    /// <summary>The benchmark row that synthesizes clean + (sample - sample at temperature 0).</summary>
    public const string SeNmResidual = "senmvae-residual";

    private static IDegradationVae? CreateSeNm(string kind, string preset, VaeTrainSpec spec, ParamInit init)
        => kind is SeNmVae.KindName or SeNmResidual ? new SeNmVae(init, SeNmPreset(preset, spec)) : null;

    private static IDegradationVae? FromConfigSeNm(string kind, JsonObject config, ParamInit init)
        => kind == SeNmVae.KindName ? SeNmVae.FromConfig(config, init) : null;
}
