"""Upstream SGLang's DSA metadata Triton kernels and draftjit.sglang's drop-ins side by side, in GPU time.

usage: DRAFTJIT_UPSTREAM_SGLANG=$PWD/.upstream-sglang PYTHONPATH=build-device/python \\
           python3 bench/upstream_dsa_bench.py [--calls N] [--repeats R] [--modes decode,verify,extend]
           [--bs 1,8,...] [--widths 4096,...] [--lives short,long] [--page-sizes 1,64] [--no-page-table-1]
           [--dynamic-extend] [--r2t-stride widest|width] [--mem-gib G] [--time-limit S] [--no-cold] [--quick]
           [--json PATH]
       ... bench/upstream_dsa_bench.py --profile-point MODE,BS,WIDTH,LIVE,P [--profile-impl draftjit|upstream]
           [--calls N]      (one point's call in a loop, e.g. under Nsight Compute)

Upstream's files load as python/tests/upstream_sglang.py says; the point's buffers and both functions' arguments
come from python/tests/upstream_dsa_case.py, as in the differential test. A point is (mode, bs, table width, live
lengths, page size P): verify with next_n 2, draft extend with 2 tokens per request (static_extend_len, upstream's
production path, unless --dynamic-extend), dsa_index_topk 2048; P 1 calls upstream's dsa_metadata.py (index_kpool 1),
P 64 its KPool file (physical_page_size, index_kpool 4); page_table_1 given (--no-page-table-1: None at P 64).
Live lengths: "short" uniform in [2, min(3000, width - 2)], "long" in [width / 2, width - 2].

Per point, before timing, both functions write poisoned twin buffers and every output must be the same bit for bit
("ok", else "MISMATCH" and the first difference). Then, per implementation, GPU time per call by CUDA events:
"us", N back-to-back calls (launch-bound where the kernel is short: it includes the host's launch path), and "graph",
20 calls captured in one CUDA graph (one node each) and replayed N times, per call; N is --calls, fewer where a call
is long (each repeat stays near 10 ms), the median of --repeats repeats. Floors from the same run: an empty Triton kernel (back to back and
replayed in a graph, once per run) and per point "copy floor", one device-to-device copy_ of the bytes the call
writes (live page-table cells, rounded to upstream's 128-column blocks, plus the 1-D outputs), replayed in a graph.
Cold first call: in a fresh subprocess with empty TRITON_CACHE_DIR and DRAFTJIT_CACHE_DIR, the wall time of each
implementation's first call (compile included) at a couple of points.

req_to_token has the widest table's row stride for every width of a bs (--r2t-stride widest, as a server's
req_to_token has its context length whatever the graph's table width): upstream's kernels specialise on that
stride, so one compile serves all widths. Points whose buffers exceed --mem-gib (default 24) are skipped, and groups
not started by --time-limit seconds (default 330) are listed as not reached.

Output: a markdown table per mode, and with --json PATH {"device", "torch", "triton", "calls", "repeats",
"empty_kernel": {"eager_us", "graph_us"}, "points": [{"mode", "bs", "width", "live", "page_size", "written_bytes",
"check", "upstream_us", "draftjit_us", "ratio", "graph_upstream_us", "graph_draftjit_us", "graph_ratio",
"copy_us", "copy_graph_us", "calls"}], "skipped", "not_reached", "cold"}."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python", "tests"))

import upstream_sglang  # noqa: E402

MODES = ("decode", "verify", "extend")
BLOCK_N = 128             # upstream's column block: a row is written up to its kv length rounded up to it
REPEAT_SECONDS = 0.01     # GPU time one repeat aims at, so long calls take few repeats of few calls
GRAPH_NODES = 20          # calls captured in one graph for the "graph" figures
QUICK = {"bs": "1,64", "widths": "4096,131072", "calls": 50, "repeats": 2}
COLD_POINTS = (("decode", 32, 32768, "short", 64), ("extend", 128, 4096, "long", 1))


def shape_of(mode, bs, width, page_size, options):
    from upstream_dsa_case import Shape
    kpool_file = page_size > 1
    return Shape.of(mode, bs, width, variant="kpool" if kpool_file else "main", page_size=page_size,
                    kpool=4 if kpool_file else 1, page_table_1=not (kpool_file and options.no_page_table_1),
                    next_n=2, max_ext=2, static=not options.dynamic_extend)


def lengths(shape, live, seed):
    """A draw with the point's live lengths: kv (seq_len, + next_n in verify) stays within the width."""
    import torch
    from upstream_dsa_case import draw
    d = draw(shape, "short", seed, padded=False)
    gen = torch.Generator().manual_seed(seed)
    high = max(shape.width - 2, 2)
    low = 2 if live == "short" else max(shape.width // 2, 2)  # 2: no request below its 2 extend tokens
    high = min(3000, high) if live == "short" else high
    d.seq = torch.randint(low, high + 1, (shape.bs,), generator=gen)
    d.live = live
    if shape.mode == "extend":  # every request max_ext tokens, whether or not static_extend_len says so
        d.ext = torch.full((shape.bs,), shape.max_ext, dtype=torch.int64)
        d.total = shape.bs * shape.max_ext
    return d


def written_bytes(shape, d):
    """Bytes the call writes: each row's columns up to its kv length rounded up to 128 (capped at the width) in
    page_table_1, every P-th of them in real_page_table, and the 1-D outputs."""
    import torch
    kv = d.seq + (shape.next_n if shape.mode == "verify" else 0)
    cols = torch.clamp((kv + BLOCK_N - 1) // BLOCK_N * BLOCK_N, 0, shape.width)
    rows = {"decode": torch.ones_like(kv), "verify": torch.full_like(kv, shape.next_n), "extend": d.ext}[shape.mode]
    cells = int((rows * cols).sum()) if shape.page_table_1 else 0
    if shape.page_size > 1:
        cells += int((rows * ((cols + shape.page_size - 1) // shape.page_size)).sum())
    per_row = int(rows.sum())
    cells += 2 * shape.bs + 1 + 2 * per_row + 1 + (per_row if shape.mode != "decode" else 0)
    return 4 * cells


def buffer_bytes(shape):
    """One twin's outputs, and the largest one's element count (torch.equal's temporary holds a byte each)."""
    rows = shape.rows
    tables = [rows * shape.width] if shape.page_table_1 else []
    tables += [rows * shape.real_cols] if shape.page_size > 1 else []
    return 4 * (sum(tables) + 5 * rows + 2 * shape.bs), max(tables)


class Timer:
    """GPU time per call of fn by CUDA events, as the median over repeats of `calls` back-to-back calls (fewer where
    one call is long)."""

    def __init__(self, calls, repeats):
        import torch
        self.torch, self.calls, self.repeats = torch, calls, repeats

    def __call__(self, fn):
        torch = self.torch
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        fn()
        start.record()
        fn()
        end.record()
        end.synchronize()
        one = start.elapsed_time(end) / 1e3
        n = max(3, min(self.calls, int(REPEAT_SECONDS / max(one, 1e-7))))
        times = []
        for _ in range(self.repeats):
            start.record()
            for _ in range(n):
                fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) * 1e3 / n)
        return statistics.median(times), n

    def graph(self, fn):
        """The same per call for GRAPH_NODES calls captured in one CUDA graph (one node each, as the step's metadata
        is one node of a decode step's graph) and replayed: the graph's own launch is spread over its nodes, so what
        is left is each node's GPU time and its gap to the next."""
        torch = self.torch
        fn()
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(GRAPH_NODES):
                fn()
        per_replay, n = self(graph.replay)
        del graph
        return per_replay / GRAPH_NODES, n


def empty_kernel_times(timer):
    import torch
    import triton

    @triton.jit
    def _empty(x):
        pass

    buffer = torch.zeros(1, device="cuda")
    launch = lambda: _empty[(1,)](buffer)  # noqa: E731
    return {"eager_us": timer(launch)[0], "graph_us": timer.graph(launch)[0]}


class Point:
    """A point's twins (upstream's, draftjit's; one req_to_token), loaded with a live draw."""

    def __init__(self, shape, r2t, upstream, ours):
        from upstream_dsa_case import Twin
        self.shape = shape
        self.theirs, self.mine = Twin(shape, r2t), Twin(shape, r2t)
        self.functions = (upstream.functions(shape.variant)[shape.mode],
                          getattr(ours, upstream_sglang.FUNCTIONS[shape.mode]))

    def load(self, d):
        self.theirs.load(d)
        self.mine.load(d)

    def calls(self):
        """(upstream's call, draftjit's call), each with its twin's arguments."""
        result = []
        for function, twin in zip(self.functions, (self.theirs, self.mine)):
            args, kwargs = twin.arguments()
            result.append(lambda f=function, a=args, k=kwargs: f(*a, **k))
        return result

    def check(self):
        import torch
        from upstream_dsa_case import differences
        self.theirs.poison()
        self.mine.poison()
        for call in self.calls():
            call()
        torch.cuda.synchronize()
        problems = differences(self.mine, self.theirs)
        return "ok" if not problems else "MISMATCH " + problems[0]


def setup(options):
    why = upstream_sglang.missing()
    if why:
        sys.exit(f"upstream_dsa_bench: {why}")
    from draftjit import sglang as ours
    return upstream_sglang.load(), ours


def requests_for(shape, stride_width, seed):
    """req_to_token for a bs: bs + 3 rows of `stride_width` columns; a point of a narrower width takes a column
    slice, so its row stride stays stride_width."""
    from upstream_dsa_case import requests_table
    return requests_table(shape.__class__.of(shape.mode, shape.bs, stride_width), seed)


def measure_group(mode, page_size, bs, widths, options, upstream, ours, timer, report):
    import torch
    budget = options.mem_gib * 2**30
    stride_width = max(widths)
    r2t = None
    for width in widths:
        shape = shape_of(mode, bs, width, page_size, options)
        draws = {live: lengths(shape, live, seed=bs * 7919 + width) for live in options.lives}
        floor_bytes = max(written_bytes(shape, d) for d in draws.values())
        outputs, largest = buffer_bytes(shape)
        r2t_bytes = 4 * shape.pool_rows * (stride_width if options.r2t_stride == "widest" else width)
        need = r2t_bytes + 2 * outputs + largest + 2 * floor_bytes
        if need > budget:
            for live in options.lives:
                report["skipped"].append({"mode": mode, "bs": bs, "width": width, "live": live,
                                          "page_size": page_size, "why": f"{need / 2**30:.1f} GiB > {options.mem_gib}"})
            continue
        if r2t is None or options.r2t_stride == "width":
            r2t = None  # the last one's memory goes back first
            r2t = requests_for(shape, stride_width if options.r2t_stride == "widest" else width, seed=bs)
        point = Point(shape, r2t[:, :width], upstream, ours)
        source = torch.empty(floor_bytes // 4, dtype=torch.int32, device="cuda")
        target = torch.empty_like(source)
        for live, d in draws.items():
            point.load(d)
            check = point.check()
            theirs, mine = point.calls()
            row = {"mode": mode, "bs": bs, "width": width, "live": live, "page_size": page_size,
                   "written_bytes": written_bytes(shape, d), "check": check}
            row["upstream_us"], n_theirs = timer(theirs)
            row["draftjit_us"], n_mine = timer(mine)
            row["graph_upstream_us"], _ = timer.graph(theirs)
            row["graph_draftjit_us"], _ = timer.graph(mine)
            n = row["written_bytes"] // 4
            copy = lambda n=n: target[:n].copy_(source[:n])  # noqa: E731
            row["copy_us"], _ = timer(copy)
            row["copy_graph_us"], _ = timer.graph(copy)
            row["ratio"] = row["draftjit_us"] / row["upstream_us"]
            row["graph_ratio"] = row["graph_draftjit_us"] / row["graph_upstream_us"]
            row["calls"] = {"upstream": n_theirs, "draftjit": n_mine}
            report["points"].append(row)
            print(f"  {mode} bs {bs} width {width} {live} P {page_size}: {check.split(' ')[0]}", file=sys.stderr)
        del point, source, target
        torch.cuda.empty_cache()


def cold_child(spec):
    """In a fresh process with empty caches: the wall time of each implementation's first call, then its second."""
    import torch
    options = argparse.Namespace(no_page_table_1=False, dynamic_extend=False)
    mode, bs, width, live, page_size = spec
    upstream, ours = setup(options)
    shape = shape_of(mode, bs, width, page_size, options)
    point = Point(shape, requests_for(shape, width, seed=1), upstream, ours)
    point.load(lengths(shape, live, seed=2))
    torch.cuda.synchronize()  # CUDA's context and the buffers are ready before the clock starts
    result = {"mode": mode, "bs": bs, "width": width, "live": live, "page_size": page_size}
    for name, call in zip(("upstream", "draftjit"), point.calls()):
        for which in ("first", "second"):
            start = time.perf_counter()
            call()
            torch.cuda.synchronize()
            result[f"{name}_{which}_ms"] = (time.perf_counter() - start) * 1e3
    print(json.dumps(result))


def cold_runs(points):
    results = []
    for spec in points:
        with tempfile.TemporaryDirectory() as triton_cache, tempfile.TemporaryDirectory() as draftjit_cache:
            env = dict(os.environ, TRITON_CACHE_DIR=triton_cache, DRAFTJIT_CACHE_DIR=draftjit_cache)
            done = subprocess.run([sys.executable, os.path.abspath(__file__), "--cold-child",
                                   ",".join(str(v) for v in spec)], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            results.append({"point": list(spec), "error": (done.stderr or done.stdout)[-2000:]})
        else:
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def profile(options, spec):
    import torch
    mode, bs, width, live, page_size = spec
    upstream, ours = setup(options)
    shape = shape_of(mode, bs, width, page_size, options)
    point = Point(shape, requests_for(shape, width, seed=1), upstream, ours)
    point.load(lengths(shape, live, seed=2))
    print(f"check: {point.check()}")
    call = point.calls()[options.profile_impl == "draftjit"]
    torch.cuda.synchronize()
    with torch.cuda.nvtx.range(f"{options.profile_impl} {mode} bs {bs} width {width} {live} P {page_size}"):
        for _ in range(options.calls):
            call()
    torch.cuda.synchronize()


def cell(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def print_tables(report):
    columns = ("mode", "bs", "width", "live", "P", "upstream us", "draftjit us", "ratio draftjit/upstream",
               "graph upstream", "graph draftjit", "graph ratio", "empty kernel", "copy floor", "check")
    empty = report["empty_kernel"]
    for mode in MODES:
        rows = [r for r in report["points"] if r["mode"] == mode]
        if not rows:
            continue
        print(f"\n### {mode}\n")
        print("| " + " | ".join(columns) + " |")
        print("|" + "---|" * len(columns))
        for r in rows:
            values = (r["mode"], r["bs"], r["width"], r["live"], r["page_size"], cell(r["upstream_us"]),
                      cell(r["draftjit_us"]), cell(r["ratio"], 2), cell(r["graph_upstream_us"]),
                      cell(r["graph_draftjit_us"]), cell(r["graph_ratio"], 2),
                      f"{empty['eager_us']:.1f} / {empty['graph_us']:.1f}", cell(r["copy_graph_us"]),
                      r["check"])
            print("| " + " | ".join(str(v) for v in values) + " |")


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="back-to-back calls per repeat, at most (200)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per time, the median reported (3)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--bs", default="1,8,32,64,128,256,512,1024")
    parser.add_argument("--widths", default="4096,32768,131072,1048576")
    parser.add_argument("--lives", default="short,long")
    parser.add_argument("--page-sizes", default="1,64")
    parser.add_argument("--no-page-table-1", action="store_true", help="page_table_1 None at page size 64")
    parser.add_argument("--dynamic-extend", action="store_true", help="static_extend_len False in draft extend")
    parser.add_argument("--r2t-stride", choices=("widest", "width"), default="widest")
    parser.add_argument("--mem-gib", type=float, default=24.0)
    parser.add_argument("--time-limit", type=float, default=330.0, help="seconds after which no group starts")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold first-call subprocesses")
    parser.add_argument("--quick", action="store_true", help=f"a smoke subset: {QUICK}, one cold point")
    parser.add_argument("--json", help="write the report here")
    parser.add_argument("--profile-point", help="MODE,BS,WIDTH,LIVE,P: only that point's call, --calls times")
    parser.add_argument("--profile-impl", choices=("draftjit", "upstream"), default="draftjit")
    parser.add_argument("--cold-child", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.quick:
        for key, value in QUICK.items():
            if parser.get_default(key) == getattr(options, key):
                setattr(options, key, value)
    options.modes = options.modes.split(",")
    options.lives = options.lives.split(",")
    for key in ("bs", "widths", "page_sizes"):
        setattr(options, key, [int(v) for v in str(getattr(options, key)).split(",")])
    return options


def point_spec(text):
    mode, bs, width, live, page_size = text.split(",")
    return mode, int(bs), int(width), live, int(page_size)


def main(argv=None):
    options = parse(argv)
    if options.cold_child:
        return cold_child(point_spec(options.cold_child))
    if options.profile_point:
        return profile(options, point_spec(options.profile_point))
    import torch
    import triton
    upstream, ours = setup(options)
    timer = Timer(options.calls, options.repeats)
    report = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "triton": triton.__version__,
              "upstream": upstream.base, "calls": options.calls, "repeats": options.repeats,
              "r2t_stride": options.r2t_stride, "empty_kernel": empty_kernel_times(timer), "points": [],
              "skipped": [], "not_reached": [], "cold": []}
    started = time.monotonic()
    for bs in sorted(options.bs):  # smallest first: past the time limit, the largest batches go unmeasured
        for mode in options.modes:
            for page_size in options.page_sizes:
                if time.monotonic() - started > options.time_limit:
                    report["not_reached"].append({"mode": mode, "page_size": page_size, "bs": bs})
                    continue
                measure_group(mode, page_size, bs, sorted(options.widths), options, upstream, ours, timer, report)
    report["points"].sort(key=lambda r: (MODES.index(r["mode"]), r["page_size"], r["bs"], r["width"]))
    if not options.no_cold:
        report["cold"] = cold_runs(COLD_POINTS[:1] if options.quick else COLD_POINTS)
    print(f"{report['device']}, torch {report['torch']}, triton {report['triton']}; upstream from {report['upstream']}")
    print(f"empty Triton kernel: {report['empty_kernel']['eager_us']:.2f} us back to back, "
          f"{report['empty_kernel']['graph_us']:.2f} us per graph node; {options.calls} calls x {options.repeats}")
    print_tables(report)
    for key in ("skipped", "not_reached", "cold"):
        if report[key]:
            print(f"\n{key}:")
            for entry in report[key]:
                print(f"  {json.dumps(entry)}")
    if options.json:
        with open(options.json, "w") as out:
            json.dump(report, out, indent=1)
    bad = [r for r in report["points"] if r["check"] != "ok"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
