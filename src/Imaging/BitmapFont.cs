// A 5x7 pixel bitmap font for printable ASCII (32..126), drawn by hand for the labels of image
// grids (ImageGrid): no font files, no text rendering library. Each glyph is 7 rows of 5 bits, the
// leftmost pixel first; characters advance 6 px (one blank column) and a line is 7 px high, both times
// an integer scale. Characters outside 32..126 draw as '?'.
namespace Engine.Imaging;

public static class BitmapFont
{
    public const int GlyphWidth = 5, GlyphHeight = 7, Advance = 6;
    public const char First = ' ', Last = '~';

    // one line per character from ' ' (32) to '~' (126): 7 rows, '1' = ink
    private static readonly string[] Rows =
    [
        "00000 00000 00000 00000 00000 00000 00000", // ' '
        "00100 00100 00100 00100 00100 00000 00100", // !
        "01010 01010 01010 00000 00000 00000 00000", // "
        "01010 01010 11111 01010 11111 01010 01010", // #
        "00100 01111 10100 01110 00101 11110 00100", // $
        "11000 11001 00010 00100 01000 10011 00011", // %
        "01100 10010 10100 01000 10101 10010 01101", // &
        "01100 00100 01000 00000 00000 00000 00000", // '
        "00010 00100 01000 01000 01000 00100 00010", // (
        "01000 00100 00010 00010 00010 00100 01000", // )
        "00000 00100 10101 01110 10101 00100 00000", // *
        "00000 00100 00100 11111 00100 00100 00000", // +
        "00000 00000 00000 00000 01100 00100 01000", // ,
        "00000 00000 00000 11111 00000 00000 00000", // -
        "00000 00000 00000 00000 00000 01100 01100", // .
        "00000 00001 00010 00100 01000 10000 00000", // /
        "01110 10001 10011 10101 11001 10001 01110", // 0
        "00100 01100 00100 00100 00100 00100 01110", // 1
        "01110 10001 00001 00010 00100 01000 11111", // 2
        "11111 00010 00100 00010 00001 10001 01110", // 3
        "00010 00110 01010 10010 11111 00010 00010", // 4
        "11111 10000 11110 00001 00001 10001 01110", // 5
        "00110 01000 10000 11110 10001 10001 01110", // 6
        "11111 00001 00010 00100 01000 01000 01000", // 7
        "01110 10001 10001 01110 10001 10001 01110", // 8
        "01110 10001 10001 01111 00001 00010 01100", // 9
        "00000 01100 01100 00000 01100 01100 00000", // :
        "00000 01100 01100 00000 01100 00100 01000", // ;
        "00010 00100 01000 10000 01000 00100 00010", // <
        "00000 00000 11111 00000 11111 00000 00000", // =
        "01000 00100 00010 00001 00010 00100 01000", // >
        "01110 10001 00001 00010 00100 00000 00100", // ?
        "01110 10001 00001 01101 10101 10101 01110", // @
        "01110 10001 10001 10001 11111 10001 10001", // A
        "11110 10001 10001 11110 10001 10001 11110", // B
        "01110 10001 10000 10000 10000 10001 01110", // C
        "11100 10010 10001 10001 10001 10010 11100", // D
        "11111 10000 10000 11110 10000 10000 11111", // E
        "11111 10000 10000 11110 10000 10000 10000", // F
        "01110 10001 10000 10111 10001 10001 01111", // G
        "10001 10001 10001 11111 10001 10001 10001", // H
        "01110 00100 00100 00100 00100 00100 01110", // I
        "00111 00010 00010 00010 00010 10010 01100", // J
        "10001 10010 10100 11000 10100 10010 10001", // K
        "10000 10000 10000 10000 10000 10000 11111", // L
        "10001 11011 10101 10101 10001 10001 10001", // M
        "10001 10001 11001 10101 10011 10001 10001", // N
        "01110 10001 10001 10001 10001 10001 01110", // O
        "11110 10001 10001 11110 10000 10000 10000", // P
        "01110 10001 10001 10001 10101 10010 01101", // Q
        "11110 10001 10001 11110 10100 10010 10001", // R
        "01111 10000 10000 01110 00001 00001 11110", // S
        "11111 00100 00100 00100 00100 00100 00100", // T
        "10001 10001 10001 10001 10001 10001 01110", // U
        "10001 10001 10001 10001 10001 01010 00100", // V
        "10001 10001 10001 10101 10101 10101 01010", // W
        "10001 10001 01010 00100 01010 10001 10001", // X
        "10001 10001 10001 01010 00100 00100 00100", // Y
        "11111 00001 00010 00100 01000 10000 11111", // Z
        "01110 01000 01000 01000 01000 01000 01110", // [
        "00000 10000 01000 00100 00010 00001 00000", // backslash
        "01110 00010 00010 00010 00010 00010 01110", // ]
        "00100 01010 10001 00000 00000 00000 00000", // ^
        "00000 00000 00000 00000 00000 00000 11111", // _
        "01000 00100 00010 00000 00000 00000 00000", // `
        "00000 00000 01110 00001 01111 10001 01111", // a
        "10000 10000 10110 11001 10001 10001 11110", // b
        "00000 00000 01110 10000 10000 10001 01110", // c
        "00001 00001 01101 10011 10001 10001 01111", // d
        "00000 00000 01110 10001 11111 10000 01110", // e
        "00110 01001 01000 11100 01000 01000 01000", // f
        "00000 01111 10001 10001 01111 00001 01110", // g
        "10000 10000 10110 11001 10001 10001 10001", // h
        "00100 00000 01100 00100 00100 00100 01110", // i
        "00010 00000 00110 00010 00010 10010 01100", // j
        "10000 10000 10010 10100 11000 10100 10010", // k
        "01100 00100 00100 00100 00100 00100 01110", // l
        "00000 00000 11010 10101 10101 10001 10001", // m
        "00000 00000 10110 11001 10001 10001 10001", // n
        "00000 00000 01110 10001 10001 10001 01110", // o
        "00000 00000 11110 10001 11110 10000 10000", // p
        "00000 00000 01101 10011 01111 00001 00001", // q
        "00000 00000 10110 11001 10000 10000 10000", // r
        "00000 00000 01110 10000 01110 00001 11110", // s
        "01000 01000 11100 01000 01000 01001 00110", // t
        "00000 00000 10001 10001 10001 10011 01101", // u
        "00000 00000 10001 10001 10001 01010 00100", // v
        "00000 00000 10001 10001 10101 10101 01010", // w
        "00000 00000 10001 01010 00100 01010 10001", // x
        "00000 00000 10001 10001 01111 00001 01110", // y
        "00000 00000 11111 00010 00100 01000 11111", // z
        "00010 00100 00100 01000 00100 00100 00010", // {
        "00100 00100 00100 00100 00100 00100 00100", // |
        "01000 00100 00100 00010 00100 00100 01000", // }
        "00000 00000 01000 10101 00010 00000 00000", // ~
    ];

    // (char - 32) * 7 + row -> 5-bit row, bit 4 = leftmost pixel
    private static readonly byte[] Bits = Pack();

    private static byte[] Pack()
    {
        var b = new byte[Rows.Length * GlyphHeight];
        for (int g = 0; g < Rows.Length; g++)
        {
            var parts = Rows[g].Split(' ');
            for (int r = 0; r < GlyphHeight; r++) b[g * GlyphHeight + r] = Convert.ToByte(parts[r], 2);
        }
        return b;
    }

    /// <summary>The character drawn for <paramref name="c"/>: itself when printable ASCII, else '?'.</summary>
    public static char Printable(char c) => c >= First && c <= Last ? c : '?';

    /// <summary>True when pixel (x, y) of the glyph, x in [0, 5), y in [0, 7), is ink.</summary>
    public static bool Ink(char c, int x, int y)
    {
        if ((uint)x >= GlyphWidth || (uint)y >= GlyphHeight) return false;
        return ((Bits[(Printable(c) - First) * GlyphHeight + y] >> (GlyphWidth - 1 - x)) & 1) != 0;
    }

    /// <summary>Width in pixels of <paramref name="text"/> at <paramref name="scale"/> (no trailing gap); 0 when empty.</summary>
    public static int Measure(string text, int scale = 1) => text.Length == 0 ? 0 : ((text.Length - 1) * Advance + GlyphWidth) * scale;

    /// <summary>Height in pixels of one line at <paramref name="scale"/>.</summary>
    public static int LineHeight(int scale = 1) => GlyphHeight * scale;

    /// <summary>Draws <paramref name="text"/> with its top-left corner at (x, y) into CHW planes of a
    /// width x height RGB image; pixels outside the image or outside the clip rectangle
    /// [clipX0, clipX1) x [clipY0, clipY1) are left alone.</summary>
    public static void Draw(float[] chw, int width, int height, string text, int x, int y, int scale,
        (float R, float G, float B) color, (int X0, int Y0, int X1, int Y1)? clip = null)
    {
        if (scale < 1) throw new InvalidArgumentException("BitmapFont.Draw", $"scale must be >= 1, got {scale}");
        if (chw.Length != 3L * width * height)
            throw new ShapeMismatchException("BitmapFont.Draw", $"{chw.Length} values for a 3x{height}x{width} image");
        var (x0, y0, x1, y1) = clip ?? (0, 0, width, height);
        x0 = Math.Max(x0, 0); y0 = Math.Max(y0, 0); x1 = Math.Min(x1, width); y1 = Math.Min(y1, height);
        int plane = width * height;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            int gx = x + i * Advance * scale;
            for (int row = 0; row < GlyphHeight; row++)
                for (int col = 0; col < GlyphWidth; col++)
                {
                    if (!Ink(c, col, row)) continue;
                    for (int dy = 0; dy < scale; dy++)
                        for (int dx = 0; dx < scale; dx++)
                        {
                            int px = gx + col * scale + dx, py = y + row * scale + dy;
                            if (px < x0 || px >= x1 || py < y0 || py >= y1) continue;
                            int o = py * width + px;
                            chw[o] = color.R; chw[plane + o] = color.G; chw[2 * plane + o] = color.B;
                        }
                }
        }
    }
}
