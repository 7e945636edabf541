// Flow family (Glow / SRFlow / DeFlow layers): fused ActNorm and the affine coupling/injector
// epilogue, forward and backward. Buffers are NCHW. Outputs and gradient outputs are contiguous and
// overwritten. Inputs x are contiguous except for the coupling epilogue's x, whose sample stride
// (dim 0) may be anything as long as each sample's (C, H, W) block is dense (a channel Narrow).
// Per-channel and per-sample sums are accumulated in double.
namespace Engine;

public partial interface IBackend
{
    /// <summary>ActNorm, per channel c of x (N, C, H, W): y = (x + bias[c]) * exp(logs[c]), or with
    /// inverse y = x * exp(-logs[c]) - bias[c]. bias and logs hold C contiguous elements.</summary>
    void ActNorm(Buf x, Buf bias, Buf logs, Buf y, bool inverse);

    /// <summary>Gradients of ActNorm (or of its inverse) at input x given gy: gx (skipped when null),
    /// gbias and glogs (C elements each; sums over N, H, W).</summary>
    void ActNormBackward(Buf x, Buf gy, Buf bias, Buf logs, Buf? gx, Buf gbias, Buf glogs, bool inverse);

    /// <summary>Affine epilogue of a coupling / injector. h (N, 2C, H, W) holds the network output
    /// in "cross" order: shift = h[:, 2c], raw scale = h[:, 2c + 1]; scale = sigmoid(raw + 2) + eps.
    /// Forward: y = (x + shift) * scale, logdet[n] = sum over (C, H, W) of log(scale).
    /// Inverse: y = x / scale - shift, logdet[n] = -sum log(scale). logdet has N elements.</summary>
    void AffineEpilogue(Buf x, Buf h, Buf y, Buf logdet, double eps, bool inverse);

    /// <summary>Gradients of AffineEpilogue at (x, h) given gy (may be null: no gradient reached y)
    /// and glogdet (N elements; may be null); at least one is given. gx (skipped when null) and gh
    /// (N, 2C, H, W) are overwritten.</summary>
    void AffineEpilogueBackward(Buf x, Buf h, Buf? gy, Buf? glogdet, Buf? gx, Buf gh, double eps, bool inverse);
}
