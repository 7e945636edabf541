// ImageDataset: the image files of one folder (recursive, ordinal order of the relative path,
// extension filter), their sizes read from the file headers at construction, and Get(i) that
// decodes on demand or returns the decoded copy kept by the optional cache.
//
// Unreadable files: a file whose header cannot be read is found at construction; with
// SkipUnreadable it is left out (reported through Warn and Skipped), otherwise its typed
// ImageIOException / ImageFormatException is thrown. A file whose header is fine but whose pixel
// data is corrupt is only found when decoded: at construction with Cache or Verify (and skipped
// or thrown as above), else by Get(i), which then throws the typed error.
// Thread safety: after construction the dataset is read-only; Get may be called from any thread.
using StbImageSharp;

namespace Engine.Imaging.Data;

/// <summary>How an <see cref="ImageDataset"/> lists and reads its folder.</summary>
public sealed record ImageDatasetOptions
{
    /// <summary>Extensions to list (with the dot, any case), a subset of <see cref="ImageIO.Extensions"/>; null for all of them.</summary>
    public IReadOnlyList<string>? Extensions { get; init; }

    /// <summary>Decode every image once at construction and keep the decoded images (3 x H x W floats each).</summary>
    public bool Cache { get; init; }

    /// <summary>Decode every image once at construction (without keeping it) so corrupt pixel data is found up front.</summary>
    public bool Verify { get; init; }

    /// <summary>Leave unreadable files out (reported to <see cref="Warn"/> and in <see cref="ImageDataset.Skipped"/>) instead of throwing.</summary>
    public bool SkipUnreadable { get; init; }

    public Action<SkippedImage>? Warn { get; init; }
}

/// <summary>One image of a dataset with where it came from.</summary>
public sealed record DatasetImage(int Index, string Path, string RelativePath, Image Image);

public sealed class ImageDataset
{
    private readonly string[] _paths, _relative;
    private readonly (int Width, int Height)[] _sizes;
    private readonly Image?[]? _cache;

    public string Root { get; }
    public ImageDatasetOptions Options { get; }
    public int Count => _paths.Length;
    public bool IsCached => _cache is not null;
    /// <summary>Full paths in dataset order.</summary>
    public IReadOnlyList<string> Paths => _paths;
    /// <summary>Paths relative to <see cref="Root"/>, '/'-separated, in dataset order.</summary>
    public IReadOnlyList<string> RelativePaths => _relative;
    /// <summary>Files left out as unreadable (only with <see cref="ImageDatasetOptions.SkipUnreadable"/>).</summary>
    public IReadOnlyList<SkippedImage> Skipped { get; }
    public int SkippedCount => Skipped.Count;

    /// <exception cref="ImageIOException">missing folder; or (without SkipUnreadable) an unreadable file.</exception>
    /// <exception cref="ImageFormatException">(without SkipUnreadable) a file that is not a decodable image.</exception>
    public ImageDataset(string root, ImageDatasetOptions? options = null)
    {
        Options = options ?? new ImageDatasetOptions();
        var filter = CheckExtensions(Options.Extensions);
        string full = System.IO.Path.GetFullPath(root);
        var listed = ImageFolder.List(root).Where(p => filter.Contains(System.IO.Path.GetExtension(p).ToLowerInvariant())).ToArray();
        bool decode = Options.Cache || Options.Verify;
        var sizes = new (int, int)[listed.Length];
        var images = decode ? new Image?[listed.Length] : null;
        var errors = new EngineException?[listed.Length];
        // Decoding is the slow part: spread it over the cores; results land by index, so the order
        // of files, warnings and errors does not depend on thread timing.
        Parallel.For(0, listed.Length, new ParallelOptions { MaxDegreeOfParallelism = decode ? Environment.ProcessorCount : 1 }, i =>
        {
            try
            {
                if (decode)
                {
                    var img = ImageIO.Read(listed[i]);
                    sizes[i] = (img.Width, img.Height);
                    if (Options.Cache) images![i] = img;
                }
                else sizes[i] = ReadSize(listed[i]);
            }
            catch (EngineException e) when (e is ImageFormatException or ImageIOException) { errors[i] = e; }
        });
        var keep = new List<int>();
        var skipped = new List<SkippedImage>();
        for (int i = 0; i < listed.Length; i++)
        {
            if (errors[i] is null) { keep.Add(i); continue; }
            if (!Options.SkipUnreadable) throw errors[i]!;
            var s = new SkippedImage(listed[i], errors[i]!.Message);
            skipped.Add(s);
            Options.Warn?.Invoke(s);
        }
        Root = full;
        _paths = [.. keep.Select(i => listed[i])];
        _relative = [.. _paths.Select(p => System.IO.Path.GetRelativePath(full, p).Replace('\\', '/'))];
        _sizes = [.. keep.Select(i => sizes[i])];
        _cache = images is null || !Options.Cache ? null : [.. keep.Select(i => images[i])];
        Skipped = skipped;
    }

    /// <summary>Image i (decoded now, or the cached copy: do not modify it) with its path.</summary>
    /// <exception cref="ImageFormatException">pixel data that did not decode (no cache, no verify).</exception>
    public DatasetImage Get(int i) => new(i, PathOf(i), _relative[i], ImageAt(i));

    /// <summary>Just the pixels of image i; see <see cref="Get"/>.</summary>
    public Image ImageAt(int i)
    {
        CheckIndex(i);
        return _cache is not null ? _cache[i]! : ImageIO.Read(_paths[i]);
    }

    public string PathOf(int i) { CheckIndex(i); return _paths[i]; }

    /// <summary>Width and height of image i, known from construction without decoding.</summary>
    public (int Width, int Height) SizeOf(int i) { CheckIndex(i); return _sizes[i]; }

    private void CheckIndex(int i)
    {
        if ((uint)i >= (uint)_paths.Length)
            throw new InvalidArgumentException("ImageDataset.Get", $"index {i} is outside 0..{_paths.Length - 1} of the {_paths.Length} images in '{Root}'");
    }

    private static HashSet<string> CheckExtensions(IReadOnlyList<string>? extensions)
    {
        if (extensions is null) return [.. ImageIO.Extensions];
        var set = new HashSet<string>();
        foreach (var e in extensions)
        {
            string x = e.StartsWith('.') ? e.ToLowerInvariant() : "." + e.ToLowerInvariant();
            if (!ImageIO.Extensions.Contains(x))
                throw new InvalidArgumentException("ImageDataset", $"extension '{e}' cannot be read; readable: {string.Join(", ", ImageIO.Extensions)}");
            set.Add(x);
        }
        if (set.Count == 0) throw new InvalidArgumentException("ImageDataset", "the extension filter is empty");
        return set;
    }

    /// <summary>Width and height from the file's header, without decoding the pixels. JPEGs are read
    /// whole and must carry start-of-scan and end-of-image markers first (see ImageIO: stb can loop on
    /// a JPEG cut inside its headers).</summary>
    internal static (int Width, int Height) ReadSize(string path)
    {
        if (Directory.Exists(path)) throw new ImageIOException(path, "is a directory, not an image file");
        if (!File.Exists(path)) throw new ImageIOException(path, "file not found");
        try
        {
            using var fs = File.OpenRead(path);
            Span<byte> head = stackalloc byte[8];
            int n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            var format = ImageIO.Sniff(head[..n]) ?? throw new ImageFormatException(path,
                n == 0 ? "empty file" : $"unsupported or unrecognized format (first bytes {Convert.ToHexString(head[..n])}); supported: PNG, JPEG, BMP");
            Stream s = fs;
            if (format == ImageFileFormat.Jpeg)
            {
                var bytes = File.ReadAllBytes(path);
                if (!ImageIO.JpegLooksComplete(bytes))
                    throw new ImageFormatException(path, "corrupt or truncated JPEG (no start-of-scan or end-of-image marker)");
                s = new MemoryStream(bytes, writable: false);
            }
            fs.Position = 0;
            ImageInfo? info;
            try { info = ImageInfo.FromStream(s); }
            catch (Exception e) when (e is not EngineException and not IOException and not UnauthorizedAccessException)
            {
                throw new ImageFormatException(path, $"corrupt or truncated {ImageIO.FormatName(format)} header: {e.Message}");
            }
            if (info is null || info.Value.Width <= 0 || info.Value.Height <= 0)
                throw new ImageFormatException(path, $"corrupt or truncated {ImageIO.FormatName(format)} header");
            return (info.Value.Width, info.Value.Height);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageIOException(path, "cannot read the file", e);
        }
    }
}
