// Resize: MATLAB-style bicubic against Imaging/resize.json (written by Imaging/gen_resize.py, a
// float64 numpy restatement of imresize cross-checked with PyTorch's antialiased bicubic in the
// interior): float mode to 1e-5 (float32 sums), the f64 tensor path to 1e-12, the uint8 mode
// exactly (both tie roundings). Analytic checks: constants stay constant, linear ramps are kept in
// the interior, sizes are ceil(scale * n), weights sum to 1; plus modcrop and typed errors.
// Regenerate: /usr/bin/python3 tests/Engine.Tests/Imaging/gen_resize.py
using System.Text.Json;
using Engine.Imaging;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Imaging;

public class ResizeTests
{
    private const double FloatTol = 1e-5;

    private static readonly Lazy<JsonDocument> Doc = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Imaging", "resize.json"))));

    private static JsonElement Root => Doc.Value.RootElement;

    private static JsonElement Case(string name) =>
        Root.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static TheoryData<string> Cases(string mode)
    {
        var d = new TheoryData<string>();
        foreach (var c in Root.GetProperty("cases").EnumerateArray())
            if (c.GetProperty("mode").GetString() == mode) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    public static TheoryData<string> FloatCases() => Cases("float");
    public static TheoryData<string> Uint8Cases() => Cases("uint8");

    private static (int[] shape, double[] data) Input(string key)
    {
        var e = Root.GetProperty("inputs").GetProperty(key);
        return (e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray(),
                e.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray());
    }

    private static double[] Expected(JsonElement c) => c.GetProperty("expected").EnumerateArray().Select(v => v.GetDouble()).ToArray();
    private static int[] Shape(JsonElement c) => c.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();

    private static string Describe(JsonElement c) =>
        $"case {c.GetProperty("name").GetString()} (scale {c.GetProperty("scale")}, size {c.GetProperty("size")}, antialias {c.GetProperty("antialias")})";

    private static void AssertClose(JsonElement c, double[] expected, ReadOnlySpan<float> got, double tol) =>
        AssertClose(c, expected, got.ToArray().Select(v => (double)v).ToArray(), tol);

    private static void AssertClose(JsonElement c, double[] expected, double[] got, double tol)
    {
        Assert.Equal(expected.Length, got.Length);
        double maxErr = 0;
        int first = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = Math.Abs(expected[i] - got[i]);
            if (!(e <= tol) && first < 0) first = i;
            if (!(e <= maxErr)) maxErr = e;
        }
        if (first >= 0) Assert.Fail($"{Describe(c)}: first mismatch at flat index {first}: ours {got[first]:R}, numpy {expected[first]:R}; max |err| {maxErr:E3} > {tol:E1}");
    }

    private static Image RunImage(JsonElement c, Image img, bool uint8, MidpointRounding rounding = MidpointRounding.ToEven)
    {
        bool aa = c.GetProperty("antialias").GetBoolean();
        var size = c.GetProperty("size");
        if (size.ValueKind == JsonValueKind.Null)
        {
            double s = c.GetProperty("scale").GetDouble();
            return uint8 ? Resize.BicubicUint8(img, s, aa, rounding) : Resize.Bicubic(img, s, aa);
        }
        int oh = size[0].GetInt32(), ow = size[1].GetInt32();
        return uint8 ? Resize.BicubicUint8(img, oh, ow, aa, rounding) : Resize.Bicubic(img, oh, ow, aa);
    }

    [Theory]
    [MemberData(nameof(FloatCases))]
    public void Float_MatchesNumpyReference(string name)
    {
        var c = Case(name);
        var (shape, data) = Input(c.GetProperty("input").GetString()!);
        var img = new Image(shape[2], shape[1], data.Select(v => (float)v).ToArray());
        var outShape = Shape(c);
        var got = RunImage(c, img, uint8: false);
        Assert.Equal((outShape[1], outShape[2]), (got.Height, got.Width));
        AssertClose(c, Expected(c), got.Data, FloatTol);
    }

    [Theory]
    [MemberData(nameof(FloatCases))]
    public void Float64Tensor_MatchesNumpyReferenceTo1e12(string name)
    {
        var c = Case(name);
        var (shape, data) = Input(c.GetProperty("input").GetString()!);
        using var x = Tensor.FromArray(data, shape);
        bool aa = c.GetProperty("antialias").GetBoolean();
        var size = c.GetProperty("size");
        using var y = size.ValueKind == JsonValueKind.Null
            ? Resize.Bicubic(x, c.GetProperty("scale").GetDouble(), aa)
            : Resize.Bicubic(x, size[0].GetInt32(), size[1].GetInt32(), aa);
        Assert.Equal(DType.F64, y.DType);
        Assert.Equal(Shape(c), y.Shape);
        AssertClose(c, Expected(c), y.ToDoubleArray(), 1e-12);
    }

    [Theory]
    [MemberData(nameof(Uint8Cases))]
    public void Uint8_MatchesNumpyReferenceExactly_ForImage8AndImage(string name)
    {
        var c = Case(name);
        var (shape, data) = Input(c.GetProperty("input").GetString()!);
        var rounding = c.GetProperty("rounding").GetString() == "even" ? MidpointRounding.ToEven : MidpointRounding.AwayFromZero;
        int ch = shape[0], h = shape[1], w = shape[2];
        var hwc = new byte[data.Length];
        for (int k = 0; k < ch; k++)
            for (int i = 0; i < h * w; i++) hwc[i * ch + k] = (byte)data[k * h * w + i];
        var expected = Expected(c);
        var outShape = Shape(c);
        int ohw = outShape[1] * outShape[2];

        // Image8 (H, W, C)
        var img8 = Image8.FromBytes(hwc, h, w, ch);
        bool aa = c.GetProperty("antialias").GetBoolean();
        var size = c.GetProperty("size");
        var got8 = size.ValueKind == JsonValueKind.Null
            ? Resize.BicubicUint8(img8, c.GetProperty("scale").GetDouble(), aa, rounding)
            : Resize.BicubicUint8(img8, size[0].GetInt32(), size[1].GetInt32(), aa, rounding);
        Assert.Equal((outShape[1], outShape[2], ch), (got8.Height, got8.Width, got8.Channels));
        var chw = new double[expected.Length];
        for (int k = 0; k < ch; k++)
            for (int i = 0; i < ohw; i++) chw[k * ohw + i] = got8.Data[i * ch + k];
        AssertClose(c, expected, chw, 0);

        // Image in [0, 1]: k/255 in, k/255 out
        var img = Image.FromRgb8(hwc, w, h);
        var got = RunImage(c, img, uint8: true, rounding);
        var back = new double[expected.Length];
        for (int i = 0; i < back.Length; i++) back[i] = Image.Quantize(got.Data[i]);
        AssertClose(c, expected, back, 0);
        for (int i = 0; i < back.Length; i++) Assert.Equal((float)back[i] / 255f, got.Data[i]);
    }

    [Fact]
    public void Uint8_TieRounding_MattersOnX2Upscale()
    {
        var even = Case("u16x20s_s2_aa_u8even");
        var away = Case("u16x20s_s2_aa_u8away");
        Assert.True(even.GetProperty("ties").GetInt32() > 0);
        var (shape, data) = Input("u16x20s");
        int h = shape[1], w = shape[2], hw = h * w;
        var hwc = new byte[data.Length];
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < hw; i++) hwc[i * 3 + k] = (byte)data[k * hw + i];
        var img = Image.FromRgb8(hwc, w, h);
        var a = Resize.BicubicUint8(img, 2.0);
        var b = Resize.BicubicUint8(img, 2.0, rounding: MidpointRounding.AwayFromZero);
        Assert.NotEqual(a.Data, b.Data);
        Assert.NotEqual(Expected(even), Expected(away));
    }

    [Fact]
    public void ScaledTensorBatch_EqualsPerImageResults()
    {
        var rng = TestData.Rng();
        var a = new Image(23, 17, TestData.Floats(rng, 3 * 17 * 23, 0, 1));
        var b = new Image(23, 17, TestData.Floats(rng, 3 * 17 * 23, 0, 1));
        var both = a.Data.Concat(b.Data).ToArray();
        using var x = Tensor.FromArray(both, [2, 3, 17, 23]);
        using var y = Resize.Bicubic(x, 0.37);
        Assert.Equal([2, 3, 7, 9], y.Shape);
        var got = y.ToFloatArray();
        var ra = Resize.Bicubic(a, 0.37).Data;
        var rb = Resize.Bicubic(b, 0.37).Data;
        Assert.Equal(ra.Concat(rb).ToArray(), got);
        using var x3 = Tensor.FromArray(a.Data, [3, 17, 23]);
        using var y3 = Resize.Bicubic(x3, 5, 30);
        Assert.Equal([3, 5, 30], y3.Shape);
        Assert.Equal(Resize.Bicubic(a, 5, 30).Data, y3.ToFloatArray());
    }

    [Theory]
    [InlineData(17, 23, 0.5, 9, 12)]
    [InlineData(17, 23, 0.25, 5, 6)]
    [InlineData(17, 23, 0.37, 7, 9)]
    [InlineData(24, 36, 1 / 3.0, 8, 12)]
    [InlineData(5, 4, 3.0, 15, 12)]
    [InlineData(5, 4, 1.5, 8, 6)]
    public void OutputSize_IsCeilOfScaleTimesSize(int h, int w, double scale, int oh, int ow)
    {
        var img = new Image(w, h, new float[3 * h * w]);
        var r = Resize.Bicubic(img, scale);
        Assert.Equal((oh, ow), (r.Height, r.Width));
        Assert.Equal(oh, Resize.OutputLength(h, scale));
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.25)]
    [InlineData(0.37)]
    [InlineData(2.0)]
    [InlineData(3.0)]
    public void ConstantImage_StaysConstant(double scale)
    {
        const float v = 0.6235294f;
        var img = new Image(13, 11, Enumerable.Repeat(v, 3 * 11 * 13).ToArray());
        foreach (var x in Resize.Bicubic(img, scale).Data) Assert.True(Math.Abs(x - v) < 1e-6, $"{x} != {v}");
        foreach (var x in Resize.Bicubic(img, scale, antialias: false).Data) Assert.True(Math.Abs(x - v) < 1e-6, $"{x} != {v}");
        var q = Resize.BicubicUint8(img, scale).ToRgb8();
        Assert.All(q, b => Assert.Equal(Image.Quantize(v), b));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void LinearRamp_IsKeptInTheInterior_OnIntegerDownscale(int factor)
    {
        const int n = 48;
        var img = Ramp(n, n);
        double s = 1.0 / factor;
        var r = Resize.Bicubic(img, s);
        int o = n / factor;
        Assert.Equal((o, o), (r.Height, r.Width));
        CheckRampInterior(r, s, 2, o - 3);
        // without antialiasing the kernel is not stretched: still symmetric, so still linear
        CheckRampInterior(Resize.Bicubic(img, s, antialias: false), s, 2, o - 3);
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(3.0)]
    [InlineData(1.7)]
    public void LinearRamp_IsKeptInTheInterior_OnUpscale(double s)
    {
        // Keys' cubic reproduces linear functions at any phase, away from the mirrored border
        var img = Ramp(12, 14);
        var r = Resize.Bicubic(img, s);
        CheckRampInterior(r, s, (int)Math.Ceiling(3 * s), Math.Min(r.Height, r.Width) - 1 - (int)Math.Ceiling(3 * s));
    }

    private static Image Ramp(int h, int w)
    {
        var d = new float[3 * h * w];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) d[(c * h + y) * w + x] = RampValue(c, y, x);
        return new Image(w, h, d);
    }

    private static float RampValue(int c, double y, double x) => (float)(0.1 + 0.05 * c + 0.01 * x + 0.005 * y);

    private static void CheckRampInterior(Image r, double s, int lo, int hi)
    {
        Assert.True(hi >= lo + 2, $"interior {lo}..{hi} too small");
        for (int c = 0; c < 3; c++)
            for (int i = lo; i <= hi; i++)
                for (int j = lo; j <= hi; j++)
                {
                    // 0-based source coordinate of output k: (k + 1)/s + 0.5 (1 - 1/s) - 1
                    double uy = (i + 1) / s + 0.5 * (1 - 1 / s) - 1, ux = (j + 1) / s + 0.5 * (1 - 1 / s) - 1;
                    float want = RampValue(c, uy, ux), got = r.Data[(c * r.Height + i) * r.Width + j];
                    Assert.True(Math.Abs(got - want) < 2e-6, $"scale {s}, c {c}, ({i}, {j}): {got} vs {want}");
                }
    }

    [Theory]
    [InlineData(17, 4, 0.25, true)]
    [InlineData(23, 9, 0.37, true)]
    [InlineData(23, 9, 0.37, false)]
    [InlineData(5, 20, 4.0, true)]
    [InlineData(1, 3, 3.0, true)]
    public void Weights_SumToOne_NoZeros_IndicesInRange_AndStretchOnlyWithAntialias(int n, int o, double s, bool aa)
    {
        var cw = CubicWeights.Create(n, o, s, aa);
        Assert.Equal(o + 1, cw.Start.Length);
        int maxTaps = 0;
        for (int i = 0; i < o; i++)
        {
            double sum = 0;
            for (int k = cw.Start[i]; k < cw.Start[i + 1]; k++)
            {
                Assert.InRange(cw.Index[k], 0, n - 1);
                Assert.NotEqual(0.0, cw.Weight[k]);
                sum += cw.Weight[k];
            }
            Assert.True(Math.Abs(sum - 1) < 1e-12, $"output {i}: weights sum to {sum}");
            maxTaps = Math.Max(maxTaps, cw.Start[i + 1] - cw.Start[i]);
        }
        // the cubic is non-zero on |d| < 2 (in stretched units 2/s): at most 4/s taps
        double width = aa && s < 1 ? 4 / s : 4;
        Assert.True(maxTaps <= Math.Ceiling(width), $"{maxTaps} taps for width {width}");
        if (s < 1) Assert.True(aa ? maxTaps > 4 : maxTaps <= 4);
    }

    [Fact]
    public void Cubic_IsKeysWithAMinusHalf()
    {
        Assert.Equal(1.0, CubicWeights.Cubic(0));
        Assert.Equal(0.0, CubicWeights.Cubic(1));
        Assert.Equal(0.0, CubicWeights.Cubic(2));
        Assert.Equal(0.0, CubicWeights.Cubic(2.5));
        Assert.Equal(0.5625, CubicWeights.Cubic(0.5));   // (a+2)/8 - (a+3)/4 + 1
        Assert.Equal(-0.0625, CubicWeights.Cubic(-1.5)); // a(27/8 - 45/4 + 12 - 4)
        Assert.Equal(0.8671875, CubicWeights.Cubic(0.25));
    }

    [Fact]
    public void ModCrop_KeepsTopLeftMultiple()
    {
        var rng = TestData.Rng();
        var img = Random8(rng, 23, 18);
        var m = Resize.ModCrop(img, 4);
        Assert.Equal((20, 16), (m.Width, m.Height));
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 16; y++)
                for (int x = 0; x < 20; x++)
                    Assert.Equal(img.Data[(c * 18 + y) * 23 + x], m.Data[(c * 16 + y) * 20 + x]);
        Assert.Same(img, Resize.ModCrop(img, 1));
        var i8 = Image8.FromUnit(img.Data, 18, 23, 3, PixelLayout.Chw);
        var m8 = Resize.ModCrop(i8, 4);
        Assert.Equal((16, 20, 3), (m8.Height, m8.Width, m8.Channels));
        Assert.Equal(Image8.FromUnit(m.Data, 16, 20, 3, PixelLayout.Chw).Data, m8.Data);
        var ex = Assert.Throws<InvalidArgumentException>(() => Resize.ModCrop(img, 0));
        Assert.Contains("Resize.ModCrop", ex.Message);
        ex = Assert.Throws<InvalidArgumentException>(() => Resize.ModCrop(img, 19));
        Assert.Contains("smaller than the multiple 19", ex.Message);
    }

    private static Image Random8(System.Random rng, int w, int h) => ImagingTestSupport.Random8(rng, w, h);

    [Fact]
    public void ReadmeSnippet_Runs()
    {
        var hr = ImageIO.Read(SampleData.Files[0]);
        var img = hr;
        // README "Images": the resampling and degradation example, verbatim
        var lr  = Resize.Bicubic(Resize.ModCrop(hr, 4), 0.25);      // MATLAB imresize(hr, 1/4, 'bicubic'), float
        var lr8 = Resize.BicubicUint8(hr, 0.25);                    // the uint8 path: each pass clipped and rounded
        var up  = Resize.Bicubic(lr, 64, 96);                       // explicit output size; tensors (C,H,W)/(N,C,H,W) too
        var low = Filters.GaussianBlur(img, 9, 4.0);                // cv2.GaussianBlur, BorderMode.Reflect101 default
        var jpg = ImageIO.JpegRoundTrip(img, quality: 30);          // stb encode + decode in memory
        Assert.Equal((hr.Height / 4, hr.Width / 4), (lr.Height, lr.Width));
        Assert.Equal(((hr.Height + 3) / 4, (hr.Width + 3) / 4), (lr8.Height, lr8.Width));
        Assert.Equal((64, 96), (up.Height, up.Width));
        Assert.Equal((img.Width, img.Height), (low.Width, low.Height));
        Assert.Equal((img.Width, img.Height), (jpg.Width, jpg.Height));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void BadScale_Throws(double scale)
    {
        var img = new Image(4, 4, new float[48]);
        var ex = Assert.Throws<InvalidArgumentException>(() => Resize.Bicubic(img, scale));
        Assert.Contains("Resize.Bicubic", ex.Message);
        Assert.Contains("scale", ex.Message);
        ex = Assert.Throws<InvalidArgumentException>(() => Resize.BicubicUint8(img, scale));
        Assert.Contains("Resize.BicubicUint8", ex.Message);
    }

    [Theory]
    [InlineData(0, 4)]
    [InlineData(4, -1)]
    public void BadOutputSize_Throws(int oh, int ow)
    {
        var img = new Image(4, 4, new float[48]);
        var ex = Assert.Throws<InvalidArgumentException>(() => Resize.Bicubic(img, oh, ow));
        Assert.Contains($"{oh}x{ow}", ex.Message);
        Assert.Throws<InvalidArgumentException>(() => Resize.Bicubic(img, 1e9));
    }
}

[Collection("CpuMemory")] // asserts on process-wide CpuMemory counters: runs alone
public class ResizeFilterTensorErrorTests
{
    [Fact]
    public void WrongRankOrDType_ThrowsBeforeAllocating()
    {
        using var r2 = Tensor.Zeros([4, 4]);
        ErrorAssert.Fails<RankException>(() => Resize.Bicubic(r2, 0.5), "Resize.Bicubic", "[4, 4]");
        ErrorAssert.Fails<RankException>(() => Filters.GaussianBlur(r2, 3, 1.0), "Filters.GaussianBlur", "[4, 4]");
        using var i32 = Tensor.FromArray(new int[48], [3, 4, 4]);
        ErrorAssert.Fails<DTypeMismatchException>(() => Resize.Bicubic(i32, 4, 4), "Resize.Bicubic", "i32");
        ErrorAssert.Fails<DTypeMismatchException>(() => Filters.GaussianBlur(i32, 3, 1.0), "Filters.GaussianBlur");
        using var ok = Tensor.Zeros([1, 3, 4, 4]);
        ErrorAssert.Fails<InvalidArgumentException>(() => Resize.Bicubic(ok, -1.0), "Resize.Bicubic", "scale");
        ErrorAssert.Fails<InvalidArgumentException>(() => Filters.GaussianBlur(ok, 4, 1.0), "Filters.GaussianBlur", "odd");
    }
}
