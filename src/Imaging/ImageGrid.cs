// Image grids (contact sheets) for looking at degradations side by side: one row per image, columns
// such as "clean", "true degraded", "synthetic 1..K", with optional column titles and row labels in
// the 5x7 BitmapFont. Cells all have the size of the largest (zoomed) image; an image smaller than
// its cell is centred in it (offset rounded down) and the rest shows the background. Also the
// helpers that make noise visible at 1:1: the same crop from every image of a row, and an integer
// nearest-neighbour zoom.
//
// Layout (p = Padding, W x H = cell size, T = text line height, L = widest row label):
//   x of column c = p + (row labels ? L + p : 0) + c (W + p)
//   y of row r    = p + (column titles ? T + p : 0) + r (H + p)
//   width  = x of column `cols` (i.e. the right edge of the last cell + p), height likewise.
// A title is centred over its column and clipped to the column's width; a label is centred
// vertically on its row (with labels, cells are at least one text line high).
namespace Engine.Imaging;

/// <summary>Settings of <see cref="ImageGrid.Build"/>. Colours are RGB in [0, 1].</summary>
public sealed record ImageGridOptions
{
    /// <summary>Pixels between cells and around the grid.</summary>
    public int Padding { get; init; } = 4;
    public (float R, float G, float B) Background { get; init; } = (1f, 1f, 1f);
    public (float R, float G, float B) TextColor { get; init; } = (0f, 0f, 0f);
    /// <summary>One title per column (fewer leave the remaining columns untitled); null: no title band.</summary>
    public IReadOnlyList<string>? ColumnTitles { get; init; }
    /// <summary>One label per row (fewer leave the remaining rows unlabelled); null: no label band.</summary>
    public IReadOnlyList<string>? RowLabels { get; init; }
    /// <summary>Integer nearest-neighbour zoom applied to every cell image.</summary>
    public int Zoom { get; init; } = 1;
    /// <summary>Integer scale of the 5x7 font.</summary>
    public int FontScale { get; init; } = 1;
}

/// <summary>Where <see cref="ImageGrid.Build"/> put things (for callers that annotate further, and tests).</summary>
public sealed record ImageGridLayout(int Width, int Height, int CellWidth, int CellHeight, int Columns, int Rows,
    int GridLeft, int GridTop, int Padding, int TitleBand, int LabelBand)
{
    public int CellX(int column) => GridLeft + column * (CellWidth + Padding);
    public int CellY(int row) => GridTop + row * (CellHeight + Padding);
}

public static class ImageGrid
{
    /// <summary>Builds the grid image. Rows may have different lengths; a null entry or a missing
    /// trailing entry is an empty cell. Throws for no rows, no image at all, bad options, or more
    /// titles/labels than columns/rows.</summary>
    public static Image Build(IReadOnlyList<IReadOnlyList<Image?>> rows, ImageGridOptions? options = null)
        => Build(rows, options, out _);

    /// <summary>As <see cref="Build(IReadOnlyList{IReadOnlyList{Image}}, ImageGridOptions)"/>, also returning the layout.</summary>
    public static Image Build(IReadOnlyList<IReadOnlyList<Image?>> rows, ImageGridOptions? options, out ImageGridLayout layout)
    {
        var o = options ?? new ImageGridOptions();
        layout = Plan(rows, o);
        var L = layout;
        int plane = L.Width * L.Height;
        var data = new float[3 * plane];
        data.AsSpan(0, plane).Fill(o.Background.R);
        data.AsSpan(plane, plane).Fill(o.Background.G);
        data.AsSpan(2 * plane, plane).Fill(o.Background.B);

        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < rows[r].Count; c++)
            {
                var img = rows[r][c];
                if (img is null) continue;
                if (o.Zoom > 1) img = Zoom(img, o.Zoom);
                int x0 = L.CellX(c) + (L.CellWidth - img.Width) / 2;
                int y0 = L.CellY(r) + (L.CellHeight - img.Height) / 2;
                int ip = img.Width * img.Height;
                for (int ch = 0; ch < 3; ch++)
                    for (int y = 0; y < img.Height; y++)
                        Array.Copy(img.Data, ch * ip + y * img.Width, data, ch * plane + (y0 + y) * L.Width + x0, img.Width);
            }

        int lineH = BitmapFont.LineHeight(o.FontScale);
        if (o.ColumnTitles is { } titles)
            for (int c = 0; c < titles.Count; c++)
            {
                string t = titles[c] ?? "";
                int x = L.CellX(c) + Math.Max(0, (L.CellWidth - BitmapFont.Measure(t, o.FontScale)) / 2);
                BitmapFont.Draw(data, L.Width, L.Height, t, x, o.Padding, o.FontScale, o.TextColor,
                    (L.CellX(c), o.Padding, L.CellX(c) + L.CellWidth, o.Padding + lineH));
            }
        if (o.RowLabels is { } labels)
            for (int r = 0; r < labels.Count; r++)
            {
                int y = L.CellY(r) + Math.Max(0, (L.CellHeight - lineH) / 2);
                BitmapFont.Draw(data, L.Width, L.Height, labels[r] ?? "", o.Padding, y, o.FontScale, o.TextColor,
                    (o.Padding, L.CellY(r), o.Padding + L.LabelBand, L.CellY(r) + L.CellHeight));
            }
        return new Image(L.Width, L.Height, data);
    }

    private static ImageGridLayout Plan(IReadOnlyList<IReadOnlyList<Image?>> rows, ImageGridOptions o)
    {
        const string op = "ImageGrid.Build";
        if (rows is null || rows.Count == 0) throw new InvalidArgumentException(op, "no rows");
        if (o.Padding < 0) throw new InvalidArgumentException(op, $"padding must be >= 0, got {o.Padding}");
        if (o.Zoom < 1) throw new InvalidArgumentException(op, $"zoom must be >= 1, got {o.Zoom}");
        if (o.FontScale < 1) throw new InvalidArgumentException(op, $"font scale must be >= 1, got {o.FontScale}");
        CheckColor(op, "background", o.Background);
        CheckColor(op, "text colour", o.TextColor);
        int cols = 0, w = 0, h = 0, images = 0;
        for (int r = 0; r < rows.Count; r++)
        {
            if (rows[r] is null) throw new InvalidArgumentException(op, $"row {r} is null (use an empty list or null cells)");
            cols = Math.Max(cols, rows[r].Count);
            foreach (var img in rows[r])
            {
                if (img is null) continue;
                images++;
                w = Math.Max(w, img.Width * o.Zoom);
                h = Math.Max(h, img.Height * o.Zoom);
            }
        }
        if (images == 0) throw new InvalidArgumentException(op, $"{rows.Count} row(s) but no image in any cell");
        if (o.ColumnTitles is { } t && t.Count > cols)
            throw new InvalidArgumentException(op, $"{t.Count} column titles for {cols} columns");
        if (o.RowLabels is { } l && l.Count > rows.Count)
            throw new InvalidArgumentException(op, $"{l.Count} row labels for {rows.Count} rows");
        // a row must be at least one text line high, or its label would be clipped
        if (o.RowLabels is not null) h = Math.Max(h, BitmapFont.LineHeight(o.FontScale));
        int p = o.Padding;
        int titleBand = o.ColumnTitles is null ? 0 : BitmapFont.LineHeight(o.FontScale);
        int labelBand = o.RowLabels is null ? 0 : o.RowLabels.Select(s => BitmapFont.Measure(s ?? "", o.FontScale)).DefaultIfEmpty(0).Max();
        int left = p + (o.RowLabels is null ? 0 : labelBand + p);
        int top = p + (o.ColumnTitles is null ? 0 : titleBand + p);
        long width = left + (long)cols * (w + p), height = top + (long)rows.Count * (h + p);
        if (width * height * 3 > int.MaxValue)
            throw new InvalidArgumentException(op, $"grid of {width}x{height} pixels is too large");
        return new ImageGridLayout((int)width, (int)height, w, h, cols, rows.Count, left, top, p, titleBand, labelBand);
    }

    private static void CheckColor(string op, string what, (float R, float G, float B) c)
    {
        if (!(c.R >= 0 && c.R <= 1 && c.G >= 0 && c.G <= 1 && c.B >= 0 && c.B <= 1))
            throw new InvalidArgumentException(op, $"{what} {c} must have components in [0, 1]");
    }

    /// <summary>Builds the grid and writes it as a PNG.</summary>
    public static void SavePng(string path, IReadOnlyList<IReadOnlyList<Image?>> rows, ImageGridOptions? options = null)
        => ImageIO.WritePng(path, Build(rows, options));

    /// <summary>The region [x, x + width) x [y, y + height) of <paramref name="image"/>.</summary>
    public static Image Crop(Image image, int x, int y, int width, int height)
    {
        if (width < 1 || height < 1 || x < 0 || y < 0 || x + width > image.Width || y + height > image.Height)
            throw new InvalidArgumentException("ImageGrid.Crop", $"region x={x} y={y} {width}x{height} is not inside the {image.Width}x{image.Height} image");
        int ip = image.Width * image.Height, op = width * height;
        var d = new float[3 * op];
        for (int ch = 0; ch < 3; ch++)
            for (int r = 0; r < height; r++)
                Array.Copy(image.Data, ch * ip + (y + r) * image.Width + x, d, ch * op + r * width, width);
        return new Image(width, height, d, image.SourceBitDepth);
    }

    /// <summary>The same region from every image of a row (null cells stay null).</summary>
    public static IReadOnlyList<Image?> CropRow(IReadOnlyList<Image?> row, int x, int y, int width, int height)
        => row.Select(img => img is null ? null : Crop(img, x, y, width, height)).ToList();

    /// <summary>The central width x height region of every image of a row, so noise can be compared at
    /// 1:1. All images of the row must have one size (the region is then the same pixels in each); its
    /// corner is ((W - width) / 2, (H - height) / 2) rounded down.</summary>
    public static IReadOnlyList<Image?> CenterCropRow(IReadOnlyList<Image?> row, int width, int height)
    {
        var first = row.FirstOrDefault(i => i is not null)
            ?? throw new InvalidArgumentException("ImageGrid.CenterCropRow", "the row holds no image");
        foreach (var img in row)
            if (img is not null && (img.Width != first.Width || img.Height != first.Height))
                throw new ShapeMismatchException("ImageGrid.CenterCropRow", $"images of {first.Width}x{first.Height} and {img.Width}x{img.Height} in one row: a common crop needs one size");
        return CropRow(row, (first.Width - width) / 2, (first.Height - height) / 2, width, height);
    }

    /// <summary>Square central crop of size <paramref name="size"/> from every image of a row.</summary>
    public static IReadOnlyList<Image?> CenterCropRow(IReadOnlyList<Image?> row, int size) => CenterCropRow(row, size, size);

    /// <summary>Nearest-neighbour enlargement by an integer factor (each pixel becomes factor x factor).</summary>
    public static Image Zoom(Image image, int factor)
    {
        if (factor < 1) throw new InvalidArgumentException("ImageGrid.Zoom", $"factor must be >= 1, got {factor}");
        if (factor == 1) return image;
        int w = image.Width * factor, h = image.Height * factor, ip = image.Width * image.Height, op = w * h;
        var d = new float[3 * op];
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < h; y++)
            {
                int src = ch * ip + (y / factor) * image.Width, dst = ch * op + y * w;
                for (int x = 0; x < w; x++) d[dst + x] = image.Data[src + x / factor];
            }
        return new Image(w, h, d, image.SourceBitDepth);
    }
}
