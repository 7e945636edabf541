// Activations that kernels can fuse into their output pass (conv2d's GEMM epilogue): the value is
// written once instead of once by the op and again by a separate elementwise pass.
namespace Engine;

/// <summary>Activation fused into a convolution's output: none, relu, or leaky relu with a slope.</summary>
public readonly record struct Activation(ActivationKind Kind, double Slope = 0)
{
    public bool IsNone => Kind == ActivationKind.None;
    public static Activation None => default;
    public static Activation Relu => new(ActivationKind.Relu);
    public static Activation LeakyRelu(double slope) => new(ActivationKind.LeakyRelu, slope);
    public override string ToString() => Kind == ActivationKind.LeakyRelu ? $"leaky_relu({Slope})" : Kind.ToString().ToLowerInvariant();
}

public enum ActivationKind { None, Relu, LeakyRelu }
