// CPU/GPU agreement of one LUD-VAE training step (both variants): the same weights, batch, seed
// and step give the same loss and the same parameter gradients on the CUDA backend as on the CPU.
// Needs a real GPU (the host emulation has no convolutions), so the row skips without one.
using Engine.Models.Degradation;
using Engine.Models.LudVae;
using Engine.Models.Nn;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.LudVae;

public sealed class LudVaeDeviceTests
{
    private static IDegradationVae Make(string kind, Device dev) => kind switch
    {
        "ludvae" => new Engine.Models.Degradation.LudVae(new LudVaeVqConfig(Channels: 16, ResChannels: 8, NumRes: 1, EmbedDim: 16, NumCodes: 32, NoiseLatentChannels: 8, BlurSize: 5, BlurSigma: 1.5, Seed: 3), DType.F32, dev),
        _ => new LudVaeTpami(new ParamInit(3, DType.F32, dev), new LudVaeTpamiConfig(Features: 8)),
    };

    [Theory]
    [InlineData("ludvae")]
    [InlineData("ludvae-tpami")]
    public void One_training_step_agrees_between_cpu_and_cuda(string kind)
    {
        var dev = TestDevices.Get(TestDevices.Cuda);
        using var cpu = Make(kind, Device.Cpu);
        using var gpu = Make(kind, dev);
        gpu.Module.LoadStateDict(cpu.Module.StateDict());
        var x = Tensor.Uniform([4, 3, 16, 16], 11, 0, 0, 1);
        bool[] deg = [true, false, true, false];
        double lc, lg;
        using (TensorScope.Begin())
        {
            var a = cpu.Loss(x, deg, 500, 9);
            a.Total.Backward();
            lc = a.Total.Data.Item();
        }
        using (TensorScope.Begin())
        {
            var b = gpu.Loss(x.To(dev), deg, 500, 9);
            b.Total.Backward();
            lg = b.Total.Data.Item();
        }
        Assert.True(Math.Abs(lc - lg) <= 1e-4 * Math.Max(1, Math.Abs(lc)), $"loss cpu {lc} vs cuda {lg}");
        var gp = gpu.Module.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        foreach (var (name, p) in cpu.Module.NamedParameters())
        {
            if (p.Grad == null) { Assert.Null(gp[name].Grad); continue; }
            var c = p.Grad.ToFloatArray();
            var g = gp[name].Grad!.ToFloatArray();
            double scale = c.Max(v => Math.Abs(v)) + 1e-6;
            for (int i = 0; i < c.Length; i++)
                Assert.True(Math.Abs(c[i] - g[i]) <= 2e-3 * scale, $"{kind} grad {name}[{i}]: cpu {c[i]} vs cuda {g[i]}");
        }
    }
}
