// PLACEHOLDER (being written): Philox draws.
namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    public void FillUniform(Buf dst, ulong seed, ulong offset, double lo, double hi) => throw new UnsupportedOpException("uniform", "cuda: not written yet");
    public void FillNormal(Buf dst, ulong seed, ulong offset, double mean, double std) => throw new UnsupportedOpException("normal", "cuda: not written yet");
}
