// Core tensor behaviour: creation, host round trips, views without copies (checked by writing
// through a view and reading the base), contiguity, dtype conversion, naive-loop references.
using Engine;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.TensorCore;

public class TensorCoreTests
{
    [Fact]
    public void FromArrayRoundTripsAllDTypes()
    {
        using var f = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        using var d = Tensor.FromArray(new double[] { 1.5, -2 }, [2]);
        using var i = Tensor.FromArray(new[] { 7, -8, 9 }, [3]);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, f.ToArray<float>());
        Assert.Equal(new[] { 1.5, -2 }, d.ToArray<double>());
        Assert.Equal(new[] { 7, -8, 9 }, i.ToArray<int>());
        Assert.Equal([2, 3], f.Shape);
        Assert.Throws<DTypeMismatchException>(() => f.ToArray<double>());
        Assert.Throws<ShapeMismatchException>(() => Tensor.FromArray(new float[5], [2, 3]));
    }

    [Fact]
    public void ReshapeOfContiguousSharesStorage()
    {
        using var a = Tensor.Arange(12).Reshape(3, 4);
        using var b = a.Reshape(2, -1);
        Assert.Same(a.Storage, b.Storage);
        Assert.Equal([2, 6], b.Shape);
        Assert.Throws<ShapeMismatchException>(() => a.Reshape(5, -1));
        Assert.Throws<InvalidArgumentException>(() => a.Reshape(-1, -1));
    }

    [Fact]
    public void PermuteAndTransposeAreViewsWithNaiveSemantics()
    {
        var rng = TestData.Rng();
        var v = TestData.Doubles(rng, 2 * 3 * 4);
        using var a = Tensor.FromArray(v, [2, 3, 4]);
        using var p = a.Permute(2, 0, 1); // (4, 2, 3)
        Assert.Same(a.Storage, p.Storage);
        Assert.False(p.IsContiguous);
        var got = p.ToArray<double>();
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    Assert.Equal(v[i * 12 + j * 4 + k], got[k * 6 + i * 3 + j]);
        using var t = a.Transpose(0, 2); // (4, 3, 2)
        var gt = t.ToArray<double>();
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < 2; i++)
                    Assert.Equal(v[i * 12 + j * 4 + k], gt[k * 6 + j * 2 + i]);
        Assert.Throws<InvalidArgumentException>(() => a.Permute(0, 0, 1));
        Assert.Throws<RankException>(() => a.Permute(0, 1));
    }

    [Fact]
    public void NarrowSliceSelectWriteThroughToBase()
    {
        using var a = Tensor.Zeros([4, 5], DType.F64);
        using (var n = a.Narrow(1, 1, 3)) n.Fill(1);
        using (var s = a.Slice(0, 0, 4, 2)) { using var s2 = s.Narrow(1, 0, 1); s2.Fill(7); }
        using (var r = a.Select(0, -1)) { using var r2 = r.Narrow(0, 4, 1); r2.Fill(9); }
        var x = a.ToArray<double>();
        var want = new double[20];
        for (int i = 0; i < 4; i++) for (int j = 1; j < 4; j++) want[i * 5 + j] = 1;
        want[0] = 7; want[10] = 7; want[19] = 9;
        Assert.Equal(want, x);
        Assert.Throws<InvalidArgumentException>(() => a.Narrow(1, 3, 3));
        Assert.Throws<DimOutOfRangeException>(() => a.Narrow(2, 0, 1));
    }

    [Fact]
    public void SliceWithNegativeBoundsAndStep()
    {
        using var a = Tensor.Arange(10, DType.F64);
        using var s = a.Slice(0, -8, -1, 3); // 2, 5, 8
        Assert.Equal(new double[] { 2, 5, 8 }, s.ToArray<double>());
    }

    [Fact]
    public void ExpandBroadcastsWithZeroStrides()
    {
        using var a = Tensor.FromArray(new float[] { 1, 2, 3 }, [3, 1]);
        using var e = a.Expand(2, 3, 4);
        Assert.Equal([2, 3, 4], e.Shape);
        Assert.Equal(0, e.Layout.Strides[0]);
        Assert.Equal(0, e.Layout.Strides[2]);
        var v = e.ToArray<float>();
        for (int b = 0; b < 2; b++) for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) Assert.Equal(i + 1, v[b * 12 + i * 4 + j]);
        Assert.Throws<ShapeMismatchException>(() => a.Expand(2, 4, 4));
    }

    [Fact]
    public void SqueezeUnsqueezeFlatten()
    {
        using var a = Tensor.Zeros([2, 1, 3, 1]);
        using (var s = a.Squeeze()) Assert.Equal([2, 3], s.Shape);
        using (var s = a.Squeeze(1)) Assert.Equal([2, 3, 1], s.Shape);
        using (var s = a.Squeeze(0)) Assert.Equal([2, 1, 3, 1], s.Shape);
        using (var u = a.Unsqueeze(-1)) Assert.Equal([2, 1, 3, 1, 1], u.Shape);
        using (var u = a.Unsqueeze(0)) Assert.Equal([1, 2, 1, 3, 1], u.Shape);
        using (var f = a.Flatten(1)) Assert.Equal([2, 3], f.Shape);
    }

    [Fact]
    public void ContiguousOfAViewCopiesInRowMajorOrder()
    {
        using var a = Tensor.Arange(6, DType.F64).Reshape(2, 3);
        using var t = a.T();
        using var c = t.Contiguous();
        Assert.True(c.IsContiguous);
        Assert.NotSame(a.Storage, c.Storage);
        Assert.Equal(new double[] { 0, 3, 1, 4, 2, 5 }, c.ToArray<double>());
        using var r = t.Reshape(6); // non-contiguous reshape copies
        Assert.Equal(new double[] { 0, 3, 1, 4, 2, 5 }, r.ToArray<double>());
    }

    [Fact]
    public void DTypeConversions()
    {
        using var a = Tensor.FromArray(new double[] { 1.25, -2.75, 3 }, [3]);
        using var f = a.To(DType.F32);
        using var i = a.To(DType.I32);
        using var back = i.To(DType.F64);
        Assert.Equal(new float[] { 1.25f, -2.75f, 3 }, f.ToArray<float>());
        Assert.Equal(new[] { 1, -2, 3 }, i.ToArray<int>());
        Assert.Equal(new double[] { 1, -2, 3 }, back.ToArray<double>());
        Assert.Equal(3.0, Tensor.Scalar(3, DType.F64).Item());
    }

    [Fact]
    public void DisposedTensorReportsWhatItWas()
    {
        var a = Tensor.Zeros([2, 2]);
        a.Dispose();
        a.Dispose(); // idempotent
        var e = Assert.Throws<ObjectDisposedException>(() => a.ToArray<float>());
        Assert.Contains("[2, 2]", e.Message);
    }
}
