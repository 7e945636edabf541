// The contract between a learned degradation model (LUD-VAE, its public-code variant, and later
// DeFlow and SeNM-VAE) and the code that trains it, saves it and uses it (`engine train`,
// `engine degrade`, `engine bench quality`). A model is a Module plus three things: the loss of an
// unpaired batch, degraded samples for clean images, and a JSON description from which the same
// architecture is rebuilt when a checkpoint is loaded.
//
// Randomness: every draw (noise injection, reparameterized samples) comes from Philox with the
// seed and offsets the caller passes, so a step or a sample is a pure function of them: training
// resumes exactly and `degrade` is reproducible.
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Models.Nn;

namespace Engine.Models.Degradation;

/// <summary>The loss of one batch: the total to minimize and its named terms (logged per step).</summary>
public sealed record ModelLoss(Var Total, IReadOnlyDictionary<string, double> Terms);

/// <summary>How to synthesize: Method 3 of LUD-VAE (content from q(z|x), z_n from the prior) is the
/// default; Temperature scales the prior sample as the model defines it; NoiseLevel overrides a
/// model's conditioning noise level (on the 0..1 scale) where it has one; Seed/Offset pick the draw.</summary>
public sealed record DegradeOptions
{
    public double Temperature { get; init; } = 1.0;
    public int Method { get; init; } = 3;
    public double? NoiseLevel { get; init; }
    /// <summary>For models with a level sampler (SeNM-VAE): which one picks the level when NoiseLevel
    /// is null ("sidd", "pool", "fixed"); null: the model's configured sampler.</summary>
    public string? LevelSampler { get; init; }
    /// <summary>Per image and channel, shift the output so its mean equals the clean input's (SeNM-VAE's
    /// `--normalize`, which its README recommends for dataset synthesis): removes a colour cast of the
    /// content path and keeps only the zero-mean part of the synthetic degradation.</summary>
    public bool MatchMean { get; init; }
    /// <summary>Keep only the degradation latent's contribution: clean + (output - output at
    /// temperature 0 with the same draws). Not in any reference code: an option of ours for models
    /// whose content path is not yet accurate (short CPU training), applied by VaeSynthesis.</summary>
    public bool ResidualOnly { get; init; }
    public ulong Seed { get; init; }
    public ulong Offset { get; init; }
}

public interface IDegradationVae : IDisposable
{
    /// <summary>The registry name ("ludvae", "ludvae-tpami", ...).</summary>
    string Kind { get; }

    /// <summary>The trained weights.</summary>
    Module Module { get; }

    /// <summary>Everything needed to rebuild the architecture (saved as model.json beside the checkpoint).</summary>
    JsonObject Config { get; }

    /// <summary>The training loss of an unpaired batch: images (N, 3, H, W) in [0, 1] on the model's
    /// device, isDegraded[n] tells the domain of image n. step is the 0-based global step (for
    /// annealing); (seed, step) determine every random draw of the step.</summary>
    ModelLoss Loss(Tensor images, bool[] isDegraded, long step, ulong seed);

    /// <summary>Synthetic degraded versions of clean images (N, 3, H, W) in [0, 1], same size,
    /// evaluated without gradients; values are not clamped (writing quantizes).</summary>
    Tensor Degrade(Tensor clean, DegradeOptions options);
}

/// <summary>A model that also learns from pairs (SeNM-VAE): batches mix paired slots (label -1:
/// clean and degraded of one scene), source slots (0: a clean image in both tensors) and target
/// slots (1: a degraded image in both tensors). The unpaired Loss is this with labels 0/1 and one
/// image tensor in both slots.</summary>
public interface ISemiPairedVae : IDegradationVae
{
    ModelLoss Loss(Tensor clean, Tensor degraded, int[] labels, long step, ulong seed);

    /// <summary>The parameters the main optimizer trains (a GAN's discriminator trains separately).</summary>
    IEnumerable<(string Name, Var Param)> TrainableParameters();
}
