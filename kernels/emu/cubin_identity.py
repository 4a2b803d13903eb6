#!/usr/bin/env python3
"""The emulation hooks do not change the GPU build: every kernel's machine code is the same with and without them.

The hooks in kernels/ are the two macros of kernels/launch.cuh (COMPRESS_LAUNCH, COMPRESS_DYNAMIC_SHARED) and the
`#ifdef COMPRESS_EMU` branches of the PTX wrappers in kernels/loss_device.cuh. This script writes a copy of
kernels/ with every hook replaced by the plain CUDA it stands for (launches as kernel<<<grid, block, smem,
stream>>>, `extern __shared__ type name[]`, only the #else branch of each #ifdef COMPRESS_EMU, no launch.cuh),
compiles both trees with `nvcc -cubin` for each architecture the library ships, and compares the code sections
(.text.*) of the cubins byte for byte, and their names. Line tables are not compared (-lineinfo is not used).
With --baseline REV the plain tree is kernels/ at git revision REV instead (e.g. the commit before the hooks).
Exit status 0: identical; 1: a difference (named); 2: no nvcc.
  kernels/emu/cubin_identity.py [--arch sm_80,sm_90] [--baseline REV] [--jobs N]
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
KERNELS = os.path.dirname(HERE)


def find_nvcc():
    for c in (os.environ.get("CUDACXX"), shutil.which("nvcc"),
              os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "nvcc")):
        if c and os.access(c, os.X_OK):
            return c
    return None


def split_args(s, start):
    """Arguments of the parenthesised list opening at s[start] == '(' -> (list, index after ')')."""
    depth, args, cur, i = 0, [], [], start
    while True:
        ch = s[i]
        if ch in "([{":
            depth += 1
            if depth > 1:
                cur.append(ch)
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return args, i + 1
            cur.append(ch)
        elif ch == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1


def unhook(text):
    out, i = [], 0
    for m in re.finditer(r"\bCOMPRESS_(LAUNCH|DYNAMIC_SHARED)\(", text):
        if m.start() < i:
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        if text[line_start:m.start()].lstrip().startswith(("#", "//")):
            continue   # the macro's own definition or a comment
        args, end = split_args(text, m.end() - 1)
        out.append(text[i:m.start()])
        if m.group(1) == "LAUNCH":
            k, rest = args[0], args[1:]
            out.append(f"{k}<<<{', '.join(rest)}>>>")
        else:
            out.append(f"extern __shared__ {args[0]} {args[1]}[]")
        i = end
    out.append(text[i:])
    text = "".join(out)
    text = re.sub(r'^#include "launch.cuh"\n', "", text, flags=re.M)
    # #ifdef COMPRESS_EMU ... #else ... #endif -> the #else part (no nesting inside these branches).
    text = re.sub(r"^#ifdef COMPRESS_EMU\b[^\n]*\n.*?^#else\n(.*?)^#endif\n", r"\1", text, flags=re.M | re.S)
    if "COMPRESS_EMU" in text or "COMPRESS_LAUNCH" in text or "COMPRESS_DYNAMIC_SHARED" in text:
        raise SystemExit("a hook was left in the plain tree; extend unhook()")
    return text


def write_plain(dst):
    os.makedirs(dst)
    for name in os.listdir(KERNELS):
        src = os.path.join(KERNELS, name)
        if name == "launch.cuh" or not os.path.isfile(src) or not name.endswith((".cu", ".cuh", ".h")):
            continue
        with open(src) as f:
            text = f.read()
        with open(os.path.join(dst, name), "w") as f:
            f.write(unhook(text))


def write_baseline(dst, rev):
    os.makedirs(dst)
    top = subprocess.check_output(["git", "-C", KERNELS, "rev-parse", "--show-toplevel"], text=True).strip()
    rel = os.path.relpath(KERNELS, top)
    names = subprocess.check_output(["git", "-C", top, "ls-tree", "--name-only", rev, rel + "/"], text=True).split()
    for path in names:
        if path.endswith((".cu", ".cuh", ".h")):
            data = subprocess.check_output(["git", "-C", top, "show", f"{rev}:{path}"])
            with open(os.path.join(dst, os.path.basename(path)), "wb") as f:
                f.write(data)


def sections(path):
    """{name: bytes} of the .text.* sections of an ELF64 file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise SystemExit(f"{path}: not an ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + k * shentsize) for k in range(shnum)]
    strtab = hdrs[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    out = {}
    for h in hdrs:
        name = names[h[0]:names.index(b"\0", h[0])].decode()
        if name.startswith(".text."):
            # Anonymous namespaces are mangled with a hash of the source path, which differs between the trees.
            out[re.sub(r"_GLOBAL__N__[0-9a-f]+_", "_GLOBAL__N_", name)] = data[h[4]:h[4] + h[5]]
    return out


def compile_cubin(nvcc, src_dir, cu, arch, out):
    cmd = [nvcc, "-cubin", f"-arch={arch}", "-std=c++17", "--expt-relaxed-constexpr", "-O3", "-I", src_dir,
           os.path.join(src_dir, cu), "-o", out]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"nvcc failed on {cu} ({arch}):\n{r.stderr}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="sm_80,sm_90")
    ap.add_argument("--baseline")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    nvcc = find_nvcc()
    if not nvcc:
        print("cubin identity: SKIPPED (no nvcc)")
        return 2
    work = tempfile.mkdtemp(prefix="compress-cubin-")
    try:
        plain = os.path.join(work, "plain")
        if args.baseline:
            write_baseline(plain, args.baseline)
        else:
            write_plain(plain)
        sources = sorted(n for n in os.listdir(KERNELS) if n.endswith(".cu"))
        jobs = []
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            for arch in args.arch.split(","):
                for cu in sources:
                    for tree, d in (("hooked", KERNELS), ("plain", plain)):
                        out = os.path.join(work, f"{tree}-{arch}-{cu}.cubin")
                        jobs.append((arch, cu, tree, pool.submit(compile_cubin, nvcc, d, cu, arch, out)))
            results = {(a, c, t): f.result() for a, c, t, f in jobs}
        bad, kernels = 0, 0
        for arch in args.arch.split(","):
            for cu in sources:
                a = sections(results[(arch, cu, "hooked")])
                b = sections(results[(arch, cu, "plain")])
                if sorted(a) != sorted(b):
                    print(f"DIFFERENT {arch} {cu}: kernels {sorted(set(a) ^ set(b))} are in one build only")
                    bad += 1
                    continue
                for name in sorted(a):
                    kernels += 1
                    if a[name] != b[name]:
                        print(f"DIFFERENT {arch} {cu} {name[6:]}: {len(a[name])} vs {len(b[name])} bytes")
                        bad += 1
        what = f"kernels/ at {args.baseline}" if args.baseline else "the hooks replaced by plain CUDA"
        print(f"cubin identity ({args.arch}): {kernels} kernel code sections compared with {what}: "
              f"{'all identical' if not bad else f'{bad} DIFFERENT'}")
        return 1 if bad else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
