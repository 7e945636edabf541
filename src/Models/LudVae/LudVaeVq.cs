// "ludvae": the model of the ICLR-2022 LUD-VAE paper (specs/ludvae-senmvae.md 1.0 and 1.12), not the
// public TPAMI code ("ludvae-tpami"). The paper leaves most sizes open; the choices below follow the
// template it names (rosinality/vq-vae-2-pytorch vqvae.py, stage 1 only) and are documented here.
//
// Content z (discrete, prior uniform over K codes):
//   hx = h(I) (Gaussian blur, FixedGaussianBlur; paper: AIM19 9/4, NTIRE20 9/3, SIDD 21/10)
//   eb = enc_b(hx) (C, H/4), et = enc_t(eb) (C, H/8)
//   q_t = VQ(quantize_conv_t(et)) (E, H/8); q_b = VQ(quantize_conv_b([dec_t(q_t), eb])) (E, H/4)
// Degradation z_n (Gaussian, prior N(0, I)), "a VAE with the same encoder structure", from the raw I:
//   nb = enc_n_b(I), nt = enc_n_t(nb); q(z_n^t | I) = q_n_t(nt), q(z_n^b | I) = q_n_b(nb) (L channels,
//   diagonal, mean-field over the two levels).
// Interaction in latent space (signal-dependent degradation), one decoder for both domains:
//   f_t = fuse_t([q_t, z_n^t]), f_b = fuse_b([q_b, z_n^b]) (1x1 convs of the concatenations, E+L -> E);
//   I^ = dec([upsample_t(f_t), f_b]). Clean images use z_n = 0 (p(x|z) is the same decoder), as the
//   code version does; the fusion's content weights and bias still act on them.
// Objective (Proposition 1, Eq. 9, as a loss to minimize):
//   rec  = mean over all B*3*H*W elements of (I^ - I)^2 over both domains (MSE, as the code);
//   vq   = beta * mean((z_e - sg(q))^2) per level, summed (EMA codebook: commitment only; decay 0 adds
//          the codebook term). The content KL of Eq. 9 (1/2 per sample in both terms) is KL(q(z)||U(K)) =
//          log K per position for a deterministic one-hot posterior: a constant, dropped;
//   kl_n = sum over the degraded samples of KL(q(z_n|y) || N(0, I)), divided by the same B*3*H*W as
//          the MSE (so the two terms keep Eq. 9's ratio up to the decoder variance absorbed in alpha);
//   loss = rec + vq + alpha(t) kl_n, alpha(t) = min(t / KlAnnealIterations, KlAnnealCap), t = step + 1
//          (paper: t / 5e8, uncapped).
// Randomness: the two z_n draws of step s use Philox (seed, offset s * 2^32 + running count).
// Degrade = Method 3: z from q(z | h(x)) (nearest codes, no EMA update), z_n ~ N(0, T^2 I), decode.
// Parameters at the paper-size config: 2,089,795 (codebooks are EMA buffers: +65,536 values); the
// paper reports 10.07M without giving widths, which the template's widths do not reach (README).
using System.Globalization;
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Models.Nn;

namespace Engine.Models.Degradation;

/// <summary>Sizes and training settings of the ICLR LUD-VAE (defaults: the paper-size model with
/// rosinality's VQ-VAE-2 widths and the AIM19 blur).</summary>
/// <param name="Channels">Encoder/decoder width C (rosinality: 128).</param>
/// <param name="ResChannels">Hidden width of the residual blocks (32).</param>
/// <param name="NumRes">Residual blocks per encoder/decoder (2).</param>
/// <param name="EmbedDim">Code dimension E (64).</param>
/// <param name="NumCodes">Codes per codebook K (512).</param>
/// <param name="Beta">Commitment weight (0.25).</param>
/// <param name="Decay">EMA decay of the codebooks (0.99); 0 trains them by gradient.</param>
/// <param name="BlurSize">Size s of the Gaussian h (odd; 1 = no blur).</param>
/// <param name="BlurSigma">Standard deviation of the Gaussian h.</param>
/// <param name="NoiseLatentChannels">Channels L of z_n at each level.</param>
/// <param name="KlAnnealIterations">alpha(t) = t / this (paper 5e8).</param>
/// <param name="KlAnnealCap">Upper bound of alpha (paper: none, +infinity).</param>
/// <param name="InChannels">Image channels (3).</param>
/// <param name="Seed">Seed of the initialization and of the codebooks.</param>
/// <param name="DeadCodeThreshold">EMA codes whose count falls below this restart at a batch row
/// (VectorQuantizerOptions.DeadCodeThreshold); 0 (the template) never restarts. Small problems
/// collapse to one code without it.</param>
public sealed record LudVaeVqConfig(
    int Channels = 128, int ResChannels = 32, int NumRes = 2, int EmbedDim = 64, int NumCodes = 512,
    double Beta = 0.25, double Decay = 0.99, int BlurSize = 9, double BlurSigma = 4,
    int NoiseLatentChannels = 64, double KlAnnealIterations = 5e8, double KlAnnealCap = double.PositiveInfinity,
    int InChannels = 3, ulong Seed = 0, double DeadCodeThreshold = 0)
{
    /// <summary>The paper's blur per dataset: "aim19" 9/4, "ntire20" 9/3, "sidd" 21/10.</summary>
    public static LudVaeVqConfig Paper(string dataset = "aim19") => dataset.ToLowerInvariant() switch
    {
        "aim19" => new(),
        "ntire20" => new(BlurSize: 9, BlurSigma: 3),
        "sidd" => new(BlurSize: 21, BlurSigma: 10),
        _ => throw new InvalidArgumentException("LudVaeVqConfig.Paper", $"unknown dataset '{dataset}' (aim19, ntire20, sidd)"),
    };

    /// <summary>Total downsampling of the top level: H and W must be multiples of it.</summary>
    public const int Downsample = 8;

    public void Validate()
    {
        const string op = "LudVaeVqConfig";
        if (Channels < 2 || Channels % 2 != 0 || ResChannels < 1 || NumRes < 0 || EmbedDim < 1 || NumCodes < 1 || NoiseLatentChannels < 1 || InChannels < 1)
            throw new InvalidArgumentException(op, $"sizes must be positive (Channels even): C={Channels}, R={ResChannels}, NumRes={NumRes}, E={EmbedDim}, K={NumCodes}, L={NoiseLatentChannels}, in={InChannels}");
        if (BlurSize < 1 || BlurSize % 2 == 0 || !(BlurSigma > 0))
            throw new InvalidArgumentException(op, $"blur size {BlurSize} must be odd and sigma {BlurSigma} positive");
        if (!(Beta >= 0) || !(Decay >= 0 && Decay < 1))
            throw new InvalidArgumentException(op, $"beta {Beta} must be >= 0 and decay {Decay} in [0, 1)");
        if (!(DeadCodeThreshold >= 0) || double.IsInfinity(DeadCodeThreshold))
            throw new InvalidArgumentException(op, $"dead-code threshold {DeadCodeThreshold} must be finite and >= 0");
        if (!(KlAnnealIterations > 0) || !(KlAnnealCap >= 0))
            throw new InvalidArgumentException(op, $"KL anneal iterations {KlAnnealIterations} must be > 0 and cap {KlAnnealCap} >= 0");
    }

    /// <summary>alpha(t) of the z_n KL for the 0-based step (t = step + 1, the iteration count).</summary>
    public double KlWeight(long step) => Math.Min((step + 1) / KlAnnealIterations, KlAnnealCap);

    /// <summary>Parameter count from the layer lists (LudVaeVqBlocks.cs and the class header).</summary>
    public long ExpectedParameterCount()
    {
        int c = Channels, r = ResChannels, n = NumRes, e = EmbedDim, l = NoiseLatentChannels, i = InChannels;
        long content = VqVae2Encoder.Count(i, c, n, r, 4) + VqVae2Encoder.Count(c, c, n, r, 2)
            + ((long)c * e + e) + VqVae2Decoder.Count(e, e, c, n, r, 2) + ((long)(e + c) * e + e)
            + ((long)e * e * 16 + e) + VqVae2Decoder.Count(2 * e, i, c, n, r, 4)
            + (Decay == 0 ? 2L * NumCodes * e : 0);
        long noise = VqVae2Encoder.Count(i, c, n, r, 4) + VqVae2Encoder.Count(c, c, n, r, 2)
            + 2 * GaussianHead.Count(c, l);
        long fuse = 2 * ((long)(e + l) * e + e);
        return content + noise + fuse;
    }

    public JsonObject ToJson() => new()
    {
        ["channels"] = Channels, ["res_channels"] = ResChannels, ["num_res"] = NumRes, ["embed_dim"] = EmbedDim,
        ["num_codes"] = NumCodes, ["beta"] = Beta, ["decay"] = Decay, ["blur_size"] = BlurSize, ["blur_sigma"] = BlurSigma,
        ["noise_latent_channels"] = NoiseLatentChannels, ["kl_anneal_iterations"] = KlAnnealIterations,
        ["kl_anneal_cap"] = double.IsPositiveInfinity(KlAnnealCap) ? null : KlAnnealCap,
        ["in_channels"] = InChannels, ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
        ["dead_code_threshold"] = DeadCodeThreshold,
    };

    /// <summary>Reads ToJson's output; absent fields keep their defaults.</summary>
    public static LudVaeVqConfig FromJson(JsonObject o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var d = new LudVaeVqConfig();
        int I(string k, int v) => o[k] is JsonNode n ? n.GetValue<int>() : v;
        double D(string k, double v) => o[k] is JsonNode n ? n.GetValue<double>() : v;
        try
        {
            return new LudVaeVqConfig(I("channels", d.Channels), I("res_channels", d.ResChannels), I("num_res", d.NumRes),
                I("embed_dim", d.EmbedDim), I("num_codes", d.NumCodes), D("beta", d.Beta), D("decay", d.Decay),
                I("blur_size", d.BlurSize), D("blur_sigma", d.BlurSigma), I("noise_latent_channels", d.NoiseLatentChannels),
                D("kl_anneal_iterations", d.KlAnnealIterations), D("kl_anneal_cap", d.KlAnnealCap), I("in_channels", d.InChannels),
                o["seed"] is JsonNode s ? ulong.Parse(s.GetValue<string>(), CultureInfo.InvariantCulture) : d.Seed,
                D("dead_code_threshold", d.DeadCodeThreshold));
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or OverflowException)
        {
            throw new InvalidArgumentException("LudVaeVqConfig.FromJson", $"bad field: {ex.Message}");
        }
    }
}

/// <summary>The ICLR LUD-VAE: a two-level VQ-VAE-2 content path on h(I) and a two-level Gaussian
/// degradation VAE on I, fused in latent space and decoded by one shared decoder.</summary>
public sealed class LudVae : Module, IDegradationVae
{
    public const string KindName = "ludvae";

    public LudVaeVqConfig Settings { get; }
    public VqVae2Encoder EncB { get; }
    public VqVae2Encoder EncT { get; }
    public Conv2d QuantizeConvT { get; }
    public VectorQuantizer QuantizeT { get; }
    public VqVae2Decoder DecT { get; }
    public Conv2d QuantizeConvB { get; }
    public VectorQuantizer QuantizeB { get; }
    public ConvTranspose2d UpsampleT { get; }
    public VqVae2Decoder Dec { get; }
    public VqVae2Encoder EncNB { get; }
    public VqVae2Encoder EncNT { get; }
    public GaussianHead QNT { get; }
    public GaussianHead QNB { get; }
    public Conv2d FuseT { get; }
    public Conv2d FuseB { get; }

    public string Kind => KindName;
    Module IDegradationVae.Module => this;
    public JsonObject Config => new() { ["kind"] = KindName, ["config"] = Settings.ToJson() };

    /// <summary>Rebuilds the architecture from <see cref="Config"/> (weights are loaded separately).</summary>
    public static LudVae FromConfig(JsonObject config, DType dtype = DType.F32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config["kind"]?.GetValue<string>() is string k && k != KindName)
            throw new InvalidArgumentException("LudVae.FromConfig", $"config is for '{k}', not '{KindName}'");
        if (config["config"] is not JsonObject settings)
            throw new InvalidArgumentException("LudVae.FromConfig", "config has no 'config' object");
        return new LudVae(LudVaeVqConfig.FromJson(settings), dtype, device);
    }

    public LudVae(LudVaeVqConfig config, DType dtype = DType.F32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Settings = config;
        var init = new ParamInit(config.Seed, dtype, device);
        int c = config.Channels, r = config.ResChannels, n = config.NumRes, e = config.EmbedDim, l = config.NoiseLatentChannels, i = config.InChannels;
        VectorQuantizer Vq(ulong salt) => new(new VectorQuantizerOptions
        {
            NumCodes = config.NumCodes, Dim = e, Beta = config.Beta, Decay = config.Decay, DeadCodeThreshold = config.DeadCodeThreshold,
            Seed = config.Seed * 0x9E3779B97F4A7C15UL + salt, DType = dtype, Device = init.Device,
        });
        EncB = Child("enc_b", new VqVae2Encoder(init, i, c, n, r, 4));
        EncT = Child("enc_t", new VqVae2Encoder(init, c, c, n, r, 2));
        QuantizeConvT = Child("quantize_conv_t", new Conv2d(init, c, e, 1));
        QuantizeT = Child("quantize_t", Vq(1));
        DecT = Child("dec_t", new VqVae2Decoder(init, e, e, c, n, r, 2));
        QuantizeConvB = Child("quantize_conv_b", new Conv2d(init, e + c, e, 1));
        QuantizeB = Child("quantize_b", Vq(2));
        UpsampleT = Child("upsample_t", new ConvTranspose2d(init, e, e, 4, stride: 2, padding: 1));
        Dec = Child("dec", new VqVae2Decoder(init, 2 * e, i, c, n, r, 4));
        EncNB = Child("enc_n_b", new VqVae2Encoder(init, i, c, n, r, 4));
        EncNT = Child("enc_n_t", new VqVae2Encoder(init, c, c, n, r, 2));
        QNT = Child("q_n_t", new GaussianHead(init, c, l));
        QNB = Child("q_n_b", new GaussianHead(init, c, l));
        FuseT = Child("fuse_t", new Conv2d(init, e + l, e, 1));
        FuseB = Child("fuse_b", new Conv2d(init, e + l, e, 1));
    }

    /// <summary>The content path on h(x): quantized top (E, H/8) and bottom (E, H/4) maps and the VQ outputs.</summary>
    public (VqOutput Top, VqOutput Bottom) EncodeContent(Var x)
    {
        var hx = FixedGaussianBlur.Apply(x, Settings.BlurSize, Settings.BlurSigma);
        var eb = EncB.Forward(hx);                                              // (B, C, H/4, W/4)
        var et = EncT.Forward(eb);                                              // (B, C, H/8, W/8)
        var top = QuantizeT.Forward(QuantizeConvT.Forward(et), channelsFirst: true);
        var dt = DecT.Forward(top.Quantized);                                   // (B, E, H/4, W/4)
        var bottom = QuantizeB.Forward(QuantizeConvB.Forward(F.Concat([dt, eb], 1)), channelsFirst: true);
        return (top, bottom);
    }

    /// <summary>The posteriors q(z_n^t | x) (L, H/8) and q(z_n^b | x) (L, H/4) from the raw image.</summary>
    public ((Var Mu, Var LogSigma) Top, (Var Mu, Var LogSigma) Bottom) EncodeNoise(Var x)
    {
        var nb = EncNB.Forward(x);
        var nt = EncNT.Forward(nb);
        return (QNT.Forward(nt), QNB.Forward(nb));
    }

    /// <summary>The shared decoder: quantized content fused with z_n at each level (z_n = 0 for clean images).</summary>
    public Var Decode(Var qTop, Var qBottom, Var znTop, Var znBottom)
    {
        var ft = FuseT.Forward(F.Concat([qTop, znTop], 1));
        var fb = FuseB.Forward(F.Concat([qBottom, znBottom], 1));
        return Dec.Forward(F.Concat([UpsampleT.Forward(ft), fb], 1));
    }

    private void CheckImages(string op, Tensor images)
    {
        if (images.Rank != 4 || images.Size(1) != Settings.InChannels || images.Size(2) % LudVaeVqConfig.Downsample != 0 || images.Size(3) % LudVaeVqConfig.Downsample != 0)
            throw new ShapeMismatchException(op, $"images [{string.Join(", ", images.Shape)}] must be (N, {Settings.InChannels}, H, W) with H and W multiples of {LudVaeVqConfig.Downsample}");
    }

    private Tensor Zeros(Tensor like, int channels) =>
        Tensor.Zeros([like.Size(0), channels, like.Size(2), like.Size(3)], like.DType, like.Device);

    public ModelLoss Loss(Tensor images, bool[] isDegraded, long step, ulong seed)
    {
        const string op = "LudVae.Loss";
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(isDegraded);
        CheckImages(op, images);
        int b = images.Size(0);
        if (isDegraded.Length != b)
            throw new InvalidArgumentException(op, $"isDegraded has {isDegraded.Length} entries for a batch of {b}");
        if (step < 0 || step >= 1L << 31)
            throw new InvalidArgumentException(op, $"step {step} must be in [0, 2^31)");
        var x = new Var(images);
        var (top, bottom) = EncodeContent(x);
        var qt = top.Quantized; var qb = bottom.Quantized;
        long elements = images.Numel;
        Var znT, znB;
        Var? kl = null;
        if (isDegraded.Any(d => d))
        {
            var ((muT, lsT), (muB, lsB)) = EncodeNoise(x);
            // Offsets: 2^32 counter blocks reserved per step, the draws follow one another.
            ulong offset = (ulong)step << 32;
            int elem = images.DType.Size();
            znT = F.GaussianSample(muT, lsT, seed, offset);
            offset += Engine.Random.Philox.BlocksUsed(muT.Numel, elem);
            znB = F.GaussianSample(muB, lsB, seed, offset);
            var maskData = isDegraded.Select(d => d ? 1.0 : 0.0).ToArray();
            var mask4 = new Var(Tensor.FromArray(maskData, [b, 1, 1, 1], images.Device).To(images.DType));
            var mask1 = new Var(Tensor.FromArray(maskData, [b], images.Device).To(images.DType));
            znT *= mask4;
            znB *= mask4;
            var perSample = F.KlStdNormal(muT, lsT, GaussianReduction.SumPerSample) + F.KlStdNormal(muB, lsB, GaussianReduction.SumPerSample);
            kl = F.Sum(perSample * mask1) / elements;
        }
        else
        {
            znT = new Var(Zeros(qt.Data, Settings.NoiseLatentChannels));
            znB = new Var(Zeros(qb.Data, Settings.NoiseLatentChannels));
        }
        var recon = Decode(qt, qb, znT, znB);
        var diff = recon - x;
        var rec = F.Mean(diff * diff);
        var vq = top.Loss + bottom.Loss;
        double alpha = Settings.KlWeight(step);
        var total = rec + vq;
        if (kl != null && alpha != 0) total += kl * alpha;
        var terms = new Dictionary<string, double>
        {
            ["rec"] = rec.Data.Item(),
            ["vq"] = vq.Data.Item(),
            ["kl_n"] = kl?.Data.Item() ?? 0,
            ["kl_weight"] = alpha,
            ["perplexity_t"] = top.Perplexity.Item(),
            ["perplexity_b"] = bottom.Perplexity.Item(),
        };
        return new ModelLoss(total, terms);
    }

    public Tensor Degrade(Tensor clean, DegradeOptions options)
    {
        const string op = "LudVae.Degrade";
        ArgumentNullException.ThrowIfNull(clean);
        ArgumentNullException.ThrowIfNull(options);
        CheckImages(op, clean);
        // Method 1 samples z from the prior p(z) and needs a PixelCNN over the codes, which the paper
        // did not train either; method 2 is the noisy -> clean translation (z from q(z|h(y)), z_n = 0).
        if (options.Method is not (2 or 3))
            throw new UnsupportedOpException(op, $"method {options.Method} is not available: 3 (z from q(z|h(x)), z_n from the prior) synthesizes degradations, 2 (z from q(z|h(y)), z_n = 0) translates degraded to clean; 1 needs a learned code prior (PixelCNN), as in the paper not built");
        if (!(options.Temperature >= 0) || double.IsInfinity(options.Temperature))
            throw new InvalidArgumentException(op, $"temperature must be finite and >= 0, got {options.Temperature}");
        bool wasTraining = IsTraining;
        Eval(); // no EMA update while synthesizing
        try
        {
            using var ng = GradMode.NoGrad();
            var (top, bottom) = EncodeContent(new Var(clean));
            var qt = top.Quantized.Data; var qb = bottom.Quantized.Data;
            int l = Settings.NoiseLatentChannels;
            double temperature = options.Method == 2 ? 0 : options.Temperature;
            int[] shapeT = [qt.Size(0), l, qt.Size(2), qt.Size(3)], shapeB = [qb.Size(0), l, qb.Size(2), qb.Size(3)];
            ulong offset = options.Offset;
            var znT = Tensor.Normal(shapeT, options.Seed, offset, 0, temperature, clean.DType, clean.Device);
            offset += Engine.Random.Philox.BlocksUsed(znT.Numel, clean.DType.Size());
            var znB = Tensor.Normal(shapeB, options.Seed, offset, 0, temperature, clean.DType, clean.Device);
            return Decode(top.Quantized, bottom.Quantized, new Var(znT), new Var(znB)).Data;
        }
        finally
        {
            Train(wasTraining);
        }
    }
}
