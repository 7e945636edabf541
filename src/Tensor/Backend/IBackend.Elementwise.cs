// Elementwise family: unary (with up to two scalar parameters), its fused backward, binary with
// inputs already expanded to the output shape (stride-0 broadcast), scalar forms and where.
namespace Engine;

public partial interface IBackend
{
    /// <summary>y = op(x; alpha, beta). x strided, y contiguous, same shape.</summary>
    void Unary(UnaryOp op, Buf x, Buf y, double alpha, double beta);

    /// <summary>gx = gy * d op(x)/dx, with y = op(x) available for ops whose derivative uses it.</summary>
    void UnaryBackward(UnaryOp op, Buf x, Buf y, Buf gy, Buf gx, double alpha, double beta);

    /// <summary>y = a op b; a and b already have y's shape (broadcast by stride 0).</summary>
    void Binary(BinaryOp op, Buf a, Buf b, Buf y);

    /// <summary>y = scalarFirst ? s op a : a op s.</summary>
    void BinaryScalar(BinaryOp op, Buf a, double s, bool scalarFirst, Buf y);

    /// <summary>y = cond != 0 ? a : b, all already of y's shape.</summary>
    void Where(Buf cond, Buf a, Buf b, Buf y);
}
