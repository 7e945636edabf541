// PLACEHOLDER (being written): reductions.
namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    public void Reduce(ReduceOp op, Buf x, int[] axes, Buf y, int correction) => throw new UnsupportedOpException("reduce", "cuda: not written yet");
}
