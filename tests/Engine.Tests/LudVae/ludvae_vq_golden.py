# Independent PyTorch build of the ICLR LUD-VAE layout used by src/Models/LudVae/LudVaeVq.cs:
# rosinality/vq-vae-2-pytorch's VQVAE (stage 1: Encoder/Decoder/ResBlock/Quantize, stride 4 bottom,
# stride 2 top) plus the degradation VAE (two more encoders, two Gaussian heads of two 1x1 convs)
# and the two 1x1 fusion convs. The codebook buffers are stored (K, D) under our names
# (codebook, cluster_size, embed_sum) instead of rosinality's (D, K) embed / cluster_size / embed_avg.
# Writes ludvae_vq_golden.json: the parameter count and the state-dict shapes at the paper config.
# Run: /usr/bin/python3 ludvae_vq_golden.py   (PyTorch 1.13 CPU)
import json
import os
import torch
from torch import nn


class ResBlock(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.conv = nn.Sequential(nn.ReLU(), nn.Conv2d(c, r, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(r, c, 1))

    def forward(self, x):
        return x + self.conv(x)


class Encoder(nn.Module):
    def __init__(self, cin, c, n_res, r, stride):
        super().__init__()
        if stride == 4:
            blocks = [nn.Conv2d(cin, c // 2, 4, stride=2, padding=1), nn.ReLU(inplace=True),
                      nn.Conv2d(c // 2, c, 4, stride=2, padding=1), nn.ReLU(inplace=True),
                      nn.Conv2d(c, c, 3, padding=1)]
        else:
            blocks = [nn.Conv2d(cin, c // 2, 4, stride=2, padding=1), nn.ReLU(inplace=True),
                      nn.Conv2d(c // 2, c, 3, padding=1)]
        blocks += [ResBlock(c, r) for _ in range(n_res)] + [nn.ReLU(inplace=True)]
        self.blocks = nn.Sequential(*blocks)


class Decoder(nn.Module):
    def __init__(self, cin, cout, c, n_res, r, stride):
        super().__init__()
        blocks = [nn.Conv2d(cin, c, 3, padding=1)] + [ResBlock(c, r) for _ in range(n_res)] + [nn.ReLU(inplace=True)]
        if stride == 4:
            blocks += [nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1), nn.ReLU(inplace=True),
                       nn.ConvTranspose2d(c // 2, cout, 4, stride=2, padding=1)]
        else:
            blocks += [nn.ConvTranspose2d(c, cout, 4, stride=2, padding=1)]
        self.blocks = nn.Sequential(*blocks)


class Quantize(nn.Module):
    def __init__(self, dim, k):
        super().__init__()
        e = torch.randn(k, dim)
        self.register_buffer("codebook", e)
        self.register_buffer("cluster_size", torch.zeros(k))
        self.register_buffer("embed_sum", e.clone())


class GaussianHead(nn.Module):
    def __init__(self, c, l):
        super().__init__()
        self.mu = nn.Conv2d(c, l, 1)
        self.log_sigma = nn.Conv2d(c, l, 1)


class LudVaeVq(nn.Module):
    def __init__(self, cin=3, c=128, n_res=2, r=32, e=64, k=512, l=64):
        super().__init__()
        self.enc_b = Encoder(cin, c, n_res, r, 4)
        self.enc_t = Encoder(c, c, n_res, r, 2)
        self.quantize_conv_t = nn.Conv2d(c, e, 1)
        self.quantize_t = Quantize(e, k)
        self.dec_t = Decoder(e, e, c, n_res, r, 2)
        self.quantize_conv_b = nn.Conv2d(e + c, e, 1)
        self.quantize_b = Quantize(e, k)
        self.upsample_t = nn.ConvTranspose2d(e, e, 4, stride=2, padding=1)
        self.dec = Decoder(e + e, cin, c, n_res, r, 4)
        self.enc_n_b = Encoder(cin, c, n_res, r, 4)
        self.enc_n_t = Encoder(c, c, n_res, r, 2)
        self.q_n_t = GaussianHead(c, l)
        self.q_n_b = GaussianHead(c, l)
        self.fuse_t = nn.Conv2d(e + l, e, 1)
        self.fuse_b = nn.Conv2d(e + l, e, 1)


m = LudVaeVq()
out = {
    "torch": torch.__version__,
    "paper_param_count": sum(p.numel() for p in m.parameters()),
    "paper_state_dict": {k: list(v.shape) for k, v in m.state_dict().items()},
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ludvae_vq_golden.json"), "w") as f:
    json.dump(out, f, indent=1)
print(out["paper_param_count"])


# ---- Forward/backward parity on a tiny float64 model (written to ludvae_vq_tiny.safetensors) ----
# Config (C=8, R=4, NumRes=1, E=4, K=16, L=2, blur 5/1.5). Everything deterministic: the codes are the
# nearest ones (no EMA update, as in eval mode), z_n is given. The loss below is our Loss with z_n
# fixed: MSE + 0.25 * commitment per level + 0.1 * KL(q(z_n|x) || N(0, I)) summed / numel(x).
import numpy as np
import struct


def gaussian_taps(size, sigma):
    c = (size - 1) / 2.0
    g = np.exp(-((np.arange(size) - c) ** 2) / (2 * sigma * sigma))
    return g / g.sum()


def blur(x, size, sigma):
    g = gaussian_taps(size, sigma)
    k = torch.tensor(np.outer(g, g), dtype=x.dtype).expand(x.shape[1], 1, size, size)
    p = size // 2
    return nn.functional.conv2d(nn.functional.pad(x, (p, p, p, p), mode="replicate"), k, groups=x.shape[1])


def run_seq(seq, x):
    return seq.blocks(x)


def quantize(q, ze):
    rows = ze.permute(0, 2, 3, 1).reshape(-1, ze.shape[1])
    d = (rows.pow(2).sum(1, keepdim=True) - 2 * rows @ q.codebook.t() + q.codebook.pow(2).sum(1)[None, :])
    idx = d.argmin(1)
    qv = q.codebook[idx]
    st = rows + (qv - rows).detach()
    commit = (rows - qv.detach()).pow(2).mean()
    b, _, h, w = ze.shape
    return st.reshape(b, h, w, -1).permute(0, 3, 1, 2), idx.reshape(b, h, w), commit


torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
t = LudVaeVq(cin=3, c=8, n_res=1, r=4, e=4, k=16, l=2)
with torch.no_grad():  # codes on the scale of the encoder outputs, so the argmin has choices to make
    for q in (t.quantize_t, t.quantize_b):
        q.codebook.mul_(0.1)
        q.embed_sum.copy_(q.codebook)
x = torch.rand(2, 3, 16, 16, requires_grad=True)
zn_t = torch.randn(2, 2, 2, 2)
zn_b = torch.randn(2, 2, 4, 4)

hx = blur(x, 5, 1.5)
eb = run_seq(t.enc_b, hx)
et = run_seq(t.enc_t, eb)
qt, it, ct = quantize(t.quantize_t, t.quantize_conv_t(et))
dt = run_seq(t.dec_t, qt)
qb, ib, cb = quantize(t.quantize_b, t.quantize_conv_b(torch.cat([dt, eb], 1)))
nb = run_seq(t.enc_n_b, x)
nt = run_seq(t.enc_n_t, nb)
mu_t, ls_t = t.q_n_t.mu(nt), t.q_n_t.log_sigma(nt)
mu_b, ls_b = t.q_n_b.mu(nb), t.q_n_b.log_sigma(nb)
ft = t.fuse_t(torch.cat([qt, zn_t], 1))
fb = t.fuse_b(torch.cat([qb, zn_b], 1))
out = run_seq(t.dec, torch.cat([t.upsample_t(ft), fb], 1))


def kl(mu, ls):
    return (0.5 * (mu * mu + torch.exp(2 * ls)) - ls - 0.5).sum()


loss = (out - x).pow(2).mean() + 0.25 * (ct + cb) + 0.1 * (kl(mu_t, ls_t) + kl(mu_b, ls_b)) / x.numel()
loss.backward()

tensors = {k: v.detach().contiguous() for k, v in t.state_dict().items()}
tensors.update({"io.x": x.detach(), "io.zn_t": zn_t, "io.zn_b": zn_b, "io.hx": hx.detach(), "io.out": out.detach(),
                "io.idx_t": it.double(), "io.idx_b": ib.double(), "io.mu_t": mu_t.detach(), "io.ls_b": ls_b.detach(),
                "io.loss": loss.detach().reshape(1), "io.grad_x": x.grad})
tensors.update({"grad." + k: p.grad for k, p in t.named_parameters()})
header, blobs, off = {}, [], 0
for k in sorted(tensors):
    a = tensors[k].double().numpy().astype("<f8").tobytes()
    header[k] = {"dtype": "F64", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(a)]}
    blobs.append(a)
    off += len(a)
hb = json.dumps(header).encode()
hb += b" " * ((8 - len(hb) % 8) % 8)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ludvae_vq_tiny.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
print("tiny loss", loss.item(), "codes top", it.flatten().tolist(), "bottom", ib.flatten().tolist())
