// Vector quantization family (VQ-VAE style quantizer): nearest-code search, the deterministic
// row scatter-add behind the codebook gradient and the EMA sums, the squared-error loss forward and
// backward, code counts, perplexity and the in-place EMA codebook update with dead-code restart.
// Rows are (N, D) and codebooks (K, D), all contiguous (the op layer makes them so); index buffers
// are I32. Outputs are overwritten; VqEmaUpdate updates its three state buffers in place.
namespace Engine;

/// <summary>EMA codebook update settings (VQ-VAE-2 / sonnet form, see Ops.VqEmaUpdate).</summary>
/// <param name="Decay">EMA decay of the counts and sums, in [0, 1].</param>
/// <param name="Eps">Laplace smoothing of the counts.</param>
/// <param name="DeadThreshold">Codes whose EMA count falls below this are restarted; 0 turns restarts off.</param>
/// <param name="Seed">Philox seed of the restart draws.</param>
/// <param name="Offset">Philox offset: code k draws from counter block Offset + k (K blocks per update).</param>
public readonly record struct VqEmaParams(double Decay, double Eps, double DeadThreshold, ulong Seed, ulong Offset);

public partial interface IBackend
{
    /// <summary>indices[i] = argmin_k ||e_k||^2 - 2 x_i.e_k (lowest k on exact ties; NaN scores never win,
    /// a row with no non-NaN score gets 0). distances[i] (optional) = max(||x_i||^2 + that minimum, 0),
    /// NaN for a row with no non-NaN score. Dot products and norms are fused multiply-adds in
    /// increasing d from 0, so every backend computes the same bits. x (N, D), codebook (K, D).</summary>
    void VqNearest(Buf x, Buf codebook, Buf indices, Buf? distances);

    /// <summary>y[k] = sum of src[i] over rows i with indices[i] == k, added in increasing i starting
    /// from 0 (deterministic, the same bits on every backend); counts[k] (optional, I32) = number of such
    /// rows. src (N, D), y (K, D). An index outside [0, K) throws ArgumentOutOfRangeException before
    /// anything is written.</summary>
    void VqSegmentSum(Buf src, Buf indices, Buf y, Buf? counts);

    /// <summary>counts[k] = number of i with indices[i] == k (I32, K entries); bad indices throw as in VqSegmentSum.</summary>
    void VqCounts(Buf indices, Buf counts);

    /// <summary>y (scalar, float) = exp(-sum_k p_k log p_k), p_k = counts[k] / sum(counts), 0 log 0 = 0
    /// (1 when every count is 0).</summary>
    void VqPerplexity(Buf counts, Buf y);

    /// <summary>y (scalar) = scale * sum_i (x_i - q_i)^2, accumulated in double and rounded once.</summary>
    void VqSquaredError(Buf x, Buf q, Buf y, double scale);

    /// <summary>gx = c_x * (x - q) and gq = c_q * (q - x), with c = (T)(a * gy[0]) (gy a one-element buffer);
    /// either output may be absent.</summary>
    void VqSquaredErrorBackward(Buf x, Buf q, Buf gy, Buf? gx, Buf? gq, double ax, double aq);

    /// <summary>In-place EMA update of codebook (K, D), clusterSize (K) and embedSum (K, D) from the rows
    /// x (N, D) and their codes; counts (K, I32) receives the batch's code counts. See Ops.VqEmaUpdate.</summary>
    void VqEmaUpdate(Buf x, Buf indices, Buf codebook, Buf clusterSize, Buf embedSum, Buf counts, VqEmaParams p);
}
