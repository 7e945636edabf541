// Synthetic degradation pipelines with known ground truth (BENCHMARK.md: camera, correlated,
// compression, plus plain gaussian for the white-noise baseline). A pipeline is a name, a table of
// named numeric parameters with documented defaults (every one printed and saved with a run), and
// an optional bicubic downscale by 2 or 4 applied to the clean image first (the super-resolution
// variant: the degraded image is then the low-resolution input and the mod-cropped clean image
// its target). Everything drawn for an image comes from DegradationRng seeded by (seed, image key)
// and is reported back, so a folder can be re-synthesized or audited exactly.
namespace Engine.Imaging.Degradation;

/// <summary>A degraded image and the values drawn for it (noise levels, JPEG quality, ...).</summary>
public sealed record DegradationResult(Image Image, IReadOnlyDictionary<string, double> Drawn);

public abstract class Degradation
{
    private readonly SortedDictionary<string, double> _params = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _help = new(StringComparer.Ordinal);
    private int _scale = 1;

    public abstract string Name { get; }
    public abstract string Description { get; }

    /// <summary>1 (no resampling), 2 or 4: MATLAB-bicubic downscale of the clean image before degrading.</summary>
    public int Scale
    {
        get => _scale;
        set
        {
            if (value is not (1 or 2 or 4))
                throw new InvalidArgumentException($"degradation '{Name}'", $"scale must be 1, 2 or 4, got {value}");
            _scale = value;
        }
    }

    /// <summary>The parameters and their current values, in name order.</summary>
    public IReadOnlyDictionary<string, double> Parameters => _params;

    /// <summary>What a parameter means (for --help and docs).</summary>
    public string Help(string name) => _help.TryGetValue(name, out var h) ? h : "";

    protected void Define(string name, double value, string help) { _params[name] = value; _help[name] = help; }

    protected double P(string name) => _params[name];

    /// <summary>Sets a parameter by name; unknown names and values that break the pipeline's
    /// constraints are typed errors naming the pipeline and the valid choices.</summary>
    public void Set(string name, double value)
    {
        if (!_params.ContainsKey(name))
            throw new InvalidArgumentException($"degradation '{Name}'", $"unknown parameter '{name}'; valid: {string.Join(", ", _params.Keys)}");
        if (!double.IsFinite(value))
            throw new InvalidArgumentException($"degradation '{Name}'", $"parameter '{name}' must be finite, got {value}");
        double old = _params[name];
        _params[name] = value;
        try { Validate(); }
        catch { _params[name] = old; throw; }
    }

    /// <summary>Sets several parameters and checks the constraints once, after all of them (so a
    /// range can move past its old other end); on an error nothing changes.</summary>
    public void SetMany(IEnumerable<KeyValuePair<string, double>> values)
    {
        var old = new Dictionary<string, double>(_params);
        try
        {
            foreach (var (name, value) in values)
            {
                if (!_params.ContainsKey(name))
                    throw new InvalidArgumentException($"degradation '{Name}'", $"unknown parameter '{name}'; valid: {string.Join(", ", _params.Keys)}");
                if (!double.IsFinite(value))
                    throw new InvalidArgumentException($"degradation '{Name}'", $"parameter '{name}' must be finite, got {value}");
                _params[name] = value;
            }
            Validate();
        }
        catch
        {
            foreach (var (k, v) in old) _params[k] = v;
            throw;
        }
    }

    /// <summary>Throws InvalidArgumentException when the parameters are inconsistent.</summary>
    protected abstract void Validate();

    protected void Require(bool ok, string what)
    {
        if (!ok) throw new InvalidArgumentException($"degradation '{Name}'", what);
    }

    /// <summary>Degrades an image already at the output resolution, recording what it drew.</summary>
    protected abstract Image Degrade(Image x, DegradationRng rng, IDictionary<string, double> drawn);

    /// <summary>The clean image that the degraded output pairs with: cropped to a multiple of Scale.</summary>
    public Image Target(Image clean) => Scale == 1 ? clean : Resize.ModCrop(clean, Scale);

    /// <summary>Degrades one clean image. key identifies the image (its path relative to the input
    /// folder); the result depends only on (the parameters, seed, key, the image).</summary>
    public DegradationResult Apply(Image clean, ulong seed, string key)
    {
        var rng = new DegradationRng(DegradationRng.ImageSeed(seed, key));
        var drawn = new SortedDictionary<string, double>(StringComparer.Ordinal);
        var x = clean;
        if (Scale > 1)
        {
            var target = Target(clean);
            if (target.Width < Scale || target.Height < Scale)
                throw new InvalidArgumentException($"degradation '{Name}'", $"image '{key}' is {clean.Width}x{clean.Height}, too small for a x{Scale} downscale");
            x = Resize.Bicubic(target, target.Height / Scale, target.Width / Scale);
        }
        return new DegradationResult(Degrade(x, rng, drawn), drawn);
    }

    public override string ToString() =>
        $"{Name} (x{Scale}): " + string.Join(", ", _params.Select(kv => $"{kv.Key}={kv.Value.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)}"));

    // ---- shared steps ----

    /// <summary>Clamps every value to [0, 1] in place.</summary>
    protected static void Clip(float[] d)
    {
        for (int i = 0; i < d.Length; i++) d[i] = d[i] < 0f ? 0f : d[i] > 1f ? 1f : d[i];
    }

    /// <summary>Encodes at the quality with the engine's JPEG writer and decodes again.</summary>
    protected static Image Jpeg(Image x, int quality)
    {
        var bytes = ImageIO.Encode("degradation.jpg", x, ImageFileFormat.Jpeg, quality);
        return ImageIO.Decode("degradation.jpg", bytes);
    }

    /// <summary>Draws a JPEG quality uniformly from [jpeg_min, jpeg_max] (0 and 0 disable the step).</summary>
    protected Image MaybeJpeg(Image x, DegradationRng rng, IDictionary<string, double> drawn)
    {
        int lo = (int)P("jpeg_min"), hi = (int)P("jpeg_max");
        if (hi == 0) return x;
        int q = rng.Int(lo, hi);
        drawn["jpeg_quality"] = q;
        return Jpeg(x, q);
    }

    protected void ValidateJpegRange()
    {
        double lo = P("jpeg_min"), hi = P("jpeg_max");
        Require(lo == Math.Floor(lo) && hi == Math.Floor(hi), $"jpeg_min and jpeg_max must be integers, got {lo} and {hi}");
        Require((lo == 0 && hi == 0) || (lo >= 1 && hi <= 100 && lo <= hi), $"JPEG quality range must satisfy 1 <= jpeg_min <= jpeg_max <= 100 (or both 0 to disable), got [{lo}, {hi}]");
    }
}

/// <summary>The registry of pipelines by name.</summary>
public static class Degradations
{
    public static readonly IReadOnlyList<string> Names = ["camera", "correlated", "compression", "gaussian"];

    /// <summary>A pipeline with its documented defaults, then the overrides applied in order.</summary>
    public static Degradation Create(string name, int scale = 1, IEnumerable<KeyValuePair<string, double>>? overrides = null)
    {
        Degradation d = name switch
        {
            "camera" => new CameraDegradation(),
            "correlated" => new CorrelatedDegradation(),
            "compression" => new CompressionDegradation(),
            "gaussian" => new GaussianDegradation(),
            _ => throw new InvalidArgumentException("Degradations.Create", $"unknown degradation '{name}'; valid: {string.Join(", ", Names)}"),
        };
        d.Scale = scale;
        if (overrides != null) d.SetMany(overrides);
        return d;
    }
}
