#!/usr/bin/python3
"""Golden forward values for Engine.Ops, computed by PyTorch in float64.

Generates tests/Engine.Tests/Golden/ops.json, read by tests/Engine.Tests/Tensor/GoldenOpTests.cs.
Covers: every Engine.UnaryOp (including large-|x|, tiny-x and inf/nan edge values), binary ops
with broadcasting, comparisons, where, reductions over several axis sets with keepdim both ways,
argmax/argmin, matmul (transpose flags, batched, broadcast batch dims, strided operands),
conv2d, conv_transpose2d, pixel (un)shuffle, concat/stack/split/chunk.

Provenance: the PyTorch version is recorded in the JSON ("torch_version"); written with Debian's
python3-torch 1.13 (CPU) and python3-mpmath.  Rerun from the repository root with

    /usr/bin/python3 tests/Engine.Tests/Golden/gen_ops.py

(the python3 on PATH may lack torch).  Output is deterministic for a given torch version; keep
ops.json under 400 KB (small shapes).

Format: {"torch_version", "generator", "seed", "tensors": [tensor...], "cases": [case...]}; a case is
  {"name", "op", "params": {...}, "inputs": [{"ref": index into tensors, "permute"?: [...]}...],
   "outputs": [tensor...], "tol": "exact" | "elementwise" | "accumulate", "f32": bool}
and a tensor is {"shape": [...], "dtype": "f64" | "i32", "data": [row-major values]}.  An input
with "permute" is seen by the op as stored.permute(p), a non-contiguous view.  Reductions store
the keepdim output and the keepdim=False shape ("drop_shape"); the test runs both.  Non-finite
values are the strings "nan", "inf", "-inf".
Every input is a float32-representable double, so the F32 test sees exactly the values the
float64 reference saw; "f32": false marks cases whose values leave float32's range.
Unary references are cross-checked against mpmath (50 digits) before they are written; where
torch 1.13 itself is inaccurate the reference is built from its accurate primitives (see elu_ref).
"""
import json
import math
import os

import mpmath
import torch
import torch.nn.functional as F

SEED = 20261122
torch.manual_seed(SEED)
mpmath.mp.dps = 50
D = torch.float64
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops.json")

cases = []


def f32(t):
    """float32-representable float64 tensor."""
    return torch.as_tensor(t, dtype=torch.float64).float().double()


def randn(*shape, scale=1.0):
    return f32(torch.randn(tuple(shape), dtype=torch.float32) * scale)


def uniform(n, lo, hi):
    return f32(torch.rand(n, dtype=torch.float32) * (hi - lo) + lo)


def num(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def enc(t, permute=None):
    t = t.contiguous()
    d = {"shape": list(t.shape)}
    if t.dtype in (torch.int64, torch.int32):
        d["dtype"] = "i32"
        d["data"] = [int(v) for v in t.reshape(-1).tolist()]
    else:
        assert t.dtype == D, t.dtype
        d["dtype"] = "f64"
        d["data"] = [num(v) for v in t.reshape(-1).tolist()]
    if permute is not None:
        d["permute"] = list(permute)
    return d


def view(x, permute):
    """The stored tensor is x.permute(inverse) made contiguous; the op sees x (non-contiguous)."""
    inv = [0] * len(permute)
    for i, p in enumerate(permute):
        inv[p] = i
    stored = x.permute(inv).contiguous()
    seen = stored.permute(permute)
    assert torch.equal(seen, x) and (x.dim() < 2 or not seen.is_contiguous())
    return stored, seen


tensors = []  # inputs, stored once: a case input is {"ref": index, "permute"?: [...]}
tensor_index = {}


def intern(t, permute):
    e = enc(t)
    key = json.dumps(e)
    if key not in tensor_index:
        tensor_index[key] = len(tensors)
        tensors.append(e)
    r = {"ref": tensor_index[key]}
    if permute is not None:
        r["permute"] = list(permute)
    return r


def add(name, op, inputs, outputs, params=None, tol="elementwise", f32_ok=True, permutes=None):
    assert all(c["name"] != name for c in cases), name
    permutes = permutes or [None] * len(inputs)
    cases.append({
        "name": name, "op": op, "params": params or {},
        "inputs": [intern(t, p) for t, p in zip(inputs, permutes)],
        "outputs": [enc(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])],
        "tol": tol, "f32": f32_ok,
    })


# ----------------------------------------------------------------------------- unary
def cat(*parts):
    return torch.cat([f32(torch.as_tensor(p, dtype=torch.float64).reshape(-1)) for p in parts])


def positive(n, lo_exp, hi_exp):
    return f32(torch.exp(torch.rand(n, dtype=torch.float64) * (hi_exp - lo_exp) + lo_exp))


mp = mpmath


def mp_gelu(x):
    return x * mp.erfc(-x / mp.sqrt(2)) / 2


def mp_sigmoid(x):
    return 1 / (1 + mp.exp(-x))


def mp_softplus(x):
    return mp.log1p(mp.exp(x))


def mp_elu(alpha):
    return lambda x: x if x > 0 else alpha * mp.expm1(x)


def mp_clamp(lo, hi):
    return lambda x: min(max(x, lo), hi)


def mp_sign(x):
    return mp.mpf(1) if x > 0 else mp.mpf(-1) if x < 0 else mp.mpf(0)


# name -> (UnaryOp, torch reference in float64, mpmath reference); parametrized ops pass fn/mpfn
UNARY = {
    "neg": ("Neg", torch.neg, lambda x: -x),
    "abs": ("Abs", torch.abs, abs),
    "exp": ("Exp", torch.exp, mp.exp),
    "log": ("Log", torch.log, mp.log),
    "sqrt": ("Sqrt", torch.sqrt, mp.sqrt),
    "rsqrt": ("Rsqrt", torch.rsqrt, lambda x: 1 / mp.sqrt(x)),
    "square": ("Square", torch.square, lambda x: x * x),
    "sigmoid": ("Sigmoid", torch.sigmoid, mp_sigmoid),
    "tanh": ("Tanh", torch.tanh, mp.tanh),
    # torch's default threshold=20 returns x above 20, which is off by e^-x; above 50, x is the
    # float64 value of log1p(exp(x)), and log1p(exp(x)) itself would overflow past ~709.
    "softplus": ("Softplus", lambda x: F.softplus(x, beta=1, threshold=50), mp_softplus),
    "relu": ("Relu", torch.relu, lambda x: max(x, 0)),
    "sign": ("Sign", torch.sign, mp_sign),
    "reciprocal": ("Reciprocal", torch.reciprocal, lambda x: 1 / x),
    "sin": ("Sin", torch.sin, mp.sin),
    "cos": ("Cos", torch.cos, mp.cos),
    "log1p": ("Log1p", torch.log1p, mp.log1p),
    "expm1": ("Expm1", torch.expm1, mp.expm1),
    "erf": ("Erf", torch.erf, mp.erf),
    # exact erf form, evaluated as x/2 * erfc(-x/sqrt 2) so the negative tail has no cancellation
    "gelu": ("Gelu", lambda x: 0.5 * x * torch.special.erfc(-x * (0.5 ** 0.5)), mp_gelu),
}


def check_mp(name, x, y, ref, rtol=1e-13):
    """torch's float64 value must agree with mpmath's; non-finite results must agree exactly."""
    for xi, yi in zip(x.tolist(), y.tolist()):
        if math.isnan(xi):
            assert math.isnan(yi) or name.startswith("sign"), f"{name}: nan in, {yi!r} out"
            continue
        try:
            r = ref(mp.mpf(xi))
        except ZeroDivisionError:  # 1/0: the IEEE result (torch's) is the definition
            continue
        r = float("nan") if isinstance(r, mp.mpc) else float(r)
        if not math.isfinite(r) or not math.isfinite(yi):
            assert r == yi or (math.isnan(r) and math.isnan(yi)), f"{name}: torch {yi!r} vs mpmath {r!r} at x={xi!r}"
            continue
        if r == 0 and yi == 0:
            continue
        assert abs(yi - r) <= rtol * abs(r) + 1e-300, f"{name}: torch {yi!r} vs mpmath {r!r} at x={xi!r}"


def unary(name, x, f32_ok=True, tag="", alpha=0.0, beta=0.0, fn=None, mpfn=None):
    opname, tfn, mfn = UNARY[name] if name in UNARY else (None, None, None)
    opname = opname or fn[0]
    y = (fn[1] if fn else tfn)(x)
    ref = mpfn or mfn
    if ref is not None:
        check_mp(name + tag, x, y, ref)
    add(f"unary/{name}{tag}", "unary:" + opname, [x], y, {"alpha": alpha, "beta": beta}, "elementwise", f32_ok)


def elu_ref(x, alpha):
    # alpha * expm1(x) below 0: torch 1.13's F.elu uses exp(x) - 1, which is off by ~1e-8
    # relative at x = -1e-10 (mpmath check); the definition is the same.
    y = torch.where(x > 0, x, alpha * torch.expm1(x))
    assert torch.allclose(y, F.elu(x, alpha), rtol=1e-6, atol=1e-15, equal_nan=True)
    return y


gen = randn(40, scale=3.0)
tiny = [1e-10, -1e-10, 1e-20, -1e-20, 1e-5, -1e-5, 3e-8, -3e-8]
for n in ["neg", "abs", "square", "relu", "sign", "tanh", "sin", "cos", "erf", "gelu"]:
    unary(n, cat(gen, [0.0]))
unary("exp", cat(uniform(30, -80, 80), [0, 1e-10, -87, 88]))
unary("exp", cat([-700, -300, 300, 700]), f32_ok=False, tag="/f64range")
for n in ["log", "sqrt", "rsqrt", "reciprocal"]:
    unary(n, cat(positive(30, -20, 20), [1, 2, 1e-30, 1e30]))
unary("reciprocal", cat(randn(20, scale=2.0)), tag="/signed")
unary("sigmoid", cat(randn(30, scale=5.0), [0, 20, -20, 30, -30, 50, -50, 80, -80]))
unary("sigmoid", cat([100, -100, 500, -500, 700, -700]), f32_ok=False, tag="/f64range")
unary("softplus", cat(randn(30, scale=5.0), [0, 15, -15, 20, -20, 21, 30, -30, 50, -50, 80, -80, 1e4, 3e38]))
unary("softplus", cat([100, -100, 500, -500, 700, -700]), f32_ok=False, tag="/f64range")
unary("tanh", cat(tiny, [15, -15, 20, -20, 40, -40, 1e4]), tag="/edges")
unary("sin", cat(uniform(20, -10, 10), tiny), tag="/wide")
unary("cos", cat(uniform(20, -10, 10)), tag="/wide")
unary("log1p", cat(uniform(30, -0.99, 10), tiny, [-0.5, 1e10, 1e30, 1e37]))
unary("log1p", cat([1e-300, -1e-300, 1e300]), f32_ok=False, tag="/f64range")
unary("expm1", cat(uniform(30, -10, 10), tiny, [-30, -88, 50, 80, 88]))
unary("expm1", cat([1e-300, 200, 700, 709]), f32_ok=False, tag="/f64range")
unary("erf", cat(tiny, [3, -3, 4, -4, 5, -5, 5.9, 6, -6, 6.5, 7, -7, 30]), tag="/edges")
unary("gelu", cat(uniform(20, -6, -2), [-7, -8, 5, 8, 30]), tag="/tails")
unary("gelu", cat([-10, -20, -30]), f32_ok=False, tag="/f64range")
for slope in (0.01, 0.2):
    unary("leaky_relu", cat(gen, [0.0]), tag=f"/{slope}", alpha=slope,
          fn=("LeakyRelu", lambda x: F.leaky_relu(x, slope)), mpfn=lambda x: x if x > 0 else slope * x)
for a in (1.0, 0.5):
    unary("elu", cat(gen, [0.0, -1e-10, -40, -80]), tag=f"/{a}", alpha=a,
          fn=("Elu", lambda x: elu_ref(x, a)), mpfn=mp_elu(a))
for lo, hi in ((-1.0, 0.5), (0.25, 0.25), (-2.0, 10.0)):
    unary("clamp", cat(randn(30, scale=2.0), [lo, hi]), tag=f"/{lo}_{hi}", alpha=lo, beta=hi,
          fn=("Clamp", lambda x: torch.clamp(x, lo, hi)), mpfn=mp_clamp(lo, hi))
for e, signed in ((2.0, True), (3.0, True), (-1.0, True), (0.0, True), (1.0, True),
                  (0.5, False), (-1.5, False), (2.5, False), (1.0 / 3, False)):
    x = randn(30, scale=2.0) if signed else cat(positive(30, -5, 5))
    if e == 0.0:
        x = cat(x, [0.0])
    unary("pow_scalar", x, tag=f"/{e:.6g}", alpha=e,
          fn=("PowScalar", lambda t: torch.pow(t, e)), mpfn=lambda v: v ** mp.mpf(e))

# inf / nan: what each op does at the ends of the line (torch semantics, NaN propagates).
inf, nan = float("inf"), float("nan")
special = {
    "exp": [inf, -inf, nan], "log": [0.0, -1.0, inf, nan], "sqrt": [-1.0, inf, 0.0, nan],
    "rsqrt": [0.0, inf, -1.0], "reciprocal": [0.0, inf, -inf], "sigmoid": [inf, -inf, nan],
    "tanh": [inf, -inf, nan], "softplus": [inf, -inf, nan], "relu": [inf, -inf, nan],
    "abs": [inf, -inf, nan], "neg": [inf, nan], "square": [inf, -inf, nan],
    "log1p": [-1.0, -2.0, inf, nan], "expm1": [inf, -inf, nan], "erf": [inf, -inf, nan],
    "gelu": [inf, nan], "sin": [nan], "cos": [nan],
}
for n, vals in special.items():
    unary(n, cat(vals), tag="/nonfinite")
unary("elu", cat([inf, -inf, nan]), tag="/nonfinite", alpha=1.0, fn=("Elu", lambda x: elu_ref(x, 1.0)))
unary("leaky_relu", cat([inf, -inf, nan]), tag="/nonfinite", alpha=0.1, fn=("LeakyRelu", lambda x: F.leaky_relu(x, 0.1)))
unary("clamp", cat([inf, -inf, nan]), tag="/nonfinite", alpha=-1.0, beta=1.0, fn=("Clamp", lambda x: torch.clamp(x, -1, 1)))

# ----------------------------------------------------------------------------- binary
BINARY = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div,
          "Maximum": torch.maximum, "Minimum": torch.minimum, "Pow": torch.pow}
COMPARE = {"Eq": torch.eq, "Ne": torch.ne, "Lt": torch.lt, "Le": torch.le, "Gt": torch.gt, "Ge": torch.ge}
shape_pairs = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((), (2, 3)),
               ((4, 1, 3), (1, 5, 1))]
for i, (sa, sb) in enumerate(shape_pairs):
    a, b = randn(*sa), randn(*sb)
    for op, fn in BINARY.items():
        if op == "Pow":
            a2, b2 = f32(a.abs() + 0.1), b
        elif op == "Div":
            a2, b2 = a, f32(b.sign() * (b.abs() + 0.25) + (b == 0))
        else:
            a2, b2 = a, b
        add(f"binary/{op}/{i}", "binary:" + op, [a2, b2], fn(a2, b2))
# strided (transposed) operands
a, b = randn(4, 3), randn(3, 4)
for op in ("Add", "Mul", "Sub"):
    sa, va = view(a.t(), [1, 0])  # op sees a (3, 4) transposed view
    add(f"binary/{op}/strided", "binary:" + op, [sa, b], BINARY[op](va, b), permutes=[[1, 0], None])
# binary edge values
a = cat([inf, -inf, nan, 1.0, 0.0, -0.0, 2.0, nan])
b = cat([1.0, inf, 1.0, nan, 0.0, 0.0, -inf, nan])
for op in ("Maximum", "Minimum", "Add", "Mul", "Div"):
    add(f"binary/{op}/nonfinite", "binary:" + op, [a, b], BINARY[op](a, b))
# comparisons on integer-valued data so that equality actually happens
for i, (sa, sb) in enumerate([((4, 5), (4, 5)), ((3, 1, 4), (2, 1)), ((2, 3), ())]):
    a = f32(torch.randint(-2, 3, sa, dtype=torch.int64).double())
    b = f32(torch.randint(-2, 3, sb, dtype=torch.int64).double())
    for op, fn in COMPARE.items():
        add(f"compare/{op}/{i}", "binary:" + op, [a, b], fn(a, b).double(), tol="exact")
a = cat([nan, 1.0, inf, -inf])
b = cat([nan, nan, inf, 0.0])
for op, fn in COMPARE.items():
    add(f"compare/{op}/nonfinite", "binary:" + op, [a, b], fn(a, b).double(), tol="exact")
# scalar forms
x = randn(3, 4)
for op, s, first in (("Add", 2.5, False), ("Sub", 1.5, False), ("Sub", 1.5, True), ("Mul", -3.0, False),
                     ("Div", 4.0, False), ("Div", 2.0, True), ("Maximum", 0.25, False), ("Minimum", -0.5, False),
                     ("Gt", 0.0, False), ("Le", 0.5, False)):
    fn = {**BINARY, **COMPARE}[op]
    xs = f32(x.sign() * (x.abs() + 0.25)) if (op == "Div" and first) else x
    st = torch.tensor(s, dtype=D)
    y = (fn(st, xs) if first else fn(xs, st)).double()
    add(f"binary_scalar/{op}/{'sx' if first else 'xs'}", "binary_scalar:" + op, [xs], y,
        {"scalar": s, "scalar_first": first}, tol="exact" if op in COMPARE else "elementwise")
# where with three-way broadcasting
for i, (sc, sa, sb) in enumerate([((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (3, 4)), ((2, 1, 4), (3, 1), ())]):
    c = f32((torch.rand(*sc) > 0.5).double())
    a, b = randn(*sa), randn(*sb)
    add(f"where/{i}", "where", [c, a, b], torch.where(c != 0, a, b), tol="exact")

# ----------------------------------------------------------------------------- reductions
x3 = randn(3, 4, 5, scale=2.0)
x4 = randn(2, 3, 2, 4)
axis_sets = {"x3": [None, [0], [1], [-1], [0, 2], [1, 2], [0, 1, 2], [2, 0]],
             "x4": [None, [1], [0, 3], [1, 2], [-1, -3]]}


def axes_arg(axes, rank):
    return tuple(range(rank)) if axes is None else tuple(axes)


def red_ref(op, x, axes, keep):
    dim = axes_arg(axes, x.dim())
    if op == "Sum":
        return x.sum(dim=dim, keepdim=keep)
    if op == "Mean":
        return x.mean(dim=dim, keepdim=keep)
    if op == "Max":
        return torch.amax(x, dim=dim, keepdim=keep)
    if op == "Min":
        return torch.amin(x, dim=dim, keepdim=keep)
    if op == "LogSumExp":
        return torch.logsumexp(x, dim=dim, keepdim=keep)
    if op == "Var0":
        return torch.var(x, dim=dim, unbiased=False, keepdim=keep)
    if op == "Var1":
        return torch.var(x, dim=dim, unbiased=True, keepdim=keep)
    raise ValueError(op)


def axes_tag(axes):
    return "all" if axes is None else "_".join(str(a) for a in axes)


def reduce_case(name, op, x, axes, correction=1, seen=None, permute=None):
    """One case per (op, axes): the output is stored in keepdim form; the test runs keepDim both
    ways and checks the shapes against torch's (drop_shape) and the values against this data."""
    seen = x if seen is None else seen
    keep, drop = red_ref(op, seen, axes, True), red_ref(op, seen, axes, False)
    assert torch.equal(keep.reshape(drop.shape), drop) or torch.allclose(keep.reshape(drop.shape), drop, equal_nan=True)
    eop = "Var" if op.startswith("Var") else op
    add(name, "reduce:" + eop, [x], keep, {"axes": axes, "correction": correction, "drop_shape": list(drop.shape)},
        tol="accumulate", permutes=[permute])


for xname, x in (("x3", x3), ("x4", x4)):
    for axes in axis_sets[xname]:
        for op in ("Sum", "Mean", "Max", "Min", "LogSumExp", "Var0", "Var1"):
            reduce_case(f"reduce/{op}/{xname}/{axes_tag(axes)}", op, x, axes, int(op[-1]) if op.startswith("Var") else 1)
# strided input, large values (logsumexp stability), and a mean-offset variance
xs, xv = view(randn(4, 3, 5), [2, 0, 1])
for op in ("Sum", "Max", "LogSumExp", "Var1"):
    for axes in ([0], [1, 2], None):
        reduce_case(f"reduce/{op}/strided/{axes_tag(axes)}", op, xs, axes, seen=xv, permute=[2, 0, 1])
big = f32(randn(3, 6) * 30 + 900)
reduce_case("reduce/LogSumExp/large", "LogSumExp", big, [1])
reduce_case("reduce/LogSumExp/large_neg", "LogSumExp", f32(-big), [1])
off = f32(randn(2, 8) + 1000)
for c in (0, 1):
    reduce_case(f"reduce/Var{c}/offset", f"Var{c}", off, [1], c)
nf = cat([1.0, nan, 3.0, -inf, 2.0, 0.5, inf, 1.0]).reshape(2, 4)
for op in ("Sum", "Max", "Min"):
    reduce_case(f"reduce/{op}/nonfinite", op, nf, [1])
reduce_case("reduce/LogSumExp/neginf", "LogSumExp", cat([-inf, -inf, -inf, 1.0, -inf, 2.0]).reshape(2, 3), [1])

# argmax / argmin: distinct values (no ties) and integer data with ties (first index)
xa = randn(3, 4, 5)
assert len(set(xa.reshape(-1).tolist())) == xa.numel()
xt = f32(torch.randint(0, 3, (4, 6)).double())
for xname, x in (("x", xa), ("ties", xt)):
    for dim in [None] + list(range(x.dim())) + [-1]:
        for op, fn in (("ArgMax", torch.argmax), ("ArgMin", torch.argmin)):
            keep, drop = fn(x, dim=dim, keepdim=True), fn(x, dim=dim, keepdim=False)
            assert torch.equal(keep.reshape(-1), drop.reshape(-1))
            if xname == "ties":  # torch on CPU returns the first index; confirm by brute force
                flat = x.reshape(-1) if dim is None else x.movedim(dim, -1)
                best = flat.max(-1, keepdim=True).values if op == "ArgMax" else flat.min(-1, keepdim=True).values
                first = (flat == best).double().argmax(-1)
                assert torch.equal(first.reshape(-1), drop.reshape(-1)), (op, dim)
            add(f"arg/{op}/{xname}/{'flat' if dim is None else dim}", "reduce:" + op, [x], keep.to(torch.int64),
                {"dim": dim, "drop_shape": list(drop.shape)}, tol="exact")

# ----------------------------------------------------------------------------- matmul
mm_cases = [
    ("2d", (3, 4), (4, 5)),
    ("batched", (2, 3, 4), (2, 4, 5)),
    ("bcast_b", (2, 3, 4), (4, 5)),
    ("bcast_a", (3, 4), (2, 4, 5)),
    ("bcast_both", (2, 1, 3, 4), (5, 4, 2)),
    ("bcast_4d", (1, 3, 2, 4), (2, 1, 4, 3)),
    ("vec_rows", (1, 4), (4, 1)),
    ("outer", (3, 1), (1, 4)),
    ("k1_batched", (2, 3, 1), (1, 1, 2)),
]
for name, sa, sb in mm_cases:
    for ta in (False, True):
        for tb in (False, True):
            a, b = randn(*sa), randn(*sb)
            # stored operands are the transposes when a flag is set
            a_st = a.transpose(-2, -1).contiguous() if ta else a
            b_st = b.transpose(-2, -1).contiguous() if tb else b
            add(f"matmul/{name}/{'T' if ta else 'N'}{'T' if tb else 'N'}", "matmul", [a_st, b_st],
                torch.matmul(a, b), {"transA": ta, "transB": tb}, tol="accumulate")
# non-contiguous operands: permuted batch axes, and a transposed view combined with a flag
a, b = randn(3, 2, 4), randn(2, 4, 5)  # op sees a.permute(1, 0, 2): (2, 3, 4)
sa_, va = view(a.permute(1, 0, 2), [1, 0, 2])
add("matmul/strided_batch", "matmul", [sa_, b], torch.matmul(va, b), {"transA": False, "transB": False},
    tol="accumulate", permutes=[[1, 0, 2], None])
a, b = randn(2, 3, 4), randn(2, 4, 5)
sb_, vb = view(b.transpose(-2, -1), [0, 2, 1])  # op sees (2, 5, 4) non-contiguous; then transB
add("matmul/strided_transB", "matmul", [a, sb_], torch.matmul(a, vb.transpose(-2, -1)),
    {"transA": False, "transB": True}, tol="accumulate", permutes=[None, [0, 2, 1]])
a, b = randn(6, 7), randn(7, 9, scale=3.0)
add("matmul/larger", "matmul", [a, b], a @ b, {"transA": False, "transB": False}, tol="accumulate")

# ----------------------------------------------------------------------------- convolutions
conv_cases = [
    # name, x shape, cout, (kh, kw), stride, padding, dilation, groups, bias
    ("basic", (2, 3, 6, 5), 4, (3, 3), (1, 1), (0, 0), (1, 1), 1, False),
    ("bias_pad", (1, 3, 5, 5), 2, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    ("stride2", (2, 2, 7, 6), 3, (3, 2), (2, 2), (1, 0), (1, 1), 1, True),
    ("stride_hw", (1, 2, 8, 7), 2, (2, 3), (3, 1), (0, 2), (1, 1), 1, False),
    ("dilation", (1, 2, 9, 8), 3, (3, 3), (1, 1), (2, 1), (2, 3), 1, True),
    ("groups2", (2, 4, 6, 6), 6, (3, 3), (1, 1), (1, 1), (1, 1), 2, True),
    ("depthwise", (1, 3, 5, 6), 3, (3, 3), (2, 1), (1, 1), (1, 1), 3, False),
    ("depthwise_mult", (1, 2, 5, 5), 4, (2, 2), (1, 1), (0, 0), (1, 1), 2, True),
    ("1x1", (2, 5, 3, 4), 3, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),
    ("all", (2, 4, 9, 8), 6, (3, 2), (2, 3), (2, 1), (2, 2), 2, True),
    ("kernel_eq_input", (1, 2, 3, 3), 2, (3, 3), (1, 1), (0, 0), (1, 1), 1, True),
]
for name, xs_, cout, k, s, p, d, g, has_b in conv_cases:
    x = randn(*xs_)
    w = randn(cout, xs_[1] // g, *k, scale=0.5)
    b = randn(cout) if has_b else None
    y = F.conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=g)
    add(f"conv2d/{name}", "conv2d", [x, w] + ([b] if has_b else []), y,
        {"stride": list(s), "padding": list(p), "dilation": list(d), "groups": g}, tol="accumulate")

convt_cases = [
    # name, x shape, cout, (kh, kw), stride, padding, output_padding, dilation, groups, bias
    ("basic", (2, 3, 4, 3), 2, (3, 3), (1, 1), (0, 0), (0, 0), (1, 1), 1, False),
    ("stride2", (1, 2, 3, 4), 3, (3, 3), (2, 2), (1, 1), (0, 0), (1, 1), 1, True),
    ("outpad", (1, 2, 3, 3), 2, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1, True),
    ("outpad_hw", (2, 2, 3, 4), 2, (2, 3), (3, 2), (0, 1), (2, 1), (1, 1), 1, False),
    ("groups", (1, 4, 3, 3), 6, (3, 3), (2, 1), (1, 0), (1, 0), (1, 1), 2, True),
    ("dilation", (1, 2, 4, 3), 3, (3, 2), (1, 2), (2, 0), (0, 1), (2, 3), 1, True),
    ("depthwise", (1, 3, 4, 4), 3, (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 3, False),
    ("all", (2, 4, 3, 4), 4, (3, 3), (2, 3), (1, 2), (1, 2), (2, 1), 2, True),
]
for name, xs_, cout, k, s, p, op_, d, g, has_b in convt_cases:
    x = randn(*xs_)
    w = randn(xs_[1], cout // g, *k, scale=0.5)
    b = randn(cout) if has_b else None
    y = F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=op_, groups=g, dilation=d)
    add(f"conv_transpose2d/{name}", "conv_transpose2d", [x, w] + ([b] if has_b else []), y,
        {"stride": list(s), "padding": list(p), "dilation": list(d), "groups": g, "output_padding": list(op_)},
        tol="accumulate")

# ----------------------------------------------------------------------------- shape ops
for i, (shape, r) in enumerate([((2, 8, 3, 2), 2), ((1, 18, 2, 3), 3), ((1, 3, 2, 2), 1)]):
    x = randn(*shape)
    add(f"pixel_shuffle/{i}", "pixel_shuffle", [x], F.pixel_shuffle(x, r), {"r": r}, tol="exact")
for i, (shape, r) in enumerate([((2, 2, 6, 4), 2), ((1, 1, 6, 9), 3)]):
    x = randn(*shape)
    add(f"pixel_unshuffle/{i}", "pixel_unshuffle", [x], F.pixel_unshuffle(x, r), {"r": r}, tol="exact")
xs_, xv = view(randn(2, 4, 4, 2), [0, 3, 1, 2])  # op sees (2, 2, 4, 4) non-contiguous
add("pixel_unshuffle/strided", "pixel_unshuffle", [xs_], F.pixel_unshuffle(xv, 2), {"r": 2}, tol="exact",
    permutes=[[0, 3, 1, 2]])

for i, (shapes, dim) in enumerate([([(2, 3), (4, 3)], 0), ([(2, 1, 4), (2, 3, 4), (2, 2, 4)], 1),
                                   ([(3, 2), (3, 5)], -1), ([(2, 0), (2, 3)], 1)]):
    xs = [randn(*s) for s in shapes]
    add(f"concat/{i}", "concat", xs, torch.cat(xs, dim), {"dim": dim}, tol="exact")
xa_ = randn(2, 3)
sa_, va = view(xa_.t(), [1, 0])  # op sees (3, 2) non-contiguous
xb_ = randn(3, 4)
add("concat/strided", "concat", [sa_, xb_], torch.cat([va, xb_], 1), {"dim": 1}, tol="exact", permutes=[[1, 0], None])
for i, (shape, n, dim) in enumerate([((2, 3), 3, 0), ((2, 3), 2, 1), ((2, 3), 3, 2), ((4,), 2, -1), ((2, 3, 2), 2, -2)]):
    xs = [randn(*shape) for _ in range(n)]
    add(f"stack/{i}", "stack", xs, torch.stack(xs, dim), {"dim": dim}, tol="exact")
x = randn(5, 4)
for i, (arg, dim) in enumerate([([2, 3], 0), ([1, 0, 3], 1), (2, 0), (3, 1), (5, 0), (1, -1)]):
    ys = torch.split(x, arg, dim)
    add(f"split/{i}", "split", [x], list(ys), {"sizes" if isinstance(arg, list) else "size": arg, "dim": dim}, tol="exact")
for i, (n, chunks) in enumerate([(5, 3), (6, 4), (10, 4), (3, 5), (6, 3), (1, 1), (7, 2)]):
    x = randn(2, n)
    ys = torch.chunk(x, chunks, 1)
    add(f"chunk/{i}/{n}in{chunks}", "chunk", [x], list(ys), {"chunks": chunks, "dim": 1}, tol="exact")
x = randn(5, 2)
add("chunk/dim0/5in3", "chunk", [x], list(torch.chunk(x, 3, 0)), {"chunks": 3, "dim": 0}, tol="exact")
assert [t.shape[1] for t in torch.chunk(randn(2, 5), 3, 1)] == [2, 2, 1]

doc = {"torch_version": torch.__version__, "generator": "tests/Engine.Tests/Golden/gen_ops.py",
       "seed": SEED, "tensors": tensors, "cases": cases}
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"), allow_nan=False)
    f.write("\n")
print(f"{len(cases)} cases, {os.path.getsize(OUT)} bytes -> {OUT} (torch {torch.__version__})")
