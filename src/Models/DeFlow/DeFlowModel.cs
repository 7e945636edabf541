// DeFlow as a learned degradation model (spec /work/shared/specs/deflow.md sections 1.2-1.4, 5, 6):
// the unpaired NLL objective and conditional degradation sampling on top of DeFlowNet.
//   Conditional (1.4): h(x) = MATLAB-bicubic x1/s of the image + N(0, 0.03^2) noise (Philox), the
//     noise drawn once per call and the RRDB features computed once and shared by encode/decode.
//   Loss (5.1): x_in = x + (U(0,1) - 0.5)/32 (F.Dequantize, quant 32); log p = flow logdet (incl.
//     the split's -sum(logs)) + log p_d(eps1) + log p_d(z3) - ln(32) H W; clean samples score their
//     latents under N(0, I), degraded ones under N(mu, I + M M^T) per pixel channel vector with the
//     latent's own (mu, M) (split: layers.*.mean_shift/cov_shift; final: mean_shift/cov_shift);
//     nll = -log p / (ln 2 H W) ("bits per pixel" over H W, not 3 H W, as the reference); loss =
//     batch mean, no domain weighting (1.2).
//   The Gaussian with covariance Sigma = I + M M^T (C x C, C = 6 or 96) is evaluated as
//     -1/2 [P log|Sigma| + P C log 2pi + tr(Sigma^-1 S)], S = sum_p d_p d_p^T built from autograd
//     matmuls; Sigma^-1 and log|Sigma| come from one custom op (host Cholesky in double; backward
//     gSigma = -Sigma^-1 G Sigma^-1 + g_ld Sigma^-1, gM = (gSigma + gSigma^T) M, so gM is exactly 0
//     at M = 0, spec 5.3).
//   Normalize (5.2, AIM-RWSR): degraded training images are remapped channel-wise to the clean
//     statistics (then clamped to [0, 1]) before the conditional and the flow see them; synthesis
//     maps its output back. One simplification: the conditional is computed from the remapped image,
//     where the reference remaps the LR image with separate _lr statistics (a ~5 % different scale).
//   CovarianceInit: "zero" is the official init (M = 0 never learns, spec 5.3); "random" (default)
//     draws M ~ N(0, CovarianceInitStd^2) so the correlated shift can learn. mu is zero either way.
//   Degrade (1.3, 6): y = f^-1(f(x; h) + T (mu + M n); h), n ~ N(0, I) per pixel, each latent with
//     its own (mu, M). Choice: the clean image is encoded without the 1/32 dequantization noise, so
//     T = 0 is the identity up to the flow's round-off. NoiseLevel overrides the 0.03 conditional
//     noise. Method 3 (default) is this translation; Method 2 the reverse translation y -> x (5.4).
// Randomness: Loss draws at offsets step * 2^36 (+ 2^35 for the dequantization); Degrade at
// options.Offset (+ k 2^35 for latent k's shift noise).
using System.Text.Json.Nodes;
using Engine.Autograd;
using Engine.Models.Degradation;
using Engine.Models.Nn;

namespace Engine.Models.DeFlow;

/// <summary>Per-channel (R, G, B) means and standard deviations of the clean and degraded domains,
/// on the 0..1 scale, for DeFlow's AIM-RWSR normalization (spec 5.2): training remaps degraded
/// images to x' = clamp((x - mean_noisy) / std_noisy * std_clean + mean_clean, 0, 1); synthesis
/// maps the output back, y' = (y - mean_clean) / std_clean * std_noisy + mean_noisy.</summary>
public sealed record ChannelStats(double[] MeanClean, double[] StdClean, double[] MeanNoisy, double[] StdNoisy)
{
    /// <summary>The AIM-RWSR values of the reference (spec 5.2, the _hr rows, divided by 255).</summary>
    public static ChannelStats Aim => new(
        [114.47609804 / 255, 111.67182033 / 255, 103.29093697 / 255], [59.98190873 / 255, 57.2422813 / 255, 59.9127576 / 255],
        [120.71678252 / 255, 115.66740282 / 255, 104.7566205 / 255], [54.14952531 / 255, 52.60073718 / 255, 55.64991431 / 255]);

    public void Validate()
    {
        foreach (var (name, v, positive) in new[] { ("mean_clean", MeanClean, false), ("std_clean", StdClean, true), ("mean_noisy", MeanNoisy, false), ("std_noisy", StdNoisy, true) })
        {
            if (v is null || v.Length != 3 || v.Any(x => !double.IsFinite(x) || (positive ? !(x > 0) : false)))
                throw new InvalidArgumentException("DeFlowModelConfig", $"normalization {name} must be 3 finite values{(positive ? " > 0" : "")}, got [{(v is null ? "" : string.Join(", ", v))}]");
        }
    }

    public JsonObject ToJson() => new()
    {
        ["mean_clean"] = Arr(MeanClean), ["std_clean"] = Arr(StdClean), ["mean_noisy"] = Arr(MeanNoisy), ["std_noisy"] = Arr(StdNoisy),
    };

    private static JsonArray Arr(double[] v) => new(v.Select(x => (JsonNode?)x).ToArray());

    public static ChannelStats FromJson(JsonObject j)
    {
        double[] A(string k) => j[k] is JsonArray a ? a.Select(x => x!.GetValue<double>()).ToArray()
            : throw new InvalidArgumentException("DeFlowModelConfig.FromJson", $"normalization lacks {k}");
        var s = new ChannelStats(A("mean_clean"), A("std_clean"), A("mean_noisy"), A("std_noisy"));
        s.Validate();
        return s;
    }

    /// <summary>Per-channel mean and (population) std over every pixel of the images (each (3, H, W) data).</summary>
    public static (double[] Mean, double[] Std) Measure(IEnumerable<float[]> images)
    {
        var sum = new double[3];
        var sq = new double[3];
        long count = 0;
        foreach (var d in images)
        {
            int hw = d.Length / 3;
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < hw; i++) { double v = d[c * hw + i]; sum[c] += v; sq[c] += v * v; }
            count += hw;
        }
        if (count == 0) throw new InvalidArgumentException("ChannelStats.Measure", "no pixels");
        var mean = sum.Select(v => v / count).ToArray();
        return (mean, sq.Select((v, c) => Math.Sqrt(Math.Max(0, v / count - mean[c] * mean[c]))).ToArray());
    }
}

/// <summary>The wrapper's settings: the network shape plus objective/sampling options. Normalize:
/// the AIM-style normalization of the degraded domain (null: none, as NTIRE and DPED).</summary>
public sealed record DeFlowModelConfig(
    DeFlowConfig Net,
    string CovarianceInit = "random",
    double CovarianceInitStd = 0.01,
    double ConditionNoise = 0.03,
    double Quant = 32,
    ChannelStats? Normalize = null)
{
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Net);
        Net.Validate();
        if (CovarianceInit is not ("zero" or "random"))
            throw new InvalidArgumentException("DeFlowModelConfig", $"covariance init must be \"zero\" or \"random\", got \"{CovarianceInit}\"");
        if (!(CovarianceInitStd >= 0) || !double.IsFinite(CovarianceInitStd))
            throw new InvalidArgumentException("DeFlowModelConfig", $"covariance init std must be finite and >= 0, got {CovarianceInitStd}");
        if (!(ConditionNoise >= 0) || !double.IsFinite(ConditionNoise))
            throw new InvalidArgumentException("DeFlowModelConfig", $"condition noise must be finite and >= 0, got {ConditionNoise}");
        if (!(Quant >= 1) || !double.IsFinite(Quant))
            throw new InvalidArgumentException("DeFlowModelConfig", $"quant must be finite and >= 1, got {Quant}");
        Normalize?.Validate();
        if (Normalize is not null && Net.InChannels != 3)
            throw new InvalidArgumentException("DeFlowModelConfig", $"normalization needs 3-channel images, the flow takes {Net.InChannels}");
    }

    public JsonObject ToJson()
    {
        var n = Net;
        var taps = new JsonArray();
        foreach (var t in n.Taps) taps.Add(t);
        return new JsonObject
        {
            ["hidden"] = n.Hidden, ["scale"] = n.Scale, ["levels"] = n.Levels, ["k"] = n.K,
            ["transition_steps"] = n.TransitionSteps, ["rrdb_blocks"] = n.RrdbBlocks, ["features"] = n.Features,
            ["growth"] = n.Growth, ["tap_blocks"] = taps, ["in_channels"] = n.InChannels, ["eps"] = n.Eps,
            ["split_division_eps"] = n.SplitDivisionEps, ["covariance_init"] = CovarianceInit,
            ["covariance_init_std"] = CovarianceInitStd, ["condition_noise"] = ConditionNoise, ["quant"] = Quant,
            ["normalize"] = Normalize?.ToJson(),
        };
    }

    /// <summary>Reads ToJson's object (missing fields take the Aim/defaults); accepts {"kind", "config"} too.</summary>
    public static DeFlowModelConfig FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json["config"] is JsonObject inner)
        {
            if (json["kind"] is JsonNode k && k.GetValue<string>() != DeFlow.KindName)
                throw new InvalidArgumentException("DeFlowModelConfig.FromJson", $"kind \"{k.GetValue<string>()}\" is not \"{DeFlow.KindName}\"");
            json = inner;
        }
        var d = new DeFlowConfig();
        int I(string name, int def) => json[name] is JsonNode v ? v.GetValue<int>() : def;
        double D(string name, double def) => json[name] is JsonNode v ? v.GetValue<double>() : def;
        int[]? taps = json["tap_blocks"] is JsonArray a ? a.Select(t => t!.GetValue<int>()).ToArray() : null;
        var net = new DeFlowConfig(
            Hidden: I("hidden", d.Hidden), Scale: I("scale", d.Scale), Levels: I("levels", d.Levels), K: I("k", d.K),
            TransitionSteps: I("transition_steps", d.TransitionSteps), RrdbBlocks: I("rrdb_blocks", d.RrdbBlocks),
            Features: I("features", d.Features), Growth: I("growth", d.Growth), TapBlocks: taps,
            InChannels: I("in_channels", d.InChannels), Eps: D("eps", d.Eps), SplitDivisionEps: D("split_division_eps", d.SplitDivisionEps));
        var c = new DeFlowModelConfig(net,
            json["covariance_init"] is JsonNode ci ? ci.GetValue<string>() : "random",
            D("covariance_init_std", 0.01), D("condition_noise", 0.03), D("quant", 32),
            json["normalize"] is JsonObject norm ? ChannelStats.FromJson(norm) : null);
        c.Validate();
        return c;
    }
}

public sealed class DeFlow : IDegradationVae
{
    public const string KindName = "deflow";
    private const ulong StepStride = 1UL << 36, SubStride = 1UL << 35;
    private static readonly double Log2Pi = Math.Log(2 * Math.PI);

    public DeFlowNet Net { get; }
    public DeFlowModelConfig Settings { get; }
    public string Kind => KindName;
    public Module Module => Net;
    public JsonObject Config => Settings.ToJson();

    public DeFlow(ParamInit init, DeFlowModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(init);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Settings = config;
        Net = new DeFlowNet(init, config.Net);
        if (config.CovarianceInit == "random" && config.CovarianceInitStd > 0)
        {
            ulong seed = Engine.Models.Flow.FlowLayers.SubSeed(init.Seed, 2);
            ulong off = 0;
            foreach (var m in Shifts().Select(s => s.Cov))
            {
                using var r = Tensor.Normal(m.Shape, seed, off, 0, config.CovarianceInitStd, m.Data.DType, m.Data.Device);
                m.Data.CopyFrom(r);
                off += SubStride;
            }
        }
    }

    /// <summary>Rebuilds the architecture from Config (weights are loaded separately).</summary>
    public static DeFlow FromConfig(JsonObject config, ParamInit init) => new(init, DeFlowModelConfig.FromJson(config));

    /// <summary>The (mu, M) of each latent in Encode's order: the splits', then the final latent's.</summary>
    public IReadOnlyList<(Var Mean, Var Cov)> Shifts() => [.. Net.Flow.SplitShifts, (Net.MeanShift, Net.CovShift)];

    /// <summary>h(x): bicubic x1/s plus N(0, sigma^2) noise drawn at (seed, offset).</summary>
    public Tensor Conditional(Tensor images, double sigma, ulong seed, ulong offset)
    {
        int s = Settings.Net.Scale;
        var lq = Engine.Imaging.Resize.Bicubic(images, images.Shape[2] / s, images.Shape[3] / s);
        if (sigma == 0) return lq;
        using (lq)
        {
            using var n = Tensor.Normal(lq.Shape, seed, offset, 0, sigma, lq.DType, lq.Device);
            return Engine.Ops.Add(lq, n);
        }
    }

    public ModelLoss Loss(Tensor images, bool[] isDegraded, long step, ulong seed)
    {
        CheckImages("DeFlow.Loss", images);
        ArgumentNullException.ThrowIfNull(isDegraded);
        if (isDegraded.Length != images.Shape[0])
            throw new ShapeMismatchException("DeFlow.Loss", $"{isDegraded.Length} domain labels for {images.Shape[0]} images");
        if (step < 0 || step >= 1L << 27)
            throw new InvalidArgumentException("DeFlow.Loss", $"step must be in [0, 2^27), got {step}");
        ulong baseOff = (ulong)step * StepStride;
        int n = images.Shape[0], h = images.Shape[2], w = images.Shape[3];
        if (Settings.Normalize is ChannelStats st && isDegraded.Any(b => b)) images = NormalizeDegraded(images, isDegraded, st);
        var lq = Conditional(images, Settings.ConditionNoise, seed, baseOff); // the RRDB backward reads it: the caller's scope frees it
        var x = F.Dequantize(images, Settings.Quant, seed, baseOff + SubStride, centered: true);
        var (z, logdet) = Net.Flow.Encode(x, Net.Condition(lq));
        var shifts = Shifts();
        var prior = new Var[n];
        for (int i = 0; i < n; i++)
        {
            Var? lp = null;
            for (int k = 0; k < z.Count; k++)
            {
                var zi = F.Select(z[k], 0, i);
                int c = zi.Shape[0];
                var flat = F.Reshape(F.Contiguous(zi), c, zi.Shape[1] * zi.Shape[2]);
                var term = isDegraded[i] ? ShiftedLogDensity(flat, shifts[k].Mean, shifts[k].Cov) : StdLogDensity(flat);
                lp = lp is null ? term : lp + term;
            }
            prior[i] = lp!;
        }
        double hw = (double)h * w;
        var logp = logdet + F.Stack(prior, 0) - Math.Log(Settings.Quant) * hw;
        var nll = logp * (-1.0 / (Math.Log(2) * hw));
        var total = F.Mean(nll);
        var nd = nll.Data.ToDoubleArray();
        var terms = new Dictionary<string, double> { ["loss"] = total.Data.Item() };
        if (isDegraded.Any(b => !b)) terms["nll_clean"] = Enumerable.Range(0, n).Where(i => !isDegraded[i]).Average(i => nd[i]);
        if (isDegraded.Any(b => b)) terms["nll_degraded"] = Enumerable.Range(0, n).Where(i => isDegraded[i]).Average(i => nd[i]);
        terms["m_norm"] = Math.Sqrt(shifts.Sum(s => s.Cov.Data.ToDoubleArray().Sum(v => v * v)));
        return new ModelLoss(total, terms);
    }

    public Tensor Degrade(Tensor clean, DegradeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckImages("DeFlow.Degrade", clean);
        if (!(options.Temperature >= 0) || !double.IsFinite(options.Temperature))
            throw new InvalidArgumentException("DeFlow.Degrade", $"temperature must be finite and >= 0, got {options.Temperature}");
        double sigma = options.NoiseLevel ?? Settings.ConditionNoise;
        if (!(sigma >= 0))
            throw new InvalidArgumentException("DeFlow.Degrade", $"noise level must be >= 0, got {sigma}");
        if (options.Method is not (2 or 3))
            throw new UnsupportedOpException("DeFlow.Degrade", $"method {options.Method}: DeFlow translates clean -> degraded (3, the default) and degraded -> clean (2)");
        if (options.Method == 2) return Reverse(clean, sigma, options);
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var lq = Conditional(clean, sigma, options.Seed, options.Offset);
        var cond = Net.Condition(lq);
        var (z, _) = Net.Flow.Encode(clean, cond);
        var shifts = Shifts();
        var shifted = new Var[z.Count];
        for (int k = 0; k < z.Count; k++)
        {
            shifted[k] = options.Temperature == 0 ? z[k]
                : z[k] + Shift(z[k].Shape, shifts[k].Mean, shifts[k].Cov, options.Seed, options.Offset + (ulong)(k + 1) * SubStride) * options.Temperature;
        }
        var (y, _) = Net.Flow.Decode(shifted, cond);
        var yt = y.Data;
        if (Settings.Normalize is ChannelStats st)
        {
            // De-normalize: back from the clean statistics to the degraded domain's (the writer clamps).
            var a = st.StdNoisy.Select((v, c) => v / st.StdClean[c]).ToArray();
            var b = st.MeanNoisy.Select((v, c) => v - st.MeanClean[c] * a[c]).ToArray();
            yt = Affine(yt, Enumerable.Repeat(a, clean.Shape[0]).SelectMany(v => v).ToArray(), Enumerable.Repeat(b, clean.Shape[0]).SelectMany(v => v).ToArray());
        }
        return scope.Keep(yt);
    }

    /// <summary>The reverse translation y -> x (spec 5.4): z_y = f(y; h(y)); with z_y = z_x + u,
    /// z_x ~ N(0, I), u ~ N(mu, S), S = M M^T, the posterior of z_x is N((I + S)^-1 (z_y - mu),
    /// S (I + S)^-1), sampled as mean + T V diag(sqrt(l / (1 + l))) V^T n from the eigendecomposition
    /// S = V diag(l) V^T (S may be singular, e.g. M = 0, where the translation is z_y - mu); then
    /// x = f^-1(z_x; h(y)). With Normalize the degraded input is first remapped to the clean statistics.</summary>
    private Tensor Reverse(Tensor degraded, double sigma, DegradeOptions options)
    {
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var y = Settings.Normalize is ChannelStats st ? NormalizeDegraded(degraded, Enumerable.Repeat(true, degraded.Shape[0]).ToArray(), st) : degraded;
        var cond = Net.Condition(Conditional(y, sigma, options.Seed, options.Offset));
        var (z, _) = Net.Flow.Encode(y, cond);
        var shifts = Shifts();
        var zx = new Var[z.Count];
        for (int k = 0; k < z.Count; k++)
        {
            int n = z[k].Shape[0], c = z[k].Shape[1], h = z[k].Shape[2], w = z[k].Shape[3];
            var md = shifts[k].Cov.Data.ToDoubleArray();
            var sMat = MatMul(md, md, c, transB: true);
            var (vals, vecs) = SymmetricEigen(sMat, c);
            // A = (I + S)^-1 and B = sqrt(S (I + S)^-1), both V diag(.) V^T.
            var a = FromEigen(vecs, vals.Select(l => 1 / (1 + Math.Max(0, l))).ToArray(), c);
            var b = FromEigen(vecs, vals.Select(l => Math.Sqrt(Math.Max(0, l) / (1 + Math.Max(0, l)))).ToArray(), c);
            var at = new Var(ToLike(Tensor.FromArray(a, [c, c]), z[k].Data));
            var bt = new Var(ToLike(Tensor.FromArray(b, [c, c]), z[k].Data));
            var d = z[k] - F.Reshape(shifts[k].Mean, 1, c, 1, 1);
            var cols = F.Reshape(F.Contiguous(F.Permute(d, 1, 0, 2, 3)), c, n * h * w);
            var mean = F.Matmul(at, cols);
            if (options.Temperature > 0)
            {
                var noise = Tensor.Normal([c, n * h * w], options.Seed, options.Offset + (ulong)(k + 1) * SubStride, 0, 1, z[k].Data.DType, z[k].Data.Device);
                mean = mean + F.Matmul(bt, noise) * options.Temperature;
            }
            zx[k] = F.Contiguous(F.Permute(F.Reshape(mean, c, n, h, w), 1, 0, 2, 3));
        }
        var (x, _) = Net.Flow.Decode(zx, cond);
        return scope.Keep(x.Data);
    }

    /// <summary>V diag(d) V^T for eigenvectors in the columns of V (c x c, row-major).</summary>
    private static double[] FromEigen(double[] v, double[] d, int c)
    {
        var r = new double[c * c];
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++)
            {
                double acc = 0;
                for (int k = 0; k < c; k++) acc += v[i * c + k] * d[k] * v[j * c + k];
                r[i * c + j] = acc;
            }
        return r;
    }

    /// <summary>Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations.</summary>
    internal static (double[] Values, double[] Vectors) SymmetricEigen(double[] s, int c)
    {
        var a = (double[])s.Clone();
        var v = new double[c * c];
        for (int i = 0; i < c; i++) v[i * c + i] = 1;
        double norm = Math.Sqrt(a.Sum(x => x * x));
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < c; p++)
                for (int q = p + 1; q < c; q++) off += a[p * c + q] * a[p * c + q];
            if (Math.Sqrt(off) <= 1e-15 * Math.Max(norm, 1e-300)) break;
            for (int p = 0; p < c; p++)
                for (int q = p + 1; q < c; q++)
                {
                    double apq = a[p * c + q];
                    if (apq == 0) continue;
                    double theta = (a[q * c + q] - a[p * c + p]) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double cs = 1 / Math.Sqrt(t * t + 1), sn = t * cs;
                    for (int k = 0; k < c; k++)
                    {
                        double akp = a[k * c + p], akq = a[k * c + q];
                        a[k * c + p] = cs * akp - sn * akq;
                        a[k * c + q] = sn * akp + cs * akq;
                    }
                    for (int k = 0; k < c; k++)
                    {
                        double apk = a[p * c + k], aqk = a[q * c + k];
                        a[p * c + k] = cs * apk - sn * aqk;
                        a[q * c + k] = sn * apk + cs * aqk;
                    }
                    for (int k = 0; k < c; k++)
                    {
                        double vkp = v[k * c + p], vkq = v[k * c + q];
                        v[k * c + p] = cs * vkp - sn * vkq;
                        v[k * c + q] = sn * vkp + cs * vkq;
                    }
                }
        }
        return (Enumerable.Range(0, c).Select(i => a[i * c + i]).ToArray(), v);
    }

    /// <summary>Degraded samples remapped to the clean statistics and clamped to [0, 1]; clean samples unchanged.</summary>
    internal static Tensor NormalizeDegraded(Tensor images, bool[] isDegraded, ChannelStats st)
    {
        int n = images.Shape[0];
        var a = new double[n * 3];
        var b = new double[n * 3];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
            {
                a[i * 3 + c] = isDegraded[i] ? st.StdClean[c] / st.StdNoisy[c] : 1;
                b[i * 3 + c] = isDegraded[i] ? st.MeanClean[c] - st.MeanNoisy[c] * a[i * 3 + c] : 0;
            }
        using var y = Affine(images, a, b);
        return Engine.Ops.Clamp(y, 0, 1);
    }

    /// <summary>x * a + b with a, b per (sample, channel).</summary>
    private static Tensor Affine(Tensor x, double[] a, double[] b)
    {
        int n = x.Shape[0], c = x.Shape[1];
        using var at = ToLike(Tensor.FromArray(a, [n, c, 1, 1]), x);
        using var bt = ToLike(Tensor.FromArray(b, [n, c, 1, 1]), x);
        using var m = Engine.Ops.Mul(x, at);
        return Engine.Ops.Add(m, bt);
    }

    /// <summary>mu + M n per pixel, n ~ N(0, I) drawn at (seed, offset); shape (N, C, H, W).</summary>
    private static Var Shift(int[] shape, Var mu, Var m, ulong seed, ulong offset)
    {
        int n = shape[0], c = shape[1], h = shape[2], w = shape[3];
        var noise = Tensor.Normal(shape, seed, offset, 0, 1, mu.Data.DType, mu.Data.Device);
        var cols = F.Reshape(F.Contiguous(F.Permute(noise, 1, 0, 2, 3)), c, n * h * w);
        var mn = F.Contiguous(F.Permute(F.Reshape(F.Matmul(m, cols), c, n, h, w), 1, 0, 2, 3));
        return mn + F.Reshape(mu, 1, c, 1, 1);
    }

    /// <summary>sum over the P columns of log N(v_p; 0, I) for v (C, P).</summary>
    public static Var StdLogDensity(Var v) => F.Sum(F.Square(v)) * -0.5 - 0.5 * v.Data.Numel * Log2Pi;

    /// <summary>sum over the P columns of log N(v_p; mu, I + M M^T) for v (C, P), mu (C), M (C, C).</summary>
    public static Var ShiftedLogDensity(Var v, Var mu, Var m)
    {
        if (v.Rank != 2 || mu.Rank != 1 || m.Rank != 2 || mu.Shape[0] != v.Shape[0] || m.Shape[0] != v.Shape[0] || m.Shape[1] != v.Shape[0])
            throw new ShapeMismatchException("DeFlow.ShiftedLogDensity", $"v {Fmt.Shape(v.Shape)} must be (C, P) with mu (C) and M (C, C), got mu {Fmt.Shape(mu.Shape)}, M {Fmt.Shape(m.Shape)}");
        int c = v.Shape[0], p = v.Shape[1];
        var d = v - F.Reshape(mu, c, 1);
        var s = F.Matmul(d, d, transB: true);
        var (inv, logdet) = SigmaInverseLogDet(m);
        return (logdet * (double)p + F.Sum(inv * s)) * -0.5 - 0.5 * (double)p * c * Log2Pi;
    }

    /// <summary>Sigma^-1 and log|Sigma| for Sigma = I + M M^T (host Cholesky in double), differentiable in M.</summary>
    public static (Var Inverse, Var LogDet) SigmaInverseLogDet(Var m)
    {
        int c = m.Shape[0];
        var md = m.Data.ToDoubleArray();
        var sigma = MatMul(md, md, c, transB: true);
        for (int i = 0; i < c; i++) sigma[i * c + i] += 1;
        var l = Cholesky(sigma, c);
        double ld = 0;
        for (int i = 0; i < c; i++) ld += 2 * Math.Log(l[i * c + i]);
        var inv = CholeskyInverse(l, c);
        var invT = ToLike(Tensor.FromArray(inv, [c, c]), m.Data);
        var ldT = ToLike(Tensor.FromArray(new[] { ld }, []), m.Data);
        return F.RecordPair("DeFlowSigmaInverse", invT, ldT, [m], (gInv, gLd) =>
        {
            var gs = new double[c * c];
            if (gInv is not null)
            {
                var g = gInv.ToDoubleArray();
                var t = MatMul(MatMul(inv, g, c), inv, c);
                for (int i = 0; i < gs.Length; i++) gs[i] -= t[i];
            }
            if (gLd is not null)
            {
                double gl = gLd.Item();
                for (int i = 0; i < gs.Length; i++) gs[i] += gl * inv[i];
            }
            var sym = new double[c * c];
            for (int i = 0; i < c; i++)
                for (int j = 0; j < c; j++) sym[i * c + j] = gs[i * c + j] + gs[j * c + i];
            var gm = MatMul(sym, md, c);
            return [ToLike(Tensor.FromArray(gm, [c, c]), m.Data)];
        });
    }

    private static Tensor ToLike(Tensor host, Tensor like)
    {
        using (host)
        {
            using var cast = host.To(like.DType);
            return cast.To(like.Device);
        }
    }

    private static double[] MatMul(double[] a, double[] b, int c, bool transB = false)
    {
        var r = new double[c * c];
        for (int i = 0; i < c; i++)
            for (int k = 0; k < c; k++)
            {
                double s = 0;
                for (int j = 0; j < c; j++) s += a[i * c + j] * (transB ? b[k * c + j] : b[j * c + k]);
                r[i * c + k] = s;
            }
        return r;
    }

    private static double[] Cholesky(double[] a, int c)
    {
        var l = new double[c * c];
        for (int i = 0; i < c; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = a[i * c + j];
                for (int k = 0; k < j; k++) s -= l[i * c + k] * l[j * c + k];
                if (i == j)
                {
                    if (!(s > 0)) throw new InvalidArgumentException("DeFlow.Cholesky", $"I + M M^T is not positive definite (pivot {s} at {i}; non-finite M?)");
                    l[i * c + i] = Math.Sqrt(s);
                }
                else l[i * c + j] = s / l[j * c + j];
            }
        return l;
    }

    /// <summary>(L L^T)^-1 = L^-T L^-1 from the lower factor L.</summary>
    private static double[] CholeskyInverse(double[] l, int c)
    {
        var li = new double[c * c]; // L^-1, lower
        for (int col = 0; col < c; col++)
            for (int i = col; i < c; i++)
            {
                double s = i == col ? 1 : 0;
                for (int k = col; k < i; k++) s -= l[i * c + k] * li[k * c + col];
                li[i * c + col] = s / l[i * c + i];
            }
        var r = new double[c * c];
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++)
            {
                double s = 0;
                for (int k = Math.Max(i, j); k < c; k++) s += li[k * c + i] * li[k * c + j];
                r[i * c + j] = s;
            }
        return r;
    }

    private void CheckImages(string op, Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        int s = Settings.Net.Scale, div = 1 << Settings.Net.Levels;
        if (images.Rank != 4 || images.Shape[1] != Settings.Net.InChannels || images.Shape[2] % s != 0 || images.Shape[3] % s != 0
            || images.Shape[2] % div != 0 || images.Shape[3] % div != 0)
            throw new ShapeMismatchException(op, $"expects images (N, {Settings.Net.InChannels}, H, W) with H, W divisible by {Math.Max(s, div)}, got {Fmt.Of(images)}");
        var p = Net.MeanShift.Data;
        if (images.DType != p.DType)
            throw new DTypeMismatchException(op, $"images {Fmt.Of(images)} vs weights {p.DType.Name()}");
        if (images.Device != p.Device)
            throw new DeviceMismatchException(op, $"images {Fmt.Of(images)} vs weights on {p.Device}");
    }

    public void Dispose() => Net.Dispose();
}
