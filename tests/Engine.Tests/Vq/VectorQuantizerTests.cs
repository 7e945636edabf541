// Models.Nn.VectorQuantizer on every device row: NCHW maps in and out (codes per pixel, the
// straight-through value equal to the pre-update codebook rows), the commitment loss and the input
// gradient in closed form, the EMA state moving only in training, the gradient-codebook mode's
// codebook gradient, and the accelerator rows against the CPU backend.
using Engine.Autograd;
using Engine.Models.Nn;
using Engine.Tests.Support;
using Xunit;
using static Engine.Tests.Vq.VqReference;

namespace Engine.Tests.Vq;

public class VectorQuantizerTests
{
    public static TheoryData<string> Devices => TestDevices.AllRows;

    private sealed record Result(double[] Quantized, int[] Indices, double Loss, double[] GradZ, double[] CodebookAfter, double[]? CodebookGrad, double Perplexity, int[] Counts);

    private static Result Step(Device dev, double decay, double[] z, int[] shape, bool training = true)
    {
        using var scope = TensorScope.Begin();
        using var vq = new VectorQuantizer(new VectorQuantizerOptions { NumCodes = 16, Dim = 8, Decay = decay, Seed = 11, DeadCodeThreshold = decay > 0 ? 0.05 : 0, Device = dev })
        { Training = training };
        if (decay > 0 && dev != Device.Cpu)
        {
            // The EMA codebook starts from Philox normals, which agree across backends only up to the
            // rounding of log/sin/cos (the documented contract); start every device from the CPU's draw
            // so the bitwise comparisons below test the quantizer, not the math libraries.
            using var cpu = Tensor.Normal([16, 8], 11, 0, 0, 1, DType.F32);
            using var onDev = cpu.To(dev);
            vq.Codebook.Data.CopyFrom(onDev);
            vq.EmbedSum!.CopyFrom(onDev);
        }
        var before = Get(vq.Codebook.Data);
        var zv = new Var(Put(z, shape, DType.F32, dev), requiresGrad: true);
        var o = vq.Forward(zv, channelsFirst: true);
        Assert.Equal(shape, o.Quantized.Shape);
        Assert.Equal([shape[0], shape[2], shape[3]], o.Indices.Shape);
        var idx = GetIdx(o.Indices);
        var qv = Get(o.Quantized.Data.Contiguous());
        // Quantized pixel (b, :, h, w) = the pre-update code of that pixel.
        int b = shape[0], d = shape[1], h = shape[2], w = shape[3];
        for (int n = 0; n < b; n++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int code = idx[(n * h + y) * w + x];
                    for (int c = 0; c < d; c++)
                        Assert.True(qv[((n * d + c) * h + y) * w + x] == before[code * d + c], $"pixel ({n}, {y}, {x}) channel {c} on {dev}");
                }
        var total = F.Add(o.Loss, F.Sum(o.Quantized));
        total.Backward();
        var r = new Result(qv, idx, o.Loss.Item(), Get(zv.Grad!), Get(vq.Codebook.Data), vq.Codebook.Grad is { } g ? Get(g) : null,
            o.Perplexity.Item(), GetIdx(o.Counts));
        return r;
    }

    private static (double[] z, int[] shape) Input()
    {
        var rng = TestData.Rng(nameof(VectorQuantizerTests));
        int[] shape = [2, 8, 3, 5];
        return (Normal(rng, 2 * 8 * 3 * 5), shape);
    }

    [Theory, MemberData(nameof(Devices))]
    public void EmaQuantizerOnMaps(string device)
    {
        var dev = TestDevices.Get(device);
        var (z, shape) = Input();
        var r = Step(dev, 0.99, z, shape);
        // Loss = beta * mean((z - q)^2); dz = 1 (straight through the sum) + 2 beta (z - q) / numel.
        int numel = z.Length;
        var zr = Round(z, DType.F32);
        double mse = zr.Zip(r.Quantized, (a, q) => (a - q) * (a - q)).Sum() / numel;
        Assert.True(Math.Abs(r.Loss - 0.25 * mse) <= 1e-6 * Math.Max(1, mse), $"{device}: loss {r.Loss}, expected {0.25 * mse}");
        for (int i = 0; i < numel; i++)
        {
            double want = 1 + 2 * 0.25 * (zr[i] - r.Quantized[i]) / numel;
            Assert.True(Math.Abs(r.GradZ[i] - want) <= 1e-6, $"{device}: dz[{i}] = {r.GradZ[i]}, expected {want}");
        }
        Assert.Null(r.CodebookGrad);
        Assert.Equal(30, r.Counts.Sum());
        Assert.True(r.Perplexity >= 1 && r.Perplexity <= 16, $"{device}: perplexity {r.Perplexity}");

        // Training moved the codebook; evaluation leaves it as initialised.
        var eval = Step(dev, 0.99, z, shape, training: false);
        Assert.NotEqual(eval.CodebookAfter, r.CodebookAfter);
        using (TensorScope.Begin())
        using (var fresh = new VectorQuantizer(new VectorQuantizerOptions { NumCodes = 16, Dim = 8, Seed = 11 }))
            Assert.Equal(Get(fresh.Codebook.Data), eval.CodebookAfter); // Step starts every device from the CPU's draw

        if (dev != Device.Cpu) SameAsCpu(r, Step(Device.Cpu, 0.99, z, shape), device);
    }

    [Theory, MemberData(nameof(Devices))]
    public void GradientCodebookQuantizerOnMaps(string device)
    {
        var dev = TestDevices.Get(device);
        var (z, shape) = Input();
        var r = Step(dev, 0, z, shape);
        Assert.NotNull(r.CodebookGrad);
        // dL/de_k = 2 * (codebook weight 1) * sum over the pixels of code k of (e_k - z) / numel.
        int d = shape[1], hw = shape[2] * shape[3], numel = z.Length;
        var zr = Round(z, DType.F32);
        var want = new double[16 * d];
        for (int p = 0; p < r.Indices.Length; p++)
        {
            int n = p / hw, s = p % hw;
            for (int c = 0; c < d; c++)
            {
                int at = (n * d + c) * hw + s;
                want[r.Indices[p] * d + c] += 2.0 * (r.Quantized[at] - zr[at]) / numel;
            }
        }
        AssertClose(want, r.CodebookGrad!, 1e-5, 1e-7, $"{device}: codebook gradient");
        if (dev != Device.Cpu) SameAsCpu(r, Step(Device.Cpu, 0, z, shape), device);
    }

    private static void SameAsCpu(Result r, Result cpu, string device)
    {
        Assert.Equal(cpu.Indices, r.Indices);
        AssertSameBits(cpu.Quantized, r.Quantized, $"{device}: quantized vs cpu");
        AssertSameBits(cpu.CodebookAfter, r.CodebookAfter, $"{device}: codebook after the step vs cpu");
        AssertClose(cpu.GradZ, r.GradZ, 1e-6, 1e-7, $"{device}: input gradient vs cpu");
        Assert.True(Math.Abs(cpu.Loss - r.Loss) <= 1e-6 * Math.Max(1, cpu.Loss), $"{device}: loss {r.Loss} vs cpu {cpu.Loss}");
        if (cpu.CodebookGrad != null) AssertSameBits(cpu.CodebookGrad, r.CodebookGrad!, $"{device}: codebook gradient vs cpu");
    }
}
