// Matmul (batched, broadcasting batch dims, transposes as flags) and 2-D convolutions.
namespace Engine;

public static partial class Ops
{
    /// <summary>op(a) @ op(b) over the last two axes, batch axes broadcast. 1-D operands are not
    /// promoted: both must have rank >= 2.</summary>
    public static Tensor Matmul(Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        const string name = "Matmul";
        CheckSameDevice(name, a, b); CheckSameDType(name, a, b); CheckFloat(name, a);
        if (a.Rank < 2 || b.Rank < 2) throw new RankException(name, $"operands need rank >= 2, got {Fmt.Of(a)} and {Fmt.Of(b)}");
        using var ta = transA ? a.Transpose(-2, -1) : a.Alias();
        using var tb = transB ? b.Transpose(-2, -1) : b.Alias();
        int m = ta.Layout.Shape[^2], k = ta.Layout.Shape[^1], k2 = tb.Layout.Shape[^2], n = tb.Layout.Shape[^1];
        if (k != k2) throw new ShapeMismatchException(name, $"inner dims differ: {Fmt.Shape(a.Layout.Shape)}{(transA ? "^T" : "")} @ {Fmt.Shape(b.Layout.Shape)}{(transB ? "^T" : "")} ({k} vs {k2})");
        var batch = BroadcastShape(name, ta.Layout.Shape[..^2], tb.Layout.Shape[..^2]);
        int bsz = 1; foreach (int d in batch) bsz *= d;
        var outShape = batch.Concat(new[] { m, n }).ToArray();
        var c = Tensor.Empty(outShape, a.DType, a.Device);
        using var ea = ta.Expand([.. batch, m, k]);
        using var eb = tb.Expand([.. batch, k, n]);
        // Collapse batch dims: works when they collapse to one stride (always true for contiguous or broadcast-0).
        using var a3 = Batch3("Matmul", ea, bsz, m, k);
        using var b3 = Batch3("Matmul", eb, bsz, k, n);
        using var c3 = c.Reshape(bsz, m, n);
        a.Backend.Matmul(a3.Buf, b3.Buf, c3.Buf);
        return c;
    }

    /// <summary>(batch..., r, c) view as (B, r, c) when the batch dims share one stride, else a copy.</summary>
    private static Tensor Batch3(string op, Tensor t, int bsz, int r, int c)
    {
        var L = t.Layout;
        int nb = L.Rank - 2;
        bool ok = true;
        long stride = 0;
        bool first = true;
        for (int i = nb - 1; i >= 0; i--)
        {
            if (L.Shape[i] == 1) continue;
            if (first) { stride = L.Strides[i]; first = false; continue; }
            // dim i must step over all inner batch dims with the same inner stride.
            long inner = 1; for (int j = i + 1; j < nb; j++) inner *= L.Shape[j];
            if (L.Strides[i] != stride * inner) { ok = false; break; }
        }
        if (!ok)
        {
            using var cpy = t.Clone();
            return Batch3(op, cpy, bsz, r, c);
        }
        return t.View(new Layout([bsz, r, c], [stride, L.Strides[^2], L.Strides[^1]], L.Offset));
    }

    public static int ConvOutSize(int input, int k, int stride, int pad, int dilation) => (input + 2 * pad - dilation * (k - 1) - 1) / stride + 1;

    private static void CheckConvArgs(string name, Tensor x, Tensor w, Conv2dParams p)
    {
        CheckSameDevice(name, x, w); CheckSameDType(name, x, w); CheckFloat(name, x);
        CheckRank(name, x, 4, "input (N, C, H, W)"); CheckRank(name, w, 4, "weight");
        if (p.StrideH < 1 || p.StrideW < 1 || p.DilationH < 1 || p.DilationW < 1 || p.PadH < 0 || p.PadW < 0 || p.Groups < 1)
            throw new InvalidArgumentException(name, $"bad parameters {p}");
    }

    /// <summary>act(conv2d(x, w) + bias); the bias and the activation are applied in the kernel's output pass.</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dParams p, Activation act = default)
    {
        const string name = "Conv2d";
        CheckConvArgs(name, x, w, p);
        if (act.Kind == ActivationKind.LeakyRelu && !(act.Slope >= 0 && double.IsFinite(act.Slope)))
            throw new InvalidArgumentException(name, $"leaky relu slope must be finite and >= 0, got {act.Slope}");
        int n = x.Size(0), cin = x.Size(1), h = x.Size(2), wd = x.Size(3);
        int cout = w.Size(0), kh = w.Size(2), kw = w.Size(3);
        if (cin % p.Groups != 0 || cout % p.Groups != 0 || w.Size(1) != cin / p.Groups)
            throw new ShapeMismatchException(name, $"input {Fmt.Of(x)} and weight {Fmt.Of(w)} do not match with groups={p.Groups} (weight must be (Cout, Cin/groups, KH, KW))");
        if (bias != null)
        {
            CheckSameDevice(name, x, bias); CheckSameDType(name, x, bias);
            if (bias.Rank != 1 || bias.Size(0) != cout) throw new ShapeMismatchException(name, $"bias {Fmt.Of(bias)} must be ({cout})");
        }
        int oh = ConvOutSize(h, kh, p.StrideH, p.PadH, p.DilationH), ow = ConvOutSize(wd, kw, p.StrideW, p.PadW, p.DilationW);
        if (oh <= 0 || ow <= 0) throw new ShapeMismatchException(name, $"input {Fmt.Of(x)} too small for kernel {kh}x{kw} with {p}");
        using var xc = x.Contiguous();
        using var wc = w.Contiguous();
        using var bc = bias?.Contiguous();
        var y = Tensor.Empty([n, cout, oh, ow], x.DType, x.Device);
        x.Backend.Conv2d(xc.Buf, wc.Buf, bc?.Buf, y.Buf, p, act);
        return y;
    }

    /// <summary>Gradient of conv2d w.r.t. its input, for an input of spatial size (h, w).</summary>
    public static Tensor Conv2dBackwardData(Tensor gy, Tensor w, int h, int wd, Conv2dParams p)
    {
        const string name = "Conv2dBackwardData";
        CheckConvArgs(name, gy, w, p);
        int cin = w.Size(1) * p.Groups;
        // The kernels derive gy's extent from (h, wd): a mismatch would read outside gy.
        int oh = ConvOutSize(h, w.Size(2), p.StrideH, p.PadH, p.DilationH), ow = ConvOutSize(wd, w.Size(3), p.StrideW, p.PadW, p.DilationW);
        if (h <= 0 || wd <= 0 || gy.Size(1) != w.Size(0) || w.Size(0) % p.Groups != 0 || gy.Size(2) != oh || gy.Size(3) != ow)
            throw new ShapeMismatchException(name, $"grad {Fmt.Of(gy)} does not fit weight {Fmt.Of(w)} and input size {h}x{wd} with {p} (expects (N, {w.Size(0)}, {oh}, {ow}))");
        using var gc = gy.Contiguous();
        using var wc = w.Contiguous();
        var gx = Tensor.Empty([gy.Size(0), cin, h, wd], gy.DType, gy.Device);
        gy.Backend.Conv2dBackwardData(gc.Buf, wc.Buf, gx.Buf, p);
        return gx;
    }

    /// <summary>Gradient of conv2d w.r.t. its weight of spatial size (kh, kw).</summary>
    public static Tensor Conv2dBackwardFilter(Tensor x, Tensor gy, int kh, int kw, Conv2dParams p)
    {
        const string name = "Conv2dBackwardFilter";
        CheckConvArgs(name, x, gy, p);
        // The kernels derive gy's extent from x and (kh, kw): a mismatch would read outside gy.
        int oh = ConvOutSize(x.Size(2), kh, p.StrideH, p.PadH, p.DilationH), ow = ConvOutSize(x.Size(3), kw, p.StrideW, p.PadW, p.DilationW);
        if (kh <= 0 || kw <= 0 || gy.Size(0) != x.Size(0) || x.Size(1) % p.Groups != 0 || gy.Size(1) % p.Groups != 0 || gy.Size(2) != oh || gy.Size(3) != ow)
            throw new ShapeMismatchException(name, $"input {Fmt.Of(x)} and grad {Fmt.Of(gy)} do not fit a {kh}x{kw} kernel with {p} (grad must be (N, Cout, {oh}, {ow}))");
        using var xc = x.Contiguous();
        using var gc = gy.Contiguous();
        var gw = Tensor.Empty([gy.Size(1), x.Size(1) / p.Groups, kh, kw], x.DType, x.Device);
        x.Backend.Conv2dBackwardFilter(xc.Buf, gc.Buf, gw.Buf, p);
        return gw;
    }

    /// <summary>conv_transpose2d: x (N, Cin, H, W), w (Cin, Cout/groups, KH, KW) as in PyTorch.</summary>
    public static Tensor ConvTranspose2d(Tensor x, Tensor w, Tensor? bias, Conv2dParams p, int outputPadH = 0, int outputPadW = 0)
    {
        const string name = "ConvTranspose2d";
        CheckConvArgs(name, x, w, p);
        if (x.Size(1) != w.Size(0) || w.Size(0) % p.Groups != 0)
            throw new ShapeMismatchException(name, $"input {Fmt.Of(x)} and weight {Fmt.Of(w)} do not match with groups={p.Groups} (weight must be (Cin, Cout/groups, KH, KW))");
        if (outputPadH < 0 || outputPadW < 0 || (outputPadH >= p.StrideH && outputPadH >= p.DilationH) || (outputPadW >= p.StrideW && outputPadW >= p.DilationW))
            throw new InvalidArgumentException(name, $"output padding ({outputPadH}, {outputPadW}) must be smaller than stride or dilation ({p})");
        // torch also allows stride <= output padding < dilation. Computed as conv2d's data gradient,
        // such an output is not a conv2d input size for x (the extra rows get no contribution), and
        // the backward rules (conv2d of gy, filter gradient) would not match x: refuse it.
        if (outputPadH >= p.StrideH || outputPadW >= p.StrideW)
            throw new UnsupportedOpException(name, $"output padding ({outputPadH}, {outputPadW}) not smaller than the stride ({p.StrideH}, {p.StrideW})");
        int kh = w.Size(2), kw = w.Size(3);
        int oh = (x.Size(2) - 1) * p.StrideH - 2 * p.PadH + p.DilationH * (kh - 1) + outputPadH + 1;
        int ow = (x.Size(3) - 1) * p.StrideW - 2 * p.PadW + p.DilationW * (kw - 1) + outputPadW + 1;
        if (oh <= 0 || ow <= 0) throw new ShapeMismatchException(name, $"output would be empty for input {Fmt.Of(x)} and {p}");
        int cout = w.Size(1) * p.Groups;
        if (bias != null)
        {
            CheckSameDevice(name, x, bias); CheckSameDType(name, x, bias);
            if (bias.Rank != 1 || bias.Size(0) != cout) throw new ShapeMismatchException(name, $"bias {Fmt.Of(bias)} must be ({cout}) for weight {Fmt.Of(w)} with groups={p.Groups}");
        }
        var y = Conv2dBackwardData(x, w, oh, ow, p);
        if (bias == null) return y;
        using (y)
        using (var b4 = bias.Reshape(1, -1, 1, 1))
            return Add(y, b4);
    }
}
