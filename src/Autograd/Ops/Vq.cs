// Vector quantization with backward rules: the code gather (gradient into the codebook by the
// deterministic per-code row sum), the straight-through estimator and the fused VQ losses.
// The nearest-code search and the EMA update are not differentiable; they are Ops.VqNearest and
// Ops.VqEmaUpdate. Rules return fresh tensors (overwrite, never accumulate); the engine accumulates.
namespace Engine.Autograd;

public static partial class F
{
    /// <summary>q = codebook[indices] (N, D). Backward: dL/dcodebook[k] = sum of dL/dq[i] over the rows
    /// with indices[i] == k, in increasing i (same bits on every backend).</summary>
    public static Var VqGather(Var codebook, Tensor indices)
    {
        var q = Ops.VqGather(codebook.Data, indices);
        int k = codebook.Data.Size(0);
        var idx = indices.Alias(); // the node's own reference: the caller may dispose the index
        return Record("VqGather", q, [codebook], gy => [Ops.VqGatherBackward(gy, idx, k)], idx);
    }

    /// <summary>Straight-through estimator x + (q - x).detach(): the value is q itself (bitwise; the
    /// PyTorch expression rounds), the gradient goes to x unchanged and nothing goes to q.</summary>
    public static Var StraightThrough(Var x, Var q)
    {
        const string name = "StraightThrough";
        Ops.CheckSameDevice(name, x.Data, q.Data); Ops.CheckSameDType(name, x.Data, q.Data);
        if (!x.Data.Layout.SameShape(q.Data.Layout))
            throw new ShapeMismatchException(name, $"input {Fmt.Of(x.Data)} and quantized {Fmt.Of(q.Data)} must have one shape");
        return Record(name, q.Data.Alias(), [x], gy => [gy.Alias()]);
    }

    /// <summary>
    /// The VQ-VAE losses fused into one scalar of x's dtype:
    ///   commitment * mean((x - sg(q))^2) + codebookWeight * mean((sg(x) - q)^2),
    /// the mean over all N*D elements (rosinality / VQ-VAE-2: latent loss weight beta = 0.25, codebook
    /// term dropped (weight 0) when the codebook follows the EMA). Both terms share the value
    /// mean((x - q)^2); the stop-gradients make dL/dx = 2 commitment (x - q) / (N D) and
    /// dL/dq = 2 codebookWeight (q - x) / (N D), computed in one fused pass.
    /// </summary>
    public static Var VqLoss(Var x, Var q, double commitment, double codebookWeight = 1.0)
    {
        const string name = "VqLoss";
        if (!double.IsFinite(commitment) || !double.IsFinite(codebookWeight))
            throw new InvalidArgumentException(name, $"weights must be finite, got commitment {commitment}, codebook {codebookWeight}");
        var xd = x.Data;
        var qd = q.Data;
        long m = xd.Numel;
        var y = Ops.VqSquaredError(xd, qd, (commitment + codebookWeight) / m);
        bool toX = commitment != 0, toQ = codebookWeight != 0;
        return Record(name, y, [x, q], gy =>
        {
            var (gx, gq) = Ops.VqSquaredErrorBackward(xd, qd, gy, 2 * commitment / m, 2 * codebookWeight / m,
                wantX: toX && x.RequiresGrad, wantQ: toQ && q.RequiresGrad);
            return [gx, gq];
        });
    }

    /// <summary>beta * mean((x - sg(q))^2): gradient to x only.</summary>
    public static Var VqCommitmentLoss(Var x, Var q, double beta) => VqLoss(x, q, beta, 0);

    /// <summary>mean((sg(x) - q)^2): gradient to q (and through VqGather to the codebook) only.</summary>
    public static Var VqCodebookLoss(Var x, Var q) => VqLoss(x, q, 0, 1);
}
