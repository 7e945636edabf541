#!/usr/bin/python3
"""Golden values for Engine.Imaging.Resize (MATLAB imresize 'bicubic' with antialiasing).

Writes tests/Engine.Tests/Imaging/resize.json, read by tests/Engine.Tests/Imaging/ResizeTests.cs.

The reference is restated here in float64 numpy from the definition of MATLAB's imresize (as
BasicSR's matlab_functions.imresize and DeFlow's matlablike_resize port it):
- Keys cubic, a = -0.5; for scale < 1 with antialiasing the kernel is h(x) = s * cubic(s * x) and
  4/s wide, else cubic and 4 wide; ceil(width) + 2 taps starting at floor(u - width / 2);
- u = x / s + 0.5 * (1 - 1 / s) for output x = 1..out (1-based); weights divided by their sum;
- tap indices mirrored with the edge repeated (1..n, n..1, periodic);
- separable, the axis with the smaller scale first (H on ties); an explicit size gives s = out / in;
- uint8 mode: each pass clipped to [0, 255] and rounded (ties to even as np.around, or away from
  zero as MATLAB's uint8()).
Each pass accumulates tap by tap in order (acc = acc + w_k * x_k) so the C# float64 path can match
it bit for bit; the uint8 cases must match exactly.

Cross-check: torch.nn.functional.interpolate(mode='bicubic', antialias=True, align_corners=False)
uses the same kernel (a = -0.5 in its antialiased path), the same coordinate map and stretch, but
clips the tap window at the borders and renormalizes instead of mirroring. The script verifies
that the two agree to 1e-12 on interior outputs (every non-zero tap inside the image on both axes)
and differ at the border, on cases where torch's scale in/out equals MATLAB's 1/s (explicit sizes,
or sizes divisible by the factor), and records both maxima in the JSON.

Provenance: numpy and torch versions are in the JSON; written with Debian 12's numpy 1.24.2 and
torch 1.13. Rerun from the repository root with

    /usr/bin/python3 tests/Engine.Tests/Imaging/gen_resize.py

Deterministic (numpy RandomState with a fixed seed). Images are (C, H, W) lists: float inputs are
float32 values (stored as their exact decimal), uint8 inputs are integers.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

SEED = 20261124
rng = np.random.RandomState(SEED)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resize.json")


def cubic(x):
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    near = 1.5 * ax3 - 2.5 * ax2 + 1
    far = -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2
    return np.where(ax <= 1, near, np.where(ax <= 2, far, 0.0))


def contributions(n_in, n_out, s, antialias):
    """(indices (out, P) 0-based mirrored, raw 0-based indices, weights (out, P))."""
    stretch = antialias and s < 1
    width = 4.0 / s if stretch else 4.0
    taps = int(math.ceil(width)) + 2
    x = np.arange(1, n_out + 1, dtype=np.float64)
    u = x / s + 0.5 * (1 - 1 / s)
    left = np.floor(u - width / 2)
    pos = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]  # 1-based
    d = u[:, None] - pos
    w = s * cubic(d * s) if stretch else cubic(d)
    total = np.zeros(n_out)
    for p in range(taps):  # sequential, as the C# sums
        total = total + w[:, p]
    w = w / total[:, None]
    raw = pos.astype(np.int64) - 1
    period = 2 * n_in
    m = np.mod(raw, period)
    idx = np.where(m < n_in, m, period - 1 - m)
    return idx, raw, w


def round_u8(a, rounding):
    a = np.clip(a, 0, 255)
    if rounding == "even":
        return np.round(a)
    return np.floor(a + 0.5)  # a >= 0: ties away from zero


def resize_axis(a, axis, n_out, s, antialias, rounding):
    """a: (C, H, W) float64; resamples axis 1 (H) or 2 (W)."""
    n_in = a.shape[axis]
    idx, _, w = contributions(n_in, n_out, s, antialias)
    a = np.moveaxis(a, axis, -1)
    acc = np.zeros(a.shape[:-1] + (n_out,))
    for p in range(idx.shape[1]):
        acc = acc + w[:, p] * a[..., idx[:, p]]
    acc = np.moveaxis(acc, -1, axis)
    ties = 0
    if rounding is not None:
        c = np.clip(acc, 0, 255)
        ties = int(np.sum(c - np.floor(c) == 0.5))
        acc = round_u8(acc, rounding)
    return acc, ties


def imresize(img, scale=None, size=None, antialias=True, rounding=None):
    _, h, w = img.shape
    if size is None:
        oh, ow = int(math.ceil(scale * h)), int(math.ceil(scale * w))
        sh = sw = scale
    else:
        oh, ow = size
        sh, sw = oh / h, ow / w
    order = [(1, oh, sh), (2, ow, sw)] if sh <= sw else [(2, ow, sw), (1, oh, sh)]
    out = img.astype(np.float64)
    ties = 0
    for axis, n, s in order:
        out, t = resize_axis(out, axis, n, s, antialias, rounding)
        ties += t
    return out, ties


def interior(n_in, n_out, s):
    """Outputs whose non-zero taps all lie inside [0, n_in) (no mirroring involved)."""
    _, raw, w = contributions(n_in, n_out, s, True)
    inside = (raw >= 0) & (raw < n_in)
    return np.all(inside | (w == 0), axis=1)


def torch_check(name, img, size):
    ours, _ = imresize(img, size=size)
    t = F.interpolate(torch.from_numpy(img[None].astype(np.float64)), size=tuple(size), mode="bicubic",
                      antialias=True, align_corners=False)[0].numpy()
    _, h, w = img.shape
    mh = interior(h, size[0], size[0] / h)
    mw = interior(w, size[1], size[1] / w)
    mask = np.broadcast_to(mh[:, None] & mw[None, :], ours.shape[1:])
    diff = np.abs(ours - t)
    inner = float(diff[:, mask].max()) if mask.any() else 0.0
    border = float(diff[:, ~mask].max()) if (~mask).any() else 0.0
    assert inner < 1e-12, f"{name}: torch and MATLAB differ in the interior by {inner}"
    assert border > 1e-4, f"{name}: expected a border difference, got {border}"
    return {"name": name, "size": list(size), "interior_outputs": int(mask.sum()),
            "interior_max_abs_diff": inner, "border_max_abs_diff": border}


def flat(a):
    return [float(v) for v in np.asarray(a).ravel()]


def main():
    inputs = {
        "f17x23": rng.rand(3, 17, 23).astype(np.float32),
        "f24x36": rng.rand(3, 24, 36).astype(np.float32),
        "f5x4": rng.rand(3, 5, 4).astype(np.float32),
        "u17x23": rng.randint(0, 256, size=(3, 17, 23)).astype(np.uint8),
        "u24x36": rng.randint(0, 256, size=(3, 24, 36)).astype(np.uint8),
    }
    # a smooth-plus-noise uint8 image: an x2 upscale of it produces many exact .5 ties
    yy, xx = np.mgrid[0:16, 0:20]
    smooth = 128 + 60 * np.sin(xx / 3.0) * np.cos(yy / 4.0) + rng.randint(-20, 21, size=(3, 16, 20))
    inputs["u16x20s"] = np.clip(smooth, 0, 255).astype(np.uint8)

    float_cases = [
        ("f17x23", 0.5, None, True), ("f17x23", 1 / 3, None, True), ("f17x23", 0.25, None, True),
        ("f17x23", 0.37, None, True), ("f17x23", 2.0, None, True), ("f5x4", 4.0, None, True),
        ("f17x23", 0.5, None, False), ("f17x23", 0.37, None, False),
        ("f17x23", None, (5, 7), True), ("f17x23", None, (9, 31), True), ("f17x23", None, (17, 11), True),
        ("f17x23", None, (40, 6), True), ("f17x23", None, (1, 1), True), ("f17x23", None, (9, 31), False),
        ("f24x36", 0.25, None, True), ("f24x36", 1 / 3, None, True), ("f24x36", 0.5, None, True),
        ("f5x4", 0.25, None, True), ("f5x4", None, (2, 9), True), ("f5x4", 3.0, None, True),
    ]
    u8_cases = [
        ("u17x23", 0.5, None, True, "even"), ("u17x23", 0.25, None, True, "even"),
        ("u17x23", 1 / 3, None, True, "even"), ("u17x23", 0.37, None, True, "even"),
        ("u17x23", 2.0, None, True, "even"), ("u17x23", None, (9, 31), True, "even"),
        ("u24x36", 0.25, None, True, "even"), ("u24x36", 0.5, None, False, "even"),
        ("u16x20s", 2.0, None, True, "even"), ("u16x20s", 2.0, None, True, "away"),
        ("u16x20s", 0.5, None, True, "away"), ("u16x20s", None, (32, 40), True, "even"),
        ("u17x23", None, (20, 11), True, "even"), ("u17x23", None, (6, 40), True, "even"),
    ]
    cases = []

    def name_of(inp, scale, size, aa, mode):
        what = f"s{scale:.6g}" if size is None else f"{size[0]}x{size[1]}"
        return f"{inp}_{what}_{'aa' if aa else 'noaa'}_{mode}"

    for inp, scale, size, aa in float_cases:
        out, _ = imresize(inputs[inp].astype(np.float64), scale, size, aa)
        cases.append({"name": name_of(inp, scale, size, aa, "float"), "input": inp, "mode": "float",
                      "scale": scale, "size": list(size) if size else None, "antialias": aa,
                      "rounding": None, "shape": list(out.shape), "expected": flat(out)})
    ties_by_case = {}
    for inp, scale, size, aa, rounding in u8_cases:
        out, ties = imresize(inputs[inp].astype(np.float64), scale, size, aa, rounding)
        nm = name_of(inp, scale, size, aa, "u8" + rounding)
        ties_by_case[nm] = ties
        cases.append({"name": nm, "input": inp, "mode": "uint8", "scale": scale,
                      "size": list(size) if size else None, "antialias": aa, "rounding": rounding,
                      "ties": ties, "shape": list(out.shape), "expected": [int(v) for v in out.ravel()]})
    assert ties_by_case["u16x20s_s2_aa_u8even"] > 0, "the x2 upscale case should contain exact ties"
    even, _ = imresize(inputs["u16x20s"].astype(np.float64), 2.0, None, True, "even")
    away, _ = imresize(inputs["u16x20s"].astype(np.float64), 2.0, None, True, "away")
    assert np.any(even != away), "tie rounding modes should differ on the x2 case"

    f = inputs["f24x36"].astype(np.float64)
    g = inputs["f17x23"].astype(np.float64)
    checks = [
        torch_check("f24x36 to 12x18 (1/2)", f, (12, 18)),
        torch_check("f24x36 to 8x12 (1/3)", f, (8, 12)),
        torch_check("f24x36 to 6x9 (1/4)", f, (6, 9)),
        torch_check("f24x36 to 48x72 (x2)", f, (48, 72)),
        torch_check("f17x23 to 9x31", g, (9, 31)),
        torch_check("f17x23 to 7x9", g, (7, 9)),
    ]

    doc = {
        "numpy_version": np.__version__, "torch_version": torch.__version__, "seed": SEED,
        "inputs": {k: {"shape": list(v.shape), "dtype": "uint8" if v.dtype == np.uint8 else "float32",
                       "data": flat(v) if v.dtype != np.uint8 else [int(x) for x in v.ravel()]}
                   for k, v in inputs.items()},
        "cases": cases,
        "torch_checks": checks,
    }
    with open(OUT, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))
    print(f"wrote {OUT}: {len(cases)} cases")
    for c in checks:
        print(f"  torch {c['name']}: interior ({c['interior_outputs']} px) max |diff| {c['interior_max_abs_diff']:.3e}, "
              f"border max |diff| {c['border_max_abs_diff']:.3e}")
    print("  ties:", ties_by_case)


if __name__ == "__main__":
    main()
