// ImageGrid and BitmapFont: grid size arithmetic, where each cell's pixels land (centred, zoomed),
// titles and labels drawing ink only inside their bands, crops shared by a row, PNG output, errors.
using Engine.Imaging;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Imaging;

public class ImageGridTests
{
    private static Image Solid(int w, int h, float r, float g, float b)
    {
        var d = new float[3 * w * h];
        d.AsSpan(0, w * h).Fill(r); d.AsSpan(w * h, w * h).Fill(g); d.AsSpan(2 * w * h, w * h).Fill(b);
        return new Image(w, h, d);
    }

    private static (float R, float G, float B) Px(Image img, int x, int y)
    {
        int o = y * img.Width + x, p = img.Width * img.Height;
        return (img.Data[o], img.Data[p + o], img.Data[2 * p + o]);
    }

    private static IReadOnlyList<IReadOnlyList<Image?>> Rows(params Image?[][] rows) => rows;

    [Fact]
    public void GridSizeFollowsTheLayoutFormula()
    {
        var a = Solid(5, 4, 1, 0, 0); var b = Solid(7, 3, 0, 1, 0); var c = Solid(2, 2, 0, 0, 1);
        var rows = Rows([a, null], [c]);
        var g = ImageGrid.Build(Rows([a, b], [c]), new ImageGridOptions { Padding = 2 }, out var L);
        Assert.Equal((7, 4, 2, 2), (L.CellWidth, L.CellHeight, L.Columns, L.Rows));
        Assert.Equal((2 + 2 * (7 + 2), 2 + 2 * (4 + 2)), (g.Width, g.Height));
        // a null cell and a short row still count for the column count; only real images set the cell size
        g = ImageGrid.Build(rows, new ImageGridOptions { Padding = 2 }, out L);
        Assert.Equal((5, 4, 2), (L.CellWidth, L.CellHeight, L.Columns));
        Assert.Equal((2 + 2 * (5 + 2), 14), (g.Width, g.Height));
        // titles add one line (7 px) + padding on top; labels the widest label + padding on the left
        g = ImageGrid.Build(Rows([a, b], [c]), new ImageGridOptions { Padding = 2, ColumnTitles = ["x", "y"], RowLabels = ["ab", "c"] }, out L);
        Assert.Equal(BitmapFont.Measure("ab"), L.LabelBand);
        Assert.Equal(11, L.LabelBand);
        // with labels a cell is at least one text line (7 px) high
        Assert.Equal((7, 7), (L.CellWidth, L.CellHeight));
        Assert.Equal((2 + 11 + 2 + 2 * 9, 2 + 7 + 2 + 2 * 9), (g.Width, g.Height));
        // zoom and font scale multiply
        g = ImageGrid.Build(Rows([a, b], [c]), new ImageGridOptions { Padding = 0, Zoom = 3, FontScale = 2, ColumnTitles = ["t"] }, out L);
        Assert.Equal((21, 12), (L.CellWidth, L.CellHeight));
        Assert.Equal((2 * 21, 14 + 2 * 12), (g.Width, g.Height));
    }

    [Fact]
    public void CellsLandCentredAtTheirPositionsAndZoomIsNearest()
    {
        var rng = TestData.Rng();
        var big = ImagingTestSupport.Random8(rng, 6, 5);
        var small = ImagingTestSupport.Random8(rng, 3, 2);
        var bg = (0.25f, 0.5f, 0.75f);
        var g = ImageGrid.Build(Rows([small, big], [null, small]), new ImageGridOptions { Padding = 3, Background = bg }, out var L);
        Assert.Equal((6, 5), (L.CellWidth, L.CellHeight));
        // big fills cell (0, 1) exactly
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 6; x++)
                Assert.Equal(Px(big, x, y), Px(g, L.CellX(1) + x, L.CellY(0) + y));
        // small is centred: offset ((6-3)/2, (5-2)/2) = (1, 1), background around it
        foreach (var (r, c) in new[] { (0, 0), (1, 1) })
        {
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 3; x++)
                    Assert.Equal(Px(small, x, y), Px(g, L.CellX(c) + 1 + x, L.CellY(r) + 1 + y));
            Assert.Equal(bg, Px(g, L.CellX(c), L.CellY(r)));
            Assert.Equal(bg, Px(g, L.CellX(c) + 5, L.CellY(r) + 4));
        }
        // the empty cell, the padding and the corners are background
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 6; x++) Assert.Equal(bg, Px(g, L.CellX(0) + x, L.CellY(1) + y));
        Assert.Equal(bg, Px(g, 0, 0));
        Assert.Equal(bg, Px(g, g.Width - 1, g.Height - 1));
        Assert.Equal(bg, Px(g, L.CellX(1) - 1, L.CellY(0)));

        var z = ImageGrid.Build(Rows([big]), new ImageGridOptions { Padding = 1, Zoom = 2 }, out var LZ);
        for (int y = 0; y < 10; y++)
            for (int x = 0; x < 12; x++)
                Assert.Equal(Px(big, x / 2, y / 2), Px(z, LZ.CellX(0) + x, LZ.CellY(0) + y));
        Assert.Equal(Px(big, 2, 1), Px(ImageGrid.Zoom(big, 3), 8, 5));
    }

    [Fact]
    public void TitlesAndLabelsInkOnlyInsideTheirBands()
    {
        var rng = TestData.Rng();
        // images in mid grey so black pixels can only be text
        var img = Solid(30, 12, 0.5f, 0.5f, 0.5f);
        var o = new ImageGridOptions { Padding = 2, ColumnTitles = ["clean", "", "synthetic 1"], RowLabels = ["#0", "img 12"] };
        var g = ImageGrid.Build(Rows([img, img, img], [img, img, img]), o, out var L);
        bool Black(int x, int y) => Px(g, x, y) == (0f, 0f, 0f);
        bool InTitle(int c, int x, int y) => x >= L.CellX(c) && x < L.CellX(c) + L.CellWidth && y >= 2 && y < 2 + L.TitleBand;
        bool InLabel(int r, int x, int y) => x >= 2 && x < 2 + L.LabelBand && y >= L.CellY(r) && y < L.CellY(r) + L.CellHeight;
        var inkTitle = new int[3]; var inkLabel = new int[2];
        for (int y = 0; y < g.Height; y++)
            for (int x = 0; x < g.Width; x++)
            {
                if (!Black(x, y)) continue;
                int t = Enumerable.Range(0, 3).FirstOrDefault(c => InTitle(c, x, y), -1);
                int l = Enumerable.Range(0, 2).FirstOrDefault(r => InLabel(r, x, y), -1);
                Assert.True(t >= 0 || l >= 0, $"ink at ({x}, {y}) outside every title and label band");
                if (t >= 0) inkTitle[t]++; else inkLabel[l]++;
            }
        Assert.True(inkTitle[0] > 0 && inkTitle[2] > 0, $"title ink {string.Join(",", inkTitle)}");
        Assert.Equal(0, inkTitle[1]);   // empty title
        Assert.True(inkLabel[0] > 0 && inkLabel[1] > 0);
        // "synthetic 1" (65 px) is wider than the 30 px cell: clipped, not spilling into the next column
        Assert.True(BitmapFont.Measure("synthetic 1") > L.CellWidth);
        // the label's ink count equals the font's ink count for the text (nothing lost, nothing extra)
        int fontInk = "#0".Sum(ch => Enumerable.Range(0, 35).Count(i => BitmapFont.Ink(ch, i % 5, i / 5)));
        Assert.Equal(fontInk, inkLabel[0]);
        // cells are untouched by text
        for (int y = 0; y < 12; y++)
            for (int x = 0; x < 30; x++) Assert.Equal((0.5f, 0.5f, 0.5f), Px(g, L.CellX(2) + x, L.CellY(1) + y));
        _ = rng;
    }

    [Fact]
    public void FontTableCoversPrintableAsciiWithDistinctGlyphs()
    {
        var seen = new Dictionary<string, char>();
        for (char c = BitmapFont.First; c <= BitmapFont.Last; c++)
        {
            var bits = string.Concat(Enumerable.Range(0, 35).Select(i => BitmapFont.Ink(c, i % 5, i / 5) ? '1' : '0'));
            if (c == ' ') { Assert.DoesNotContain('1', bits); continue; }
            Assert.Contains('1', bits);
            Assert.False(seen.TryGetValue(bits, out var other), $"'{c}' draws like '{other}'");
            seen[bits] = c;
        }
        Assert.Equal(94, seen.Count);
        Assert.Equal('?', BitmapFont.Printable('\n'));
        Assert.Equal('?', BitmapFont.Printable('é'));
        Assert.Equal(17, BitmapFont.Measure("abc"));
        Assert.Equal(0, BitmapFont.Measure(""));
        Assert.Equal(34, BitmapFont.Measure("abc", 2));
        Assert.False(BitmapFont.Ink('A', 5, 0));
        // spot checks of the shapes: 'T' top bar and stem, 'L' left column and bottom bar
        Assert.True(Enumerable.Range(0, 5).All(x => BitmapFont.Ink('T', x, 0)));
        Assert.True(Enumerable.Range(1, 6).All(y => BitmapFont.Ink('T', 2, y) && !BitmapFont.Ink('T', 0, y)));
        Assert.True(Enumerable.Range(0, 7).All(y => BitmapFont.Ink('L', 0, y)) && Enumerable.Range(0, 5).All(x => BitmapFont.Ink('L', x, 6)));
    }

    [Fact]
    public void CenterCropRowTakesTheSamePixelsFromEveryImage()
    {
        var rng = TestData.Rng();
        var a = ImagingTestSupport.Random8(rng, 10, 8);
        var b = ImagingTestSupport.Random8(rng, 10, 8);
        var row = ImageGrid.CenterCropRow([a, null, b], 4);
        Assert.Null(row[1]);
        foreach (var (src, crop) in new[] { (a, row[0]!), (b, row[2]!) })
        {
            Assert.Equal((4, 4), (crop.Width, crop.Height));
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++) Assert.Equal(Px(src, 3 + x, 2 + y), Px(crop, x, y));
        }
        var c = ImageGrid.Crop(a, 9, 7, 1, 1);
        Assert.Equal(Px(a, 9, 7), Px(c, 0, 0));
        Assert.Throws<ShapeMismatchException>(() => ImageGrid.CenterCropRow([a, ImagingTestSupport.Random8(rng, 9, 8)], 4));
        var e = Assert.Throws<InvalidArgumentException>(() => ImageGrid.Crop(a, 8, 0, 3, 2));
        Assert.Contains("10x8", e.Message);
        Assert.Throws<InvalidArgumentException>(() => ImageGrid.CenterCropRow([a], 11));
        Assert.Throws<InvalidArgumentException>(() => ImageGrid.CenterCropRow([null], 2));
    }

    [Fact]
    public void SavePngWritesTheGridExactly()
    {
        var rng = TestData.Rng();
        using var dir = new TempDir();
        var rows = Rows([ImagingTestSupport.Random8(rng, 9, 7), ImagingTestSupport.Random8(rng, 9, 7)]);
        var o = new ImageGridOptions { ColumnTitles = ["clean", "noisy"], Zoom = 2 };
        string path = dir.File("grid.png");
        ImageGrid.SavePng(path, rows, o);
        var back = ImageIO.Read(path);
        var built = ImageGrid.Build(rows, o);
        Assert.Equal((built.Width, built.Height), (back.Width, back.Height));
        Assert.Equal(built.ToRgb8(), back.ToRgb8());
    }

    [Fact]
    public void BadInputsAreRejected()
    {
        var img = Solid(4, 4, 0, 0, 0);
        Assert.Contains("no rows", Assert.Throws<InvalidArgumentException>(() => ImageGrid.Build(Rows())).Message);
        Assert.Contains("no image", Assert.Throws<InvalidArgumentException>(() => ImageGrid.Build(Rows([], [null]))).Message);
        Assert.Contains("3 column titles for 1 columns",
            Assert.Throws<InvalidArgumentException>(() => ImageGrid.Build(Rows([img]), new ImageGridOptions { ColumnTitles = ["a", "b", "c"] })).Message);
        Assert.Throws<InvalidArgumentException>(() => ImageGrid.Build(Rows([img]), new ImageGridOptions { RowLabels = ["a", "b"] }));
        Assert.Throws<InvalidArgumentException>(() => ImageGrid.Build(Rows([img]), new ImageGridOptions { Zoom = 0 }));
        Assert.Throws<InvalidArgumentException>(() => ImageGrid.Build(Rows([img]), new ImageGridOptions { Padding = -1 }));
        Assert.Throws<InvalidArgumentException>(() => ImageGrid.Build(Rows([img]), new ImageGridOptions { Background = (2f, 0f, 0f) }));
        Assert.Throws<InvalidArgumentException>(() => ImageGrid.Zoom(img, 0));
    }
}
