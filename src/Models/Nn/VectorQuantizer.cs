// The VQ-VAE-2 style quantizer of the ICLR LUD-VAE variant (specs/ludvae-senmvae.md 1.12; the spec
// gives no codebook settings for the final model, so the defaults are the closest public template,
// rosinality/vq-vae-2-pytorch vqvae.py and the UPIR_v2 remnants: 512 codes of dim 64, commitment
// beta 0.25, EMA decay 0.99, eps 1e-5; decay 0 = a codebook trained by gradient, initialised
// uniform(-1/K, 1/K) as UPIR_v2 does). Dead-code restart is not in the spec: off unless
// DeadCodeThreshold > 0.
//
// Forward (training): indices = nearest codes of the rows; q = codebook[indices] (gathered BEFORE the
// EMA update, as rosinality's embed_code precedes its in-place update); with EMA, the codebook,
// cluster sizes and sums update in place (Philox offset advanced by K per update); the loss is
// beta * mean((x - sg(q))^2) (+ mean((sg(x) - q)^2) for a gradient codebook); the output is the
// straight-through q. Input (N, D) rows, or (B, D, H, W) maps when ChannelsFirst (permuted to rows
// (B*H*W, D) and the output permuted back to (B, D, H, W); indices come back as (B, H, W)).
// State (codebook, cluster sizes, sums) lives outside every TensorScope until Dispose.
// As a Module: a gradient codebook is the parameter "codebook"; an EMA codebook and its statistics
// are the buffers "codebook", "cluster_size" and "embed_sum" (rosinality's embed / cluster_size /
// embed_avg, but (K, D) rather than (D, K)), so state dicts save and restore them. Training follows
// Module.Train/Eval (Training is the same flag). RestartOffset is not saved (it matters only when
// dead-code restarts are on).
using Engine.Autograd;

namespace Engine.Models.Nn;

public sealed record VectorQuantizerOptions
{
    public int NumCodes { get; init; } = 512;
    public int Dim { get; init; } = 64;
    /// <summary>Commitment weight beta.</summary>
    public double Beta { get; init; } = 0.25;
    /// <summary>EMA decay; 0 trains the codebook by gradient (codebook loss added).</summary>
    public double Decay { get; init; } = 0.99;
    public double Eps { get; init; } = 1e-5;
    /// <summary>Restart codes whose EMA count falls below this (EMA mode only); 0 = never.</summary>
    public double DeadCodeThreshold { get; init; }
    /// <summary>Seed of the codebook initialisation and of the restart draws.</summary>
    public ulong Seed { get; init; }
    public DType DType { get; init; } = DType.F32;
    public Device Device { get; init; } = Device.Cpu;

    public override string ToString() =>
        $"VectorQuantizer(K={NumCodes}, D={Dim}, beta={Beta}, decay={Decay}, eps={Eps}, dead<{DeadCodeThreshold}, seed={Seed}, {DType.Name()}, {Device})";
}

/// <summary>Output of one quantizer step. Indices, Counts and Perplexity belong to the caller's scope.</summary>
/// <param name="Quantized">Straight-through quantized input, the input's shape.</param>
/// <param name="Indices">Codes (N) for rows, (B, H, W) for maps; I32.</param>
/// <param name="Loss">Commitment (+ codebook) loss, a scalar.</param>
/// <param name="Counts">Code usage of this batch (K, I32).</param>
/// <param name="Perplexity">exp(entropy of the usage), a scalar of the quantizer's dtype.</param>
public sealed record VqOutput(Var Quantized, Tensor Indices, Var Loss, Tensor Counts, Tensor Perplexity);

public sealed class VectorQuantizer : Module
{
    public VectorQuantizerOptions Options { get; }
    /// <summary>(K, D); requires grad only for a gradient-trained codebook.</summary>
    public Var Codebook { get; }
    /// <summary>EMA cluster sizes N_k (K); null for a gradient codebook.</summary>
    public Tensor? ClusterSize { get; }
    /// <summary>EMA sums m_k (K, D); null for a gradient codebook.</summary>
    public Tensor? EmbedSum { get; }
    /// <summary>Training mode (EMA updates on); the same flag as Module.IsTraining.</summary>
    public bool Training { get => IsTraining; set => Train(value); }
    /// <summary>Philox offset of the next restart draw (advanced by K per EMA update).</summary>
    public ulong RestartOffset { get; private set; }

    private bool Ema => Options.Decay > 0;

    public VectorQuantizer(VectorQuantizerOptions options)
    {
        Options = options;
        if (options.NumCodes < 1 || options.Dim < 1)
            throw new InvalidArgumentException("VectorQuantizer", $"needs at least one code of dimension >= 1, got K={options.NumCodes}, D={options.Dim}");
        if (!(options.Decay >= 0 && options.Decay < 1))
            throw new InvalidArgumentException("VectorQuantizer", $"decay {options.Decay} must be in [0, 1)");
        int k = options.NumCodes, d = options.Dim;
        using (TensorScope.Suspend())
        {
            if (Ema)
            {
                // rosinality: embed = randn, embed_avg = embed.clone(), cluster_size = 0.
                var e = Tensor.Normal([k, d], options.Seed, 0, 0, 1, options.DType, options.Device);
                Codebook = new Var(Buffer("codebook", e), requiresGrad: false, name: "vq.codebook");
                ClusterSize = Buffer("cluster_size", Tensor.Zeros([k], options.DType, options.Device));
                EmbedSum = Buffer("embed_sum", e.Clone());
            }
            else
            {
                var e = Tensor.Uniform([k, d], options.Seed, 0, -1.0 / k, 1.0 / k, options.DType, options.Device);
                Codebook = Param("codebook", e);
            }
        }
    }

    /// <summary>Quantizes z: (N, D) rows, or (B, D, H, W) when channelsFirst.</summary>
    public VqOutput Forward(Var z, bool channelsFirst = false)
    {
        const string name = "VectorQuantizer";
        int d = Options.Dim, k = Options.NumCodes;
        if (z.Rank != (channelsFirst ? 4 : 2) || z.Size(1) != d)
            throw new ShapeMismatchException(name, $"input [{string.Join(", ", z.Shape)}] must be {(channelsFirst ? $"(B, {d}, H, W)" : $"(N, {d})")}");
        var rows = channelsFirst ? F.Reshape(F.Contiguous(F.Permute(z, 0, 2, 3, 1)), -1, d) : z;
        var (idx, _) = Ops.VqNearest(rows.Data, Codebook.Data);
        var q = F.VqGather(Codebook, idx);
        Tensor counts;
        if (Training && Ema)
        {
            using var ng = GradMode.NoGrad();
            counts = Ops.VqEmaUpdate(rows.Data, idx, Codebook.Data, ClusterSize!, EmbedSum!,
                new VqEmaParams(Options.Decay, Options.Eps, Options.DeadCodeThreshold, Options.Seed, RestartOffset));
            RestartOffset += (ulong)k;
        }
        else counts = Ops.VqCounts(idx, k);
        var loss = F.VqLoss(rows, q, Options.Beta, Ema ? 0 : 1);
        var st = F.StraightThrough(rows, q);
        var perplexity = Ops.VqPerplexity(counts, Options.DType);
        if (!channelsFirst) return new VqOutput(st, idx, loss, counts, perplexity);
        int b = z.Size(0), h = z.Size(2), w = z.Size(3);
        var maps = F.Permute(F.Reshape(st, b, h, w, d), 0, 3, 1, 2);
        var idxMaps = idx.Reshape(b, h, w);
        idx.Dispose();
        return new VqOutput(maps, idxMaps, loss, counts, perplexity);
    }

    /// <summary>The number of codebook elements K * D (a buffer under EMA, so not in ParameterCount).</summary>
    public long CodebookSize => (long)Options.NumCodes * Options.Dim;
}
