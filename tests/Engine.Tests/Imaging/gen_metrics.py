#!/usr/bin/python3
"""Golden values for Engine.Imaging.Metrics and Engine.Imaging.NoiseStats.

Writes tests/Engine.Tests/Imaging/metrics.json, read by tests/Engine.Tests/Imaging/MetricsGoldenTests.cs.
PSNR and SSIM come from scikit-image (peak_signal_noise_ratio, structural_similarity with the
Wang et al. flags: gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255,
channel_axis=-1); the Y channel is BT.601 (MATLAB rgb2ycbcr / BasicSR to_y_channel, float64, RGB
order): Y = 16 + 65.481 r + 128.553 g + 24.966 b with r = R/255, unrounded, or rounded half to even
("y_round", the MATLAB/KAIR uint8 variant). Border crop is img[b:-b, b:-b] before either metric.
Noise KL: NeCA's cal_kld (66 bins, forward KL over bins non-zero in both) and Noise Flow's
kldiv_simple (add-one smoothing), restated here with numpy; noise std per band of clean intensity;
DANet's AKLD (7-tap OpenCV table, torch 'reflect' pad, clamped ratio) restated in float64 numpy.

Provenance: versions of scikit-image, numpy and scipy are recorded in the JSON; written with Debian
12's python3-skimage 0.19.3, numpy 1.24.2, scipy 1.10.1. Rerun from the repository root with

    /usr/bin/python3 tests/Engine.Tests/Imaging/gen_metrics.py

Deterministic (numpy RandomState with a fixed seed). Images are stored as uint8 lists in (H, W, C)
order.
"""
import json
import os

import numpy as np
import scipy
import skimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

SEED = 20261123
rng = np.random.RandomState(SEED)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics.json")


def u8(x):
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def gradient(h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 40 + 170 * xx / (w - 1)
    g = 30 + 190 * yy / (h - 1)
    b = 128 + 90 * np.sin(xx / 4.0) * np.cos(yy / 5.0)
    return np.stack([r, g, b], axis=-1)


def blocky(img, block=8):
    """JPEG-like: each 8x8 block replaced by its mean plus a weak horizontal ramp."""
    out = img.astype(np.float64).copy()
    h, w, _ = img.shape
    for y in range(0, h, block):
        for x in range(0, w, block):
            blk = out[y:y + block, x:x + block]
            m = blk.mean(axis=(0, 1), keepdims=True)
            ramp = (np.arange(blk.shape[1]) - blk.shape[1] / 2.0)[None, :, None] * 1.5
            out[y:y + block, x:x + block] = m + ramp
    return out


def y_channel(img, rnd=False):
    f = img.astype(np.float64) / 255.0
    y = 16.0 + 65.481 * f[..., 0] + 128.553 * f[..., 1] + 24.966 * f[..., 2]
    return np.round(y) if rnd else y


def crop(img, b):
    return img if b == 0 else img[b:-b, b:-b, ...]


pairs = []
# 1. smooth gradient, additive Gaussian noise (sigma 12)
clean = u8(gradient(24, 31))
noisy = u8(clean + rng.normal(0, 12, clean.shape))
pairs.append(("gradient_noise_24x31", clean, noisy))
# 2. textured 40x40 and a JPEG-like blocky version of it
tex = u8(gradient(40, 40) + rng.normal(0, 20, (40, 40, 3)))
pairs.append(("jpeg_blocks_40x40", tex, u8(blocky(tex))))
# 3. constant image against a constant image one level away plus sparse noise
const = np.full((24, 31, 3), 128, np.uint8)
other = const.astype(np.int32) + 3
other[::5, ::7, :] += rng.randint(-30, 30, other[::5, ::7, :].shape)
pairs.append(("constant_24x31", const, u8(other)))
# 4. saturated: values pushed against 0 and 255
sat = u8(gradient(40, 40) * 1.8 - 100)
pairs.append(("saturated_40x40", sat, u8(sat.astype(np.float64) + rng.normal(0, 25, sat.shape))))

cases = []
for name, a, b in pairs:
    res = {}
    for border in (0, 4):
        ca, cb = crop(a, border), crop(b, border)
        res[f"psnr_rgb_b{border}"] = float(peak_signal_noise_ratio(ca, cb, data_range=255))
        res[f"ssim_rgb_b{border}"] = float(structural_similarity(
            ca, cb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1))
        for rnd in (False, True):
            tag = "yr" if rnd else "y"
            ya, yb = y_channel(ca, rnd), y_channel(cb, rnd)
            res[f"psnr_{tag}_b{border}"] = float(peak_signal_noise_ratio(ya, yb, data_range=255))
            res[f"ssim_{tag}_b{border}"] = float(structural_similarity(
                ya, yb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255))
    cases.append({"name": name, "shape": list(a.shape),
                  "reference": a.reshape(-1).tolist(), "test": b.reshape(-1).tolist(), "expected": res})

# ------------------------------------------------------------------ noise statistics
bw = 0.2 / 64
edges = np.concatenate(([-1000.0], np.arange(-0.1, 0.1 + 1e-9, bw), [1000.0]), axis=0)


def hist(data):
    h, _ = np.histogram(data, edges)
    return h


def kl_neca(p_data, q_data):
    p = hist(p_data) / np.prod(p_data.shape)
    q = hist(q_data) / np.prod(q_data.shape)
    idx = (p > 0) & (q > 0)
    p, q = p[idx], q[idx]
    return float(np.sum(p * (np.log(p) - np.log(q))))


def kl_addone(p_data, q_data):
    n_b = len(edges) - 1
    p = (hist(p_data) + 1.0) / (np.prod(p_data.shape) + n_b)
    q = (hist(q_data) + 1.0) / (np.prod(q_data.shape) + n_b)
    idx = p > 0
    p, q = p[idx], q[idx]
    return float(np.sum(p * (np.log(p) - np.log(q))))


def std_bands(clean01, res, bands):
    out = []
    bi = np.minimum((clean01 * bands).astype(np.int64), bands - 1)
    for k in range(bands):
        r = res[bi == k]
        out.append([int(r.size), float(r.mean()) if r.size else None, float(r.std()) if r.size else None])
    return out


noise_cases = []
base = u8(gradient(24, 31))
real = u8(base + rng.normal(0, 6, base.shape) * (0.5 + base / 255.0))   # signal-dependent
synth_close = u8(base + rng.normal(0, 6, base.shape) * (0.5 + base / 255.0))
synth_far = u8(base + rng.normal(0, 2, base.shape))
synth_wide = u8(base + rng.normal(0, 40, base.shape))                      # mass in the overflow bins
for name, s in (("close", synth_close), ("far", synth_far), ("wide", synth_wide), ("same", real)):
    r_res = real.astype(np.float64) / 255.0 - base.astype(np.float64) / 255.0
    s_res = s.astype(np.float64) / 255.0 - base.astype(np.float64) / 255.0
    noise_cases.append({
        "name": name, "shape": list(base.shape),
        "clean": base.reshape(-1).tolist(), "real": real.reshape(-1).tolist(), "synth": s.reshape(-1).tolist(),
        "real_hist": hist(r_res).tolist(), "synth_hist": hist(s_res).tolist(),
        "kl_neca": kl_neca(r_res, s_res), "kl_addone": kl_addone(r_res, s_res),
        "bands_real": std_bands(base.reshape(-1) / 255.0, r_res.reshape(-1), 8),
        "bands_synth": std_bands(base.reshape(-1) / 255.0, s_res.reshape(-1), 8),
    })

# ------------------------------------------------------------------ AKLD (DANet demo_AKLD, float64)
k7 = np.array([1, 3.5, 7, 9, 7, 3.5, 1]) / 32.0   # cv2.getGaussianKernel(7, -1)
g7 = np.outer(k7, k7)


def local_var(noisy, clean):
    e2 = (noisy - clean) ** 2
    out = np.zeros_like(e2)
    for ch in range(e2.shape[2]):
        p = np.pad(e2[..., ch], 3, mode="reflect")   # torch pad 'reflect'
        for y in range(e2.shape[0]):
            for x in range(e2.shape[1]):
                out[y, x, ch] = np.sum(p[y:y + 7, x:x + 7] * g7)
    return np.maximum(out, 1e-10)


def kl_zero(sf, sr):
    r = np.clip(sf / sr, 0.1, 10)
    return 0.5 * np.mean(np.log(1 / r) + r - 1.0)


clean01 = base[:12, :14].astype(np.float64) / 255.0   # small: the floats are stored in full
real01 = real[:12, :14].astype(np.float64) / 255.0
samples = [clean01 + rng.normal(0, s, clean01.shape) for s in (0.02, 0.03, 0.08)]   # some leave [0,1]
sr = local_var(real01, clean01)
akld = float(np.mean([kl_zero(local_var(np.clip(s, 0, 1), clean01), sr) for s in samples]))
akld_case = {"shape": list(clean01.shape), "clean": clean01.reshape(-1).tolist(), "real": real01.reshape(-1).tolist(),
             "samples": [s.reshape(-1).tolist() for s in samples], "real_var": sr.reshape(-1).tolist(), "akld": akld}

doc = {
    "generator": "tests/Engine.Tests/Imaging/gen_metrics.py",
    "skimage_version": skimage.__version__, "numpy_version": np.__version__, "scipy_version": scipy.__version__,
    "seed": SEED,
    "cases": cases,
    "kld_edges": [float(e).hex() for e in edges],
    "noise_cases": noise_cases,
    "akld": akld_case,
}
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {OUT}: {len(cases)} metric cases, {len(noise_cases)} noise cases, {os.path.getsize(OUT)} bytes")
