// PLACEHOLDER (being written): strided copy/convert, fill, unary, binary, where.
namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    public void Copy(Buf src, Buf dst) => throw new UnsupportedOpException("copy", "cuda: not written yet");
    public void Fill(Buf dst, double value) => throw new UnsupportedOpException("fill", "cuda: not written yet");
    public void Unary(UnaryOp op, Buf x, Buf y, double alpha, double beta) => throw new UnsupportedOpException("unary", "cuda: not written yet");
    public void UnaryBackward(UnaryOp op, Buf x, Buf y, Buf gy, Buf gx, double alpha, double beta) => throw new UnsupportedOpException("unary backward", "cuda: not written yet");
    public void Binary(BinaryOp op, Buf a, Buf b, Buf y) => throw new UnsupportedOpException("binary", "cuda: not written yet");
    public void BinaryScalar(BinaryOp op, Buf a, double s, bool scalarFirst, Buf y) => throw new UnsupportedOpException("binary scalar", "cuda: not written yet");
    public void Where(Buf cond, Buf a, Buf b, Buf y) => throw new UnsupportedOpException("where", "cuda: not written yet");
}
