// Reading and writing PNG, JPEG and BMP files through StbImageSharp / StbImageWriteSharp.
// Decoded images are always RGB: gray is replicated into three channels and alpha is dropped
// (not composited). 16-bit PNGs are accepted; StbImageSharp 2.30 has no public 16-bit load, so
// their samples are reduced to 8 bits by the decoder (high byte) and SourceBitDepth says 16.
using StbImageSharp;
using StbImageWriteSharp;
using ReadComponents = StbImageSharp.ColorComponents;
using WriteComponents = StbImageWriteSharp.ColorComponents;

namespace Engine.Imaging;

public enum ImageFileFormat { Png, Jpeg, Bmp }

public static partial class ImageIO
{
    /// <summary>The extensions the folder reader lists (lower case, with the dot).</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg", ".bmp"];

    public const int DefaultJpegQuality = 95;

    /// <summary>Reads a PNG, JPEG or BMP file (format taken from the content, not the name).</summary>
    /// <exception cref="ImageIOException">missing file, a folder, or a read failure.</exception>
    /// <exception cref="ImageFormatException">corrupt, truncated or unsupported content.</exception>
    public static Image Read(string path)
    {
        byte[] bytes = ReadBytes(path);
        var format = Sniff(bytes) ?? throw new ImageFormatException(path,
            bytes.Length == 0 ? "empty file" :
            $"unsupported or unrecognized format (first bytes {Hex(bytes)}); supported: PNG, JPEG, BMP");
        return Decode(path, bytes, format);
    }

    /// <summary>Decodes image bytes already in memory; <paramref name="name"/> is used in errors.</summary>
    public static Image Decode(string name, byte[] bytes)
    {
        var format = Sniff(bytes) ?? throw new ImageFormatException(name,
            bytes.Length == 0 ? "empty data" : $"unsupported or unrecognized format (first bytes {Hex(bytes)}); supported: PNG, JPEG, BMP");
        return Decode(name, bytes, format);
    }

    /// <summary>Reads the file straight into a (3, H, W) float32 tensor in [0, 1].</summary>
    public static Tensor ReadTensor(string path, Device? device = null) => Read(path).ToTensor(device);

    /// <summary>Writes by extension: .png (8-bit RGB), .jpg/.jpeg (at <paramref name="jpegQuality"/>),
    /// .bmp. Values are clamped to [0, 1] and rounded by <see cref="Image.Quantize"/>.</summary>
    public static void Write(string path, Image image, int jpegQuality = DefaultJpegQuality)
    {
        var format = FormatFromExtension(path) ?? throw new ImageFormatException(path,
            $"cannot choose an output format from the extension '{Path.GetExtension(path)}'; use .png, .jpg, .jpeg or .bmp");
        Write(path, image, format, jpegQuality);
    }

    public static void Write(string path, Tensor chw, int jpegQuality = DefaultJpegQuality) => Write(path, Image.FromTensor(chw), jpegQuality);

    public static void WritePng(string path, Image image) => Write(path, image, ImageFileFormat.Png, DefaultJpegQuality);

    /// <summary>Writes a baseline JPEG; <paramref name="quality"/> is 1 (smallest) to 100 (best).</summary>
    public static void WriteJpeg(string path, Image image, int quality = DefaultJpegQuality) => Write(path, image, ImageFileFormat.Jpeg, quality);

    public static void Write(string path, Image image, ImageFileFormat format, int jpegQuality = DefaultJpegQuality)
    {
        if (format == ImageFileFormat.Jpeg && (jpegQuality < 1 || jpegQuality > 100))
            throw new InvalidArgumentException("ImageIO.WriteJpeg", $"quality must be in 1..100, got {jpegQuality} (file '{path}')");
        byte[] encoded = Encode(path, image, format, jpegQuality);
        try
        {
            File.WriteAllBytes(path, encoded);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ImageIOException(path, "cannot write the file", e);
        }
    }

    /// <summary>Encodes to PNG/JPEG/BMP bytes in memory.</summary>
    public static byte[] Encode(string name, Image image, ImageFileFormat format, int jpegQuality = DefaultJpegQuality)
    {
        byte[] rgb = image.ToRgb8();
        using var ms = new MemoryStream();
        var writer = new ImageWriter();
        try
        {
            switch (format)
            {
                case ImageFileFormat.Png: writer.WritePng(rgb, image.Width, image.Height, WriteComponents.RedGreenBlue, ms); break;
                case ImageFileFormat.Jpeg: writer.WriteJpg(rgb, image.Width, image.Height, WriteComponents.RedGreenBlue, ms, jpegQuality); break;
                case ImageFileFormat.Bmp: writer.WriteBmp(rgb, image.Width, image.Height, WriteComponents.RedGreenBlue, ms); break;
                default: throw new ImageFormatException(name, $"unknown output format {format}");
            }
        }
        catch (Exception e) when (e is not EngineException)
        {
            throw new ImageFormatException(name, $"{FormatName(format)} encoder failed: {e.Message}");
        }
        return ms.ToArray();
    }

    /// <summary>The format implied by a file name's extension (case-insensitive), or null.</summary>
    public static ImageFileFormat? FormatFromExtension(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" => ImageFileFormat.Png,
        ".jpg" or ".jpeg" => ImageFileFormat.Jpeg,
        ".bmp" => ImageFileFormat.Bmp,
        _ => null,
    };

    /// <summary>The format from the leading signature bytes, or null when none matches.</summary>
    public static ImageFileFormat? Sniff(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 8 && b[0] == 0x89 && b[1] == (byte)'P' && b[2] == (byte)'N' && b[3] == (byte)'G'
            && b[4] == 0x0D && b[5] == 0x0A && b[6] == 0x1A && b[7] == 0x0A) return ImageFileFormat.Png;
        if (b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ImageFileFormat.Jpeg;
        if (b.Length >= 2 && b[0] == (byte)'B' && b[1] == (byte)'M') return ImageFileFormat.Bmp;
        return null;
    }

    private static byte[] ReadBytes(string path)
    {
        if (Directory.Exists(path)) throw new ImageIOException(path, "is a directory, not an image file");
        if (!File.Exists(path)) throw new ImageIOException(path, "file not found");
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ImageIOException(path, "cannot read the file", e);
        }
    }

    private static Image Decode(string name, byte[] bytes, ImageFileFormat fileFormat)
    {
        // stb's JPEG decoder can loop forever on a stream cut inside its headers (seen on a 10-byte
        // truncation): require the start-of-scan and end-of-image markers before handing it over.
        if (fileFormat == ImageFileFormat.Jpeg && !JpegLooksComplete(bytes))
            throw new ImageFormatException(name, "corrupt or truncated JPEG (no start-of-scan or end-of-image marker)");
        string format = FormatName(fileFormat);
        int bitDepth;
        ImageResult result;
        try
        {
            using (var ms = new MemoryStream(bytes, writable: false))
            {
                var info = ImageInfo.FromStream(ms) ?? throw new ImageFormatException(name, $"corrupt or truncated {format} header ({bytes.Length} bytes)");
                bitDepth = info.BitsPerChannel;
                if (info.Width <= 0 || info.Height <= 0) throw new ImageFormatException(name, $"corrupt or truncated {format} header: size {info.Width}x{info.Height}");
            }
            result = ImageResult.FromMemory(bytes, ReadComponents.RedGreenBlue);
        }
        catch (EngineException) { throw; }
        catch (Exception e)
        {
            // stb reports corrupt and truncated data through exceptions whose message is its failure reason.
            throw new ImageFormatException(name, $"corrupt or truncated {format} data ({bytes.Length} bytes): {e.Message}");
        }
        if (result is null || result.Data is null || result.Data.Length != 3L * result.Width * result.Height)
            throw new ImageFormatException(name, $"corrupt or truncated {format} data ({bytes.Length} bytes): decoder returned no pixels");
        return Image.FromRgb8(result.Data, result.Width, result.Height, bitDepth);
    }

    /// <summary>True when the JPEG has a start-of-scan marker (FF DA) and ends with end-of-image (FF D9,
    /// trailing padding allowed).</summary>
    internal static bool JpegLooksComplete(byte[] b)
    {
        bool sos = false;
        for (int i = 2; i + 1 < b.Length; i++)
            if (b[i] == 0xFF && b[i + 1] == 0xDA) { sos = true; break; }
        if (!sos) return false;
        for (int i = b.Length - 2; i >= Math.Max(2, b.Length - 4096); i--)
            if (b[i] == 0xFF && b[i + 1] == 0xD9) return true;
        return false;
    }

    /// <summary>The upper-case name used in messages: PNG, JPEG, BMP.</summary>
    public static string FormatName(ImageFileFormat f) => f.ToString().ToUpperInvariant();

    private static string Hex(byte[] b) => b.Length == 0 ? "none" : Convert.ToHexString(b, 0, Math.Min(8, b.Length));
}
