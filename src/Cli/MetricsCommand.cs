// `engine metrics`: full-reference PSNR / SSIM of a folder of test images against a folder of
// reference images, and `engine metrics noise`: how close synthetic noise is to real noise
// (the histogram KLs and per-brightness std ratio of Engine.Imaging.NoiseStats).
// Images are paired by relative path without extension ("sub/0001.png" pairs with "sub/0001.bmp");
// a name present in only one folder, or two files with one name in a folder, stops the command with the
// lists, and a size mismatch names both files and their sizes (exit 2). Values follow Engine.Imaging.Metrics
// (8-bit grid, RGB or BT.601 Y, border crop); dataset scores are the mean of per-image values.
// PSNR of identical images is +infinity: the table prints "inf", the JSON writes null (JSON has no
// infinity) and counts such images in "infinite_psnr"; the mean PSNR is then infinite (null) as well.
using System.CommandLine;
using System.Text.Json;
using Engine.Imaging;
using Spectre.Console;

namespace Engine.Cli;

internal static class MetricsCommand
{
    private const int MaxListed = 12;

    public static Command Build(IAnsiConsole con)
    {
        var reference = Opt.String("reference", "DIR", "the reference (clean) images", required: true);
        var test = Opt.String("test", "DIR", "the images to score, paired with the references by relative path without extension", required: true);
        var y = Opt.Flag("y-channel", "score the BT.601 Y channel (default: RGB)");
        var roundY = Opt.Flag("round-y", "round Y to integers (with --y-channel)");
        var crop = Opt.Int("crop", 0, "pixels cropped from each side before scoring", min: 0);
        var json = Opt.String("json", "FILE", "write per-image and mean values here (infinite PSNR written as null)");
        var cmd = new Command("metrics", "PSNR and SSIM of each test image against the reference image of the same name, and their mean")
        {
            reference, test, y, roundY, crop, json,
        };
        Opt.AddCheck(cmd, r =>
        {
            if (r.GetValue(roundY) && !r.GetValue(y)) r.AddError("metrics: --round-y only applies with --y-channel");
        });
        cmd.SetAction(pr => RunFull(con, pr.GetValue(reference)!, pr.GetValue(test)!, pr.GetValue(y), pr.GetValue(roundY), pr.GetValue(crop), pr.GetValue(json)));
        cmd.Subcommands.Add(BuildNoise(con));
        return cmd;
    }

    private static Command BuildNoise(IAnsiConsole con)
    {
        var clean = Opt.String("clean", "DIR", "the clean images", required: true);
        var real = Opt.String("real", "DIR", "the real noisy images (same names as --clean)", required: true);
        var synth = Opt.String("synthetic", "DIR", "the synthetic noisy images (same names as --clean)", required: true);
        var bands = Opt.Int("bands", 8, "brightness bands of the clean intensity for the std ratio", min: 1);
        var json = Opt.String("json", "FILE", "write per-image, mean and pooled values here");
        var cmd = new Command("noise", "synthetic vs real noise per image and pooled: residual histogram KLs (NeCA, Noise Flow add-one, NAFlow), "
            + "SeNM-VAE gray-intensity KL, std ratio per brightness band")
        {
            clean, real, synth, bands, json,
        };
        cmd.SetAction(pr => RunNoise(con, pr.GetValue(clean)!, pr.GetValue(real)!, pr.GetValue(synth)!, pr.GetValue(bands), pr.GetValue(json)));
        return cmd;
    }

    // ------------------------------------------------------------------ PSNR / SSIM

    private static int RunFull(IAnsiConsole con, string reference, string test, bool y, bool roundY, int crop, string? json)
    {
        var options = new MetricOptions(y ? MetricChannel.Y : MetricChannel.Rgb, crop, roundY);

        var pairs = Match("metrics", ("reference", reference), ("test", test));
        con.MarkupLine(Markup.Escape($"metrics: {pairs.Count} image pairs, {options}"));
        var rows = new List<(string Name, double Psnr, double Ssim)>();
        ForEach(con, pairs, "PSNR / SSIM", p =>
        {
            var r = Load(p.Paths[0]);
            var t = Load(p.Paths[1]);
            CheckSizes(p.Name, [("reference", p.Paths[0], r), ("test", p.Paths[1], t)]);
            rows.Add((p.Name, Metrics.Psnr(r, t, options), Metrics.Ssim(r, t, options)));
        });
        double meanPsnr = rows.Average(r => r.Psnr), meanSsim = rows.Average(r => r.Ssim);
        int infinite = rows.Count(r => double.IsPositiveInfinity(r.Psnr));

        var table = new Table().AddColumn("image").AddColumn(new TableColumn("PSNR (dB)").RightAligned()).AddColumn(new TableColumn("SSIM").RightAligned());
        foreach (var r in rows) table.AddRow(Markup.Escape(r.Name), Db(r.Psnr), r.Ssim.ToString("F4"));
        table.AddRow($"[bold]mean of {rows.Count}[/]", $"[bold]{Db(meanPsnr)}[/]", $"[bold]{meanSsim:F4}[/]");
        con.Write(table);
        if (infinite > 0) con.MarkupLine($"{infinite} pair(s) are identical (PSNR = inf)");

        if (json is not null)
        {
            WriteJson(json, w =>
            {
                w.WriteStartObject("options");
                w.WriteString("reference", reference);
                w.WriteString("test", test);
                w.WriteString("channel", y ? "y" : "rgb");
                w.WriteNumber("crop_border", crop);
                w.WriteBoolean("round_y", roundY);
                w.WriteEndObject();
                w.WriteNumber("count", rows.Count);
                w.WriteNumber("infinite_psnr", infinite);
                w.WriteStartArray("images");
                foreach (var r in rows)
                {
                    w.WriteStartObject();
                    w.WriteString("name", r.Name);
                    Num(w, "psnr", r.Psnr);
                    Num(w, "ssim", r.Ssim);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartObject("mean");
                Num(w, "psnr", meanPsnr);
                Num(w, "ssim", meanSsim);
                w.WriteEndObject();
            });
            con.MarkupLine($"results written to {Markup.Escape(json)}");
        }
        return 0;
    }

    // ------------------------------------------------------------------ noise statistics

    private static readonly NoiseKldVariant[] ResidualVariants = [NoiseKldVariant.NeCa, NoiseKldVariant.NoiseFlowAddOne, NoiseKldVariant.NaFlow];
    private static readonly string[] ResidualKeys = ["neca", "noiseflow_addone", "naflow"];

    private sealed record NoiseRow(string Name, double[] Kl, double SenM, BandStat[] Real, BandStat[] Synth);

    private static int RunNoise(IAnsiConsole con, string clean, string real, string synth, int bands, string? json)
    {

        var triples = Match("metrics noise", ("clean", clean), ("real", real), ("synthetic", synth));
        con.MarkupLine(Markup.Escape($"metrics noise: {triples.Count} images, residuals noisy/255 - clean/255, {bands} bands of clean intensity"));
        var rows = new List<NoiseRow>();
        var edges = ResidualVariants.Select(NoiseStats.Edges).ToArray();
        var pooledReal = edges.Select(e => new long[e.Length - 1]).ToArray();
        var pooledSynth = edges.Select(e => new long[e.Length - 1]).ToArray();
        long pooledCount = 0;
        BandStat[]? poolReal = null, poolSynth = null;
        ForEach(con, triples, "noise statistics", p =>
        {
            var c = Load(p.Paths[0]);
            var r = Load(p.Paths[1]);
            var s = Load(p.Paths[2]);
            CheckSizes(p.Name, [("clean", p.Paths[0], c), ("real", p.Paths[1], r), ("synthetic", p.Paths[2], s)]);
            var rRes = NoiseStats.Residuals(r, c);
            var sRes = NoiseStats.Residuals(s, c);
            var kl = new double[ResidualVariants.Length];
            for (int v = 0; v < kl.Length; v++)
            {
                // NeCA and the add-one variant share their edges; binning twice keeps the loop simple
                var hr = NoiseStats.Histogram(rRes, edges[v]);
                var hs = NoiseStats.Histogram(sRes, edges[v]);
                kl[v] = NoiseStats.HistogramKl(hr, rRes.Length, hs, sRes.Length, ResidualVariants[v]);
                for (int k = 0; k < hr.Length; k++) { pooledReal[v][k] += hr[k]; pooledSynth[v][k] += hs[k]; }
            }
            pooledCount += rRes.Length;
            var c01 = new double[c.Data.Length];
            for (int i = 0; i < c01.Length; i++) c01[i] = c.Data[i] / 255.0;
            var br = NoiseStats.StdPerBand(c01, rRes, bands);
            var bs = NoiseStats.StdPerBand(c01, sRes, bands);
            poolReal = poolReal is null ? br : NoiseStats.MergeBands(poolReal, br);
            poolSynth = poolSynth is null ? bs : NoiseStats.MergeBands(poolSynth, bs);
            rows.Add(new NoiseRow(p.Name, kl, NoiseStats.IntensityKlSeNm(s, r), br, bs));
        });
        var meanKl = Enumerable.Range(0, ResidualVariants.Length).Select(v => rows.Average(r => r.Kl[v])).ToArray();
        double meanSenM = rows.Average(r => r.SenM);
        var pooledKl = Enumerable.Range(0, ResidualVariants.Length)
            .Select(v => NoiseStats.HistogramKl(pooledReal[v], pooledCount, pooledSynth[v], pooledCount, ResidualVariants[v])).ToArray();
        var pooledRatio = NoiseStats.StdRatio(poolReal!, poolSynth!);

        var table = new Table().AddColumn("image");
        foreach (var h in new[] { "KL NeCA", "KL add-one", "KL NAFlow", "KL SeNM gray" }) table.AddColumn(new TableColumn(h).RightAligned());
        table.AddColumn($"std synthetic/real, {bands} bands dark to bright");
        foreach (var r in rows)
            table.AddRow([Markup.Escape(r.Name), .. r.Kl.Select(F4), F4(r.SenM), Ratios(NoiseStats.StdRatio(r.Real, r.Synth))]);
        table.AddRow([$"[bold]mean of {rows.Count}[/]", .. meanKl.Select(F4), F4(meanSenM), ""]);
        table.AddRow(["[bold]pooled[/]", .. pooledKl.Select(F4), "", Ratios(pooledRatio)]);
        con.Write(table);
        con.WriteLine("KL: forward KL(real || synthetic) of residual histograms (NeCA: 66 bins, both-nonzero bins; add-one: Noise Flow smoothing; NAFlow: 256 bins on [-1,1]); "
            + "SeNM gray: KL(synthetic || real) of grayscale intensity histograms. mean = mean of per-image values (the papers' dataset figure); pooled = one histogram over all images.");

        if (json is not null)
        {
            WriteJson(json, w =>
            {
                w.WriteStartObject("options");
                w.WriteString("clean", clean);
                w.WriteString("real", real);
                w.WriteString("synthetic", synth);
                w.WriteNumber("bands", bands);
                w.WriteEndObject();
                w.WriteNumber("count", rows.Count);
                w.WriteStartArray("images");
                foreach (var r in rows)
                {
                    w.WriteStartObject();
                    w.WriteString("name", r.Name);
                    WriteKl(w, r.Kl, r.SenM);
                    Bands(w, r.Real, r.Synth);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartObject("mean");
                WriteKl(w, meanKl, meanSenM);
                w.WriteEndObject();
                w.WriteStartObject("pooled");
                WriteKl(w, pooledKl, null);
                Bands(w, poolReal!, poolSynth!);
                w.WriteEndObject();
            });
            con.MarkupLine($"results written to {Markup.Escape(json)}");
        }
        return 0;
    }

    private static void WriteKl(Utf8JsonWriter w, double[] kl, double? senm)
    {
        w.WriteStartObject("kl");
        for (int v = 0; v < kl.Length; v++) Num(w, ResidualKeys[v], kl[v]);
        if (senm is double s) Num(w, "senm_intensity", s);
        w.WriteEndObject();
    }

    private static void Bands(Utf8JsonWriter w, BandStat[] real, BandStat[] synth)
    {
        var ratio = NoiseStats.StdRatio(real, synth);
        w.WriteStartArray("bands");
        for (int b = 0; b < real.Length; b++)
        {
            w.WriteStartObject();
            w.WriteNumber("lo", real[b].Lo);
            w.WriteNumber("hi", real[b].Hi);
            w.WriteNumber("count", real[b].Count);
            Num(w, "real_std", real[b].Std);
            Num(w, "synthetic_std", synth[b].Std);
            Num(w, "std_ratio", ratio[b]);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    // ------------------------------------------------------------------ shared

    /// <summary>Pairs files across folders by relative path without extension, in ordinal order.</summary>
    internal static List<(string Name, string[] Paths)> Match(string command, params (string Option, string Dir)[] folders)
    {
        var maps = new List<Dictionary<string, string>>();
        foreach (var (opt, dir) in folders)
        {
            if (!Directory.Exists(dir)) throw new ArgumentException($"{command}: --{opt} folder '{dir}' not found");
            string root = Path.GetFullPath(dir);
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            var dup = new List<string>();
            foreach (var f in ImageFolder.List(dir))
            {
                string rel = Path.GetRelativePath(root, f).Replace('\\', '/');
                string stem = Path.ChangeExtension(rel, null);
                if (!map.TryAdd(stem, f)) dup.Add($"{Path.GetFileName(map[stem])} and {Path.GetFileName(f)}");
            }
            if (dup.Count > 0) throw new ArgumentException($"{command}: --{opt} '{dir}' holds several files with one name: {List(dup)}");
            if (map.Count == 0) throw new ArgumentException($"{command}: --{opt} folder '{dir}' holds no images (.png, .jpg, .jpeg, .bmp)");
            maps.Add(map);
        }
        var all = maps.SelectMany(m => m.Keys).Distinct().ToList();
        var problems = new List<string>();
        for (int i = 0; i < folders.Length; i++)
        {
            var missing = all.Where(k => !maps[i].ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
            if (missing.Count == 0) continue;
            var has = Enumerable.Range(0, folders.Length).Where(j => j != i).Select(j => "--" + folders[j].Option);
            problems.Add($"missing from --{folders[i].Option} '{folders[i].Dir}' ({missing.Count}, present in {string.Join("/", has)}): {List(missing)}");
        }
        if (problems.Count > 0)
            throw new ArgumentException($"{command}: the folders do not hold the same image names (matched by relative path without extension); "
                + string.Join("; ", problems));
        all.Sort(StringComparer.Ordinal);
        return all.Select(k => (k, maps.Select(m => m[k]).ToArray())).ToList();
    }

    private static string List(List<string> names) =>
        string.Join(", ", names.Take(MaxListed)) + (names.Count > MaxListed ? $", ... and {names.Count - MaxListed} more" : "");

    private static Image8 Load(string path)
    {
        return Image8.FromImage(ImageIO.Read(path));
    }

    private static void CheckSizes(string name, (string Option, string Path, Image8 Image)[] files)
    {
        var first = files[0];
        foreach (var f in files.Skip(1))
            if (f.Image.Width != first.Image.Width || f.Image.Height != first.Image.Height)
                throw new ArgumentException($"size mismatch for '{name}': --{first.Option} {first.Path} is {first.Image.Width}x{first.Image.Height}, "
                    + $"--{f.Option} {f.Path} is {f.Image.Width}x{f.Image.Height} (width x height)");
    }

    /// <summary>Runs <paramref name="body"/> per item, with a progress bar on an interactive terminal.</summary>
    private static void ForEach(IAnsiConsole con, List<(string Name, string[] Paths)> items, string what, Action<(string Name, string[] Paths)> body)
    {
        if (!con.Profile.Capabilities.Interactive || items.Count < 2)
        {
            foreach (var p in items) body(p);
            return;
        }
        con.Progress().AutoClear(true).Start(ctx =>
        {
            var task = ctx.AddTask(what, maxValue: items.Count);
            foreach (var p in items) { body(p); task.Increment(1); }
        });
    }

    private static void WriteJson(string path, Action<Utf8JsonWriter> body)
    {
        try
        {
            using var stream = File.Create(path);
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--json '{path}': cannot write the file ({e.Message})");
        }
    }

    /// <summary>JSON has no infinity or NaN: those are written as null.</summary>
    private static void Num(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    private static string Db(double v) => double.IsPositiveInfinity(v) ? "inf" : v.ToString("F4");
    private static string F4(double v) => double.IsNaN(v) ? "-" : v.ToString("F4");
    private static string Ratios(double[] r) => string.Join(" ", r.Select(x => double.IsNaN(x) ? "-" : x.ToString("F2")));
}
