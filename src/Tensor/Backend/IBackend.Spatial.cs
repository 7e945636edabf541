// Spatial and indexing family (contiguous NCHW buffers). Backward methods overwrite gx.
// Index buffers are I32. Gather/ScatterAdd/IndexSelect/IndexAdd work along one axis `dim`.
namespace Engine;

public partial interface IBackend
{
    void MaxPool2d(Buf x, Buf y, Buf argmax, Pool2dParams p);
    void MaxPool2dBackward(Buf gy, Buf argmax, Buf gx);
    void AvgPool2d(Buf x, Buf y, Pool2dParams p);
    void AvgPool2dBackward(Buf gy, Buf gx, Pool2dParams p);

    void UpsampleNearest(Buf x, Buf y);
    void UpsampleNearestBackward(Buf gy, Buf gx);
    void UpsampleBilinear(Buf x, Buf y, bool alignCorners);
    void UpsampleBilinearBackward(Buf gy, Buf gx, bool alignCorners);

    /// <summary>Pads the last two axes by (left, right, top, bottom).</summary>
    void Pad2d(Buf x, Buf y, int left, int right, int top, int bottom, PadMode mode, double value);
    void Pad2dBackward(Buf gy, Buf gx, int left, int right, int top, int bottom, PadMode mode);

    void Gather(Buf x, int dim, Buf index, Buf y);
    /// <summary>y[..., index[i], ...] += src[..., i, ...] along dim (y accumulated in place).</summary>
    void ScatterAdd(Buf y, int dim, Buf index, Buf src);
    void IndexSelect(Buf x, int dim, Buf index, Buf y);
    void IndexAdd(Buf y, int dim, Buf index, Buf src);
}
