// The 8 dihedral transforms of a square (flips and quarter turns) numbered as KAIR's augment_img
// (mode 0..7, used by LUD-VAE and SeNM-VAE), and the crop that writes a transformed window of an
// Image straight into a caller's buffer (a batch slot) in one pass, without an intermediate copy.
//
// Modes on an (H, W) array a, np.rot90 counter-clockwise; out[i][j] = a[src(i, j)]:
//   0 identity               a[i][j]            4 flipud(rot90(a, 2)) a[i][W-1-j]   (= fliplr)
//   1 flipud(rot90(a))       a[j][i]            5 rot90(a)            a[j][W-1-i]
//   2 flipud(a)              a[H-1-i][j]        6 rot90(a, 2)         a[H-1-i][W-1-j]
//   3 rot90(a, 3)            a[H-1-j][i]        7 flipud(rot90(a, 3)) a[H-1-j][W-1-i]
// Odd modes swap height and width. Every mode is an affine walk over the source:
// index(i, j) = origin + i * di + j * dj, so one loop serves all eight.
namespace Engine.Imaging.Data;

public static class Dihedral
{
    public const int Count = 8;

    /// <summary>True for the modes that exchange height and width (1, 3, 5, 7).</summary>
    public static bool SwapsAxes(int mode) => (mode & 1) == 1;

    /// <summary>A new image: <paramref name="src"/> under transform <paramref name="mode"/>.</summary>
    public static Image Apply(Image src, int mode)
    {
        CheckMode("Dihedral.Apply", mode);
        var data = new float[src.Data.Length];
        CropInto(src, 0, 0, src.Height, src.Width, mode, data);
        return SwapsAxes(mode) ? new Image(src.Height, src.Width, data, src.SourceBitDepth) : new Image(src.Width, src.Height, data, src.SourceBitDepth);
    }

    /// <summary>Writes the window rows [top, top + height) x columns [left, left + width) of
    /// <paramref name="src"/>, transformed by <paramref name="mode"/>, into <paramref name="dst"/> as
    /// 3 planes (CHW) of height x width (width x height for odd modes). With
    /// <paramref name="clampEdges"/> the window may reach outside the image and out-of-range
    /// coordinates take the nearest edge pixel (replicate padding); otherwise it must lie inside.</summary>
    public static void CropInto(Image src, int top, int left, int height, int width, int mode, Span<float> dst, bool clampEdges = false)
    {
        const string op = "Dihedral.CropInto";
        CheckMode(op, mode);
        if (height <= 0 || width <= 0)
            throw new InvalidArgumentException(op, $"crop size must be positive, got {height}x{width}");
        if (dst.Length != (long)Image.Channels * height * width)
            throw new ShapeMismatchException(op, $"destination holds {dst.Length} values, a 3x{height}x{width} crop needs {(long)Image.Channels * height * width}");
        bool inside = top >= 0 && left >= 0 && (long)top + height <= src.Height && (long)left + width <= src.Width;
        if (!inside && !clampEdges)
            throw new InvalidArgumentException(op, $"window rows {top}..{(long)top + height - 1}, columns {left}..{(long)left + width - 1} is outside the {src.Width}x{src.Height} (WxH) image");
        int ho = SwapsAxes(mode) ? width : height, wo = SwapsAxes(mode) ? height : width;
        int plane = src.Width * src.Height, outPlane = ho * wo;
        if (inside)
        {
            var (origin, di, dj) = Walk(mode, src.Width, top, left, height, width);
            for (int c = 0; c < Image.Channels; c++)
            {
                ReadOnlySpan<float> s = src.Data.AsSpan(c * plane, plane);
                Span<float> d = dst.Slice(c * outPlane, outPlane);
                if (dj == 1 || dj == -1)
                {
                    // even modes: each output row is a source row segment, forwards or reversed
                    for (int i = 0; i < ho; i++)
                    {
                        long row = origin + i * di;
                        Span<float> drow = d.Slice(i * wo, wo);
                        s.Slice((int)(dj == 1 ? row : row - wo + 1), wo).CopyTo(drow);
                        if (dj == -1) drow.Reverse();
                    }
                }
                else
                {
                    // odd modes (di = +-1): output column j is a source row segment; read it in
                    // order and scatter down the small output, rather than walking source columns
                    // (one cache line per element on a wide image).
                    for (int j = 0; j < wo; j++)
                    {
                        long start = origin + j * dj;
                        ReadOnlySpan<float> seg = s.Slice((int)(di == 1 ? start : start - ho + 1), ho);
                        if (di == 1) for (int i = 0; i < ho; i++) d[i * wo + j] = seg[i];
                        else for (int i = 0; i < ho; i++) d[i * wo + j] = seg[ho - 1 - i];
                    }
                }
            }
            return;
        }
        // Padded window (rare: images smaller than the crop): per-pixel clamped coordinates.
        for (int i = 0; i < ho; i++)
            for (int j = 0; j < wo; j++)
            {
                var (y, x) = Source(mode, i, j, height, width);
                int sy = Math.Clamp(top + y, 0, src.Height - 1), sx = Math.Clamp(left + x, 0, src.Width - 1);
                for (int c = 0; c < Image.Channels; c++)
                    dst[c * outPlane + i * wo + j] = src.Data[c * plane + sy * src.Width + sx];
            }
    }

    /// <summary>Window coordinates (row, column) that output (i, j) reads, for a height x width window.</summary>
    public static (int Row, int Col) Source(int mode, int i, int j, int height, int width) => mode switch
    {
        0 => (i, j),
        1 => (j, i),
        2 => (height - 1 - i, j),
        3 => (height - 1 - j, i),
        4 => (i, width - 1 - j),
        5 => (j, width - 1 - i),
        6 => (height - 1 - i, width - 1 - j),
        7 => (height - 1 - j, width - 1 - i),
        _ => throw new InvalidArgumentException("Dihedral.Source", $"mode must be in 0..7, got {mode}"),
    };

    /// <summary>The affine walk of <see cref="Source"/> in flat plane indices: origin = index of output
    /// (0, 0), di / dj = steps per output row / column.</summary>
    private static (long Origin, long Di, long Dj) Walk(int mode, int stride, int top, int left, int height, int width)
    {
        var (r0, c0) = Source(mode, 0, 0, height, width);
        var (r1, c1) = Source(mode, 1, 0, height, width);
        var (r2, c2) = Source(mode, 0, 1, height, width);
        long origin = (long)(top + r0) * stride + left + c0;
        return (origin, (long)(r1 - r0) * stride + (c1 - c0), (long)(r2 - r0) * stride + (c2 - c0));
    }

    private static void CheckMode(string op, int mode)
    {
        if ((uint)mode >= Count) throw new InvalidArgumentException(op, $"mode must be in 0..7, got {mode}");
    }
}
