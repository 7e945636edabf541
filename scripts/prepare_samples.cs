// Prepares data/samples from ../shared/data/photos: p000-p006, downscaled with an exact area
// (box) filter so the long side is at most 256 px, written as 8-bit RGB PNG.
// Run from the repo root: dotnet run scripts/prepare_samples.cs -- SRC_DIR DST_DIR
#:project ../src/Imaging/Engine.Imaging.csproj
using Engine.Imaging;

string src = args.Length > 0 ? args[0] : "../shared/data/photos";
string dst = args.Length > 1 ? args[1] : "data/samples";
const int MaxSide = 256;
Directory.CreateDirectory(dst);
for (int k = 0; k <= 6; k++)
{
    string name = $"p{k:000}.png";
    var img = ImageIO.Read(Path.Combine(src, name));
    double scale = Math.Min(1.0, (double)MaxSide / Math.Max(img.Width, img.Height));
    int w = Math.Max(1, (int)Math.Round(img.Width * scale)), h = Math.Max(1, (int)Math.Round(img.Height * scale));
    var small = AreaResize(img, w, h);
    ImageIO.WritePng(Path.Combine(dst, name), small);
    Console.WriteLine($"{name}: {img.Width}x{img.Height} -> {w}x{h}");
}

// Each output pixel averages the input over its footprint, weighting partly covered pixels by
// the covered fraction (exact box filter for any ratio >= 1).
static Image AreaResize(Image img, int w, int h)
{
    int W = img.Width, H = img.Height;
    var outData = new float[3 * w * h];
    double sx = (double)W / w, sy = (double)H / h;
    for (int c = 0; c < 3; c++)
        for (int oy = 0; oy < h; oy++)
        {
            double y0 = oy * sy, y1 = y0 + sy;
            for (int ox = 0; ox < w; ox++)
            {
                double x0 = ox * sx, x1 = x0 + sx, sum = 0, wsum = 0;
                for (int iy = (int)y0; iy < Math.Min(H, (int)Math.Ceiling(y1)); iy++)
                {
                    double wy = Math.Min(y1, iy + 1) - Math.Max(y0, iy);
                    for (int ix = (int)x0; ix < Math.Min(W, (int)Math.Ceiling(x1)); ix++)
                    {
                        double wgt = wy * (Math.Min(x1, ix + 1) - Math.Max(x0, ix));
                        sum += wgt * img.Data[(c * H + iy) * W + ix];
                        wsum += wgt;
                    }
                }
                outData[(c * h + oy) * w + ox] = (float)(sum / wsum);
            }
        }
    return new Image(w, h, outData);
}
