"""Upstream SGLang's TRTLLM-MHA graph-metadata Triton kernel and draftjit.sglang's drop-in side by side, in GPU time.

usage: DRAFTJIT_UPSTREAM_SGLANG=$PWD/.upstream-sglang PYTHONPATH=build-device/python \\
           python3 bench/upstream_trtllm_mha_bench.py [--calls N] [--repeats R] [--modes plain,swa,qcumsum]
           [--bs 1,8,...] [--widths 4096,32768,131072] [--lives short,long] [--page-sizes 16,64] [--mem-gib G]
           [--time-limit S] [--no-cold] [--quick] [--json PATH]

Upstream's file loads as python/tests/upstream_trtllm_mha.py says (from DRAFTJIT_UPSTREAM_SGLANG). A point is (mode,
bs, context width in tokens, live lengths, page size P): max_seq_pages = width / P, req_to_token has bs + 3 rows of
the widest width's stride (a server's req_to_token has its context length whatever the graph's table width; upstream
specialises on that stride, so one compile serves all widths of a bs), seq_lens and req_pool_indices are int32 as
SGLang's graph runner holds them, seqlen_offset 0. Modes: "plain" (Q_MODE_NONE, page_table alone: decode),
"swa" (swa_page_table and swa_out_cache_loc of S = bs entries from an int64 out_cache_loc of bs), "qcumsum"
(Q_MODE_CUMSUM over int32 qlens: draft extend). Live lengths: "short" uniform in [2, min(3000, width - 2)], "long" in
[width / 2, width - 2].

Per point, before timing, both functions write poisoned twin buffers (the inputs shared) and every output must be the
same bit for bit ("ok", else "MISMATCH" and the first difference). Then, per implementation, GPU time per call by CUDA
events, measured as for bench/upstream_dsa_bench.py (bench/side_by_side.py's Timer): "us", N back-to-back calls
(launch-bound where the kernel is short: it includes the host's launch path), and "graph", 20 calls captured in one CUDA
graph (one node each) and replayed, per node; the median of --repeats repeats. Floors from the same run: an empty Triton
kernel (back to back and per graph node, once per run) and per point "copy floor", one device-to-device copy_ of the
bytes the call writes (cache_seqlens, cu_seqlens_k[1:], cu_seqlens_q[1:], each row's live pages in each page table,
swa_out_cache_loc), per graph node. Cold first call: in a fresh subprocess with empty TRITON_CACHE_DIR and
DRAFTJIT_CACHE_DIR, the wall time of each implementation's first call (compile included) and its second.

Points whose buffers exceed --mem-gib (default 24) are skipped, and groups not started by --time-limit seconds
(default 330) are listed as not reached. The flags, the timing, the floors, the cold runs and the report are
bench/side_by_side.py's, shared with bench/upstream_dsa_bench.py.

Output: a markdown table per mode, and with --json PATH {"device", "torch", "triton", "upstream", "calls", "repeats",
"empty_kernel": {"eager_us", "graph_us"}, "points": [{"mode", "bs", "width", "live", "page_size", "written_bytes",
"check", "upstream_us", "draftjit_us", "ratio", "graph_upstream_us", "graph_draftjit_us", "graph_ratio", "copy_us",
"copy_graph_us", "calls"}], "skipped", "not_reached", "cold"}."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python", "tests"))
sys.path.insert(0, HERE)

import upstream_trtllm_mha  # noqa: E402
from side_by_side import (add_run_flags, grid_parser, parse_grid, point_spec, print_first_calls,  # noqa: E402
                          run_points, write_poisoned)

MODES = ("plain", "swa", "qcumsum")
POISON32 = 0x7F7F7F7F
POISON64 = 0x7F7F7F7F7F7F7F7F
SLOTS = 1 << 22           # KV slots: req_to_token's tokens and swa_mapping's length (+ P + 1, as upstream sizes it)
QUICK = {"bs": "1,64", "widths": "4096,131072", "calls": 50, "repeats": 2}
COLD_POINTS = (("plain", 32, 32768, "short", 64), ("swa", 128, 4096, "long", 16))


def live_lengths(bs, width, live, seed):
    import torch
    gen = torch.Generator().manual_seed(seed)
    high = max(width - 2, 2)
    low = 2 if live == "short" else max(width // 2, 2)
    high = min(3000, high) if live == "short" else high
    return torch.randint(low, high + 1, (bs,), generator=gen, dtype=torch.int64).to(torch.int32)


def written_bytes(mode, seq, width, page_size):
    """Bytes a call writes: cache_seqlens, cu_seqlens_k[1:] (and cu_seqlens_q[1:]), each row's live pages
    min(cdiv(L, P), width / P) in page_table (and swa_page_table), swa_out_cache_loc's S = bs int64 entries."""
    import torch
    bs = seq.numel()
    pages = int(torch.clamp((seq.to(torch.int64) + page_size - 1) // page_size, 0, width // page_size).sum())
    cells = 2 * bs + (bs if mode == "qcumsum" else 0) + pages * (2 if mode == "swa" else 1)
    return 4 * cells + (8 * bs if mode == "swa" else 0)


def output_bytes(mode, bs, width, page_size):
    """One twin's outputs."""
    tables = (2 if mode == "swa" else 1) * bs * (width // page_size)
    return 4 * (tables + 3 * (bs + 1)) + 8 * bs


class Twin:
    """One implementation's outputs for a point, poisoned; the inputs are the point's, shared by both twins."""

    def __init__(self, mode, bs, pages):
        import torch

        def full(shape, value, dtype=torch.int32):
            return torch.full(shape, value, dtype=dtype, device="cuda")

        self.outputs = {"cache_seqlens": full((bs,), POISON32), "cu_seqlens_k": full((bs + 1,), POISON32),
                        "page_table": full((bs, pages), POISON32)}
        if mode == "swa":
            self.outputs.update(swa_page_table=full((bs, pages), POISON32),
                                swa_out_cache_loc=full((bs,), POISON64, torch.int64))
        if mode == "qcumsum":
            self.outputs["cu_seqlens_q"] = full((bs + 1,), POISON32)

    def poison(self):
        for name, tensor in self.outputs.items():
            tensor.fill_(POISON64 if name == "swa_out_cache_loc" else POISON32)


class Point:
    """A point's inputs (req_to_token a column slice of the bs's table, the run's swa_mapping) and twins."""

    def __init__(self, mode, bs, width, page_size, r2t, swa_mapping, upstream, ours, seed):
        import torch
        gen = torch.Generator().manual_seed(seed)
        self.mode, self.bs, self.width, self.page_size = mode, bs, width, page_size
        self.pages = width // page_size
        self.seq = torch.zeros(bs, dtype=torch.int32, device="cuda")
        self.pool = torch.randperm(r2t.shape[0], generator=gen)[:bs].to(torch.int32).cuda()
        self.r2t = r2t[:, :width]
        self.swa_mapping = swa_mapping if mode == "swa" else None
        self.out = torch.randint(0, SLOTS, (bs,), generator=gen).cuda() if mode == "swa" else None
        self.qlens = torch.randint(1, 5, (bs,), generator=gen, dtype=torch.int32).cuda() if mode == "qcumsum" else None
        self.theirs, self.mine = Twin(mode, bs, self.pages), Twin(mode, bs, self.pages)
        self.functions = (upstream.update_trtllm_mha_graph_metadata, ours.update_trtllm_mha_graph_metadata)

    def load(self, seq):
        self.seq.copy_(seq)

    def arguments(self, twin):
        o = twin.outputs
        return dict(req_pool_indices=self.pool, seq_lens=self.seq, req_to_token=self.r2t,
                    cache_seqlens=o["cache_seqlens"], cu_seqlens_k=o["cu_seqlens_k"], page_table=o["page_table"],
                    bs=self.bs, seqlen_offset=0, max_seq_pages=self.pages, page_size=self.page_size,
                    swa_mapping=self.swa_mapping, swa_page_table=o.get("swa_page_table"), out_cache_loc=self.out,
                    swa_out_cache_loc=o.get("swa_out_cache_loc"), cu_seqlens_q=o.get("cu_seqlens_q"),
                    qlens=self.qlens, q_stride=0, q_mode=1 if self.mode == "qcumsum" else 0)

    def calls(self):
        """(upstream's call, draftjit's call), each on its twin."""
        return [lambda f=function, k=self.arguments(twin): f(**k)
                for function, twin in zip(self.functions, (self.theirs, self.mine))]

    def check(self):
        import torch
        write_poisoned(self)
        for name, theirs in self.theirs.outputs.items():
            mine = self.mine.outputs[name]
            if not torch.equal(mine, theirs):
                where = (mine != theirs).nonzero()[0].tolist()
                return (f"MISMATCH {name}{where}: draftjit {mine[tuple(where)].item()}, "
                        f"upstream {theirs[tuple(where)].item()}")
        return "ok"


def setup():
    why = upstream_trtllm_mha.missing()
    if why:
        sys.exit(f"upstream_trtllm_mha_bench: {why}")
    from draftjit import sglang as ours
    return upstream_trtllm_mha.load(), ours


def shared_inputs(bs, stride_width, page_size, seed):
    """req_to_token for a bs (bs + 3 rows of stride_width columns, tokens in [0, SLOTS)) and the swa_mapping the
    tokens index (SLOTS + P + 1 entries, 1% of them -1)."""
    import torch
    gen = torch.Generator(device="cuda").manual_seed(seed)
    r2t = torch.randint(0, SLOTS, (bs + 3, stride_width), generator=gen, dtype=torch.int32, device="cuda")
    mapping = torch.randint(0, SLOTS // 2, (SLOTS + page_size + 1,), generator=gen, device="cuda")
    mapping[torch.rand(mapping.shape, generator=gen, device="cuda") < 0.01] = -1
    return r2t, mapping


def measure_group(group, widths, upstream, ours):
    import torch
    mode, bs, page_size = group.mode, group.bs, group.page_size
    stride_width = max(widths)
    r2t = mapping = None
    for width in widths:
        draws = {live: live_lengths(bs, width, live, seed=bs * 7919 + width) for live in group.options.lives}
        written = {live: written_bytes(mode, seq, width, page_size) for live, seq in draws.items()}
        floor_bytes = max(written.values())
        need = 4 * (bs + 3) * stride_width + 8 * SLOTS + 2 * output_bytes(mode, bs, width, page_size) + 2 * floor_bytes
        if not group.fits(width, need):
            continue
        if r2t is None:
            r2t, mapping = shared_inputs(bs, stride_width, page_size, seed=bs)
        point = Point(mode, bs, width, page_size, r2t, mapping, upstream, ours, seed=bs + width)
        group.measure(width, point, draws, written)
        del point
    del r2t, mapping
    torch.cuda.empty_cache()


def cold_child(spec):
    mode, bs, width, live, page_size = spec
    upstream, ours = setup()
    r2t, mapping = shared_inputs(bs, width, page_size, seed=1)
    point = Point(mode, bs, width, page_size, r2t, mapping, upstream, ours, seed=2)
    point.load(live_lengths(bs, width, live, seed=3).cuda())
    print_first_calls(spec, point.calls())


def parse(argv):
    parser = grid_parser(__doc__.split("\n\n")[0], MODES, widths="4096,32768,131072", page_sizes="16,64",
                         widths_help="context widths in tokens")
    add_run_flags(parser, QUICK)
    options = parse_grid(parser, argv, QUICK, known_modes=MODES)
    bad = [(w, p) for w in options.widths for p in options.page_sizes if w % p]
    if bad:
        parser.error(f"each width must be a multiple of each page size, not {bad}")
    return options


def main(argv=None):
    options = parse(argv)
    if options.cold_child:
        return cold_child(point_spec(options.cold_child))
    upstream, ours = setup()  # before importing torch: says what is missing
    return run_points(os.path.abspath(__file__), options, MODES, COLD_POINTS, upstream_trtllm_mha.path(),
                      lambda group, widths: measure_group(group, widths, upstream, ours))


if __name__ == "__main__":
    sys.exit(main())
