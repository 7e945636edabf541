#!/usr/bin/env python3
"""Independent safetensors reader/writer for the engine's checkpoint tests, written from the
format description (8-byte little-endian u64 N, N bytes of UTF-8 JSON, the data buffer; see
https://github.com/huggingface/safetensors README and safetensors/src/tensor.rs), with numpy only.
It does not use the safetensors package (not installed on the test machines); the *-package
commands do, where it is installed, to check our files against the real thing.

Commands (exit status 0 = PASS, 1 = FAIL, 3 = SKIP: a needed package is missing):
  gen DIR                         write the golden files and golden.json (expected values) into DIR
  verify FILE EXPECTED.json [--canonical]
                                  read FILE with this reader (every check of the format), compare
                                  it with EXPECTED.json; --canonical: also re-serialize with the
                                  reference writer's rules and require byte-identical output
  verify-package FILE EXPECTED.json
                                  the same comparison through safetensors.torch.load_file
  write-package OUT.safetensors OUT.json
                                  write tensors with safetensors.torch.save_file and their values
  validate FILE                   VALID (exit 0) or INVALID: reason (exit 1), by this reader
  check-package                   exit 0 if safetensors and torch import, else 3 with the reason

EXPECTED.json: {"metadata": {k: v}, "tensors": {name: {"dtype", "shape", "values"[, "hex"]}}};
values are row-major numbers (floats exactly: F16/BF16 as the float they denote), or strings
Python's float() reads ("nan", "inf", "-inf", "-0.0": what JSON numbers cannot carry exactly); "hex" (when present) is the tensor's raw little-endian bytes.

Versions used for the committed goldens: python 3.11.2, numpy 1.24.2.
"""
import json
import math
import struct
import sys

import numpy as np

MAX_HEADER = 100_000_000
# The reference's Dtype enum order (increasing alignment); the writer sorts by it, descending.
DTYPE_ORDER = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
               "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"]
BITS = {"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
        "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32,
        "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64}
# numpy views of the raw bytes (BF16 is kept as its uint16 bit pattern)
NP = {"BOOL": "<u1", "U8": "<u1", "I8": "<i1", "I16": "<i2", "U16": "<u2", "F16": "<f2",
      "BF16": "<u2", "I32": "<i4", "U32": "<u4", "F32": "<f4", "F64": "<f8", "I64": "<i8",
      "U64": "<u8"}


class FormatError(Exception):
    pass


# ---------------------------------------------------------------- reading

def read(path):
    """Returns (metadata, {name: (dtype, shape, raw bytes, (begin, end))}, header length)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise FormatError("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > MAX_HEADER:
        raise FormatError(f"header length {n} too large")
    if 8 + n > len(blob):
        raise FormatError(f"header length {n} past the end of the file")
    text = blob[8:8 + n].decode("utf-8")  # raises on invalid UTF-8

    def no_dupes(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise FormatError(f"duplicate keys in {keys}")
        return dict(pairs)

    header = json.loads(text, object_pairs_hook=no_dupes)
    if not isinstance(header, dict):
        raise FormatError("header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise FormatError("__metadata__ is not an object of strings")
    data = blob[8 + n:]
    entries = []
    for name, info in header.items():
        dtype, shape, offs = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in BITS:
            raise FormatError(f"{name}: unknown dtype {dtype}")
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise FormatError(f"{name}: bad shape {shape}")
        if len(offs) != 2 or not all(isinstance(o, int) and o >= 0 for o in offs):
            raise FormatError(f"{name}: bad data_offsets {offs}")
        nbits = math.prod(shape) * BITS[dtype]
        if nbits % 8 != 0 or offs[1] - offs[0] != nbits // 8:
            raise FormatError(f"{name}: data_offsets {offs} disagree with {dtype} {shape}")
        entries.append((offs[0], offs[1], name, dtype, shape))
    entries.sort()
    at = 0
    for begin, end, name, _, _ in entries:
        if begin != at:
            raise FormatError(f"{name}: begins at {begin}, previous tensor ended at {at} (gap or overlap)")
        at = end
    if at != len(data):
        raise FormatError(f"tensors cover {at} of {len(data)} data bytes")
    tensors = {name: (dtype, shape, data[b:e], (b, e)) for b, e, name, dtype, shape in entries}
    return metadata, tensors, n


def decode(dtype, shape, raw):
    """Raw bytes -> list of Python numbers (floats exact), row-major."""
    a = np.frombuffer(raw, dtype=NP[dtype])
    if dtype == "BF16":
        a = (a.astype(np.uint32) << 16).view(np.float32)
    if dtype in ("F16", "BF16", "F32", "F64"):
        return [float(x) for x in a.astype(np.float64)]
    return [int(x) for x in a]


# ---------------------------------------------------------------- writing

def serialize(tensors, metadata):
    """The reference writer's bytes: tensors sorted by descending dtype order then by name (UTF-8
    bytes), packed; compact JSON with __metadata__ first (keys sorted here), then each tensor's
    dtype/shape/data_offsets; padded with spaces to a multiple of 8. tensors: {name: (dtype,
    shape, raw bytes)}."""
    names = sorted(tensors, key=lambda k: (-DTYPE_ORDER.index(tensors[k][0]), k.encode("utf-8")))
    header, at = {}, 0
    if metadata:
        header["__metadata__"] = {k: metadata[k] for k in sorted(metadata, key=lambda k: k.encode("utf-8"))}
    for k in names:
        dtype, shape, raw = tensors[k]
        header[k] = {"dtype": dtype, "shape": list(shape), "data_offsets": [at, at + len(raw)]}
        at += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(tensors[k][2] for k in names)


def encode(dtype, values):
    if dtype == "BF16":
        f = np.array(values, dtype=np.float32).view(np.uint32)
        assert not (f & 0xFFFF).any(), "BF16 golden values must be bfloat16-exact"
        return (f >> 16).astype("<u2").tobytes()
    if dtype == "BOOL":
        return np.array(values, dtype=np.bool_).tobytes()
    return np.array(values, dtype=NP[dtype]).tobytes()


# ---------------------------------------------------------------- expected values

def jnum(x):
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, float) and x == 0 and math.copysign(1, x) < 0:
        return "-0.0"  # json.dumps writes -0.0, but a reader may take "-0" as the integer 0
    return x


def pnum(x):
    return float(x) if isinstance(x, str) else x


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


def compare(label, metadata, tensors, expected):
    """tensors: {name: (dtype, shape, values)}. Returns a list of failure lines."""
    bad = []
    if metadata != expected.get("metadata", {}):
        bad.append(f"{label}: metadata {metadata} != expected {expected.get('metadata', {})}")
    exp = expected["tensors"]
    if sorted(tensors) != sorted(exp):
        bad.append(f"{label}: tensor names {sorted(tensors)} != expected {sorted(exp)}")
    for name in sorted(set(tensors) & set(exp)):
        dtype, shape, values = tensors[name]
        e = exp[name]
        if dtype != e["dtype"] or list(shape) != e["shape"]:
            bad.append(f"{label}: '{name}' is {dtype} {list(shape)}, expected {e['dtype']} {e['shape']}")
            continue
        ev = [pnum(v) for v in e["values"]]
        if len(ev) != len(values):
            bad.append(f"{label}: '{name}' has {len(values)} values, expected {len(ev)}")
            continue
        for i, (a, b) in enumerate(zip(values, ev)):
            if not same(a, b):
                bad.append(f"{label}: '{name}' element {i}: {a!r} != expected {b!r}")
                break
    return bad


def finish(bad, what):
    for line in bad:
        print(line)
    print(("PASS" if not bad else "FAIL") + f": {what}")
    return 0 if not bad else 1


# ---------------------------------------------------------------- commands

def golden_tensors():
    rng = np.random.default_rng(20261123)
    f16 = [0.0, -0.0, 1.0 / 3.0, 65504.0, 2.0 ** -24, -2.0 ** -14, float("inf"), float("nan")]
    bf16 = [1.0, -2.5, 1.5 * 2.0 ** 127, 2.0 ** -133, float("-inf"), 0.01171875]  # 2^-133: smallest bf16 subnormal
    t = {
        "f32.matrix": ("F32", [3, 4], [float(np.float32(x)) for x in rng.standard_normal(12)]),
        "f64.vector": ("F64", [5], [float(x) for x in rng.standard_normal(5)]),
        "i64.steps": ("I64", [4], [0, -7, 2147483647, -2147483648]),
        "u8.mask": ("U8", [2, 3], [0, 1, 127, 128, 254, 255]),
        "f16.half": ("F16", [2, 4], [float(np.float16(x)) for x in f16]),
        "bf16.weights": ("BF16", [2, 3], bf16),
        "i32.codes": ("I32", [3], [5, -1, 2147483647]),
        "i8.small": ("I8", [2], [-128, 127]),
        "bool.flags": ("BOOL", [3], [True, False, True]),
        "scalar.temperature": ("F32", [], [0.75]),
        "empty.bias": ("F32", [0], []),
        "empty.grid": ("F64", [2, 0, 3], []),
    }
    t["f32.matrix"][2][0] = -0.0
    return t


def write_golden(dir_, fname, tensors, metadata, data, expected_files, raw_bytes=None):
    blob = raw_bytes if raw_bytes is not None else serialize(data, metadata)
    with open(f"{dir_}/{fname}", "wb") as f:
        f.write(blob)
    # read back through the checking reader: the golden itself must be valid
    md, got, _ = read(f"{dir_}/{fname}")
    exp = {"metadata": metadata, "tensors": {}}
    for name, (dtype, shape, values) in tensors.items():
        vals = decode(dtype, shape, got[name][2])
        want = [float(v) if dtype in ("F16", "BF16", "F32", "F64") else int(v) for v in values]
        assert all(same(a, b) for a, b in zip(vals, want)) and len(vals) == len(want), name
        exp["tensors"][name] = {"dtype": dtype, "shape": shape, "values": [jnum(v) for v in vals],
                                "hex": got[name][2].hex(), "data_offsets": list(got[name][3])}
    expected_files[fname] = exp


def cmd_gen(dir_):
    files = {}
    t = golden_tensors()
    data = {k: (d, s, encode(d, v)) for k, (d, s, v) in t.items()}
    meta = {"format": "pt", "note": "golden \u00e9\u00fc \u2713", "step": "1200"}
    write_golden(dir_, "golden_mixed.safetensors", t, meta, data, files)

    # Valid but unlike our writer: no padding, entries in reverse name order, data packed in
    # name order with odd offsets (an F32 at byte 3), no metadata. Readers must accept it.
    u = {"a.bytes": ("U8", [3], [9, 8, 7]), "b.f32": ("F32", [2], [1.5, -2.25]),
         "c.i32": ("I32", [2, 1], [-3, 4]), "d.f64": ("F64", [1], [0.1])}
    header, at, blobs = {}, 0, []
    for k in sorted(u):
        raw = encode(u[k][0], u[k][2])
        header[k] = {"data_offsets": [at, at + len(raw)], "shape": u[k][1], "dtype": u[k][0]}
        at += len(raw)
        blobs.append(raw)
    text = json.dumps({k: header[k] for k in sorted(header, reverse=True)}).encode()
    raw = struct.pack("<Q", len(text)) + text + b"".join(blobs)
    write_golden(dir_, "golden_unordered.safetensors", u, {}, None, files, raw_bytes=raw)

    out = {"generator": "safetensors_ref.py gen (numpy %s, python %s)" % (np.__version__, sys.version.split()[0]),
           "files": files}
    with open(f"{dir_}/golden.json", "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {', '.join(files)} and golden.json to {dir_}")
    return 0


def cmd_verify(path, expected_path, canonical):
    with open(expected_path) as f:
        expected = json.load(f)
    try:
        metadata, raw, n = read(path)
    except (FormatError, ValueError, KeyError, TypeError) as e:
        return finish([f"{path}: invalid safetensors file: {e}"], f"reference reader on {path}")
    got = {k: (d, s, decode(d, s, b)) for k, (d, s, b, _) in raw.items()}
    bad = compare(path, metadata, got, expected)
    if (8 + n) % 8 != 0:
        bad.append(f"{path}: data starts at byte {8 + n}, not 8-byte aligned")
    if canonical:
        with open(path, "rb") as f:
            blob = f.read()
        ref = serialize({k: (d, s, b) for k, (d, s, b, _) in raw.items()}, metadata)
        if ref != blob:
            i = next((i for i in range(min(len(ref), len(blob))) if ref[i] != blob[i]), min(len(ref), len(blob)))
            bad.append(f"{path}: differs from the reference writer's bytes at byte {i} "
                       f"(ours {blob[max(0, i - 20):i + 40]!r} vs reference {ref[max(0, i - 20):i + 40]!r})")
    return finish(bad, f"reference reader on {path}" + (" (canonical bytes)" if canonical else ""))


def import_package():
    try:
        import torch  # noqa: F401
        import safetensors.torch  # noqa: F401
        return None
    except Exception as e:  # ImportError, or a broken install
        return f"{type(e).__name__}: {e}"


TORCH_NAMES = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16", "int64": "I64",
               "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}


def cmd_verify_package(path, expected_path):
    why = import_package()
    if why:
        print(f"SKIP: safetensors/torch not importable ({why})")
        return 3
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file
    with open(expected_path) as f:
        expected = json.load(f)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    loaded = load_file(path, device=device)
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata() or {}
    got = {}
    for k, t in loaded.items():
        dt = TORCH_NAMES[str(t.dtype).replace("torch.", "")]
        flat = t.detach().cpu().reshape(-1)
        vals = [float(x) for x in flat.double().tolist()] if t.dtype.is_floating_point else [int(x) for x in flat.tolist()]
        got[k] = (dt, list(t.shape), vals)
    return finish(compare(path, metadata, got, expected),
                  f"safetensors.torch.load_file (safetensors {__import__('safetensors').__version__}, torch {torch.__version__}, {device}) on {path}")


def cmd_write_package(out, expected_path):
    why = import_package()
    if why:
        print(f"SKIP: safetensors/torch not importable ({why})")
        return 3
    import torch
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(7)
    tensors = {
        "conv.weight": torch.randn(4, 3, 3, 3, generator=g),
        "head.bias": torch.randn(5, generator=g).double(),
        "bn.num_batches_tracked": torch.tensor(1234, dtype=torch.int64),
        "codes": torch.randint(-1000, 1000, (2, 3), generator=g, dtype=torch.int32),
        "half": torch.randn(6, generator=g).half(),
        "bhalf": torch.randn(2, 2, generator=g).bfloat16(),
        "mask": torch.tensor([[1, 0], [0, 1]], dtype=torch.uint8),
        "flags": torch.tensor([True, False]),
        "empty": torch.zeros(0, 4),
    }
    metadata = {"format": "pt", "writer": "safetensors.torch.save_file"}
    save_file(tensors, out, metadata=metadata)
    exp = {"metadata": metadata, "tensors": {}}
    for k, t in tensors.items():
        flat = t.reshape(-1)
        vals = [jnum(float(x)) for x in flat.double().tolist()] if t.dtype.is_floating_point else [int(x) for x in flat.tolist()]
        exp["tensors"][k] = {"dtype": TORCH_NAMES[str(t.dtype).replace("torch.", "")], "shape": list(t.shape), "values": vals}
    with open(expected_path, "w") as f:
        json.dump(exp, f, indent=1)
    print(f"PASS: wrote {out} with safetensors {__import__('safetensors').__version__}, torch {torch.__version__}")
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "gen":
        return cmd_gen(argv[1])
    if len(argv) >= 3 and argv[0] == "verify":
        return cmd_verify(argv[1], argv[2], "--canonical" in argv[3:])
    if len(argv) == 3 and argv[0] == "verify-package":
        return cmd_verify_package(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "write-package":
        return cmd_write_package(argv[1], argv[2])
    if len(argv) == 2 and argv[0] == "validate":
        try:
            read(argv[1])
        except (FormatError, ValueError, KeyError, TypeError) as e:  # UnicodeDecodeError, JSONDecodeError are ValueErrors
            print(f"INVALID: {type(e).__name__}: {e}")
            return 1
        print("VALID")
        return 0
    if argv[:1] == ["check-package"]:
        why = import_package()
        print(f"SKIP: safetensors/torch not importable ({why})" if why else "PASS: safetensors and torch import")
        return 3 if why else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
