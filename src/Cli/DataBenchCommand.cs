// `engine bench data`: crops per second of the training data path (decode, random crop, dihedral
// augmentation, batch tensor) for an uncached and a cached dataset, each read synchronously and
// through the prefetcher, in one run on the same sampler and seed (the batches are identical;
// only where and when they are computed differs). Folder: data/samples, or --photos DIR.
using System.Diagnostics;
using System.Text.Json;
using Engine.Imaging;
using Engine.Imaging.Data;
using Spectre.Console;

namespace Engine.Cli;

internal static class DataBenchCommand
{
    public const string Usage = "--photos DIR (data/samples)  --crop N (128)  --batch N (16)  --batches N (100)  --workers N (min(4, cores))  --depth N (4)  --cache (cached rows only)  --seed N (0)  --step-ms N (0: a training step the consumer spends per batch, as a sleep)  --json FILE";

    public static int Run(Args a)
    {
        string dir = a.String("photos") ?? SampleData.Path;
        int crop = a.Int("crop", 128, 1), batch = a.Int("batch", 16, 1), batches = a.Int("batches", 100, 1);
        int workers = a.Int("workers", Math.Min(4, Environment.ProcessorCount), 1), depth = a.Int("depth", Prefetcher<UnpairedBatch>.DefaultDepth, 1);
        bool cachedOnly = a.Flag("cache");
        ulong seed = (ulong)a.Int("seed", 0, 0);
        int stepMs = a.Int("step-ms", 0, 0);
        string? json = a.String("json");
        a.RejectUnknown("bench data");

        var options = new SamplerOptions { BatchSize = batch, CropSize = crop, Seed = seed, SmallImages = SmallImagePolicy.Skip };
        AnsiConsole.MarkupLine($"[bold]bench data[/]: {Markup.Escape(dir)}, {Markup.Escape(options.ToString())}, {batches} batches, prefetch {workers} worker(s) depth {depth}, consumer step {stepMs} ms, {Environment.ProcessorCount} cores");
        var rows = new List<(string Case, double CropsPerSecond, double Seconds, double WaitSeconds)>();
        foreach (bool cache in cachedOnly ? new[] { true } : [false, true])
        {
            var sw = Stopwatch.StartNew();
            var ds = new ImageDataset(dir, new ImageDatasetOptions { Cache = cache, SkipUnreadable = true, Warn = s => AnsiConsole.MarkupLine($"[yellow]skipped[/] {Markup.Escape(s.Path)}: {Markup.Escape(s.Reason)}") });
            double open = sw.Elapsed.TotalSeconds;
            long pixels = 0;
            for (int i = 0; i < ds.Count; i++) { var (w, h) = ds.SizeOf(i); pixels += (long)w * h; }
            AnsiConsole.MarkupLine($"[grey]{ds.Count} images, {pixels / 1e6:F1} Mpixel, opened in {open:F2} s{(cache ? " (decoded into the cache)" : " (headers only)")}[/]");
            var sampler = new UnpairedSampler(ds, ds, 0.5, options);
            if (sampler.Skipped.Count > 0) AnsiConsole.MarkupLine($"[yellow]{sampler.Skipped.Count / 2} image(s) smaller than the crop left out[/]");
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
            Console.WriteLine(JsonSerializer.Serialize(new { bench = "data", @case = r.Case, crops_per_s = Math.Round(r.CropsPerSecond, 1), seconds = Math.Round(r.Seconds, 3), wait_s = Math.Round(r.WaitSeconds, 3), crop, batch, batches, workers, step_ms = stepMs }));
        }
        AnsiConsole.Write(table);
        if (json is not null)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(rows.Select(r => new { @case = r.Case, crops_per_s = r.CropsPerSecond, seconds = r.Seconds, wait_s = r.WaitSeconds, folder = dir, crop, batch, batches, workers, depth }), new JsonSerializerOptions { WriteIndented = true }));
            AnsiConsole.MarkupLine($"results written to {Markup.Escape(json)}");
        }
        return 0;
    }
}
