// Folder reader (recursive listing, ordinal sort, extension filter, skip reporting) and the
// bundled sample data.
using Engine.Imaging;
using Engine.Tests.Support;
using Xunit;
using static Engine.Tests.Imaging.ImagingTestSupport;

namespace Engine.Tests.Imaging;

public class ImageFolderTests
{
    private static string Rel(string root, string p) => Path.GetRelativePath(root, p).Replace('\\', '/');

    [Fact]
    public void List_IsRecursive_OrdinalSorted_AndFiltersExtensionsCaseInsensitively()
    {
        using var tmp = new TempDir();
        var img = Random8(TestData.Rng(), 4, 4);
        Directory.CreateDirectory(tmp.File("sub/deeper"));
        Directory.CreateDirectory(tmp.File("Zed"));
        foreach (var n in new[] { "b.png", "B.PNG", "a.JPG", "c.jpeg", "sub/deeper/x.bmp", "sub/y.Png", "Zed/z.png", "_.png" })
            ImageIO.Write(tmp.File(n), img);
        File.WriteAllText(tmp.File("notes.txt"), "x");
        File.WriteAllText(tmp.File("sub/image.png.bak"), "x");
        File.WriteAllText(tmp.File("pic.gif"), "x");

        var listed = ImageFolder.List(tmp.Path).Select(p => Rel(tmp.Path, p)).ToArray();
        string[] expected = ["B.PNG", "Zed/z.png", "_.png", "a.JPG", "b.png", "c.jpeg", "sub/deeper/x.bmp", "sub/y.Png"];
        Assert.Equal(expected, listed);
        Assert.All(ImageFolder.List(tmp.Path), p => Assert.True(Path.IsPathFullyQualified(p)));
    }

    [Fact]
    public void List_MissingFolder_IsIOError()
    {
        using var tmp = new TempDir();
        string missing = tmp.File("absent");
        var ex = Assert.Throws<ImageIOException>(() => ImageFolder.List(missing));
        Assert.Contains(missing, ex.Message);
        Assert.Contains("folder not found", ex.Message);
    }

    private static TempDir FolderWithTwoBad(out Image good)
    {
        var tmp = new TempDir();
        good = Random8(TestData.Rng(nameof(FolderWithTwoBad)), 5, 3);
        ImageIO.Write(tmp.File("a.png"), good);
        File.WriteAllText(tmp.File("b.png"), "not a png");
        ImageIO.Write(tmp.File("c.bmp"), good);
        var png = File.ReadAllBytes(tmp.File("a.png"));
        File.WriteAllBytes(tmp.File("d.png"), png[..(png.Length / 2)]);
        ImageIO.Write(tmp.File("e.jpg"), good);
        return tmp;
    }

    [Fact]
    public void ReadAll_SkipsUnreadable_WithWarningAndCount()
    {
        using var tmp = FolderWithTwoBad(out var good);
        var warnings = new List<SkippedImage>();
        var result = ImageFolder.ReadAll(tmp.Path, skipUnreadable: true, warn: warnings.Add);
        Assert.Equal(["a.png", "c.bmp", "e.jpg"], result.Images.Select(i => Path.GetFileName(i.Path)).ToArray());
        Assert.Equal(2, result.SkippedCount);
        Assert.Equal(["b.png", "d.png"], result.Skipped.Select(s => Path.GetFileName(s.Path)).ToArray());
        Assert.Equal(result.Skipped, warnings);
        Assert.Contains("unsupported or unrecognized format", result.Skipped[0].Reason);
        Assert.Contains("corrupt or truncated PNG", result.Skipped[1].Reason);
        Assert.Contains(result.Skipped[1].Path, result.Skipped[1].Reason);
        Assert.Equal(good.Data, result.Images[0].Image.Data);
        Assert.Equal(good.Data, result.Images[1].Image.Data);
    }

    [Fact]
    public void ReadAll_WithoutSkipping_ThrowsTheFirstError()
    {
        using var tmp = FolderWithTwoBad(out _);
        var ex = Assert.Throws<ImageFormatException>(() => ImageFolder.ReadAll(tmp.Path, skipUnreadable: false));
        Assert.Equal(tmp.File("b.png"), ex.Path);
    }

    [Fact]
    public void Enumerate_IsLazy_AndReportsSkipsAsItGoes()
    {
        using var tmp = FolderWithTwoBad(out _);
        int skipped = 0;
        using var e = ImageFolder.Enumerate(tmp.Path, _ => skipped++).GetEnumerator();
        Assert.True(e.MoveNext());
        Assert.Equal(0, skipped);
        Assert.True(e.MoveNext()); // passes b.png
        Assert.Equal(1, skipped);
        Assert.EndsWith("c.bmp", e.Current.Path);
        Assert.True(e.MoveNext());
        Assert.Equal(2, skipped);
        Assert.False(e.MoveNext());
    }

    [Fact]
    public void SampleData_HasSevenReadableSmallPhotos_WithSources()
    {
        Assert.True(File.Exists(Path.Combine(SampleData.Path, "SOURCES.md")));
        var files = SampleData.Files;
        Assert.Equal([.. Enumerable.Range(0, 7).Select(k => $"p{k:000}.png")], files.Select(Path.GetFileName).ToArray());
        string sources = File.ReadAllText(Path.Combine(SampleData.Path, "SOURCES.md"));
        long total = 0;
        foreach (var f in files)
        {
            total += new FileInfo(f).Length;
            var img = ImageIO.Read(f);
            Assert.True(Math.Max(img.Width, img.Height) <= 256 && Math.Min(img.Width, img.Height) >= 64, $"{f}: {img.Width}x{img.Height}");
            Assert.Equal(8, img.SourceBitDepth);
            Assert.Contains($"| {Path.GetFileName(f)} | python3-skimage |", sources);
            // a photo, not a flat test card: the channels vary
            float min = img.Data.Min(), max = img.Data.Max();
            Assert.True(max - min > 0.3f, $"{f}: value range {min}..{max}");
        }
        Assert.True(total < 4_000_000, $"samples take {total} bytes");
    }
}
