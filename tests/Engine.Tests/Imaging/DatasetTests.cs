// Datasets: folder listing (recursion, ordinal order, extension filter), header sizes, the cache,
// unreadable files (skip with warning and count, or the typed error), dihedral transforms against
// numpy (gen_dihedral.py -> dihedral.json), and paired folders (matching, mismatch and size errors).
using System.Text.Json;
using Engine.Imaging;
using Engine.Imaging.Data;
using Engine.Tests.Support;
using Xunit;
using static Engine.Tests.Imaging.ImagingTestSupport;

namespace Engine.Tests.Imaging;

[Collection("CpuMemory")] // ErrorAssert checks process-wide CpuMemory counters: runs alone
public class DatasetTests
{
    private static void Write(TempDir d, string rel, Image img)
    {
        string p = d.File(rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        ImageIO.Write(p, img);
    }

    [Fact]
    public void Dataset_IsRecursive_Sorted_Filtered_WithHeaderSizes()
    {
        using var tmp = new TempDir();
        var rng = TestData.Rng();
        string[] names = ["b.png", "B.PNG", "a.jpg", "sub/deeper/x.bmp", "sub/y.png", "Zed/z.png", "_.png"];
        for (int i = 0; i < names.Length; i++) Write(tmp, names[i], Random8(rng, 5 + i, 3 + 2 * i));
        File.WriteAllText(tmp.File("notes.txt"), "x");

        var all = new ImageDataset(tmp.Path);
        Assert.Equal(["B.PNG", "Zed/z.png", "_.png", "a.jpg", "b.png", "sub/deeper/x.bmp", "sub/y.png"], all.RelativePaths);
        Assert.Equal(7, all.Count);
        for (int i = 0; i < all.Count; i++)
        {
            var item = all.Get(i);
            Assert.Equal(all.PathOf(i), item.Path);
            Assert.Equal((item.Image.Width, item.Image.Height), all.SizeOf(i));
            int k = Array.IndexOf(names, item.RelativePath);
            Assert.Equal((5 + k, 3 + 2 * k), all.SizeOf(i));
        }

        var pngOnly = new ImageDataset(tmp.Path, new ImageDatasetOptions { Extensions = ["PNG"] });
        Assert.Equal(["B.PNG", "Zed/z.png", "_.png", "b.png", "sub/y.png"], pngOnly.RelativePaths);
        var ex = ErrorAssert.Fails<InvalidArgumentException>(() => new ImageDataset(tmp.Path, new ImageDatasetOptions { Extensions = [".gif"] }), ".gif");
        Assert.Contains(".png", ex.Message);
    }

    [Fact]
    public void Cache_DecodesOnce_AndEqualsUncachedReads()
    {
        var plain = new ImageDataset(SampleData.Path);
        var cached = new ImageDataset(SampleData.Path, new ImageDatasetOptions { Cache = true });
        Assert.False(plain.IsCached);
        Assert.True(cached.IsCached);
        Assert.Equal(plain.Paths, cached.Paths);
        Assert.Equal(7, cached.Count);
        for (int i = 0; i < plain.Count; i++)
        {
            Assert.Equal(plain.ImageAt(i).Data, cached.ImageAt(i).Data);
            Assert.Equal(plain.SizeOf(i), cached.SizeOf(i));
            Assert.Same(cached.ImageAt(i), cached.ImageAt(i));      // kept, not decoded again
            Assert.NotSame(plain.ImageAt(i), plain.ImageAt(i));
        }
        ErrorAssert.Fails<InvalidArgumentException>(() => plain.Get(7), "7", "0..6");
    }

    private static TempDir FolderWithBadFiles()
    {
        var tmp = new TempDir();
        var good = Random8(TestData.Rng(nameof(FolderWithBadFiles)), 6, 4);
        ImageIO.Write(tmp.File("a.png"), good);
        File.WriteAllText(tmp.File("b.png"), "not a png");
        var png = File.ReadAllBytes(tmp.File("a.png"));
        File.WriteAllBytes(tmp.File("c.png"), png[..(png.Length - 20)]); // header intact, pixel data cut
        ImageIO.Write(tmp.File("d.bmp"), good);
        return tmp;
    }

    [Fact]
    public void Unreadable_Skipped_WithWarningAndCount_OrTypedError()
    {
        using var tmp = FolderWithBadFiles();
        // header check only: b.png (not an image) is found at construction
        var warned = new List<SkippedImage>();
        var lazy = new ImageDataset(tmp.Path, new ImageDatasetOptions { SkipUnreadable = true, Warn = warned.Add });
        Assert.Equal(["a.png", "c.png", "d.bmp"], lazy.RelativePaths);
        Assert.Equal(1, lazy.SkippedCount);
        Assert.Equal(lazy.Skipped, warned);
        Assert.Equal(tmp.File("b.png"), lazy.Skipped[0].Path);
        Assert.Contains("unsupported or unrecognized format", lazy.Skipped[0].Reason);
        // c.png's pixel data is only found when decoded, and then it is the typed error naming the file
        var bad = Assert.Throws<ImageFormatException>(() => lazy.Get(1));
        Assert.Equal(tmp.File("c.png"), bad.Path);

        // Verify (and Cache) decode at construction, so c.png is skipped too
        foreach (var opts in new[] { new ImageDatasetOptions { SkipUnreadable = true, Verify = true }, new ImageDatasetOptions { SkipUnreadable = true, Cache = true } })
        {
            var checkedDs = new ImageDataset(tmp.Path, opts);
            Assert.Equal(["a.png", "d.bmp"], checkedDs.RelativePaths);
            Assert.Equal([tmp.File("b.png"), tmp.File("c.png")], checkedDs.Skipped.Select(s => s.Path).ToArray());
            Assert.Contains("corrupt or truncated PNG", checkedDs.Skipped[1].Reason);
            Assert.Equal(checkedDs.ImageAt(0).Data, checkedDs.ImageAt(1).Data);
        }

        var thrown = Assert.Throws<ImageFormatException>(() => new ImageDataset(tmp.Path));
        Assert.Equal(tmp.File("b.png"), thrown.Path);
        Assert.Contains("b.png", thrown.Message);
        Assert.Throws<ImageIOException>(() => new ImageDataset(tmp.File("missing")));
    }

    // ---- dihedral transforms ----

    [Fact]
    public void Rot90_OfA2x3Image_IsCounterClockwise()
    {
        // one channel shown; all three carry the same pattern plus an offset
        //   a = [[1 2 3],       rot90(a) = [[3 6],
        //        [4 5 6]]                   [2 5],
        //                                   [1 4]]
        float[] d = new float[18];
        for (int c = 0; c < 3; c++) for (int i = 0; i < 6; i++) d[c * 6 + i] = (i + 1 + 10 * c) / 100f;
        var img = new Image(3, 2, d);
        var r = Dihedral.Apply(img, 5);
        Assert.Equal((2, 3), (r.Width, r.Height));
        float[] expected = [3, 6, 2, 5, 1, 4];
        for (int c = 0; c < 3; c++)
            Assert.Equal(expected.Select(v => (v + 10 * c) / 100f).ToArray(), r.Data.AsSpan(c * 6, 6).ToArray());
        // flipud (mode 2) and the transpose (mode 1)
        Assert.Equal(new float[] { 4, 5, 6, 1, 2, 3 }.Select(v => v / 100f).ToArray(), Dihedral.Apply(img, 2).Data[..6]);
        Assert.Equal(new float[] { 1, 4, 2, 5, 3, 6 }.Select(v => v / 100f).ToArray(), Dihedral.Apply(img, 1).Data[..6]);
        // four quarter turns are the identity; rot90 then rot270 too
        var four = img;
        for (int k = 0; k < 4; k++) four = Dihedral.Apply(four, 5);
        Assert.Equal(img.Data, four.Data);
        Assert.Equal(img.Data, Dihedral.Apply(Dihedral.Apply(img, 5), 3).Data);
    }

    [Fact]
    public void Dihedral_AllEightModes_MatchNumpyAugmentImg()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Imaging", "dihedral.json")));
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "Imaging", "gen_dihedral.py")));
        int checkedModes = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            int h = c.GetProperty("height").GetInt32(), w = c.GetProperty("width").GetInt32();
            int top = c.GetProperty("top").GetInt32(), left = c.GetProperty("left").GetInt32();
            int ch = c.GetProperty("crop_height").GetInt32(), cw = c.GetProperty("crop_width").GetInt32();
            var img = new Image(w, h, c.GetProperty("image_chw").EnumerateArray().Select(v => v.GetSingle()).ToArray());
            var seen = new HashSet<string>();
            foreach (var o in c.GetProperty("outputs").EnumerateArray())
            {
                int mode = o.GetProperty("mode").GetInt32();
                var expected = o.GetProperty("chw").EnumerateArray().Select(v => v.GetSingle()).ToArray();
                var got = new float[3 * ch * cw];
                Dihedral.CropInto(img, top, left, ch, cw, mode, got);
                Assert.True(expected.SequenceEqual(got), $"mode {mode} on a {h}x{w} image, window ({top}, {left}) {ch}x{cw}: first difference at {Enumerable.Range(0, got.Length).FirstOrDefault(i => got[i] != expected[i])}");
                Assert.Equal(o.GetProperty("height").GetInt32(), Dihedral.SwapsAxes(mode) ? cw : ch);
                if (top == 0 && left == 0 && ch == h && cw == w) Assert.Equal(expected, Dihedral.Apply(img, mode).Data);
                seen.Add(string.Join(",", got));
                checkedModes++;
            }
            Assert.Equal(8, seen.Count); // eight distinct results
        }
        Assert.Equal(16, checkedModes);
    }

    [Fact]
    public void CropInto_ChecksBounds_AndClampsEdgesWhenAsked()
    {
        var img = Random8(TestData.Rng(), 5, 4);
        var dst = new float[3 * 3 * 3];
        var ex = ErrorAssert.Fails<InvalidArgumentException>(() => { Dihedral.CropInto(img, 2, 3, 3, 3, 0, dst); return null; }, "rows 2..4", "columns 3..5", "5x4");
        ErrorAssert.Fails<ShapeMismatchException>(() => { Dihedral.CropInto(img, 0, 0, 2, 2, 0, dst); return null; }, "27", "12");
        ErrorAssert.Fails<InvalidArgumentException>(() => { Dihedral.CropInto(img, 0, 0, 3, 3, 8, dst); return null; }, "0..7");
        // window (-1, 3) 3x3 over a 5x4 image: rows -1..1 -> 0,0,1; columns 3..5 -> 3,4,4
        Dihedral.CropInto(img, -1, 3, 3, 3, 0, dst, clampEdges: true);
        int[] rows = [0, 0, 1], cols = [3, 4, 4];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    Assert.Equal(img.Data[c * 20 + rows[i] * 5 + cols[j]], dst[c * 9 + i * 3 + j]);
        Assert.NotNull(ex);
    }

    // ---- paired folders ----

    [Fact]
    public void Paired_MatchesByRelativeStem_AcrossExtensions()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var rng = TestData.Rng();
        foreach (var (ca, db) in new[] { ("x.png", "x.bmp"), ("sub/y.png", "sub/y.png"), ("sub/z.jpg", "sub/z.png"), ("w.png", "w.jpg") })
        {
            var img = Random8(rng, 8, 6);
            Write(a, ca, img);
            Write(b, db, img);
        }
        var p = new PairedDataset(a.Path, b.Path);
        Assert.Equal(["sub/y", "sub/z", "w", "x"], p.Keys);
        Assert.Equal(4, p.Count);
        var pair = p.Get(3);
        Assert.EndsWith("x.png", pair.Clean.Path);
        Assert.EndsWith("x.bmp", pair.Degraded.Path);
        Assert.Equal(pair.Clean.Image.Data, pair.Degraded.Image.Data);
    }

    [Fact]
    public void Paired_Mismatch_ListsFilesOnEachSide_WithCounts()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var img = Random8(TestData.Rng(), 4, 4);
        foreach (var n in new[] { "same.png", "Case.png" }) Write(a, n, img);
        foreach (var n in new[] { "same.png", "case.png", "sub/onlyB.png" }) Write(b, n, img);
        for (int i = 0; i < 12; i++) Write(a, $"extra/a{i:00}.png", img);

        var ex = ErrorAssert.Fails<PairingException>(() => new PairedDataset(a.Path, b.Path),
            "13 only in clean", "2 only in degraded", "Case.png", "extra/a00.png", "extra/a08.png", "(3 more)", "case.png", "sub/onlyB.png", a.Path, b.Path);
        Assert.DoesNotContain("extra/a09.png", ex.Message); // only the first 10 are shown
        Assert.Equal(13, ex.OnlyInClean.Count);
        Assert.Equal(["case.png", "sub/onlyB.png"], ex.OnlyInDegraded);
        Assert.Empty(ex.SizeMismatches);
    }

    [Fact]
    public void Paired_SizeRule_EqualOrDividedByScale()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var rng = TestData.Rng();
        Write(a, "p.png", Random8(rng, 17, 12)); Write(b, "p.png", Random8(rng, 8, 6));   // 17/2 = 8, 12/2 = 6
        Write(a, "q.png", Random8(rng, 20, 10)); Write(b, "q.png", Random8(rng, 10, 4));  // wrong height
        var ex = ErrorAssert.Fails<PairingException>(() => new PairedDataset(a.Path, b.Path, scale: 2),
            "1 pair(s) of the wrong size", "q: clean 20x10, degraded 10x4 (expected 10x5)");
        Assert.Single(ex.SizeMismatches);
        ErrorAssert.Fails<PairingException>(() => new PairedDataset(a.Path, b.Path), "2 pair(s)", "p: clean 17x12, degraded 8x6 (expected 17x12)");

        File.Delete(b.File("q.png")); File.Delete(a.File("q.png"));
        var ok = new PairedDataset(a.Path, b.Path, scale: 2);
        Assert.Equal(2, ok.Scale);
        Assert.Equal(1, ok.Count);
    }

    [Fact]
    public void Paired_AmbiguousStems_AndSkippedPartners()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var img = Random8(TestData.Rng(), 4, 4);
        Write(a, "x.png", img); Write(a, "y.png", img);
        Write(b, "x.png", img); File.WriteAllText(b.File("y.png"), "broken");
        var warned = new List<SkippedImage>();
        var p = new PairedDataset(a.Path, b.Path, options: new ImageDatasetOptions { SkipUnreadable = true, Warn = warned.Add });
        Assert.Equal(["x"], p.Keys);
        Assert.Equal([b.File("y.png"), a.File("y.png")], p.Skipped.Select(s => s.Path).ToArray());
        Assert.Contains("partner was skipped", p.Skipped[1].Reason);
        Assert.Equal(p.Skipped, warned);

        Write(b, "x.jpg", img);
        ErrorAssert.Fails<PairingException>(() => new PairedDataset(a.Path, b.Path, options: new ImageDatasetOptions { SkipUnreadable = true }), "'x.jpg' and 'x.png'", "ambiguous");
    }
}
