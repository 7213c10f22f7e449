"""Upstream SGLang's KV index builders (kv_indices.py's Triton kernels) and draftjit.sglang's drop-ins side by side,
in GPU time.

usage: DRAFTJIT_UPSTREAM_SGLANG=$PWD/.upstream-sglang PYTHONPATH=build-device/python \\
           python3 bench/upstream_kv_indices_bench.py [--calls N] [--repeats R] [--modes flashinfer,entry,mla]
           [--bs 1,8,...] [--widths 4096,131072,1048576] [--lives short,long,mixed] [--page-sizes 16,64] [--mem-gib G]
           [--time-limit S] [--no-cold] [--quick] [--json PATH]

Upstream's file loads as python/tests/upstream_kv_indices.py says (an upstream_sglang.UpstreamFile, from
DRAFTJIT_UPSTREAM_SGLANG). A point is (mode, bs, context width in tokens, live lengths, page size P). Modes:
"flashinfer", create_flashinfer_kv_indices_triton as flashinfer_backend.py launches it for decode (grid (bs,
kv_indices_num_token_blocks(req_to_token's width, bs)), TOKEN_BLOCK_PARALLEL when that is above 1, no kv_start_idx,
ENTRY_PAGE_SIZE 1, kv_indptr the lengths' prefix; P unused, measured once); "entry", the same over a page-granular
table of width / P entries with ENTRY_PAGE_SIZE = P; "mla", create_flashmla_kv_indices_triton as the FlashMLA backend
launches it (grid (bs, get_num_kv_index_blocks_flashmla(width / P, P)), a block table of width / P pages). req_to_token
has bs + 3 rows of the widest width, req_pool_indices are int64 and the lengths int32, as a ForwardBatch holds them.
Live lengths: "short" uniform in [2, min(3000, width - 2)], "long" in [width / 2, width - 2].

Per point, before timing, both implementations write poisoned twin outputs (the inputs shared) and every output must be
the same bit for bit ("ok", else "MISMATCH" and the first difference). Then, per implementation, GPU time per call by
CUDA events (bench/side_by_side.py's Timer): "us", N back-to-back calls, and "graph", 20 calls captured in one CUDA
graph and replayed, per node; the median of --repeats repeats. Floors from the same run: an empty Triton kernel and,
per point, "copy floor", one device-to-device copy_ of the bytes the call writes (the segments, or the live pages).
Cold first call: in a fresh subprocess with empty TRITON_CACHE_DIR and DRAFTJIT_CACHE_DIR, the wall time of each
implementation's first call (compile included) and its second.

Points whose buffers exceed --mem-gib (default 24) are skipped, and groups not started by --time-limit seconds
(default 330) are listed as not reached. The flags, the timing, the floors, the cold runs and the report are
bench/side_by_side.py's, shared with bench/upstream_dsa_bench.py and bench/upstream_trtllm_mha_bench.py.

Output: a markdown table per mode, and with --json PATH the report of those benches (points with "mode", "bs",
"width", "live", "page_size", "written_bytes", "check", the times, ratios and floors)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python", "tests"))
sys.path.insert(0, HERE)

import upstream_kv_indices  # noqa: E402
from side_by_side import (add_run_flags, grid_parser, live_lengths, parse_grid, point_spec,  # noqa: E402
                          print_first_calls, run_points, write_poisoned)

MODES = ("flashinfer", "entry", "mla")
POISON32 = 0x7F7F7F7F
SLOTS = 1 << 22  # KV slots: the tokens req_to_token holds
QUICK = {"bs": "1,64", "widths": "4096,131072", "calls": 50, "repeats": 2}
COLD_POINTS = (("flashinfer", 32, 32768, "short", 64), ("mla", 128, 4096, "long", 64))


def written_bytes(mode, seq, page_size):
    """Bytes a call writes: every token of every segment (int32), or each row's cdiv(L, P) pages."""
    import torch
    if mode == "mla":
        return 4 * int(((seq.to(torch.int64) + page_size - 1) // page_size).sum())
    return 4 * int(seq.to(torch.int64).sum())


class Twin:
    """One implementation's output for a point, poisoned: the CSR stream (bs * width tokens at most) or the block
    table (bs x width / P)."""

    def __init__(self, mode, bs, width, page_size):
        import torch
        shape = (bs, width // page_size) if mode == "mla" else (bs * width,)
        self.outputs = {"kv_indices": torch.full(shape, POISON32, dtype=torch.int32, device="cuda")}

    def poison(self):
        self.outputs["kv_indices"].fill_(POISON32)


class Point:
    """A point's inputs (req_to_token a column slice of the bs's table, or its page-granular table; the lengths and
    their prefix) and twins."""

    def __init__(self, mode, bs, width, page_size, r2t, upstream, ours, seed):
        import torch
        gen = torch.Generator().manual_seed(seed)
        self.mode, self.bs, self.width, self.page_size = mode, bs, width, page_size
        self.entry = page_size if mode == "entry" else 1
        self.r2t = r2t[:, :width // self.entry]
        self.seq = torch.zeros(bs, dtype=torch.int32, device="cuda")
        self.indptr = torch.zeros(bs + 1, dtype=torch.int32, device="cuda")
        self.pool = torch.randperm(r2t.shape[0], generator=gen)[:bs].cuda()
        self.theirs, self.mine = Twin(mode, bs, width, page_size), Twin(mode, bs, width, page_size)
        self.kernels = [(module.create_flashmla_kv_indices_triton if mode == "mla" else
                         module.create_flashinfer_kv_indices_triton) for module in (upstream, ours)]
        self.helpers = upstream

    def load(self, seq):
        import torch
        self.seq.copy_(seq)
        self.indptr[1:] = torch.cumsum(self.seq, dim=0)

    def launch(self, kernel, twin):
        """The call as upstream's backend makes it."""
        out = twin.outputs["kv_indices"]
        if self.mode == "mla":
            pages = self.width // self.page_size
            grid = (self.bs, self.helpers.get_num_kv_index_blocks_flashmla(pages, self.page_size))
            return lambda: kernel[grid](self.r2t, self.pool, self.seq, None, out, self.r2t.stride(0), pages,
                                        PAGED_SIZE=self.page_size)
        blocks = self.helpers.kv_indices_num_token_blocks(self.r2t.shape[1], self.bs)
        return lambda: kernel[(self.bs, blocks)](self.r2t, self.pool, self.seq, self.indptr, None, out,
                                                 self.r2t.stride(0), ENTRY_PAGE_SIZE=self.entry,
                                                 TOKEN_BLOCK_PARALLEL=blocks > 1)

    def calls(self):
        """(upstream's call, draftjit's call), each on its twin."""
        return [self.launch(kernel, twin) for kernel, twin in zip(self.kernels, (self.theirs, self.mine))]

    def check(self):
        import torch
        write_poisoned(self)
        mine, theirs = self.mine.outputs["kv_indices"], self.theirs.outputs["kv_indices"]
        if not torch.equal(mine, theirs):
            where = (mine != theirs).nonzero()[0].tolist()
            return (f"MISMATCH kv_indices{where}: draftjit {mine[tuple(where)].item()}, "
                    f"upstream {theirs[tuple(where)].item()}")
        return "ok"


def setup():
    why = upstream_kv_indices.missing()
    if why:
        sys.exit(f"upstream_kv_indices_bench: {why}")
    from draftjit import sglang as ours
    return upstream_kv_indices.load(), ours


def shared_table(bs, stride_width, seed):
    """req_to_token for a bs: bs + 3 rows of stride_width columns, tokens (or page ids) in [0, SLOTS)."""
    import torch
    gen = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randint(0, SLOTS, (bs + 3, stride_width), generator=gen, dtype=torch.int32, device="cuda")


def measure_group(group, widths, upstream, ours):
    import torch
    mode, bs, page_size = group.mode, group.bs, group.page_size
    if mode == "flashinfer" and page_size != group.options.page_sizes[0]:
        return  # P does not enter this mode: measured once
    stride_width = max(widths)
    r2t = None
    for width in widths:
        draws = {live: live_lengths(bs, width, live, seed=bs * 7919 + width) for live in group.options.lives}
        written = {live: written_bytes(mode, seq, page_size) for live, seq in draws.items()}
        outputs = 4 * bs * (width // page_size if mode == "mla" else width)
        need = 4 * (bs + 3) * stride_width + 2 * outputs + 2 * max(written.values())
        if not group.fits(width, need):
            continue
        if r2t is None:
            r2t = shared_table(bs, stride_width, seed=bs)
        point = Point(mode, bs, width, page_size, r2t, upstream, ours, seed=bs + width)
        group.measure(width, point, {live: seq.cuda() for live, seq in draws.items()}, written)
        del point
    del r2t
    torch.cuda.empty_cache()


def cold_child(spec):
    mode, bs, width, live, page_size = spec
    upstream, ours = setup()
    point = Point(mode, bs, width, page_size, shared_table(bs, width, seed=1), upstream, ours, seed=2)
    point.load(live_lengths(bs, width, live, seed=3).cuda())
    print_first_calls(spec, point.calls())


def parse(argv):
    parser = grid_parser(__doc__.split("\n\n")[0], MODES, widths="4096,131072,1048576", page_sizes="16,64",
                         widths_help="context widths in tokens")
    add_run_flags(parser, QUICK)
    options = parse_grid(parser, argv, QUICK, known_modes=MODES)
    bad = [(w, p) for w in options.widths for p in options.page_sizes if w % p or p > 4096]
    if bad:
        parser.error(f"each width must be a multiple of each page size, at most 4096, not {bad}")
    return options


def main(argv=None):
    options = parse(argv)
    if options.cold_child:
        return cold_child(point_spec(options.cold_child))
    upstream, ours = setup()  # before importing torch: says what is missing
    return run_points(os.path.abspath(__file__), options, MODES, COLD_POINTS, upstream_kv_indices.path(),
                      lambda group, widths: measure_group(group, widths, upstream, ours))


if __name__ == "__main__":
    sys.exit(main())
