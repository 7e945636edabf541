// Instance-method and operator sugar forwarding to Engine.Ops.
namespace Engine;

public sealed partial class Tensor
{
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);
    public static Tensor operator +(Tensor a, double s) => Ops.Add(a, s);
    public static Tensor operator -(Tensor a, double s) => Ops.Sub(a, s);
    public static Tensor operator *(Tensor a, double s) => Ops.Mul(a, s);
    public static Tensor operator /(Tensor a, double s) => Ops.Div(a, s);
    public static Tensor operator +(double s, Tensor a) => Ops.Add(a, s);
    public static Tensor operator -(double s, Tensor a) => Ops.BinaryScalar(BinaryOp.Sub, a, s, scalarFirst: true);
    public static Tensor operator *(double s, Tensor a) => Ops.Mul(a, s);
    public static Tensor operator /(double s, Tensor a) => Ops.BinaryScalar(BinaryOp.Div, a, s, scalarFirst: true);
    public static Tensor operator -(Tensor a) => Ops.Neg(a);

    public Tensor Sum(int[]? axes = null, bool keepDim = false) => Ops.Sum(this, axes, keepDim);
    public Tensor Mean(int[]? axes = null, bool keepDim = false) => Ops.Mean(this, axes, keepDim);
    public Tensor Matmul(Tensor b) => Ops.Matmul(this, b);
}
