#!/usr/bin/python3
"""Golden values for Engine.Imaging.Filters (separable Gaussian blur with OpenCV border modes).

Writes tests/Engine.Tests/Imaging/filters.json, read by tests/Engine.Tests/Imaging/FilterTests.cs.

Reference (float64 numpy): kernel g_i = exp(-(i - (s-1)/2)^2 / (2 sigma^2)) / sum (what
cv2.getGaussianKernel(s, sigma) gives for sigma > 0); each plane padded with np.pad and correlated
along W, then along H, accumulating tap by tap in order. Border modes map to np.pad modes:
reflect101 -> 'reflect' (d c b | a b c d, cv2.BORDER_REFLECT_101), reflect -> 'symmetric'
(cv2.BORDER_REFLECT), replicate -> 'edge', zero -> 'constant'. Kernels wider than the image
(21/10 on 5x7 and 2x3 images) rely on np.pad's repeated reflection; the script checks that it is
the periodic extension that OpenCV's borderInterpolate computes.

Cross-checks (asserted, maxima recorded in the JSON):
- scipy.ndimage.correlate1d with modes mirror / reflect / nearest / constant;
- torch.nn.functional.conv2d after F.pad(mode='reflect') (reflect101; only where pad < size).

Provenance: numpy, scipy and torch versions are in the JSON (Debian 12: numpy 1.24.2, scipy
1.10.1, torch 1.13). Rerun from the repository root with

    /usr/bin/python3 tests/Engine.Tests/Imaging/gen_filters.py
"""
import json
import os

import numpy as np
import scipy
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F

SEED = 20261125
rng = np.random.RandomState(SEED)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "filters.json")

NP_MODE = {"reflect101": "reflect", "reflect": "symmetric", "replicate": "edge", "zero": "constant"}
SCIPY_MODE = {"reflect101": "mirror", "reflect": "reflect", "replicate": "nearest", "zero": "constant"}


def kernel(size, sigma):
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2 * sigma * sigma))
    return g / g.sum()


def periodic_index(p, n, border):
    """OpenCV borderInterpolate restated as a closed form (periodic extension)."""
    if 0 <= p < n:
        return p
    if border == "replicate":
        return 0 if p < 0 else n - 1
    if border == "reflect101":
        if n == 1:
            return 0
        period = 2 * n - 2
        m = p % period
        return m if m < n else period - m
    m = p % (2 * n)  # reflect
    return m if m < n else 2 * n - 1 - m


def pass_along(a, k, axis, border):
    """Correlates a (C, H, W) along axis (1 or 2) with kernel k."""
    r = len(k) // 2
    a = np.moveaxis(a, axis, -1)
    n = a.shape[-1]
    widths = [(0, 0)] * (a.ndim - 1) + [(r, r)]
    padded = np.pad(a, widths, mode=NP_MODE[border])
    if border != "zero":  # np.pad's large-pad behaviour is the periodic extension
        idx = [periodic_index(p, n, border) for p in range(-r, n + r)]
        assert np.array_equal(padded, a[..., idx]), f"np.pad {NP_MODE[border]} is not periodic for n={n}, r={r}"
    acc = np.zeros_like(a)
    for t in range(len(k)):
        acc = acc + k[t] * padded[..., t:t + n]
    return np.moveaxis(acc, -1, axis)


def blur(img, size, sigma, border):
    k = kernel(size, sigma)
    return pass_along(pass_along(img.astype(np.float64), k, 2, border), k, 1, border)


def main():
    inputs = {
        "f13x11": rng.rand(3, 13, 11).astype(np.float32),
        "f5x7": rng.rand(3, 5, 7).astype(np.float32),
        "f2x3": rng.rand(3, 2, 3).astype(np.float32),
        "f1x6": rng.rand(3, 1, 6).astype(np.float32),
    }
    specs = [("f13x11", 9, 4.0), ("f13x11", 9, 3.0), ("f13x11", 21, 10.0), ("f13x11", 3, 0.8),
             ("f5x7", 21, 10.0), ("f5x7", 9, 3.0), ("f2x3", 21, 10.0),
             ("f1x6", 9, 3.0), ("f13x11", 1, 2.0)]
    cases, scipy_max, torch_max = [], 0.0, 0.0
    for inp, size, sigma in specs:
        img = inputs[inp].astype(np.float64)
        for border in ["reflect101", "reflect", "replicate", "zero"]:
            out = blur(img, size, sigma, border)
            k = kernel(size, sigma)
            ref = ndi.correlate1d(ndi.correlate1d(img, k, axis=2, mode=SCIPY_MODE[border], cval=0.0),
                                  k, axis=1, mode=SCIPY_MODE[border], cval=0.0)
            d = float(np.abs(ref - out).max())
            assert d < 1e-12, f"scipy disagrees on {inp} {size}/{sigma} {border}: {d}"
            scipy_max = max(scipy_max, d)
            r = size // 2
            if border == "reflect101" and r < min(img.shape[1:]):
                t = torch.from_numpy(img[:, None])  # (C, 1, H, W)
                kt = torch.from_numpy(np.outer(k, k))[None, None]
                tr = F.conv2d(F.pad(t, (r, r, r, r), mode="reflect"), kt)[:, 0].numpy()
                dt = float(np.abs(tr - out).max())
                assert dt < 1e-12, f"torch disagrees on {inp} {size}/{sigma}: {dt}"
                torch_max = max(torch_max, dt)
            cases.append({"name": f"{inp}_k{size}_s{sigma:g}_{border}", "input": inp, "size": size,
                          "sigma": sigma, "border": border, "expected": [float(v) for v in out.ravel()]})
    kernels = [{"size": s, "sigma": g, "taps": [float(v) for v in kernel(s, g)]}
               for s, g in [(9, 4.0), (9, 3.0), (21, 10.0), (3, 0.8), (1, 1.0), (7, 1.4)]]
    doc = {
        "numpy_version": np.__version__, "scipy_version": scipy.__version__, "torch_version": torch.__version__,
        "seed": SEED, "scipy_max_abs_diff": scipy_max, "torch_reflect_max_abs_diff": torch_max,
        "inputs": {k: {"shape": list(v.shape), "data": [float(x) for x in v.ravel()]} for k, v in inputs.items()},
        "kernels": kernels,
        "cases": cases,
    }
    with open(OUT, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))
    print(f"wrote {OUT}: {len(cases)} cases; max |diff| vs scipy {scipy_max:.3e}, vs torch reflect conv {torch_max:.3e}")


if __name__ == "__main__":
    main()
