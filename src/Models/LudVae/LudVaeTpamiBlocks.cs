// LUD-VAE as the public (TPAMI) code builds it: its configuration record and the three building
// blocks (ludvae-senmvae.md §1.1). Child names follow the public network_ludvae.py state dict, as
// the spandrel LUDVAE port detects it: ConvBlock "net.{0,2,4,6}" (an nn.Sequential whose odd
// indices are the parameter-free ReLUs), GauBlock "m" (mean) and "v" (log sigma), ProjBlock "proj".
// The ReLUs are fused into the preceding convolution's output pass, so the Sequential is not built;
// an index container keeps the numbering.
using System.Globalization;
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Models.Nn;

namespace Engine.Models.LudVae;

/// <summary>The public-code LUD-VAE's settings. Noise levels are on the 0..1 scale (the code's
/// x/255). Defaults are the NTIRE20 folder's (§1.5 table, HEAD 8814d68): training h noise 8/255 on
/// clean and 3/255 on noisy images, generation noise 10/255, temperature 1. Other folders: AIM19
/// 15/10/15, SIDD 40/20/U[30,70], DND 20/10/U[10,30] (temperature U[1,3]), LOL 3/2/3.</summary>
/// <param name="Features">F, the width of every hidden tensor (128 in the code; smaller for CPU presets).</param>
/// <param name="Channels">Image channels (3).</param>
/// <param name="SigmaClean">sigma_H: std of the white noise h adds to clean (label 0) images in training.</param>
/// <param name="SigmaNoisy">sigma_L: std of the white noise h adds to noisy (label 1) images in training.</param>
/// <param name="KlWeightCap">The cap of the KL weight (the code's KL_weight, 1e-4).</param>
/// <param name="KlAnnealSteps">The divisor of the ramp (the code's KL_anneal_maxiter, 1e8): w(t) = min(t / this, cap).</param>
/// <param name="GenerationNoiseLevel">sigma_gen: the noise h adds to a clean image at generation.</param>
/// <param name="Temperature">The generation temperature callers default to (DegradeOptions carries the one used).</param>
public sealed record LudVaeTpamiConfig(
    int Features = 128, int Channels = 3,
    double SigmaClean = 8.0 / 255, double SigmaNoisy = 3.0 / 255,
    double KlWeightCap = 1e-4, double KlAnnealSteps = 1e8,
    double GenerationNoiseLevel = 10.0 / 255, double Temperature = 1.0)
{
    /// <summary>The KL weight at 0-based step: min(t / KlAnnealSteps, KlWeightCap) with t = step + 1
    /// (the code's 1-based iteration), i.e. a linear ramp to 1e-4 over the first 10k steps.</summary>
    public double KlWeight(long step) => Math.Min((step + 1) / KlAnnealSteps, KlWeightCap);

    /// <summary>Analytic parameter count (§1.10): 2 stems, 9 ConvBlocks, 5 GauBlocks, 7 ProjBlocks, outconv.</summary>
    public long ExpectedParameterCount()
    {
        long f = Features, c = Channels;
        long stem = c * f + f;
        long convBlock = 4 * (f * f * 9 + f);
        long gau = 2 * (f * f + f);
        long proj = 2 * f * f + f;
        long outconv = f * c + c;
        return 2 * stem + 9 * convBlock + 5 * gau + 7 * proj + outconv;
    }

    public void Validate()
    {
        if (Features <= 0 || Channels <= 0)
            throw new InvalidArgumentException("LudVaeTpami", $"features {Features} and channels {Channels} must be positive");
        if (!(SigmaClean >= 0) || !(SigmaNoisy >= 0) || !(GenerationNoiseLevel >= 0))
            throw new InvalidArgumentException("LudVaeTpami", $"noise levels must be >= 0, got clean {SigmaClean}, noisy {SigmaNoisy}, generation {GenerationNoiseLevel}");
        if (!(KlWeightCap >= 0) || !(KlAnnealSteps > 0) || !(Temperature >= 0))
            throw new InvalidArgumentException("LudVaeTpami", $"KL cap {KlWeightCap} must be >= 0, anneal steps {KlAnnealSteps} > 0, temperature {Temperature} >= 0");
    }

    public JsonObject ToJson() => new()
    {
        ["kind"] = LudVaeTpami.KindName,
        ["features"] = Features,
        ["channels"] = Channels,
        ["sigma_clean"] = SigmaClean,
        ["sigma_noisy"] = SigmaNoisy,
        ["kl_weight_cap"] = KlWeightCap,
        ["kl_anneal_steps"] = KlAnnealSteps,
        ["generation_noise_level"] = GenerationNoiseLevel,
        ["temperature"] = Temperature,
    };

    /// <summary>Reads ToJson's output; absent fields take the defaults, a wrong kind is an error.</summary>
    public static LudVaeTpamiConfig FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var kind = json["kind"]?.GetValue<string>();
        if (kind != null && kind != LudVaeTpami.KindName)
            throw new InvalidArgumentException("LudVaeTpami", $"config kind is '{kind}', expected '{LudVaeTpami.KindName}'");
        var d = new LudVaeTpamiConfig();
        double D(string k, double v) => json[k] is JsonNode n ? n.GetValue<double>() : v;
        int I(string k, int v) => json[k] is JsonNode n ? n.GetValue<int>() : v;
        var c = new LudVaeTpamiConfig(
            I("features", d.Features), I("channels", d.Channels),
            D("sigma_clean", d.SigmaClean), D("sigma_noisy", d.SigmaNoisy),
            D("kl_weight_cap", d.KlWeightCap), D("kl_anneal_steps", d.KlAnnealSteps),
            D("generation_noise_level", d.GenerationNoiseLevel), D("temperature", d.Temperature));
        c.Validate();
        return c;
    }
}

/// <summary>Holds children under given names (the surviving indices of a PyTorch nn.Sequential).</summary>
internal sealed class IndexedModules : Module
{
    public IndexedModules(params (int Index, Module Child)[] children)
    {
        foreach (var (i, c) in children) Child(i.ToString(CultureInfo.InvariantCulture), c);
    }
}

/// <summary>conv3x3(in -> F) ReLU conv3x3(F -> F) ReLU conv3x3(F -> F) ReLU conv3x3(F -> out); all
/// biased, no residual, no normalization, nothing after the last conv. Names net.0/2/4/6.</summary>
public sealed class LudConvBlock : Layer
{
    private readonly Conv2d[] _convs;

    public LudConvBlock(ParamInit init, int inChannels, int outChannels, int features)
    {
        _convs =
        [
            new Conv2d(init, inChannels, features, 3, padding: 1, fused: Activation.Relu),
            new Conv2d(init, features, features, 3, padding: 1, fused: Activation.Relu),
            new Conv2d(init, features, features, 3, padding: 1, fused: Activation.Relu),
            new Conv2d(init, features, outChannels, 3, padding: 1),
        ];
        Child("net", new IndexedModules((0, _convs[0]), (2, _convs[1]), (4, _convs[2]), (6, _convs[3])));
    }

    public override Var Forward(Var x)
    {
        foreach (var c in _convs) x = c.Forward(x);
        return x;
    }
}

/// <summary>Two parallel 1x1 convs: "m" gives the mean, "v" the log standard deviation (unconstrained).</summary>
public sealed class LudGauBlock : Module
{
    public Conv2d M { get; }
    public Conv2d V { get; }

    public LudGauBlock(ParamInit init, int inChannels, int outChannels)
    {
        M = Child("m", new Conv2d(init, inChannels, outChannels, 1));
        V = Child("v", new Conv2d(init, inChannels, outChannels, 1));
    }

    public (Var Mu, Var LogSigma) Forward(Var x) => (M.Forward(x), V.Forward(x));
}

/// <summary>A 1x1 conv (2F -> F) of the channel concatenation [a, b] (a fills the first F channels).</summary>
public sealed class LudProjBlock : Module
{
    public Conv2d Proj { get; }

    public LudProjBlock(ParamInit init, int features)
    {
        Proj = Child("proj", new Conv2d(init, 2 * features, features, 1));
    }

    public Var Forward(Var a, Var b) => Proj.Forward(F.Concat([a, b], 1)); // (N, 2F, H, W) -> (N, F, H, W)
}
