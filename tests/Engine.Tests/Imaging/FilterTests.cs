// Filters: Gaussian kernels and separable blur against Imaging/filters.json (written by
// Imaging/gen_filters.py: float64 numpy with np.pad borders, cross-checked there with scipy.ndimage
// and torch reflect-pad conv2d): images to 1e-5 (float32), f64 tensors to 1e-12, every border mode
// including kernels wider than the image; plus impulse, constant, border-index and error checks.
// Regenerate: /usr/bin/python3 tests/Engine.Tests/Imaging/gen_filters.py
using System.Text.Json;
using Engine.Imaging;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Imaging;

public class FilterTests
{
    private static readonly Lazy<JsonDocument> Doc = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Imaging", "filters.json"))));

    private static JsonElement Root => Doc.Value.RootElement;

    public static TheoryData<string> Cases()
    {
        var d = new TheoryData<string>();
        foreach (var c in Root.GetProperty("cases").EnumerateArray()) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    private static JsonElement Case(string name) =>
        Root.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static (int[] shape, double[] data) Input(string key)
    {
        var e = Root.GetProperty("inputs").GetProperty(key);
        return (e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray(),
                e.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray());
    }

    private static BorderMode Border(string s) => s switch
    {
        "reflect101" => BorderMode.Reflect101,
        "reflect" => BorderMode.Reflect,
        "replicate" => BorderMode.Replicate,
        "zero" => BorderMode.Zero,
        _ => throw new ArgumentException(s),
    };

    private static void AssertClose(string what, double[] expected, double[] got, double tol)
    {
        Assert.Equal(expected.Length, got.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = Math.Abs(expected[i] - got[i]);
            if (!(e <= tol))
            {
                double max = expected.Zip(got, (a, b) => Math.Abs(a - b)).Max();
                Assert.Fail($"{what}: first mismatch at flat index {i}: ours {got[i]:R}, numpy {expected[i]:R}; max |err| {max:E3} > {tol:E1}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GaussianBlur_MatchesNumpyReference(string name)
    {
        var c = Case(name);
        var (shape, data) = Input(c.GetProperty("input").GetString()!);
        int size = c.GetProperty("size").GetInt32();
        double sigma = c.GetProperty("sigma").GetDouble();
        var border = Border(c.GetProperty("border").GetString()!);
        var expected = c.GetProperty("expected").EnumerateArray().Select(v => v.GetDouble()).ToArray();

        var img = new Image(shape[2], shape[1], data.Select(v => (float)v).ToArray());
        var got = Filters.GaussianBlur(img, size, sigma, border);
        Assert.Equal((img.Width, img.Height), (got.Width, got.Height));
        AssertClose($"{name} (image, float32)", expected, got.Data.Select(v => (double)v).ToArray(), 1e-5);

        using var x64 = Tensor.FromArray(data, shape);
        using var y64 = Filters.GaussianBlur(x64, size, sigma, border);
        Assert.Equal(DType.F64, y64.DType);
        AssertClose($"{name} (tensor, float64)", expected, y64.ToDoubleArray(), 1e-12);
    }

    [Fact]
    public void Kernels_MatchNumpy_SumToOne_AndAreSymmetric()
    {
        foreach (var k in Root.GetProperty("kernels").EnumerateArray())
        {
            int size = k.GetProperty("size").GetInt32();
            double sigma = k.GetProperty("sigma").GetDouble();
            var want = k.GetProperty("taps").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            var got = Filters.GaussianKernel1D(size, sigma);
            AssertClose($"kernel {size}/{sigma}", want, got, 1e-15);
            Assert.True(Math.Abs(got.Sum() - 1) < 1e-15);
            for (int i = 0; i < size; i++) Assert.Equal(got[i], got[size - 1 - i]);
            for (int i = 1; i <= size / 2; i++) Assert.True(got[i] > got[i - 1]);
        }
    }

    [Fact]
    public void Impulse_GivesTheOuterProductKernel()
    {
        const int h = 31, w = 29;
        var d = new float[3 * h * w];
        d[(1 * h + 15) * w + 14] = 1f; // green plane, centre
        var img = new Image(w, h, d);
        var k = Filters.GaussianKernel1D(21, 10);
        var r = Filters.GaussianBlur(img, 21, 10);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int dy = y - 15 + 10, dx = x - 14 + 10;
                double want = dy >= 0 && dy < 21 && dx >= 0 && dx < 21 ? k[dy] * k[dx] : 0;
                Assert.True(Math.Abs(r.Data[(1 * h + y) * w + x] - want) < 1e-7, $"({y}, {x})");
                Assert.Equal(0f, r.Data[y * w + x]);
            }
    }

    [Theory]
    [InlineData(BorderMode.Reflect101)]
    [InlineData(BorderMode.Reflect)]
    [InlineData(BorderMode.Replicate)]
    public void ConstantImage_StaysConstant_ExceptZeroBorderDarkens(BorderMode border)
    {
        const float v = 0.4f;
        var img = new Image(6, 5, Enumerable.Repeat(v, 90).ToArray());
        foreach (var x in Filters.GaussianBlur(img, 21, 10, border).Data) Assert.True(Math.Abs(x - v) < 1e-6);
        var z = Filters.GaussianBlur(img, 9, 3, BorderMode.Zero);
        Assert.All(z.Data, x => Assert.True(x < v && x > 0));
        Assert.True(z.Data[0] < z.Data[2 * 6 + 2], "a corner loses more than the centre");
    }

    [Fact]
    public void BatchedFloat32Tensor_EqualsPerImageResults()
    {
        var rng = TestData.Rng();
        var a = new Image(11, 9, TestData.Floats(rng, 3 * 9 * 11, 0, 1));
        var b = new Image(11, 9, TestData.Floats(rng, 3 * 9 * 11, 0, 1));
        using var x = Tensor.FromArray(a.Data.Concat(b.Data).ToArray(), [2, 3, 9, 11]);
        using var y = Filters.GaussianBlur(x, 9, 4, BorderMode.Reflect);
        Assert.Equal([2, 3, 9, 11], y.Shape);
        var want = Filters.GaussianBlur(a, 9, 4, BorderMode.Reflect).Data.Concat(Filters.GaussianBlur(b, 9, 4, BorderMode.Reflect).Data).ToArray();
        Assert.Equal(want, y.ToFloatArray());
    }

    [Fact]
    public void BorderIndex_FollowsOpenCvRules_IncludingRepeatedReflection()
    {
        int[] R101(int n) => Enumerable.Range(-9, n + 18).Select(p => Filters.BorderIndex(p, n, BorderMode.Reflect101)).ToArray();
        int[] Refl(int n) => Enumerable.Range(-9, n + 18).Select(p => Filters.BorderIndex(p, n, BorderMode.Reflect)).ToArray();
        // n = 4: period 6 (reflect101) and 8 (reflect)
        Assert.Equal(new[] { 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0 }, R101(4));
        Assert.Equal(new[] { 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3 }, Refl(4));
        Assert.All(R101(1), i => Assert.Equal(0, i));
        Assert.All(Refl(1), i => Assert.Equal(0, i));
        Assert.Equal(0, Filters.BorderIndex(-5, 4, BorderMode.Replicate));
        Assert.Equal(3, Filters.BorderIndex(9, 4, BorderMode.Replicate));
        Assert.Equal(-1, Filters.BorderIndex(-1, 4, BorderMode.Zero));
        Assert.Equal(-1, Filters.BorderIndex(4, 4, BorderMode.Zero));
        Assert.Equal(2, Filters.BorderIndex(2, 4, BorderMode.Zero));
    }

    [Theory]
    [InlineData(0, 1.0, "odd")]
    [InlineData(4, 1.0, "odd")]
    [InlineData(-3, 1.0, "odd")]
    [InlineData(9, 0.0, "sigma")]
    [InlineData(9, -2.0, "sigma")]
    [InlineData(9, double.NaN, "sigma")]
    public void BadKernelArguments_Throw(int size, double sigma, string mention)
    {
        var ex = Assert.Throws<InvalidArgumentException>(() => Filters.GaussianKernel1D(size, sigma));
        Assert.Contains("Filters.GaussianKernel1D", ex.Message);
        Assert.Contains(mention, ex.Message);
        var img = new Image(4, 4, new float[48]);
        ex = Assert.Throws<InvalidArgumentException>(() => Filters.GaussianBlur(img, size, sigma));
        Assert.Contains("Filters.GaussianBlur", ex.Message);
        Assert.Contains(mention, ex.Message);
    }

    [Fact]
    public void Separable_RejectsEvenKernelsAndUnknownBorders()
    {
        var img = new Image(4, 4, new float[48]);
        var ex = Assert.Throws<InvalidArgumentException>(() => Filters.Separable(img, [0.5, 0.5], [1.0]));
        Assert.Contains("Filters.Separable", ex.Message);
        Assert.Throws<InvalidArgumentException>(() => Filters.Separable(img, [1.0], [1.0], (BorderMode)17));
        // an asymmetric pair: a horizontal [0, 0, 1] shifts left by one (correlation), replicate at the edge
        var d = new float[48];
        for (int i = 0; i < 16; i++) d[i] = i;
        var r = Filters.Separable(new Image(4, 4, d), [1.0], [0.0, 0.0, 1.0], BorderMode.Replicate);
        Assert.Equal(new float[] { 1, 2, 3, 3, 5, 6, 7, 7 }, r.Data[..8]);
    }
}
