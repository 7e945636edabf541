// Golden forward values: every case in Golden/ops.json (written by Golden/gen_ops.py with PyTorch
// in float64; the torch version is in the file) is run through Engine.Ops in F64 and in F32 and
// compared element by element. Inputs are float32-representable, so both dtypes see exactly the
// reference's inputs. A failure prints the case, its parameters, the first mismatching index with
// both values, and the max abs/rel error. Regenerate: /usr/bin/python3 tests/Engine.Tests/Golden/gen_ops.py
// Every case also runs on the accelerator rows (TestDevices: the real GPU and the host emulation of
// the CUDA kernels): inputs are made on the CPU and moved to the device, results come back to the
// CPU and must match the golden values and, by the "parity" tolerance, the CPU backend's result.
using System.Text;
using System.Text.Json;
using Engine;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.TensorCore;

public class GoldenOpTests
{
    // ------------------------------------------------------------------ tolerances
    /// <summary>The one tolerance table for golden comparisons, by dtype and op class:
    /// |ours - ref| &lt;= rtol * |ref| + atol, where atol for "accumulate" ops (sums, matmul, conv) is
    /// scaled by the largest |ref| of that output, since their rounding error is relative to the
    /// terms, not to a (possibly cancelled) result.</summary>
    public static (double rtol, double atol, bool scaled) Tolerance(DType dt, string tolClass) => (dt, tolClass) switch
    {
        (_, "exact") => (0, 0, false),
        (DType.F64, "elementwise") => (1e-12, 1e-300, false),
        (DType.F32, "elementwise") => (1e-5, 1e-37, false),
        (DType.F64, "accumulate") => (1e-12, 1e-12, true),
        (DType.F32, "accumulate") => (1e-5, 1e-5, true),
        // device vs CPU backend: both round differently (FMA contraction, summation order, the
        // device math library), so atol scales with the output's magnitude as for "accumulate"
        (DType.F64, "parity") => (1e-12, 1e-12, true),
        (DType.F32, "parity") => (1e-5, 1e-5, true),
        _ => throw new ArgumentException($"no tolerance for {dt} / {tolClass}"),
    };

    // ------------------------------------------------------------------ golden file
    public sealed record GTensor(int[] Shape, double[]? F, int[]? I, int[]? Permute);
    public sealed record GCase(string Name, string Op, JsonElement Params, GTensor[] Inputs, GTensor[] Outputs, string Tol, bool F32);
    public sealed record GFile(string TorchVersion, string Generator, Dictionary<string, GCase> Cases);

    private static readonly Lazy<GFile> File = new(Load);
    public static GFile Golden => File.Value;

    private static double Num(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String => e.GetString() switch
        {
            "nan" => double.NaN,
            "inf" => double.PositiveInfinity,
            "-inf" => double.NegativeInfinity,
            var s => throw new FormatException($"bad number '{s}' in ops.json"),
        },
        _ => throw new FormatException($"bad value {e} in ops.json"),
    };

    private static GTensor ReadTensor(JsonElement t, int[]? permute = null)
    {
        var shape = t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var data = t.GetProperty("data");
        return t.GetProperty("dtype").GetString() == "i32"
            ? new GTensor(shape, null, data.EnumerateArray().Select(e => e.GetInt32()).ToArray(), permute)
            : new GTensor(shape, data.EnumerateArray().Select(Num).ToArray(), null, permute);
    }

    private static GFile Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Golden", "ops.json");
        using var doc = JsonDocument.Parse(System.IO.File.ReadAllText(path));
        var root = doc.RootElement;
        var tensors = root.GetProperty("tensors").EnumerateArray().Select(t => ReadTensor(t)).ToArray();
        var cases = new Dictionary<string, GCase>();
        foreach (var c in root.GetProperty("cases").EnumerateArray())
        {
            var inputs = c.GetProperty("inputs").EnumerateArray().Select(i =>
            {
                var t = tensors[i.GetProperty("ref").GetInt32()];
                return i.TryGetProperty("permute", out var p) ? t with { Permute = p.EnumerateArray().Select(e => e.GetInt32()).ToArray() } : t;
            }).ToArray();
            var outputs = c.GetProperty("outputs").EnumerateArray().Select(o => ReadTensor(o)).ToArray();
            var gc = new GCase(c.GetProperty("name").GetString()!, c.GetProperty("op").GetString()!, c.GetProperty("params").Clone(),
                inputs, outputs, c.GetProperty("tol").GetString()!, c.GetProperty("f32").GetBoolean());
            cases.Add(gc.Name, gc);
        }
        return new GFile(root.GetProperty("torch_version").GetString()!, root.GetProperty("generator").GetString()!, cases);
    }

    public static TheoryData<string> F64Cases => new(Golden.Cases.Keys.Order(StringComparer.Ordinal));
    public static TheoryData<string> F32Cases => new(Golden.Cases.Values.Where(c => c.F32).Select(c => c.Name).Order(StringComparer.Ordinal));

    private static TheoryData<string, string> OnDevices(TheoryData<string> cases)
    {
        var r = new TheoryData<string, string>();
        foreach (var row in TestDevices.Accelerators)
            foreach (string name in cases) r.Add(row, name);
        return r;
    }

    public static TheoryData<string, string> F64DeviceCases => OnDevices(F64Cases);
    public static TheoryData<string, string> F32DeviceCases => OnDevices(F32Cases);

    // The CPU rows keep their original test names; the accelerator rows run the same body.
    [Theory]
    [MemberData(nameof(F64Cases))]
    public void MatchesTorchF64(string name) => Run(Golden.Cases[name], DType.F64, TestDevices.Cpu);

    [Theory]
    [MemberData(nameof(F32Cases))]
    public void MatchesTorchF32(string name) => Run(Golden.Cases[name], DType.F32, TestDevices.Cpu);

    [Theory]
    [MemberData(nameof(F64DeviceCases))]
    public void MatchesTorchF64On(string device, string name) => Run(Golden.Cases[name], DType.F64, device);

    [Theory]
    [MemberData(nameof(F32DeviceCases))]
    public void MatchesTorchF32On(string device, string name) => Run(Golden.Cases[name], DType.F32, device);

    /// <summary>Ops the CUDA backend hands to cuDNN, which the host emulation does not have (matmul's
    /// GEMM runs there through a reference of cuBLAS's column-major contract).</summary>
    private static bool NeedsVendorLibrary(GCase c) => c.Op.Split(':')[0] is "conv2d" or "conv_transpose2d";

    // ------------------------------------------------------------------ running a case
    /// <summary>The input on <paramref name="device"/>: made on the CPU, moved, then permuted there
    /// (so a permuted input stays a non-contiguous view on the device).</summary>
    private static Tensor MakeInput(GTensor g, DType dt, Device device)
    {
        Tensor t;
        if (g.I != null) t = Tensor.FromArray(g.I, g.Shape);
        else if (dt == DType.F64) t = Tensor.FromArray(g.F!, g.Shape);
        else t = Tensor.FromArray(Array.ConvertAll(g.F!, v => (float)v), g.Shape);
        if (device != Device.Cpu)
        {
            var moved = t.To(device);
            t.Dispose();
            t = moved;
        }
        return g.Permute == null ? t : t.Permute(g.Permute);
    }

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(v => v.GetInt32()).ToArray();
    private static int[]? IntsOrNull(JsonElement p, string key) => p.GetProperty(key).ValueKind == JsonValueKind.Null ? null : Ints(p.GetProperty(key));

    /// <summary>Runs the case; each result is (label, tensor, golden output it must equal, expected shape).</summary>
    private static List<(string label, Tensor y, GTensor want, int[] shape)> Compute(GCase c, DType dt, Device device)
    {
        var x = c.Inputs.Select(i => MakeInput(i, dt, device)).ToArray();
        var p = c.Params;
        var o = c.Outputs;
        var r = new List<(string, Tensor, GTensor, int[])>();
        void One(string label, Tensor y) => r.Add((label, y, o[0], o[0].Shape));
        string[] op = c.Op.Split(':');
        switch (op[0])
        {
            case "unary":
            {
                var u = Enum.Parse<UnaryOp>(op[1]);
                double a = p.GetProperty("alpha").GetDouble(), b = p.GetProperty("beta").GetDouble();
                One("Ops.Unary", Ops.Unary(u, x[0], a, b));
                One("Ops." + u, Named(u, x[0], a, b));
                break;
            }
            case "binary":
            {
                var bo = Enum.Parse<BinaryOp>(op[1]);
                One("Ops.Binary", Ops.Binary(bo, x[0], x[1]));
                One("Ops." + bo, Named(bo, x[0], x[1]));
                break;
            }
            case "binary_scalar":
                One("Ops.BinaryScalar", Ops.BinaryScalar(Enum.Parse<BinaryOp>(op[1]), x[0], p.GetProperty("scalar").GetDouble(), p.GetProperty("scalar_first").GetBoolean()));
                break;
            case "where":
                One("Ops.Where", Ops.Where(x[0], x[1], x[2]));
                using (var ci = x[0].To(DType.I32)) One("Ops.Where(i32 cond)", Ops.Where(ci, x[1], x[2]));
                break;
            case "reduce":
            {
                var ro = Enum.Parse<ReduceOp>(op[1]);
                var drop = Ints(p.GetProperty("drop_shape"));
                foreach (bool keep in new[] { false, true })
                {
                    Tensor y;
                    if (ro is ReduceOp.ArgMax or ReduceOp.ArgMin)
                    {
                        int? dim = p.GetProperty("dim").ValueKind == JsonValueKind.Null ? null : p.GetProperty("dim").GetInt32();
                        y = ro == ReduceOp.ArgMax ? Ops.ArgMax(x[0], dim, keep) : Ops.ArgMin(x[0], dim, keep);
                    }
                    else
                    {
                        var axes = IntsOrNull(p, "axes");
                        int corr = p.GetProperty("correction").GetInt32();
                        y = ro switch
                        {
                            ReduceOp.Sum => Ops.Sum(x[0], axes, keep),
                            ReduceOp.Mean => Ops.Mean(x[0], axes, keep),
                            ReduceOp.Max => Ops.Max(x[0], axes, keep),
                            ReduceOp.Min => Ops.Min(x[0], axes, keep),
                            ReduceOp.LogSumExp => Ops.LogSumExp(x[0], axes, keep),
                            ReduceOp.Var => Ops.Var(x[0], axes, keep, corr),
                            _ => throw new InvalidOperationException(c.Op),
                        };
                    }
                    r.Add(($"Ops.{ro} keepDim={keep}", y, o[0], keep ? o[0].Shape : drop));
                }
                break;
            }
            case "matmul":
                One("Ops.Matmul", Ops.Matmul(x[0], x[1], p.GetProperty("transA").GetBoolean(), p.GetProperty("transB").GetBoolean()));
                break;
            case "conv2d":
                One("Ops.Conv2d", Ops.Conv2d(x[0], x[1], x.Length > 2 ? x[2] : null, ConvParams(p)));
                break;
            case "conv_transpose2d":
            {
                var op2 = Ints(p.GetProperty("output_padding"));
                One("Ops.ConvTranspose2d", Ops.ConvTranspose2d(x[0], x[1], x.Length > 2 ? x[2] : null, ConvParams(p), op2[0], op2[1]));
                break;
            }
            case "pixel_shuffle": One("Ops.PixelShuffle", Ops.PixelShuffle(x[0], p.GetProperty("r").GetInt32())); break;
            case "pixel_unshuffle": One("Ops.PixelUnshuffle", Ops.PixelUnshuffle(x[0], p.GetProperty("r").GetInt32())); break;
            case "concat": One("Ops.Concat", Ops.Concat(x, p.GetProperty("dim").GetInt32())); break;
            case "stack": One("Ops.Stack", Ops.Stack(x, p.GetProperty("dim").GetInt32())); break;
            case "split":
            case "chunk":
            {
                int dim = p.GetProperty("dim").GetInt32();
                var parts = op[0] == "chunk" ? Ops.Chunk(x[0], p.GetProperty("chunks").GetInt32(), dim)
                    : p.TryGetProperty("sizes", out var sz) ? Ops.Split(x[0], Ints(sz), dim)
                    : Ops.Split(x[0], p.GetProperty("size").GetInt32(), dim);
                Assert.True(parts.Length == o.Length, $"{c.Name}: {op[0]} gave {parts.Length} pieces, torch gives {o.Length} " +
                    $"({string.Join(", ", parts.Select(t => Fmt(t.Shape)))} vs {string.Join(", ", o.Select(t => Fmt(t.Shape)))})");
                for (int i = 0; i < parts.Length; i++) r.Add(($"Ops.{(op[0] == "chunk" ? "Chunk" : "Split")}[{i}]", parts[i], o[i], o[i].Shape));
                break;
            }
            default: throw new InvalidOperationException($"golden case {c.Name}: unknown op '{c.Op}'");
        }
        if (op[0] is not ("split" or "chunk"))
            Assert.True(o.Length == 1, $"{c.Name}: expected one golden output");
        return r;
    }

    private static Conv2dParams ConvParams(JsonElement p)
    {
        var s = Ints(p.GetProperty("stride")); var pd = Ints(p.GetProperty("padding")); var d = Ints(p.GetProperty("dilation"));
        return new Conv2dParams(s[0], s[1], pd[0], pd[1], d[0], d[1], p.GetProperty("groups").GetInt32());
    }

    /// <summary>The named wrapper for each unary op (Ops.Exp, Ops.Clamp, ...): tested as well as Ops.Unary.</summary>
    private static Tensor Named(UnaryOp u, Tensor x, double a, double b) => u switch
    {
        UnaryOp.Neg => Ops.Neg(x), UnaryOp.Abs => Ops.Abs(x), UnaryOp.Exp => Ops.Exp(x), UnaryOp.Log => Ops.Log(x),
        UnaryOp.Sqrt => Ops.Sqrt(x), UnaryOp.Rsqrt => Ops.Rsqrt(x), UnaryOp.Square => Ops.Square(x),
        UnaryOp.Sigmoid => Ops.Sigmoid(x), UnaryOp.Tanh => Ops.Tanh(x), UnaryOp.Softplus => Ops.Softplus(x),
        UnaryOp.Relu => Ops.Relu(x), UnaryOp.LeakyRelu => Ops.LeakyRelu(x, a), UnaryOp.Elu => Ops.Elu(x, a),
        UnaryOp.Gelu => Ops.Gelu(x), UnaryOp.Clamp => Ops.Clamp(x, a, b), UnaryOp.PowScalar => Ops.Pow(x, a),
        UnaryOp.Sign => Ops.Sign(x), UnaryOp.Reciprocal => Ops.Reciprocal(x), UnaryOp.Sin => Ops.Sin(x),
        UnaryOp.Cos => Ops.Cos(x), UnaryOp.Log1p => Ops.Log1p(x), UnaryOp.Expm1 => Ops.Expm1(x), UnaryOp.Erf => Ops.Erf(x),
        _ => throw new InvalidOperationException($"no named wrapper mapped for {u}"),
    };

    private static Tensor Named(BinaryOp o, Tensor a, Tensor b) => o switch
    {
        BinaryOp.Add => Ops.Add(a, b), BinaryOp.Sub => Ops.Sub(a, b), BinaryOp.Mul => Ops.Mul(a, b), BinaryOp.Div => Ops.Div(a, b),
        BinaryOp.Pow => Ops.Pow(a, b), BinaryOp.Maximum => Ops.Maximum(a, b), BinaryOp.Minimum => Ops.Minimum(a, b),
        BinaryOp.Eq => Ops.Eq(a, b), BinaryOp.Ne => Ops.Ne(a, b), BinaryOp.Lt => Ops.Lt(a, b), BinaryOp.Le => Ops.Le(a, b),
        BinaryOp.Gt => Ops.Gt(a, b), BinaryOp.Ge => Ops.Ge(a, b),
        _ => throw new InvalidOperationException($"no named wrapper mapped for {o}"),
    };

    private static void Run(GCase c, DType dt, string row)
    {
        if (row == TestDevices.Emu && NeedsVendorLibrary(c)) Assert.Skip("host emulation has no cuDNN");
        var device = TestDevices.Get(row);
        using var scope = TensorScope.Begin();
        var results = Compute(c, dt, device);
        var oracle = device == Device.Cpu ? null : Compute(c, dt, Device.Cpu);
        for (int k = 0; k < results.Count; k++)
        {
            var (label, yDev, want, shape) = results[k];
            string head = $"golden case '{c.Name}' [{dt}] via {label}{(device == Device.Cpu ? "" : $" on {row} ({device})")}, params {c.Params.GetRawText()}";
            Assert.True(yDev.Device == device, $"{head}: result on {yDev.Device}");
            var y = yDev.To(Device.Cpu);
            Assert.True(y.Shape.AsSpan().SequenceEqual(shape), $"{head}: shape {Fmt(y.Shape)}, torch {Fmt(shape)}");
            if (want.I != null)
            {
                Assert.True(y.DType == DType.I32, $"{head}: dtype {y.DType}, torch gives integer indices");
                var got = y.ToArray<int>();
                int bad = Enumerable.Range(0, got.Length).FirstOrDefault(i => got[i] != want.I[i], -1);
                Assert.True(bad < 0, bad < 0 ? "" : $"{head}: first mismatch at {Index(shape, bad)}: ours {got[bad]}, torch {want.I[bad]}\n  ours  [{string.Join(", ", got)}]\n  torch [{string.Join(", ", want.I)}]");
                if (oracle != null)
                {
                    var cpu = oracle[k].y.ToArray<int>();
                    int diff = Enumerable.Range(0, got.Length).FirstOrDefault(i => got[i] != cpu[i], -1);
                    Assert.True(diff < 0, diff < 0 ? "" : $"{head}: parity with cpu: first mismatch at {Index(shape, diff)}: {row} {got[diff]}, cpu {cpu[diff]}");
                }
                continue;
            }
            Assert.True(y.DType == dt, $"{head}: result dtype {y.DType}, expected {dt}");
            var ours = y.ToDoubleArray();
            var err = Compare(ours, want.F!, Tolerance(dt, c.Tol));
            Assert.True(err == null, err == null ? "" : $"{head}, shape {Fmt(shape)}: {Describe(err.Value, shape)}");
            if (oracle != null)
            {
                var parity = Compare(ours, oracle[k].y.ToDoubleArray(), Tolerance(dt, c.Tol == "exact" ? "exact" : "parity"));
                Assert.True(parity == null, parity == null ? "" : $"{head}, shape {Fmt(shape)}: parity with cpu: {Describe(parity.Value, shape, "cpu")}");
            }
        }
    }

    // ------------------------------------------------------------------ comparison
    public readonly record struct Mismatch(int Count, int First, double Ours, double Ref, double MaxAbs, double MaxRel, double Rtol, double Atol);

    /// <summary>Null when every element is within tolerance (NaN matches NaN, infinities match exactly).</summary>
    public static Mismatch? Compare(double[] ours, double[] reference, (double rtol, double atol, bool scaled) tol)
    {
        if (ours.Length != reference.Length) return new Mismatch(Math.Abs(ours.Length - reference.Length), -1, ours.Length, reference.Length, double.NaN, double.NaN, tol.rtol, tol.atol);
        double scale = 0;
        foreach (double v in reference) if (double.IsFinite(v)) scale = Math.Max(scale, Math.Abs(v));
        double atol = tol.scaled ? tol.atol * scale : tol.atol;
        int count = 0, first = -1;
        double maxAbs = 0, maxRel = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double o = ours[i], r = reference[i];
            bool ok;
            if (double.IsNaN(r) || double.IsNaN(o)) ok = double.IsNaN(r) && double.IsNaN(o);
            else if (double.IsInfinity(r) || double.IsInfinity(o)) ok = o == r;
            else
            {
                double d = Math.Abs(o - r);
                maxAbs = Math.Max(maxAbs, d);
                if (r != 0) maxRel = Math.Max(maxRel, d / Math.Abs(r));
                ok = d <= tol.rtol * Math.Abs(r) + atol;
            }
            if (!ok) { count++; if (first < 0) first = i; }
        }
        return count == 0 ? null : new Mismatch(count, first, ours[first], reference[first], maxAbs, maxRel, tol.rtol, atol);
    }

    private static string Describe(Mismatch m, int[] shape, string reference = "torch") =>
        m.First < 0 ? $"length {m.Ours} vs {reference} {m.Ref}"
        : $"{m.Count} element(s) out of tolerance (rtol {m.Rtol:G3}, atol {m.Atol:G3}); first at {Index(shape, m.First)}: " +
          $"ours {m.Ours:R}, {reference} {m.Ref:R}; max abs err {m.MaxAbs:G3}, max rel err {m.MaxRel:G3}";

    private static string Index(int[] shape, int flat)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--) { idx[d] = flat % Math.Max(shape[d], 1); flat /= Math.Max(shape[d], 1); }
        return "[" + string.Join(", ", idx) + "]";
    }

    private static string Fmt(int[] s) => "[" + string.Join(", ", s) + "]";

    // ------------------------------------------------------------------ the harness itself
    [Fact]
    public void GoldenFileCarriesProvenanceAndCoversEveryOp()
    {
        var g = Golden;
        Assert.False(string.IsNullOrWhiteSpace(g.TorchVersion));
        Assert.True(System.IO.File.Exists(Path.Combine(AppContext.BaseDirectory, "Golden", "gen_ops.py")), "the generating script must sit beside ops.json");
        Assert.True(g.Cases.Count > 300, $"only {g.Cases.Count} golden cases loaded");
        var ops = g.Cases.Values.Select(c => c.Op).ToHashSet();
        var missing = new StringBuilder();
        foreach (var u in Enum.GetValues<UnaryOp>()) if (!ops.Contains("unary:" + u)) missing.Append($" unary:{u}");
        foreach (var b in Enum.GetValues<BinaryOp>()) if (!ops.Contains("binary:" + b)) missing.Append($" binary:{b}");
        foreach (var r in Enum.GetValues<ReduceOp>()) if (!ops.Contains("reduce:" + r)) missing.Append($" reduce:{r}");
        foreach (var s in new[] { "matmul", "conv2d", "conv_transpose2d", "pixel_shuffle", "pixel_unshuffle", "concat", "stack", "split", "chunk", "where" })
            if (!ops.Contains(s)) missing.Append(' ').Append(s);
        Assert.True(missing.Length == 0, "ops without golden cases (add them to gen_ops.py):" + missing);
        // every op class must also run in F32 somewhere
        var f32Ops = g.Cases.Values.Where(c => c.F32).Select(c => c.Op).ToHashSet();
        Assert.True(ops.SetEquals(f32Ops), "ops with no F32 golden case: " + string.Join(", ", ops.Except(f32Ops)));
    }

    [Fact]
    public void ComparisonRejectsWrongValues()
    {
        var reference = new[] { 1.0, -2.0, 1e-20, double.NaN, double.PositiveInfinity, 0.0 };
        var tol = Tolerance(DType.F64, "elementwise");
        Assert.Null(Compare((double[])reference.Clone(), reference, tol));
        foreach (var (i, v) in new (int, double)[] { (0, 1 + 1e-10), (1, 2.0), (2, 1.0001e-20), (3, 0.0), (4, double.MaxValue), (5, 1e-200), (4, double.NaN) })
        {
            var bad = (double[])reference.Clone();
            bad[i] = v;
            var m = Compare(bad, reference, tol);
            Assert.True(m is { Count: 1 } && m.Value.First == i, $"perturbing [{i}] to {v} was not caught");
        }
        // "accumulate" tolerances scale with the output's magnitude, still far below an error
        var acc = Tolerance(DType.F32, "accumulate");
        Assert.Null(Compare([1000.0, 1e-3], [1000.0, 1e-3 + 1e-3], acc));
        Assert.NotNull(Compare([1000.0, 0.1], [1000.0, 0.2], acc));
        // device-vs-cpu parity: scaled like "accumulate", exact for copies
        Assert.Null(Compare([1000.0, 1e-3], [1000.0 + 1e-3, 1e-3 + 1e-3], Tolerance(DType.F32, "parity")));
        Assert.NotNull(Compare([1.0, 2.0], [1.0, 2.0 + 1e-9], Tolerance(DType.F64, "parity")));
        Assert.NotNull(Compare([1.0], [BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(1.0) + 1)], Tolerance(DType.F64, "exact")));
    }
}
