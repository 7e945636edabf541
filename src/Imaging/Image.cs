// Image: an RGB picture as float32 planes, CHW layout, values in [0, 1], and its conversion to
// and from tensors. Quantization to 8 bits is one rule used everywhere (see Quantize).
namespace Engine.Imaging;

/// <summary>An RGB image: <see cref="Data"/> holds 3 planes of Height x Width floats in [0, 1]
/// (CHW, row-major). <see cref="SourceBitDepth"/> is the bit depth per channel of the file it
/// came from (8 or 16; 8 for images made in memory).</summary>
public sealed record Image
{
    public const int Channels = 3;

    public int Width { get; }
    public int Height { get; }
    public float[] Data { get; }
    public int SourceBitDepth { get; }

    public Image(int width, int height, float[] data, int sourceBitDepth = 8)
    {
        if (width <= 0 || height <= 0)
            throw new InvalidArgumentException("Image", $"width and height must be positive, got {width}x{height}");
        if (data.Length != (long)Channels * width * height)
            throw new ShapeMismatchException("Image", $"{data.Length} values for a 3x{height}x{width} image ({(long)Channels * width * height} expected)");
        Width = width; Height = height; Data = data; SourceBitDepth = sourceBitDepth;
    }

    /// <summary>Builds an image from interleaved 8-bit RGB bytes (HWC), as decoders return them.</summary>
    public static Image FromRgb8(ReadOnlySpan<byte> rgb, int width, int height, int sourceBitDepth = 8)
    {
        int hw = width * height;
        if (rgb.Length != 3 * hw)
            throw new ShapeMismatchException("Image.FromRgb8", $"{rgb.Length} bytes for a {height}x{width}x3 image ({3 * hw} expected)");
        var data = new float[3 * hw];
        for (int i = 0; i < hw; i++)
        {
            data[i] = rgb[3 * i] / 255f;          // R plane
            data[hw + i] = rgb[3 * i + 1] / 255f; // G plane
            data[2 * hw + i] = rgb[3 * i + 2] / 255f;
        }
        return new Image(width, height, data, sourceBitDepth);
    }

    /// <summary>Interleaved 8-bit RGB bytes (HWC), each value quantized by <see cref="Quantize"/>.</summary>
    public byte[] ToRgb8()
    {
        int hw = Width * Height;
        var rgb = new byte[3 * hw];
        for (int i = 0; i < hw; i++)
        {
            rgb[3 * i] = Quantize(Data[i]);
            rgb[3 * i + 1] = Quantize(Data[hw + i]);
            rgb[3 * i + 2] = Quantize(Data[2 * hw + i]);
        }
        return rgb;
    }

    /// <summary>The one 8-bit quantization rule: clamp to [0, 1] (NaN becomes 0), then
    /// round(x * 255) with ties to even, as numpy's np.round does, so PSNR computed on
    /// 8-bit images written by the engine matches the usual round(x*255) reference.
    /// k/255 for k in 0..255 maps back to k exactly.</summary>
    public static byte Quantize(float x)
    {
        if (!(x > 0f)) return 0; // also NaN
        if (x >= 1f) return 255;
        // x * 255 in double is exact for any float x, so this is the correctly rounded value and
        // agrees with Image8.FromUnit (a float product would round first and could flip near-ties).
        return (byte)Math.Round(x * 255.0, MidpointRounding.ToEven);
    }

    /// <summary>A (3, H, W) float32 CPU tensor with a copy of the data; unsqueeze(0) for a batch of one.</summary>
    public Tensor ToTensor(Device? device = null) => Tensor.FromArray((float[])Data.Clone(), [Channels, Height, Width], device);

    /// <summary>An image from a (3, H, W) or (1, 3, H, W) tensor of float32 or float64 on any
    /// device. Values are copied as they are; clamping and rounding happen only when writing.</summary>
    public static Image FromTensor(Tensor t)
    {
        var s = t.Shape;
        bool ok = (s.Length == 3 && s[0] == Channels) || (s.Length == 4 && s[0] == 1 && s[1] == Channels);
        if (!ok)
            throw new ShapeMismatchException("Image.FromTensor", $"expected (3, H, W) or (1, 3, H, W), got {t}");
        if (t.DType != DType.F32 && t.DType != DType.F64)
            throw new DTypeMismatchException("Image.FromTensor", $"expected f32 or f64, got {t}");
        int h = s[^2], w = s[^1];
        if (h == 0 || w == 0)
            throw new ShapeMismatchException("Image.FromTensor", $"empty image {t}");
        return new Image(w, h, t.ToFloatArray());
    }
}
