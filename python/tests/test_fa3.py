"""FA3 normal-decode metadata (draftjit.sglang.normal_decode_set_metadata, torch.ops.draftjit.fa3_decode_metadata and
draftjit.fa3_decode_metadata) against a NumPy reference written from docs/BACKENDS.md section 2a and upstream's file,
and, where DRAFTJIT_UPSTREAM_SGLANG names upstream's files, against upstream SGLang's own Triton kernels bit for bit.

Every output is poisoned before each call and compared whole afterwards: entries past bs, page-table columns past
each row's live pages and rows past bs, the padding of sliced and transposed tables and a guard tail behind each 1-D
output keep their poison (or, across calls without poisoning, their stale values). The inputs are checked unchanged.
Covered: bs 0 to 65536; every switch set (seq_lens and req_pool_indices dtypes, swa_page_table with an SWAKVPool's
mapping or a unified pool's v2p table read at stride 0, skip_page_table); page sizes 1, 16 and 64; seq_len_delta 0, 1,
3 and negative; max_seq_pages 0; padded graph rows; short sequences in 131072-token tables; lengths past the bound;
-1 tokens (an arithmetic shift: page -1) and negative or huge mapping values; int32 wrap-around of lengths and sums;
strided 1-D inputs and sliced or transposed tables; bad data draftjit guards (pool indices outside req_to_token,
tokens outside the mapping: left untouched); CUDA graph capture after prepare (one kernel node) and replay with new
inputs; no compile for new bs, lengths, widths, page sizes, deltas or strides; opcheck; argument errors naming the
argument with nothing written; the __cuda_array_interface__ path. Without PyTorch or a CUDA device the GPU tests are
skipped by name; without a GPU a CPU test checks that bad arguments are refused before the driver."""

import dataclasses
import inspect
import itertools
import os
import re

import numpy as np
import pytest

import draftjit
import upstream_fa3
from test_cpu import FakeArray
import test_trtllm_mha as trtllm
from test_trtllm_mha import (HAVE_GPU, HAVE_OPS, LAYOUTS, POISON, Interface, Output, device_copy, needs_gpu,
                             needs_ops, run_twice, wrap32)

try:
    import torch
except ImportError:
    torch = None

if HAVE_OPS:
    from draftjit import sglang

KIND = "fa3-decode"
OP_NAME = "fa3_decode_metadata"
MAX_BS = 65536

# The drop-in's arguments, upstream's names, order and defaults (NO_DEFAULT: required).
NO_DEFAULT = inspect.Parameter.empty
ARGUMENTS = [
    ("cache_seqlens_int32", NO_DEFAULT), ("cu_seqlens_k", NO_DEFAULT), ("page_table", NO_DEFAULT),
    ("req_to_token", NO_DEFAULT), ("req_pool_indices", NO_DEFAULT), ("max_seq_pages", NO_DEFAULT),
    ("seq_lens", NO_DEFAULT), ("seq_len_delta", NO_DEFAULT), ("page_size", NO_DEFAULT), ("swa_page_table", None),
    ("token_to_kv_pool", None), ("skip_page_table", False)]
# The op's: token_to_kv_pool becomes the mapping it holds and the stride upstream reads it at; bs comes last.
NAMES = ["cache_seqlens_int32", "cu_seqlens_k", "page_table", "req_to_token", "req_pool_indices", "max_seq_pages",
         "seq_lens", "seq_len_delta", "page_size", "swa_page_table", "swa_mapping", "swa_mapping_stride",
         "skip_page_table", "bs"]
WRITTEN = {"cache_seqlens_int32", "cu_seqlens_k", "page_table", "swa_page_table"}
SCHEMA = ("fa3_decode_metadata(Tensor(a!) cache_seqlens_int32, Tensor(b!) cu_seqlens_k, Tensor(c!) page_table, "
          "Tensor req_to_token, Tensor req_pool_indices, int max_seq_pages, Tensor seq_lens, int seq_len_delta, "
          "int page_size, Tensor(d!)? swa_page_table, Tensor? swa_mapping, int swa_mapping_stride, "
          "int skip_page_table, int bs) -> ()")


# --- the reference: docs/BACKENDS.md, "2a. normal_decode_set_metadata", and upstream's file ---------------------

def reference(bs, seq_lens, req_pool_indices, req_to_token, max_seq_pages, seq_len_delta, page_size, *,
              cache_seqlens, cu_seqlens_k, page_table=None, swa_page_table=None, swa_mapping=None,
              swa_mapping_stride=1, skip_page_table=False):
    """Writes into the output views (NumPy) what one call writes and nothing else; inputs are NumPy arrays of
    values (entries past bs unread). swa_page_table is given only where SWA is used. Bad data that draftjit guards
    (a pool index outside req_to_token's rows, a token whose mapping entry is outside swa_mapping) leaves its entries
    as they were."""
    P, M = page_size, max_seq_pages
    shift = P.bit_length() - 1
    gathered = not skip_page_table and M > 0
    if bs == 0 and gathered:
        return  # upstream's grid (0, k): nothing runs
    lengths = wrap32(np.asarray(seq_lens[:bs], dtype=np.int64) + seq_len_delta)  # int32(seq + delta)
    cache_seqlens[:bs] = lengths
    cu_seqlens_k[0] = 0
    cu_seqlens_k[1:bs + 1] = wrap32(np.cumsum(lengths))
    if not gathered:
        return
    rows, width = req_to_token.shape
    assert (M - 1) * P < width, "the argument check refuses this"
    live = np.minimum(wrap32(lengths + P - 1) >> shift, M)  # the int32 add wraps; >> floors (NumPy's is arithmetic)
    pool = np.asarray(req_pool_indices[:bs], dtype=np.int64)
    inside = (pool >= 0) & (pool < rows)
    written = (np.arange(M)[None, :] < live[:, None]) & inside[:, None]
    tokens = req_to_token[np.where(inside, pool, 0)[:, None], (np.arange(M) * P)[None, :]].astype(np.int64)
    block = page_table[:bs, :M]
    block[written] = (tokens >> shift)[written]
    if swa_page_table is not None and len(swa_mapping):
        at = tokens * swa_mapping_stride
        known = written & (at >= 0) & (at < len(swa_mapping))
        slots = np.asarray(swa_mapping, dtype=np.int64)[np.clip(at, 0, len(swa_mapping) - 1)]
        block = swa_page_table[:bs, :M]
        block[known] = wrap32(slots >> shift)[known]


def test_reference_on_a_worked_example():
    """The oracle itself, on values worked out by hand from upstream's file (no GPU needed)."""
    p = POISON[np.dtype(np.int32)]
    r2t = np.full((3, 12), 999, dtype=np.int32)
    r2t[0, 0], r2t[0, 4] = 8, -1
    r2t[1, 0], r2t[1, 4], r2t[1, 8] = 13, 17, 23
    r2t[2, 0] = -5
    mapping = np.zeros(30, dtype=np.int64)
    mapping[0], mapping[8], mapping[13], mapping[17], mapping[23] = 40, 3, -7, 9, 2**33 + 5

    def outputs():
        return dict(cache_seqlens=np.full(4, p), cu_seqlens_k=np.full(5, p), page_table=np.full((4, 4), p),
                    swa_page_table=np.full((4, 4), p))

    # lengths 0 + 1, 4 + 1, 11 + 1 -> (L + 3) >> 2 = 1, 2, 3 pages of 4 (max 3); pool rows 2, 0, 1
    out = outputs()
    reference(3, [0, 4, 11, 50], [2, 0, 1, 7], r2t, 3, 1, 4, swa_mapping=mapping, **out)
    assert out["cache_seqlens"].tolist() == [1, 5, 12, p]
    assert out["cu_seqlens_k"].tolist() == [0, 1, 6, 18, p]  # entry 0 written
    # -5 >> 2 == -2 and -1 >> 2 == -1 (floor, where `//` in C would give -1 and 0)
    assert out["page_table"].tolist() == [[-2, p, p, p], [2, -1, p, p], [3, 4, 5, p], [p, p, p, p]]
    # tokens -5 and -1 are outside the mapping (left as they were); -7 >> 2 == -2; (2^33 + 5) >> 2 = 2^31 + 1,
    # whose int32 is -2^31 + 1
    assert out["swa_page_table"].tolist() == [[p, p, p, p], [0, p, p, p], [-2, 2, -2**31 + 1, p], [p, p, p, p]]
    # the unified pool's stride 0: every live page reads entry 0, negative tokens too
    out = outputs()
    reference(3, [0, 4, 11], [2, 0, 1], r2t, 3, 1, 4, swa_mapping=mapping, swa_mapping_stride=0, **out)
    assert out["swa_page_table"].tolist() == [[10, p, p, p], [10, 10, p, p], [10, 10, 10, p], [p, p, p, p]]
    # int32 lengths: 2^31 - 1 + 63 wraps negative (no page), 2^31 - 64 + 63 does not (every page, clipped to 3);
    # a negative length gives (L + P - 1) >> shift <= 0 pages
    table = np.full((3, 3), p)
    reference(3, [2**31 - 1, 2**31 - 64, -70], [0, 1, 0], np.arange(400, dtype=np.int32).reshape(2, 200), 3, 0, 64,
              cache_seqlens=np.full(3, p), cu_seqlens_k=np.full(4, p), page_table=table)
    assert table.tolist() == [[p, p, p], [200 >> 6, 264 >> 6, 328 >> 6], [p, p, p]]
    # bs 0: nothing with a gather; with skip_page_table or max_seq_pages 0, cu_seqlens_k[0] = 0 alone
    for skip, pages, first in ((False, 3, p), (True, 3, 0), (False, 0, 0)):
        out = outputs()
        reference(0, [], [], r2t, pages, 0, 4, skip_page_table=skip, **out)
        assert out["cu_seqlens_k"].tolist() == [first, p, p, p, p]
        assert out["cache_seqlens"].tolist() == [p] * 4 and (out["page_table"] == p).all()


# --- switch sets ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Switches:
    """What picks the kernel: seq_lens int64, req_pool_indices int32, swa_page_table, skip_page_table; and, a launch
    argument, whether the SWA mapping is a unified pool's (read at stride 0)."""
    seq64: bool = False
    pool32: bool = False
    swa: bool = False
    skip: bool = False
    unified: bool = False
    q64 = False  # not a field: TRTLLM-MHA's Case reads it (no qlens here)

    def names(self):
        """The switches of prepare(kind="fa3-decode")."""
        return [name for name, on in (("seq64", self.seq64), ("pool32", self.pool32), ("swa", self.swa),
                                      ("skip", self.skip)) if on]

    def id(self):
        return "-".join(self.names() + (["unified"] if self.unified else [])) or "plain"


TABLES = ("plain", "swa", "unified", "skip")
ALL_SWITCHES = [Switches(seq64, pool32, tables in ("swa", "unified"), tables == "skip", tables == "unified")
                for seq64, pool32, tables in itertools.product((False, True), (False, True), TABLES)]
FULL = Switches(seq64=True, pool32=True, swa=True)


class Case(trtllm.Case):
    """One call's inputs on the GPU and its poisoned outputs, with the host values reference() reads: TRTLLM-MHA's
    test case (its host values, uploads and checks) with FA3's arguments and outputs.

    bs requests; sw the switch set; page_size P, pages = max_seq_pages M, delta = seq_len_delta; req_to_token has
    `width` columns (default M * P + 3) and pool_rows rows; 1-D inputs hold `extra` entries past bs (never read) and
    are every stride-th element of a larger tensor when stride > 1; both page tables have 2 rows past bs and 3
    columns past M, page_table in `layout`, swa_page_table in swa_layout (default: layout), req_to_token in
    r2t_layout; cache_seqlens_int32 holds exactly bs entries (upstream's bs is its length) and cu_seqlens_k bs + 1,
    each with a poisoned guard behind it. lengths, tokens and bad ("pool", "token") as TRTLLM-MHA's Case has them;
    tokens "inside" (none negative) where upstream reads before an SWAKVPool's mapping for a negative token."""

    def __init__(self, bs, rng, sw=Switches(), *, page_size=16, delta=0, pages=20, width=None, lengths="mixed",
                 layout="contiguous", swa_layout=None, r2t_layout=None, stride=1, extra=2, pool_rows=None,
                 swa_size=None, tokens="mixed", bad=()):
        self.bs, self.rng, self.sw, self.P, self.delta, self.M = bs, rng, sw, page_size, delta, pages
        self.W = width if width is not None else (pages * page_size + 3 if pages > 0 else 5)
        self.lengths, self.tokens, self.bad, self.give = lengths, tokens, set(bad), set()
        self.stride, self.n, self.n_out = stride, bs + extra, 0  # n_out: no out_cache_loc here
        self.pool_rows = pool_rows if pool_rows is not None else min(bs, 256) + 3
        self.swa_size = swa_size if swa_size is not None else 4096 + page_size + 1
        self.seq_dtype = np.int64 if sw.seq64 else np.int32
        self.pool_dtype = np.int32 if sw.pool32 else np.int64
        self.new_values()
        self.seq, self.pool, self.r2t = self.device_inputs(r2t_layout or layout)
        self.qlens = self.out = None
        self.swa_mapping = device_copy(self.map_h, np.int64) if sw.swa else None
        rows, cols = bs + 2, pages + 3
        self.outputs = {"cache_seqlens_int32": Output((bs,), np.int32), "cu_seqlens_k": Output((bs + 1,), np.int32),
                        "page_table": Output((rows, cols), np.int32, layout)}
        if sw.swa:
            self.outputs["swa_page_table"] = Output((rows, cols), np.int32, swa_layout or layout)

    def pool_object(self, pools=upstream_fa3):
        """token_to_kv_pool: an SWAKVPool holding the mapping, or a unified pool holding it as its v2p table (of the
        stub classes upstream_fa3 makes, which upstream's isinstance asserts accept)."""
        if not self.sw.swa:
            return None
        return (pools.unified_pool if self.sw.unified else pools.swa_pool)(self.swa_mapping)

    def named(self):
        """Every argument of the drop-in by upstream's name."""
        return dict(cache_seqlens_int32=self.view("cache_seqlens_int32"), cu_seqlens_k=self.view("cu_seqlens_k"),
                    page_table=self.view("page_table"), req_to_token=self.r2t, req_pool_indices=self.pool,
                    max_seq_pages=self.M, seq_lens=self.seq, seq_len_delta=self.delta, page_size=self.P,
                    swa_page_table=self.view("swa_page_table"), token_to_kv_pool=self.pool_object(),
                    skip_page_table=self.sw.skip)

    def call(self, **overrides):
        """draftjit.sglang's drop-in, by keyword."""
        sglang.normal_decode_set_metadata(**{**self.named(), **overrides})

    def op_args(self, **overrides):
        """The torch op's (and draftjit.fa3_decode_metadata's) arguments, in order."""
        named = self.named()
        del named["token_to_kv_pool"]
        named.update(swa_mapping=self.swa_mapping, swa_mapping_stride=0 if self.sw.unified else 1,
                     skip_page_table=int(self.sw.skip), bs=self.bs)
        named.update(overrides)
        return tuple(named[name] for name in NAMES)

    def prepare(self):
        draftjit.prepare([self.bs], kind=KIND, switches=self.sw.names())

    def expect(self):
        """Applies the reference's writes to the host copies."""
        views = {name: output.host_view() for name, output in self.outputs.items()}
        views["cache_seqlens"] = views.pop("cache_seqlens_int32")
        reference(self.bs, self.seq_h, self.pool_h, self.r2t_h, self.M, self.delta, self.P,
                  swa_mapping=self.map_h if self.sw.swa else None, swa_mapping_stride=0 if self.sw.unified else 1,
                  skip_page_table=self.sw.skip, **views)


# --- GPU: results against the reference ---------------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("sw", ALL_SWITCHES, ids=Switches.id)
def test_every_switch_set_matches_the_reference(sw):
    """All 16 switch sets (the unified pool's stride among them), at bs 7 and 45 (runs of one request per thread)
    and 700 (runs of three), with the page size, delta, layouts and input strides rotating."""
    index = ALL_SWITCHES.index(sw)
    for bs in (7, 45, 700):
        rng = np.random.default_rng(index * 1000 + bs)
        case = Case(bs, rng, sw, page_size=(1, 16, 64)[index % 3], delta=(0, 1, 3)[(index // 3) % 3],
                    layout=LAYOUTS[index % 3], r2t_layout=LAYOUTS[(index // 2) % 3], stride=1 + index % 3)
        run_twice(case)


BATCH_SIZES = (0, 1, 2, 31, 32, 33, 64, 255, 256, 257, 1000, 4096, 65536)


@needs_gpu
@pytest.mark.parametrize("bs", BATCH_SIZES)
def test_batch_sizes_match_the_reference(bs):
    index = BATCH_SIZES.index(bs)
    sw = ALL_SWITCHES[(index * 5 + 3) % len(ALL_SWITCHES)]
    pages = 40 if bs <= 1000 else 12 if bs <= 4096 else 4
    case = Case(bs, np.random.default_rng(bs), sw, page_size=(16, 64, 1)[index % 3],
                delta=(0, 1, 3)[(index // 3) % 3], pages=pages, layout=("contiguous", "sliced")[index % 2])
    run_twice(case)
    full = Case(bs, np.random.default_rng(bs + 1), FULL, page_size=64, delta=1, pages=pages, stride=2)
    run_twice(full)


@needs_gpu
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page_size", [16, 64])
def test_short_sequences_in_wide_tables_keep_their_tails(page_size, layout):
    """131072-token tables (max_seq_pages 8192 or 2048), lengths at most 3000 + 3: nothing is written past
    (3003 + P - 1) >> shift columns of either table."""
    case = Case(9, np.random.default_rng(page_size), Switches(swa=True), page_size=page_size, delta=3,
                pages=131072 // page_size, width=131072, lengths="short", layout=layout)
    case.call()
    case.check()
    first_stale = -(-3003 // page_size)
    for name in ("page_table", "swa_page_table"):  # without the reference
        assert bool((case.view(name)[:, first_stale:] == POISON[np.dtype(np.int32)]).all()), name


@needs_gpu
@pytest.mark.parametrize("page_size", [1, 16, 64])
def test_lengths_past_the_bound_and_stale_columns(page_size):
    """Long lengths (some past max_seq_pages * P: clipped), then short ones in the same buffers without poisoning in
    between: only the new live pages are rewritten, the columns after them keep the first call's values."""
    case = Case(33, np.random.default_rng(page_size + 5), Switches(swa=True), page_size=page_size, pages=64,
                lengths="long")
    case.call()
    case.check()
    case.lengths = "short"
    case.new_values()
    case.seq_h = np.minimum(case.seq_h, 3 * page_size)
    case.upload()
    case.call()
    case.check()  # the host copies still hold the first call's cells past the new live prefixes


@needs_gpu
@pytest.mark.parametrize("delta", [0, 1, 3])
@pytest.mark.parametrize("page_size", [1, 16, 64])
def test_padded_graph_rows(page_size, delta):
    """Rows padded as SGLang's graph runner pads them (seq_len 1, pool index 0) rewrite page 0 of pool row 0."""
    case = Case(40, np.random.default_rng(page_size * 10 + delta), Switches(swa=True), page_size=page_size,
                delta=delta, lengths="padded")
    run_twice(case)


@needs_gpu
@pytest.mark.parametrize("lengths, sw, delta", [
    ("negative", Switches(swa=True), -3),
    ("negative", Switches(seq64=True), 0),
    ("wrap", Switches(swa=True), 3),
    ("wrap", Switches(seq64=True, pool32=True), 1),
    ("wrap", Switches(seq64=True, skip=True), -1),
], ids=["negative-delta", "negative-seq64", "wrap-int32", "wrap-int64", "wrap-skip"])
def test_negative_lengths_and_int32_wrap_around(lengths, sw, delta):
    """Where upstream is defined for odd lengths: a negative or wrapping length gives no pages, and the sums wrap."""
    case = Case(50, np.random.default_rng(len(lengths) + delta), sw, page_size=64, delta=delta, lengths=lengths,
                pages=30)
    run_twice(case)


@needs_gpu
@pytest.mark.parametrize("page_size", [1, 16, 64])
def test_minus_one_tokens_and_negative_swa_mapping(page_size):
    """A third of req_to_token negative (page_table: an arithmetic shift, -1 stays -1; swa_page_table: left as it
    was, except with the unified pool's stride 0, which reads entry 0 for them too), negative and huge mapping
    values."""
    for sw in (Switches(swa=True), Switches(swa=True, unified=True)):
        run_twice(Case(20, np.random.default_rng(page_size), sw, page_size=page_size, tokens="minus"))
    run_twice(Case(20, np.random.default_rng(page_size + 1), Switches(), page_size=page_size, tokens="wide"))


@needs_gpu
def test_what_upstream_leaves_alone_is_left_alone():
    rng = np.random.default_rng(61)
    # skip_page_table: the page tables stay as they were, the pool is not read (SWA is dropped)
    case = Case(9, rng, Switches(skip=True))
    swa = Output((11, 23), np.int32)
    case.outputs["swa_page_table"] = swa
    run_twice(case, lambda: case.call(swa_page_table=swa.view, token_to_kv_pool=object()))
    # swa_page_table without a pool, or a pool without swa_page_table: no SWA, as upstream's use_swa
    case = Case(9, rng, Switches(swa=True))
    case.outputs.pop("swa_page_table")
    run_twice(case, lambda: case.call(swa_page_table=None))
    case = Case(9, rng, Switches())
    mapping = device_copy(np.arange(100), np.int64)
    run_twice(case, lambda: case.call(token_to_kv_pool=upstream_fa3.swa_pool(mapping)))
    # max_seq_pages 0: the lengths and the prefix alone
    run_twice(Case(9, rng, Switches(swa=True), pages=0))


@needs_gpu
@pytest.mark.parametrize("sw, pages, written", [
    (Switches(), 20, False), (FULL, 20, False), (Switches(skip=True), 20, True), (Switches(swa=True), 0, True)],
    ids=["plain", "full", "skip", "no-pages"])
def test_bs_0_writes_what_upstreams_grid_writes(sw, pages, written):
    """bs 0: upstream's grid (0, k) runs nothing; with skip_page_table or max_seq_pages 0 its (1, 1) grid writes
    cu_seqlens_k[0] = 0 alone."""
    case = Case(0, np.random.default_rng(3), sw, pages=pages)
    case.call()
    case.check()
    assert (case.outputs["cu_seqlens_k"].base[0].item() == 0) == written
    case.poison()
    draftjit.fa3_decode_metadata(*[Interface(a) if isinstance(a, torch.Tensor) else a for a in case.op_args()])
    case.check()


@needs_gpu
@pytest.mark.parametrize("layout, r2t_layout, stride", [
    ("transposed", "contiguous", 2), ("sliced", "transposed", 3), ("transposed", "sliced", 1),
    ("contiguous", "transposed", 2)])
def test_strided_inputs_and_laid_out_tables(layout, r2t_layout, stride):
    """Any non-negative strides of the inputs and tables, read and written in place (upstream copies strided inputs
    and a strided swa_page_table, whose writes the copy then takes)."""
    for sw in (FULL, Switches(pool32=True), Switches(seq64=True, swa=True, unified=True)):
        case = Case(37, np.random.default_rng(stride), sw, page_size=16, layout=layout, r2t_layout=r2t_layout,
                    stride=stride)
        run_twice(case)


@needs_gpu
@pytest.mark.parametrize("sw", [FULL, Switches(swa=True), Switches(pool32=True)], ids=Switches.id)
def test_bad_data_draftjit_guards_is_left_untouched(sw):
    """Pool indices outside req_to_token's rows leave their rows' page-table entries as they were; tokens outside the
    mapping leave their swa entries as they were (upstream reads out of bounds there)."""
    case = Case(40, np.random.default_rng(67), sw, page_size=16, bad=("pool", "token"))
    run_twice(case)


# --- GPU: graphs, compiles, the op and its arguments ------------------------------------------------------------

GRAPH_VARIANTS = {
    "plain": dict(sw=Switches()),
    "full": dict(sw=FULL, layout="sliced"),
    "unified-strided": dict(sw=Switches(swa=True, unified=True), stride=2),
    "skip": dict(sw=Switches(skip=True, seq64=True)),
}


@needs_gpu
@pytest.mark.parametrize("variant", list(GRAPH_VARIANTS))
@pytest.mark.parametrize("bs", [0, 5, 64])
def test_graph_capture_and_replay_with_new_inputs(bs, variant):
    """After prepare, the capture records one kernel node (none for bs 0 with a gather, as upstream's empty grid)
    and does no JIT work; each replay, on new values in the same buffers, writes what the reference says."""
    options = dict(GRAPH_VARIANTS[variant])
    sw = options.pop("sw")
    case = Case(bs, np.random.default_rng(bs + 17), sw, page_size=64, delta=1, **options)
    launches = bs > 0 or sw.skip
    trtllm.capture_and_replay(case, launches=launches, check=case.check)


@needs_gpu
def test_new_batch_sizes_lengths_widths_page_sizes_deltas_and_strides_compile_nothing():
    """One kernel per switch set: once it is loaded, any bs, max_seq_pages, table width, page size, seq_len_delta,
    mapping stride or array stride is a warm call."""
    rng = np.random.default_rng(73)
    first = Case(12, rng, FULL, page_size=16, pages=20)
    first.call()
    first.check()
    before = draftjit.stats()
    for bs, page_size, pages, layout, stride, delta in (
            (1, 64, 7, "sliced", 2, 0), (33, 1, 300, "transposed", 3, 3), (300, 16, 2, "contiguous", 1, 1),
            (4096, 64, 3, "sliced", 2, -2), (65536, 16, 1, "contiguous", 1, 0), (0, 16, 20, "sliced", 1, 0),
            (5, 16, 8192, "contiguous", 1, 7), (7, 128, 0, "contiguous", 1, 5)):
        case = Case(bs, rng, FULL, page_size=page_size, pages=pages, layout=layout, stride=stride, delta=delta,
                    width=pages * page_size + 1 + bs % 5, lengths="short" if pages > 1000 else "mixed")
        case.call()
        case.check()
    unified = Case(9, rng, Switches(seq64=True, pool32=True, swa=True, unified=True))
    unified.call()
    unified.check()
    assert draftjit.stats() == before


@needs_gpu
def test_prepare_loads_every_bs_at_once_and_refuses_what_no_call_has():
    sw = Switches(seq64=True, swa=True)
    draftjit.prepare([1, 9, 1000, MAX_BS], kind=KIND, switches=sw.names())
    before = draftjit.stats()
    for bs in (3, 777):
        case = Case(bs, np.random.default_rng(bs), sw)
        case.call()
        case.check()
    assert draftjit.stats() == before
    for switches, word in ((["bogus"], "bogus"), (["swa", "skip"], "skip")):
        with pytest.raises(ValueError, match=word):
            draftjit.prepare([1], kind=KIND, switches=switches)
    with pytest.raises(ValueError, match=re.escape(f"bs = {MAX_BS + 1} is outside")):
        draftjit.prepare([MAX_BS + 1], kind=KIND)


OPCHECK_VARIANTS = {
    "plain": dict(sw=Switches()),
    "full-sliced": dict(sw=FULL, layout="sliced"),
    "unified-strided": dict(sw=Switches(swa=True, unified=True), stride=2),
    "skip": dict(sw=Switches(skip=True)),
}


@needs_gpu
@pytest.mark.parametrize("variant", list(OPCHECK_VARIANTS))
def test_opcheck(variant):
    options = dict(OPCHECK_VARIANTS[variant])
    case = Case(5, np.random.default_rng(2), options.pop("sw"), **options)
    torch.library.opcheck(getattr(torch.ops.draftjit, OP_NAME).default, case.op_args())


@needs_gpu
@pytest.mark.parametrize("variant", ["plain", "full-transposed-strided", "skip"])
def test_array_interface_arrays_get_the_same_results(variant):
    options = {"plain": dict(sw=Switches()),
               "full-transposed-strided": dict(sw=FULL, layout="transposed", r2t_layout="sliced", stride=3),
               "skip": dict(sw=Switches(skip=True))}[variant]
    options = dict(options)
    case = Case(70, np.random.default_rng(79), options.pop("sw"), **options)
    call = getattr(draftjit, OP_NAME)
    run_twice(case, lambda: call(*[Interface(a) if isinstance(a, torch.Tensor) else a for a in case.op_args()]))
    case.poison()
    call(*case.op_args())  # the same function on tensors goes through the torch op
    case.check()


def argument_errors():
    """(what to pass to the drop-in instead, the argument the message must name): each on a case with SWA."""
    def pool(mapping):
        return upstream_fa3.swa_pool(mapping)

    return [
        (lambda c: {"seq_lens": c.seq.float()}, "seq_lens"),
        (lambda c: {"req_pool_indices": c.pool.to(torch.int16)}, "req_pool_indices"),
        (lambda c: {"req_to_token": c.r2t.long()}, "req_to_token"),
        (lambda c: {"cache_seqlens_int32": c.view("cache_seqlens_int32").long()}, "cache_seqlens_int32"),
        (lambda c: {"cu_seqlens_k": c.view("cu_seqlens_k").long()}, "cu_seqlens_k"),
        (lambda c: {"page_table": c.view("page_table").long()}, "page_table"),
        (lambda c: {"swa_page_table": c.view("swa_page_table").long()}, "swa_page_table"),
        (lambda c: {"token_to_kv_pool": pool(c.swa_mapping.int())}, "swa_mapping"),
        (lambda c: {"token_to_kv_pool": pool(c.swa_mapping[::2])}, "swa_mapping"),
        (lambda c: {"token_to_kv_pool": pool(c.swa_mapping.view(1, -1))}, "swa_mapping"),
        (lambda c: {"seq_lens": c.seq.view(1, -1)}, "seq_lens"),
        (lambda c: {"req_to_token": c.r2t[0]}, "req_to_token"),
        (lambda c: {"page_table": c.view("page_table")[0]}, "page_table"),
        (lambda c: {"seq_lens": c.seq.cpu()}, "seq_lens"),
        (lambda c: {"seq_lens": c.seq[:c.bs - 1]}, "seq_lens"),
        (lambda c: {"req_pool_indices": c.pool[:c.bs - 1]}, "req_pool_indices"),
        (lambda c: {"cu_seqlens_k": c.view("cu_seqlens_k")[:c.bs]}, "cu_seqlens_k"),
        (lambda c: {"cache_seqlens_int32": c.view("cache_seqlens_int32")[::2]}, "cache_seqlens_int32"),
        (lambda c: {"page_table": c.view("page_table")[:c.bs - 1]}, "page_table"),
        (lambda c: {"page_table": c.view("page_table")[:, :c.M - 1]}, "max_seq_pages|page_table"),
        (lambda c: {"swa_page_table": c.view("swa_page_table")[:, :c.M - 1]}, "max_seq_pages|swa_page_table"),
        (lambda c: {"req_to_token": c.r2t[:, :(c.M - 1) * c.P]}, "max_seq_pages|req_to_token"),
        (lambda c: {"max_seq_pages": -1}, "max_seq_pages"),
        (lambda c: {"max_seq_pages": 2**31}, "max_seq_pages"),
        (lambda c: {"page_size": 0}, "page_size"),
        (lambda c: {"page_size": 12}, "page_size"),
        (lambda c: {"page_size": -16}, "page_size"),
        (lambda c: {"page_size": 2**31}, "page_size"),
        (lambda c: {"seq_len_delta": 2**31}, "seq_len_delta"),
        (lambda c: {"token_to_kv_pool": object()}, "full_to_swa_index_mapping"),
    ]


@needs_gpu
@pytest.mark.parametrize("change, name", argument_errors())
def test_argument_errors_name_the_argument_and_write_nothing(change, name):
    # Through the torch op these are PyTorch's exceptions (ValueError with torch 2.11, a wrong dtype too; else
    # RuntimeError) carrying draftjit's message; the drop-in's own (the pool) AttributeError or ValueError.
    case = Case(5, np.random.default_rng(1), Switches(swa=True), page_size=16, pages=6, width=200)
    with pytest.raises((TypeError, ValueError, RuntimeError, AttributeError), match=name):
        case.call(**change(case))
    case.check_untouched()


@needs_gpu
@pytest.mark.parametrize("overrides, name", [
    ({"swa_mapping_stride": 2}, "swa_mapping_stride"), ({"swa_mapping": None}, "swa_mapping"),
    ({"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}")), ({"bs": -1}, "bs = -1"),
    ({"bs": 6}, "bs = 6 entries")], ids=["stride", "no-mapping", "bs-big", "bs-negative", "bs-past-arrays"])
def test_the_ops_own_arguments_are_checked(overrides, name):
    case = Case(5, np.random.default_rng(1), Switches(swa=True), page_size=16, pages=6, width=200)
    with pytest.raises((TypeError, ValueError, RuntimeError), match=name):
        getattr(torch.ops.draftjit, OP_NAME)(*case.op_args(**overrides))
    case.check_untouched()


# --- CPU: the op's description, the kind, the drop-in's signature -----------------------------------------------

def test_the_op_description_is_the_contract():
    """draftjit.fa3_decode_metadata (made from the C++ description) takes upstream's arguments in upstream's order,
    the pool as its mapping and stride, bs last, and writes exactly the outputs."""
    described = {name: arguments for name, _, _, arguments in draftjit._core.op_descriptions()}
    assert OP_NAME in described, f"no {OP_NAME} among {sorted(described)}"
    # (name, kind, written, ...): main adds an Int's range as a fourth entry
    assert [argument[0] for argument in described[OP_NAME]] == NAMES
    assert {argument[0] for argument in described[OP_NAME] if argument[2]} == WRITTEN
    assert callable(getattr(draftjit, OP_NAME))


def test_the_kind_is_specialised_by_its_switches_alone():
    kinds = {name: switches for name, _, switches in draftjit.kinds()}
    assert kinds[KIND] == ["seq64", "pool32", "swa", "skip"]
    # bs is no part of the kernel: the same source for every bs, another for another switch set
    source = draftjit.emit(1, kind=KIND, switches=["swa", "seq64"])
    assert "draftjit_kernels::fa3_decode_kernel<256, 5>(p)" in source
    assert source == draftjit.emit(MAX_BS, kind=KIND, switches=["swa", "seq64"])
    assert source != draftjit.emit(1, kind=KIND, switches=["swa"])
    counts = draftjit.warmup([1, 2, 300, 4097, MAX_BS], "sm_89", kind=KIND, switches=["pool32", "skip"])
    assert counts["kernels"] == 1 and counts["compiled"] + counts["cached"] == 1, counts
    with pytest.raises(ValueError, match="bogus"):
        draftjit.emit(1, kind=KIND, switches=["bogus"])
    with pytest.raises(ValueError, match="the swa switch writes a page table, which skip leaves out"):
        draftjit.emit(1, kind=KIND, switches=["swa", "skip"])


@needs_ops
def test_the_drop_in_is_upstreams_signature():
    parameters = list(inspect.signature(sglang.normal_decode_set_metadata).parameters.values())
    assert [(p.name, p.default) for p in parameters] == ARGUMENTS
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)
    schema = str(getattr(torch.ops.draftjit, OP_NAME).default._schema)
    assert schema.removeprefix("draftjit::") == SCHEMA


def upstream_signature(function_name):
    """(name, default) of each argument of upstream's function so named, read (not run) from DRAFTJIT_UPSTREAM_SGLANG's
    file; skips the test when there is none."""
    import ast
    path = upstream_fa3.path()
    if path is None or not os.path.isfile(path):
        pytest.skip(upstream_fa3.missing() or f"no {path}")
    with open(path) as source:
        tree = ast.parse(source.read())
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == function_name)
    names = [arg.arg for arg in function.args.args]
    defaults = [NO_DEFAULT] * (len(names) - len(function.args.defaults)) + [d.value for d in function.args.defaults]
    return list(zip(names, defaults))


def test_upstreams_file_has_the_signature_tested_here():
    assert upstream_signature(upstream_fa3.FUNCTION) == ARGUMENTS


def fake_call(bs=4, pages=8, page_size=16, **overrides):
    """draftjit.fa3_decode_metadata through the pybind11 path on fake __cuda_array_interface__ arrays, with SWA;
    overrides replace any argument."""
    args = dict(cache_seqlens_int32=FakeArray(bs), cu_seqlens_k=FakeArray(bs + 1),
                page_table=FakeArray(0, shape=(bs, pages)), req_to_token=FakeArray(0, shape=(bs, pages * page_size)),
                req_pool_indices=FakeArray(bs, "<i8"), max_seq_pages=pages, seq_lens=FakeArray(bs), seq_len_delta=0,
                page_size=page_size, swa_page_table=FakeArray(0, shape=(bs, pages)),
                swa_mapping=FakeArray(100, "<i8"), swa_mapping_stride=1, skip_page_table=0, bs=bs)
    args.update(overrides)
    return getattr(draftjit, OP_NAME)(**args)


@pytest.mark.skipif(HAVE_GPU, reason="with a GPU, valid fake arrays would reach a real launch")
def test_arguments_are_checked_before_the_driver():
    """No GPU needed: what the contract accepts reaches the driver (its error, draftjit.Error, is the proof), and
    arguments the op's description refuses are refused by name first (the C++ API's own rules, which this path
    checks in the arrays' context, are tests/unit/fa3_args_test.cpp's)."""
    for overrides in ({}, {"skip_page_table": 1, "swa_page_table": None, "swa_mapping": None},
                      {"seq_lens": FakeArray(0, "<i8", shape=(4,), strides=(24,)),
                       "req_pool_indices": FakeArray(0, "<i4", shape=(4,), strides=(8,))},
                      {"page_table": FakeArray(0, shape=(4, 8), strides=(4, 16)),
                       "req_to_token": FakeArray(0, shape=(4, 128), strides=(4, 16))},
                      {"swa_mapping_stride": 0, "seq_len_delta": -3, "page_size": 1, "max_seq_pages": 0},
                      {"bs": 0, "max_seq_pages": 0}):
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):
            fake_call(**overrides)
    refused = [
        ({"seq_lens": FakeArray(4, "<f4")}, "seq_lens"),
        ({"req_pool_indices": FakeArray(4, "<i2")}, "req_pool_indices"),
        ({"req_to_token": FakeArray(0, "<i8", shape=(4, 128))}, "req_to_token"),
        ({"cache_seqlens_int32": FakeArray(4, "<i8")}, "cache_seqlens_int32"),
        ({"cu_seqlens_k": FakeArray(5, "<i8")}, "cu_seqlens_k"),
        ({"page_table": FakeArray(0, "<i8", shape=(4, 8))}, "page_table"),
        ({"swa_page_table": FakeArray(0, "<i8", shape=(4, 8))}, "swa_page_table"),
        ({"swa_mapping": FakeArray(100, "<i4")}, "swa_mapping"),
        ({"swa_mapping": FakeArray(0, "<i8", shape=(100,), strides=(16,))}, "swa_mapping"),
        ({"seq_lens": FakeArray(0, shape=(2, 2))}, "seq_lens"),
        ({"req_to_token": FakeArray(512)}, "req_to_token"),
        ({"page_table": FakeArray(32)}, "page_table"),
        ({"seq_lens": FakeArray(3)}, "seq_lens"),
        ({"req_pool_indices": FakeArray(3, "<i8")}, "req_pool_indices"),
        ({"cache_seqlens_int32": FakeArray(3)}, "cache_seqlens_int32"),
        ({"cu_seqlens_k": FakeArray(4)}, "cu_seqlens_k"),
        ({"seq_lens": FakeArray(0, shape=(4,), strides=(6,))}, "seq_lens"),
        ({"seq_len_delta": 2**31}, "seq_len_delta"),
        ({"page_size": 2**31}, "page_size"),
        ({"swa_mapping_stride": 2**31}, "swa_mapping_stride"),
        ({"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}")),
        ({"bs": -1}, "bs = -1"),
    ]
    for overrides, name in refused:
        with pytest.raises((TypeError, ValueError), match=name):
            fake_call(**overrides)


def test_the_upstream_loader_says_what_is_missing(monkeypatch):
    trtllm.check_loader_says_what_is_missing(upstream_fa3, upstream_fa3.ATTENTION, monkeypatch)


# --- against upstream's Triton kernels ----------------------------------------------------------------------

needs_upstream = trtllm.needs_upstream_of(upstream_fa3)


def upstream_cases():
    """(id, bs, switches, Case options): where upstream is defined (pool indices inside req_to_token; with an
    SWAKVPool's mapping, tokens inside it, none negative) and where upstream writes the caller's buffers
    (swa_page_table contiguous: upstream's .contiguous() copy of another would take its writes). Each is a Triton
    compile (per page size, seq_len_delta and switch), drawn twice; upstream sums bs sequentially in one program."""
    def options(sw, **more):
        if sw.swa:
            more.setdefault("swa_layout", "contiguous")
            if not sw.unified:
                more.setdefault("tokens", "inside")
        return more

    result = []
    for i, bs in enumerate((1, 2, 31, 32, 33, 64, 257, 1000, 4096)):
        sw = ALL_SWITCHES[(i * 5 + 1) % len(ALL_SWITCHES)]
        result.append((f"sweep-bs{bs}-{sw.id()}", bs, sw, options(
            sw, page_size=(16, 64, 1)[i % 3], delta=(0, 1, 3)[(i // 3) % 3], pages=40 if bs <= 1000 else 12,
            layout=("contiguous", "sliced")[i % 2], stride=1 + i % 2)))
    for i, sw in enumerate(ALL_SWITCHES):
        result.append((f"matrix-{sw.id()}", 9, sw, options(sw, page_size=(1, 16, 64)[i % 3], delta=i % 4,
                                                            layout=LAYOUTS[i % 3])))
    swa, unified = Switches(swa=True), Switches(swa=True, unified=True)
    result += [
        ("short-in-wide", 5, swa, options(swa, page_size=16, pages=8192, width=131072, lengths="short")),
        ("long", 17, Switches(), dict(page_size=64, pages=512, width=32768, lengths="long")),
        ("padded-rows", 24, swa, options(swa, page_size=16, delta=1, lengths="padded")),
        ("negative", 9, Switches(seq64=True, swa=True), options(swa, page_size=64, delta=-3, lengths="negative")),
        ("wrap-int32", 9, swa, options(swa, page_size=16, delta=3, lengths="wrap")),
        ("wrap-int64", 9, Switches(seq64=True), dict(page_size=64, delta=1, lengths="wrap")),
        ("minus-tokens-plain", 9, Switches(), dict(page_size=16, tokens="minus")),
        ("minus-tokens-unified", 9, unified, options(unified, page_size=16, tokens="minus")),
        ("wide-tokens", 9, Switches(pool32=True), dict(page_size=64, tokens="wide")),
        ("no-pages", 9, swa, options(swa, pages=0)),
        ("bs0-gather", 0, Switches(), dict()),
        ("bs0-skip", 0, Switches(skip=True), dict()),
        ("bs0-no-pages", 0, Switches(), dict(pages=0)),
        ("one-page", 7, swa, options(swa, page_size=64, pages=1)),
        ("narrowest-table", 7, Switches(), dict(page_size=1, pages=40, width=40)),
    ]
    return result


UPSTREAM_CASES = upstream_cases()


@pytest.fixture(scope="module")
def upstream():
    return upstream_fa3.load()


@needs_upstream
@pytest.mark.parametrize("bs, sw, options", [case[1:] for case in UPSTREAM_CASES],
                         ids=[case[0] for case in UPSTREAM_CASES])
def test_draftjit_writes_what_upstream_writes(upstream, bs, sw, options):
    """Upstream's normal_decode_set_metadata and draftjit.sglang's get the same arguments on twin buffers (the same
    seed: the same values, poison and layouts); afterwards every buffer must be equal bit for bit, and draftjit's
    equal to the reference."""
    trtllm.compare_twins(lambda seed: Case(bs, np.random.default_rng(seed), sw, **options),
                         lambda case: trtllm.call_fitted(upstream.normal_decode_set_metadata, case.named(), ARGUMENTS),
                         f"{bs}|{sw.id()}|{sorted(options.items())}")
