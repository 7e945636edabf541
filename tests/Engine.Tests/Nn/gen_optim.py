#!/usr/bin/python3
# Golden values for the optimizer tests: torch.optim.Adam / AdamW (PyTorch 1.13, Debian
# python3-torch) on fixed float64 parameters and gradient sequences, and the torch.nn.init /
# clip_grad_norm_ reference numbers. Writes optim.json beside this script.
import json, math
import torch

torch.set_default_dtype(torch.float64)

def case(name, opt_ctor, steps=4):
    g = torch.Generator().manual_seed(1234)
    p0 = torch.randn(3, 5, generator=g)
    grads = [torch.randn(3, 5, generator=g) * (1 + k) for k in range(steps)]
    p = torch.nn.Parameter(p0.clone())
    opt = opt_ctor([p])
    traj = []
    for k in range(steps):
        opt.zero_grad()
        p.grad = grads[k].clone()
        opt.step()
        traj.append(p.detach().flatten().tolist())
    st = opt.state[p]
    return {"name": name, "p0": p0.flatten().tolist(), "grads": [x.flatten().tolist() for x in grads],
            "trajectory": traj, "exp_avg": st["exp_avg"].flatten().tolist(), "exp_avg_sq": st["exp_avg_sq"].flatten().tolist()}

cases = [
    case("adam", lambda ps: torch.optim.Adam(ps, lr=0.01)),
    case("adam_l2", lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    case("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.05)),
]

# clip_grad_norm_: the returned norm and the clipped gradients.
g = torch.Generator().manual_seed(7)
a = torch.nn.Parameter(torch.zeros(4, 3)); b = torch.nn.Parameter(torch.zeros(6))
a.grad = torch.randn(4, 3, generator=g); b.grad = torch.randn(6, generator=g)
ga, gb = a.grad.flatten().tolist(), b.grad.flatten().tolist()
norm = torch.nn.utils.clip_grad_norm_([a, b], 1.5).item()
clip = {"a": ga, "b": gb, "max_norm": 1.5, "norm": norm, "a_clipped": a.grad.flatten().tolist(), "b_clipped": b.grad.flatten().tolist()}

# Schedules: MultiStepLR and CosineAnnealingLR learning rates for the first steps.
def lrs(sched_ctor, n):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    s = sched_ctor(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step(); s.step()
    return out
sched = {
    "multistep": lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 7], gamma=0.5), 10),
    "cosine": lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=0.01), 9),
}

json.dump({"torch": torch.__version__, "adam": cases, "clip": clip, "schedules": sched}, open(__file__.replace("gen_optim.py", "optim.json"), "w"), indent=1)
print("wrote optim.json")
