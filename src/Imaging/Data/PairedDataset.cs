// PairedDataset: clean and degraded images of two folders matched by relative path without
// extension ("sub/x.png" pairs with "sub/x.jpg"; case-sensitive, ordinal), in the clean folder's
// order. Every mismatch is reported at once by a PairingException: the names found on one side
// only, then (when the names match) the pairs whose sizes break the rule
// degraded = floor(clean / Scale) in both dimensions (Scale 1: equal sizes; Scale s > 1: SR pairs).
// Sizes come from the file headers (or the decoded images when cached), so no pixel is decoded
// to check them. A file one dataset skipped as unreadable drops its partner too (reported as skipped).
namespace Engine.Imaging.Data;

/// <summary>Two folders that should pair up and do not: the names on one side only (first
/// <see cref="Shown"/> of each, with counts), or pairs of the wrong relative size.</summary>
public sealed class PairingException : EngineException
{
    public const int Shown = 10;
    public string CleanRoot { get; }
    public string DegradedRoot { get; }
    public IReadOnlyList<string> OnlyInClean { get; }
    public IReadOnlyList<string> OnlyInDegraded { get; }
    /// <summary>"key: clean WxH, degraded WxH (expected WxH)" per offending pair.</summary>
    public IReadOnlyList<string> SizeMismatches { get; }

    public PairingException(string cleanRoot, string degradedRoot, IReadOnlyList<string> onlyInClean, IReadOnlyList<string> onlyInDegraded, IReadOnlyList<string> sizeMismatches, string detail)
        : base($"paired folders '{cleanRoot}' (clean) and '{degradedRoot}' (degraded): {detail}")
    {
        CleanRoot = cleanRoot; DegradedRoot = degradedRoot;
        OnlyInClean = onlyInClean; OnlyInDegraded = onlyInDegraded; SizeMismatches = sizeMismatches;
    }

    internal static string List(IReadOnlyList<string> items) =>
        string.Join(", ", items.Take(Shown)) + (items.Count > Shown ? $", ... ({items.Count - Shown} more)" : "");
}

/// <summary>One clean/degraded pair with its key (relative path without extension).</summary>
public sealed record ImagePair(int Index, string Key, DatasetImage Clean, DatasetImage Degraded);

public sealed class PairedDataset
{
    private readonly (int Clean, int Degraded)[] _pairs;
    private readonly string[] _keys;

    public ImageDataset Clean { get; }
    public ImageDataset Degraded { get; }
    /// <summary>Clean size / degraded size (1 for same-size pairs; the SR factor otherwise).</summary>
    public int Scale { get; }
    public int Count => _pairs.Length;
    public IReadOnlyList<string> Keys => _keys;
    /// <summary>Pairs dropped because one side was unreadable (each dataset's own skips included).</summary>
    public IReadOnlyList<SkippedImage> Skipped { get; }

    /// <summary>Reads both folders with the same options and pairs them.</summary>
    public PairedDataset(string cleanRoot, string degradedRoot, int scale = 1, ImageDatasetOptions? options = null)
        : this(new ImageDataset(cleanRoot, options), new ImageDataset(degradedRoot, options), scale, options?.Warn) { }

    /// <exception cref="PairingException">names or sizes do not match.</exception>
    public PairedDataset(ImageDataset clean, ImageDataset degraded, int scale = 1, Action<SkippedImage>? warn = null)
    {
        if (scale < 1) throw new InvalidArgumentException("PairedDataset", $"scale must be >= 1, got {scale}");
        Clean = clean; Degraded = degraded; Scale = scale;
        var cleanKeys = KeyIndex(clean, clean, degraded);
        var degradedKeys = KeyIndex(degraded, clean, degraded);
        var cleanSkipped = clean.Skipped.Select(s => KeyOf(clean.Root, s.Path)).ToHashSet(StringComparer.Ordinal);
        var degradedSkipped = degraded.Skipped.Select(s => KeyOf(degraded.Root, s.Path)).ToHashSet(StringComparer.Ordinal);
        var skipped = new List<SkippedImage>(clean.Skipped.Concat(degraded.Skipped));
        var onlyClean = new List<string>();
        var onlyDegraded = new List<string>();
        var pairs = new List<(int, int)>();
        var keys = new List<string>();
        for (int i = 0; i < clean.Count; i++)
        {
            string key = KeyOf(clean.Root, clean.PathOf(i));
            if (degradedKeys.TryGetValue(key, out int j)) { pairs.Add((i, j)); keys.Add(key); }
            else if (degradedSkipped.Contains(key)) Drop(clean.PathOf(i), "its degraded partner was skipped as unreadable");
            else onlyClean.Add(clean.RelativePaths[i]);
        }
        for (int j = 0; j < degraded.Count; j++)
        {
            string key = KeyOf(degraded.Root, degraded.PathOf(j));
            if (cleanKeys.ContainsKey(key)) continue;
            if (cleanSkipped.Contains(key)) Drop(degraded.PathOf(j), "its clean partner was skipped as unreadable");
            else onlyDegraded.Add(degraded.RelativePaths[j]);
        }
        if (onlyClean.Count > 0 || onlyDegraded.Count > 0)
        {
            string detail = $"file names do not match: {onlyClean.Count} only in clean" + (onlyClean.Count > 0 ? $" [{PairingException.List(onlyClean)}]" : "")
                + $"; {onlyDegraded.Count} only in degraded" + (onlyDegraded.Count > 0 ? $" [{PairingException.List(onlyDegraded)}]" : "")
                + " (matched by relative path without extension, case-sensitive)";
            throw new PairingException(clean.Root, degraded.Root, onlyClean, onlyDegraded, [], detail);
        }
        var badSize = new List<string>();
        for (int p = 0; p < pairs.Count; p++)
        {
            var (cw, ch) = clean.SizeOf(pairs[p].Item1);
            var (dw, dh) = degraded.SizeOf(pairs[p].Item2);
            if (dw != cw / scale || dh != ch / scale)
                badSize.Add($"{keys[p]}: clean {cw}x{ch}, degraded {dw}x{dh} (expected {cw / scale}x{ch / scale})");
        }
        if (badSize.Count > 0)
            throw new PairingException(clean.Root, degraded.Root, [], [], badSize,
                $"{badSize.Count} pair(s) of the wrong size (degraded must be clean/{scale}, WxH): [{PairingException.List(badSize)}]");
        _pairs = [.. pairs];
        _keys = [.. keys];
        Skipped = skipped;

        void Drop(string path, string reason)
        {
            var s = new SkippedImage(path, reason);
            skipped.Add(s);
            warn?.Invoke(s);
        }
    }

    public ImagePair Get(int i)
    {
        var (c, d) = IndexOf(i);
        return new ImagePair(i, _keys[i], Clean.Get(c), Degraded.Get(d));
    }

    /// <summary>Indices of pair i in <see cref="Clean"/> and <see cref="Degraded"/>.</summary>
    public (int Clean, int Degraded) IndexOf(int i)
    {
        if ((uint)i >= (uint)_pairs.Length)
            throw new InvalidArgumentException("PairedDataset.Get", $"index {i} is outside 0..{_pairs.Length - 1} of the {_pairs.Length} pairs");
        return _pairs[i];
    }

    /// <summary>The pairing key: the path relative to the root, '/'-separated, without extension.</summary>
    public static string KeyOf(string root, string path)
    {
        string rel = Path.GetRelativePath(root, path).Replace('\\', '/');
        string ext = Path.GetExtension(rel);
        return ext.Length > 0 ? rel[..^ext.Length] : rel;
    }

    private static Dictionary<string, int> KeyIndex(ImageDataset d, ImageDataset clean, ImageDataset degraded)
    {
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < d.Count; i++)
        {
            string key = KeyOf(d.Root, d.PathOf(i));
            if (!map.TryAdd(key, i))
                throw new PairingException(clean.Root, degraded.Root, [], [], [],
                    $"'{d.RelativePaths[map[key]]}' and '{d.RelativePaths[i]}' in '{d.Root}' have the same name without extension, so pairing is ambiguous");
        }
        return map;
    }
}
