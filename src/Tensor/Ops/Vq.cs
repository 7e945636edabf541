// Vector-quantization ops (validation + dispatch). Layout decision: every op works on rows (N, D)
// and codebooks (K, D); a model holding NCHW feature maps permutes them to (B*H*W, D) rows and back
// (Models.Nn.VectorQuantizer does), one copy that keeps the kernels simple and coalesced.
// Semantics, following the LUD-VAE fact sheet's VQ-VAE-2 quantizer (specs/ludvae-senmvae.md 1.12:
// 512 codes of dim 64, commitment beta 0.25, EMA decay 0.99, eps 1e-5, as in rosinality's vqvae.py):
//   VqNearest        argmin_k ||x||^2 - 2 x.e_k + ||e_k||^2 without the N x K matrix; lowest k on ties;
//   VqGather         q = e[idx] (backward: VqGatherBackward, a deterministic per-code row sum);
//   VqSquaredError   the VQ losses' value scale * sum (x - q)^2 (mean: scale = weight / (N D));
//   VqEmaUpdate      in-place EMA codebook update with Laplace smoothing and optional dead-code restart;
//   VqCounts / VqPerplexity  code usage histogram and exp(-sum p log p).
// Errors are typed and thrown before anything is allocated; bad index values (data) become
// InvalidArgumentException naming the op.
namespace Engine;

public static partial class Ops
{
    private static void VqRows(string op, Tensor x, string what)
    {
        CheckFloat(op, x);
        if (x.Rank != 2) throw new RankException(op, $"{what} must be (N, D), got {Fmt.Of(x)}");
    }

    private static void VqIndices(string op, Tensor idx, Tensor rows)
    {
        CheckSameDevice(op, rows, idx); CheckIndex(op, idx);
        if (idx.Rank != 1) throw new RankException(op, $"indices must be 1-D (N), got {Fmt.Of(idx)}");
        if (idx.Layout.Shape[0] != rows.Layout.Shape[0])
            throw new ShapeMismatchException(op, $"indices {Fmt.Of(idx)} must have one entry per row of {Fmt.Of(rows)}");
    }

    private static void VqCodebook(string op, Tensor x, Tensor codebook)
    {
        CheckSameDevice(op, x, codebook); CheckSameDType(op, x, codebook);
        if (codebook.Rank != 2) throw new RankException(op, $"codebook must be (K, D), got {Fmt.Of(codebook)}");
        if (codebook.Layout.Shape[1] != x.Layout.Shape[1])
            throw new ShapeMismatchException(op, $"codebook {Fmt.Of(codebook)} and rows {Fmt.Of(x)} differ in D");
    }

    /// <summary>Nearest code of every row: indices (N, I32) and, when asked, the squared distances (N).
    /// x (N, D), codebook (K, D), K &gt;= 1. Exact ties go to the lowest code; NaN scores never win (a row
    /// with no non-NaN score gets code 0 and distance NaN); distances are clamped at 0 (the expanded form
    /// can cancel below it). The dot products and norms are fused multiply-adds in increasing d, so
    /// every backend returns the same indices and distances.</summary>
    public static (Tensor Indices, Tensor? Distances) VqNearest(Tensor x, Tensor codebook, bool distances = false)
    {
        const string name = "VqNearest";
        VqRows(name, x, "rows");
        VqCodebook(name, x, codebook);
        int k = codebook.Layout.Shape[0];
        if (k == 0) throw new InvalidArgumentException(name, $"empty codebook {Fmt.Of(codebook)}");
        if (x.DType == DType.F32 && k > 1 << 24)
            throw new InvalidArgumentException(name, $"codebook {Fmt.Of(codebook)}: f32 search supports at most 2^24 codes");
        using var xc = x.Contiguous();
        using var ec = codebook.Contiguous();
        int n = x.Layout.Shape[0];
        var idx = Tensor.Empty([n], DType.I32, x.Device);
        var dist = distances ? Tensor.Empty([n], x.DType, x.Device) : null;
        try { x.Backend.VqNearest(xc.Buf, ec.Buf, idx.Buf, dist?.Buf); }
        catch { idx.Dispose(); dist?.Dispose(); throw; }
        return (idx, dist);
    }

    /// <summary>q = codebook[indices]: (N, D) rows of the (K, D) codebook.</summary>
    public static Tensor VqGather(Tensor codebook, Tensor indices)
    {
        const string name = "VqGather";
        VqRows(name, codebook, "codebook");
        CheckSameDevice(name, codebook, indices); CheckIndex(name, indices);
        if (indices.Rank != 1) throw new RankException(name, $"indices must be 1-D (N), got {Fmt.Of(indices)}");
        using var ec = codebook.Contiguous();
        using var ic = indices.Contiguous();
        var q = Tensor.Empty([indices.Layout.Shape[0], codebook.Layout.Shape[1]], codebook.DType, codebook.Device);
        return IndexGuard(name, q, () => codebook.Backend.IndexSelect(ec.Buf, 0, ic.Buf, q.Buf));
    }

    /// <summary>Per-code row sums (K, D) of src (N, D): y[k] = sum of src[i] over indices[i] == k, added in
    /// increasing i (deterministic and identical on every backend). This is VqGather's backward into
    /// the codebook and the EMA's batch sums.</summary>
    public static Tensor VqSegmentSum(Tensor src, Tensor indices, int numCodes)
    {
        const string name = "VqSegmentSum";
        VqRows(name, src, "rows");
        VqIndices(name, indices, src);
        if (numCodes < 0) throw new InvalidArgumentException(name, $"negative code count {numCodes}");
        using var sc = src.Contiguous();
        using var ic = indices.Contiguous();
        var y = Tensor.Empty([numCodes, src.Layout.Shape[1]], src.DType, src.Device);
        return IndexGuard(name, y, () => src.Backend.VqSegmentSum(sc.Buf, ic.Buf, y.Buf, null));
    }

    /// <summary>VqGather's backward: the codebook gradient (K, D) from the rows' gradient gq (N, D).</summary>
    public static Tensor VqGatherBackward(Tensor gq, Tensor indices, int numCodes) => VqSegmentSum(gq, indices, numCodes);

    /// <summary>Code usage histogram: counts (K, I32) of indices (N).</summary>
    public static Tensor VqCounts(Tensor indices, int numCodes)
    {
        const string name = "VqCounts";
        CheckIndex(name, indices);
        if (indices.Rank != 1) throw new RankException(name, $"indices must be 1-D (N), got {Fmt.Of(indices)}");
        if (numCodes < 0) throw new InvalidArgumentException(name, $"negative code count {numCodes}");
        using var ic = indices.Contiguous();
        var counts = Tensor.Empty([numCodes], DType.I32, indices.Device);
        return IndexGuard(name, counts, () => indices.Backend.VqCounts(ic.Buf, counts.Buf));
    }

    /// <summary>Perplexity exp(-sum p log p) of a usage histogram (counts: K, I32), p = counts / sum;
    /// a scalar of `dtype`, 1 for an empty histogram.</summary>
    public static Tensor VqPerplexity(Tensor counts, DType dtype = DType.F32)
    {
        const string name = "VqPerplexity";
        if (counts.DType != DType.I32) throw new DTypeMismatchException(name, $"counts must be i32, got {Fmt.Of(counts)}");
        if (counts.Rank != 1) throw new RankException(name, $"counts must be 1-D (K), got {Fmt.Of(counts)}");
        Tensor.RequireFloat(name, dtype);
        using var cc = counts.Contiguous();
        var y = Tensor.Empty([], dtype, counts.Device);
        try { counts.Backend.VqPerplexity(cc.Buf, y.Buf); }
        catch { y.Dispose(); throw; }
        return y;
    }

    private static void VqPair(string op, Tensor x, Tensor q)
    {
        CheckFloat(op, x); CheckSameDevice(op, x, q); CheckSameDType(op, x, q);
        if (!x.Layout.SameShape(q.Layout)) throw new ShapeMismatchException(op, $"rows {Fmt.Of(x)} and quantized {Fmt.Of(q)} must have one shape");
    }

    /// <summary>scale * sum (x - q)^2 as a scalar of x's dtype (accumulated in double, rounded once). The
    /// VQ losses are means: scale = weight / x.Numel.</summary>
    public static Tensor VqSquaredError(Tensor x, Tensor q, double scale)
    {
        const string name = "VqSquaredError";
        VqPair(name, x, q);
        using var xc = x.Contiguous();
        using var qc = q.Contiguous();
        var y = Tensor.Empty([], x.DType, x.Device);
        try { x.Backend.VqSquaredError(xc.Buf, qc.Buf, y.Buf, scale); }
        catch { y.Dispose(); throw; }
        return y;
    }

    /// <summary>Gradients of VqSquaredError-style losses: gx = (T)(ax * gy) * (x - q) and
    /// gq = (T)(aq * gy) * (q - x), gy a one-element tensor (read on the device, no sync).</summary>
    public static (Tensor? Gx, Tensor? Gq) VqSquaredErrorBackward(Tensor x, Tensor q, Tensor gy, double ax, double aq, bool wantX = true, bool wantQ = true)
    {
        const string name = "VqSquaredErrorBackward";
        VqPair(name, x, q);
        CheckSameDevice(name, x, gy); CheckSameDType(name, x, gy);
        if (gy.Numel != 1) throw new ShapeMismatchException(name, $"gradient must hold one element, got {Fmt.Of(gy)}");
        using var xc = x.Contiguous();
        using var qc = q.Contiguous();
        using var gc = gy.Contiguous();
        var gx = wantX ? Tensor.Empty(x.Layout.Shape, x.DType, x.Device) : null;
        var gq = wantQ ? Tensor.Empty(x.Layout.Shape, x.DType, x.Device) : null;
        try { x.Backend.VqSquaredErrorBackward(xc.Buf, qc.Buf, gc.Buf, gx?.Buf, gq?.Buf, ax, aq); }
        catch { gx?.Dispose(); gq?.Dispose(); throw; }
        return (gx, gq);
    }

    /// <summary>
    /// EMA codebook update in place (VQ-VAE-2 / sonnet / rosinality form) from rows x (N, D) and their
    /// codes; returns the batch's code counts n_k (K, I32):
    ///   N_k = decay N_k + (1 - decay) n_k;  m_k = decay m_k + (1 - decay) sum_{i: idx_i = k} x_i;
    ///   e_k = m_k / ((N_k + eps) / (sum_j N_j + K eps) * sum_j N_j)   (Laplace-smoothed counts).
    /// Dead-code restart (DeadThreshold &gt; 0): a code whose updated N_k is below the threshold is reset to
    /// a current row, e_k = x_r, N_k = threshold, m_k = threshold * x_r, where
    /// r = (w0 * N) &gt;&gt; 32 and w0 is word 0 of Philox block (Offset + k) of Seed: reproducible and the
    /// same on every backend; rows are drawn with replacement; a caller advances Offset by K per update.
    /// clusterSize (K) and embedSum, codebook (K, D) must be contiguous tensors of x's dtype and device.
    /// </summary>
    public static Tensor VqEmaUpdate(Tensor x, Tensor indices, Tensor codebook, Tensor clusterSize, Tensor embedSum, VqEmaParams p)
    {
        const string name = "VqEmaUpdate";
        VqRows(name, x, "rows");
        VqIndices(name, indices, x);
        VqCodebook(name, x, codebook);
        CheckSameDevice(name, x, clusterSize); CheckSameDType(name, x, clusterSize);
        CheckSameDevice(name, x, embedSum); CheckSameDType(name, x, embedSum);
        int k = codebook.Layout.Shape[0];
        if (clusterSize.Rank != 1 || clusterSize.Layout.Shape[0] != k)
            throw new ShapeMismatchException(name, $"cluster sizes {Fmt.Of(clusterSize)} must be ({k}) for codebook {Fmt.Of(codebook)}");
        if (!embedSum.Layout.SameShape(codebook.Layout))
            throw new ShapeMismatchException(name, $"embedding sums {Fmt.Of(embedSum)} must match codebook {Fmt.Of(codebook)}");
        foreach (var (t, what) in new[] { (codebook, "codebook"), (clusterSize, "cluster sizes"), (embedSum, "embedding sums") })
            if (!t.IsContiguous) throw new InvalidArgumentException(name, $"{what} {Fmt.Of(t)} is updated in place and must be contiguous");
        if (!(p.Decay >= 0 && p.Decay <= 1)) throw new InvalidArgumentException(name, $"decay {p.Decay} must be in [0, 1]");
        if (!(p.Eps >= 0)) throw new InvalidArgumentException(name, $"eps {p.Eps} must be >= 0");
        if (!(p.DeadThreshold >= 0)) throw new InvalidArgumentException(name, $"dead-code threshold {p.DeadThreshold} must be >= 0");
        using var xc = x.Contiguous();
        using var ic = indices.Contiguous();
        var counts = Tensor.Empty([k], DType.I32, x.Device);
        return IndexGuard(name, counts, () => x.Backend.VqEmaUpdate(xc.Buf, ic.Buf, codebook.Buf, clusterSize.Buf, embedSum.Buf, counts.Buf, p));
    }
}
