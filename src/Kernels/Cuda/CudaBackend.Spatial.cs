// PLACEHOLDER (being written): pooling, upsampling, padding, gather/scatter/index.
namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    public void MaxPool2d(Buf x, Buf y, Buf argmax, Pool2dParams p) => throw new UnsupportedOpException("max_pool2d", "cuda: not written yet");
    public void MaxPool2dBackward(Buf gy, Buf argmax, Buf gx) => throw new UnsupportedOpException("max_pool2d backward", "cuda: not written yet");
    public void AvgPool2d(Buf x, Buf y, Pool2dParams p) => throw new UnsupportedOpException("avg_pool2d", "cuda: not written yet");
    public void AvgPool2dBackward(Buf gy, Buf gx, Pool2dParams p) => throw new UnsupportedOpException("avg_pool2d backward", "cuda: not written yet");
    public void UpsampleNearest(Buf x, Buf y) => throw new UnsupportedOpException("upsample_nearest", "cuda: not written yet");
    public void UpsampleNearestBackward(Buf gy, Buf gx) => throw new UnsupportedOpException("upsample_nearest backward", "cuda: not written yet");
    public void UpsampleBilinear(Buf x, Buf y, bool alignCorners) => throw new UnsupportedOpException("upsample_bilinear", "cuda: not written yet");
    public void UpsampleBilinearBackward(Buf gy, Buf gx, bool alignCorners) => throw new UnsupportedOpException("upsample_bilinear backward", "cuda: not written yet");
    public void Pad2d(Buf x, Buf y, int left, int right, int top, int bottom, PadMode mode, double value) => throw new UnsupportedOpException("pad2d", "cuda: not written yet");
    public void Pad2dBackward(Buf gy, Buf gx, int left, int right, int top, int bottom, PadMode mode) => throw new UnsupportedOpException("pad2d backward", "cuda: not written yet");
    public void Gather(Buf x, int dim, Buf index, Buf y) => throw new UnsupportedOpException("gather", "cuda: not written yet");
    public void ScatterAdd(Buf y, int dim, Buf index, Buf src) => throw new UnsupportedOpException("scatter_add", "cuda: not written yet");
    public void IndexSelect(Buf x, int dim, Buf index, Buf y) => throw new UnsupportedOpException("index_select", "cuda: not written yet");
    public void IndexAdd(Buf y, int dim, Buf index, Buf src) => throw new UnsupportedOpException("index_add", "cuda: not written yet");
}
