// Batches of random crops as the samplers return them: managed float arrays in (N, 3, P, P)
// order, written in place by the crop (no intermediate image per slot), plus what each slot drew
// (image index, window, dihedral mode) so tests and logs can check it. Tensors are made on the
// calling thread (TensorScope is per thread), so prefetch workers never own engine tensors.
namespace Engine.Imaging.Data;

public abstract class CropBatch
{
    /// <summary>The batch number k; the batch is a pure function of (sampler seed, k).</summary>
    public long Index { get; }
    /// <summary>Slots in the batch (N).</summary>
    public int Count { get; }
    /// <summary>Crop windows drawn per slot (top row, left column) in the coordinates of the image the
    /// slot read (for pairs: the degraded image; the clean window is these times the scale).</summary>
    public int[] Top { get; }
    public int[] Left { get; }
    /// <summary>Dihedral mode per slot (KAIR numbering, see <see cref="Dihedral"/>); 0 without augmentation.</summary>
    public int[] Mode { get; }
    /// <summary>Index of the image (or pair) each slot read in its dataset.</summary>
    public int[] Source { get; }

    /// <summary>Crops held by the batch (slots x images per slot), for throughput figures.</summary>
    public abstract int Crops { get; }

    private protected CropBatch(long index, int count)
    {
        Index = index; Count = count;
        Top = new int[count]; Left = new int[count]; Mode = new int[count]; Source = new int[count];
    }

    private protected Tensor ToTensor(float[] data, int size, Device? device) => Tensor.FromArray(data, [Count, Image.Channels, size, size], device);
}

/// <summary>Aligned clean and degraded crops: clean (N, 3, P, P), degraded (N, 3, P/s, P/s).</summary>
public sealed class PairedBatch : CropBatch
{
    public int CleanSize { get; }
    public int DegradedSize { get; }
    public float[] Clean { get; }
    public float[] Degraded { get; }
    public override int Crops => 2 * Count;

    internal PairedBatch(long index, int count, int cleanSize, int degradedSize) : base(index, count)
    {
        CleanSize = cleanSize; DegradedSize = degradedSize;
        Clean = new float[(long)count * Image.Channels * cleanSize * cleanSize];
        Degraded = new float[(long)count * Image.Channels * degradedSize * degradedSize];
    }

    public Tensor CleanTensor(Device? device = null) => ToTensor(Clean, CleanSize, device);
    public Tensor DegradedTensor(Device? device = null) => ToTensor(Degraded, DegradedSize, device);
}

/// <summary>One crop per slot from the clean or the degraded domain: images (N, 3, P, P) and the
/// per-slot domain (true = degraded).</summary>
public sealed class UnpairedBatch : CropBatch
{
    public int Size { get; }
    public float[] Images { get; }
    public bool[] IsDegraded { get; }
    public override int Crops => Count;

    internal UnpairedBatch(long index, int count, int size) : base(index, count)
    {
        Size = size;
        Images = new float[(long)count * Image.Channels * size * size];
        IsDegraded = new bool[count];
    }

    public Tensor ImagesTensor(Device? device = null) => ToTensor(Images, Size, device);

    /// <summary>The domain labels as an (N) float32 tensor: 1 degraded, 0 clean.</summary>
    public Tensor LabelsTensor(Device? device = null) => Tensor.FromArray(IsDegraded.Select(d => d ? 1f : 0f).ToArray(), [Count], device);
}

/// <summary>Slot kinds of a semi-paired batch, valued as SeNM-VAE's labels.</summary>
public enum SlotKind { Paired = -1, Source = 0, Target = 1 }

/// <summary>SeNM-VAE's batch: clean (N, 3, P, P) and degraded (N, 3, P, P) with a label per slot.
/// Paired slots hold a pair; a source (clean-only) slot holds its clean crop in both arrays and a
/// target (degraded-only) slot its degraded crop in both, as SeNM-VAE's dataset does.</summary>
public sealed class SemiPairedBatch : CropBatch
{
    public int Size { get; }
    public float[] Clean { get; }
    public float[] Degraded { get; }
    public SlotKind[] Kinds { get; }
    /// <summary>Distinct crops: two per paired slot, one per unpaired slot (copied into both arrays).</summary>
    public override int Crops => Count + Kinds.Count(k => k == SlotKind.Paired);

    internal SemiPairedBatch(long index, int count, int size) : base(index, count)
    {
        Size = size;
        Clean = new float[(long)count * Image.Channels * size * size];
        Degraded = new float[(long)count * Image.Channels * size * size];
        Kinds = new SlotKind[count];
    }

    public Tensor CleanTensor(Device? device = null) => ToTensor(Clean, Size, device);
    public Tensor DegradedTensor(Device? device = null) => ToTensor(Degraded, Size, device);

    /// <summary>The labels -1 (paired), 0 (source), 1 (target) as an (N) int32 tensor.</summary>
    public Tensor LabelsTensor(Device? device = null) => Tensor.FromArray(Kinds.Select(k => (int)k).ToArray(), [Count], device);
}
