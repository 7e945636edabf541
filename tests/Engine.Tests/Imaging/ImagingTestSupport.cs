// Helpers for the imaging tests: a per-test temporary folder, seeded random images, PSNR on
// 8-bit values, and a hand-built 16-bit PNG (StbImageWriteSharp writes 8-bit only).
using System.IO.Compression;
using Engine.Imaging;

namespace Engine.Tests.Imaging;

internal sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "engine-imaging-" + Guid.NewGuid().ToString("N"));
    public TempDir() => Directory.CreateDirectory(Path);
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}

internal static class ImagingTestSupport
{
    /// <summary>An image whose values are exact multiples of 1/255 (so 8-bit formats hold it exactly).</summary>
    public static Image Random8(System.Random rng, int w, int h)
    {
        var rgb = new byte[3 * w * h];
        rng.NextBytes(rgb);
        return Image.FromRgb8(rgb, w, h);
    }

    /// <summary>PSNR in dB between two images' 8-bit quantizations.</summary>
    public static double Psnr8(Image a, Image b)
    {
        byte[] x = a.ToRgb8(), y = b.ToRgb8();
        if (x.Length != y.Length) throw new ArgumentException("size mismatch");
        double se = 0;
        for (int i = 0; i < x.Length; i++) { double d = x[i] - y[i]; se += d * d; }
        double mse = se / x.Length;
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 / mse);
    }

    /// <summary>A 16-bit PNG (color type 2 RGB or 0 gray, no filtering) from big-endian samples.</summary>
    public static byte[] Png16(int w, int h, ushort[] samples, bool gray)
    {
        int ch = gray ? 1 : 3;
        if (samples.Length != w * h * ch) throw new ArgumentException("sample count");
        var raw = new MemoryStream();
        for (int y = 0; y < h; y++)
        {
            raw.WriteByte(0); // filter type None
            for (int i = 0; i < w * ch; i++) { ushort v = samples[y * w * ch + i]; raw.WriteByte((byte)(v >> 8)); raw.WriteByte((byte)v); }
        }
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(zs);
        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BE(ihdr, 0, (uint)w); BE(ihdr, 4, (uint)h);
        ihdr[8] = 16; ihdr[9] = (byte)(gray ? 0 : 2);
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", z.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var len = new byte[4]; BE(len, 0, (uint)data.Length); s.Write(len);
        var td = new byte[4 + data.Length];
        for (int i = 0; i < 4; i++) td[i] = (byte)type[i];
        data.CopyTo(td, 4);
        s.Write(td);
        var crc = new byte[4]; BE(crc, 0, Crc32(td)); s.Write(crc);
    }

    private static void BE(byte[] b, int o, uint v) { b[o] = (byte)(v >> 24); b[o + 1] = (byte)(v >> 16); b[o + 2] = (byte)(v >> 8); b[o + 3] = (byte)v; }

    private static uint Crc32(byte[] d)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in d)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }
}
