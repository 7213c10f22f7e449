"""Per-call latency of the draft-extend metadata paths from Python, against a C++-op floor built in the same process,
medians in microseconds, with same-run ratios.

usage: python3 bench/python_bench.py [--calls N] [--rounds R] [--bs 1,32,128,1024,4096] [--json FILE]
                                     [--floor-build-dir DIR] [--no-floor-op]
       python3 bench/python_bench.py --dsa [--ctx 4096,32768] [--modes decode,verify,extend] [--bs 1,8,...]
                                     [the options above]
(with the draftjit package importable: PYTHONPATH=build-device/python, or after pip install .)

The C++-op floor: bench/torch_floor_ops.cpp and bench/torch_floor_ops_kernel.cu, built at start-up with
torch.utils.cpp_extension.load against the torch found (nvcc for the GPU's arch only, -gencode
arch=compute_XY,code=sm_XY from torch.cuda.get_device_capability()), into a temporary directory (or
--floor-build-dir, which keeps it for the next run), and called as torch.ops.draftjit_bench.floor_sync(x, pinned)
(one empty kernel on torch's current stream, 4 bytes device-to-host into pinned memory with cudaMemcpyAsync,
cudaStreamSynchronize, the int returned) and torch.ops.draftjit_bench.floor_async(x) (one empty kernel, no sync).
If it cannot be built, the reason is printed, its rows are reported missing (null in the JSON) and the rest runs.

Rows (us per call; "blocking" and "graph" rows: median of per-call wall times over N calls; "async" rows: N
back-to-back calls and one torch.cuda.synchronize() after the loop, total / N). Each bs measures every row in R
rounds, the rows in a rotated order each round, and reports the median of the per-round values, so drift on the
machine reaches all rows alike:
  floor            Python floor: torch.cuda._sleep(0) + a 4-byte .item()
  floor_cpp        C++-op floor: torch.ops.draftjit_bench.floor_sync (the floor of every blocking draftjit row)
  floor_cpp_sig    the same work behind the blocking operator's schema (5 arguments, a 0-dim CPU tensor back),
                   TORCH_LIBRARY, + .item()
  floor_stable_sig the same on torch's stable ABI (bench/torch_floor_ops_stable.cpp), + .item()
  torch_ops        the fork's shape of call: zeros + cumsum + copy_ + item, then the fill in torch ops
  note             the design note's one-program scan (Triton) + item + a Triton fill
  triton           torch cumsum + item + the Triton fill
  ours             draftjit.fill_draft_extend_metadata(...)
  ours_op_call     torch.ops.draftjit.fill_draft_extend_metadata(...), the op call alone (0-dim CPU int32 result)
  ours_op          the same op + .item()
  sglang_shim      draftjit.sglang.fill_draft_extend_metadata_cuda_adaptive(...) + .item()
  floor_async      torch.cuda._sleep(0) back to back
  floor_cpp_async  C++-op async floor: torch.ops.draftjit_bench.floor_async (the floor of the async draftjit rows)
  floor_cpp_async_sig     one empty kernel behind the async operator's schema (8 arguments), TORCH_LIBRARY
  floor_stable_async_sig  the same on torch's stable ABI
  ours_async       draftjit.fill_draft_extend_metadata_async(...) back to back
  ours_async_op    torch.ops.draftjit.fill_draft_extend_metadata_async(..., offsets_or_None) back to back
  empty_graph      replay of a CUDA graph holding one empty kernel + torch.cuda.synchronize()
  graph            replay of a CUDA graph holding the async op + torch.cuda.synchronize()
The async calls pass a preallocated bs + 1 int32 offsets tensor when bs > draftjit.MAX_FUSED_BS and None otherwise.

Ratios: every draftjit row over its floor ("ours/floor_cpp", "ours_op_call/floor_cpp", "ours_op/floor_cpp",
"sglang_shim/floor_cpp", "ours_async/floor_cpp_async", "ours_async_op/floor_cpp_async", "graph/empty_graph"), the
earlier version's ratios ("ours/floor", "torch_ops/ours", "note/ours", "triton/ours", "op_overhead_us" = ours_op -
ours, "async/floor_async" = ours_async / floor_async), and "op_call_overhead_us" (ours_op_call - ours),
"shim_overhead_us" (sglang_shim - ours), "floor/floor_cpp", "floor_async/floor_cpp_async"; and the split of the
operators' cost: "floor_cpp_sig/floor_cpp" and "floor_cpp_async_sig/floor_cpp_async" (the signature),
"floor_stable_sig/floor_cpp_sig" and "floor_stable_async_sig/floor_cpp_async_sig" (the stable ABI), "ours_op/
floor_stable_sig" and "ours_async_op/floor_stable_async_sig" (draftjit's own work), with "ours_op_own_us" and
"ours_async_op_own_us", the same as differences.

Inputs: per bs, 0..4 extend tokens per request and seq_lens >= extend_seq_lens (numpy generator seeded with bs),
capacity 4 x bs, nsa_index_topk 2048. Before timing, the plain call's total must equal ext.sum() and its outputs
must match a numpy reference, and every other row's total (or its status words) must be right; otherwise the script
stops with a message. A row that raises instead is reported missing, with the reason, and the others run.

--dsa: instead of the rows above, the whole DSA metadata step from Python, draftjit.sglang.fused_dsa_decode_metadata
/ fused_dsa_target_verify_metadata / fused_dsa_draft_extend_metadata (upstream SGLang's signatures: tensors
positional, scalars by name; no status), one row per (mode, bs, context), bs 1,8,32,64,128,256 unless --bs:
"ours_async" (N calls back to back, one sync, total / N) and "ours_sync" (call + torch.cuda.synchronize(), median of
per-call times) against the C++-op floor of the same run, "floor_cpp_async" (torch.ops.draftjit_bench.floor_async)
and "floor_cpp_sync" (the same + torch.cuda.synchronize()), and, when Triton imports, "triton_async" / "triton_sync"
(a one-program kernel with one store). Inputs as bench/dsa_bench.cpp's: req_to_token int32 [2 x bs, context] with
distinct int64 req_pool_indices, seq_lens int32 in [context / 2, context - 4], dsa_index_topk 2048, real_page_size
64, next_n 2, 1-4 extend tokens per request (outputs of 4 x bs rows: max_total_len 4 x bs, max_extend_len the longest
extend); the bound (max_len, max_seqlen_k) is the context. Before and after timing, a call's outputs are checked
against numpy (every per-request and per-row array, the first and last rows of both page tables). Output: a markdown
table with the ratios ours/floor; JSON {"device", ..., "floor_op", "dsa_columns", "dsa_rows": [{"mode", "bs",
"context", "rows", <row>: us or null, <ratio>: value or null}], "missing"}. GPU-bound rows (large bs x context)
measure the kernel, not the launch: bench/dsa_bench.cpp has the GPU-time floors.

JSON (--json FILE): {"device", "capability", "calls", "rounds", "torch", "cuda", "triton", "draftjit",
"floor_op": {"built", "error", "arch", "gencode", "build_s", "build_dir", "library"}, "columns": {row: {"kind",
"floor", "what"}}, "rows": [{"bs", "tokens", <row>: us or null, ...}], "ratios": [{"bs", <ratio>: value or null,
...}], "round_medians": [{"bs", <row>: [per-round us, ...]}], "missing": [{"bs", "row", "why"}]}."""

import argparse
import atexit
import gc
import importlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FLOOR_SOURCES = ("torch_floor_ops.cpp", "torch_floor_ops_stable.cpp", "torch_floor_ops_kernel.cu")
FLOOR_EXTENSION = "draftjit_bench_floor"
TOPK = 2048
SENTINEL = 271828  # what the floors read back, so a floor that reads nothing is caught
DEFAULT_BS = "1,32,128,1024,4096"

# Imports are checked in main(), after the arguments, so that --help works on a machine without them.
_import_errors = {}
try:
    import numpy as np
except Exception as error:  # noqa: BLE001
    np = None
    _import_errors["numpy"] = f"{type(error).__name__}: {error}"
try:
    import torch
except Exception as error:  # noqa: BLE001
    torch = None
    _import_errors["torch"] = f"{type(error).__name__}: {error}"
try:
    import triton
    import triton.language as tl
    TRITON_ERROR = None
except Exception as error:  # noqa: BLE001  (then the note and triton rows are missing)
    TRITON_ERROR = f"{type(error).__name__}: {error}"

    class _NoTriton:
        """Lets the kernels below be defined without Triton (their annotations are evaluated); never called then."""
        __version__ = None
        constexpr = int

        @staticmethod
        def jit(fn):
            return fn

    triton = tl = _NoTriton()
try:
    import draftjit
except Exception as error:  # noqa: BLE001
    draftjit = None
    _import_errors["draftjit"] = f"{type(error).__name__}: {error} (PYTHONPATH=build-device/python?)"


@triton.jit
def _fill_kernel(ext, seq, offsets, out_expanded, out_cache, topk, BLOCK: tl.constexpr):
    b = tl.program_id(0)
    e = tl.load(ext + b)
    base = tl.load(seq + b) - e + 1
    start = tl.load(offsets + b)
    for i in range(0, e, BLOCK):
        local = i + tl.arange(0, BLOCK)
        mask = local < e
        value = base + local
        tl.store(out_expanded + start + local, value, mask=mask)
        tl.store(out_cache + start + local, tl.minimum(value, topk), mask=mask)


@triton.jit
def _one_thread_scan(ext, offsets, bs):
    # The design note's scan: one program walks the requests in order through global memory.
    tl.store(offsets, 0)
    running = 0
    for b in range(0, bs):
        running += tl.load(ext + b)
        tl.store(offsets + b + 1, running)


@triton.jit
def _store_one(out, value):
    # The --dsa rows' Triton reference: the least a Triton launch can do.
    tl.store(out, value)


def _triton_fill(ext, seq, offsets, out_expanded, out_cache, topk):
    _fill_kernel[(ext.numel(),)](ext, seq, offsets, out_expanded, out_cache, topk, BLOCK=16)


# name, kind (how it is timed), floor (the row its ratio divides by; None: not a draftjit row), what it calls.
COLUMNS = [
    ("floor", "blocking", None, "Python floor: torch.cuda._sleep(0) + a 4-byte .item()"),
    ("floor_cpp", "blocking", None, "C++ op: empty kernel + 4-byte D2H into pinned memory + stream sync"),
    ("floor_cpp_sig", "blocking", None, "floor_cpp's work behind the blocking op's schema, 0-dim result, + .item()"),
    ("floor_stable_sig", "blocking", None, "floor_cpp_sig on torch's stable ABI"),
    ("torch_ops", "blocking", None, "fork's shape: zeros + cumsum + copy_ + item + fill in torch ops"),
    ("note", "blocking", None, "one-program Triton scan + item + Triton fill"),
    ("triton", "blocking", None, "torch cumsum + item + Triton fill"),
    ("ours", "blocking", "floor_cpp", "draftjit.fill_draft_extend_metadata"),
    ("ours_op_call", "blocking", "floor_cpp", "torch.ops.draftjit.fill_draft_extend_metadata (call alone)"),
    ("ours_op", "blocking", "floor_cpp", "torch.ops.draftjit.fill_draft_extend_metadata + .item()"),
    ("sglang_shim", "blocking", "floor_cpp", "draftjit.sglang.fill_draft_extend_metadata_cuda_adaptive + .item()"),
    ("floor_async", "async", None, "torch.cuda._sleep(0), back to back"),
    ("floor_cpp_async", "async", None, "C++ op: one empty kernel, no sync, back to back"),
    ("floor_cpp_async_sig", "async", None, "floor_cpp_async behind the async op's schema (8 arguments)"),
    ("floor_stable_async_sig", "async", None, "floor_cpp_async_sig on torch's stable ABI"),
    ("ours_async", "async", "floor_cpp_async", "draftjit.fill_draft_extend_metadata_async, back to back"),
    ("ours_async_op", "async", "floor_cpp_async", "torch.ops.draftjit.fill_draft_extend_metadata_async, b2b"),
    ("empty_graph", "graph", None, "graph replay: one empty kernel, + sync"),
    ("graph", "graph", "empty_graph", "graph replay: the async op, + sync"),
]
KIND = {name: kind for name, kind, _, _ in COLUMNS}
FLOOR_ROWS = ("floor_cpp", "floor_cpp_sig", "floor_stable_sig", "floor_cpp_async", "floor_cpp_async_sig",
              "floor_stable_async_sig")  # the rows of the built C++ ops
SIGNATURE_ROWS = ("floor_cpp_sig", "floor_stable_sig")  # return extend_seq_lens[0]
TRITON_ROWS = ("note", "triton")
DRAFTJIT_ASYNC_ROWS = ("ours_async", "ours_async_op")  # write the total and status words
TOTAL_ROWS = ("torch_ops", "note", "triton", "ours", "ours_op_call", "ours_op", "sglang_shim")  # return the total


def _ratio(a, b):
    def value(row):
        x, y = row.get(a), row.get(b)
        return x / y if x is not None and y else None
    return value


def _difference(a, b):
    def value(row):
        x, y = row.get(a), row.get(b)
        return x - y if x is not None and y is not None else None
    return value


RATIOS = [(f"{name}/{floor}", _ratio(name, floor)) for name, _, floor, _ in COLUMNS if floor is not None] + [
    ("ours/floor", _ratio("ours", "floor")),
    ("torch_ops/ours", _ratio("torch_ops", "ours")),
    ("note/ours", _ratio("note", "ours")),
    ("triton/ours", _ratio("triton", "ours")),
    ("op_overhead_us", _difference("ours_op", "ours")),
    ("op_call_overhead_us", _difference("ours_op_call", "ours")),
    ("shim_overhead_us", _difference("sglang_shim", "ours")),
    ("async/floor_async", _ratio("ours_async", "floor_async")),
    ("floor/floor_cpp", _ratio("floor", "floor_cpp")),
    ("floor_async/floor_cpp_async", _ratio("floor_async", "floor_cpp_async")),
    ("floor_cpp_sig/floor_cpp", _ratio("floor_cpp_sig", "floor_cpp")),
    ("floor_stable_sig/floor_cpp_sig", _ratio("floor_stable_sig", "floor_cpp_sig")),
    ("ours_op/floor_stable_sig", _ratio("ours_op", "floor_stable_sig")),
    ("ours_op_own_us", _difference("ours_op", "floor_stable_sig")),
    ("floor_cpp_async_sig/floor_cpp_async", _ratio("floor_cpp_async_sig", "floor_cpp_async")),
    ("floor_stable_async_sig/floor_cpp_async_sig", _ratio("floor_stable_async_sig", "floor_cpp_async_sig")),
    ("ours_async_op/floor_stable_async_sig", _ratio("ours_async_op", "floor_stable_async_sig")),
    ("ours_async_op_own_us", _difference("ours_async_op", "floor_stable_async_sig")),
]


class WrongResult(Exception):
    """A row computed a wrong answer: the script stops rather than time it."""


def _why(error, lines=30):
    """An exception as text, long compiler logs cut to their first line and last `lines` lines."""
    text = f"{type(error).__name__}: {error}".strip()
    parts = text.splitlines()
    if len(parts) > lines + 1:
        parts = [parts[0], f"... ({len(parts) - lines - 1} lines left out)", *parts[-lines:]]
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# Timers. A "blocking" call ends in a host synchronisation of its own; a "graph" call is replay + synchronize.


def _warm(call, calls):
    for _ in range(max(calls // 10, 50)):
        call()


def time_blocking(call, calls):
    """Median of N per-call wall times, in us."""
    _warm(call, calls)
    clock = time.perf_counter_ns
    samples = []
    append = samples.append
    for _ in range(calls):
        start = clock()
        call()
        append(clock() - start)
    return statistics.median(samples) / 1000


def time_async(call, calls):
    """N back-to-back calls and one torch.cuda.synchronize() after the loop: the total / N, in us."""
    _warm(call, calls)
    torch.cuda.synchronize()
    clock = time.perf_counter_ns
    start = clock()
    for _ in range(calls):
        call()
    torch.cuda.synchronize()
    return (clock() - start) / calls / 1000


TIMERS = {"blocking": time_blocking, "async": time_async, "graph": time_blocking}


def graph_of(call):
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        call()  # warm, outside capture
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        call()
    torch.cuda.synchronize()
    return graph


def replay(graph):
    def call():
        graph.replay()
        torch.cuda.synchronize()
    return call


# ---------------------------------------------------------------------------------------------------------------
# The C++-op floor.


def build_floor_op(options):
    """Builds and loads bench/torch_floor_ops.{cpp,_kernel.cu} as torch.ops.draftjit_bench and checks both ops.
    Never raises: returns the JSON's floor_op record, with "built" false and "error" saying why on failure."""
    info = {"built": False, "error": None, "arch": None, "gencode": None, "build_s": None, "build_dir": None,
            "library": None}
    if options.no_floor_op:
        info["error"] = "not built (--no-floor-op)"
        return info
    try:
        major, minor = torch.cuda.get_device_capability()
        arch = f"{major}{minor}"
        gencode = f"-gencode=arch=compute_{arch},code=sm_{arch}"
        info["arch"], info["gencode"] = f"sm_{arch}", gencode
        from torch.utils import cpp_extension
        if cpp_extension.CUDA_HOME is None:
            raise RuntimeError("torch.utils.cpp_extension found no CUDA toolkit (CUDA_HOME unset, no nvcc on "
                               "PATH, no /usr/local/cuda)")
        sources = [os.path.join(HERE, name) for name in FLOOR_SOURCES]
        for source in sources:
            if not os.path.isfile(source):
                raise FileNotFoundError(f"missing source {source}")
        if options.floor_build_dir:
            build_dir = os.path.abspath(options.floor_build_dir)
            os.makedirs(build_dir, exist_ok=True)
        else:
            build_dir = tempfile.mkdtemp(prefix="draftjit-bench-floor-")
            atexit.register(shutil.rmtree, build_dir, True)
        info["build_dir"] = build_dir
        # The explicit -gencode keeps torch from adding its own arch list; older torch releases ignore it there and
        # read TORCH_CUDA_ARCH_LIST instead, so that names the same arch for the build and is restored after.
        saved_arch_list = os.environ.get("TORCH_CUDA_ARCH_LIST")
        os.environ["TORCH_CUDA_ARCH_LIST"] = f"{major}.{minor}"
        start = time.perf_counter()
        try:
            library = cpp_extension.load(name=FLOOR_EXTENSION, sources=sources, extra_cflags=["-O2"],
                                         extra_cuda_cflags=["-O2", gencode], build_directory=build_dir,
                                         verbose=False, with_cuda=True, is_python_module=False)
        finally:
            if saved_arch_list is None:
                os.environ.pop("TORCH_CUDA_ARCH_LIST", None)
            else:
                os.environ["TORCH_CUDA_ARCH_LIST"] = saved_arch_list
        info["build_s"] = round(time.perf_counter() - start, 2)
        info["library"] = library if isinstance(library, str) else None
        x = torch.full((1,), SENTINEL, dtype=torch.int32, device="cuda")
        pinned = torch.zeros(1, dtype=torch.int32, pin_memory=True)
        if not pinned.is_pinned():
            raise RuntimeError("torch.zeros(..., pin_memory=True) did not return pinned memory")
        got = torch.ops.draftjit_bench.floor_sync(x, pinned)
        if got != SENTINEL:
            raise RuntimeError(f"torch.ops.draftjit_bench.floor_sync read {got!r}, expected {SENTINEL}")
        torch.ops.draftjit_bench.floor_async(x)
        torch.cuda.synchronize()
        info["built"] = True
    except Exception as error:  # noqa: BLE001  (fail soft: the other rows still run)
        info["error"] = _why(error)
    return info


# ---------------------------------------------------------------------------------------------------------------
# One batch size.


def run_bs(bs, options, floor_info, shim, shim_error):
    """Checks and times every row at bs. Returns (row, round_medians, missing); raises SystemExit on a wrong
    result."""
    rng = np.random.default_rng(bs)
    ext_h = rng.integers(0, 5, size=bs, dtype=np.int32)  # 0..4 extend tokens per request
    seq_h = (ext_h + rng.integers(0, 8001, size=bs)).astype(np.int32)  # seq_lens >= extend_seq_lens
    ext, seq = torch.from_numpy(ext_h).cuda(), torch.from_numpy(seq_h).cuda()
    total = int(ext.sum().item())
    if total != int(ext_h.sum(dtype=np.int64)):
        raise SystemExit(f"python_bench: bs {bs}: ext.sum() on the GPU is {total}, on the host "
                         f"{int(ext_h.sum(dtype=np.int64))}")
    capacity = 4 * bs
    expanded = torch.zeros(capacity, dtype=torch.int32, device="cuda")
    cache = torch.zeros(capacity, dtype=torch.int32, device="cuda")
    words = torch.zeros(2, dtype=torch.int32, device="cuda")
    total_word, status_word = words[:1], words[1:]
    offsets = torch.zeros(bs + 1, dtype=torch.int32, device="cuda")  # the note's and the triton row's
    async_offsets = torch.zeros(bs + 1, dtype=torch.int32, device="cuda") if bs > draftjit.MAX_FUSED_BS else None
    flag = torch.full((1,), SENTINEL, dtype=torch.int32, device="cuda")
    pinned = torch.zeros(1, dtype=torch.int32, pin_memory=True)
    draftjit.prepare(bs)

    # The plain call first: its total must be ext.sum() and its outputs the function of docs/DESIGN.md.
    expanded.fill_(-1)
    cache.fill_(-1)
    got = draftjit.fill_draft_extend_metadata(ext, seq, TOPK, expanded, cache)
    if got != total:
        raise SystemExit(f"python_bench: bs {bs}: draftjit.fill_draft_extend_metadata returned total {got!r}, but "
                         f"ext.sum() is {total}; not timing a wrong result")
    torch.cuda.synchronize()
    request = np.repeat(np.arange(bs), ext_h)
    starts = np.cumsum(ext_h, dtype=np.int64) - ext_h
    want = (seq_h.astype(np.int64) - ext_h + 1)[request] + (np.arange(total) - starts[request])
    got_expanded = expanded[:total].cpu().numpy()
    got_cache = cache[:total].cpu().numpy()
    if not (np.array_equal(got_expanded, want) and np.array_equal(got_cache, np.minimum(want, TOPK))):
        bad = int(np.argmax((got_expanded != want) | (got_cache != np.minimum(want, TOPK))))
        raise SystemExit(f"python_bench: bs {bs}: draftjit.fill_draft_extend_metadata wrote wrong outputs (first at "
                         f"token {bad}: expanded {got_expanded[bad]}, cache {got_cache[bad]}, expected "
                         f"{want[bad]}, {min(want[bad], TOPK)}); not timing a wrong result")

    def floor():
        torch.cuda._sleep(0)
        return flag.item()

    def floor_cpp():
        return torch.ops.draftjit_bench.floor_sync(flag, pinned)

    def floor_cpp_sig():
        return torch.ops.draftjit_bench.floor_sync_sig(ext, seq, TOPK, expanded, cache).item()

    def floor_stable_sig():
        return torch.ops.draftjit_bench_stable.floor_sync_sig(ext, seq, TOPK, expanded, cache).item()

    def torch_ops():
        o = torch.zeros(bs + 1, dtype=torch.int32, device="cuda")
        o[1:].copy_(torch.cumsum(ext, 0))
        n = int(o[-1].item())
        request = torch.repeat_interleave(torch.arange(bs, device="cuda"), ext, output_size=n)
        value = (seq - ext + 1)[request] + torch.arange(n, device="cuda", dtype=torch.int32) - o[request]
        expanded[:n].copy_(value)
        cache[:n].copy_(torch.clamp(value, max=TOPK))
        return n

    def note():
        _one_thread_scan[(1,)](ext, offsets, bs)
        n = int(offsets[bs].item())
        _triton_fill(ext, seq, offsets, expanded, cache, TOPK)
        return n

    def triton_path():
        offsets[1:].copy_(torch.cumsum(ext, 0))
        n = int(offsets[bs].item())
        _triton_fill(ext, seq, offsets, expanded, cache, TOPK)
        return n

    def ours():
        return draftjit.fill_draft_extend_metadata(ext, seq, TOPK, expanded, cache)

    def ours_op_call():
        return torch.ops.draftjit.fill_draft_extend_metadata(ext, seq, TOPK, expanded, cache)

    def ours_op():
        return torch.ops.draftjit.fill_draft_extend_metadata(ext, seq, TOPK, expanded, cache).item()

    def sglang_shim():
        return shim(ext, seq, TOPK, expanded, cache).item()

    def floor_async():
        torch.cuda._sleep(0)

    def floor_cpp_async():
        torch.ops.draftjit_bench.floor_async(flag)

    def floor_cpp_async_sig():
        torch.ops.draftjit_bench.floor_async_sig(ext, seq, TOPK, expanded, cache, total_word, status_word,
                                                 async_offsets)

    def floor_stable_async_sig():
        torch.ops.draftjit_bench_stable.floor_async_sig(ext, seq, TOPK, expanded, cache, total_word, status_word,
                                                        async_offsets)

    def ours_async():
        draftjit.fill_draft_extend_metadata_async(ext, seq, TOPK, expanded, cache, total_word, status_word,
                                                  async_offsets)

    def ours_async_op():
        torch.ops.draftjit.fill_draft_extend_metadata_async(ext, seq, TOPK, expanded, cache, total_word, status_word,
                                                            async_offsets)

    calls = {"floor": floor, "floor_cpp": floor_cpp, "floor_cpp_sig": floor_cpp_sig,
             "floor_stable_sig": floor_stable_sig, "torch_ops": torch_ops, "note": note, "triton": triton_path,
             "ours": ours, "ours_op_call": ours_op_call, "ours_op": ours_op, "sglang_shim": sglang_shim,
             "floor_async": floor_async, "floor_cpp_async": floor_cpp_async,
             "floor_cpp_async_sig": floor_cpp_async_sig, "floor_stable_async_sig": floor_stable_async_sig,
             "ours_async": ours_async, "ours_async_op": ours_async_op}

    missing = {}
    for name in FLOOR_ROWS:
        if not floor_info["built"]:
            missing[name] = f"C++-op floor not built: {floor_info['error'].splitlines()[0]}"
    for name in TRITON_ROWS:
        if TRITON_ERROR is not None:
            missing[name] = f"triton not importable: {TRITON_ERROR}"
    if shim is None:
        missing["sglang_shim"] = f"draftjit.sglang not importable: {shim_error}"

    def check_words(name):
        value = words.tolist()
        if value != [total, 0]:
            raise WrongResult(f"{name} left total, status = {value}, expected [{total}, 0]")

    def check(name):
        """Runs the row once and checks what it computed; raises WrongResult for a wrong answer."""
        kind = KIND[name]
        if kind == "graph":
            source = (lambda: torch.cuda._sleep(0)) if name == "empty_graph" else ours_async_op
            graph = graph_of(source)
            words.fill_(-1)
            replay(graph)()
            if name == "graph":
                check_words(name)
            calls[name] = replay(graph)  # holds the graph for the rounds
            return
        if kind == "async":
            words.fill_(-1)
            calls[name]()
            torch.cuda.synchronize()
            if name in DRAFTJIT_ASYNC_ROWS:
                check_words(name)
            return
        result = calls[name]()
        if name == "ours_op_call":
            if not (isinstance(result, torch.Tensor) and result.dim() == 0 and result.device.type == "cpu"):
                raise WrongResult(f"{name} returned {result!r}, expected a 0-dim CPU tensor")
            result = int(result.item())
        expected = total if name in TOTAL_ROWS else int(ext_h[0]) if name in SIGNATURE_ROWS else SENTINEL
        if result != expected:
            raise WrongResult(f"{name} returned {result!r}, expected {expected}")

    names = []
    for name, _, _, _ in COLUMNS:
        if name in missing:
            continue
        try:
            check(name)
        except WrongResult as error:
            raise SystemExit(f"python_bench: bs {bs}: {error}; not timing a wrong result") from None
        except Exception as error:  # noqa: BLE001  (fail soft: report the row missing, run the others)
            missing[name] = _why(error, lines=8)
            continue
        names.append(name)

    per_round = {name: [] for name in names}
    for round_index in range(options.rounds):
        shift = round_index % max(len(names), 1)
        order = names[shift:] + names[:shift]
        gc.collect()
        gc.disable()
        try:
            for name in order:
                if name in missing:
                    continue
                try:
                    per_round[name].append(TIMERS[KIND[name]](calls[name], options.calls))
                except Exception as error:  # noqa: BLE001
                    missing[name] = _why(error, lines=8)
        finally:
            gc.enable()

    # The timed calls must still compute the right thing.
    torch.cuda.synchronize()
    if any(name in names and name not in missing for name in (*DRAFTJIT_ASYNC_ROWS, "graph")):
        try:
            check_words("the timed async calls")
        except WrongResult as error:
            raise SystemExit(f"python_bench: bs {bs}: {error}") from None
    got = draftjit.fill_draft_extend_metadata(ext, seq, TOPK, expanded, cache)
    if got != total:
        raise SystemExit(f"python_bench: bs {bs}: after timing, the plain call returned {got!r}, expected {total}")

    row = {"bs": bs, "tokens": total}
    medians = {"bs": bs}
    for name, _, _, _ in COLUMNS:
        samples = per_round.get(name, [])
        ok = name not in missing and len(samples) == options.rounds
        row[name] = statistics.median(samples) if ok else None
        medians[name] = samples if ok else None
    return row, medians, [{"bs": bs, "row": name, "why": why} for name, why in missing.items()]


# ---------------------------------------------------------------------------------------------------------------
# --dsa: the whole DSA metadata step, one row per (mode, bs, context).

DSA_DEFAULT_BS = "1,8,32,64,128,256"
DSA_DEFAULT_CTX = "4096,32768"
DSA_MODES = {"decode": "fused_dsa_decode_metadata", "verify": "fused_dsa_target_verify_metadata",
             "extend": "fused_dsa_draft_extend_metadata"}
DSA_PAGE = 64
DSA_NEXT_N = 2
DSA_COLUMNS = [
    ("floor_cpp_async", "async", None, "C++ op: one empty kernel, no sync, back to back"),
    ("floor_cpp_sync", "blocking", None, "C++ op: one empty kernel + torch.cuda.synchronize()"),
    ("triton_async", "async", None, "one-program Triton kernel, one store, back to back"),
    ("triton_sync", "blocking", None, "the same + torch.cuda.synchronize()"),
    ("floor_dsa_sig_async", "async", None, "one empty kernel behind the DSA op's exact schema, stable ABI"),
    ("ours_async", "async", "floor_cpp_async", "draftjit.sglang.fused_dsa_<mode>_metadata, back to back"),
    ("ours_sync", "blocking", "floor_cpp_sync", "the same + torch.cuda.synchronize()"),
    ("ours_op_async", "async", "floor_dsa_sig_async", "torch.ops.draftjit.dsa_<mode>_metadata itself, back to back"),
]
DSA_OPS = {"decode": "dsa_decode_metadata", "verify": "dsa_target_verify_metadata",
           "extend": "dsa_draft_extend_metadata"}
DSA_RATIOS = [(f"{name}/{floor}", _ratio(name, floor)) for name, _, floor, _ in DSA_COLUMNS if floor] + [
    ("floor_dsa_sig_async/floor_cpp_async", _ratio("floor_dsa_sig_async", "floor_cpp_async")),
    ("triton_async/floor_cpp_async", _ratio("triton_async", "floor_cpp_async")),
    ("triton_sync/floor_cpp_sync", _ratio("triton_sync", "floor_cpp_sync")),
]


def dsa_case(mode, bs, ctx):
    """Device inputs and outputs of one (mode, bs, context), the call (positional, upstream's order), the same
    arguments as the torch op's schema takes them, and a check of the outputs against numpy that raises
    WrongResult."""
    rng = np.random.default_rng(bs * 1000003 + ctx)
    seq_h = rng.integers(max(ctx // 2, 4), max(ctx - 4, 4) + 1, size=bs).astype(np.int32)
    pool_h = rng.permutation(2 * bs)[:bs].astype(np.int64)
    ext_h = rng.integers(1, 5, size=bs).astype(np.int32)
    if mode == "decode":
        row_req, row_len = np.arange(bs), seq_h.astype(np.int64)
    elif mode == "verify":
        row_req = np.repeat(np.arange(bs), DSA_NEXT_N)
        row_len = seq_h[row_req].astype(np.int64) + np.tile(np.arange(DSA_NEXT_N), bs) + 1
    else:
        row_req = np.repeat(np.arange(bs), ext_h)
        local = np.arange(row_req.size) - (np.cumsum(ext_h) - ext_h)[row_req]
        row_len = np.maximum(seq_h[row_req].astype(np.int64) - ext_h[row_req] + 1 + local, 0)
    rows = int(row_req.size)
    capacity = 4 * bs if mode == "extend" else rows
    pages = -(-ctx // DSA_PAGE)
    cache_h = seq_h.astype(np.int64) + (DSA_NEXT_N if mode == "verify" else 0)
    dsa_h = np.minimum(row_len, TOPK)

    def i32(n):
        return torch.empty(n, dtype=torch.int32, device="cuda")

    seq, pool, ext = (torch.from_numpy(a).cuda() for a in (seq_h, pool_h, ext_h))
    req_to_token = torch.arange(2 * bs * ctx, dtype=torch.int32, device="cuda").view(2 * bs, ctx)
    cache, cu, dsa, dsa_cu, expanded = i32(bs), i32(bs + 1), i32(capacity), i32(capacity + 1), i32(capacity)
    page_table = i32((capacity, ctx))
    real_page_table = i32((capacity, pages))
    fn = getattr(importlib.import_module("draftjit.sglang"), DSA_MODES[mode])
    scalars = {"bs": bs, "dsa_index_topk": TOPK, "real_page_size": DSA_PAGE}
    if mode == "decode":
        args = (seq, pool, req_to_token, cache, cu, page_table, dsa, dsa_cu, real_page_table)
        scalars.update(max_len=ctx)
        op_args = (*args, bs, ctx, TOPK, DSA_PAGE, 1, None)
    elif mode == "verify":
        args = (seq, pool, req_to_token, cache, cu, page_table, expanded, dsa, dsa_cu, real_page_table)
        scalars.update(max_seqlen_k=ctx, next_n=DSA_NEXT_N)
        op_args = (*args, bs, ctx, TOPK, DSA_PAGE, DSA_NEXT_N, None, 1, None)
    else:
        args = (seq, ext, pool, req_to_token, cache, cu, page_table, expanded, dsa, dsa_cu, real_page_table)
        scalars.update(total_len=rows, max_seqlen_k=ctx, max_extend_len=int(ext_h.max()), max_total_len=capacity)
        op_args = (*args, bs, rows, ctx, TOPK, DSA_PAGE, 0, 1, None)

    def call():
        fn(*args, **scalars)

    def check(when):
        for t in (cache, cu, dsa, dsa_cu, expanded, page_table, real_page_table):
            t.fill_(-1)
        call()
        torch.cuda.synchronize()
        want = {"cache_seqlens": (cache, cache_h), "cu_seqlens_k": (cu, np.concatenate([[0], np.cumsum(cache_h)])),
                "dsa_cache_seqlens": (dsa[:rows], dsa_h),
                "dsa_cu_seqlens_k": (dsa_cu[:rows + 1], np.concatenate([[0], np.cumsum(dsa_h)]))}
        if mode != "decode":
            want["seqlens_expanded"] = (expanded[:rows], row_len)
        for r in {0, rows - 1}:  # over the row's live prefix (draftjit/sglang.py); the rest keeps the -1 fill
            first = int(pool_h[row_req[r]]) * ctx
            live = min(-(-int(cache_h[row_req[r]]) // 128) * 128, ctx)
            columns = np.arange(ctx)
            want[f"page_table_1 row {r}"] = (page_table[r], np.where(columns < live, first + columns, -1))
            pages = columns[::DSA_PAGE]
            want[f"real_page_table row {r}"] = (real_page_table[r],
                                                np.where(pages < live, (first + pages) // DSA_PAGE, -1))
        for name, (got, expected) in want.items():
            got = got.cpu().numpy()
            if not np.array_equal(got, expected):
                bad = int(np.argmax(got != expected))
                raise WrongResult(f"{DSA_MODES[mode]} wrote wrong {name} {when} timing (first at {bad}: {got[bad]}, "
                                  f"expected {expected[bad]})")

    return call, check, rows, op_args


def run_dsa(mode, bs, ctx, options, floor_info):
    """Checks and times the --dsa rows of one (mode, bs, context). Returns (row, missing); raises SystemExit on a
    wrong result."""
    flag = torch.full((1,), SENTINEL, dtype=torch.int32, device="cuda")
    missing = {}
    calls = {}
    if floor_info["built"]:
        def floor_cpp_async():
            torch.ops.draftjit_bench.floor_async(flag)

        def floor_cpp_sync():
            torch.ops.draftjit_bench.floor_async(flag)
            torch.cuda.synchronize()
        calls.update(floor_cpp_async=floor_cpp_async, floor_cpp_sync=floor_cpp_sync)
    else:
        for name in ("floor_cpp_async", "floor_cpp_sync"):
            missing[name] = f"C++-op floor not built: {floor_info['error'].splitlines()[0]}"
    if TRITON_ERROR is None:
        def triton_async():
            _store_one[(1,)](flag, SENTINEL)

        def triton_sync():
            _store_one[(1,)](flag, SENTINEL)
            torch.cuda.synchronize()
        calls.update(triton_async=triton_async, triton_sync=triton_sync)
    else:
        for name in ("triton_async", "triton_sync"):
            missing[name] = f"triton not importable: {TRITON_ERROR}"
    rows = None
    try:
        ours, check, rows, op_args = dsa_case(mode, bs, ctx)
        check("before")  # the first call compiles
    except WrongResult as error:
        raise SystemExit(f"python_bench: --dsa {mode} bs {bs} context {ctx}: {error}; not timing a wrong "
                         f"result") from None
    except Exception as error:  # noqa: BLE001  (fail soft: the floors still run)
        missing["ours_async"] = missing["ours_sync"] = _why(error, lines=8)
    else:
        def ours_sync():
            ours()
            torch.cuda.synchronize()

        op = getattr(torch.ops.draftjit, DSA_OPS[mode])

        def ours_op_async():
            op(*op_args)
        calls.update(ours_async=ours, ours_sync=ours_sync, ours_op_async=ours_op_async)
        if floor_info["built"]:
            floor_sig = getattr(torch.ops.draftjit_bench_stable, f"floor_{DSA_OPS[mode][:-len('_metadata')]}_sig")

            def floor_dsa_sig_async():
                floor_sig(*op_args)
            calls.update(floor_dsa_sig_async=floor_dsa_sig_async)
    if "triton_async" in calls:
        try:
            flag.fill_(0)
            triton_sync()
            if int(flag.item()) != SENTINEL:
                raise WrongResult(f"the Triton kernel left {int(flag.item())} in its word, expected {SENTINEL}")
        except WrongResult as error:
            raise SystemExit(f"python_bench: --dsa: {error}") from None
        except Exception as error:  # noqa: BLE001
            missing["triton_async"] = missing["triton_sync"] = _why(error, lines=8)

    names = [name for name, _, _, _ in DSA_COLUMNS if name in calls]
    kind = {name: k for name, k, _, _ in DSA_COLUMNS}
    per_round = {name: [] for name in names}
    for round_index in range(options.rounds):
        shift = round_index % max(len(names), 1)
        gc.collect()
        gc.disable()
        try:
            for name in names[shift:] + names[:shift]:
                if name in missing:
                    continue
                try:
                    per_round[name].append(TIMERS[kind[name]](calls[name], options.calls))
                except Exception as error:  # noqa: BLE001
                    missing[name] = _why(error, lines=8)
        finally:
            gc.enable()
    if "ours_async" in calls:
        try:
            check("after")
        except WrongResult as error:
            raise SystemExit(f"python_bench: --dsa {mode} bs {bs} context {ctx}: {error}") from None

    row = {"mode": mode, "bs": bs, "context": ctx, "rows": rows}
    for name, _, _, _ in DSA_COLUMNS:
        samples = per_round.get(name, [])
        row[name] = statistics.median(samples) if name not in missing and len(samples) == options.rounds else None
    row.update({key: f(row) for key, f in DSA_RATIOS})
    where = f"{mode} bs {bs} context {ctx}"
    return row, [{"bs": bs, "mode": mode, "context": ctx, "row": name, "why": why, "where": where}
                 for name, why in missing.items()]


def print_dsa_table(rows):
    names = [name for name, _, _, _ in DSA_COLUMNS] + [key for key, _ in DSA_RATIOS]
    print("| mode | bs | context | rows | " + " | ".join(names) + " |")
    print("|---" * (4 + len(names)) + "|")
    for row in rows:
        cells = [row["mode"], row["bs"], row["context"], "-" if row["rows"] is None else row["rows"]]
        print("| " + " | ".join(str(c) for c in cells + [_cell(row[name]) for name in names]) + " |")
    print("\nus per call; " + "; ".join(f"{name}: {what} [{kind}]" for name, kind, _, what in DSA_COLUMNS) + ".")


def main_dsa(options, floor_info, header, modes, contexts, sizes):
    rows, missing = [], []
    for mode in modes:
        for ctx in contexts:
            for bs in sizes:
                start = time.perf_counter()
                row, gone = run_dsa(mode, bs, ctx, options, floor_info)
                rows.append(row)
                missing.extend(gone)
                print(f"--dsa {mode} bs {bs} context {ctx} timed in {time.perf_counter() - start:.1f} s",
                      file=sys.stderr, flush=True)
    print()
    print_dsa_table(rows)
    grouped = {}
    for entry in missing:
        grouped.setdefault((entry["row"], entry["why"]), []).append(entry["where"])
    if grouped:
        print("\nmissing rows:")
    for (name, why), where in grouped.items():
        lines = why.splitlines() or [""]
        print(f"  {name} at {'; '.join(where)}: {lines[0]}")
        for line in lines[1:]:
            print(f"      {line}")
    if options.json:
        with open(options.json, "w") as out:
            json.dump({**header, "floor_op": floor_info,
                       "dsa_columns": {name: {"kind": kind, "floor": floor, "what": what}
                                       for name, kind, floor, what in DSA_COLUMNS},
                       "dsa_rows": rows, "missing": missing}, out, indent=1)


# ---------------------------------------------------------------------------------------------------------------
# Output.


def _cell(value):
    return "-" if value is None else f"{value:.2f}"


def print_tables(rows, ratio_rows):
    labels = [f"bs={row['bs']}" for row in rows]
    width = max(10, *(len(label) + 2 for label in labels))
    name_width = max(len(key) for key, _ in RATIOS) + 2
    print(f"{'us per call':<{name_width}}" + "".join(f"{label:>{width}}" for label in labels) + "  floor: what")
    print(f"{'tokens':<{name_width}}" + "".join(f"{row['tokens']:>{width}}" for row in rows) + "  ext.sum()")
    for name, kind, floor, what in COLUMNS:
        cells = "".join(f"{_cell(row[name]):>{width}}" for row in rows)
        print(f"{name:<{name_width}}{cells}  {floor or '-'}: {what} [{kind}]")
    print("\nratios, same run (draftjit rows over their floor; then the earlier ratios; *_us are differences in us):")
    print(f"{'ratio':<{name_width}}" + "".join(f"{label:>{width}}" for label in labels))
    for key, _ in RATIOS:
        print(f"{key:<{name_width}}" + "".join(f"{_cell(ratios[key]):>{width}}" for ratios in ratio_rows))


def print_missing(missing):
    grouped = {}
    for entry in missing:
        grouped.setdefault((entry["row"], entry["why"]), []).append(entry["bs"])
    if grouped:
        print("\nmissing rows:")
    for (name, why), sizes in grouped.items():
        lines = why.splitlines() or [""]
        print(f"  {name} at bs {','.join(map(str, sizes))}: {lines[0]}")
        for line in lines[1:]:
            print(f"      {line}")


def _batch_sizes(text, parser, what="--bs", limit=None):
    limit = draftjit.MAX_BS if limit is None else limit
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        parser.error(f"{what} takes comma-separated integers, got {text!r}")
    if not sizes:
        parser.error(f"{what} lists no value")
    for bs in sizes:
        if not 1 <= bs <= limit:
            parser.error(f"{what} {bs}: each value must be in 1..{limit}")
    return sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Rows, ratios and the JSON layout: see the docstring of this file.")
    parser.add_argument("--calls", type=int, default=2000, help="calls per median, and per async loop (2000)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds per bs; each row reports the median of its per-round values (3)")
    parser.add_argument("--bs", help=f"comma-separated batch sizes ({DEFAULT_BS}; with --dsa {DSA_DEFAULT_BS})")
    parser.add_argument("--dsa", action="store_true",
                        help="time the DSA metadata calls (draftjit.sglang.fused_dsa_*_metadata) instead")
    parser.add_argument("--ctx", default=DSA_DEFAULT_CTX,
                        help=f"--dsa: comma-separated contexts, max_len / max_seqlen_k ({DSA_DEFAULT_CTX})")
    parser.add_argument("--modes", default=",".join(DSA_MODES),
                        help=f"--dsa: comma-separated modes ({','.join(DSA_MODES)})")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument("--floor-build-dir",
                        help="build the C++-op floor here and keep it (default: a temporary directory)")
    parser.add_argument("--no-floor-op", action="store_true",
                        help="do not build the C++-op floor (its rows are reported missing)")
    options = parser.parse_args()
    if options.calls < 1 or options.rounds < 1:
        parser.error("--calls and --rounds must be at least 1")
    if _import_errors:
        sys.exit("python_bench: cannot run: " + "; ".join(f"import {k}: {v}" for k, v in _import_errors.items()))
    if not torch.cuda.is_available():
        sys.exit("python_bench: torch sees no CUDA device")
    batch_sizes = _batch_sizes(options.bs or (DSA_DEFAULT_BS if options.dsa else DEFAULT_BS), parser)
    contexts = _batch_sizes(options.ctx, parser, what="--ctx", limit=1 << 24)
    modes = [mode.strip() for mode in options.modes.split(",") if mode.strip()]
    if not modes or any(mode not in DSA_MODES for mode in modes):
        parser.error(f"--modes takes some of {','.join(DSA_MODES)}, got {options.modes!r}")

    device = torch.cuda.get_device_name()
    capability = "%d.%d" % torch.cuda.get_device_capability()
    print(f"device: {device} (compute capability {capability}); torch {torch.__version__} (CUDA "
          f"{torch.version.cuda}), triton {triton.__version__ or 'not importable'}, draftjit {draftjit.__version__}; "
          f"{options.calls} calls per median, {options.rounds} interleaved rounds per bs (median of the per-round "
          f"values); us per call", flush=True)
    if options.dsa:
        print("command: python3 " + " ".join(sys.argv), flush=True)

    floor_info = build_floor_op(options)
    if floor_info["built"]:
        print(f"C++-op floor: torch.ops.draftjit_bench built for {floor_info['arch']} ({floor_info['gencode']}) in "
              f"{floor_info['build_s']} s", flush=True)
    else:
        print("C++-op floor: MISSING (its rows, FLOOR_ROWS, and the ratios over them are left out):")
        for line in floor_info["error"].splitlines():
            print(f"  {line}")
        sys.stdout.flush()
    if options.dsa:
        header = {"device": device, "capability": capability, "calls": options.calls, "rounds": options.rounds,
                  "torch": torch.__version__, "cuda": torch.version.cuda, "triton": triton.__version__,
                  "draftjit": draftjit.__version__}
        main_dsa(options, floor_info, header, modes, contexts, batch_sizes)
        return

    try:
        shim, shim_error = importlib.import_module("draftjit.sglang").fill_draft_extend_metadata_cuda_adaptive, None
    except Exception as error:  # noqa: BLE001
        shim, shim_error = None, f"{type(error).__name__}: {error}"

    rows, ratio_rows, round_medians, missing = [], [], [], []
    for bs in batch_sizes:
        start = time.perf_counter()
        row, medians, gone = run_bs(bs, options, floor_info, shim, shim_error)
        rows.append(row)
        round_medians.append(medians)
        missing.extend(gone)
        ratio_rows.append({"bs": bs, **{key: f(row) for key, f in RATIOS}})
        print(f"bs {bs}: {row['tokens']} tokens, {sum(v is not None for k, v in row.items() if k in KIND)} rows "
              f"timed in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)

    print()
    print_tables(rows, ratio_rows)
    print_missing(missing)
    if options.json:
        with open(options.json, "w") as out:
            json.dump({"device": device, "capability": capability, "calls": options.calls, "rounds": options.rounds,
                       "torch": torch.__version__, "cuda": torch.version.cuda, "triton": triton.__version__,
                       "draftjit": draftjit.__version__, "floor_op": floor_info,
                       "columns": {name: {"kind": kind, "floor": floor, "what": what}
                                   for name, kind, floor, what in COLUMNS},
                       "rows": rows, "ratios": ratio_rows, "round_medians": round_medians, "missing": missing},
                      out, indent=1)


if __name__ == "__main__":
    main()
