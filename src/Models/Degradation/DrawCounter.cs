// Consecutive Philox counter ranges for the draws of one training step or one synthesis: a step
// owns [start, start + budget), each draw takes the blocks it needs, so draws never overlap and a
// step is a pure function of (seed, step).
using Engine.Random;

namespace Engine.Models.Degradation;

internal sealed class DrawCounter(string op, ulong seed, ulong start, ulong budget)
{
    private ulong _used;
    public ulong Seed { get; } = seed;

    public ulong Take(int[] shape, DType dtype)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        ulong blocks = Philox.BlocksUsed(n, dtype.Size());
        if (blocks > budget - _used)
            throw new InvalidArgumentException(op, $"the draws of one step need more than {budget} Philox blocks; use smaller batches or crops");
        ulong o = start + _used;
        _used += blocks;
        return o;
    }
}
