// SemiPairedSampler: SeNM-VAE's training batches from a few pairs plus unpaired clean (source)
// and degraded (target) images.
//
// How SeNM-VAE samples (fact sheet, ludvae-senmvae.md 2.11): its dataset lists the pairs
// (label -1), then each clean-only image (label 0) and each degraded-only image (label 1); a
// WeightedRandomSampler with replacement gives image i of domain d the weight N_total freq_d / N_d,
// so EACH SLOT of a batch independently draws its kind with probability freq_d / sum(freq)
// (1/3 each by default) and then an image uniformly within that kind. Batches are therefore mixed;
// the model masks its loss terms by label. A clean-only image is placed in both the clean and the
// degraded slot (and a degraded-only one likewise); the crop window and the augmentation mode are
// shared by both slots. That is the default here (SemiPairedMode.PerSlot). SemiPairedMode.PerBatch
// draws one kind per batch instead (one per-batch word, then the same per-slot draws), for models
// that want single-kind batches; it is not what SeNM-VAE does.
// Kinds whose dataset is absent get probability 0; the rest are normalized.
namespace Engine.Imaging.Data;

public enum SemiPairedMode { PerSlot, PerBatch }

public sealed class SemiPairedSampler : CropSampler, IBatchSampler<SemiPairedBatch>
{
    private readonly int[] _paired = [], _source = [], _target = [];
    private readonly double[] _p = new double[3]; // paired, source, target

    public PairedDataset? Paired { get; }
    public ImageDataset? Source { get; }
    public ImageDataset? Target { get; }
    public SemiPairedMode Mode { get; }
    /// <summary>Normalized probabilities of the kinds (paired, source, target).</summary>
    public (double Paired, double Source, double Target) Probabilities => (_p[0], _p[1], _p[2]);

    /// <param name="probabilities">relative frequencies of (paired, source, target); null for 1/3
    /// each; normalized over the datasets given.</param>
    public SemiPairedSampler(PairedDataset? paired, ImageDataset? source, ImageDataset? target, SamplerOptions? options = null,
        (double Paired, double Source, double Target)? probabilities = null, SemiPairedMode mode = SemiPairedMode.PerSlot)
        : base("SemiPairedSampler", options)
    {
        const string op = "SemiPairedSampler";
        Paired = paired; Source = source; Target = target; Mode = mode;
        var (fp, fs, ft) = probabilities ?? (1.0, 1.0, 1.0);
        foreach (var f in new[] { fp, fs, ft })
            if (!(f >= 0) || double.IsInfinity(f)) throw new InvalidArgumentException(op, $"probabilities must be finite and >= 0, got ({fp}, {fs}, {ft})");
        _p[0] = paired is null ? 0 : fp;
        _p[1] = source is null ? 0 : fs;
        _p[2] = target is null ? 0 : ft;
        double sum = _p[0] + _p[1] + _p[2];
        if (!(sum > 0))
            throw new InvalidArgumentException(op, $"no kind can be drawn: datasets given (paired {paired is not null}, source {source is not null}, target {target is not null}), probabilities ({fp}, {fs}, {ft})");
        for (int i = 0; i < 3; i++) _p[i] /= sum;
        if (paired is not null && paired.Scale != 1)
            throw new InvalidArgumentException(op, $"pairs must have equal sizes (scale 1), got scale {paired.Scale}: unpaired slots hold one image in both arrays");
        if (_p[0] > 0)
            _paired = Eligible(op, "paired", paired!.Count, i => { int d = paired.IndexOf(i).Degraded; var (w, h) = paired.Degraded.SizeOf(d); return (paired.Degraded.PathOf(d), w, h); }, CropSize);
        if (_p[1] > 0) _source = Eligible(op, $"source ('{source!.Root}')", source.Count, Sizes(source), CropSize);
        if (_p[2] > 0) _target = Eligible(op, $"target ('{target!.Root}')", target.Count, Sizes(target), CropSize);
    }

    public SemiPairedBatch Sample(long k)
    {
        var b = new SemiPairedBatch(k, BatchSize, CropSize);
        var images = new BatchImages();
        SlotKind? batchKind = null;
        if (Mode == SemiPairedMode.PerBatch)
        {
            var rb = new SlotRandom(Options.Seed, k, SlotRandom.BatchSlot);
            batchKind = KindOf(rb.Choose(_p));
        }
        for (int n = 0; n < BatchSize; n++)
        {
            var r = new SlotRandom(Options.Seed, k, n);
            var kind = KindOf(r.Choose(_p)); // word 0, drawn in both modes
            kind = batchKind ?? kind;
            b.Kinds[n] = kind;
            switch (kind)
            {
                case SlotKind.Paired: DrawPair(ref r, images, Paired!, _paired, b, n, b.Clean, b.Degraded); break;
                case SlotKind.Source: DrawSingle(ref r, images, Source!, _source, b, n, b.Clean, copy: b.Degraded); break;
                default: DrawSingle(ref r, images, Target!, _target, b, n, b.Degraded, copy: b.Clean); break;
            }
        }
        return b;
    }

    private static SlotKind KindOf(int i) => i switch { 0 => SlotKind.Paired, 1 => SlotKind.Source, _ => SlotKind.Target };
}
