// Image8: an image quantized to the 8-bit grid, held as float64 values 0..255 in (H, W, C) order,
// the form every metric in this folder consumes. Quantization follows KAIR tensor2uint / BasicSR
// tensor2img: clamp to [0,1], multiply by 255, round half to even (numpy's round), then compare
// as float64. In-memory only; file IO lives elsewhere.
using Engine;

namespace Engine.Imaging;

/// <summary>Memory order of a 3-D image array: (C, H, W) planar or (H, W, C) interleaved.</summary>
public enum PixelLayout { Chw, Hwc }

/// <summary>An image on the 8-bit grid: values are integers 0..255 stored as double, (H, W, C).</summary>
public sealed class Image8
{
    public int Height { get; }
    public int Width { get; }
    public int Channels { get; }
    /// <summary>(H, W, C) row-major, each value an integer in [0, 255].</summary>
    public double[] Data { get; }

    private Image8(int h, int w, int c, double[] data)
    {
        Height = h; Width = w; Channels = c; Data = data;
    }

    public string ShapeText => $"(H={Height}, W={Width}, C={Channels})";

    private static void CheckDims(string op, int h, int w, int c, int length)
    {
        if (h <= 0 || w <= 0 || c <= 0)
            throw new InvalidArgumentException(op, $"image dimensions must be positive, got (H={h}, W={w}, C={c})");
        if ((long)h * w * c != length)
            throw new ShapeMismatchException(op, $"(H={h}, W={w}, C={c}) needs {(long)h * w * c} values, got {length}");
    }

    /// <summary>An RGB <see cref="Image"/> quantized to the 8-bit grid (the rule of <see cref="Image.Quantize"/>).</summary>
    public static Image8 FromImage(Image img) => FromUnit(img.Data, img.Height, img.Width, Image.Channels, PixelLayout.Chw);

    /// <summary>Quantizes [0,1] values: round(clamp(x, 0, 1) * 255), half to even. NaN is rejected.</summary>
    public static Image8 FromUnit(ReadOnlySpan<float> data, int height, int width, int channels, PixelLayout layout)
    {
        CheckDims("Image8.FromUnit", height, width, channels, data.Length);
        var d = new double[data.Length];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                {
                    int src = layout == PixelLayout.Hwc ? (y * width + x) * channels + c : (c * height + y) * width + x;
                    d[(y * width + x) * channels + c] = Quantize("Image8.FromUnit", data[src]);
                }
        return new Image8(height, width, channels, d);
    }

    /// <summary>As <see cref="FromUnit(ReadOnlySpan{float},int,int,int,PixelLayout)"/> for float64 inputs.</summary>
    public static Image8 FromUnit(ReadOnlySpan<double> data, int height, int width, int channels, PixelLayout layout)
    {
        CheckDims("Image8.FromUnit", height, width, channels, data.Length);
        var d = new double[data.Length];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                {
                    int src = layout == PixelLayout.Hwc ? (y * width + x) * channels + c : (c * height + y) * width + x;
                    d[(y * width + x) * channels + c] = Quantize("Image8.FromUnit", data[src]);
                }
        return new Image8(height, width, channels, d);
    }

    /// <summary>Wraps 8-bit data given in (H, W, C) order.</summary>
    public static Image8 FromBytes(ReadOnlySpan<byte> hwc, int height, int width, int channels)
    {
        CheckDims("Image8.FromBytes", height, width, channels, hwc.Length);
        var d = new double[hwc.Length];
        for (int i = 0; i < d.Length; i++) d[i] = hwc[i];
        return new Image8(height, width, channels, d);
    }

    /// <summary>A tensor of [0,1] values, shape (C, H, W) for <see cref="PixelLayout.Chw"/> or (H, W, C)
    /// for <see cref="PixelLayout.Hwc"/>; F32 or F64, any device (copied to the host).</summary>
    public static Image8 FromTensor(Tensor t, PixelLayout layout)
    {
        if (t.Rank != 3)
            throw new RankException("Image8.FromTensor", $"expected a rank-3 image ({(layout == PixelLayout.Chw ? "C, H, W" : "H, W, C")}), got {t}");
        var s = t.Shape;
        int c = layout == PixelLayout.Chw ? s[0] : s[2];
        int h = layout == PixelLayout.Chw ? s[1] : s[0];
        int w = layout == PixelLayout.Chw ? s[2] : s[1];
        return FromUnit(t.ToDoubleArray(), h, w, c, layout);
    }

    private static double Quantize(string op, double v)
    {
        if (double.IsNaN(v)) throw new InvalidArgumentException(op, "NaN pixel value");
        v = Math.Clamp(v, 0.0, 1.0);
        return Math.Round(v * 255.0, MidpointRounding.ToEven);
    }

    /// <summary>Removes <paramref name="border"/> pixels from every side (BasicSR crop_border).</summary>
    public Image8 Crop(int border)
    {
        if (border < 0) throw new InvalidArgumentException("Image8.Crop", $"border must be >= 0, got {border}");
        if (border == 0) return this;
        if (2 * border >= Height || 2 * border >= Width)
            throw new InvalidArgumentException("Image8.Crop", $"crop border {border} leaves nothing of an image {ShapeText}");
        int h = Height - 2 * border, w = Width - 2 * border, c = Channels;
        var d = new double[h * w * c];
        for (int y = 0; y < h; y++)
            Array.Copy(Data, ((y + border) * Width + border) * c, d, y * w * c, w * c);
        return new Image8(h, w, c, d);
    }

    /// <summary>One channel as an (H, W) plane.</summary>
    public double[] Plane(int channel)
    {
        if (channel < 0 || channel >= Channels)
            throw new DimOutOfRangeException("Image8.Plane", $"channel {channel} of an image {ShapeText}");
        var p = new double[Height * Width];
        for (int i = 0; i < p.Length; i++) p[i] = Data[i * Channels + channel];
        return p;
    }

    /// <summary>BT.601 luma in the MATLAB rgb2ycbcr / BasicSR to_y_channel convention, on the 0..255
    /// scale: Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 with R, G, B the 8-bit values
    /// (the [0,1] form 16 + 65.481 r + 128.553 g + 24.966 b, times 1). Channels are taken as RGB
    /// (BasicSR's bgr2ycbcr applies the same weights to cv2's BGR order, i.e. also to R, G, B).
    /// Not rounded (BasicSR); <paramref name="round"/> = true gives MATLAB/KAIR uint8 Y (half to even).</summary>
    public double[] LumaY(bool round = false)
    {
        if (Channels != 3)
            throw new ShapeMismatchException("Image8.LumaY", $"Y channel needs 3 channels (RGB), image is {ShapeText}");
        var p = new double[Height * Width];
        for (int i = 0; i < p.Length; i++)
        {
            double r = Data[3 * i] / 255.0, g = Data[3 * i + 1] / 255.0, b = Data[3 * i + 2] / 255.0;
            double y = 16.0 + 65.481 * r + 128.553 * g + 24.966 * b;
            p[i] = round ? Math.Round(y, MidpointRounding.ToEven) : y;
        }
        return p;
    }
}
