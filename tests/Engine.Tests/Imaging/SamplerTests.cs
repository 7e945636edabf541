// Samplers and the prefetcher: crops equal the dihedral crop of the recorded window, windows stay
// inside the image, SR pairs crop at scaled coordinates, small-image policies, domain and kind
// frequencies (fixed seeds, tolerances of several standard deviations), determinism as a function
// of (seed, k), prefetch order equal to the synchronous order, worker errors and Dispose.
using System.Diagnostics;
using Engine.Imaging;
using Engine.Imaging.Data;
using Engine.Tests.Support;
using Xunit;
using static Engine.Tests.Imaging.ImagingTestSupport;

namespace Engine.Tests.Imaging;

public class SamplerTests
{
    private static void Write(TempDir d, string rel, Image img)
    {
        string p = d.File(rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        ImageIO.Write(p, img);
    }

    /// <summary>An image whose values lie in [lo, lo + 0.5) on the 8-bit grid.</summary>
    private static Image Ranged(System.Random rng, int w, int h, int lo)
    {
        var rgb = new byte[3 * w * h];
        for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)(lo + rng.Next(127));
        return Image.FromRgb8(rgb, w, h);
    }

    private static float[] Slot(float[] batch, int n, int size) => batch.AsSpan(n * 3 * size * size, 3 * size * size).ToArray();

    private static float[] CropOf(Image img, int top, int left, int size, int mode, bool pad = false)
    {
        var d = new float[3 * size * size];
        Dihedral.CropInto(img, top, left, size, size, mode, d, pad);
        return d;
    }

    [Fact]
    public void Unpaired_CropsAreTheRecordedWindows_InsideTheImage_AllPositionsReached()
    {
        using var tmp = new TempDir();
        var rng = TestData.Rng();
        Write(tmp, "a.png", Random8(rng, 10, 8));
        Write(tmp, "b.png", Random8(rng, 7, 9));
        var ds = new ImageDataset(tmp.Path, new ImageDatasetOptions { Cache = true });
        var s = new UnpairedSampler(ds, ds, 0.5, new SamplerOptions { BatchSize = 8, CropSize = 6, Seed = 11 });
        var tops = new HashSet<(int, int)>();
        var modes = new int[8];
        for (int k = 0; k < 60; k++)
        {
            var b = s.Sample(k);
            Assert.Equal(k, b.Index);
            for (int n = 0; n < b.Count; n++)
            {
                int i = b.Source[n];
                var (w, h) = ds.SizeOf(i);
                Assert.InRange(b.Top[n], 0, h - 6);
                Assert.InRange(b.Left[n], 0, w - 6);
                Assert.Equal(CropOf(ds.ImageAt(i), b.Top[n], b.Left[n], 6, b.Mode[n]), Slot(b.Images, n, 6));
                if (i == 0) tops.Add((b.Top[n], b.Left[n]));
                modes[b.Mode[n]]++;
            }
        }
        Assert.Equal(3 * 5, tops.Count);         // every window of the 10x8 image was drawn
        Assert.All(modes, m => Assert.InRange(m, 30, 90)); // 480 slots over 8 modes: about 60 each

        var plain = new UnpairedSampler(ds, ds, 0.5, new SamplerOptions { BatchSize = 8, CropSize = 6, Seed = 11, Augment = false });
        Assert.All(plain.Sample(3).Mode, m => Assert.Equal(0, m));
        Assert.Equal(s.Sample(3).Top, plain.Sample(3).Top); // augmentation does not shift the other draws
    }

    [Fact]
    public void Unpaired_DomainFrequencyIsP_AndLabelsMatchTheDomain()
    {
        using var clean = new TempDir();
        using var deg = new TempDir();
        var rng = TestData.Rng();
        for (int i = 0; i < 3; i++) { Write(clean, $"c{i}.png", Ranged(rng, 12, 12, 0)); Write(deg, $"d{i}.png", Ranged(rng, 12, 12, 128)); }
        var c = new ImageDataset(clean.Path, new ImageDatasetOptions { Cache = true });
        var d = new ImageDataset(deg.Path, new ImageDatasetOptions { Cache = true });
        const double p = 0.3;
        var s = new UnpairedSampler(c, d, p, new SamplerOptions { BatchSize = 16, CropSize = 4, Seed = 5 });
        int slots = 0, degraded = 0;
        for (int k = 0; k < 250; k++)
        {
            var b = s.Sample(k);
            for (int n = 0; n < b.Count; n++)
            {
                slots++;
                if (b.IsDegraded[n]) degraded++;
                var crop = Slot(b.Images, n, 4);
                Assert.True(b.IsDegraded[n] ? crop.Min() >= 0.5f : crop.Max() < 0.5f, $"batch {k} slot {n}: label and content disagree");
            }
        }
        // 4000 slots, sd = sqrt(4000 * 0.21) = 29: allow 5 sd; the seed is fixed, so this cannot flake
        Assert.InRange(degraded, 4000 * p - 145, 4000 * p + 145);
        Assert.Equal(4000, slots);

        using var labels = s.Sample(0).LabelsTensor();
        Assert.Equal(s.Sample(0).IsDegraded.Select(x => x ? 1f : 0f).ToArray(), labels.ToFloatArray());
        Assert.All(Enumerable.Range(0, 20).SelectMany(k => new UnpairedSampler(c, d, 0, new SamplerOptions { Seed = 1, CropSize = 4 }).Sample(k).IsDegraded), x => Assert.False(x));
        Assert.All(Enumerable.Range(0, 20).SelectMany(k => new UnpairedSampler(c, d, 1, new SamplerOptions { Seed = 1, CropSize = 4 }).Sample(k).IsDegraded), Assert.True);
    }

    [Fact]
    public void Paired_ScaleTwo_CropsAlignedWindows()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var rng = TestData.Rng();
        // degraded = nearest-neighbour downsample of clean: D[y][x] = C[2y][2x]
        foreach (var (w, h) in new[] { (21, 16), (16, 30) })
        {
            var clean = Random8(rng, w, h);
            int dw = w / 2, dh = h / 2;
            var dd = new float[3 * dw * dh];
            for (int ch = 0; ch < 3; ch++) for (int y = 0; y < dh; y++) for (int x = 0; x < dw; x++) dd[(ch * dh + y) * dw + x] = clean.Data[(ch * h + 2 * y) * w + 2 * x];
            Write(a, $"{w}.png", clean);
            Write(b, $"{w}.png", new Image(dw, dh, dd));
        }
        var pairs = new PairedDataset(a.Path, b.Path, scale: 2);
        var s = new PairedSampler(pairs, new SamplerOptions { BatchSize = 6, CropSize = 8, Seed = 2, Augment = false });
        Assert.Equal(4, s.DegradedCropSize);
        for (int k = 0; k < 30; k++)
        {
            var bt = s.Sample(k);
            Assert.Equal(12, bt.Crops);
            for (int n = 0; n < bt.Count; n++)
            {
                float[] c = Slot(bt.Clean, n, 8), d = Slot(bt.Degraded, n, 4);
                for (int ch = 0; ch < 3; ch++) for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++)
                    Assert.Equal(c[(ch * 8 + 2 * y) * 8 + 2 * x], d[(ch * 4 + y) * 4 + x]);
            }
        }
        // with augmentation both crops take the slot's transform
        var aug = new PairedSampler(pairs, new SamplerOptions { BatchSize = 6, CropSize = 8, Seed = 2 });
        var ab = aug.Sample(0);
        using var ct = ab.CleanTensor();
        using var dt = ab.DegradedTensor();
        Assert.Equal([6, 3, 8, 8], ct.Shape);
        Assert.Equal([6, 3, 4, 4], dt.Shape);
        for (int n = 0; n < 6; n++)
        {
            var (ci, di) = pairs.IndexOf(ab.Source[n]);
            Assert.Equal(CropOf(pairs.Clean.ImageAt(ci), 2 * ab.Top[n], 2 * ab.Left[n], 8, ab.Mode[n]), Slot(ab.Clean, n, 8));
            Assert.Equal(CropOf(pairs.Degraded.ImageAt(di), ab.Top[n], ab.Left[n], 4, ab.Mode[n]), Slot(ab.Degraded, n, 4));
        }
        Assert.Throws<InvalidArgumentException>(() => new PairedSampler(pairs, new SamplerOptions { CropSize = 7 }));
    }

    [Fact]
    public void SmallImages_ErrorNamesFileAndSizes_SkipWarns_PadReplicatesEdges()
    {
        using var tmp = new TempDir();
        var rng = TestData.Rng();
        Write(tmp, "big.png", Random8(rng, 20, 20));
        Write(tmp, "small.png", Random8(rng, 12, 9));
        var ds = new ImageDataset(tmp.Path);
        var ex = Assert.Throws<ImageTooSmallException>(() => new UnpairedSampler(ds, ds, 0.5, new SamplerOptions { CropSize = 10 }));
        Assert.Equal(tmp.File("small.png"), ex.Path);
        Assert.Contains("12x9 (WxH) is smaller than the 10x10 crop", ex.Message);
        Assert.Contains("small.png", ex.Message);

        var warned = new List<SkippedImage>();
        var skip = new UnpairedSampler(ds, ds, 0.5, new SamplerOptions { CropSize = 10, SmallImages = SmallImagePolicy.Skip, Warn = warned.Add });
        Assert.Equal(2, skip.Skipped.Count); // once per domain
        Assert.Equal(skip.Skipped, warned);
        Assert.All(Enumerable.Range(0, 10).SelectMany(k => skip.Sample(k).Source), i => Assert.Equal(0, i));
        Assert.Throws<InvalidArgumentException>(() => new UnpairedSampler(ds, ds, 0.5, new SamplerOptions { CropSize = 30, SmallImages = SmallImagePolicy.Skip }));

        var pad = new UnpairedSampler(ds, ds, 0.5, new SamplerOptions { CropSize = 10, SmallImages = SmallImagePolicy.Pad, BatchSize = 8, Seed = 3 });
        bool sawPadded = false;
        for (int k = 0; k < 10; k++)
        {
            var b = pad.Sample(k);
            for (int n = 0; n < b.Count; n++)
            {
                if (b.Source[n] != 1) continue;
                Assert.InRange(b.Top[n], -1, 0);   // 9 rows for 10: the window starts at -1 or 0
                Assert.InRange(b.Left[n], 0, 2);
                Assert.Equal(CropOf(ds.ImageAt(1), b.Top[n], b.Left[n], 10, b.Mode[n], pad: true), Slot(b.Images, n, 10));
                sawPadded = true;
            }
        }
        Assert.True(sawPadded);
    }

    [Fact]
    public void SemiPaired_PerSlotKinds_FollowSeNM_WithBothSlotsFilled()
    {
        using var pc = new TempDir();
        using var pd = new TempDir();
        using var src = new TempDir();
        using var tgt = new TempDir();
        var rng = TestData.Rng();
        for (int i = 0; i < 2; i++) { Write(pc, $"p{i}.png", Ranged(rng, 10, 10, 0)); Write(pd, $"p{i}.png", Ranged(rng, 10, 10, 128)); }
        for (int i = 0; i < 3; i++) { Write(src, $"s{i}.png", Ranged(rng, 10, 10, 0)); Write(tgt, $"t{i}.png", Ranged(rng, 10, 10, 128)); }
        var opts = new ImageDatasetOptions { Cache = true };
        var paired = new PairedDataset(new ImageDataset(pc.Path, opts), new ImageDataset(pd.Path, opts));
        var source = new ImageDataset(src.Path, opts);
        var target = new ImageDataset(tgt.Path, opts);
        var s = new SemiPairedSampler(paired, source, target, new SamplerOptions { BatchSize = 12, CropSize = 4, Seed = 9 });
        Assert.Equal((1 / 3.0, 1 / 3.0, 1 / 3.0), s.Probabilities);
        var counts = new Dictionary<SlotKind, int> { [SlotKind.Paired] = 0, [SlotKind.Source] = 0, [SlotKind.Target] = 0 };
        int mixed = 0;
        for (int k = 0; k < 250; k++)
        {
            var b = s.Sample(k);
            if (b.Kinds.Distinct().Count() > 1) mixed++;
            for (int n = 0; n < b.Count; n++)
            {
                counts[b.Kinds[n]]++;
                float[] c = Slot(b.Clean, n, 4), d = Slot(b.Degraded, n, 4);
                switch (b.Kinds[n])
                {
                    case SlotKind.Paired:
                        Assert.True(c.Max() < 0.5f && d.Min() >= 0.5f);
                        Assert.Equal(CropOf(paired.Clean.ImageAt(b.Source[n]), b.Top[n], b.Left[n], 4, b.Mode[n]), c);
                        Assert.Equal(CropOf(paired.Degraded.ImageAt(b.Source[n]), b.Top[n], b.Left[n], 4, b.Mode[n]), d);
                        break;
                    case SlotKind.Source:
                        Assert.Equal(c, d);
                        Assert.Equal(CropOf(source.ImageAt(b.Source[n]), b.Top[n], b.Left[n], 4, b.Mode[n]), c);
                        break;
                    default:
                        Assert.Equal(c, d);
                        Assert.Equal(CropOf(target.ImageAt(b.Source[n]), b.Top[n], b.Left[n], 4, b.Mode[n]), d);
                        break;
                }
            }
        }
        // 3000 slots, each kind p = 1/3: sd = 25.8; 5 sd
        Assert.All(counts.Values, v => Assert.InRange(v, 1000 - 130, 1000 + 130));
        Assert.True(mixed > 240, $"per-slot sampling should mix kinds in almost every batch of 12, got {mixed}/250");
        using var lt = s.Sample(0).LabelsTensor();
        Assert.Equal(DType.I32, lt.DType);

        // absent datasets get probability 0; the rest are normalized
        var unpairedOnly = new SemiPairedSampler(null, source, target, new SamplerOptions { BatchSize = 12, CropSize = 4, Seed = 9 }, (5, 1, 3));
        Assert.Equal((0.0, 0.25, 0.75), unpairedOnly.Probabilities);
        Assert.DoesNotContain(SlotKind.Paired, Enumerable.Range(0, 50).SelectMany(k => unpairedOnly.Sample(k).Kinds));

        // per-batch mode: one kind per batch, all three seen
        var perBatch = new SemiPairedSampler(paired, source, target, new SamplerOptions { BatchSize = 12, CropSize = 4, Seed = 9 }, mode: SemiPairedMode.PerBatch);
        var kinds = new HashSet<SlotKind>();
        for (int k = 0; k < 60; k++)
        {
            var b = perBatch.Sample(k);
            Assert.Single(b.Kinds.Distinct());
            kinds.Add(b.Kinds[0]);
        }
        Assert.Equal(3, kinds.Count);
        Assert.Throws<InvalidArgumentException>(() => new SemiPairedSampler(null, null, null));
    }

    private static UnpairedSampler SampleSampler(ulong seed, bool cache = false, int batch = 4, int crop = 32)
    {
        var ds = new ImageDataset(SampleData.Path, new ImageDatasetOptions { Cache = cache });
        return new UnpairedSampler(ds, ds, 0.5, new SamplerOptions { BatchSize = batch, CropSize = crop, Seed = seed });
    }

    private static void SameBatch(UnpairedBatch x, UnpairedBatch y)
    {
        Assert.Equal(x.Index, y.Index);
        Assert.Equal(x.Images, y.Images);
        Assert.Equal(x.IsDegraded, y.IsDegraded);
        Assert.Equal(x.Source, y.Source);
        Assert.Equal(x.Mode, y.Mode);
    }

    [Fact]
    public void Batches_ArePureFunctionsOfSeedAndIndex()
    {
        var a = SampleSampler(42, cache: true);
        var b = SampleSampler(42);
        var other = SampleSampler(43, cache: true);
        var forward = Enumerable.Range(0, 8).Select(k => a.Sample(k)).ToArray();
        for (int k = 7; k >= 0; k--) SameBatch(forward[k], b.Sample(k)); // other instance, no cache, reverse order
        int differing = Enumerable.Range(0, 8).Count(k => !forward[k].Images.SequenceEqual(other.Sample(k).Images));
        Assert.Equal(8, differing);
        Assert.False(forward[0].Images.SequenceEqual(forward[1].Images));
        using var t = forward[2].ImagesTensor();
        Assert.Equal([4, 3, 32, 32], t.Shape);
        Assert.Equal(forward[2].Images, t.ToFloatArray());
    }

    [Fact]
    public void Prefetch_EqualsSynchronousOrder_AndResumesAtK()
    {
        var s = SampleSampler(7, cache: true);
        var uncached = SampleSampler(7); // workers decode concurrently
        var sync = Enumerable.Range(0, 20).Select(k => s.Sample(k)).ToArray();
        foreach (var (workers, depth, sampler) in new[] { (1, 4, s), (3, 2, s), (4, 1, s), (3, 4, uncached) })
        {
            using var p = new Prefetcher<UnpairedBatch>(sampler, depth: depth, workers: workers);
            for (int k = 0; k < 20; k++) SameBatch(sync[k], p.Next());
            var st = p.Stats;
            Assert.Equal(20, st.Batches);
            Assert.Equal(80, st.Crops);
            Assert.True(st.Seconds > 0 && st.CropsPerSecond > 0 && st.WaitSeconds >= 0 && st.WaitSeconds <= st.Seconds, st.ToString());
        }
        using var resumed = new Prefetcher<UnpairedBatch>(s, start: 13, workers: 2);
        Assert.Equal(13, resumed.NextIndex);
        for (int k = 13; k < 20; k++) SameBatch(sync[k], resumed.Next());
    }

    private sealed class Failing(IBatchSampler<UnpairedBatch> inner, long failAt, int sleepMs = 0) : IBatchSampler<UnpairedBatch>
    {
        public int BatchSize => inner.BatchSize;
        public UnpairedBatch Sample(long k)
        {
            if (sleepMs > 0) Thread.Sleep(sleepMs);
            if (k == failAt) throw new ImageFormatException($"file-of-batch-{k}.png", "corrupt for the test");
            return inner.Sample(k);
        }
    }

    private sealed class Counting(IBatchSampler<UnpairedBatch> inner) : IBatchSampler<UnpairedBatch>
    {
        private int _calls;
        public int Calls => Volatile.Read(ref _calls);
        public int BatchSize => inner.BatchSize;
        public UnpairedBatch Sample(long k) { Interlocked.Increment(ref _calls); return inner.Sample(k); }
    }

    private static void WaitFor(Func<bool> cond)
    {
        var sw = Stopwatch.StartNew();
        while (!cond() && sw.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(5);
    }

    [Fact]
    public void Prefetch_StaysWithinDepth_AheadOfTheConsumer()
    {
        var counting = new Counting(SampleSampler(3, cache: true, batch: 2, crop: 16));
        using var p = new Prefetcher<UnpairedBatch>(counting, depth: 3, workers: 4);
        WaitFor(() => counting.Calls >= 3);
        Thread.Sleep(100); // room for a wrong worker to run further ahead
        Assert.Equal(3, counting.Calls);
        p.Next();
        WaitFor(() => counting.Calls >= 4);
        Thread.Sleep(100);
        Assert.Equal(4, counting.Calls);
    }

    [Fact]
    public void Prefetch_WorkerException_SurfacesAtItsBatch_NotLostNotHung()
    {
        var s = SampleSampler(1, cache: true, batch: 2, crop: 16);
        foreach (int workers in new[] { 1, 3 })
        {
            using var p = new Prefetcher<UnpairedBatch>(new Failing(s, failAt: 3), workers: workers);
            for (int k = 0; k < 3; k++) Assert.Equal(k, p.Next().Index);
            var ex = Assert.Throws<ImageFormatException>(() => p.Next());
            Assert.Equal("file-of-batch-3.png", ex.Path);
            Assert.Throws<ImageFormatException>(() => p.Next()); // and on every later call
        }
        // a real decode failure (pixel data cut after a valid header) from a worker
        using var tmp = new TempDir();
        ImageIO.Write(tmp.File("a.png"), Random8(TestData.Rng(), 16, 16));
        var png = File.ReadAllBytes(tmp.File("a.png"));
        File.WriteAllBytes(tmp.File("a.png"), png[..(png.Length - 30)]);
        var ds = new ImageDataset(tmp.Path);
        using var real = new Prefetcher<UnpairedBatch>(new UnpairedSampler(ds, ds, 0.5, new SamplerOptions { CropSize = 8 }), workers: 2);
        var err = Assert.Throws<ImageFormatException>(() => real.Next());
        Assert.Equal(tmp.File("a.png"), err.Path);
    }

    /// <summary>Runs the action on its own thread; false if it has not returned within the limit.</summary>
    private static bool Returns(Action a, TimeSpan limit)
    {
        var t = new Thread(() => a()) { IsBackground = true };
        t.Start();
        return t.Join(limit);
    }

    [Fact]
    public void Prefetch_Dispose_StopsWorkersPromptly()
    {
        var s = SampleSampler(1, cache: true, batch: 2, crop: 16);
        var sw = Stopwatch.StartNew();
        var p = new Prefetcher<UnpairedBatch>(new Failing(s, failAt: -1, sleepMs: 50), depth: 3, workers: 2);
        Assert.Equal(0, p.Next().Index);
        Assert.True(Returns(p.Dispose, TimeSpan.FromSeconds(10)), "Dispose did not return");
        Assert.Throws<ObjectDisposedException>(() => p.Next());
        p.Dispose(); // twice is fine
        // disposing while the queue is full and the consumer never read
        var idle = new Prefetcher<UnpairedBatch>(s, depth: 2, workers: 2);
        Thread.Sleep(100);
        Assert.True(Returns(idle.Dispose, TimeSpan.FromSeconds(10)), "Dispose of a full queue did not return");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void BadOptions_AreTypedErrors()
    {
        var ds = new ImageDataset(SampleData.Path);
        Assert.Contains("batch size", Assert.Throws<InvalidArgumentException>(() => new UnpairedSampler(ds, ds, 0.5, new SamplerOptions { BatchSize = 0 })).Message);
        Assert.Contains("pDegraded", Assert.Throws<InvalidArgumentException>(() => new UnpairedSampler(ds, ds, 1.5)).Message);
        Assert.Contains("depth", Assert.Throws<InvalidArgumentException>(() => new Prefetcher<UnpairedBatch>(new UnpairedSampler(ds, ds, 0.5), depth: 0)).Message);
    }
}
