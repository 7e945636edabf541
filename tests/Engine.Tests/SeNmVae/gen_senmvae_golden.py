#!/usr/bin/env python3
"""Golden values for SeNmVae (tests/Engine.Tests/SeNmVae/SeNmVaeGoldenTests.cs), computed with
PyTorch in float64 from SeNM-VAE as the fact sheet describes the official code
(/work/shared/specs/ludvae-senmvae.md, sections 2.3-2.8 and 2.12), written here from the sheet
and not from our C# code. Module names are chosen so that the state-dict keys equal ours
(netG.GzH.2.conv_m.weight, netNL.fc3.bias, ...).

Tiny configuration: nf 8, RDB growth 4, z_n 4 channels, nls [1, 1] (L = 3: RDB, DownSample, RDB),
level-net width 4, images (4, 3, 16, 16), labels [-1, 0, 1, -1] (unpaired slots hold one image in
both tensors), KL anneal over 20 steps at step 9 (w_n = (10 / 20) 1e-2).

After the spec's init every parameter gets N(0, 0.05^2) added, so the zero-initialized 1x1 heads
and projections no longer cut paths and every gradient is exercised.

The random draws (the eps of every latent sample, in the order the C# entry documents) and the
mixture coins are made here and saved, so the C# side is fed the same values.

Writes, next to this script:
  senmvae_weights.safetensors  state dict (netG.*, netNL.*), F64
  senmvae_golden.safetensors   inputs, eps, coins, outputs, losses, gradients (F64)
  senmvae_golden.json          provenance and scalar settings

Usage: /usr/bin/python3 gen_senmvae_golden.py   (torch 1.13 CPU, numpy)
"""
import json
import os
import re
import sys

import torch
import torch.nn as nn
import torch.nn.functional as Fn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Checkpoint"))
import safetensors_ref  # noqa: E402  (numpy-only writer)

torch.set_default_dtype(torch.float64)
SEED = 20261124
torch.manual_seed(SEED)

NF, GC, NZ, C = 8, 4, 4, 3
NLS = [1, 1]
LEVEL_W = 4
KL_W, KLZ_W, ANNEAL, NL_W = 1e-2, 1e-7, 20.0, 1.0
PERTURB = 0.05


class RDB(nn.Module):
    """ESRGAN ResidualDenseBlock_5C (sheet 2.3)."""

    def __init__(self, nf, gc):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)
        for m in (self.conv1, self.conv2, self.conv3, self.conv4, self.conv5):
            nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            m.weight.data *= 0.1
            m.bias.data.zero_()

    def forward(self, x):
        lr = lambda t: Fn.leaky_relu(t, 0.2)  # noqa: E731
        x1 = lr(self.conv1(x))
        x2 = lr(self.conv2(torch.cat((x, x1), 1)))
        x3 = lr(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = lr(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class Down(nn.Module):
    def __init__(self, nf):
        super().__init__()
        self.conv = nn.Conv2d(4 * nf, nf, 3, 1, 1)

    def forward(self, x):
        return self.conv(Fn.pixel_unshuffle(x, 2))


class Up(nn.Module):
    def __init__(self, nf):
        super().__init__()
        self.conv = nn.Conv2d(nf // 4, nf, 3, 1, 1)

    def forward(self, x):
        return self.conv(Fn.pixel_shuffle(x, 2))


def zero_weight_1x1(cin, cout):
    c = nn.Conv2d(cin, cout, 1)
    nn.init.zeros_(c.weight)
    return c


class GauBlock(nn.Module):
    def __init__(self, cin, cout, gc):
        super().__init__()
        self.rdb_m = RDB(cin, gc)
        self.conv_m = zero_weight_1x1(cin, cout)
        self.rdb_v = RDB(cin, gc)
        self.conv_v = zero_weight_1x1(cin, cout)

    def forward(self, u):
        return self.conv_m(self.rdb_m(u)), self.conv_v(self.rdb_v(u))


def layout(nls):
    """Per layer i (0 = shallowest): True for the resampling layer between groups."""
    r = []
    for g, n in enumerate(nls):
        r += [False] * n
        if g < len(nls) - 1:
            r.append(True)
    return r


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        lay = layout(NLS)
        self.L = len(lay)
        self.stem_H = nn.Conv2d(C, NF, 1)
        self.stem_L = nn.Conv2d(C, NF, 1)
        self.stem_N = nn.Conv2d(C, NF, 1)
        self.enc_H = nn.ModuleList([Down(NF) if r else RDB(NF, GC) for r in lay])
        self.enc_L = nn.ModuleList([Down(NF) if r else RDB(NF, GC) for r in lay])
        self.enc_N = nn.ModuleList([Down(NF) if r else RDB(NF, GC) for r in lay])
        self.GzH = nn.ModuleList([GauBlock(NF, NF, GC) for _ in lay])
        self.GzL = nn.ModuleList([GauBlock(NF, NF, GC) for _ in lay])
        self.Gzq = nn.ModuleList([GauBlock(NF + 1, NZ, GC) for _ in lay])
        self.Gzp = nn.ModuleList([GauBlock(NF + 1, NZ, GC) for _ in lay])
        self.proj_z = nn.ModuleList([zero_weight_1x1(NF, NF) for _ in lay])
        self.proj_zn = nn.ModuleList([zero_weight_1x1(NZ, NF) for _ in lay])
        self.dec = nn.ModuleList([Up(NF) if r else RDB(NF, GC) for r in lay])
        self.out_0 = nn.Conv2d(NF, NF, 3, 1, 1)
        self.out_2 = nn.Conv2d(NF, C, 3, 1, 1)

    def encode(self, stem, enc, img):
        acts, h = [], stem(img)
        for blk in enc:
            h = blk(h)
            acts.append(h)
        return acts

    def out(self, d):
        return self.out_2(torch.relu(self.out_0(d)))


class LevelNet(nn.Module):
    """NoiseLevelNet (sheet 2.7) at width w."""

    def __init__(self, w):
        super().__init__()
        self.conv1 = nn.Conv2d(C, w, 4, 2, 1)
        self.conv2 = nn.Conv2d(w, 2 * w, 4, 2, 1)
        self.conv3 = nn.Conv2d(2 * w, 4 * w, 4, 2, 1)
        self.conv4 = nn.Conv2d(4 * w, 8 * w, 4, 2, 1)
        self.fc1 = nn.Linear(8 * w, 4 * w)
        self.fc2 = nn.Linear(4 * w, 2 * w)
        self.fc3 = nn.Linear(2 * w, 1)

    def forward(self, y):
        h = torch.relu(self.conv1(y))
        h = torch.relu(self.conv2(h))
        h = torch.relu(self.conv3(h))
        h = self.conv4(h)
        v = Fn.adaptive_avg_pool2d(h, 1).flatten(1)
        v = torch.relu(self.fc1(v))
        v = torch.relu(self.fc2(v))
        return self.fc3(v).view(-1, 1, 1, 1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.netG = Generator()
        self.netNL = LevelNet(LEVEL_W)


def kl(m1, l1, m2, l2):
    return -0.5 + l2 - l1 + 0.5 * (torch.exp(2 * l1) + (m1 - m2) ** 2) / torch.exp(2 * l2)


def sample(m, ls, e):
    return m + torch.exp(ls) * e


def per_sample(t):
    return t.mean(dim=(1, 2, 3))


def training_forward(net, x, y, labels, step, eps, coins):
    """decode_H and decode_L (sheet 2.6), the level conditioning (2.7) and the loss (2.8)."""
    G = net.netG
    n = x.shape[0]
    lab = torch.tensor(labels)
    is_p = (lab == -1).double().view(-1, 1, 1, 1)
    is_t = (lab == 1).double().view(-1, 1, 1, 1)
    eps = list(eps)
    take = lambda: eps.pop(0)  # noqa: E731

    sigma = torch.std((y - x).reshape(n, -1), dim=1, unbiased=True).view(-1, 1, 1, 1)
    pred = net.netNL(y)
    level = is_p * sigma + is_t * pred  # label 0: 0

    aH = G.encode(G.stem_H, G.enc_H, x)
    aL = G.encode(G.stem_L, G.enc_L, y)
    aN = G.encode(G.stem_N, G.enc_N, y)

    def content(i, d, m):
        muH, lsH = G.GzH[i](d + aH[i])
        muL, lsL = G.GzL[i](d + aL[i])
        zH = sample(muH, lsH, take())
        zL = sample(muL, lsL, take())
        mm = m.view(-1, 1, 1, 1)
        z = mm * zH + (1 - mm) * zL
        return d + G.proj_z[i](z), per_sample(kl(muL, lsL, muH, lsH))

    # decode_H
    d, klzH = 0.0, 0.0
    for i in reversed(range(G.L)):
        d, k = content(i, d, coins[0])
        klzH = klzH + k
        d = G.dec[i](d)
    x_hat = G.out(d)

    # decode_L
    d, klzL, kln = 0.0, 0.0, 0.0
    for i in reversed(range(G.L)):
        d, k = content(i, d, coins[1])
        klzL = klzL + k
        s = level.expand(n, 1, d.shape[2], d.shape[3])
        mq, lq = G.Gzq[i](torch.cat((d + aN[i], s), 1))
        mp, lp = G.Gzp[i](torch.cat((d, s), 1))
        zn = sample(mq, lq, take())
        kln = kln + per_sample(kl(mq, lq, mp, lp))
        d = d + G.proj_zn[i](zn)
        d = G.dec[i](d)
    y_hat = G.out(d)
    assert not eps

    mH = [j for j in range(n) if labels[j] in (-1, 0)]
    mL = [j for j in range(n) if labels[j] in (-1, 1)]
    mP = [j for j in range(n) if labels[j] == -1]
    rec_x = ((x_hat[mH] - x[mH]) ** 2).mean()
    rec_y = ((y_hat[mL] - y[mL]) ** 2).mean()
    kl_n = kln[mL].mean()
    kl_z = (klzH + klzL)[mP].mean()
    level_l1 = (sigma - pred).abs().view(n)[mP].mean()
    w = min((step + 1) / ANNEAL, 1.0) * KL_W  # t = step + 1, the code's 1-based iteration
    total = rec_x + rec_y + w * kl_n + w * KLZ_W * kl_z + NL_W * level_l1
    return dict(x_hat=x_hat, y_hat=y_hat, rec_x=rec_x, rec_y=rec_y, kl_n=kl_n, kl_z=kl_z,
                level_l1=level_l1, level_pred=pred, total=total), w


def translate(G, x, level, tau, eps):
    """translate(x, level, tau) (sheet 2.12): z sampled from q(z|x), z_n = tau (mu_p + sigma_p eps)."""
    eps = list(eps)
    n = x.shape[0]
    aH = G.encode(G.stem_H, G.enc_H, x)
    d = 0.0
    for i in reversed(range(G.L)):
        mu, ls = G.GzH[i](d + aH[i])
        d = d + G.proj_z[i](sample(mu, ls, eps.pop(0)))
        s = torch.full((n, 1, d.shape[2], d.shape[3]), level)
        mp, lp = G.Gzp[i](torch.cat((d, s), 1))
        d = d + G.proj_zn[i](tau * sample(mp, lp, eps.pop(0)))
        d = G.dec[i](d)
    assert not eps
    return G.out(d)


def save(path, tensors, meta):
    data = {}
    for k, t in tensors.items():
        a = t.detach().contiguous().numpy()
        data[k] = ("F64", list(a.shape), safetensors_ref.encode("F64", a.reshape(-1).tolist()))
    with open(path, "wb") as f:
        f.write(safetensors_ref.serialize(data, meta))
    safetensors_ref.read(path)


net = Net()
with torch.no_grad():
    for p in net.parameters():
        p.add_(PERTURB * torch.randn_like(p))
weights = {k: v.clone() for k, v in net.state_dict().items()}
G = net.netG

N, H, W = 4, 16, 16
labels = [-1, 0, 1, -1]
clean = torch.rand(N, C, H, W)
noisy = clean + torch.tensor([0.08, 0.0, 0.12, 0.05]).view(-1, 1, 1, 1) * torch.randn(N, C, H, W)
x = clean.clone()
y = noisy.clone()
x[1] = clean[1]; y[1] = clean[1]   # label 0: the clean image in both slots
x[2] = noisy[2]; y[2] = noisy[2]   # label 1: the noisy image in both slots

res = [H // (2 ** sum(layout(NLS)[:i + 1])) for i in range(G.L)]  # side of act_i
eps = []
for i in reversed(range(G.L)):  # decode_H: zH, zL
    eps += [torch.randn(N, NF, res[i], res[i]), torch.randn(N, NF, res[i], res[i])]
for i in reversed(range(G.L)):  # decode_L: zH, zL, z_n
    eps += [torch.randn(N, NF, res[i], res[i]), torch.randn(N, NF, res[i], res[i]), torch.randn(N, NZ, res[i], res[i])]
# Mixture picks (1 = the clean encoder's sample): label 0 -> 1, label 1 -> 0, pairs differ per pass.
coins = [torch.tensor([1.0, 1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0, 1.0])]

STEP = 9
out, w = training_forward(net, x, y, labels, STEP, eps, coins)
net.zero_grad()
out["total"].backward()
g = {"x": x, "y": y, "coins": torch.cat(coins)}
for j, e in enumerate(eps):
    g[f"eps{j}"] = e
for k, v in out.items():
    g["train." + k] = v
for name, p in net.named_parameters():
    g["grad." + name] = p.grad.clone()

# Gradients of the unweighted KL sum and level loss: in the total, KLZ carries w 1e-7 and would be
# invisible at 1e-10; this checks its (and KLN's) backward at unit weight.
out2, _ = training_forward(net, x, y, labels, STEP, eps, coins)
net.zero_grad(set_to_none=True)
(out2["kl_n"] + out2["kl_z"] + out2["level_l1"]).backward()
# Saved for every parameter outside the dense blocks plus each block's conv1 (the file stays small);
# out_* and dec.0 do not reach the KLs (grad None: saved as zeros, listed in the json).
aux_none = []
for name, p in net.named_parameters():
    if re.search(r"\.conv[2-5]\.", name):
        continue
    g["gradaux." + name] = p.grad.clone() if p.grad is not None else torch.zeros_like(p)
    if p.grad is None:
        aux_none.append(name)

# translate: eps per layer (z, z_n), i = L-1..0
teps = []
for i in reversed(range(G.L)):
    teps += [torch.randn(N, NF, res[i], res[i]), torch.randn(N, NZ, res[i], res[i])]
for j, e in enumerate(teps):
    g[f"teps{j}"] = e
trans = [(0.1, 0.7), (0.05, 1.0)]
with torch.no_grad():
    for k, (lv, tau) in enumerate(trans):
        g[f"translate{k}"] = translate(G, x, lv, tau, teps)

n_params = sum(p.numel() for p in net.parameters())
save(os.path.join(HERE, "senmvae_weights.safetensors"), weights, {"generator": "gen_senmvae_golden.py"})
save(os.path.join(HERE, "senmvae_golden.safetensors"), g, {"generator": "gen_senmvae_golden.py"})
with open(os.path.join(HERE, "senmvae_golden.json"), "w") as f:
    json.dump({"generator": "gen_senmvae_golden.py", "torch": torch.__version__, "seed": SEED,
               "features": NF, "growth": GC, "noise_dim": NZ, "groups": NLS, "level_width": LEVEL_W,
               "kl_anneal_steps": ANNEAL, "kl_weight": KL_W, "klz_weight": KLZ_W, "perturb": PERTURB,
               "shape": [N, C, H, W], "labels": labels, "step": STEP, "kl_weight_at_step": w,
               "eps_count": len(eps), "translate_eps_count": len(teps),
               "translate": [{"level": lv, "temperature": tau} for lv, tau in trans],
               "aux_grad_none": aux_none,
               "parameter_count": n_params,
               "parameter_count_generator": sum(p.numel() for p in G.parameters()),
               "parameter_count_level_net": sum(p.numel() for p in net.netNL.parameters())}, f, indent=1)
print("ok", n_params, {k: float(v) for k, v in g.items() if v.dim() == 0}, "w", w)
print("grad norms", {k: float(v.norm()) for k, v in g.items() if k.startswith("grad.") and float(v.norm()) < 1e-6})
