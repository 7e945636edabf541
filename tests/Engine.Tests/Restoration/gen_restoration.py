#!/usr/bin/env python3
"""Golden values for the restoration networks (tests/Engine.Tests/Restoration/RestorationTests.cs),
computed with PyTorch in float64 from architectures written here from the spec
(/work/shared/specs/dsrvae-and-evaluation.md, B.1 DnCNN and B.3 RRDBNet), not from our code.

Writes, next to this script:
  bn_dncnn_weights.safetensors   DnCNN (original port layout, prefix "dncnn"), depth 5, 8 features,
                                 3 channels; BN gamma/beta/running stats randomized; the int64
                                 num_batches_tracked is stored as I64, as torch saves it
  rrdb_x4_weights.safetensors    RRDBNet nf 8, gc 4, 2 blocks, scale 4 (BasicSR names)
  rrdb_x2_weights.safetensors    the same with scale 2 (input pixel-unshuffled by 2)
  rrdb_x1_weights.safetensors    the same with scale 1 (input pixel-unshuffled by 4)
  restoration_golden.safetensors inputs, outputs, gradients (F64), names listed in restoration.json
  restoration.json               provenance

Usage: /usr/bin/python3 gen_restoration.py   (torch 1.13 CPU, numpy)
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as Fn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Checkpoint"))
import safetensors_ref  # noqa: E402  (numpy-only writer)

torch.set_default_dtype(torch.float64)
torch.manual_seed(20241123)
DT = {torch.float64: "F64", torch.float32: "F32", torch.int64: "I64"}


def save(path, tensors):
    data = {}
    for k, t in tensors.items():
        t = t.detach().contiguous()
        a = t.numpy()
        dt = DT[t.dtype]
        data[k] = (dt, list(a.shape), safetensors_ref.encode(dt, a.reshape(-1).tolist()))
    with open(path, "wb") as f:
        f.write(safetensors_ref.serialize(data, {"generator": "gen_restoration.py"}))
    safetensors_ref.read(path)  # the checking reader must accept it


golden = {}

# ---------------------------------------------------------------- BatchNorm2d (defaults)
bn = nn.BatchNorm2d(3)  # eps 1e-5, momentum 0.1, affine
with torch.no_grad():
    bn.weight.copy_(torch.rand(3) + 0.5)
    bn.bias.copy_(torch.rand(3) - 0.5)
x1 = (torch.randn(4, 3, 5, 6) * 1.5 + 0.3).requires_grad_(True)
x2 = torch.randn(4, 3, 5, 6) * 0.7 - 0.2
x3 = torch.randn(2, 3, 4, 4)
g1 = torch.rand(4, 3, 5, 6) + 0.5
golden["bn.weight"] = bn.weight.detach().clone()
golden["bn.bias"] = bn.bias.detach().clone()
bn.train()
y1 = bn(x1)
(y1 * g1).sum().backward()
golden.update({"bn.x1": x1.detach(), "bn.x2": x2, "bn.x3": x3, "bn.g1": g1, "bn.y1": y1.detach(),
               "bn.grad_x1": x1.grad, "bn.grad_weight": bn.weight.grad.clone(), "bn.grad_bias": bn.bias.grad.clone(),
               "bn.running_mean1": bn.running_mean.clone(), "bn.running_var1": bn.running_var.clone()})
with torch.no_grad():
    golden["bn.y2"] = bn(x2)
golden["bn.running_mean2"] = bn.running_mean.clone()
golden["bn.running_var2"] = bn.running_var.clone()
assert int(bn.num_batches_tracked) == 2
bn.eval()
with torch.no_grad():
    golden["bn.y3"] = bn(x3)


# ---------------------------------------------------------------- DnCNN (original port layout)
class DnCNN(nn.Module):
    def __init__(self, depth, features, channels):
        super().__init__()
        layers = [nn.Conv2d(channels, features, 3, padding=1, bias=True), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(features, features, 3, padding=1, bias=False),
                       nn.BatchNorm2d(features, eps=1e-4, momentum=0.95), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(features, channels, 3, padding=1, bias=False))
        self.dncnn = nn.Sequential(*layers)

    def forward(self, y):
        return y - self.dncnn(y)


dn = DnCNN(5, 8, 3)
with torch.no_grad():
    for m in dn.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.orthogonal_(m.weight)
            if m.bias is not None:
                m.bias.uniform_(-0.1, 0.1)  # nonzero so a dropped bias would show
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.num_batches_tracked.fill_(7)
save(os.path.join(HERE, "bn_dncnn_weights.safetensors"), dn.state_dict())
xd = torch.rand(2, 3, 8, 8).requires_grad_(True)
td = torch.rand(2, 3, 8, 8)
dn.train()
yd = dn(xd)
Fn.mse_loss(yd, td).backward()
golden.update({"dncnn.x": xd.detach(), "dncnn.target": td, "dncnn.y_train": yd.detach(), "dncnn.grad_x": xd.grad,
               "dncnn.grad_conv0_weight": dn.dncnn[0].weight.grad.clone(),
               "dncnn.grad_bn3_weight": dn.dncnn[3].weight.grad.clone(),
               "dncnn.running_mean3": dn.dncnn[3].running_mean.clone(),
               "dncnn.running_var3": dn.dncnn[3].running_var.clone()})
assert int(dn.dncnn[3].num_batches_tracked) == 8
dn.eval()
with torch.no_grad():
    golden["dncnn.y_eval"] = dn(xd.detach())


# ---------------------------------------------------------------- RRDBNet (BasicSR)
class RDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)

    def forward(self, x):
        lr = lambda t: Fn.leaky_relu(t, 0.2)
        x1 = lr(self.conv1(x))
        x2 = lr(self.conv2(torch.cat((x, x1), 1)))
        x3 = lr(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = lr(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = RDB(nf, gc), RDB(nf, gc), RDB(nf, gc)

    def forward(self, x):
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    def __init__(self, cin, cout, nf, gc, nb, scale):
        super().__init__()
        self.scale = scale
        self.conv_first = nn.Conv2d(cin * {4: 1, 2: 4, 1: 16}[scale], nf, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(nf, gc) for _ in range(nb)])
        self.conv_body = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_hr = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, cout, 3, 1, 1)

    def forward(self, x):
        if self.scale == 2:
            x = Fn.pixel_unshuffle(x, 2)
        elif self.scale == 1:
            x = Fn.pixel_unshuffle(x, 4)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        lr = lambda t: Fn.leaky_relu(t, 0.2)
        feat = lr(self.conv_up1(Fn.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = lr(self.conv_up2(Fn.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(lr(self.conv_hr(feat)))


for scale, shape in ((4, (1, 3, 5, 6)), (2, (2, 3, 6, 4)), (1, (1, 3, 8, 4))):
    net = RRDBNet(3, 3, 8, 4, 2, scale)
    with torch.no_grad():
        for name, m in net.named_modules():
            if isinstance(m, nn.Conv2d) and ".rdb" in name:
                nn.init.kaiming_normal_(m.weight)  # BasicSR: x 0.1 and zero bias; here larger, random
                m.weight.mul_(0.3)                 # values so the dense blocks matter in the output
                m.bias.uniform_(-0.05, 0.05)
    save(os.path.join(HERE, f"rrdb_x{scale}_weights.safetensors"), net.state_dict())
    xr = torch.rand(*shape).requires_grad_(True)
    yr = net(xr)
    tr = torch.rand(*yr.shape)
    Fn.mse_loss(yr, tr).backward()
    p = f"rrdb_x{scale}."
    golden.update({p + "x": xr.detach(), p + "target": tr, p + "y": yr.detach(), p + "grad_x": xr.grad,
                   p + "grad_conv_first_weight": net.conv_first.weight.grad.clone(),
                   p + "grad_body_1_rdb3_conv5_weight": net.body[1].rdb3.conv5.weight.grad.clone()})

save(os.path.join(HERE, "restoration_golden.safetensors"), golden)
with open(os.path.join(HERE, "restoration.json"), "w") as f:
    json.dump({"generator": "gen_restoration.py (torch %s, numpy %s, python %s), float64"
               % (torch.__version__, np.__version__, sys.version.split()[0]),
               "tensors": sorted(golden)}, f, indent=1)
print("wrote", len(golden), "golden tensors")
