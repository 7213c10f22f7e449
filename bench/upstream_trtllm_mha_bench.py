"""Upstream SGLang's TRTLLM-MHA and TRTLLM-MLA graph-metadata and TRTLLM-MHA page-table Triton kernels and
draftjit.sglang's drop-ins side by side, in GPU time.

usage: DRAFTJIT_UPSTREAM_SGLANG=$PWD/.upstream-sglang PYTHONPATH=build-device/python \\
           python3 bench/upstream_trtllm_mha_bench.py [--calls N] [--repeats R] [--modes plain,swa,qcumsum,mla,table]
           [--bs 1,8,...] [--widths 4096,32768,131072] [--lives short,long] [--page-sizes 16,64] [--mem-gib G]
           [--time-limit S] [--no-cold] [--quick] [--json PATH]

Upstream's files load as python/tests/upstream_trtllm_mha.py says (from DRAFTJIT_UPSTREAM_SGLANG). A point is (mode,
bs, context width in tokens, live lengths, page size P): max_seq_pages = width / P, req_to_token has bs + 3 rows of
the widest width's stride (a server's req_to_token has its context length whatever the graph's table width; upstream
specialises on that stride, so one compile serves all widths of a bs), seq_lens and req_pool_indices are int32 as
SGLang's graph runner holds them, seqlen_offset 0. Modes: "plain" (Q_MODE_NONE, page_table alone: decode),
"swa" (swa_page_table and swa_out_cache_loc of S = bs entries from an int64 out_cache_loc of bs), "qcumsum"
(Q_MODE_CUMSUM over int32 qlens: draft extend), "mla" (update_trtllm_mla_graph_metadata: seq_lens_k and the block
table block_kv_indices of width / P pages), "table" (build_trtllm_mha_page_table: the eager page_table of width / P
pages from int32 cache_seqlens, no SWA). Live lengths: "short" uniform in [2, min(3000, width - 2)], "long" in
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
bench/side_by_side.py's, shared with bench/upstream_dsa_bench.py; the inputs, twins and walk over widths with
bench/upstream_fa3_bench.py.

Output: a markdown table per mode, and with --json PATH {"device", "torch", "triton", "upstream", "calls", "repeats",
"empty_kernel": {"eager_us", "graph_us"}, "points": [{"mode", "bs", "width", "live", "page_size", "written_bytes",
"check", "upstream_us", "draftjit_us", "ratio", "graph_upstream_us", "graph_draftjit_us", "graph_ratio", "copy_us",
"copy_graph_us", "calls"}], "skipped", "not_reached", "cold"}."""

import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python", "tests"))
sys.path.insert(0, HERE)

import upstream_trtllm_mha  # noqa: E402
from side_by_side import (SLOTS, PagedPoint, add_run_flags, grid_parser, live_pages, parse_paged_grid,  # noqa: E402
                          run_paged)

MODES = ("plain", "swa", "qcumsum", "mla", "table")
QUICK = {"bs": "1,64", "widths": "4096,131072", "calls": 50, "repeats": 2}
COLD_POINTS = (("plain", 32, 32768, "short", 64), ("swa", 128, 4096, "long", 16), ("mla", 32, 32768, "short", 64),
               ("table", 32, 32768, "short", 64))
FILES = (upstream_trtllm_mha.MHA, upstream_trtllm_mha.MLA, upstream_trtllm_mha.TABLE)
FILE_OF = {"mla": upstream_trtllm_mha.MLA, "table": upstream_trtllm_mha.TABLE}  # the other modes': MHA


class Upstream:
    """The upstream files as one loader (run_paged's): what any lacks, their paths, and a module holding their
    functions."""

    @staticmethod
    def missing():
        return next((why for why in (file.missing() for file in FILES) if why), None)

    @staticmethod
    def path():
        return ", ".join(file.path() for file in FILES)

    @staticmethod
    def load():
        return types.SimpleNamespace(**{file.FUNCTION: getattr(file.load(), file.FUNCTION) for file in FILES})


class Point(PagedPoint):
    """A point's inputs (req_to_token a column slice of the bs's table, the run's swa_mapping) and twins."""

    def __init__(self, mode, bs, width, page_size, r2t, swa_mapping, upstream, ours, seed):
        import torch
        super().__init__(mode, bs, width, page_size, upstream, ours, seed, rows=r2t.shape[0])
        gen = self.gen
        self.r2t = r2t[:, :width]
        self.swa_mapping = swa_mapping if mode == "swa" else None
        self.out = torch.randint(0, SLOTS, (bs,), generator=gen).cuda() if mode == "swa" else None
        self.qlens = torch.randint(1, 5, (bs,), generator=gen, dtype=torch.int32).cuda() if mode == "qcumsum" else None

    @staticmethod
    def function(mode):
        return FILE_OF.get(mode, upstream_trtllm_mha.MHA).FUNCTION

    @staticmethod
    def output_shapes(mode, bs, pages):
        """One twin's outputs: (shape, bytes per entry) by name."""
        if mode == "mla":
            return {"seq_lens_k": ((bs,), 4), "block_kv_indices": ((bs, pages), 4)}
        if mode == "table":
            return {"page_table": ((bs, pages), 4)}
        shapes = {"cache_seqlens": ((bs,), 4), "cu_seqlens_k": ((bs + 1,), 4), "page_table": ((bs, pages), 4)}
        if mode == "swa":
            shapes.update(swa_page_table=((bs, pages), 4), swa_out_cache_loc=((bs,), 8))
        if mode == "qcumsum":
            shapes["cu_seqlens_q"] = ((bs + 1,), 4)
        return shapes

    @staticmethod
    def written_bytes(mode, seq, width, page_size):
        """Bytes a call writes: cache_seqlens (MLA: seq_lens_k; table: none), cu_seqlens_k[1:] (not MLA or table;
        and cu_seqlens_q[1:]), each row's live pages min(cdiv(L, P), width / P) in page_table (MLA:
        block_kv_indices; and swa_page_table), swa_out_cache_loc's S = bs int64 entries."""
        bs = seq.numel()
        pages = live_pages(seq, width, page_size)
        per_request = {"mla": 1, "table": 0}.get(mode, 2) + (1 if mode == "qcumsum" else 0)
        cells = per_request * bs + pages * (2 if mode == "swa" else 1)
        return 4 * cells + (8 * bs if mode == "swa" else 0)

    def arguments(self, twin):
        o = twin.outputs
        if self.mode == "table":
            return dict(req_to_token=self.r2t, req_pool_indices=self.pool, cache_seqlens=self.seq,
                        page_table=o["page_table"], page_size=self.page_size)
        if self.mode == "mla":
            return dict(req_pool_indices=self.pool, seq_lens=self.seq, req_to_token=self.r2t,
                        block_kv_indices=o["block_kv_indices"], bs=self.bs, seqlen_offset=0,
                        page_size=self.page_size, seq_lens_k=o["seq_lens_k"])
        return dict(req_pool_indices=self.pool, seq_lens=self.seq, req_to_token=self.r2t,
                    cache_seqlens=o["cache_seqlens"], cu_seqlens_k=o["cu_seqlens_k"], page_table=o["page_table"],
                    bs=self.bs, seqlen_offset=0, max_seq_pages=self.pages, page_size=self.page_size,
                    swa_mapping=self.swa_mapping, swa_page_table=o.get("swa_page_table"), out_cache_loc=self.out,
                    swa_out_cache_loc=o.get("swa_out_cache_loc"), cu_seqlens_q=o.get("cu_seqlens_q"),
                    qlens=self.qlens, q_stride=0, q_mode=1 if self.mode == "qcumsum" else 0)


def parse(argv):
    parser = grid_parser(__doc__.split("\n\n")[0], MODES, widths="4096,32768,131072", page_sizes="16,64",
                         widths_help="context widths in tokens")
    add_run_flags(parser, QUICK)
    return parse_paged_grid(parser, argv, QUICK, known_modes=MODES)


def main(argv=None):
    return run_paged(__file__, parse(argv), Upstream, Point, MODES, COLD_POINTS)


if __name__ == "__main__":
    sys.exit(main())
