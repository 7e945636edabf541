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
