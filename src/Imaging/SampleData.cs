// Locates the bundled sample photos (data/samples: p000-p006 downscaled, see SOURCES.md there).
namespace Engine.Imaging;

public static class SampleData
{
    private const string Relative = "data/samples";
    private static string? _path;

    /// <summary>The data/samples folder: next to the application (tests copy it to their output),
    /// else in the nearest ancestor of the application base or the current directory.</summary>
    /// <exception cref="ImageIOException">no folder with the samples' SOURCES.md was found.</exception>
    public static string Path => _path ??= Find();

    /// <summary>The sample image files, sorted (see <see cref="ImageFolder.List"/>).</summary>
    public static IReadOnlyList<string> Files => ImageFolder.List(Path);

    private static string Find()
    {
        var tried = new List<string>();
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = System.IO.Path.Combine(dir.FullName, Relative);
                if (File.Exists(System.IO.Path.Combine(candidate, "SOURCES.md"))) return candidate;
                tried.Add(candidate);
            }
        }
        throw new ImageIOException(Relative, $"sample data folder not found (looked in {tried.Count} places from {AppContext.BaseDirectory} and {Directory.GetCurrentDirectory()} upwards)");
    }
}
