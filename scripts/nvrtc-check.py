#!/usr/bin/env python3
"""Compiles kernels-cu files with NVRTC (no GPU needed), the way Engine.Cuda.KernelLibrary does:
common.cuh is prepended to each .cu file and its `#include "x.cuh"` lines are replaced by the headers. Usage: scripts/nvrtc-check.py [file.cu ...] [--arch sm_80]
Prints NVRTC's log for every file that fails; exit status 1 if any failed."""
import ctypes, ctypes.util, glob, os, re, sys

INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([\w.\-]+\.cuh)"[ \t]*$', re.M)

def inline_includes(root, name, text):
    """KernelLibrary.InlineIncludes: each included kernels-cu header once, #line kept right."""
    seen = set()
    def sub(m):
        line = text.count("\n", 0, m.start()) + 1
        resume = '#line %d "%s"' % (line + 1, name)
        h = m.group(1)
        if h == "common.cuh" or h in seen:
            return "\n" + resume
        seen.add(h)
        body = open(os.path.join(root, h)).read().replace("#pragma once", "")
        return '#line 1 "%s"\n%s\n%s' % (h, body, resume)
    return INCLUDE.sub(sub, text)

def load():
    for name in ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"]:
        try:
            return ctypes.CDLL(name)
        except OSError:
            pass
    sys.exit("nvrtc-check: no libnvrtc found (apt-get install libnvrtc11.2 from Debian non-free)")

def main():
    args = sys.argv[1:]
    archs = []
    while "--arch" in args:
        i = args.index("--arch"); archs.append(args[i + 1]); del args[i:i + 2]
    archs = archs or ["compute_75", "sm_80", "sm_90"]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "Kernels", "kernels-cu")
    files = args or sorted(glob.glob(os.path.join(root, "*.cu")))
    common = open(os.path.join(root, "common.cuh")).read().replace("#pragma once", "")
    nv = load()
    maj, mnr = ctypes.c_int(), ctypes.c_int()
    nv.nvrtcVersion(ctypes.byref(maj), ctypes.byref(mnr))
    print(f"NVRTC {maj.value}.{mnr.value}")
    bad = 0
    for f in files:
        name = os.path.basename(f)
        src = common + "\n#line 1 \"%s\"\n" % name + inline_includes(root, name, open(f).read())
        for arch in archs:
            prog = ctypes.c_void_p()
            nv.nvrtcCreateProgram(ctypes.byref(prog), src.encode(), os.path.basename(f).encode(), 0, None, None)
            opts = [f"--gpu-architecture={arch}".encode(), b"--std=c++17"]
            arr = (ctypes.c_char_p * len(opts))(*opts)
            rc = nv.nvrtcCompileProgram(prog, len(opts), arr)
            n = ctypes.c_size_t()
            nv.nvrtcGetProgramLogSize(prog, ctypes.byref(n))
            log = ctypes.create_string_buffer(n.value)
            nv.nvrtcGetProgramLog(prog, log)
            text = log.value.decode(errors="replace").strip()
            status = "ok" if rc == 0 else f"FAILED (nvrtc status {rc})"
            print(f"{os.path.basename(f)} [{arch}]: {status}")
            if text:
                print(text)
            bad += rc != 0
            nv.nvrtcDestroyProgram(ctypes.byref(prog))
    sys.exit(1 if bad else 0)

main()
