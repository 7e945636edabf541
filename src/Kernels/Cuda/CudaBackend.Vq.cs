// CUDA vector-quantization family (kernels-cu/vq.cu): nearest-code search, the deterministic row
// scatter-add (stable counting sort of the rows by code, then one block per code), counts,
// perplexity, the squared-error loss and its backward, and the EMA codebook update. The kernels
// reproduce Engine.Cpu.Kernels.VqKernels operation for operation, so indices, distances, segment
// sums, loss gradients and EMA state are bitwise equal to the CPU backend's; the loss value and the
// perplexity are double sums in another order (equal up to rounding).
//
// Index errors: VqSegmentSum / VqEmaUpdate / VqCounts check indices on the device into a flag that is
// read back (one stream sync per call) before anything is accumulated into an output; a bad index
// throws the CPU's ArgumentOutOfRangeException (first bad position, same message). Strided inputs are
// staged through contiguous scratch copies; outputs and the EMA state must be contiguous.
using Engine.Cpu.Kernels;

namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <summary>Rows per block of vq_nearest (VQ_BM) and rows per ranking chunk (VQ_CHUNK).</summary>
    private const int VqRowsPerBlock = 128, VqChunk = 256;

    private static void VqCheck(string op, Buf b, int rank, string what)
    {
        if (b.Shape.Length != rank) throw new RankException(op, $"{what} must have rank {rank}, got {Fmt.Shape(b.Shape)} (cuda)");
    }

    private static void VqSameFloat(string op, Buf reference, Buf b, string what)
    {
        if (!reference.DType.IsFloat()) throw new DTypeMismatchException(op, $"rows must be f32 or f64, got {Fmt.Shape(reference.Shape)} {reference.DType.Name()} (cuda)");
        if (b.DType != reference.DType) throw new DTypeMismatchException(op, $"{what} must be {reference.DType.Name()}, got {Fmt.Shape(b.Shape)} {b.DType.Name()} (cuda)");
    }

    private static void VqIndex(string op, Buf b, string what)
    {
        if (b.DType != DType.I32) throw new DTypeMismatchException(op, $"{what} must be i32, got {Fmt.Shape(b.Shape)} {b.DType.Name()} (cuda)");
    }

    /// <summary>Throws VqKernels.CheckIndices' error for the first bad index (the host copy is checked).</summary>
    private void VqThrowBadIndex(string op, Buf index, int k)
    {
        var host = new int[checked((int)index.Numel)];
        Download(index, host.AsSpan());
        fixed (int* p = host) VqKernels.CheckIndices(op, p, host.Length, k);
        throw new InvalidOperationException($"{op}: the device reported an index out of range but none was found (cuda)");
    }

    // ------------------------------------------------------------------ nearest code

    public void VqNearest(Buf x, Buf codebook, Buf indices, Buf? distances)
    {
        const string op = "VqNearest";
        S(x, op); S(codebook, op); S(indices, op);
        VqCheck(op, x, 2, "rows (N, D)"); VqCheck(op, codebook, 2, "codebook (K, D)");
        VqSameFloat(op, x, codebook, "codebook"); VqIndex(op, indices, "indices");
        int n = x.Shape[0], d = x.Shape[1], k = codebook.Shape[0];
        if (codebook.Shape[1] != d) throw new ShapeMismatchException(op, $"codebook {Fmt.Shape(codebook.Shape)} vs rows {Fmt.Shape(x.Shape)} (cuda)");
        SpShape(op, indices, [n], "indices");
        SpOutput(op, indices, "indices");
        if (distances is { } dist)
        {
            S(dist, op); VqSameFloat(op, x, dist, "distances"); SpShape(op, dist, [n], "distances"); SpOutput(op, dist, "distances");
        }
        if (n == 0) return;
        if (k == 0) throw new ArgumentException("VqNearest: empty codebook");
        string t = Sfx(x.DType);
        var xd = SpDense(op, x, out var xt);
        var ed = SpDense(op, codebook, out var et);
        using (xt)
        using (et)
        {
            using var en = Scratch(x.DType, k);
            Launch1D("vq_sqnorm_" + t, k, KernelArgs.Begin().Ptr(Ptr(ed, op)).I64(k).I32(d).Ptr(en.Ptr));
            using var xn = distances is null ? null : Scratch(x.DType, n);
            if (xn != null) Launch1D("vq_sqnorm_" + t, n, KernelArgs.Begin().Ptr(Ptr(xd, op)).I64(n).I32(d).Ptr(xn.Ptr));
            long blocks = (n + VqRowsPerBlock - 1) / VqRowsPerBlock;
            Launch("vq_nearest_" + t, new Dim3((uint)blocks), new Dim3(BlockSize), 0, KernelArgs.Begin()
                .Ptr(Ptr(xd, op)).Ptr(Ptr(ed, op)).Ptr(en.Ptr).Ptr(xn?.Ptr ?? 0).Ptr(Ptr(indices, op))
                .Ptr(distances is { } dd ? Ptr(dd, op) : 0).I64(n).I32(k).I32(d));
        }
    }

    // ------------------------------------------------------------------ stable sort by code, segment sums

    /// <summary>The rows sorted stably by code: order (n) and offsets (k + 1); counts (k) written into
    /// `counts`. Throws the CPU's error for a bad index before returning.</summary>
    private (CudaStorage order, CudaStorage offsets) VqSortByCode(string op, Buf idx, int n, int k, ulong counts)
    {
        long chunks = (n + VqChunk - 1) / VqChunk;
        var order = Scratch(DType.I32, n);
        var offsets = Scratch(DType.I32, k + 1L);
        try
        {
            using var rank = Scratch(DType.I32, n);
            using var cnt = Scratch(DType.I32, chunks * k);
            if (chunks * k > 0) Runtime.MemsetD32(cnt.Ptr, 0, chunks * k);
            using var flag = SpNewFlag();
            if (n > 0)
                Launch("vq_chunk_rank_i32", new Dim3((uint)chunks), new Dim3(VqChunk), 0, KernelArgs.Begin()
                    .Ptr(Ptr(idx, op)).I64(n).I32(k).Ptr(rank.Ptr).Ptr(cnt.Ptr).Ptr(flag.Ptr));
            if (SpFlagRaised(flag)) VqThrowBadIndex(op, idx, k);
            if (k > 0)
            {
                Launch1D("vq_chunk_scan_i32", k, KernelArgs.Begin().Ptr(cnt.Ptr).I64(chunks).I32(k).Ptr(counts));
            }
            Launch("vq_offsets_i32", new Dim3(1), new Dim3(BlockSize), 0, KernelArgs.Begin().Ptr(counts).I32(k).Ptr(offsets.Ptr));
            Launch1D("vq_place_i32", n, KernelArgs.Begin()
                .Ptr(Ptr(idx, op)).Ptr(rank.Ptr).Ptr(cnt.Ptr).Ptr(offsets.Ptr).I64(n).I32(k).Ptr(order.Ptr));
            return (order, offsets);
        }
        catch
        {
            order.Dispose(); offsets.Dispose();
            throw;
        }
    }

    /// <summary>y (k, d) = per-code sums of src (n, d) in sorted order (one block per code, threads over d).</summary>
    private void VqLaunchSegmentSum(DType dt, ulong src, CudaStorage order, CudaStorage offsets, int k, int d, ulong y)
    {
        if (k == 0 || d == 0) return;
        int threads = Math.Clamp((d + 31) / 32 * 32, 32, BlockSize);
        uint grid = (uint)Math.Min(k, 65535);
        Launch("vq_segment_sum_" + Sfx(dt), new Dim3(grid), new Dim3((uint)threads), 0, KernelArgs.Begin()
            .Ptr(src).Ptr(order.Ptr).Ptr(offsets.Ptr).I32(k).I32(d).Ptr(y));
    }

    private void VqCheckSegment(string op, Buf src, Buf indices, Buf y, out int n, out int d, out int k)
    {
        S(src, op); S(indices, op); S(y, op);
        VqCheck(op, src, 2, "rows (N, D)"); VqCheck(op, y, 2, "sums (K, D)"); VqCheck(op, indices, 1, "indices (N)");
        VqSameFloat(op, src, y, "sums"); VqIndex(op, indices, "indices");
        n = src.Shape[0]; d = src.Shape[1]; k = y.Shape[0];
        if (y.Shape[1] != d) throw new ShapeMismatchException(op, $"sums {Fmt.Shape(y.Shape)} vs rows {Fmt.Shape(src.Shape)} (cuda)");
        SpShape(op, indices, [n], "indices");
        SpOutput(op, y, "sums");
    }

    public void VqSegmentSum(Buf src, Buf indices, Buf y, Buf? counts)
    {
        const string op = "VqSegmentSum";
        VqCheckSegment(op, src, indices, y, out int n, out int d, out int k);
        if (counts is { } c0)
        {
            S(c0, op); VqIndex(op, c0, "counts"); SpShape(op, c0, [k], "counts"); SpOutput(op, c0, "counts");
        }
        var sd = SpDense(op, src, out var st);
        var id = SpDense(op, indices, out var it);
        using (st)
        using (it)
        {
            using var cnt = counts is null ? Scratch(DType.I32, k) : null;
            ulong pc = counts is { } c ? Ptr(c, op) : cnt!.Ptr;
            var (order, offsets) = VqSortByCode(op, id, n, k, pc);
            using (order)
            using (offsets)
            {
                if (n == 0 && y.Numel > 0) Runtime.MemsetD8(Ptr(y, op), 0, y.Numel * y.DType.Size());
                else VqLaunchSegmentSum(src.DType, Ptr(sd, op), order, offsets, k, d, Ptr(y, op));
            }
        }
    }

    public void VqCounts(Buf indices, Buf counts)
    {
        const string op = "VqCounts";
        S(indices, op); S(counts, op);
        VqIndex(op, indices, "indices"); VqIndex(op, counts, "counts");
        VqCheck(op, indices, 1, "indices (N)"); VqCheck(op, counts, 1, "counts (K)");
        SpOutput(op, counts, "counts");
        int n = indices.Shape[0], k = counts.Shape[0];
        if (k > 0) Runtime.MemsetD32(Ptr(counts, op), 0, k);
        var id = SpDense(op, indices, out var it);
        using (it)
        {
            using var flag = SpNewFlag();
            Launch1D("vq_counts_i32", n, KernelArgs.Begin().Ptr(Ptr(id, op)).I64(n).I32(k).Ptr(Ptr(counts, op)).Ptr(flag.Ptr));
            if (SpFlagRaised(flag)) VqThrowBadIndex(op, id, k);
        }
    }

    public void VqPerplexity(Buf counts, Buf y)
    {
        const string op = "VqPerplexity";
        S(counts, op); S(y, op);
        VqIndex(op, counts, "counts"); VqCheck(op, counts, 1, "counts (K)");
        SpFloat(op, y, "output");
        if (y.Numel != 1) throw new ShapeMismatchException(op, $"output must hold one element, got {Fmt.Shape(y.Shape)} (cuda)");
        var cd = SpDense(op, counts, out var ct);
        using (ct)
            Launch("vq_perplexity_" + Sfx(y.DType), new Dim3(1), new Dim3(BlockSize), 0, KernelArgs.Begin()
                .Ptr(Ptr(cd, op)).I32(counts.Shape[0]).Ptr(Ptr(y, op)));
    }

    // ------------------------------------------------------------------ squared error

    public void VqSquaredError(Buf x, Buf q, Buf y, double scale)
    {
        const string op = "VqSquaredError";
        S(x, op); S(q, op); S(y, op);
        VqSameFloat(op, x, q, "quantized"); VqSameFloat(op, x, y, "output");
        if (!x.Layout.SameShape(q.Layout)) throw new ShapeMismatchException(op, $"rows {Fmt.Shape(x.Shape)} vs quantized {Fmt.Shape(q.Shape)} (cuda)");
        if (y.Numel != 1) throw new ShapeMismatchException(op, $"output must hold one element, got {Fmt.Shape(y.Shape)} (cuda)");
        long n = x.Numel;
        var xd = SpDense(op, x, out var xt);
        var qd = SpDense(op, q, out var qt);
        using (xt)
        using (qt)
        {
            uint parts = n == 0 ? 1 : GridFor(n).X;
            using var partial = Scratch(DType.F64, parts);
            string t = Sfx(x.DType);
            Launch("vq_sqerr_partial_" + t, new Dim3(parts), new Dim3(BlockSize), 0, KernelArgs.Begin()
                .Ptr(n == 0 ? 0 : Ptr(xd, op)).Ptr(n == 0 ? 0 : Ptr(qd, op)).I64(n).Ptr(partial.Ptr));
            Launch("vq_sqerr_finish_" + t, new Dim3(1), new Dim3(BlockSize), 0, KernelArgs.Begin()
                .Ptr(partial.Ptr).I32((int)parts).F64(scale).Ptr(Ptr(y, op)));
        }
    }

    public void VqSquaredErrorBackward(Buf x, Buf q, Buf gy, Buf? gx, Buf? gq, double ax, double aq)
    {
        const string op = "VqSquaredErrorBackward";
        S(x, op); S(q, op); S(gy, op);
        VqSameFloat(op, x, q, "quantized"); VqSameFloat(op, x, gy, "gradient");
        if (!x.Layout.SameShape(q.Layout)) throw new ShapeMismatchException(op, $"rows {Fmt.Shape(x.Shape)} vs quantized {Fmt.Shape(q.Shape)} (cuda)");
        if (gy.Numel != 1) throw new ShapeMismatchException(op, $"gradient must hold one element, got {Fmt.Shape(gy.Shape)} (cuda)");
        foreach (var (g, what) in new[] { (gx, "rows gradient"), (gq, "quantized gradient") })
            if (g is { } b)
            {
                S(b, op); VqSameFloat(op, x, b, what); SpShape(op, b, x.Shape, what); SpOutput(op, b, what);
            }
        long n = x.Numel;
        if (n == 0 || (gx is null && gq is null)) return;
        var xd = SpDense(op, x, out var xt);
        var qd = SpDense(op, q, out var qt);
        using (xt)
        using (qt)
            Launch1D("vq_sqerr_bwd_" + Sfx(x.DType), n, KernelArgs.Begin()
                .Ptr(Ptr(xd, op)).Ptr(Ptr(qd, op)).Ptr(Ptr(gy, op))
                .Ptr(gx is { } bx ? Ptr(bx, op) : 0).Ptr(gq is { } bq ? Ptr(bq, op) : 0).I64(n).F64(ax).F64(aq));
    }

    // ------------------------------------------------------------------ EMA update

    public void VqEmaUpdate(Buf x, Buf indices, Buf codebook, Buf clusterSize, Buf embedSum, Buf counts, VqEmaParams p)
    {
        const string op = "VqEmaUpdate";
        VqCheckSegment(op, x, indices, embedSum, out int n, out int d, out int k);
        S(codebook, op); S(clusterSize, op); S(counts, op);
        VqSameFloat(op, x, codebook, "codebook"); VqSameFloat(op, x, clusterSize, "cluster sizes"); VqIndex(op, counts, "counts");
        SpShape(op, codebook, [k, d], "codebook"); SpShape(op, clusterSize, [k], "cluster sizes"); SpShape(op, counts, [k], "counts");
        SpOutput(op, codebook, "codebook"); SpOutput(op, clusterSize, "cluster sizes"); SpOutput(op, counts, "counts");
        var dt = x.DType;
        var xd = SpDense(op, x, out var xt);
        var id = SpDense(op, indices, out var it);
        using (xt)
        using (it)
        {
            var (order, offsets) = VqSortByCode(op, id, n, k, Ptr(counts, op));
            using (order)
            using (offsets)
            {
                if (k == 0) return;
                using var sums = Scratch(dt, (long)k * d);
                if ((long)k * d > 0)
                {
                    if (n == 0) Runtime.MemsetD8(sums.Ptr, 0, (long)k * d * dt.Size());
                    else VqLaunchSegmentSum(dt, Ptr(xd, op), order, offsets, k, d, sums.Ptr);
                }
                using var smooth = Scratch(DType.F64, k);
                using var restart = Scratch(DType.I32, k);
                string t = Sfx(dt);
                var a = KernelArgs.Begin().Ptr(Ptr(clusterSize, op)).Ptr(Ptr(counts, op)).I32(k).I64(n);
                if (dt == DType.F32) a.F32((float)p.Decay).F32((float)(1.0 - p.Decay));
                else a.F64(p.Decay).F64(1.0 - p.Decay);
                a.F64(p.Eps).F64(p.DeadThreshold).U64(p.Seed).U64(p.Offset).Ptr(smooth.Ptr).Ptr(restart.Ptr);
                Launch("vq_ema_stats_" + t, new Dim3(1), new Dim3(BlockSize), 0, a);
                long kd = (long)k * d;
                var b = KernelArgs.Begin().Ptr(Ptr(codebook, op)).Ptr(Ptr(embedSum, op)).Ptr(sums.Ptr).Ptr(n == 0 ? 0 : Ptr(xd, op))
                    .Ptr(smooth.Ptr).Ptr(restart.Ptr).I64(kd).I32(d);
                if (dt == DType.F32) b.F32((float)p.Decay).F32((float)(1.0 - p.Decay)).F32((float)p.DeadThreshold);
                else b.F64(p.Decay).F64(1.0 - p.Decay).F64(p.DeadThreshold);
                Launch1D("vq_ema_codebook_" + t, kd, b);
            }
        }
    }
}
