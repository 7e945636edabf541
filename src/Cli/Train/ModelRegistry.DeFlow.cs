// DeFlow presets: paper = ntire = the NTIRE-RWSR configuration (hidden 64, x4 conditional, lr 5e-5);
// aim = AIM-RWSR (hidden 128, x8 conditional, lr 1e-4 as its released config, and the degraded
// domain normalized to the clean statistics, measured on the training folders); the CPU presets shrink the flow (K flow steps per level), the RRDB and the hidden width.
// The covariance factor M starts small and random (the official zero init cannot learn, spec 5.3).
using System.Text.Json.Nodes;
using Engine.Models.Degradation;
using Engine.Models.DeFlow;
using Engine.Models.Nn;

namespace Engine.Cli.Train;

internal static partial class ModelRegistry
{
    public static DeFlowModelConfig DeFlowPreset(string preset) => preset switch
    {
        "paper" or "ntire" => new DeFlowModelConfig(DeFlowConfig.Ntire),
        "aim" => new DeFlowModelConfig(DeFlowConfig.Aim),
        "tiny" => new DeFlowModelConfig(DeFlowConfig.Tiny),
        "small" => new DeFlowModelConfig(new DeFlowConfig(Hidden: 32, Scale: 4, K: 4, RrdbBlocks: 3, Features: 32, Growth: 16, TapBlocks: [0, 2])),
        _ => throw new ArgumentException($"unknown preset '{preset}' (tiny, small, paper, aim, ntire)"),
    };

    /// <summary>The benchmark row with the official zero covariance init (M = 0 never learns, spec 5.3).</summary>
    public const string DeFlowZeroCovariance = "deflow-cov0";

    private static IDegradationVae? CreateDeFlow(string kind, string preset, ParamInit init) => kind switch
    {
        DeFlow.KindName => new DeFlow(init, DeFlowPreset(preset)),
        DeFlowZeroCovariance => new DeFlow(init, DeFlowPreset(preset) with { CovarianceInit = "zero" }),
        _ => null,
    };

    private static IDegradationVae? FromConfigDeFlow(string kind, JsonObject config, ParamInit init)
        => kind == DeFlow.KindName ? DeFlow.FromConfig(config, init) : null;
}
