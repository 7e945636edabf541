// The random stream of one image's degradation: Philox4x32-10 (Engine.Random.Philox) keyed by a
// per-image seed, read block by block for scalars and in bulk for noise fields. Every draw is a
// pure function of (pipeline seed, image key) and the order of draws inside one pipeline, so an
// image gets the same degradation whatever else is in its folder and in whatever order it is run.
using Engine.Random;

namespace Engine.Imaging.Degradation;

public sealed class DegradationRng
{
    private readonly ulong _seed;
    private ulong _block;
    private uint _w0, _w1, _w2, _w3;
    private int _used = 4; // words of the current block already handed out

    public DegradationRng(ulong seed) { _seed = seed; }

    /// <summary>The seed of one image: the pipeline seed mixed with a 64-bit FNV-1a hash of the
    /// image's key (its path relative to the input folder, '/'-separated), through SplitMix64.</summary>
    public static ulong ImageSeed(ulong pipelineSeed, string key)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(key)) { h ^= b; h *= 1099511628211UL; }
        return SplitMix(pipelineSeed ^ SplitMix(h));
    }

    private static ulong SplitMix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private uint NextWord()
    {
        if (_used == 4)
        {
            (_w0, _w1, _w2, _w3) = Philox.Block(_seed, _block++);
            _used = 0;
        }
        return _used++ switch { 0 => _w0, 1 => _w1, 2 => _w2, _ => _w3 };
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double Uniform()
    {
        ulong lo = NextWord(), hi = NextWord();
        return (((hi << 32) | lo) >> 11) * (1.0 / (1L << 53));
    }

    public double Uniform(double lo, double hi) => lo + (hi - lo) * Uniform();

    /// <summary>exp(U(ln lo, ln hi)): uniform in log scale.</summary>
    public double LogUniform(double lo, double hi) => Math.Exp(Uniform(Math.Log(lo), Math.Log(hi)));

    /// <summary>An integer uniform in [lo, hi], both ends included.</summary>
    public int Int(int lo, int hi) => lo + (int)Math.Min(hi - lo, Math.Floor(Uniform() * (hi - lo + 1)));

    /// <summary>A standard normal by Box-Muller (one of the pair; the other is dropped so each call is self-contained).</summary>
    public double Normal()
    {
        double u1 = 1.0 - Uniform(); // (0, 1]
        double u2 = Uniform();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Fills dst with N(0, 1) from fresh blocks of the stream (Philox.FillNormal's mapping).</summary>
    public void FillNormal(Span<float> dst)
    {
        _used = 4; // never reuse the rest of a partly read block
        Philox.FillNormal(dst, _seed, _block, 0f, 1f);
        _block += Philox.BlocksUsed(dst.Length, 4);
    }

    /// <summary>A Poisson variate with mean lambda (>= 0): multiplication of uniforms below 10,
    /// Hörmann's transformed rejection (PTRS, 1993) above, so the cost stays flat for large means.</summary>
    public double Poisson(double lambda)
    {
        if (!(lambda > 0)) return 0;
        if (lambda < 10)
        {
            double limit = Math.Exp(-lambda), p = 1;
            int k = -1;
            do { k++; p *= Uniform(); } while (p > limit);
            return k;
        }
        double slam = Math.Sqrt(lambda), loglam = Math.Log(lambda);
        double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
        double invAlpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
        while (true)
        {
            double u = Uniform() - 0.5, v = Uniform();
            double us = 0.5 - Math.Abs(u);
            double k = Math.Floor((2 * a / us + b) * u + lambda + 0.43);
            if (us >= 0.07 && v <= vr) return k;
            if (k < 0 || (us < 0.013 && v > us)) continue;
            if (Math.Log(v) + Math.Log(invAlpha) - Math.Log(a / (us * us) + b) <= -lambda + k * loglam - LogFactorial(k))
                return k;
        }
    }

    /// <summary>ln(k!) exactly summed below 16, Stirling's series with three correction terms above (error below 1e-12).</summary>
    public static double LogFactorial(double k)
    {
        if (k < 16)
        {
            double s = 0;
            for (int i = 2; i <= (int)k; i++) s += Math.Log(i);
            return s;
        }
        double n = k + 1, inv = 1 / n, inv2 = inv * inv;
        return (n - 0.5) * Math.Log(n) - n + 0.5 * Math.Log(2 * Math.PI) + inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 / 1260));
    }
}
