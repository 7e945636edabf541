// LUD-VAE exactly as the public (TPAMI) code zhengdihan/LUD-VAE (HEAD 8814d68) builds it
// (ludvae-senmvae.md §1.0-1.7): no quantizer and no resampling; a content encoder on h(I), a noise
// encoder on I, three levels of Gaussian z_n (top prior N(0, I), lower ones learned conditional
// priors), a decoder trunk that mixes them through 1x1 projections, every tensor F channels at full
// resolution. Training: h(I) = I + sigma(domain) * eps; z_n = label * sample(q) (clean images decode
// with z_n = 0); loss = MSE(out, I) over both domains + min(t / 1e8, 1e-4) * KL, the KL summed over
// levels and latent elements of noisy images and divided by (n_noisy * 3 * H * W).
//
// Randomness: every draw is Philox (seed, offset). Loss takes offsets from a counter that starts at
// step * 2^32 and advances by Philox.BlocksUsed after each draw in this order: the h noise
// (N, C, H, W), then the posterior samples of levels 3, 2, 1 (N, F, H, W each), so steps never share
// a range (a step needing more than 2^32 blocks is refused). Degrade starts its counter at
// options.Offset and draws the h noise, then the prior samples of levels 3, 2, 1.
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Models.Degradation;
using Engine.Models.Nn;
using Engine.Random;

namespace Engine.Models.LudVae;

public sealed class LudVaeTpamiNet : Module
{
    public LudVaeTpamiConfig Config { get; }
    internal Conv2d InConv { get; }
    internal Conv2d InConvN { get; }
    internal LudConvBlock[] Enc { get; }   // enc_1..enc_3
    internal LudConvBlock[] EncN { get; }  // enc_n_1..enc_n_3
    internal LudGauBlock Q3 { get; }
    internal LudGauBlock Q2 { get; }
    internal LudGauBlock Q1 { get; }
    internal LudGauBlock P2 { get; }
    internal LudGauBlock P1 { get; }
    internal LudConvBlock Dec3 { get; }
    internal LudConvBlock Dec2 { get; }
    internal LudConvBlock Dec1 { get; }
    internal LudProjBlock Proj3 { get; }
    internal LudProjBlock Proj2 { get; }
    internal LudProjBlock Proj1 { get; }
    internal LudProjBlock ProjC2 { get; }
    internal LudProjBlock ProjC1 { get; }
    internal LudProjBlock ProjN2 { get; }
    internal LudProjBlock ProjN1 { get; }
    internal Conv2d OutConv { get; }

    /// <summary>Registration order is the public code's __init__ order.</summary>
    public LudVaeTpamiNet(ParamInit init, LudVaeTpamiConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        int f = config.Features, c = config.Channels;
        InConv = Child("inconv", new Conv2d(init, c, f, 1));
        InConvN = Child("inconv_n", new Conv2d(init, c, f, 1));
        Enc = new LudConvBlock[3];
        EncN = new LudConvBlock[3];
        for (int i = 0; i < 3; i++) Enc[i] = Child($"enc_{i + 1}", new LudConvBlock(init, f, f, f));
        for (int i = 0; i < 3; i++) EncN[i] = Child($"enc_n_{i + 1}", new LudConvBlock(init, f, f, f));
        Q3 = Child("Gauconv_q_3", new LudGauBlock(init, f, f));
        Q2 = Child("Gauconv_q_2", new LudGauBlock(init, f, f));
        Q1 = Child("Gauconv_q_1", new LudGauBlock(init, f, f));
        P2 = Child("Gauconv_p_2", new LudGauBlock(init, f, f));
        P1 = Child("Gauconv_p_1", new LudGauBlock(init, f, f));
        Dec3 = Child("dec_3", new LudConvBlock(init, f, f, f));
        Dec2 = Child("dec_2", new LudConvBlock(init, f, f, f));
        Dec1 = Child("dec_1", new LudConvBlock(init, f, f, f));
        Proj3 = Child("proj_3", new LudProjBlock(init, f));
        Proj2 = Child("proj_2", new LudProjBlock(init, f));
        Proj1 = Child("proj_1", new LudProjBlock(init, f));
        ProjC2 = Child("proj_c_2", new LudProjBlock(init, f));
        ProjC1 = Child("proj_c_1", new LudProjBlock(init, f));
        ProjN2 = Child("proj_n_2", new LudProjBlock(init, f));
        ProjN1 = Child("proj_n_1", new LudProjBlock(init, f));
        OutConv = Child("outconv", new Conv2d(init, f, c, 1));
    }

    internal (Var A1, Var A2, Var A3) EncodeContent(Var h)
    {
        var a1 = Enc[0].Forward(InConv.Forward(h));
        var a2 = Enc[1].Forward(a1);
        return (a1, a2, Enc[2].Forward(a2));
    }

    internal (Var B1, Var B2, Var B3) EncodeNoise(Var x)
    {
        var b1 = EncN[0].Forward(InConvN.Forward(x));
        var b2 = EncN[1].Forward(b1);
        return (b1, b2, EncN[2].Forward(b2));
    }
}

/// <summary>The quantities of one training forward (internal: tests compare them with PyTorch).</summary>
internal sealed record LudVaeForward(Var Output, Var Rec, Var Kl, Var Total, double KlWeight, int Noisy);

public sealed class LudVaeTpami : IDegradationVae
{
    public const string KindName = "ludvae-tpami";
    private const ulong StepStride = 1UL << 32;

    public LudVaeTpamiNet Net { get; }
    public LudVaeTpamiConfig Settings => Net.Config;
    public string Kind => KindName;
    public Module Module => Net;
    public JsonObject Config => Net.Config.ToJson();

    public LudVaeTpami(ParamInit init, LudVaeTpamiConfig config) => Net = new LudVaeTpamiNet(init, config);

    /// <summary>Rebuilds the architecture from Config (weights are loaded separately).</summary>
    public static LudVaeTpami FromConfig(JsonObject config, ParamInit init) => new(init, LudVaeTpamiConfig.FromJson(config));

    public ModelLoss Loss(Tensor images, bool[] isDegraded, long step, ulong seed)
    {
        CheckImages("LudVaeTpami.Loss", images);
        ArgumentNullException.ThrowIfNull(isDegraded);
        if (isDegraded.Length != images.Shape[0])
            throw new ShapeMismatchException("LudVaeTpami.Loss", $"{isDegraded.Length} domain labels for {images.Shape[0]} images");
        if (step < 0 || step >= (long)(ulong.MaxValue / StepStride))
            throw new InvalidArgumentException("LudVaeTpami.Loss", $"step must be in [0, 2^32), got {step}");
        var counter = new DrawCounter("LudVaeTpami", seed, (ulong)step * StepStride, StepStride);
        int n = images.Shape[0];
        var sig = new double[n];
        for (int i = 0; i < n; i++) sig[i] = isDegraded[i] ? Settings.SigmaNoisy : Settings.SigmaClean;
        var h = InjectNoise(images, sig, counter);
        var r = Forward(images, h, isDegraded, step, null, counter);
        return new ModelLoss(r.Total, new Dictionary<string, double>
        {
            ["loss"] = r.Total.Data.Item(),
            ["rec"] = r.Rec.Data.Item(),
            ["kl"] = r.Kl.Data.Item(),
            ["kl_weight"] = r.KlWeight,
        });
    }

    /// <summary>The training forward given h(I) explicitly. eps: the standard-normal draws of the
    /// level 3, 2, 1 posterior samples (each (N, F, H, W)); null: drawn from the counter.</summary>
    internal LudVaeForward Forward(Tensor images, Tensor conditioning, bool[] isDegraded, long step,
                                   IReadOnlyList<Tensor>? eps, DrawCounter? counter)
    {
        CheckImages("LudVaeTpami.Forward", images);
        if (!conditioning.Shape.SequenceEqual(images.Shape))
            throw new ShapeMismatchException("LudVaeTpami.Forward", $"h(I) {Fmt.Shape(conditioning.Shape)} must match I {Fmt.Shape(images.Shape)}");
        if (eps == null && counter == null)
            throw new InvalidArgumentException("LudVaeTpami.Forward", "needs either explicit eps or a random counter");
        var net = Net;
        int n = images.Shape[0], hh = images.Shape[2], ww = images.Shape[3];
        int noisy = isDegraded.Count(b => b);
        var labels = PerSample(isDegraded.Select(b => b ? 1.0 : 0.0).ToArray(), images);
        Var x = images;

        var (a1, a2, a3) = net.EncodeContent(conditioning);
        var (b1, b2, b3) = net.EncodeNoise(x);

        var (mq3, lq3) = net.Q3.Forward(b3);
        var z3 = labels * Sample(mq3, lq3, eps?[0], counter);
        var kl3 = KlSum(F.KlStdNormal(mq3, lq3), labels, noisy);
        var d = net.Proj3.Forward(a3, z3);

        d = net.ProjC2.Forward(net.Dec3.Forward(d), a2);
        var (mq2, lq2) = net.Q2.Forward(net.ProjN2.Forward(d, b2));
        var (mp2, lp2) = net.P2.Forward(d);
        var z2 = labels * Sample(mq2, lq2, eps?[1], counter);
        var kl2 = KlSum(F.KlNormal(mq2, lq2, mp2, lp2), labels, noisy);
        d = net.Proj2.Forward(d, z2);

        d = net.ProjC1.Forward(net.Dec2.Forward(d), a1);
        var (mq1, lq1) = net.Q1.Forward(net.ProjN1.Forward(d, b1));
        var (mp1, lp1) = net.P1.Forward(d);
        var z1 = labels * Sample(mq1, lq1, eps?[2], counter);
        var kl1 = KlSum(F.KlNormal(mq1, lq1, mp1, lp1), labels, noisy);
        d = net.Proj1.Forward(d, z1);

        var output = net.OutConv.Forward(net.Dec1.Forward(d)); // (N, C, H, W)
        var rec = F.Mean(F.Square(output - x));
        Var kl = noisy == 0
            ? new Var(Tensor.Zeros([], images.DType, images.Device))
            : (kl3! + kl2! + kl1!) * (1.0 / ((double)noisy * Settings.Channels * hh * ww));
        double w = Settings.KlWeight(step);
        var total = noisy == 0 ? rec : rec + kl * w;
        return new LudVaeForward(output, rec, kl, total, w, noisy);
    }

    public Tensor Degrade(Tensor clean, DegradeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckImages("LudVaeTpami.Degrade", clean);
        if (!(options.Temperature >= 0))
            throw new InvalidArgumentException("LudVaeTpami.Degrade", $"temperature must be >= 0, got {options.Temperature}");
        if (options.NoiseLevel is double nl && !(nl >= 0))
            throw new InvalidArgumentException("LudVaeTpami.Degrade", $"noise level must be >= 0, got {nl}");
        int n = clean.Shape[0];
        double sigma, scale;
        switch (options.Method)
        {
            case 3: // clean -> degraded: z from q(z | h(x)), z_n from the prior scaled by tau (§1.7)
                sigma = options.NoiseLevel ?? Settings.GenerationNoiseLevel;
                scale = options.Temperature;
                break;
            case 2: // the code's noisy -> clean translation (label 1, z_n = 0; main_test uses sigma 0)
                sigma = options.NoiseLevel ?? 0;
                scale = 0;
                break;
            default:
                throw new UnsupportedOpException("LudVaeTpami.Degrade",
                    $"method {options.Method}: the public code implements method 3 (clean -> degraded) and method 2 (noisy -> clean, z_n = 0) only");
        }
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var counter = new DrawCounter("LudVaeTpami", options.Seed, options.Offset, ulong.MaxValue - options.Offset);
        var h = InjectNoise(clean, Enumerable.Repeat(sigma, n).ToArray(), counter);
        var y = Translate(h, scale, null, counter);
        return scope.Keep(y.Data);
    }

    /// <summary>The code's translate with its per-sample scale s = (1 - label) * tau given directly:
    /// content from h, then the decoder with z3 = s eps, z2 = s sample(p2), z1 = s sample(p1). eps:
    /// the level 3, 2, 1 standard-normal draws; null: from the counter. The unused noise encoder is skipped.</summary>
    internal Var Translate(Tensor conditioning, double scale, IReadOnlyList<Tensor>? eps, DrawCounter? counter)
    {
        var net = Net;
        var (a1, a2, a3) = net.EncodeContent(conditioning);
        int[] zShape = [conditioning.Shape[0], Settings.Features, conditioning.Shape[2], conditioning.Shape[3]];
        Var z3 = scale == 0
            ? Tensor.Zeros(zShape, conditioning.DType, conditioning.Device)
            : new Var(eps?[0] ?? Tensor.Normal(zShape, counter!.Seed, counter.Take(zShape, conditioning.DType), dtype: conditioning.DType, device: conditioning.Device)) * scale;
        var d = net.Proj3.Forward(a3, z3);

        d = net.ProjC2.Forward(net.Dec3.Forward(d), a2);
        d = net.Proj2.Forward(d, PriorSample(net.P2, d, scale, eps?[1], counter));

        d = net.ProjC1.Forward(net.Dec2.Forward(d), a1);
        d = net.Proj1.Forward(d, PriorSample(net.P1, d, scale, eps?[2], counter));
        return net.OutConv.Forward(net.Dec1.Forward(d));
    }

    private static Var PriorSample(LudGauBlock p, Var d, double scale, Tensor? eps, DrawCounter? counter)
    {
        if (scale == 0) return Tensor.ZerosLike(d.Data); // the code multiplies the sample by 0
        var (mu, ls) = p.Forward(d);
        return Sample(mu, ls, eps, counter, scale, TemperatureMode.Sample);
    }

    /// <summary>mu + exp(ls) eps (times scale in Sample mode); explicit eps uses primitive ops.</summary>
    private static Var Sample(Var mu, Var ls, Tensor? eps, DrawCounter? counter, double scale = 1, TemperatureMode mode = TemperatureMode.Noise)
    {
        if (eps != null)
        {
            if (!eps.Shape.SequenceEqual(mu.Shape))
                throw new ShapeMismatchException("LudVaeTpami.Sample", $"eps {Fmt.Shape(eps.Shape)} must match mu {Fmt.Shape(mu.Shape)}");
            var z = mu + F.Exp(ls) * new Var(eps);
            return scale == 1 ? z : z * scale;
        }
        ulong off = counter!.Take(mu.Shape, mu.DType);
        return F.GaussianSample(mu, ls, counter.Seed, off, scale, mode);
    }

    /// <summary>h(I) = I + sigma_n eps, eps ~ N(0, I) from the counter (sigma 0: I itself, no draw taken).</summary>
    private static Tensor InjectNoise(Tensor images, double[] sigma, DrawCounter counter)
    {
        ulong off = counter.Take(images.Shape, images.DType);
        if (sigma.All(s => s == 0)) return images;
        using var eps = Tensor.Normal(images.Shape, counter.Seed, off, dtype: images.DType, device: images.Device);
        using var s = PerSample(sigma, images);
        using var noise = Engine.Ops.Mul(eps, s);
        return Engine.Ops.Add(images, noise);
    }

    /// <summary>A (N, 1, 1, 1) tensor of per-sample values in the images' dtype and device.</summary>
    private static Tensor PerSample(double[] values, Tensor like)
    {
        using var host = Tensor.FromArray(values, [values.Length, 1, 1, 1]);
        if (host.DType == like.DType && host.Device == like.Device) return host.Alias();
        using var cast = host.To(like.DType);
        return cast.To(like.Device);
    }

    private void CheckImages(string op, Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Rank != 4 || images.Shape[1] != Settings.Channels)
            throw new ShapeMismatchException(op, $"expects images (N, {Settings.Channels}, H, W), got {Fmt.Of(images)}");
        var w = Net.InConv.Weight.Data;
        if (images.DType != w.DType)
            throw new DTypeMismatchException(op, $"images {Fmt.Of(images)} vs weights {w.DType.Name()}");
        if (images.Device != w.Device)
            throw new DeviceMismatchException(op, $"images {Fmt.Of(images)} vs weights on {w.Device}");
    }

    /// <summary>Sum over all elements of label * kl (null when no sample is noisy: the code's KL is 0 then).</summary>
    private static Var? KlSum(Var kl, Var labels, int noisy) => noisy == 0 ? null : F.Sum(kl * labels);

    public void Dispose() => Net.Dispose();
}
