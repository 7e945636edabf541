// Counter-based randomness for samplers: every draw of batch k, slot n is a Philox4x32-10 word
// fixed by (seed, k, n, draw number) alone, so a batch is a pure function of (seed, k). Any
// number of prefetch threads, any order of evaluation and a resume at batch k give the same bytes.
// Counter layout: block = (k << 28) | (slot << 8) | j, j = draw / 4 (so k < 2^36, slot < 2^20,
// at most 1024 draws per slot); key = the seed. Slot index 2^20 - 1 is reserved for per-batch draws.
using Engine.Random;

namespace Engine.Imaging.Data;

internal struct SlotRandom
{
    public const int BatchSlot = (1 << 20) - 1;
    public const int MaxSlots = BatchSlot;
    private readonly ulong _seed, _base;
    private int _draw;
    private (uint, uint, uint, uint) _block;

    public SlotRandom(ulong seed, long batch, int slot)
    {
        if (batch < 0 || batch >= 1L << 36) throw new InvalidArgumentException("Sampler", $"batch index {batch} is outside 0..2^36-1");
        _seed = seed;
        _base = ((ulong)batch << 28) | ((ulong)slot << 8);
        _draw = 0;
        _block = default;
    }

    /// <summary>The next 32-bit word of this slot's stream.</summary>
    public uint Next()
    {
        int w = _draw & 3;
        if (w == 0) _block = Philox.Block(_seed, _base + (ulong)(_draw >> 2));
        _draw++;
        return w switch { 0 => _block.Item1, 1 => _block.Item2, 2 => _block.Item3, _ => _block.Item4 };
    }

    /// <summary>Uniform integer in [0, n) by multiply-shift (bias below n / 2^32).</summary>
    public int Below(int n) => (int)(((ulong)Next() * (uint)n) >> 32);

    /// <summary>Uniform integer in [lo, hi].</summary>
    public int Between(int lo, int hi) => lo + Below(hi - lo + 1);

    /// <summary>True with probability p (exact to 2^-32).</summary>
    public bool Bernoulli(double p) => Next() < (ulong)Math.Round(Math.Clamp(p, 0, 1) * 4294967296.0);

    /// <summary>Index i with probability weights[i] / sum (weights non-negative, sum positive).</summary>
    public int Choose(ReadOnlySpan<double> weights)
    {
        double sum = 0;
        foreach (var w in weights) sum += w;
        double u = Next() * (1.0 / 4294967296.0) * sum;
        int last = -1;
        for (int i = 0; i < weights.Length; i++)
        {
            if (weights[i] <= 0) continue;
            last = i;
            if (u < weights[i]) return i;
            u -= weights[i];
        }
        return last;
    }
}
