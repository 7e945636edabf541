#!/usr/bin/env python3
# Golden-data generator for the CPU spatial/index kernels (SpatialKernelTests).
# Run:  /usr/bin/python3 tests/Engine.Tests/Golden/gen_spatial.py   (writes spatial.json beside this file)
# Produced with Debian python3-torch (torch 1.13.0a0), float64 throughout. Every case stores its inputs
# (seeded torch.randn / randint), the upstream gradient gy, the forward output y and the input gradients
# from torch.autograd. Shapes are NCHW; index tensors are int lists.
import json, os
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
D = torch.float64
cases = []

def flat(t):
    return t.detach().reshape(-1).tolist()

def rnd(*shape):
    return torch.randn(*shape, dtype=D)

def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]

def maxpool(shape, k, s, p, d, ties=False):
    x = rnd(*shape)
    if ties:
        x = torch.floor(x * 1.5)  # many equal values: checks first-max tie-breaking
    x.requires_grad_(True)
    y, idx = F.max_pool2d(x, k, s, p, d, return_indices=True)
    gy = rnd(*y.shape)
    (gx,) = torch.autograd.grad(y, x, gy)
    cases.append(dict(op="maxpool", shape=list(shape), k=pair(k), s=pair(s), p=pair(p), d=pair(d),
                      oshape=list(y.shape), x=flat(x), gy=flat(gy), y=flat(y), argmax=flat(idx), gx=flat(gx)))

def avgpool(shape, k, s, p, cip):
    x = rnd(*shape).requires_grad_(True)
    y = F.avg_pool2d(x, k, s, p, count_include_pad=cip)
    gy = rnd(*y.shape)
    (gx,) = torch.autograd.grad(y, x, gy)
    cases.append(dict(op="avgpool", shape=list(shape), k=pair(k), s=pair(s), p=pair(p), cip=cip,
                      oshape=list(y.shape), x=flat(x), gy=flat(gy), y=flat(y), gx=flat(gx)))

def upsample(shape, osize, mode, ac=None):
    x = rnd(*shape).requires_grad_(True)
    if mode == "nearest":
        y = F.interpolate(x, size=osize, mode="nearest")
    else:
        y = F.interpolate(x, size=osize, mode="bilinear", align_corners=ac)
    gy = rnd(*y.shape)
    (gx,) = torch.autograd.grad(y, x, gy)
    cases.append(dict(op=mode, shape=list(shape), oshape=list(y.shape), ac=bool(ac),
                      x=flat(x), gy=flat(gy), y=flat(y), gx=flat(gx)))

def pad(shape, pads, mode, value=0.0):
    x = rnd(*shape).requires_grad_(True)
    y = F.pad(x, pads, mode=mode, value=value) if mode == "constant" else F.pad(x, pads, mode=mode)
    gy = rnd(*y.shape)
    (gx,) = torch.autograd.grad(y, x, gy)
    cases.append(dict(op="pad", shape=list(shape), pads=list(pads), mode=mode, value=value,
                      oshape=list(y.shape), x=flat(x), gy=flat(gy), y=flat(y), gx=flat(gx)))

def gather(shape, dim, idim):
    x = rnd(*shape).requires_grad_(True)
    ishape = list(shape); ishape[dim] = idim
    idx = torch.randint(0, shape[dim], ishape)
    y = torch.gather(x, dim, idx)
    gy = rnd(*y.shape)
    (gx,) = torch.autograd.grad(y, x, gy)
    cases.append(dict(op="gather", shape=list(shape), dim=dim, ishape=ishape, idx=flat(idx),
                      x=flat(x), gy=flat(gy), y=flat(y), gx=flat(gx)))

def scatter_add(shape, dim, idim):
    x = rnd(*shape).requires_grad_(True)
    ishape = list(shape); ishape[dim] = idim
    idx = torch.randint(0, shape[dim], ishape)  # duplicates likely
    src = rnd(*ishape).requires_grad_(True)
    y = x.scatter_add(dim, idx, src)
    gy = rnd(*y.shape)
    gx, gsrc = torch.autograd.grad(y, (x, src), gy)
    cases.append(dict(op="scatter_add", shape=list(shape), dim=dim, ishape=ishape, idx=flat(idx),
                      x=flat(x), src=flat(src), gy=flat(gy), y=flat(y), gx=flat(gx), gsrc=flat(gsrc)))

def index_select(shape, dim, n):
    x = rnd(*shape).requires_grad_(True)
    idx = torch.randint(0, shape[dim], (n,))
    y = torch.index_select(x, dim, idx)
    gy = rnd(*y.shape)
    (gx,) = torch.autograd.grad(y, x, gy)
    cases.append(dict(op="index_select", shape=list(shape), dim=dim, idx=flat(idx), oshape=list(y.shape),
                      x=flat(x), gy=flat(gy), y=flat(y), gx=flat(gx)))

def index_add(shape, dim, n):
    x = rnd(*shape).requires_grad_(True)
    idx = torch.randint(0, shape[dim], (n,))
    sshape = list(shape); sshape[dim] = n
    src = rnd(*sshape).requires_grad_(True)
    y = x.index_add(dim, idx, src)
    gy = rnd(*y.shape)
    gx, gsrc = torch.autograd.grad(y, (x, src), gy)
    cases.append(dict(op="index_add", shape=list(shape), dim=dim, idx=flat(idx), sshape=sshape,
                      x=flat(x), src=flat(src), gy=flat(gy), y=flat(y), gx=flat(gx), gsrc=flat(gsrc)))

# max pool: plain, padding + stride != kernel, dilation, overlapping windows, ties
maxpool((1, 2, 5, 5), 2, 2, 0, 1)
maxpool((2, 1, 6, 7), 3, 2, 1, 1)
maxpool((1, 2, 7, 6), (3, 2), (1, 2), (1, 1), (2, 1))
maxpool((1, 1, 8, 9), (2, 3), (3, 2), (1, 1), (3, 2))
maxpool((1, 2, 5, 5), 3, 1, 1, 1, ties=True)
# avg pool: count_include_pad both ways
for cip in (True, False):
    avgpool((1, 2, 5, 5), 3, 2, 1, cip)
    avgpool((2, 1, 6, 7), (2, 3), (1, 2), (1, 1), cip)
avgpool((1, 1, 4, 4), 2, 2, 0, True)
# nearest: non-integer up, exact 2x, downscale, mixed
for shp, osz in (((1, 2, 3, 4), (7, 5)), ((1, 1, 4, 6), (8, 12)), ((2, 1, 6, 5), (4, 3)), ((1, 1, 5, 3), (3, 7))):
    upsample(shp, osz, "nearest")
upsample((1, 1, 3, 26), (4, 22), "nearest")
# nearest source-index tables where ATen's single-precision floor(dst * (float)in/out) differs from exact
# integer floor(dst * in / out): checks the kernel reproduces PyTorch's float rounding.
for i in range(1, 40):
    for o in range(1, 80):
        src = F.interpolate(torch.arange(i, dtype=D).reshape(1, 1, 1, i), size=(1, o), mode="nearest").reshape(-1).long().tolist()
        if src != [min(d * i // o, i - 1) for d in range(o)]:
            cases.append(dict(op="nearest_index", insize=i, outsize=o, src=src))
# bilinear: align_corners both ways; non-integer, 2x, downscale, identity axis, output size 1
for ac in (False, True):
    for shp, osz in (((1, 2, 3, 4), (7, 5)), ((1, 1, 4, 6), (8, 12)), ((2, 1, 6, 5), (4, 3)),
                     ((1, 1, 5, 3), (5, 7)), ((1, 1, 4, 3), (1, 2))):
        upsample(shp, osz, "bilinear", ac)
# pad (left, right, top, bottom)
for mode in ("reflect", "replicate", "constant"):
    pad((2, 2, 4, 5), (1, 2, 3, 0), mode, 0.5)
    pad((1, 1, 3, 3), (2, 2, 1, 2), mode, -1.0)
pad((1, 1, 2, 6), (5, 3, 4, 6), "replicate")
# gather / scatter_add / index_select / index_add along every dim of a rank-3 tensor
for dim in range(3):
    gather((3, 4, 5), dim, 2 + dim * 2)
    scatter_add((3, 4, 5), dim, 6 - dim)
    index_select((3, 4, 5), dim, 6)
    index_add((3, 4, 5), dim, 7)
index_select((10,), 0, 4)
index_add((6,), 0, 9)

out = dict(torch=torch.__version__, generator="gen_spatial.py", cases=cases)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spatial.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases to {path} ({os.path.getsize(path)} bytes)")
