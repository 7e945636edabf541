#!/usr/bin/env python3
"""Golden values for LudVaeTpami (tests/Engine.Tests/LudVae/LudVaeTpamiTests.cs), computed with
PyTorch in float64 from the public-code LUD-VAE written here from the fact sheet
(/work/shared/specs/ludvae-senmvae.md, sections 1.1-1.4 and 1.7), not from our C# code.

The random draws (h noise, the reparameterization eps of each level) are made here with torch and
saved, so the C# side can be fed the same values through its internal explicit-eps entry points.

Writes, next to this script:
  ludvae_tpami_weights.safetensors  state dict (F = 8, 3 channels), PyTorch default init, seed below
  ludvae_tpami_golden.safetensors   inputs, eps, outputs, losses, gradients (F64)
  ludvae_tpami.json                 provenance and scalar settings

Usage: /usr/bin/python3 gen_ludvae_tpami.py   (torch 1.13 CPU, numpy)
"""
import json
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Checkpoint"))
import safetensors_ref  # noqa: E402  (numpy-only writer)

torch.set_default_dtype(torch.float64)
SEED = 20261123
torch.manual_seed(SEED)
FEAT = 8


class ConvBlock(nn.Module):
    def __init__(self, cin, cout, f):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(cin, f, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(f, f, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(f, f, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(f, cout, 3, 1, 1))

    def forward(self, x):
        return self.net(x)


class GauBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.m = nn.Conv2d(cin, cout, 1)
        self.v = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        return self.m(x), self.v(x)


class ProjBlock(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.proj = nn.Conv2d(2 * f, f, 1)

    def forward(self, a, b):
        return self.proj(torch.cat([a, b], 1))


def kl(m1, l1, m2, l2):
    return -0.5 + l2 - l1 + 0.5 * (torch.exp(2 * l1) + (m1 - m2) ** 2) / torch.exp(2 * l2)


class Net(nn.Module):
    def __init__(self, c=3, f=FEAT):
        super().__init__()
        self.inconv = nn.Conv2d(c, f, 1)
        self.inconv_n = nn.Conv2d(c, f, 1)
        for i in (1, 2, 3):
            setattr(self, f"enc_{i}", ConvBlock(f, f, f))
        for i in (1, 2, 3):
            setattr(self, f"enc_n_{i}", ConvBlock(f, f, f))
        self.Gauconv_q_3 = GauBlock(f, f)
        self.Gauconv_q_2 = GauBlock(f, f)
        self.Gauconv_q_1 = GauBlock(f, f)
        self.Gauconv_p_2 = GauBlock(f, f)
        self.Gauconv_p_1 = GauBlock(f, f)
        self.dec_3 = ConvBlock(f, f, f)
        self.dec_2 = ConvBlock(f, f, f)
        self.dec_1 = ConvBlock(f, f, f)
        self.proj_3 = ProjBlock(f)
        self.proj_2 = ProjBlock(f)
        self.proj_1 = ProjBlock(f)
        self.proj_c_2 = ProjBlock(f)
        self.proj_c_1 = ProjBlock(f)
        self.proj_n_2 = ProjBlock(f)
        self.proj_n_1 = ProjBlock(f)
        self.outconv = nn.Conv2d(f, c, 1)

    def encode(self, x, h):
        a1 = self.enc_1(self.inconv(h)); a2 = self.enc_2(a1); a3 = self.enc_3(a2)
        b1 = self.enc_n_1(self.inconv_n(x)); b2 = self.enc_n_2(b1); b3 = self.enc_n_3(b2)
        return (a1, a2, a3), (b1, b2, b3)

    def forward(self, x, h, label, eps):
        (a1, a2, a3), (b1, b2, b3) = self.encode(x, h)
        mq, lq = self.Gauconv_q_3(b3)
        z = label * (mq + torch.exp(lq) * eps[0])
        kls = [label * kl(mq, lq, torch.zeros_like(mq), torch.zeros_like(lq))]
        d = self.proj_3(a3, z)
        d = self.proj_c_2(self.dec_3(d), a2)
        mq, lq = self.Gauconv_q_2(self.proj_n_2(d, b2)); mp, lp = self.Gauconv_p_2(d)
        z = label * (mq + torch.exp(lq) * eps[1]); kls.append(label * kl(mq, lq, mp, lp))
        d = self.proj_2(d, z)
        d = self.proj_c_1(self.dec_2(d), a1)
        mq, lq = self.Gauconv_q_1(self.proj_n_1(d, b1)); mp, lp = self.Gauconv_p_1(d)
        z = label * (mq + torch.exp(lq) * eps[2]); kls.append(label * kl(mq, lq, mp, lp))
        d = self.proj_1(d, z)
        return self.outconv(self.dec_1(d)), kls

    def translate(self, h, label, tau, eps):
        a1 = self.enc_1(self.inconv(h)); a2 = self.enc_2(a1); a3 = self.enc_3(a2)
        s = (1 - label) * tau
        d = self.proj_3(a3, s * eps[0])
        d = self.proj_c_2(self.dec_3(d), a2)
        mp, lp = self.Gauconv_p_2(d)
        d = self.proj_2(d, s * (mp + torch.exp(lp) * eps[1]))
        d = self.proj_c_1(self.dec_2(d), a1)
        mp, lp = self.Gauconv_p_1(d)
        d = self.proj_1(d, s * (mp + torch.exp(lp) * eps[2]))
        return self.outconv(self.dec_1(d))


def loss(net, x, h, labels, eps, step, cap=1e-4, anneal=1e8):
    label = torch.tensor(labels, dtype=torch.float64).view(-1, 1, 1, 1)
    out, kls = net(x, h, label, eps)
    rec = ((out - x) ** 2).mean()
    n = sum(labels)
    klv = sum(k.sum() for k in kls) / (n * x.shape[1] * x.shape[2] * x.shape[3]) if n > 0 else torch.zeros(())
    w = min((step + 1) / anneal, cap)
    return out, rec, klv, rec + w * klv, w


def save(path, tensors, meta):
    data = {}
    for k, t in tensors.items():
        a = t.detach().contiguous().numpy()
        data[k] = ("F64", list(a.shape), safetensors_ref.encode("F64", a.reshape(-1).tolist()))
    with open(path, "wb") as f:
        f.write(safetensors_ref.serialize(data, meta))
    safetensors_ref.read(path)


net = Net()
with torch.no_grad():  # larger log-sigma heads' biases so exp(ls) is visibly away from 1
    for name in ("Gauconv_q_3", "Gauconv_q_2", "Gauconv_q_1", "Gauconv_p_2", "Gauconv_p_1"):
        getattr(net, name).v.bias.uniform_(-0.6, 0.3)
weights = {k: v for k, v in net.state_dict().items()}

N, C, H, W = 4, 3, 10, 12
sig_clean, sig_noisy = 8 / 255, 3 / 255
g = {}
x = torch.rand(N, C, H, W)
labels_mixed = [0, 1, 1, 0]
sig = torch.tensor([sig_noisy if l else sig_clean for l in labels_mixed]).view(-1, 1, 1, 1)
h = x + sig * torch.randn(N, C, H, W)
eps = [torch.randn(N, FEAT, H, W) for _ in range(3)]
g["x"] = x; g["h"] = h
for i, e in enumerate(eps):
    g[f"eps{i}"] = e

# mixed batch at step 4999 (w = 5e-5), with weight gradients of the total
step_mixed = 4999
out, rec, klv, tot, w = loss(net, x, h, labels_mixed, eps, step_mixed)
net.zero_grad()
tot.backward()
g["mixed.out"] = out; g["mixed.rec"] = rec; g["mixed.kl"] = klv; g["mixed.total"] = tot
grad_names = ["inconv.weight", "inconv_n.weight", "Gauconv_q_3.v.weight", "Gauconv_p_1.m.weight",
              "proj_c_1.proj.weight", "enc_n_2.net.4.weight", "outconv.bias"]
for n_ in grad_names:
    g["mixed.grad." + n_] = dict(net.named_parameters())[n_].grad.clone()

# all-clean batch at step 0: the KL term is 0 and the noise path gets no gradient
with torch.no_grad():
    out, rec, klv, tot, _ = loss(net, x, h, [0, 0, 0, 0], eps, 0)
g["clean.out"] = out; g["clean.rec"] = rec; g["clean.total"] = tot

# generation (translate) with clean labels, tau 0.7, and with tau 0
with torch.no_grad():
    lab0 = torch.zeros(N, 1, 1, 1)
    g["gen.out_t07"] = net.translate(h, lab0, 0.7, eps)
    g["gen.out_t0"] = net.translate(h, lab0, 0.0, eps)

save(os.path.join(HERE, "ludvae_tpami_weights.safetensors"), weights, {"generator": "gen_ludvae_tpami.py"})
save(os.path.join(HERE, "ludvae_tpami_golden.safetensors"), g, {"generator": "gen_ludvae_tpami.py"})
with open(os.path.join(HERE, "ludvae_tpami.json"), "w") as f:
    json.dump({"generator": "gen_ludvae_tpami.py", "torch": torch.__version__, "seed": SEED,
               "features": FEAT, "shape": [N, C, H, W], "labels_mixed": labels_mixed,
               "step_mixed": step_mixed, "kl_weight_mixed": w, "tau": 0.7,
               "sigma_clean": sig_clean, "sigma_noisy": sig_noisy, "grad_names": grad_names,
               "parameter_count": sum(p.numel() for p in net.parameters()),
               "parameter_count_f128": sum(p.numel() for p in Net(3, 128).parameters())}, f, indent=1)
print("ok", {k: float(v) for k, v in g.items() if v.dim() == 0})
