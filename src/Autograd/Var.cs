// Var: a tensor in the autograd graph. Leaves (parameters, inputs) have no node; results of ops
// on Vars that require grad carry a Node with the backward rule. Leaf gradients live outside any
// TensorScope (they persist across steps until ZeroGrad).
namespace Engine.Autograd;

public sealed class Var
{
    public Tensor Data { get; private set; }
    public Tensor? Grad { get; internal set; }
    public bool RequiresGrad { get; }
    public string? Name { get; set; }
    internal Node? Node { get; }

    public Var(Tensor data, bool requiresGrad = false, string? name = null)
    {
        if (requiresGrad && !data.DType.IsFloat())
            throw new DTypeMismatchException("Var", $"only floating tensors can require grad, got {Fmt.Of(data)}");
        Data = data; RequiresGrad = requiresGrad; Name = name;
    }

    internal Var(Tensor data, Node node)
    {
        Data = data; RequiresGrad = true; Node = node;
    }

    public bool IsLeaf => Node == null;
    public int[] Shape => Data.Shape;
    public int Rank => Data.Rank;
    public DType DType => Data.DType;
    public Device Device => Data.Device;
    public long Numel => Data.Numel;
    public int Size(int dim) => Data.Size(dim);

    /// <summary>The same data, cut from the graph.</summary>
    public Var Detach() => new(Data.Alias());

    /// <summary>Replaces the data of a leaf (optimizers update parameters in place instead).</summary>
    public void SetData(Tensor t)
    {
        if (!IsLeaf) throw new InvalidOperationException("SetData on a non-leaf Var");
        if (!t.Layout.SameShape(Data.Layout)) throw new ShapeMismatchException("SetData", $"{Fmt.Of(Data)} vs {Fmt.Of(t)}");
        Data = t;
    }

    /// <summary>Backpropagates from this Var; a non-scalar result needs an explicit upstream gradient.</summary>
    public void Backward(Tensor? grad = null) => BackwardEngine.Run(this, grad);

    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    public double Item() => Data.Item();
    public override string ToString() => $"Var({Name ?? Node?.Op ?? "leaf"}, {Fmt.Of(Data)}{(RequiresGrad ? ", grad" : "")})";

    public static implicit operator Var(Tensor t) => new(t);

    public static Var operator +(Var a, Var b) => F.Add(a, b);
    public static Var operator -(Var a, Var b) => F.Sub(a, b);
    public static Var operator *(Var a, Var b) => F.Mul(a, b);
    public static Var operator /(Var a, Var b) => F.Div(a, b);
    public static Var operator +(Var a, double s) => F.Add(a, s);
    public static Var operator -(Var a, double s) => F.Sub(a, s);
    public static Var operator *(Var a, double s) => F.Mul(a, s);
    public static Var operator /(Var a, double s) => F.Div(a, s);
    public static Var operator +(double s, Var a) => F.Add(a, s);
    public static Var operator -(double s, Var a) => F.RSub(s, a);
    public static Var operator *(double s, Var a) => F.Mul(a, s);
    public static Var operator /(double s, Var a) => F.RDiv(s, a);
    public static Var operator -(Var a) => F.Neg(a);
}
