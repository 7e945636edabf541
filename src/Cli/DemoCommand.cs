// `engine demo`: options for the end-to-end demo (Demo/DemoRun.cs): a small residual denoiser
// trained on the bundled photos degraded by a synthetic pipeline, tested on a held-out photo,
// with a full run folder and report.
using System.CommandLine;
using Engine.Cli.Demo;
using Engine.Cpu;
using Engine.Imaging.Degradation;
using Spectre.Console;

namespace Engine.Cli;

internal static class DemoCommand
{
    public static Command Build(IAnsiConsole con)
    {
        var d = new DemoOptions();
        var steps = Opt.Int("steps", d.Steps, "training steps", min: 1);
        var batch = Opt.Int("batch", d.Batch, "crops per step", min: 1);
        var crop = Opt.Int("crop", d.Crop, "crop side in pixels", min: 8, max: 256);
        var width = Opt.Int("width", d.Width, "channels of the hidden convolutions", min: 1);
        var depth = Opt.Int("depth", d.Depth, "convolution layers", min: 2);
        var lr = Opt.Double("lr", d.Lr, "Adam learning rate (cosine schedule with warm-up)", min: 0);
        var degradation = Opt.String("degradation", "NAME", $"synthetic degradation to learn to remove: {string.Join(", ", Degradations.Names)} (default {d.Degradation})");
        var validateEvery = Opt.Int("validate-every", d.ValidateEvery, "steps between test-photo evaluations", min: 1);
        var checkpointEvery = Opt.Int("checkpoint-every", d.CheckpointEvery, "steps between checkpoints", min: 1);
        var seed = CommonOptions.Seed((ulong)d.Seed);
        var threads = Opt.Int("threads", Environment.ProcessorCount, "CPU threads (default: all cores)", min: 1);
        var device = CommonOptions.Device("cpu");
        var output = CommonOptions.Out("demo");
        var cmd = new Command("demo", "train a small residual denoiser on the bundled photos (camera noise by default), test it on a held-out photo and write a report")
        {
            steps, batch, crop, width, depth, lr, degradation, validateEvery, checkpointEvery, seed, threads, device, output,
        };
        Opt.AddCheck(cmd, r =>
        {
            var name = r.GetValue(degradation);
            if (name != null && !Degradations.Names.Contains(name))
                r.AddError($"--degradation must be one of {string.Join(", ", Degradations.Names)}, got '{name}'");
        });
        cmd.SetAction(pr =>
        {
            var dev = pr.GetValue(device);
            DevicesCommand.Require(dev);
            CpuThreads.Count = pr.GetValue(threads);
            var o = new DemoOptions
            {
                Steps = pr.GetValue(steps), Batch = pr.GetValue(batch), Crop = pr.GetValue(crop), Width = pr.GetValue(width),
                Depth = pr.GetValue(depth), Lr = pr.GetValue(lr), Degradation = pr.GetValue(degradation) ?? d.Degradation,
                Seed = (int)Math.Min(int.MaxValue, pr.GetValue(seed)), Device = dev, Out = pr.GetValue(output),
                ValidateEvery = pr.GetValue(validateEvery), CheckpointEvery = pr.GetValue(checkpointEvery),
            };
            return DemoRun.Run(o, con);
        });
        return cmd;
    }
}
