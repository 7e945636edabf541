// Argument checks shared by the host-side tensor entries of Resize and Filters: a (C, H, W) or
// (N, C, H, W) float32/float64 tensor is a stack of N*C contiguous H x W planes once copied to the host.
namespace Engine.Imaging;

internal static class PlaneTensor
{
    /// <summary>Validates rank and dtype; returns (number of planes, H, W).</summary>
    public static (int planes, int h, int w) Check(string op, Tensor x)
    {
        if (x.Rank != 3 && x.Rank != 4)
            throw new RankException(op, $"expected (C, H, W) or (N, C, H, W), got {x}");
        if (x.DType != DType.F32 && x.DType != DType.F64)
            throw new DTypeMismatchException(op, $"expected f32 or f64, got {x}");
        var s = x.Shape;
        int h = s[^2], w = s[^1];
        long planes = 1;
        for (int i = 0; i < s.Length - 2; i++) planes *= s[i];
        if (h == 0 || w == 0 || planes == 0)
            throw new ShapeMismatchException(op, $"empty image tensor {x}");
        return ((int)planes, h, w);
    }
}
