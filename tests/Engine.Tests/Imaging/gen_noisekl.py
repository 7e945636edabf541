#!/usr/bin/python3
"""Golden values for the noise-KL variants in Engine.Imaging.NoiseStats that gen_metrics.py does not cover.

Writes tests/Engine.Tests/Imaging/noisekl.json, read by tests/Engine.Tests/Imaging/NoiseKlVariantTests.cs.
- NAFlow cal_kld (../shared/specs/dsrvae-and-evaluation.md C.3.3, the NeCA reproduction's active
  metric): residuals noisy/255 - clean/255 pooled over pixels and channels, np.histogram with edges
  np.arange(-1, 1 + 2/256, 2/256) (257 edges), divided by the element count, forward KL(real || synthetic)
  over bins non-zero in both, natural log.
- SeNM-VAE compute_kl (../shared/specs/ludvae-senmvae.md 2.14): np.histogram(gray, bins=256,
  range=(0, 255)) of the grayscale noisy images, P = generated / sum, Q = real / sum, Q = (Q + 1e-8) / sum,
  scipy.stats.entropy(P, Q). Gray is OpenCV's RGB2GRAY fixed point (4899 R + 9617 G + 1868 B + 8192) >> 14,
  restated in numpy (OpenCV itself is not installed here).
Restated with numpy 1.24.2 / scipy 1.10.1 (Debian 12); the versions are recorded in the JSON. Rerun from the
repository root with

    /usr/bin/python3 tests/Engine.Tests/Imaging/gen_noisekl.py

Deterministic (numpy RandomState with a fixed seed). Images are uint8 lists in (H, W, C) order.
"""
import json
import os

import numpy as np
import scipy
from scipy.stats import entropy

SEED = 6112026
rng = np.random.RandomState(SEED)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "noisekl.json")


def u8(x):
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def naflow_kl(p_data, q_data):
    bw = 2.0 / 256
    edges = np.arange(-1.0, 1.0 + bw, bw)
    p = np.histogram(p_data, edges)[0] / np.prod(p_data.shape)
    q = np.histogram(q_data, edges)[0] / np.prod(q_data.shape)
    idx = (p > 0) & (q > 0)
    p, q = p[idx], q[idx]
    return float(np.sum(p * (np.log(p) - np.log(q)))), np.histogram(p_data, edges)[0].tolist(), edges


def gray_cv(img):
    i = img.astype(np.int64)
    return ((4899 * i[..., 0] + 9617 * i[..., 1] + 1868 * i[..., 2] + 8192) >> 14).astype(np.uint8)


def senm_kl(gen_gray, real_gray):
    h1, _ = np.histogram(gen_gray.ravel(), bins=256, range=(0, 255))
    h2, _ = np.histogram(real_gray.ravel(), bins=256, range=(0, 255))
    p1 = h1 / np.sum(h1)
    p2 = h2 / np.sum(h2)
    p2 = p2 + 1e-8
    p2 = p2 / np.sum(p2)
    return float(entropy(p1, qk=p2)), h1.tolist()


h, w = 20, 27
yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
clean = u8(np.stack([20 + 200 * xx / (w - 1), 235 - 200 * yy / (h - 1), 128 + 60 * np.sin(xx / 3.0)], axis=-1))
clean[0, 0, :] = 0          # residuals of exactly +1 and -1 below: the closed last bin and the first edge
clean[0, 1, :] = 255
real = u8(clean + rng.normal(0, 10, clean.shape) * (0.4 + clean / 255.0))
real[0, 0, :] = 255
real[0, 1, :] = 0
cases = []
for name, sig in (("close", 10.0), ("narrow", 3.0), ("wide", 70.0), ("same", None)):
    if sig is None:
        s = real.copy()
    else:
        s = u8(clean + rng.normal(0, sig, clean.shape) * (0.4 + clean / 255.0))
    r_res = real.astype(np.float64) / 255.0 - clean.astype(np.float64) / 255.0
    s_res = s.astype(np.float64) / 255.0 - clean.astype(np.float64) / 255.0
    kl_na, real_hist, edges = naflow_kl(r_res, s_res)
    _, synth_hist, _ = naflow_kl(s_res, r_res)
    g_gen, g_real = gray_cv(s), gray_cv(real)
    kl_senm, gen_gray_hist = senm_kl(g_gen, g_real)
    cases.append({"name": name, "shape": list(clean.shape),
                  "clean": clean.reshape(-1).tolist(), "real": real.reshape(-1).tolist(), "synth": s.reshape(-1).tolist(),
                  "naflow_real_hist": real_hist, "naflow_synth_hist": synth_hist, "kl_naflow": kl_na,
                  "gray_synth": g_gen.reshape(-1).tolist(), "gray_real": g_real.reshape(-1).tolist(),
                  "senm_gen_hist": gen_gray_hist, "kl_senm": kl_senm})

doc = {"generator": "tests/Engine.Tests/Imaging/gen_noisekl.py", "numpy_version": np.__version__,
       "scipy_version": scipy.__version__, "seed": SEED,
       "naflow_edges": [float(e).hex() for e in np.arange(-1.0, 1.0 + 2.0 / 256, 2.0 / 256)],
       "cases": cases}
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {OUT}: {len(cases)} cases, {os.path.getsize(OUT)} bytes",
      [(c["name"], round(c["kl_naflow"], 5), round(c["kl_senm"], 5)) for c in cases])
