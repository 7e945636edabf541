// JPEG round trip in memory: the JPEG-compression degradation (encode with StbImageWriteSharp at a
// quality, decode with StbImageSharp), the same codec pair ImageIO uses for files. Values are
// quantized to 8 bits first (Image.Quantize); the result holds k/255 values. Deterministic.
namespace Engine.Imaging;

public static partial class ImageIO
{
    /// <summary>Encodes <paramref name="img"/> as a baseline JPEG at <paramref name="quality"/>
    /// (1 = smallest, 100 = best) and decodes it again; same size as the input.</summary>
    /// <exception cref="InvalidArgumentException">quality outside 1..100.</exception>
    public static Image JpegRoundTrip(Image img, int quality)
    {
        const string op = "ImageIO.JpegRoundTrip";
        if (quality < 1 || quality > 100)
            throw new InvalidArgumentException(op, $"quality must be in 1..100, got {quality}");
        string name = $"<{op} q{quality}>";
        byte[] jpeg = Encode(name, img, ImageFileFormat.Jpeg, quality);
        var back = Decode(name, jpeg);
        if (back.Width != img.Width || back.Height != img.Height)
            throw new ImageFormatException(name, $"decoded {back.Width}x{back.Height} from a {img.Width}x{img.Height} image");
        return new Image(back.Width, back.Height, back.Data, img.SourceBitDepth);
    }
}
