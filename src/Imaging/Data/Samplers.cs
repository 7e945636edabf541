// Samplers: batch k of random crops as a pure function of (seed, k). Each slot draws from its
// own Philox stream (SlotRandom) in a fixed order: word 0 the domain/kind, word 1 the image,
// words 2-3 the window's top and left, word 4 the dihedral mode; every word is drawn whether it
// is used or not, so one choice never shifts another. Images smaller than the crop are found at
// construction from their header sizes and, by SmallImagePolicy, are an error (naming file and
// sizes), padded by edge replication at a random placement, or left out with a warning.
// Without a dataset cache a batch decodes each distinct image it draws once.
namespace Engine.Imaging.Data;

public enum SmallImagePolicy { Error, Pad, Skip }

/// <summary>Settings shared by the samplers.</summary>
public sealed record SamplerOptions
{
    public int BatchSize { get; init; } = 16;
    /// <summary>P: crop side in clean pixels (a degraded SR crop is P / scale).</summary>
    public int CropSize { get; init; } = 64;
    public ulong Seed { get; init; }
    /// <summary>Apply one of the 8 dihedral transforms (uniform) per slot, the same to both images of a pair.</summary>
    public bool Augment { get; init; } = true;
    public SmallImagePolicy SmallImages { get; init; } = SmallImagePolicy.Error;
    /// <summary>Told about images left out by <see cref="SmallImagePolicy.Skip"/>.</summary>
    public Action<SkippedImage>? Warn { get; init; }

    public override string ToString() => $"batch {BatchSize}, crop {CropSize}, seed {Seed}, augment {Augment}, small images {SmallImages}";
}

/// <summary>An image smaller than the crop under <see cref="SmallImagePolicy.Error"/>.</summary>
public sealed class ImageTooSmallException(string path, int width, int height, int crop, string detail = "")
    : EngineException($"image '{path}': {width}x{height} (WxH) is smaller than the {crop}x{crop} crop{detail}; choose a smaller crop or SmallImagePolicy.Pad / Skip")
{
    public string Path { get; } = path;
    public int Width { get; } = width;
    public int Height { get; } = height;
    public int Crop { get; } = crop;
}

/// <summary>A source of batches that any thread may ask for any k, in any order.</summary>
public interface IBatchSampler<out TBatch> where TBatch : CropBatch
{
    int BatchSize { get; }
    TBatch Sample(long k);
}

public abstract class CropSampler
{
    public SamplerOptions Options { get; }
    public int BatchSize => Options.BatchSize;
    public int CropSize => Options.CropSize;
    /// <summary>Images left out by <see cref="SmallImagePolicy.Skip"/>.</summary>
    public IReadOnlyList<SkippedImage> Skipped => _skipped;
    private readonly List<SkippedImage> _skipped = [];

    private protected CropSampler(string op, SamplerOptions? options)
    {
        Options = options ?? new SamplerOptions();
        if (Options.BatchSize < 1 || Options.BatchSize >= SlotRandom.MaxSlots)
            throw new InvalidArgumentException(op, $"batch size must be in 1..{SlotRandom.MaxSlots - 1}, got {Options.BatchSize}");
        if (Options.CropSize < 1) throw new InvalidArgumentException(op, $"crop size must be positive, got {Options.CropSize}");
    }

    /// <summary>Indices of the images of <paramref name="d"/> at least <paramref name="crop"/> on
    /// each side (all of them under Pad); throws or warns for the others.</summary>
    private protected int[] Eligible(string op, string role, int count, Func<int, (string Path, int W, int H)> size, int crop, string detail = "")
    {
        var keep = new List<int>();
        for (int i = 0; i < count; i++)
        {
            var (path, w, h) = size(i);
            if ((w >= crop && h >= crop) || Options.SmallImages == SmallImagePolicy.Pad) { keep.Add(i); continue; }
            if (Options.SmallImages == SmallImagePolicy.Error) throw new ImageTooSmallException(path, w, h, crop, detail);
            var s = new SkippedImage(path, $"{w}x{h} (WxH) is smaller than the {crop}x{crop} crop{detail}");
            _skipped.Add(s);
            Options.Warn?.Invoke(s);
        }
        if (keep.Count == 0)
            throw new InvalidArgumentException(op, $"no {role} image is usable: {count} image(s), {count - keep.Count} smaller than the {crop}x{crop} crop{detail}");
        return [.. keep];
    }

    /// <summary>Window start along one side: uniform in [0, size - crop], or in [size - crop, 0]
    /// when padding a side shorter than the crop.</summary>
    private protected static int Offset(ref SlotRandom r, int size, int crop) => size >= crop ? r.Below(size - crop + 1) : -r.Below(crop - size + 1);

    private protected int DrawMode(ref SlotRandom r)
    {
        int m = r.Below(Dihedral.Count);
        return Options.Augment ? m : 0;
    }

    private protected void Crop(Image img, int top, int left, int size, int mode, float[] dst, int slot)
    {
        int n = Image.Channels * size * size;
        Dihedral.CropInto(img, top, left, size, size, mode, dst.AsSpan(slot * n, n), clampEdges: Options.SmallImages == SmallImagePolicy.Pad);
    }

    /// <summary>Draws a pair, window and mode (words 1-4) and crops both images of the pair at the
    /// same place with the same transform: degraded P/s at (top, left), clean P at s (top, left).</summary>
    private protected void DrawPair(ref SlotRandom r, BatchImages images, PairedDataset data, int[] eligible, CropBatch b, int n, float[] clean, float[] degraded)
    {
        int s = data.Scale, dsize = CropSize / s;
        int p = eligible[r.Below(eligible.Length)];
        var (ci, di) = data.IndexOf(p);
        var (w, h) = data.Degraded.SizeOf(di);
        int top = Offset(ref r, h, dsize), left = Offset(ref r, w, dsize);
        int mode = DrawMode(ref r);
        Crop(images.Get(data.Degraded, di), top, left, dsize, mode, degraded, n);
        Crop(images.Get(data.Clean, ci), top * s, left * s, CropSize, mode, clean, n);
        b.Top[n] = top; b.Left[n] = left; b.Mode[n] = mode; b.Source[n] = p;
    }

    /// <summary>Draws an image of <paramref name="d"/>, window and mode (words 1-4) and crops it into
    /// <paramref name="dst"/> (and the same crop into <paramref name="copy"/> when given).</summary>
    private protected void DrawSingle(ref SlotRandom r, BatchImages images, ImageDataset d, int[] eligible, CropBatch b, int n, float[] dst, float[]? copy = null)
    {
        int i = eligible[r.Below(eligible.Length)];
        var (w, h) = d.SizeOf(i);
        int top = Offset(ref r, h, CropSize), left = Offset(ref r, w, CropSize);
        int mode = DrawMode(ref r);
        Crop(images.Get(d, i), top, left, CropSize, mode, dst, n);
        if (copy is not null)
        {
            int len = Image.Channels * CropSize * CropSize;
            Array.Copy(dst, (long)n * len, copy, (long)n * len, len);
        }
        b.Top[n] = top; b.Left[n] = left; b.Mode[n] = mode; b.Source[n] = i;
    }

    private protected static Func<int, (string, int, int)> Sizes(ImageDataset d) => i => { var (w, h) = d.SizeOf(i); return (d.PathOf(i), w, h); };

    /// <summary>Decodes each distinct image a batch draws once (or takes it from the dataset's cache).</summary>
    private protected sealed class BatchImages
    {
        private readonly Dictionary<(ImageDataset, int), Image> _seen = [];
        public Image Get(ImageDataset d, int i)
        {
            if (d.IsCached) return d.ImageAt(i);
            if (!_seen.TryGetValue((d, i), out var img)) _seen[(d, i)] = img = d.ImageAt(i);
            return img;
        }
    }
}

/// <summary>Aligned crops of clean/degraded pairs for restoration training; with scale s the
/// degraded window (P/s) sits at (top, left) and the clean one (P) at (s top, s left).</summary>
public sealed class PairedSampler : CropSampler, IBatchSampler<PairedBatch>
{
    private readonly int[] _eligible;
    public PairedDataset Data { get; }
    public int DegradedCropSize { get; }

    public PairedSampler(PairedDataset data, SamplerOptions? options = null) : base("PairedSampler", options)
    {
        Data = data;
        if (CropSize % data.Scale != 0)
            throw new InvalidArgumentException("PairedSampler", $"crop size {CropSize} is not a multiple of the scale {data.Scale}");
        DegradedCropSize = CropSize / data.Scale;
        string detail = data.Scale == 1 ? "" : $" (degraded side of a x{data.Scale} pair, clean crop {CropSize})";
        _eligible = Eligible("PairedSampler", "paired", data.Count, i =>
        {
            int d = data.IndexOf(i).Degraded;
            var (w, h) = data.Degraded.SizeOf(d);
            return (data.Degraded.PathOf(d), w, h);
        }, DegradedCropSize, detail);
    }

    public PairedBatch Sample(long k)
    {
        var b = new PairedBatch(k, BatchSize, CropSize, DegradedCropSize);
        var images = new BatchImages();
        for (int n = 0; n < BatchSize; n++)
        {
            var r = new SlotRandom(Options.Seed, k, n);
            r.Next(); // the kind word: one kind here
            DrawPair(ref r, images, Data, _eligible, b, n, b.Clean, b.Degraded);
        }
        return b;
    }
}

/// <summary>Crops from two unrelated domains: each slot is degraded with probability
/// <see cref="PDegraded"/>, else clean; an image of that domain is drawn uniformly.</summary>
public sealed class UnpairedSampler : CropSampler, IBatchSampler<UnpairedBatch>
{
    private readonly int[] _clean, _degraded;
    public ImageDataset Clean { get; }
    public ImageDataset Degraded { get; }
    public double PDegraded { get; }

    public UnpairedSampler(ImageDataset clean, ImageDataset degraded, double pDegraded, SamplerOptions? options = null) : base("UnpairedSampler", options)
    {
        if (!(pDegraded >= 0 && pDegraded <= 1))
            throw new InvalidArgumentException("UnpairedSampler", $"pDegraded must be in [0, 1], got {pDegraded}");
        Clean = clean; Degraded = degraded; PDegraded = pDegraded;
        _clean = pDegraded < 1 ? Eligible("UnpairedSampler", $"clean ('{clean.Root}')", clean.Count, Sizes(clean), CropSize) : [];
        _degraded = pDegraded > 0 ? Eligible("UnpairedSampler", $"degraded ('{degraded.Root}')", degraded.Count, Sizes(degraded), CropSize) : [];
    }

    public UnpairedBatch Sample(long k)
    {
        var b = new UnpairedBatch(k, BatchSize, CropSize);
        var images = new BatchImages();
        for (int n = 0; n < BatchSize; n++)
        {
            var r = new SlotRandom(Options.Seed, k, n);
            bool deg = r.Bernoulli(PDegraded);
            b.IsDegraded[n] = deg;
            DrawSingle(ref r, images, deg ? Degraded : Clean, deg ? _degraded : _clean, b, n, b.Images);
        }
        return b;
    }
}
