// Applies a degradation pipeline to every image of a folder: the degraded images keep their
// relative paths (as lossless PNG, since any JPEG is part of the pipeline), the mod-cropped clean
// targets are written beside them when a scale is used and a target folder is given, and a
// synth.json records the pipeline, its parameters, the seed and what was drawn for each image, so a
// run can be audited or repeated. Images are processed in parallel; each image's result depends
// only on (pipeline, seed, relative path, pixels), never on the order or the thread.
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Engine.Imaging.Degradation;

public sealed record SynthOptions(bool SkipUnreadable = true, int Threads = 0, string? TargetDir = null);

public sealed record SynthImageRecord(string Key, int InWidth, int InHeight, int OutWidth, int OutHeight, IReadOnlyDictionary<string, double> Drawn);

public sealed record SynthReport(string InputDir, string OutputDir, IReadOnlyList<SynthImageRecord> Images, IReadOnlyList<SkippedImage> Skipped, double Seconds);

public static class SynthFolder
{
    public const string ManifestName = "synth.json";

    /// <summary>Degrades every image under inputDir into outputDir. progress(done, total) is
    /// called after each image (from worker threads). Unreadable inputs are skipped and reported
    /// when options.SkipUnreadable, otherwise the first one throws its typed error.</summary>
    public static SynthReport Run(string inputDir, string outputDir, Degradation degradation, ulong seed, SynthOptions? options = null, Action<int, int>? progress = null)
    {
        options ??= new SynthOptions();
        var files = ImageFolder.List(inputDir);
        if (files.Count == 0) throw new ImageIOException(inputDir, "no images (.png, .jpg, .jpeg, .bmp) in the folder");
        string inFull = Path.GetFullPath(inputDir), outFull = Path.GetFullPath(outputDir);
        if (string.Equals(inFull.TrimEnd('/'), outFull.TrimEnd('/'), StringComparison.Ordinal))
            throw new ImageIOException(outputDir, "the output folder is the input folder; choose another one so the clean images are not overwritten");
        Directory.CreateDirectory(outFull);
        if (options.TargetDir != null) Directory.CreateDirectory(options.TargetDir);

        var records = new SynthImageRecord?[files.Count];
        var skipped = new System.Collections.Concurrent.ConcurrentBag<SkippedImage>();
        int done = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var po = new ParallelOptions { MaxDegreeOfParallelism = options.Threads > 0 ? options.Threads : Environment.ProcessorCount };
        try
        {
        Parallel.For(0, files.Count, po, i =>
        {
            string key = Path.GetRelativePath(inFull, files[i]).Replace('\\', '/');
            Image clean;
            try { clean = ImageIO.Read(files[i]); }
            catch (EngineException e) when (options.SkipUnreadable && e is ImageFormatException or ImageIOException)
            {
                skipped.Add(new SkippedImage(files[i], e.Message));
                progress?.Invoke(Interlocked.Increment(ref done), files.Count);
                return;
            }
            var r = degradation.Apply(clean, seed, key);
            string rel = Path.ChangeExtension(key, ".png");
            WritePng(Path.Combine(outFull, rel), r.Image);
            if (options.TargetDir != null) WritePng(Path.Combine(options.TargetDir, rel), degradation.Target(clean));
            records[i] = new SynthImageRecord(key, clean.Width, clean.Height, r.Image.Width, r.Image.Height, r.Drawn);
            progress?.Invoke(Interlocked.Increment(ref done), files.Count);
        });
        }
        catch (AggregateException ae) when (ae.InnerExceptions.Count > 0)
        {
            // The first failure as itself (typed, naming the file), not wrapped by the thread pool.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ae.InnerExceptions[0]).Throw();
        }
        var report = new SynthReport(inputDir, outputDir, records.Where(r => r != null).Select(r => r!).ToList(),
            skipped.OrderBy(s => s.Path, StringComparer.Ordinal).ToList(), sw.Elapsed.TotalSeconds);
        File.WriteAllText(Path.Combine(outFull, ManifestName), Manifest(degradation, seed, report).ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        return report;
    }

    private static void WritePng(string path, Image img)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        ImageIO.WritePng(path, img);
    }

    /// <summary>The synth.json content: pipeline, scale, parameters, seed, per-image draws, skips.</summary>
    public static JsonObject Manifest(Degradation d, ulong seed, SynthReport report)
    {
        var pars = new JsonObject();
        foreach (var (k, v) in d.Parameters) pars[k] = v;
        var images = new JsonArray();
        foreach (var r in report.Images)
        {
            var drawn = new JsonObject();
            foreach (var (k, v) in r.Drawn) drawn[k] = v;
            images.Add(new JsonObject
            {
                ["file"] = r.Key,
                ["in_size"] = new JsonArray(r.InWidth, r.InHeight),
                ["out_size"] = new JsonArray(r.OutWidth, r.OutHeight),
                ["drawn"] = drawn,
            });
        }
        var skips = new JsonArray();
        foreach (var s in report.Skipped) skips.Add(new JsonObject { ["file"] = s.Path, ["reason"] = s.Reason });
        return new JsonObject
        {
            ["degradation"] = d.Name,
            ["description"] = d.Description,
            ["scale"] = d.Scale,
            ["seed"] = seed,
            ["parameters"] = pars,
            ["images"] = images,
            ["skipped"] = skips,
        };
    }
}
