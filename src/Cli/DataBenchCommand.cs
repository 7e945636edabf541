// `engine bench data`: crops per second of the training data path (decode, random crop, dihedral
// augmentation, batch tensor) for an uncached and a cached dataset, each read synchronously and
// through the prefetcher, in one run on the same sampler and seed (the batches are identical;
// only where and when they are computed differs). Folder: data/samples, or --photos DIR.
using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Engine.Imaging;
using Engine.Imaging.Data;
using Spectre.Console;

namespace Engine.Cli;

internal static class DataBenchCommand
{
    public static Command Build(IAnsiConsole con)
    {
        var photos = Opt.String("photos", "DIR", "the image folder (default: the bundled data/samples)");
        var crop = Opt.Int("crop", 128, "crop side in pixels", min: 1);
        var batch = Opt.Int("batch", 16, "crops per batch", min: 1);
        var batches = Opt.Int("batches", 100, "batches per case", min: 1);
        var workers = Opt.Int("workers", Math.Min(4, Environment.ProcessorCount), "prefetch worker threads (default: min(4, cores))", min: 1);
        var depth = Opt.Int("depth", Prefetcher<UnpairedBatch>.DefaultDepth, "prefetch queue depth", min: 1);
        var cache = Opt.Flag("cache", "cached rows only");
        var seed = CommonOptions.Seed(0);
        var stepMs = Opt.Int("step-ms", 0, "a training step the consumer spends per batch, as a sleep (ms)", min: 0);
        var json = Opt.String("json", "FILE", "write the results here as JSON");
        var cmd = new Command("data", "training crops/s (decode, random crop, flips/rotations, batch tensor) with and without the dataset cache and the prefetcher")
        {
            photos, crop, batch, batches, workers, depth, cache, seed, stepMs, json,
        };
        cmd.SetAction(pr => Run(con, pr.GetValue(photos) ?? SampleData.Path, pr.GetValue(crop), pr.GetValue(batch), pr.GetValue(batches), pr.GetValue(workers),
            pr.GetValue(depth), pr.GetValue(cache), pr.GetValue(seed), pr.GetValue(stepMs), pr.GetValue(json)));
        return cmd;
    }

    public static int Run(IAnsiConsole con, string dir, int crop, int batch, int batches, int workers, int depth, bool cachedOnly, ulong seed, int stepMs, string? json)
    {

        var options = new SamplerOptions { BatchSize = batch, CropSize = crop, Seed = seed, SmallImages = SmallImagePolicy.Skip };
        con.MarkupLine($"[bold]bench data[/]: {Markup.Escape(dir)}, {Markup.Escape(options.ToString())}, {batches} batches, prefetch {workers} worker(s) depth {depth}, consumer step {stepMs} ms, {Environment.ProcessorCount} cores");
        var rows = new List<(string Case, double CropsPerSecond, double Seconds, double WaitSeconds)>();
        foreach (bool cache in cachedOnly ? new[] { true } : [false, true])
        {
            var sw = Stopwatch.StartNew();
            var ds = new ImageDataset(dir, new ImageDatasetOptions { Cache = cache, SkipUnreadable = true, Warn = s => con.MarkupLine($"[yellow]skipped[/] {Markup.Escape(s.Path)}: {Markup.Escape(s.Reason)}") });
            double open = sw.Elapsed.TotalSeconds;
            long pixels = 0;
            for (int i = 0; i < ds.Count; i++) { var (w, h) = ds.SizeOf(i); pixels += (long)w * h; }
            con.MarkupLine($"[grey]{ds.Count} images, {pixels / 1e6:F1} Mpixel, opened in {open:F2} s{(cache ? " (decoded into the cache)" : " (headers only)")}[/]");
            var sampler = new UnpairedSampler(ds, ds, 0.5, options);
            if (sampler.Skipped.Count > 0) con.MarkupLine($"[yellow]{sampler.Skipped.Count / 2} image(s) smaller than the crop left out[/]");
            sampler.Sample(batches + 1); // warm-up (JIT), a batch number the runs do not use
            string name = cache ? "cached" : "uncached";

            sw.Restart();
            for (long k = 0; k < batches; k++)
            {
                using var t = sampler.Sample(k).ImagesTensor();
                if (stepMs > 0) Thread.Sleep(stepMs);
            }
            double sync = sw.Elapsed.TotalSeconds;
            rows.Add(($"{name}, synchronous", (double)batches * batch / sync, sync, sync - batches * stepMs / 1000.0));

            using (var p = new Prefetcher<UnpairedBatch>(sampler, depth: depth, workers: workers))
            {
                for (long k = 0; k < batches; k++)
                {
                    using var t = p.Next().ImagesTensor();
                    if (stepMs > 0) Thread.Sleep(stepMs);
                }
                var st = p.Stats;
                rows.Add(($"{name}, prefetch x{workers}", st.CropsPerSecond, st.Seconds, st.WaitSeconds));
            }
        }

        var table = new Spectre.Console.Table().AddColumn("case").AddColumn("crops/s").AddColumn("seconds").AddColumn("consumer wait s").AddColumn("vs uncached sync");
        double baseRate = rows[0].CropsPerSecond;
        // "consumer wait": time the consumer spent waiting for batches (synchronous: producing them itself).
        foreach (var r in rows)
        {
            table.AddRow(Markup.Escape(r.Case), r.CropsPerSecond.ToString("F0"), r.Seconds.ToString("F2"), r.WaitSeconds.ToString("F2"), $"x{r.CropsPerSecond / baseRate:F2}");
            con.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(new { bench = "data", @case = r.Case, crops_per_s = Math.Round(r.CropsPerSecond, 1), seconds = Math.Round(r.Seconds, 3), wait_s = Math.Round(r.WaitSeconds, 3), crop, batch, batches, workers, step_ms = stepMs }));
        }
        con.Write(table);
        if (json is not null)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(rows.Select(r => new { @case = r.Case, crops_per_s = r.CropsPerSecond, seconds = r.Seconds, wait_s = r.WaitSeconds, folder = dir, crop, batch, batches, workers, depth }), new JsonSerializerOptions { WriteIndented = true }));
            con.MarkupLine($"results written to {Markup.Escape(json)}");
        }
        return 0;
    }
}
