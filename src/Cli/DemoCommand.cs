// `engine demo`: an end-to-end check that the engine learns. Generates smooth random images
// (sums of random oriented sinusoids) and noisy copies, trains a 3-layer residual conv denoiser
// with SGD + momentum on the CPU or a GPU (--device), and prints the loss falling and the PSNR gain on held-out data.
using System.CommandLine;
using System.Diagnostics;
using Engine.Autograd;
using Engine.Cpu;
using Engine.Models.Nn;
using Spectre.Console;

namespace Engine.Cli;

internal static class DemoCommand
{
    public static Command Build(IAnsiConsole con)
    {
        var steps = Opt.Int("steps", 300, "training steps", min: 1);
        var batch = Opt.Int("batch", 8, "images per step", min: 1);
        var size = Opt.Int("size", 32, "image side in pixels", min: 8);
        var lr = Opt.Double("lr", 0.05, "SGD learning rate (momentum 0.9)", min: 0);
        var noise = Opt.Double("noise", 0.1, "std of the Gaussian noise added to the clean images", min: 0);
        var seed = CommonOptions.Seed(1);
        var threads = Opt.Int("threads", Environment.ProcessorCount, "CPU threads (default: all cores)", min: 1);
        var device = CommonOptions.Device("cpu");
        var cmd = new Command("demo", "train a small residual conv denoiser on generated images and watch the loss fall")
        {
            steps, batch, size, lr, noise, seed, threads, device,
        };
        cmd.SetAction(pr => Run(con, pr.GetValue(steps), pr.GetValue(batch), pr.GetValue(size), pr.GetValue(lr), pr.GetValue(noise),
            pr.GetValue(seed), pr.GetValue(threads), pr.GetValue(device)));
        return cmd;
    }

    public static int Run(IAnsiConsole con, int steps, int batch, int size, double lr, double noise, ulong seed, int threads, Device dev)
    {
        DevicesCommand.Require(dev);
        CpuThreads.Count = threads;

        con.MarkupLine($"[bold]demo[/]: residual conv denoiser, {steps} steps, batch {batch}, {size}x{size} images, noise sigma {noise}, lr {lr}, seed {seed}, {threads} CPU threads, device {dev}");
        ulong rngOffset = 0;
        ulong NextOffset(long blocks) { ulong o = rngOffset; rngOffset += (ulong)blocks; return o; }

        Var Param(int[] shape, double std)
        {
            using (TensorScope.Suspend())
            {
                var t = Tensor.Normal(shape, seed, NextOffset(shape.Aggregate(1L, (p, d) => p * d)), 0, std, device: dev);
                return new Var(t, requiresGrad: true);
            }
        }
        Var Bias(int n) { using (TensorScope.Suspend()) return new Var(Tensor.Zeros([n], device: dev), requiresGrad: true); }

        const int width = 16;
        var w1 = Param([width, 1, 3, 3], Math.Sqrt(2.0 / 9)); var b1 = Bias(width);
        var w2 = Param([width, width, 3, 3], Math.Sqrt(2.0 / (9 * width))); var b2 = Bias(width);
        var w3 = Param([1, width, 3, 3], 0.1 * Math.Sqrt(1.0 / (9 * width))); var b3 = Bias(1);
        var parameters = new[] { w1, b1, w2, b2, w3, b3 };

        Var Net(Var x)
        {
            var h = F.Relu(F.Conv2d(x, w1, b1, padding: 1));
            h = F.Relu(F.Conv2d(h, w2, b2, padding: 1));
            return x - F.Conv2d(h, w3, b3, padding: 1); // predicts the noise, subtracts it
        }

        // Held-out evaluation set.
        var (evalClean, evalNoisy) = Batch(16, size, noise, seed + 1000, 0, dev);
        double psnrNoisy = Psnr(evalNoisy, evalClean);

        using var opt = new Sgd(parameters, lr, momentum: 0.9);
        var losses = new List<(int step, double loss)>();
        var sw = Stopwatch.StartNew();
        con.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("training", maxValue: steps);
                for (int step = 1; step <= steps; step++)
                {
                    using var scope = TensorScope.Begin();
                    var (clean, noisy) = Batch(batch, size, noise, seed, (ulong)step * 1_000_000, dev);
                    var pred = Net(new Var(noisy));
                    var loss = F.Mean(F.Square(pred - new Var(clean)));
                    opt.ZeroGrad();
                    loss.Backward();
                    opt.Step();
                    double l = loss.Item();
                    if (!double.IsFinite(l)) throw new EngineException($"demo: loss became {l} at step {step}; try a smaller --lr");
                    if (step == 1 || step % Math.Max(1, steps / 10) == 0 || step == steps) losses.Add((step, l));
                    task.Increment(1);
                }
            });
        double secs = sw.Elapsed.TotalSeconds;

        double psnrOut;
        using (TensorScope.Begin())
        using (GradMode.NoGrad())
        {
            var outp = Net(new Var(evalNoisy)).Data;
            psnrOut = Psnr(outp, evalClean);
        }

        var table = new Table().AddColumn("step").AddColumn("train MSE");
        foreach (var (s, l) in losses) table.AddRow(s.ToString(), l.ToString("E3"));
        con.Write(table);
        con.MarkupLine($"held-out PSNR: noisy input {psnrNoisy:F2} dB -> denoised {psnrOut:F2} dB ([green]{psnrOut - psnrNoisy:+0.00;-0.00} dB[/])");
        con.MarkupLine($"{steps} steps in {secs:F1} s ({steps / secs:F1} steps/s)");
        bool learned = losses[^1].loss < losses[0].loss * 0.5 && psnrOut > psnrNoisy;
        con.MarkupLine(learned ? "[green]the loss fell: the engine learns[/]" : "[red]the loss did not fall as expected[/]");
        foreach (var p in parameters) { p.Data.Dispose(); p.ZeroGrad(); }
        evalClean.Dispose(); evalNoisy.Dispose();
        return learned ? 0 : 1;
    }

    /// <summary>Smooth images in [0, 1]: sums of 3 random oriented sinusoids per image, plus noise.</summary>
    private static (Tensor clean, Tensor noisy) Batch(int n, int size, double sigma, ulong seed, ulong offset, Device dev)
    {
        using var freq = Tensor.Uniform([n, 3, 1, 1], seed, offset, 0.05, 0.5, device: dev);
        using var angle = Tensor.Uniform([n, 3, 1, 1], seed, offset + 10_000, 0, Math.PI, device: dev);
        using var phase = Tensor.Uniform([n, 3, 1, 1], seed, offset + 20_000, 0, 2 * Math.PI, device: dev);
        using var coords = Tensor.Arange(size, device: dev);
        using var ys = coords.Reshape(1, 1, size, 1);
        using var xs = coords.Reshape(1, 1, 1, size);
        using var ca = Ops.Cos(angle);
        using var sa = Ops.Sin(angle);
        using var t1 = Ops.Mul(xs, ca);
        using var t2 = Ops.Mul(ys, sa);
        using var proj = Ops.Add(t1, t2);                 // (n, 3, size, size)
        using var arg0 = Ops.Mul(proj, freq);
        using var arg = Ops.Add(arg0, phase);
        using var waves = Ops.Sin(arg);
        using var sum = Ops.Sum(waves, [1], keepDim: true); // (n, 1, size, size)
        using var scaled = Ops.Mul(sum, 1.0 / 6);
        var clean = Ops.Add(scaled, 0.5);
        using var eps = Tensor.Normal([n, 1, size, size], seed, offset + 30_000, 0, sigma, device: dev);
        var noisy = Ops.Add(clean, eps);
        return (clean, noisy);
    }

    private static double Psnr(Tensor a, Tensor b)
    {
        using var d = Ops.Sub(a, b);
        using var sq = Ops.Square(d);
        using var m = Ops.Mean(sq);
        return 10 * Math.Log10(1.0 / m.Item());
    }
}
