// Reverse-mode engine: topological order, one rule call per node, then centrally: shape checks
// (naming the op), un-broadcasting (sum over broadcast dims) and accumulation. Intermediate
// gradients are freed once consumed; leaf gradients accumulate into Var.Grad outside all scopes.
namespace Engine.Autograd;

internal static class BackwardEngine
{
    public static void Run(Var root, Tensor? grad)
    {
        if (!root.RequiresGrad) throw new InvalidOperationException($"Backward on {root}: it does not require grad (no input of its graph requires grad, or it was made under NoGrad)");
        if (grad == null && root.Numel != 1)
            throw new ShapeMismatchException("Backward", $"root {Fmt.Of(root.Data)} is not a scalar; pass an upstream gradient");
        if (grad != null && !grad.Layout.SameShape(root.Data.Layout))
            throw new ShapeMismatchException("Backward", $"upstream gradient {Fmt.Of(grad)} vs root {Fmt.Of(root.Data)}");

        var order = TopoOrder(root);
        var grads = new Dictionary<Var, Tensor>(ReferenceEqualityComparer.Instance);
        grads[root] = grad?.Alias() ?? Tensor.OnesLike(root.Data);

        for (int i = order.Count - 1; i >= 0; i--)
        {
            var v = order[i];
            if (!grads.Remove(v, out var gy)) continue;
            if (v.Node == null) { AccumulateLeaf(v, gy); continue; }
            var node = v.Node;
            var rule = node.Rule ?? throw new InvalidOperationException($"backward of {node.Op}: this graph was already backpropagated (its saved tensors are released); rebuild it");
            Tensor?[] gin;
            try { gin = rule(gy); }
            finally { gy.Dispose(); node.Release(); }
            if (gin.Length != node.Inputs.Length)
                throw new InvalidOperationException($"backward of {node.Op}: rule returned {gin.Length} gradients for {node.Inputs.Length} inputs");
            for (int k = 0; k < gin.Length; k++)
            {
                var g = gin[k];
                var inp = node.Inputs[k];
                if (g == null) continue;
                if (!inp.RequiresGrad) { g.Dispose(); continue; }
                var fitted = Fit(node.Op, k, g, inp.Data);
                // Out of place: rules may return aliases of one buffer for several inputs.
                if (grads.TryGetValue(inp, out var acc)) { grads[inp] = Ops.Add(acc, fitted); acc.Dispose(); fitted.Dispose(); }
                else grads[inp] = fitted;
            }
        }
        foreach (var g in grads.Values) g.Dispose();
    }

    /// <summary>Checks a rule's gradient against its input: same shape, or un-broadcast to it.</summary>
    private static Tensor Fit(string op, int k, Tensor g, Tensor input)
    {
        if (g.DType != input.DType) throw new DTypeMismatchException($"backward of {op}", $"gradient for input {k} is {Fmt.Of(g)}, input is {Fmt.Of(input)}");
        if (g.Device != input.Device) throw new DeviceMismatchException($"backward of {op}", $"gradient for input {k} is {Fmt.Of(g)}, input is {Fmt.Of(input)}");
        if (g.Layout.SameShape(input.Layout)) return g;
        try
        {
            var b = Ops.BroadcastShape(op, input.Layout.Shape, g.Layout.Shape);
            if (!b.AsSpan().SequenceEqual(g.Layout.Shape)) throw new ShapeMismatchException(op, "");
        }
        catch (ShapeMismatchException)
        {
            g.Dispose();
            throw new ShapeMismatchException($"backward of {op}", $"gradient for input {k} has shape {Fmt.Shape(g.Layout.Shape)}, input has {Fmt.Shape(input.Layout.Shape)}");
        }
        using (g) return SumTo(g, input.Layout.Shape);
    }

    /// <summary>Sums g over the dims that broadcasting added or expanded, giving shape `shape`.</summary>
    public static Tensor SumTo(Tensor g, int[] shape)
    {
        int lead = g.Rank - shape.Length;
        var axes = new List<int>();
        for (int i = 0; i < g.Rank; i++)
            if (i < lead || (shape[i - lead] == 1 && g.Layout.Shape[i] != 1)) axes.Add(i);
        if (axes.Count == 0) return g.Reshape(shape);
        using var s = Ops.Sum(g, [.. axes], keepDim: true);
        return s.Reshape(shape);
    }

    internal static void AddInPlace(Tensor acc, Tensor g) => acc.Backend.Binary(BinaryOp.Add, acc.Buf, g.Buf, acc.Buf);

    private static void AccumulateLeaf(Var v, Tensor g)
    {
        if (v.Grad == null)
        {
            // An exclusively owned copy that outlives the step's scope (g may alias other buffers).
            var own = g.Clone();
            g.Dispose();
            TensorScope.Detach(own);
            v.Grad = own;
        }
        else
        {
            AddInPlace(v.Grad, g);
            g.Dispose();
        }
    }

    private static List<Var> TopoOrder(Var root)
    {
        var order = new List<Var>();
        var seen = new HashSet<Var>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Var v, bool expanded)>();
        stack.Push((root, false));
        while (stack.Count > 0)
        {
            var (v, expanded) = stack.Pop();
            if (expanded) { order.Add(v); continue; }
            if (!seen.Add(v)) continue;
            stack.Push((v, true));
            if (v.Node != null)
                foreach (var inp in v.Node.Inputs)
                    if (inp.RequiresGrad && !seen.Contains(inp)) stack.Push((inp, false));
        }
        return order;
    }
}
