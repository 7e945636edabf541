// SeNM-VAE (Zheng et al., CVPR 2024) as the official code SIDD/models/network_senmvae.py and
// model_senmvae.py build and train it (ludvae-senmvae.md §2.2-2.12):
//   - three encoders (clean x: H, degraded y for content: L, degraded y for noise: N), each a 1x1
//     stem then L layers (RDBs, with a pixel-unshuffle DownSample between resolution groups);
//   - a top-down decoder over i = L-1..0 with a content latent z^i (64 channels at the defaults)
//     from q(z|x) (GzH) or q(z|y) (GzL) and, in the degraded pass, a degradation latent z_n^i from
//     q(z_n | y, z) (Gzq) against the conditional prior p(z_n | z) (Gzp), both heads fed the
//     decoder state plus a constant map of the degradation level;
//   - two decoding passes per sample (decode_H reconstructs x without z_n, decode_L reconstructs y),
//     the mixture posterior for pairs (H or L sample with probability 1/2, drawn per pass and sample);
//   - the loss as coded (§2.8): MSE(x^, x) over slots with a clean image + MSE(y^, y) over slots
//     with a degraded one + w_n KLN + w_n 1e-7 KLZ (KLZ counted in both passes) + L1 of the level
//     predictor on pairs, w_n = min(t / 1e4, 1) 1e-2; optionally the relativistic PatchGAN term.
// Deviations, each documented in README.md (section senmvae): (1) the code drops the whole reconstruction term
// when either half has an empty selection (a batch with no clean or no degraded slot); we keep the
// half that exists, so Loss_s or Loss_t alone trains; (2) the LPIPS term is left out (it needs
// pretrained AlexNet weights; PerceptualLoss can be plugged in); (3) the discriminator's Adam
// state is not checkpointed (resuming a GAN run restarts its moments).
//
// Randomness: Loss draws from Philox at offsets step * 2^32 onward in this order: decode_H's
// (zH, zL) samples for i = L-1..0, then decode_L's (zH, zL, z_n) for i = L-1..0; the mixture
// switches come from DegradationRng keyed by (seed, step). Degrade draws from options.Offset: the
// level (host RNG keyed by seed and offset, when none is given), then (z, z_n) per layer.
using System.Globalization;
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Imaging.Degradation;
using Engine.Models.Degradation;
using Engine.Models.Nn;

namespace Engine.Models.SeNmVae;

/// <summary>The generator G: stems, encoders, Gaussian heads, projections, decoder, output head.
/// Its parameter count is the spec's 19,955,739 at the default configuration.</summary>
public sealed class SeNmVaeGenerator : Module
{
    public SeNmVaeConfig Config { get; }
    internal Conv2d StemH { get; }
    internal Conv2d StemL { get; }
    internal Conv2d StemN { get; }
    internal ModuleList<Layer> EncH { get; }
    internal ModuleList<Layer> EncL { get; }
    internal ModuleList<Layer> EncN { get; }
    internal ModuleList<SeNmGauBlock> GzH { get; }
    internal ModuleList<SeNmGauBlock> GzL { get; }
    internal ModuleList<SeNmGauBlock> Gzq { get; }
    internal ModuleList<SeNmGauBlock> Gzp { get; }
    internal ModuleList<Conv2d> ProjZ { get; }
    internal ModuleList<Conv2d> ProjZn { get; }
    internal ModuleList<Layer> Dec { get; }
    internal Conv2d Out0 { get; }
    internal Conv2d Out2 { get; }

    public SeNmVaeGenerator(ParamInit init, SeNmVaeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        int f = config.Features, g = config.Growth, c = config.Channels, nz = config.NoiseDim;
        var layout = config.LayerLayout();
        int L = layout.Length;
        StemH = Child("stem_H", new Conv2d(init, c, f, 1));
        StemL = Child("stem_L", new Conv2d(init, c, f, 1));
        StemN = Child("stem_N", new Conv2d(init, c, f, 1));
        ModuleList<Layer> Encoder(string name) =>
            Child(name, new ModuleList<Layer>(layout.Select(l => l.Resample ? (Layer)new SeNmDown(init, f) : new ResidualDenseBlock(init, f, g)).ToList()));
        EncH = Encoder("enc_H");
        EncL = Encoder("enc_L");
        EncN = Encoder("enc_N");
        ModuleList<SeNmGauBlock> Heads(string name, int inCh, int outCh) =>
            Child(name, new ModuleList<SeNmGauBlock>(Enumerable.Range(0, L).Select(_ => new SeNmGauBlock(init, inCh, outCh, g)).ToList()));
        GzH = Heads("GzH", f, f);
        GzL = Heads("GzL", f, f);
        Gzq = Heads("Gzq", f + 1, nz);
        Gzp = Heads("Gzp", f + 1, nz);
        ProjZ = Child("proj_z", new ModuleList<Conv2d>(Enumerable.Range(0, L).Select(_ => new Conv2d(init, f, f, 1, spec: InitSpec.ZeroWeight)).ToList()));
        ProjZn = Child("proj_zn", new ModuleList<Conv2d>(Enumerable.Range(0, L).Select(_ => new Conv2d(init, nz, f, 1, spec: InitSpec.ZeroWeight)).ToList()));
        Dec = Child("dec", new ModuleList<Layer>(layout.Select(l => l.Resample ? (Layer)new SeNmUp(init, f) : new ResidualDenseBlock(init, f, g)).ToList()));
        Out0 = Child("out_0", new Conv2d(init, f, f, 3, fused: Activation.Relu));
        Out2 = Child("out_2", new Conv2d(init, f, c, 3));
    }

    public int Layers => Dec.Count;

    internal Var[] Encode(Conv2d stem, ModuleList<Layer> enc, Var image)
    {
        var acts = new Var[enc.Count];
        var h = stem.Forward(image);
        for (int i = 0; i < enc.Count; i++) acts[i] = h = enc[i].Forward(h);
        return acts;
    }

    internal Var Output(Var d) => Out2.Forward(Out0.Forward(d));
}

/// <summary>Everything trained and checkpointed: netG, the level predictor netNL and, with the GAN
/// term on, the PatchGAN netD (trained by its own optimizer).</summary>
public sealed class SeNmVaeNet : Module
{
    public SeNmVaeGenerator G { get; }
    public SeNmLevelNet LevelNet { get; }
    public SeNmPatchGan? D { get; }

    public SeNmVaeNet(ParamInit init, SeNmVaeConfig config)
    {
        G = Child("netG", new SeNmVaeGenerator(init, config));
        LevelNet = Child("netNL", new SeNmLevelNet(init, config.Channels, config.LevelWidth));
        if (config.GanWeight > 0) D = Child("netD", new SeNmPatchGan(init, config.Channels, config.DiscriminatorWidth));
    }
}

/// <summary>A pluggable perceptual term on (y^, y) of the degraded slots (the code uses LPIPS-Alex
/// at 1e-2, whose pretrained weights are not available here).</summary>
public interface IPerceptualLoss
{
    double Weight { get; }
    Var Loss(Var reconstruction, Var target);
}

public sealed class SeNmVae : ISemiPairedVae
{
    public const string KindName = "senmvae";
    private const ulong StepStride = 1UL << 32;
    private readonly double _dLr;
    private Adam? _dOpt;
    private Tensor? _pendingReal, _pendingFake;

    private SeNmVaeConfig _settings;

    public SeNmVaeNet Net { get; }
    /// <summary>The architecture and objective (Net.G.Config) with the current level sampler.</summary>
    public SeNmVaeConfig Settings => _settings;
    public string Kind => KindName;
    public Module Module => Net;
    public JsonObject Config => Settings.ToJson();
    /// <summary>An optional perceptual term (null: none, the default here).</summary>
    public IPerceptualLoss? Perceptual { get; set; }

    public SeNmVae(ParamInit init, SeNmVaeConfig config, double discriminatorLr = 1e-4)
    {
        Net = new SeNmVaeNet(init, config);
        _settings = Net.G.Config;
        _dLr = discriminatorLr;
    }

    /// <summary>Sets how synthesis picks a level when none is given (e.g. "pool" with the level
    /// predictor's estimates on the training degraded images); saved in Config.</summary>
    public void SetLevelSampler(string sampler, IReadOnlyList<double>? pool = null)
    {
        var c = _settings with { LevelSampler = sampler, LevelPool = pool ?? _settings.LevelPool };
        c.Validate();
        _settings = c;
    }

    public static SeNmVae FromConfig(JsonObject config, ParamInit init) => new(init, SeNmVaeConfig.FromJson(config));

    /// <summary>G and the level predictor (one Adam in the code); the discriminator is excluded.</summary>
    public IEnumerable<(string Name, Var Param)> TrainableParameters()
        => Net.NamedParameters().Where(p => !p.Name.StartsWith("netD.", StringComparison.Ordinal));

    /// <summary>Unpaired batches: labels 0 (clean) / 1 (degraded) with the image in both slots.</summary>
    public ModelLoss Loss(Tensor images, bool[] isDegraded, long step, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(isDegraded);
        return Loss(images, images, isDegraded.Select(b => b ? 1 : 0).ToArray(), step, seed);
    }

    public ModelLoss Loss(Tensor clean, Tensor degraded, int[] labels, long step, ulong seed)
    {
        const string op = "SeNmVae.Loss";
        CheckImages(op, clean);
        CheckImages(op, degraded);
        ArgumentNullException.ThrowIfNull(labels);
        if (!clean.Shape.SequenceEqual(degraded.Shape))
            throw new ShapeMismatchException(op, $"clean {Fmt.Of(clean)} and degraded {Fmt.Of(degraded)} slots must have one shape");
        int n = clean.Shape[0];
        if (labels.Length != n)
            throw new ShapeMismatchException(op, $"{labels.Length} labels for {n} slots");
        if (labels.Any(l => l is < -1 or > 1))
            throw new InvalidArgumentException(op, $"labels must be -1 (paired), 0 (clean only) or 1 (degraded only), got [{string.Join(", ", labels)}]");
        if (step < 0 || step >= (long)(ulong.MaxValue / StepStride))
            throw new InvalidArgumentException(op, $"step must be in [0, 2^32), got {step}");
        if (Net.D is not null && Net.IsTraining) UpdateDiscriminator();
        var r = Forward(clean, degraded, labels, step, seed);
        var terms = new Dictionary<string, double>
        {
            ["loss"] = r.Total.Data.Item(), ["rec_x"] = r.RecX?.Data.Item() ?? double.NaN, ["rec_y"] = r.RecY?.Data.Item() ?? double.NaN,
            ["kl_n"] = r.Kln?.Data.Item() ?? double.NaN, ["kl_z"] = r.Klz?.Data.Item() ?? double.NaN,
            ["level_l1"] = r.LevelL1?.Data.Item() ?? double.NaN, ["kl_weight"] = r.KlWeight,
            ["paired"] = labels.Count(l => l == -1), ["source"] = labels.Count(l => l == 0), ["target"] = labels.Count(l => l == 1),
        };
        if (r.Gan is not null) terms["gan_g"] = r.Gan.Data.Item();
        if (r.Perceptual is not null) terms["perceptual"] = r.Perceptual.Data.Item();
        return new ModelLoss(r.Total, terms);
    }

    /// <summary>The quantities of one training forward; a term is null where its selection is empty
    /// (the code's NaN, which it drops).</summary>
    internal sealed record Terms(Var Total, Var XHat, Var YHat, Var? RecX, Var? RecY, Var? Kln, Var? Klz, Var? LevelL1,
                                 Var? Gan, Var? Perceptual, Var LevelPred, double KlWeight);

    /// <summary>The training forward. eps (tests: PyTorch goldens): the standard-normal draws in
    /// the documented order (decode_H: zH, zL per layer i = L-1..0; decode_L: zH, zL, z_n per layer),
    /// used instead of Philox; coins: the two passes' mixture picks (1 = the clean encoder's sample)
    /// for all slots, pass 1 then pass 2, instead of the seeded coins.</summary>
    internal Terms Forward(Tensor clean, Tensor degraded, int[] labels, long step, ulong seed,
                           IReadOnlyList<Tensor>? eps = null, double[]? coins = null)
    {
        var G = Net.G;
        var cfg = Settings;
        int n = labels.Length, L = G.Layers;
        var counter = new DrawCounter("SeNmVae", seed, (ulong)step * StepStride, StepStride);
        int nextEps = 0;
        Var Draw(Var mu, Var ls)
        {
            if (eps is null) return F.GaussianSample(mu, ls, counter.Seed, counter.Take(mu.Shape, mu.DType));
            var e = eps[nextEps++];
            if (!e.Shape.SequenceEqual(mu.Shape))
                throw new ShapeMismatchException("SeNmVae.Forward", $"eps {nextEps - 1} is {Fmt.Shape(e.Shape)}, the latent is {Fmt.Shape(mu.Shape)}");
            return mu + F.Exp(ls) * new Var(e);
        }
        var mixRng = new DegradationRng(DegradationRng.ImageSeed(seed, "senmvae-mixture/" + step.ToString(CultureInfo.InvariantCulture)));
        double[] isP = labels.Select(l => l == -1 ? 1.0 : 0).ToArray(), isT = labels.Select(l => l == 1 ? 1.0 : 0).ToArray();
        double[] hasX = labels.Select(l => l <= 0 ? 1.0 : 0).ToArray(), hasY = labels.Select(l => l != 0 ? 1.0 : 0).ToArray();
        // Which content sample each pass keeps: H for label 0, L for label 1, a fair coin per pass for pairs.
        double[] selH1 = labels.Select(l => l == 0 ? 1.0 : l == 1 ? 0 : (mixRng.Uniform() < 0.5 ? 1.0 : 0)).ToArray();
        double[] selH2 = labels.Select(l => l == 0 ? 1.0 : l == 1 ? 0 : (mixRng.Uniform() < 0.5 ? 1.0 : 0)).ToArray();
        if (coins is not null)
        {
            if (coins.Length != 2 * n) throw new ShapeMismatchException("SeNmVae.Forward", $"{coins.Length} coins for 2 passes of {n} slots");
            selH1 = coins[..n];
            selH2 = coins[n..];
        }
        Var x = clean, y = degraded;

        // Degradation levels: std(y - x) for pairs (unbiased, over C, H, W), the predictor's for targets, 0 for sources.
        Var sigmaTrue;
        using (GradMode.NoGrad())
            sigmaTrue = F.Reshape(F.Sqrt(F.Var(y - x, [1, 2, 3])), n, 1, 1, 1);
        var levelPred = Net.LevelNet.Forward(y); // (N, 1, 1, 1), not detached (the VAE losses train it too)
        var level = sigmaTrue * Col(isP, clean) + levelPred * Col(isT, clean);

        var aH = G.Encode(G.StemH, G.EncH, x);
        var aL = G.Encode(G.StemL, G.EncL, y);
        var aN = G.Encode(G.StemN, G.EncN, y);

        // decode_H: reconstructs x; no z_n.
        Var? d = null;
        Var? klzH = null;
        var sel1 = Col(selH1, clean);
        var sel1L = Col(selH1.Select(v => 1 - v).ToArray(), clean);
        for (int i = L - 1; i >= 0; i--)
        {
            d = ContentStep(i, d, aH, aL, sel1, sel1L, Draw, ref klzH);
            d = G.Dec[i].Forward(d);
        }
        var xHat = G.Output(d!);

        // decode_L: reconstructs y; z_n per layer against the conditional prior.
        d = null;
        Var? klzL = null, kln = null;
        var sel2 = Col(selH2, clean);
        var sel2L = Col(selH2.Select(v => 1 - v).ToArray(), clean);
        for (int i = L - 1; i >= 0; i--)
        {
            d = ContentStep(i, d, aH, aL, sel2, sel2L, Draw, ref klzL);
            var s = F.Expand(level, n, 1, d.Shape[2], d.Shape[3]);
            var (muQ, lsQ) = G.Gzq[i].Forward(F.Concat([d + aN[i], s], 1));
            var (muP, lsP) = G.Gzp[i].Forward(F.Concat([d, s], 1));
            var zn = Draw(muQ, lsQ);
            var k = F.Mean(F.KlNormal(muQ, lsQ, muP, lsP), [1, 2, 3]); // (N)
            kln = kln is null ? k : kln + k;
            d = d + G.ProjZn[i].Forward(zn);
            d = G.Dec[i].Forward(d);
        }
        var yHat = G.Output(d!);

        int nX = (int)hasX.Sum(), nY = (int)hasY.Sum(), nP = (int)isP.Sum();
        long chw = (long)clean.Shape[1] * clean.Shape[2] * clean.Shape[3];
        Var? recX = nX == 0 ? null : F.Sum(F.Square(xHat - x) * Col(hasX, clean)) * (1.0 / (nX * chw));
        Var? recY = nY == 0 ? null : F.Sum(F.Square(yHat - y) * Col(hasY, clean)) * (1.0 / (nY * chw));
        Var? klnMean = nY == 0 ? null : F.Sum(kln! * Vec(hasY, clean)) * (1.0 / nY);
        Var? klzMean = nP == 0 ? null : F.Sum((klzH! + klzL!) * Vec(isP, clean)) * (1.0 / nP);
        Var? levelL1 = nP == 0 ? null : F.Sum(F.Abs(F.Reshape(sigmaTrue - levelPred, n)) * Vec(isP, clean)) * (1.0 / nP);

        double w = cfg.NoiseKlWeight(step);
        var parts = new List<Var>();
        if (recX is not null) parts.Add(recX);
        if (recY is not null) parts.Add(recY);
        if (klnMean is not null && w > 0) parts.Add(klnMean * w);
        if (klzMean is not null && w * cfg.KlzWeight > 0) parts.Add(klzMean * (w * cfg.KlzWeight));
        if (levelL1 is not null && cfg.LevelLossWeight > 0) parts.Add(levelL1 * cfg.LevelLossWeight);

        Var? gan = null, perceptual = null;
        if (nY > 0 && (Net.D is not null || Perceptual is not null))
        {
            var idx = Tensor.FromArray(Enumerable.Range(0, n).Where(j => hasY[j] > 0).ToArray(), [nY], clean.Device);
            var yHatSel = F.IndexSelect(yHat, 0, idx);
            var ySel = F.IndexSelect(y, 0, idx);
            if (Perceptual is not null)
            {
                perceptual = Perceptual.Loss(yHatSel, ySel);
                parts.Add(perceptual * Perceptual.Weight);
            }
            if (Net.D is not null)
            {
                // Relativistic average generator loss: 1/2 [BCE(D(y) - mean D(y^), 0) + BCE(D(y^) - mean D(y), 1)], D(y) detached.
                Var realLogits;
                using (GradMode.NoGrad()) realLogits = new Var(Net.D.Forward(ySel).Data);
                var fakeLogits = Net.D.Forward(yHatSel);
                gan = (Bce(realLogits - F.Mean(fakeLogits), 0) + Bce(fakeLogits - F.Mean(realLogits), 1)) * 0.5;
                parts.Add(gan * cfg.GanWeight);
                if (Net.IsTraining) Defer(ySel.Data, yHatSel.Data);
            }
        }
        var total = parts.Count == 0 ? new Var(Tensor.Zeros([], clean.DType, clean.Device)) : parts.Aggregate((a, b) => a + b);
        return new Terms(total, xHat, yHat, recX, recY, klnMean, klzMean, levelL1, gan, perceptual, levelPred, w);
    }

    /// <summary>One content layer: both posteriors, both samples, the per-sample pick, klz_i =
    /// mean KL(q(z|y) || q(z|x)); returns d + proj_z(z).</summary>
    private Var ContentStep(int i, Var? d, Var[] aH, Var[] aL, Var selH, Var selL, Func<Var, Var, Var> draw, ref Var? klz)
    {
        var G = Net.G;
        var (muH, lsH) = G.GzH[i].Forward(d is null ? aH[i] : d + aH[i]);
        var (muL, lsL) = G.GzL[i].Forward(d is null ? aL[i] : d + aL[i]);
        var zH = draw(muH, lsH);
        var zL = draw(muL, lsL);
        var z = zH * selH + zL * selL;
        var k = F.Mean(F.KlNormal(muL, lsL, muH, lsH), [1, 2, 3]);
        klz = klz is null ? k : klz + k;
        var p = G.ProjZ[i].Forward(z);
        return d is null ? p : d + p;
    }

    /// <summary>BCE-with-logits against a constant target, averaged: softplus(l) - t l.</summary>
    private static Var Bce(Var logits, double target)
    {
        var sp = F.Mean(F.Softplus(logits));
        return target == 0 ? sp : sp - F.Mean(logits) * target;
    }

    /// <summary>Keeps this step's real and generated degraded images for the discriminator update,
    /// which runs at the start of the next step: after G's update, as the code orders it.</summary>
    private void Defer(Tensor real, Tensor fake)
    {
        _pendingReal?.Dispose();
        _pendingFake?.Dispose();
        using (TensorScope.Suspend())
        {
            _pendingReal = real.Clone();
            _pendingFake = fake.Clone();
        }
    }

    /// <summary>The code's D step: 1/2 [BCE(D(y) - mean D(y^), 1) + BCE(D(y^) - mean D(y), 0)] with
    /// y^ detached, Adam (lr 1e-4), skipped when the loss is not finite.</summary>
    private void UpdateDiscriminator()
    {
        if (_pendingReal is null || _pendingFake is null || Net.D is null) return;
        _dOpt ??= new Adam(Net.D.NamedParameters(), _dLr);
        using var scope = TensorScope.Begin();
        Net.D.ZeroGrad();
        var real = Net.D.Forward(_pendingReal);
        var fake = Net.D.Forward(_pendingFake);
        var loss = (Bce(real - F.Mean(fake), 1) + Bce(fake - F.Mean(real), 0)) * 0.5;
        double v = loss.Data.Item();
        if (double.IsFinite(v))
        {
            loss.Backward();
            _dOpt.Step();
        }
        Net.D.ZeroGrad();
        DiscriminatorLoss = v;
    }

    /// <summary>The last discriminator loss (NaN before the first update).</summary>
    public double DiscriminatorLoss { get; private set; } = double.NaN;

    public Tensor Degrade(Tensor clean, DegradeOptions options)
    {
        const string op = "SeNmVae.Degrade";
        ArgumentNullException.ThrowIfNull(options);
        CheckImages(op, clean);
        if (!(options.Temperature >= 0))
            throw new InvalidArgumentException(op, $"temperature must be >= 0, got {options.Temperature}");
        if (options.NoiseLevel is double nl && !(nl >= 0 && double.IsFinite(nl)))
            throw new InvalidArgumentException(op, $"degradation level must be finite and >= 0, got {nl}");
        if (options.Method is not (2 or 3))
            throw new UnsupportedOpException(op, $"method {options.Method}: SeNM-VAE synthesizes with method 3 (content from q(z|x), z_n from the conditional prior) and denoises with method 2");
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var counter = new DrawCounter("SeNmVae", options.Seed, options.Offset, ulong.MaxValue - options.Offset);
        var y = options.Method == 3
            ? Translate(clean, options.NoiseLevel ?? DrawLevel(options.Seed, options.Offset, options.LevelSampler), options.Temperature, counter)
            : Denoise(clean, counter);
        var outT = y.Data;
        if (options.MatchMean) outT = MatchMeans(outT, clean);
        return scope.Keep(outT);
    }

    /// <summary>y - mean_hw(y) + mean_hw(reference) per image and channel.</summary>
    public static Tensor MatchMeans(Tensor y, Tensor reference)
    {
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(reference);
        if (!y.Shape.SequenceEqual(reference.Shape))
            throw new ShapeMismatchException("SeNmVae.MatchMeans", $"output {Fmt.Of(y)} vs reference {Fmt.Of(reference)}");
        using var my = Ops.Mean(y, [2, 3], keepDim: true);
        using var mr = Ops.Mean(reference, [2, 3], keepDim: true);
        using var shift = Ops.Sub(mr, my);
        return Ops.Add(y, shift);
    }

    /// <summary>A level for synthesis when none is given, per the sampler named (null: the config's).</summary>
    public double DrawLevel(ulong seed, ulong offset, string? sampler = null)
    {
        var cfg = Settings;
        sampler ??= cfg.LevelSampler;
        var rng = new DegradationRng(DegradationRng.ImageSeed(seed, "senmvae-level/" + offset.ToString(CultureInfo.InvariantCulture)));
        switch (sampler)
        {
            case "fixed": return cfg.GenerationLevel;
            case "sidd": return SiddLevel(rng);
            case "pool":
                if (cfg.LevelPool is not { Count: > 0 } pool)
                    throw new InvalidArgumentException("SeNmVae.Degrade", "the pool level sampler needs the model's level pool (recorded after training); use sidd or a level");
                return pool[rng.Int(0, pool.Count - 1)];
            default:
                throw new InvalidArgumentException("SeNmVae.Degrade", $"level sampler must be sidd, pool or fixed, got '{sampler}'");
        }
    }

    /// <summary>random_noise_levels_sidd: log10 shot ~ U[log10 6.8674e-4, log10 2.194856e-2],
    /// log10 read = 1.85 log10 shot + 0.30 + N(0, 0.2^2); level = sqrt(shot + read).</summary>
    public static double SiddLevel(DegradationRng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        double shot = rng.LogUniform(6.8674e-4, 2.194856e-2);
        double read = Math.Pow(10, 1.85 * Math.Log10(shot) + 0.30 + 0.2 * rng.Normal());
        return Math.Sqrt(shot + read);
    }

    /// <summary>translate(x, level, tau): z^i sampled from q(z|x), z_n^i = tau (mu_p + sigma_p eps).</summary>
    internal Var Translate(Tensor clean, double level, double temperature, DrawCounter? counter, IReadOnlyList<Tensor>? eps = null)
    {
        int nextEps = 0;
        Var Draw(Var mu, Var ls, double t, TemperatureMode mode)
        {
            if (eps is null) return F.GaussianSample(mu, ls, counter!.Seed, counter.Take(mu.Shape, mu.DType), t, mode);
            var z = mu + F.Exp(ls) * new Var(eps[nextEps++]);
            return t == 1 ? z : z * t;
        }
        var G = Net.G;
        int n = clean.Shape[0];
        var aH = G.Encode(G.StemH, G.EncH, clean);
        using var lv = Tensor.Full([n, 1, 1, 1], level, clean.DType, clean.Device);
        Var? d = null;
        for (int i = G.Layers - 1; i >= 0; i--)
        {
            var (mu, ls) = G.GzH[i].Forward(d is null ? aH[i] : d + aH[i]);
            var z = Draw(mu, ls, 1, TemperatureMode.Sample);
            d = d is null ? G.ProjZ[i].Forward(z) : d + G.ProjZ[i].Forward(z);
            var s = F.Expand(lv, n, 1, d.Shape[2], d.Shape[3]);
            var (muP, lsP) = G.Gzp[i].Forward(F.Concat([d, s], 1));
            var zn = Draw(muP, lsP, temperature, TemperatureMode.Sample);
            d = G.Dec[i].Forward(d + G.ProjZn[i].Forward(zn));
        }
        return G.Output(d!);
    }

    /// <summary>denoise(y): the content path from q(z|y) (sampled), decoded without z_n.</summary>
    internal Var Denoise(Tensor degraded, DrawCounter counter)
    {
        var G = Net.G;
        var aL = G.Encode(G.StemL, G.EncL, degraded);
        Var? d = null;
        for (int i = G.Layers - 1; i >= 0; i--)
        {
            var (mu, ls) = G.GzL[i].Forward(d is null ? aL[i] : d + aL[i]);
            var z = F.GaussianSample(mu, ls, counter.Seed, counter.Take(mu.Shape, mu.DType));
            d = G.Dec[i].Forward(d is null ? G.ProjZ[i].Forward(z) : d + G.ProjZ[i].Forward(z));
        }
        return G.Output(d!);
    }

    /// <summary>The level predictor's estimates (0..1 scale) for degraded images (N, 3, H, W).</summary>
    public double[] PredictLevels(Tensor degraded)
    {
        CheckImages("SeNmVae.PredictLevels", degraded);
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var p = Net.LevelNet.Forward(degraded).Data;
        using var f64 = p.To(DType.F64);
        using var host = f64.To(Device.Cpu);
        return host.ToArray<double>();
    }

    private void CheckImages(string op, Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        int m = Settings.SizeMultiple;
        if (images.Rank != 4 || images.Shape[1] != Settings.Channels)
            throw new ShapeMismatchException(op, $"expects images (N, {Settings.Channels}, H, W), got {Fmt.Of(images)}");
        if (images.Shape[2] % m != 0 || images.Shape[3] % m != 0)
            throw new ShapeMismatchException(op, $"height and width must be multiples of {m} ({Settings.GroupSizes.Count} resolution groups), got {Fmt.Of(images)}");
        var w = Net.G.StemH.Weight.Data;
        if (images.DType != w.DType)
            throw new DTypeMismatchException(op, $"images {Fmt.Of(images)} vs weights {w.DType.Name()}");
        if (images.Device != w.Device)
            throw new DeviceMismatchException(op, $"images {Fmt.Of(images)} vs weights on {w.Device}");
    }

    /// <summary>Per-sample values as an (N, 1, 1, 1) constant in the images' dtype and device.</summary>
    private static Var Col(double[] v, Tensor like) => new(Const(v, [v.Length, 1, 1, 1], like));

    /// <summary>Per-sample values as an (N) constant.</summary>
    private static Var Vec(double[] v, Tensor like) => new(Const(v, [v.Length], like));

    private static Tensor Const(double[] v, int[] shape, Tensor like)
    {
        using var host = Tensor.FromArray(v, shape);
        if (host.DType == like.DType && host.Device == like.Device) return host.Alias();
        using var cast = host.To(like.DType);
        return cast.To(like.Device);
    }

    public void Dispose()
    {
        _pendingReal?.Dispose();
        _pendingFake?.Dispose();
        _dOpt?.Dispose();
        Net.Dispose();
    }
}
