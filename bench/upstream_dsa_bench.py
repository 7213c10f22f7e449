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
("ok", else "MISMATCH" and the first difference). Then, per implementation, GPU time per call by CUDA events: "us", N
back-to-back calls (launch-bound where the kernel is short: it includes the host's launch path), and "graph", 20 calls
captured in one CUDA graph (one node each) and replayed N times, per call; N is --calls, fewer where a call is long
(each repeat stays near 10 ms), the median of --repeats repeats. Floors from the same run: an empty Triton kernel (back
to back and replayed in a graph, once per run) and per point "copy floor", one device-to-device copy_ of the bytes the
call writes (live page-table cells, rounded to upstream's 128-column blocks, plus the 1-D outputs), replayed in a graph.
Cold first call: in a fresh subprocess with empty TRITON_CACHE_DIR and DRAFTJIT_CACHE_DIR, the wall time of each
implementation's first call (compile included) at a couple of points.

req_to_token has the widest table's row stride for every width of a bs (--r2t-stride widest, as a server's
req_to_token has its context length whatever the graph's table width): upstream's kernels specialise on that
stride, so one compile serves all widths. Points whose buffers exceed --mem-gib (default 24) are skipped, and groups
not started by --time-limit seconds (default 330) are listed as not reached. The flags, the timing, the floors, the
cold runs and the report are bench/side_by_side.py's, shared with bench/upstream_trtllm_mha_bench.py.

Output: a markdown table per mode, and with --json PATH {"device", "torch", "triton", "upstream", "calls", "repeats",
"r2t_stride", "empty_kernel": {"eager_us", "graph_us"}, "points": [{"mode", "bs", "width", "live", "page_size",
"written_bytes", "check", "upstream_us", "draftjit_us", "ratio", "graph_upstream_us", "graph_draftjit_us",
"graph_ratio", "copy_us", "copy_graph_us", "calls"}], "skipped", "not_reached", "cold"}."""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python", "tests"))
sys.path.insert(0, HERE)

import upstream_sglang  # noqa: E402
from side_by_side import (Timer, add_run_flags, cold_runs, grid_parser, live_lengths, measure_grid,  # noqa: E402
                          new_report, parse_grid, point_spec, print_first_calls, summarize, write_poisoned)

MODES = ("decode", "verify", "extend")
BLOCK_N = 128             # upstream's column block: a row is written up to its kv length rounded up to it
QUICK = {"bs": "1,64", "widths": "4096,131072", "calls": 50, "repeats": 2}
COLD_POINTS = (("decode", 32, 32768, "short", 64), ("extend", 128, 4096, "long", 1))


def shape_of(mode, bs, width, page_size, options):
    from upstream_dsa_case import Shape
    kpool_file = page_size > 1
    return Shape.of(mode, bs, width, variant="kpool" if kpool_file else "main", page_size=page_size,
                    kpool=4 if kpool_file else 1, page_table_1=not (kpool_file and options.no_page_table_1),
                    next_n=2, max_ext=2, static=not options.dynamic_extend)


def lengths(shape, live, seed):
    """A draw with the point's live lengths (side_by_side.live_lengths, as int64: at least 2, so no request is below
    its 2 extend tokens): kv (seq_len, + next_n in verify) stays within the width."""
    import torch
    from upstream_dsa_case import draw
    d = draw(shape, "short", seed, padded=False)
    d.seq = live_lengths(shape.bs, shape.width, live, seed).to(torch.int64)
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
        from upstream_dsa_case import differences
        write_poisoned(self)
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


def measure_group(group, widths, upstream, ours):
    import torch
    options = group.options
    stride_width = max(widths)
    r2t = None
    for width in widths:
        shape = shape_of(group.mode, group.bs, width, group.page_size, options)
        draws = {live: lengths(shape, live, seed=group.bs * 7919 + width) for live in options.lives}
        written = {live: written_bytes(shape, d) for live, d in draws.items()}
        outputs, largest = buffer_bytes(shape)
        r2t_bytes = 4 * shape.pool_rows * (stride_width if options.r2t_stride == "widest" else width)
        if not group.fits(width, r2t_bytes + 2 * outputs + largest + 2 * max(written.values())):
            continue
        if r2t is None or options.r2t_stride == "width":
            r2t = None  # the last one's memory goes back first
            r2t = requests_for(shape, stride_width if options.r2t_stride == "widest" else width, seed=group.bs)
        point = Point(shape, r2t[:, :width], upstream, ours)
        group.measure(width, point, draws, written)
        del point
        torch.cuda.empty_cache()


def lone_point(spec, options):
    """The point of a --cold-child or --profile-point run, on its own req_to_token."""
    mode, bs, width, live, page_size = spec
    upstream, ours = setup(options)
    shape = shape_of(mode, bs, width, page_size, options)
    point = Point(shape, requests_for(shape, width, seed=1), upstream, ours)
    point.load(lengths(shape, live, seed=2))
    return point


def cold_child(spec):
    options = argparse.Namespace(no_page_table_1=False, dynamic_extend=False)
    print_first_calls(spec, lone_point(spec, options).calls())


def profile(options, spec):
    import torch
    mode, bs, width, live, page_size = spec
    point = lone_point(spec, options)
    print(f"check: {point.check()}")
    call = point.calls()[options.profile_impl == "draftjit"]
    torch.cuda.synchronize()
    with torch.cuda.nvtx.range(f"{options.profile_impl} {mode} bs {bs} width {width} {live} P {page_size}"):
        for _ in range(options.calls):
            call()
    torch.cuda.synchronize()


def parse(argv):
    parser = grid_parser(__doc__.split("\n\n")[0], MODES, widths="4096,32768,131072,1048576", page_sizes="1,64")
    parser.add_argument("--no-page-table-1", action="store_true", help="page_table_1 None at page size 64")
    parser.add_argument("--dynamic-extend", action="store_true", help="static_extend_len False in draft extend")
    parser.add_argument("--r2t-stride", choices=("widest", "width"), default="widest")
    add_run_flags(parser, QUICK)
    parser.add_argument("--profile-point", help="MODE,BS,WIDTH,LIVE,P: only that point's call, --calls times")
    parser.add_argument("--profile-impl", choices=("draftjit", "upstream"), default="draftjit")
    return parse_grid(parser, argv, QUICK)


def main(argv=None):
    options = parse(argv)
    if options.cold_child:
        return cold_child(point_spec(options.cold_child))
    if options.profile_point:
        return profile(options, point_spec(options.profile_point))
    upstream, ours = setup(options)
    timer = Timer(options.calls, options.repeats)
    report = new_report(options, timer, upstream.base, r2t_stride=options.r2t_stride)
    measure_grid(options, timer, report, lambda group, widths: measure_group(group, widths, upstream, ours))
    report["points"].sort(key=lambda r: (MODES.index(r["mode"]), r["page_size"], r["bs"], r["width"]))
    report["cold"] = cold_runs(os.path.abspath(__file__), COLD_POINTS, options)
    print(f"{report['device']}, torch {report['torch']}, triton {report['triton']}; upstream from {report['upstream']}")
    return summarize(report, options, MODES)


if __name__ == "__main__":
    sys.exit(main())
