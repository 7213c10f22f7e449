#!/usr/bin/env python3
"""Cold warmup against NVRTC's floor, in one run on one machine (issue 12's compile target):

    ratio = wall time of `draftjit warmup --bs BS --arch ARCH --jobs J` into an empty cache
            / wall time of as many empty-kernel NVRTC compiles spread over J processes

The empty kernels compile with draftjit's default options (read from the key `draftjit emit --cubin-info` prints,
without $DRAFTJIT_NVRTC_OPTIONS), so extra options under test count against the warmup, not the floor. Needs no GPU.
With --phases 1,64,1024: instead, where NVRTC's time goes for the main kernel of each bs (front end, NVVM, ptxas,
from NVRTC's own --time report) beside the empty kernel's, to judge what precompiled headers (front end only) could
save.
usage: bench/compile_ratio.py [--cli build/draftjit] [--bs 1-1024] [--arch sm_90] [--jobs 2] [--phases BS,...]
"""
import argparse
import ctypes
import multiprocessing
import os
import re
import subprocess
import tempfile
import time

EMPTY = 'extern "C" __global__ void empty(int* p) {}'


def nvrtc():
    for name in ("libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12"):
        for prefix in ("", "/usr/local/cuda/lib64/"):
            try:
                return ctypes.CDLL(prefix + name)
            except OSError:
                pass
    raise SystemExit("libnvrtc not found")


def compile_source(source, options, count=1):
    lib = nvrtc()
    opts = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
    for _ in range(count):
        prog = ctypes.c_void_p()
        assert lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), b"kernel.cu", 0, None, None) == 0
        assert lib.nvrtcCompileProgram(prog, len(options), opts) == 0
        lib.nvrtcDestroyProgram(ctypes.byref(prog))


def report_phases(cli, arch, options, sizes):
    """Fastest of three compiles per source, then one with --time: NVRTC's per-phase milliseconds."""
    sources = [("empty kernel", EMPTY)] + [
        (f"main kernel bs {bs}", subprocess.check_output([cli, "emit", "--bs", str(bs), "--arch", arch], text=True))
        for bs in sizes]
    compile_source(EMPTY, options)  # load NVRTC outside the timing
    with tempfile.TemporaryDirectory() as scratch:
        report = os.path.join(scratch, "time.csv")
        for name, source in sources:
            times = []
            for _ in range(3):
                start = time.perf_counter()
                compile_source(source, options)
                times.append(time.perf_counter() - start)
            compile_source(source, options + [f"--time={report}"])
            with open(report) as f:
                phases = [line.split(",") for line in f.read().strip().splitlines()[1:]]
            os.remove(report)
            described = ", ".join(f"{p[1].strip()} {p[2].strip()} ms" for p in phases if len(p) >= 3)
            print(f"{name}: {min(times) * 1000:.1f} ms ({described})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", default="build/draftjit")
    parser.add_argument("--bs", default="1-1024")
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--phases", help="comma-separated bs: NVRTC's per-phase time for their main kernels instead")
    args = parser.parse_args()

    default_env = {k: v for k, v in os.environ.items() if k != "DRAFTJIT_NVRTC_OPTIONS"}
    info = subprocess.check_output([args.cli, "emit", "--bs", "1", "--cubin-info", "--arch", args.arch], text=True,
                                   env=default_env)
    options = re.search(r"\) \| (.*)$", re.search(r"^key: (.*)$", info, re.M).group(1)).group(1).split()
    if args.phases:
        report_phases(args.cli, args.arch, options, [int(bs) for bs in args.phases.split(",")])
        return
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        out = subprocess.check_output([args.cli, "warmup", "--bs", args.bs, "--arch", args.arch, "--jobs",
                                       str(args.jobs)], env=dict(os.environ, DRAFTJIT_CACHE_DIR=cache),
                                      stderr=subprocess.DEVNULL, text=True)
        warmup_s = time.perf_counter() - start
    kernels = int(re.search(r"warmup: (\d+) kernels", out).group(1))

    shares = [kernels // args.jobs + (i < kernels % args.jobs) for i in range(args.jobs)]
    compile_source(EMPTY, options)  # load NVRTC once outside the timing, as warmup's first compile does not count it
    start = time.perf_counter()
    with multiprocessing.Pool(args.jobs) as pool:
        pool.starmap(compile_source, [(EMPTY, options, n) for n in shares])
    empty_s = time.perf_counter() - start

    print(f"floor options: {' '.join(options)}; DRAFTJIT_NVRTC_OPTIONS: {os.environ.get('DRAFTJIT_NVRTC_OPTIONS', '')}")
    print(f"cold warmup --bs {args.bs} --arch {args.arch} --jobs {args.jobs}: {kernels} kernels in {warmup_s:.2f} s")
    print(f"{kernels} empty-kernel compiles over {args.jobs} processes: {empty_s:.2f} s")
    print(f"ratio: {warmup_s / empty_s:.2f}")


if __name__ == "__main__":
    main()
