// PLACEHOLDER (being written): cuBLAS matmul, cuDNN convolutions.
namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    public void Matmul(Buf a, Buf b, Buf c) => throw new UnsupportedOpException("matmul", "cuda: not written yet");
    public void Conv2d(Buf x, Buf w, Buf? bias, Buf y, Conv2dParams p, Activation act = default) => throw new UnsupportedOpException("conv2d", "cuda: not written yet");
    public void Conv2dBackwardData(Buf gy, Buf w, Buf gx, Conv2dParams p) => throw new UnsupportedOpException("conv2d backward data", "cuda: not written yet");
    public void Conv2dBackwardFilter(Buf x, Buf gy, Buf gw, Conv2dParams p) => throw new UnsupportedOpException("conv2d backward filter", "cuda: not written yet");
}
