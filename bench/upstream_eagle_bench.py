"""Upstream SGLang's EAGLE draft-cache-location Triton kernel (assign_draft_cache_locs_contiguous), and its draft
decode KV indices kernel (generate_draft_decode_kv_indices, mode draft-kv), and draftjit.sglang's drop-ins side by side,
in GPU time.

usage: DRAFTJIT_UPSTREAM_SGLANG=$PWD/.upstream-sglang PYTHONPATH=build-device/python \\
           python3 bench/upstream_eagle_bench.py [--calls N] [--repeats R] [--modes k1s3,k4s3,k8s5,draft-kv]
           [--bs 1,8,...] [--widths 4096,32768,131072] [--lives short,long] [--mem-gib G] [--time-limit S]
           [--no-cold] [--quick] [--json PATH]

Upstream's file loads as python/tests/upstream_eagle.py says (from DRAFTJIT_UPSTREAM_SGLANG), and both are launched
as SGLang's prepare_for_draft launches upstream's: kernel[(bs,)](req_pool_indices, req_to_token, seq_lens,
out_cache_loc, req_to_token.shape[1], topk, steps). A point is (mode, bs, table width in tokens, live): mode "kTsS"
is topk T and S steps (k1s3: an EAGLE chain; k4s3, k8s5: trees); req_to_token has bs + 3 rows of the width,
req_pool_indices and seq_lens are int64 as SGLang's batch holds them; live "short" puts each run's start in
[0, min(3000, width - C)], "long" in [width / 2, width - C]. The page-size column of the shared report is 1: the
kernel has none.

Mode draft-kv (topk 4, 3 steps) launches both generate_draft_decode_kv_indices as the multi-step draft backends do:
kernel[(steps, bs, topk)](req_pool_indices, req_to_token, paged_kernel_lens, kv_indices [steps, Wk] int32,
kv_indptr [steps, bs * topk + 1] int32, positions (the lengths, each topk times), req_to_token.shape[1], Wk,
bs * topk + 1, next_power_of_2(bs), next_power_of_2(steps), next_power_of_2(bs * topk), 1); live draws the lengths
as it draws the starts above (C = topk * steps + steps), and the bytes a call writes are the kv_indices rows' used
entries and kv_indptr.

Per point both write poisoned twin out_cache_loc buffers, which must then be equal bit for bit ("ok", else
"MISMATCH"), then each is timed as bench/upstream_trtllm_mha_bench.py times its kernels (bench/side_by_side.py's
Timer: back to back, and per node of a captured graph), beside an empty Triton kernel and a device copy of the bytes
a call writes (bs * C int64 entries); cold first calls in fresh subprocesses with empty caches. --json PATH writes
the report as side_by_side.py makes it."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python", "tests"))
sys.path.insert(0, HERE)

import upstream_eagle  # noqa: E402
from side_by_side import (Timer, add_run_flags, cold_runs, grid_parser, measure_grid, new_report,  # noqa: E402
                          parse_grid, point_spec, print_first_calls, summarize, write_poisoned)

MODES = {"k1s3": (1, 3), "k4s3": (4, 3), "k8s5": (8, 5), "draft-kv": (4, 3)}  # (topk, steps)
POISON32 = 0x7F7F7F7F
POISON64 = 0x7F7F7F7F7F7F7F7F
SLOTS = 1 << 22  # KV slots the table's tokens name
QUICK = {"bs": "1,64", "widths": "4096,131072", "calls": 50, "repeats": 2}
COLD_POINTS = (("k1s3", 32, 32768, "short", 1), ("k4s3", 128, 4096, "long", 1), ("draft-kv", 32, 4096, "short", 1))


def next_pow2(n):
    return 1 << (n - 1).bit_length() if n > 0 else 1


def reach(mode):
    """The columns a request uses past its start (cache locations) or its length (draft KV: every branch's steps)."""
    topk, steps = MODES[mode]
    return topk * steps + (steps if mode == "draft-kv" else 0)


def run_starts(bs, width, live, run, seed):
    import torch
    gen = torch.Generator().manual_seed(seed)
    last = max(width - run, 0)
    low, high = (0, min(3000, last)) if live == "short" else (min(width // 2, last), last)
    return torch.randint(low, high + 1, (bs,), generator=gen, dtype=torch.int64)


class Twin:
    def __init__(self, bs, run):
        import torch
        self.outputs = {"out_cache_loc": torch.full((bs * run,), POISON64, dtype=torch.int64, device="cuda")}

    def poison(self):
        self.outputs["out_cache_loc"].fill_(POISON64)


class KvTwin:
    """One side's poisoned kv_indices [steps, width] and kv_indptr [steps, bs * topk + 1]."""

    def __init__(self, steps, width, tokens):
        import torch
        self.outputs = {"kv_indices": torch.full((steps, width), POISON32, dtype=torch.int32, device="cuda"),
                        "kv_indptr": torch.full((steps, tokens + 1), POISON32, dtype=torch.int32, device="cuda")}

    def poison(self):
        for output in self.outputs.values():
            output.fill_(POISON32)


class KvPoint:
    """A draft-kv point: a bs's table and lengths (load), positions from them, twins of room for `most` tokens."""

    def __init__(self, bs, width, most, upstream, ours, seed):
        import torch
        gen = torch.Generator(device="cuda").manual_seed(seed)
        self.bs, self.width = bs, width
        self.topk, self.steps = MODES["draft-kv"]
        self.r2t = torch.randint(0, SLOTS, (bs + 3, width), generator=gen, dtype=torch.int32, device="cuda")
        self.pool = torch.randperm(bs + 3, device="cuda")[:bs]
        self.seq = torch.zeros(bs, dtype=torch.int64, device="cuda")
        self.positions = torch.zeros(bs * self.topk, dtype=torch.int64, device="cuda")
        self.kv_width = max(self.topk * (most + bs * self.steps), 1)
        self.theirs, self.mine = (KvTwin(self.steps, self.kv_width, bs * self.topk) for _ in range(2))
        self.kernels = (upstream.generate_draft_decode_kv_indices, ours.generate_draft_decode_kv_indices)

    def load(self, seq):
        self.seq.copy_(seq)
        self.positions.copy_(seq.repeat_interleave(self.topk))

    def calls(self):
        """(upstream's call, draftjit's call), each on its twin, launched as the draft backends launch them."""
        tokens = self.bs * self.topk
        return [lambda kernel=kernel, out=twin.outputs: kernel[(self.steps, self.bs, self.topk)](
                    self.pool, self.r2t, self.seq, out["kv_indices"], out["kv_indptr"], self.positions,
                    self.r2t.shape[1], self.kv_width, tokens + 1, next_pow2(self.bs), next_pow2(self.steps),
                    next_pow2(tokens), 1)
                for kernel, twin in zip(self.kernels, (self.theirs, self.mine))]

    def check(self):
        import torch
        write_poisoned(self)
        for name in ("kv_indices", "kv_indptr"):
            mine, theirs = self.mine.outputs[name].flatten(), self.theirs.outputs[name].flatten()
            if not torch.equal(mine, theirs):
                where = int((mine != theirs).nonzero()[0])
                return f"MISMATCH {name}[{where}]: draftjit {int(mine[where])}, upstream {int(theirs[where])}"
        return "ok"


class Point:
    """A point's inputs (a bs's table, a run's starts) and twins; upstream's kernel and draftjit's drop-in."""

    def __init__(self, mode, bs, width, upstream, ours, seed):
        import torch
        gen = torch.Generator(device="cuda").manual_seed(seed)
        self.bs, self.width = bs, width
        self.topk, self.steps = MODES[mode]
        self.r2t = torch.randint(0, SLOTS, (bs + 3, width), generator=gen, dtype=torch.int32, device="cuda")
        self.pool = torch.randperm(bs + 3, device="cuda")[:bs]
        self.seq = torch.zeros(bs, dtype=torch.int64, device="cuda")
        run = self.topk * self.steps
        self.theirs, self.mine = Twin(bs, run), Twin(bs, run)
        self.kernels = (upstream.assign_draft_cache_locs_contiguous, ours.assign_draft_cache_locs_contiguous)

    def load(self, seq):
        self.seq.copy_(seq)

    def calls(self):
        """(upstream's call, draftjit's call), each on its twin, launched as prepare_for_draft launches them."""
        return [lambda kernel=kernel, out=twin.outputs["out_cache_loc"]: kernel[(self.bs,)](
                    self.pool, self.r2t, self.seq, out, self.r2t.shape[1], self.topk, self.steps)
                for kernel, twin in zip(self.kernels, (self.theirs, self.mine))]

    def check(self):
        import torch
        write_poisoned(self)
        mine, theirs = self.mine.outputs["out_cache_loc"], self.theirs.outputs["out_cache_loc"]
        if torch.equal(mine, theirs):
            return "ok"
        where = int((mine != theirs).nonzero()[0])
        return f"MISMATCH out_cache_loc[{where}]: draftjit {int(mine[where])}, upstream {int(theirs[where])}"


def setup():
    why = upstream_eagle.CACHE_LOCS.missing()
    if why:
        sys.exit(f"upstream_eagle_bench: {why}")
    from draftjit import sglang as ours
    return upstream_eagle.CACHE_LOCS.load(), ours  # the one module holds both kernels (upstream_eagle.DRAFT_KV)


def make_point(mode, bs, width, draws, upstream, ours, seed):
    if mode == "draft-kv":
        most = max(int(draw.sum()) for draw in draws)
        return KvPoint(bs, width, most, upstream, ours, seed)
    return Point(mode, bs, width, upstream, ours, seed)


def measure_group(group, widths, upstream, ours):
    topk, steps = MODES[group.mode]
    run, bs = reach(group.mode), group.bs
    for width in widths:
        draws = {live: run_starts(bs, width, live, run, seed=bs * 7919 + width) for live in group.options.lives}
        if group.mode == "draft-kv":  # kv_indices' used entries and kv_indptr's, of int32, per step
            written = {live: 4 * steps * (topk * (int(draw.sum()) + bs * steps) + bs * topk) for live, draw in
                       draws.items()}
            room = 2 * max(written.values())  # the twins
        else:
            written = {live: 8 * bs * run for live in draws}
            room = 4 * 8 * bs * run
        if not group.fits(width, 4 * (bs + 3) * width + room):
            continue
        point = make_point(group.mode, bs, width, list(draws.values()), upstream, ours, seed=bs + width)
        group.measure(width, point, {live: draw.cuda() for live, draw in draws.items()}, written)
        del point


def cold_child(spec):
    mode, bs, width, live, _ = spec
    upstream, ours = setup()
    draw = run_starts(bs, width, live, reach(mode), seed=3)
    point = make_point(mode, bs, width, [draw], upstream, ours, seed=2)
    point.load(draw.cuda())
    print_first_calls(spec, point.calls())


def parse(argv):
    parser = grid_parser(__doc__.split("\n\n")[0], tuple(MODES), widths="4096,32768,131072", page_sizes="1",
                         widths_help="req_to_token's width in tokens")
    add_run_flags(parser, QUICK)
    options = parse_grid(parser, argv, QUICK, known_modes=tuple(MODES))
    if options.page_sizes != [1]:
        parser.error("the kernel has no page size: --page-sizes is 1")
    return options


def main(argv=None):
    options = parse(argv)
    if options.cold_child:
        return cold_child(point_spec(options.cold_child))
    upstream, ours = setup()  # before importing torch: says what is missing
    timer = Timer(options.calls, options.repeats)
    report = new_report(options, timer, upstream_eagle.CACHE_LOCS.path())
    measure_grid(options, timer, report, lambda group, widths: measure_group(group, widths, upstream, ours))
    report["points"].sort(key=lambda r: (list(MODES).index(r["mode"]), r["bs"], r["width"], r["live"]))
    report["cold"] = cold_runs(os.path.abspath(__file__), COLD_POINTS, options)
    print(f"{report['device']}, torch {report['torch']}, triton {report['triton']}; upstream {report['upstream']}")
    return summarize(report, options, tuple(MODES))


if __name__ == "__main__":
    sys.exit(main())
