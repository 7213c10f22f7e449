"""Upstream SGLang's FA3 metadata Triton kernels and draftjit.sglang's drop-ins side by side, in GPU time.

usage: DRAFTJIT_UPSTREAM_SGLANG=$PWD/.upstream-sglang PYTHONPATH=build-device/python \\
           python3 bench/upstream_fa3_bench.py [--calls N] [--repeats R]
           [--modes decode,decode-swa,decode-skip,extend,extend-swa,spec,splits] [--bs 1,8,...]
           [--few-bs 8,128,1024] [--widths 4096,32768,131072] [--lives short,long] [--page-sizes 1,64]
           [--spec-widths 4096,32768] [--draft-tokens 4] [--mem-gib G] [--time-limit S] [--no-cold] [--quick]
           [--json PATH]

Upstream's file (python/sglang/kernels/ops/attention/metadata.py @ 1a366c6c) loads as python/tests/upstream_fa3.py
says (from DRAFTJIT_UPSTREAM_SGLANG, its pool modules stubbed). Its four entry points against draftjit.sglang's
drop-ins of the same names and signatures: normal_decode_set_metadata ("decode" modes), draft_extend_set_metadata
("extend" modes), prepare_swa_spec_page_table_triton ("spec") and the raw kernel get_num_kv_splits_triton
("splits"). A point is (mode, bs, table width in tokens, live lengths, page size P): the page tables are bs x width / P
(decode's max_seq_pages = width / P, draft extend's bound is the table's width), req_to_token is the whole table of
the bs (bs + 3 rows of the widest width's columns, contiguous, as a server's req_to_token is: upstream's decode
takes .contiguous() of it, which a column slice would turn into a copy per call), seq_lens, req_pool_indices and
extend_seq_lens are int32 as SGLang's graph runner holds them, seq_len_delta 0. Modes: "decode" (page_table alone),
"decode-swa" (swa_page_table through an SWAKVPool's full_to_swa_index_mapping, upstream_fa3's stub pool),
"decode-skip" (skip_page_table: cache_seqlens_int32 and cu_seqlens_k alone), "extend" (draft extend: cu_seqlens_q
from extend_seq_lens in [1, 4] too), "extend-swa" (with full_to_swa_index_mapping: swa_page_table, and
swa_out_cache_loc of 4 out_cache_loc entries per request). The SWA and skip modes are measured at the --few-bs
batch sizes alone (8, 128 and 1024, those of them --bs has). Live lengths: "short" uniform in
[2, min(3000, width - 2)], "long" in [width / 2, width - 2]. Page sizes 1 and 64: upstream's decode takes its
page-size-1 kernel without SWA at P 1 and its general kernel otherwise.

"spec" and "splits" have no paged table: measured once per bs, their page size is none ("-", null in --json). "spec"
is the SWA speculative page table: page_table_a bs x LEN_A (--spec-widths, the point's width, 4096 and 32768
columns), page_table_b bs * D x 2D (D = --draft-tokens, 4), int32 slots, contiguous; seq_len_a the live lengths,
seq_len_b uniform in [1, 2D], int32 (upstream reads both as flat arrays); page_table_dst bs * D rows as wide as
upstream's grid, LEN_A + LEN_B rounded up to 256 columns. "splits" is the Triton backend's KV-split count, launched
as kernel[(1,)](...) with its arguments by keyword: seq_lens the live lengths (int32, as the graph runner holds
them), num_seq bs, num_group 1, num_head 32, num_kv_head 8, max_kv_splits 16, device_core_count the GPU's SM count,
MAX_NUM_SEQ 256 below bs 256 and bs's next power of two from there (as upstream's Triton backend), and
uneven_batch_ptr a one-entry int32 flag; one width, the largest of --widths, which bounds the live lengths.

Per point, before timing, both functions write poisoned twin buffers (the inputs shared) and every output must be the
same bit for bit ("ok", else "MISMATCH" and the first difference). Then, per implementation, GPU time per call by CUDA
events (bench/side_by_side.py's Timer): "us", N back-to-back calls (launch-bound where the kernel is short: it
includes the host's launch path), and "graph", 20 calls captured in one CUDA graph (one node each) and replayed, per
node; the median of --repeats repeats. Floors from the same run: an empty Triton kernel (back to back and per graph
node, once per run) and per point "copy floor", one device-to-device copy_ of the bytes the call writes
(cache_seqlens_int32, cu_seqlens_k, cu_seqlens_q, each row's live pages in each page table, swa_out_cache_loc;
spec: each page_table_dst row's seq_len_a + seq_len_b entries; splits: the counts and the flag), per graph node.
Cold first call: in a fresh subprocess with empty TRITON_CACHE_DIR and DRAFTJIT_CACHE_DIR, the wall time of each
implementation's first call (compile included) and its second, at one point.

Points whose buffers exceed --mem-gib (default 24) are skipped, and groups not started by --time-limit seconds
(default 330) are listed as not reached. The flags, the timing, the floors, the cold runs, the report, the inputs,
the twins and the walk over widths are bench/side_by_side.py's, shared with bench/upstream_trtllm_mha_bench.py.

Output: a markdown table per mode, and with --json PATH {"device", "torch", "triton", "upstream", "calls", "repeats",
"draft_tokens", "splits": {"num_group", "num_head", "num_kv_head", "max_kv_splits"}, "empty_kernel": {"eager_us",
"graph_us"}, "points": [{"mode", "bs", "width", "live", "page_size", "written_bytes", "check", "upstream_us",
"draftjit_us", "ratio", "graph_upstream_us", "graph_draftjit_us", "graph_ratio", "copy_us", "copy_graph_us",
"calls"}], "skipped", "not_reached", "cold"}."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python", "tests"))
sys.path.insert(0, HERE)

import upstream_fa3  # noqa: E402
from side_by_side import (SLOTS, PagedPoint, UnpagedPoint, add_run_flags, grid_parser, live_pages,  # noqa: E402
                          parse_paged_grid, run_paged)

MODES = ("decode", "decode-swa", "decode-skip", "extend", "extend-swa", "spec", "splits")
FEW_MODES = ("decode-swa", "decode-skip", "extend-swa")  # measured at --few-bs alone
FUNCTIONS = {"decode": "normal_decode_set_metadata", "extend": "draft_extend_set_metadata"}
TOKENS_PER_REQ = 4        # draft extend's out_cache_loc entries per request (speculative draft tokens)
B_PER_DRAFT_TOKEN = 2     # spec: page_table_b's columns (LEN_B) per draft token
SPLITS = dict(num_group=1, num_head=32, num_kv_head=8, max_kv_splits=16)  # splits: the model's scalars
QUICK = {"bs": "1,64", "few_bs": "64", "widths": "4096,131072", "spec_widths": "4096", "calls": 50, "repeats": 2}
COLD_POINTS = (("decode", 32, 32768, "short", 64),)


def op_of(mode):
    return mode.split("-")[0]


class Point(PagedPoint):
    """A point's inputs (the bs's whole req_to_token, the run's SWA mapping) and twins."""

    def __init__(self, mode, bs, width, page_size, r2t, swa_mapping, upstream, ours, seed):
        import torch
        super().__init__(mode, bs, width, page_size, upstream, ours, seed, rows=r2t.shape[0])
        gen = self.gen
        self.r2t = r2t
        swa = mode.endswith("-swa")
        self.swa_mapping = swa_mapping if swa else None
        self.kv_pool = upstream_fa3.swa_pool(swa_mapping) if mode == "decode-swa" else None
        self.out = None
        if mode == "extend-swa":
            self.out = torch.randint(0, SLOTS, (bs * TOKENS_PER_REQ,), generator=gen).cuda()
        self.ext = None
        if op_of(mode) == "extend":
            self.ext = torch.randint(1, TOKENS_PER_REQ + 1, (bs,), generator=gen, dtype=torch.int32).cuda()

    @staticmethod
    def function(mode):
        return FUNCTIONS[op_of(mode)]

    @staticmethod
    def output_shapes(mode, bs, pages):
        """One twin's outputs: (shape, bytes per entry) by name."""
        shapes = {"cache_seqlens_int32": ((bs,), 4), "cu_seqlens_k": ((bs + 1,), 4), "page_table": ((bs, pages), 4)}
        if op_of(mode) == "extend":
            shapes["cu_seqlens_q"] = ((bs + 1,), 4)
        if mode.endswith("-swa"):
            shapes["swa_page_table"] = ((bs, pages), 4)
        if mode == "extend-swa":
            shapes["swa_out_cache_loc"] = ((bs * TOKENS_PER_REQ,), 8)
        return shapes

    @staticmethod
    def written_bytes(mode, seq, width, page_size):
        """Bytes a call writes: cache_seqlens_int32, cu_seqlens_k (and cu_seqlens_q) whole, each row's live pages
        min(cdiv(L, P), width / P) in page_table (and swa_page_table) but with skip_page_table, and
        swa_out_cache_loc's bs x 4 int64 entries."""
        bs = seq.numel()
        tables = 0 if mode == "decode-skip" else 2 if mode.endswith("-swa") else 1
        cells = 2 * bs + 1 + (bs + 1 if op_of(mode) == "extend" else 0) + tables * live_pages(seq, width, page_size)
        return 4 * cells + (8 * bs * TOKENS_PER_REQ if mode == "extend-swa" else 0)

    def arguments(self, twin):
        o = twin.outputs
        shared = dict(cache_seqlens_int32=o["cache_seqlens_int32"], cu_seqlens_k=o["cu_seqlens_k"],
                      page_table=o["page_table"], req_to_token=self.r2t, req_pool_indices=self.pool,
                      seq_lens=self.seq, page_size=self.page_size, swa_page_table=o.get("swa_page_table"))
        if op_of(self.mode) == "decode":
            return dict(shared, max_seq_pages=self.pages, seq_len_delta=0, token_to_kv_pool=self.kv_pool,
                        skip_page_table=self.mode == "decode-skip")
        return dict(shared, cu_seqlens_q=o["cu_seqlens_q"], extend_seq_lens=self.ext,
                    full_to_swa_index_mapping=self.swa_mapping, out_cache_loc=self.out,
                    swa_out_cache_loc=o.get("swa_out_cache_loc"))


class SpecPoint(UnpagedPoint):
    """prepare_swa_spec_page_table_triton's point: page_table_a bs x width (LEN_A), page_table_b bs * D rows x
    B_PER_DRAFT_TOKEN * D (LEN_B), int32 tables of slots in [0, SLOTS), contiguous; seq_len_a the live lengths,
    seq_len_b (int32) uniform in [1, LEN_B]; page_table_dst's twins bs * D rows, as wide as upstream's grid (LEN_A +
    LEN_B rounded up to SPEC_BLOCK)."""

    @staticmethod
    def function(mode):
        return "prepare_swa_spec_page_table_triton"

    @staticmethod
    def widths(options):
        return options.spec_widths

    @staticmethod
    def output_shapes(bs, width, options):
        block = upstream_fa3.SPEC_BLOCK
        columns = -(-(width + B_PER_DRAFT_TOKEN * options.draft_tokens) // block) * block
        return {"page_table_dst": ((bs * options.draft_tokens, columns), 4)}

    @staticmethod
    def input_bytes(bs, width, options):
        rows = bs * options.draft_tokens
        return 4 * (bs * width + rows * B_PER_DRAFT_TOKEN * options.draft_tokens + bs + rows)

    def __init__(self, mode, bs, width, options, upstream, ours, seed):
        import torch
        super().__init__(mode, bs, width, options, upstream, ours, seed)
        self.draft = options.draft_tokens
        rows, len_b = bs * self.draft, B_PER_DRAFT_TOKEN * self.draft
        gen = torch.Generator(device="cuda").manual_seed(seed)
        self.a = torch.randint(0, SLOTS, (bs, width), generator=gen, dtype=torch.int32, device="cuda")
        self.b = torch.randint(0, SLOTS, (rows, len_b), generator=gen, dtype=torch.int32, device="cuda")
        self.len_b = torch.randint(1, len_b + 1, (rows,), generator=self.gen, dtype=torch.int32)
        self.seq_b = self.len_b.cuda()

    def written_bytes(self, seq):
        """page_table_dst's entries a call writes, 4 bytes each: row m's seq_len_a[m // D] + seq_len_b[m] (all
        within upstream's grid: seq_len_a <= LEN_A - 2, seq_len_b <= LEN_B)."""
        import torch
        return 4 * (self.draft * int(seq.to(torch.int64).sum()) + int(self.len_b.to(torch.int64).sum()))

    def arguments(self, twin):
        return dict(page_table_dst=twin.outputs["page_table_dst"], page_table_a=self.a, page_table_b=self.b,
                    seq_len_a=self.seq, seq_len_b=self.seq_b, speculative_num_draft_tokens=self.draft)


class SplitsPoint(UnpagedPoint):
    """get_num_kv_splits_triton's point, a raw kernel launched as kernel[(1,)](...) by keyword: the live lengths as
    seq_lens, num_seq bs, SPLITS' scalars, device_core_count the GPU's SMs, MAX_NUM_SEQ 256 below bs 256, else bs's
    next power of two (as upstream's Triton backend has it); its outputs num_kv_splits (bs * num_group int32) and
    uneven_batch_ptr's flag (one int32). One width: the largest of --widths, the lengths' bound."""

    @staticmethod
    def function(mode):
        return "get_num_kv_splits_triton"

    @staticmethod
    def widths(options):
        return [max(options.widths)]

    @staticmethod
    def output_shapes(bs, width, options):
        return {"num_kv_splits": ((bs * SPLITS["num_group"],), 4), "uneven_batch": ((1,), 4)}

    @staticmethod
    def input_bytes(bs, width, options):
        return 4 * bs

    @staticmethod
    def bind(kernel, arguments):
        return lambda: kernel[(1,)](**arguments)

    def __init__(self, mode, bs, width, options, upstream, ours, seed):
        import torch
        super().__init__(mode, bs, width, options, upstream, ours, seed)
        self.cores = torch.cuda.get_device_properties(torch.cuda.current_device()).multi_processor_count
        self.lanes = 256 if bs < 256 else 1 << (bs - 1).bit_length()

    def written_bytes(self, seq):
        return 4 * (self.bs * SPLITS["num_group"] + 1)

    def arguments(self, twin):
        o = twin.outputs
        return dict(num_kv_splits_ptr=o["num_kv_splits"], seq_lens_ptr=self.seq, num_seq=self.bs, **SPLITS,
                    device_core_count=self.cores, MAX_NUM_SEQ=self.lanes, uneven_batch_ptr=o["uneven_batch"])


UNPAGED = {"spec": SpecPoint, "splits": SplitsPoint}


def parse(argv):
    parser = grid_parser(__doc__.split("\n\n")[0], MODES, widths="4096,32768,131072", page_sizes="1,64",
                         widths_help="table widths in tokens (max_seq_pages x P)")
    parser.add_argument("--few-bs", default="8,128,1024",
                        help=f"the batch sizes of {', '.join(FEW_MODES)}, those of --bs among them (8,128,1024)")
    parser.add_argument("--spec-widths", default="4096,32768", help="spec's page_table_a widths (LEN_A, columns)")
    parser.add_argument("--draft-tokens", type=int, default=4, help="spec's speculative_num_draft_tokens (4)")
    add_run_flags(parser, QUICK)
    options = parse_paged_grid(parser, argv, QUICK, known_modes=MODES)
    options.few_bs = [int(v) for v in str(options.few_bs).split(",")]
    options.spec_widths = [int(v) for v in str(options.spec_widths).split(",")]
    if options.draft_tokens < 1:
        parser.error("--draft-tokens must be at least 1")
    return options


def main(argv=None):
    options = parse(argv)
    few = set(options.few_bs)
    return run_paged(__file__, options, upstream_fa3, Point, MODES, COLD_POINTS,
                     in_grid=lambda mode, page_size, bs: mode not in FEW_MODES or bs in few, unpaged=UNPAGED,
                     header={"draft_tokens": options.draft_tokens, "splits": SPLITS})


if __name__ == "__main__":
    sys.exit(main())
