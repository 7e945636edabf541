// Matmul and convolution. Matmul: a (B, M, K), b (B, K, N) with arbitrary strides (a batch stride
// of 0 broadcasts; a transposed operand is a permuted view), c (B, M, N) contiguous, overwritten.
// Convolution buffers are contiguous NCHW; weight (Cout, Cin/groups, KH, KW).
namespace Engine;

public partial interface IBackend
{
    void Matmul(Buf a, Buf b, Buf c);

    /// <summary>y = act(conv2d(x, w) + bias), the activation fused into the output pass.</summary>
    void Conv2d(Buf x, Buf w, Buf? bias, Buf y, Conv2dParams p, Activation act = default);

    /// <summary>gx = d(conv2d)/dx applied to gy (also conv_transpose2d's forward). gx overwritten.</summary>
    void Conv2dBackwardData(Buf gy, Buf w, Buf gx, Conv2dParams p);

    /// <summary>gw = d(conv2d)/dw applied to gy. gw overwritten.</summary>
    void Conv2dBackwardFilter(Buf x, Buf gy, Buf gw, Conv2dParams p);
}
