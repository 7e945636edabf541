// DeFlow's conditioning network (spec section 4 and 3.10; SRFlow/DeFlow RRDBNet_arch.RRDBNet with
// stackRRDB blocks [1, 8, 15, 22], concat, fea_up0; RRDBGlowNet_arch.rrdbPreprocessing):
//   conv_first 3 -> nf; N RRDBs, the outputs of the tapped blocks saved; last_lr_fea = fea +
//   trunk_conv(fea) (the long skip starts at the last block output, not at conv_first as in ESRGAN);
//   fea_up2 = upconv1(nearest x2(last_lr_fea)), fea_up4 = upconv2(nearest x2(lrelu(fea_up2))),
//   fea_up8 = upconv3(...) (taps before the leaky ReLU); fea_up0 = bilinear x1/2 of last_lr_fea
//   (= 2x2 average pooling, align_corners false).
// Each flow level l gets the tap at ratio Scale / 2^l of the LQ size, concatenated with the tapped
// block outputs resized to that size by nearest interpolation: [tap || block_a || block_b ...],
// nf (1 + taps) channels (320 officially). HRconv and conv_last (and the upconv no level uses) are
// built, since they are in the official state dict and parameter count, but never run.
// Names follow the reference ("RRDB_trunk.{i}", "trunk_conv", "upconv1", "HRconv", "conv_last")
// except inside a block, where the shared Nn.Rrdb names its dense blocks rdb1..rdb3 (the reference's
// RDB1..RDB3): a checkpoint loader maps ".RDB" to ".rdb".
using Engine.Autograd;
using Engine.Models.Nn;

namespace Engine.Models.DeFlow;

public sealed class DeFlowCondNet : Module
{
    public const double Slope = 0.2;
    public DeFlowConfig Config { get; }
    public Conv2d ConvFirst { get; }
    public IReadOnlyList<Rrdb> Trunk { get; }
    public Conv2d TrunkConv { get; }
    public IReadOnlyList<Conv2d> UpConvs { get; }
    public Conv2d HrConv { get; }
    public Conv2d ConvLast { get; }

    public DeFlowCondNet(ParamInit init, DeFlowConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        int nf = config.Features;
        ConvFirst = Child("conv_first", new Conv2d(init, config.InChannels, nf, 3));
        var trunk = new Sequential();
        var blocks = new List<Rrdb>();
        for (int i = 0; i < config.RrdbBlocks; i++) { var b = new Rrdb(init, nf, config.Growth, InitSpec.Esrgan()); trunk.Add(b); blocks.Add(b); }
        Child("RRDB_trunk", trunk);
        Trunk = blocks;
        TrunkConv = Child("trunk_conv", new Conv2d(init, nf, nf, 3));
        var ups = new List<Conv2d>();
        for (int i = 0; i < config.UpConvs; i++) ups.Add(Child($"upconv{i + 1}", new Conv2d(init, nf, nf, 3)));
        UpConvs = ups;
        HrConv = Child("HRconv", new Conv2d(init, nf, nf, 3));
        ConvLast = Child("conv_last", new Conv2d(init, nf, config.InChannels, 3));
    }

    /// <summary>The per-level conditionals for the LQ image (N, C_in, h, w): element l - 1 is level
    /// l's (N, nf (1 + taps), h 2^TapLog2(l), w 2^TapLog2(l)).</summary>
    public IReadOnlyList<Var> Forward(Var lq)
    {
        if (lq.Rank != 4 || lq.Shape[1] != Config.InChannels)
            throw new ShapeMismatchException("DeFlowCondNet", $"LQ image {Fmt.Shape(lq.Shape)} must be (N, {Config.InChannels}, h, w)");
        int needHalf = Enumerable.Range(1, Config.Levels).Any(l => Config.TapLog2(l) < 0) ? 1 : 0;
        if (needHalf == 1 && (lq.Shape[2] % 2 != 0 || lq.Shape[3] % 2 != 0))
            throw new ShapeMismatchException("DeFlowCondNet", $"LQ image {Fmt.Shape(lq.Shape)}: the x1/2 conditional (fea_up0) needs an even size");
        var fea = ConvFirst.Forward(lq);
        var saved = new List<Var>();
        for (int i = 0; i < Trunk.Count; i++)
        {
            fea = Trunk[i].Forward(fea);
            if (Config.Taps.Contains(i)) saved.Add(fea);
        }
        // Taps in the order of the configured list (the reference concatenates in its list order).
        List<Var> blocks = [.. Config.Taps.Select(t => saved[SortedIndex(t)])]; // saved is in block order
        var stacked = F.Concat(blocks, 1);
        var last = fea + TrunkConv.Forward(fea);
        int h = last.Shape[2], w = last.Shape[3];
        int maxUp = Enumerable.Range(1, Config.Levels).Max(l => Config.TapLog2(l));
        var ups = new Dictionary<int, Var> { [0] = last };
        var cur = last;
        for (int k = 1; k <= maxUp; k++)
        {
            var up = UpConvs[k - 1].Forward(F.UpsampleNearest(k == 1 ? cur : F.LeakyRelu(cur, Slope), h << k, w << k));
            ups[k] = up;
            cur = up;
        }
        if (needHalf == 1) ups[-1] = F.AvgPool2d(last, 2);
        var result = new List<Var>();
        for (int l = 1; l <= Config.Levels; l++)
        {
            var tap = ups[Config.TapLog2(l)];
            var resized = tap.Shape[2] == h && tap.Shape[3] == w ? stacked : F.UpsampleNearest(stacked, tap.Shape[2], tap.Shape[3]);
            result.Add(F.Concat([tap, resized], 1));
        }
        return result;
    }

    private int SortedIndex(int block) => Config.Taps.Count(u => u < block);
}
