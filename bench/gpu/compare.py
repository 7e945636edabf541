#!/usr/bin/env python3
"""Merges interleaved rounds of `engine bench gpu --json` and torch_anchor.py --json files and
prints, per case, the median time of each side and the ratio torch_ms / ours_ms (> 1: we are
faster), plus the elementwise add bandwidth as a fraction of the copy bandwidth of the same run.
Usage: compare.py OUT_DIR  (reads OUT_DIR/engine-*.json and OUT_DIR/torch-*.json)"""
import glob, json, os, statistics, sys

d = sys.argv[1]
def load(pattern):
    runs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(d, pattern)))]
    by = {}
    for r in runs:
        for row in r["rows"]:
            by.setdefault(row["name"], []).append(row["ms"])
    return runs, {k: statistics.median(v) for k, v in by.items()}
er, eng = load("engine-*.json")
tr, tor = load("torch-*.json")
if not er or not tr:
    sys.exit("compare: need engine-*.json and torch-*.json in " + d)
print(f"engine rounds {len(er)}, torch rounds {len(tr)} ({tr[0]['tool']}, cuDNN {tr[0].get('cudnn')}, {tr[0]['device']})")
out = []
print(f"{'case':45s} {'ours ms':>9s} {'torch ms':>9s} {'torch/ours':>10s}")
for name in eng:
    if name in tor:
        ratio = tor[name] / eng[name]
        out.append({"case": name, "ours_ms": eng[name], "torch_ms": tor[name], "ratio": ratio})
        print(f"{name:45s} {eng[name]:9.3f} {tor[name]:9.3f} {ratio:10.2f}")
n = 1 << 28
copy = 2 * 4 * n / eng["copy (cuMemcpyDtoD) 2^28 f32"]
add = 3 * 4 * n / eng["add 2^28 f32"]
print(f"ours: add bandwidth / copy bandwidth = {add / copy:.2f}")
json.dump(out, open(os.path.join(d, "compare.json"), "w"), indent=1)
