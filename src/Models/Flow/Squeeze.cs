// Squeeze (spec 3.2; DeFlow flow.squeeze2d / unsqueeze2d): (N, C, H, W) -> (N, 4C, H/2, W/2) with
// out[n, 4c + 2dy + dx, i, j] = in[n, c, 2i + dy, 2j + dx] (the four sub-pixels of channel c are
// contiguous). This is exactly pixel_unshuffle(2): squeeze2d's view (B, C, H/2, 2, W/2, 2) and
// permute (0, 1, 3, 5, 2, 4) are Ops.PixelUnshuffle's, and unsqueeze2d's are PixelShuffle's.
// Logdet 0 (a permutation of the elements).
using Engine.Autograd;

namespace Engine.Models.Flow;

public sealed class Squeeze(int factor = 2) : IFlowLayer
{
    public int Factor { get; } = factor >= 1 ? factor : throw new InvalidArgumentException("Squeeze", $"factor must be >= 1, got {factor}");

    public (Var y, Var logdet) Forward(Var x, Var? cond = null)
    {
        FlowLayers.CheckCond("Squeeze", x, cond, 0);
        return (F.PixelUnshuffle(x, Factor), FlowLayers.ZeroLogDet(x));
    }

    public (Var x, Var logdet) Inverse(Var y, Var? cond = null)
    {
        FlowLayers.CheckCond("Squeeze", y, cond, 0);
        return (F.PixelShuffle(y, Factor), FlowLayers.ZeroLogDet(y));
    }

    public IEnumerable<(string name, Var p)> Parameters() => [];
}
