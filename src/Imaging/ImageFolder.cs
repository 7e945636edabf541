// Folder reader: lists image files recursively (png/jpg/jpeg/bmp, any case) in ordinal order of
// their path relative to the root, and reads them, optionally skipping unreadable files.
namespace Engine.Imaging;

/// <summary>A file the folder reader skipped and why.</summary>
public sealed record SkippedImage(string Path, string Reason);

/// <summary>What <see cref="ImageFolder.ReadAll"/> read and what it skipped.</summary>
public sealed record ImageFolderResult(IReadOnlyList<(string Path, Image Image)> Images, IReadOnlyList<SkippedImage> Skipped)
{
    public int SkippedCount => Skipped.Count;
}

public static class ImageFolder
{
    /// <summary>Image files under <paramref name="root"/> (recursive), full paths, sorted by
    /// relative path with ordinal comparison so the order is the same on every machine.</summary>
    /// <exception cref="ImageIOException">the folder does not exist or cannot be listed.</exception>
    public static IReadOnlyList<string> List(string root)
    {
        if (!Directory.Exists(root)) throw new ImageIOException(root, "folder not found");
        string full = Path.GetFullPath(root);
        List<string> files;
        try
        {
            files = Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories)
                .Where(IsImageFile).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageIOException(root, "cannot list the folder", e);
        }
        files.Sort((a, b) => string.CompareOrdinal(Relative(full, a), Relative(full, b)));
        return files;
    }

    /// <summary>True when the extension is .png, .jpg, .jpeg or .bmp (case-insensitive).</summary>
    public static bool IsImageFile(string path)
    {
        string ext = Path.GetExtension(path);
        foreach (var e in ImageIO.Extensions)
            if (string.Equals(ext, e, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>Reads the listed images lazily, in <see cref="List"/> order. With
    /// <paramref name="onSkip"/> null the first unreadable file throws its typed error; otherwise
    /// unreadable files (ImageFormatException, ImageIOException) are reported to it and skipped.</summary>
    public static IEnumerable<(string Path, Image Image)> Enumerate(string root, Action<SkippedImage>? onSkip = null)
    {
        foreach (var path in List(root))
        {
            Image img;
            try
            {
                img = ImageIO.Read(path);
            }
            catch (EngineException e) when (onSkip is not null && e is ImageFormatException or ImageIOException)
            {
                onSkip(new SkippedImage(path, e.Message));
                continue;
            }
            yield return (path, img);
        }
    }

    /// <summary>Reads every image; with <paramref name="skipUnreadable"/> unreadable files are
    /// collected in <see cref="ImageFolderResult.Skipped"/> (and passed to <paramref name="warn"/>)
    /// instead of throwing.</summary>
    public static ImageFolderResult ReadAll(string root, bool skipUnreadable = true, Action<SkippedImage>? warn = null)
    {
        var skipped = new List<SkippedImage>();
        Action<SkippedImage>? onSkip = skipUnreadable ? s => { skipped.Add(s); warn?.Invoke(s); } : null;
        var images = Enumerate(root, onSkip).ToList();
        return new ImageFolderResult(images, skipped);
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');
}
