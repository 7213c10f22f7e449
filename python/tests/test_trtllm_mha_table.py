"""TRTLLM-MHA's eager page table (draftjit.sglang.build_trtllm_mha_page_table, torch.ops.draftjit.trtllm_mha_page_table
and draftjit.trtllm_mha_page_table) against a NumPy reference written from docs/BACKENDS.md section 1 and upstream's
file, and, where DRAFTJIT_UPSTREAM_SGLANG names upstream's files, against upstream SGLang's own Triton kernel bit for
bit. Built on test_trtllm_mha.py's case (the same inputs, layouts, strides, poisoned outputs compared whole, graph
capture and twin comparison) as test_trtllm_mla.py is: page_table's shape gives bs and the width, so its padding (in
its layout) and the columns past each row's live pages keep their poison (or their stale values). Covered: bs 0 to
65536; both dtypes of cache_seqlens and req_pool_indices, SWA on and off; every page size dividing 4096 (and 3,
which the op takes and upstream's assertion refuses); short rows in wide tables; lengths past the table's columns
(not written: upstream writes them into the next row); tables without columns; negative tokens (the SWA lookup
clamps them to entry 0); negative lengths and lengths whose cdiv by 4096 overflows the dtype (no pages, as
upstream); int64 lengths past int32; an empty full_to_swa (the SWA table left as it was); strided inputs and sliced
or transposed tables (draftjit only); pool indices outside req_to_token (left untouched); CUDA graph capture (one
kernel node); no compile for new bs, lengths, widths, page sizes or strides; opcheck; upstream's assertions as
ValueError; argument errors; the __cuda_array_interface__ path."""

import dataclasses
import inspect
import itertools
import os
import re

import numpy as np
import pytest

import draftjit
import test_trtllm_mha as mha
import upstream_trtllm_mha
from test_cpu import FakeArray
from test_trtllm_mha import (BATCH_SIZES, LAYOUTS, NO_DEFAULT, POISON, Output, capture_and_replay,
                             check_array_interface_path, check_description, check_loader_says_what_is_missing,
                             check_prepare, check_refused, compare_twins, needs_upstream_of, run_twice, trunc_div,
                             wrap32)

from gpu_marks import HAVE_GPU, HAVE_OPS, needs_gpu, needs_ops, torch

if HAVE_OPS:
    from draftjit import sglang

KIND = "trtllm-mha-table"
OP_NAME = "trtllm_mha_page_table"
UPSTREAM = upstream_trtllm_mha.TABLE
MAX_BS = mha.MAX_BS  # the family's (the description's bs range is checked below)
ARGUMENTS = [("req_to_token", NO_DEFAULT), ("req_pool_indices", NO_DEFAULT), ("cache_seqlens", NO_DEFAULT),
             ("page_table", NO_DEFAULT), ("page_size", NO_DEFAULT), ("swa_page_table", None), ("full_to_swa", None)]
NAMES = [name for name, _ in ARGUMENTS] + ["bs"]  # the op's: the drop-in passes page_table's rows as bs
WRITTEN = {"page_table", "swa_page_table"}
SCHEMA = ("trtllm_mha_page_table(Tensor req_to_token, Tensor req_pool_indices, Tensor cache_seqlens, "
          "Tensor(a!) page_table, int page_size, Tensor(b!)? swa_page_table, Tensor? full_to_swa, int bs) -> ()")
PAGE_SIZES = [2**k for k in range(13)]  # every page size upstream takes: those dividing 4096


# --- the reference: docs/BACKENDS.md, section 1, the eager page-table helper ---------------------------------------

def guard_overflows(lengths, seq64):
    """Where upstream's block guard cdiv(L, 4096) = (L + 4095) // 4096 wraps negative in L's dtype: no pages."""
    return np.asarray(lengths, dtype=np.int64) > (2**63 - 1 if seq64 else 2**31 - 1) - 4095


def reference(cache_seqlens, req_pool_indices, req_to_token, page_size, *, page_table, swa_page_table=None,
              full_to_swa=None, seq64=False):
    """Writes into the output views (NumPy) what one call writes and nothing else. bs, W = page_table's shape; L_b =
    cache_seqlens[b] (its dtype: seq64), live pages cdiv(L_b, P), none where L_b <= 0 or L_b + 4095 overflows the
    dtype (upstream's block guard wraps negative); page_table[b, p] = req_to_token[pool_b, p * P] // P (truncating)
    and with full_to_swa swa_page_table[b, p] = int32(full_to_swa[clip(token, 0, numel - 1)] // P). Where upstream
    is undefined draftjit writes nothing: a pool index outside req_to_token's rows, a page at or past W (upstream
    writes into the next row) or starting past req_to_token's columns, an SWA entry of an empty full_to_swa."""
    bs, width = page_table.shape
    if bs == 0 or width == 0:
        return
    P = page_size
    lengths = np.asarray(cache_seqlens[:bs], dtype=np.int64)
    alive = (lengths > 0) & ~guard_overflows(lengths, seq64)
    live = np.where(alive, (np.maximum(lengths, 1) - 1) // P + 1, 0)
    rows, tokens_wide = req_to_token.shape
    bound = min(width, -(-tokens_wide // P))
    pool = np.asarray(req_pool_indices[:bs], dtype=np.int64)
    inside = (pool >= 0) & (pool < rows)
    written = (np.arange(bound)[None, :] < live[:, None]) & inside[:, None]
    tokens = req_to_token[np.where(inside, pool, 0)[:, None], (np.arange(bound) * P)[None, :]].astype(np.int64)
    block = page_table[:, :bound]
    block[written] = trunc_div(tokens, P)[written]
    if swa_page_table is not None and len(full_to_swa) > 0:
        mapped = np.asarray(full_to_swa, dtype=np.int64)[np.clip(tokens, 0, len(full_to_swa) - 1)]
        swa_block = swa_page_table[:, :bound]
        swa_block[written] = wrap32(trunc_div(mapped, P))[written]


def test_reference_on_a_worked_example():
    """The oracle itself, on values worked out by hand (no GPU needed)."""
    p = POISON[np.dtype(np.int32)]
    r2t = np.full((3, 12), 999, dtype=np.int32)
    r2t[0, 0], r2t[0, 4], r2t[0, 8] = 8, -1, -5
    r2t[1, 0], r2t[1, 4] = 13, 17
    r2t[2, 0] = 40
    table = np.full((4, 3), p)
    # lengths 1, 7, 12, -2 -> 1, 2, 3 and no pages of 4; pools 2, 1, 0, 0
    reference([1, 7, 12, -2, 50], [2, 1, 0, 0, 7], r2t, 4, page_table=table)
    assert table.tolist() == [[10, p, p], [3, 4, p], [2, 0, -1], [p, p, p]]  # -1 // 4 == 0, -5 // 4 == -1
    # SWA: tokens clipped into the mapping (-1, -5 -> entry 0; 40 past 9 entries -> entry 8), mapping // 4 in int32
    mapping = np.array([-9, 1, 2, 3, 4, 5, 6, 7, 2**34 + 4 * 5, 0, 0, 0, 0, 0])[:9]
    table, swa = np.full((3, 3), p), np.full((3, 3), p)
    reference([1, 7, 12], [2, 1, 0], r2t, 4, page_table=table, swa_page_table=swa, full_to_swa=mapping)
    assert swa.tolist() == [[5, p, p], [5, 5, p], [5, -2, -2]]
    # an empty mapping leaves the SWA table alone
    swa = np.full((3, 3), p)
    reference([1, 7, 12], [2, 1, 0], r2t, 4, page_table=np.full((3, 3), p), swa_page_table=swa,
              full_to_swa=np.zeros(0))
    assert (swa == p).all()
    # pages past the table's 2 columns and past req_to_token's 12 columns (page 3 at column 12) are not written
    narrow, wide = np.full((1, 2), p), np.full((1, 5), p)
    reference([40], [0], r2t, 4, page_table=narrow)
    reference([40], [0], r2t, 4, page_table=wide)
    assert narrow.tolist() == [[2, 0]] and wide.tolist() == [[2, 0, -1, p, p]]
    # upstream's guard cdiv(L, 4096) wraps negative in int32 from 2^31 - 4095: no pages; int64 has none of that
    edge = np.full((3, 3), p)
    reference([2**31 - 4096, 2**31 - 4095, 5], [0, 0, 3], r2t, 4, page_table=edge)
    assert edge.tolist() == [[2, 0, -1], [p, p, p], [p, p, p]]
    edge = np.full((2, 3), p)
    reference([2**31 - 4095, 2**33], [0, 0], r2t, 4, page_table=edge, seq64=True)
    assert edge.tolist() == [[2, 0, -1], [2, 0, -1]]


# --- switch sets and the case -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Switches:
    """cache_seqlens int64, req_pool_indices int32, SWA (swa_page_table and full_to_swa given): the kernel's."""
    seq64: bool = False
    pool32: bool = False
    swa: bool = False

    def names(self):
        return [name for name, on in (("seq64", self.seq64), ("pool32", self.pool32), ("swa", self.swa)) if on]

    def id(self):
        return "-".join(self.names()) or "plain"


ALL_SWITCHES = [Switches(*bits) for bits in itertools.product((False, True), repeat=3)]


class Case(mha.Case):
    """test_trtllm_mha.py's case (its inputs: lengths, tokens, pool indices, the SWA mapping, layouts, strides, bad
    data; seq_lens is cache_seqlens here, the offset unused) with this op's outputs: page_table of bs rows and `pages`
    columns (W) in `layout`, and with SWA swa_page_table alike. fit: lengths clipped so that no row has pages past W
    (upstream's defined range, for the differential test), but for those whose cdiv by 4096 overflows (no pages). map_size: full_to_swa's entries (default the case's)."""

    def __init__(self, bs, rng, sw=Switches(), *, pages=20, fit=False, map_size=None, **options):
        self.table, self.fit = sw, fit
        super().__init__(bs, rng, mha.Switches(seq64=sw.seq64, pool32=sw.pool32, swa=sw.swa), pages=pages, **options)
        layout = options.get("layout", "contiguous")
        self.outputs = {"page_table": Output((bs, pages), np.int32, layout)}
        if sw.swa:
            self.outputs["swa_page_table"] = Output((bs, pages), np.int32, layout)
            if map_size is not None:
                self.map_h, self.swa_mapping = self.map_h[:map_size], self.swa_mapping[:map_size]

    def new_values(self):
        super().new_values()
        if self.fit:  # L <= W * P, unless upstream's block guard overflows (no pages either way)
            past = (self.seq_h > self.M * self.P) & ~guard_overflows(self.seq_h, self.table.seq64)
            self.seq_h[past] = self.M * self.P
        if getattr(self, "swa_mapping", None) is not None:
            self.map_h = self.map_h[:len(self.swa_mapping)]

    def named(self):
        """Every argument by upstream's name."""
        return dict(req_to_token=self.r2t, req_pool_indices=self.pool, cache_seqlens=self.seq,
                    page_table=self.view("page_table"), page_size=self.P,
                    swa_page_table=self.view("swa_page_table"), full_to_swa=self.swa_mapping)

    def call(self, **overrides):
        sglang.build_trtllm_mha_page_table(**{**self.named(), **overrides})

    def op_args(self, **overrides):
        named = {**self.named(), "bs": self.bs, **overrides}
        return tuple(named[name] for name in NAMES)

    def prepare(self):
        draftjit.prepare([self.bs], kind=KIND, switches=self.table.names())

    def expect(self):
        views = {name: output.host_view() for name, output in self.outputs.items()}
        reference(self.seq_h, self.pool_h, self.r2t_h, self.P, seq64=self.table.seq64,
                  full_to_swa=self.map_h if self.table.swa else None, **views)


# --- GPU: results against the reference ---------------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("sw", ALL_SWITCHES, ids=Switches.id)
def test_every_switch_set_matches_the_reference(sw):
    """Every switch set at bs 7 and 45, the page size, layouts and input strides rotating."""
    index = ALL_SWITCHES.index(sw)
    for bs in (7, 45):
        case = Case(bs, np.random.default_rng(index * 100 + bs), sw, page_size=(1, 16, 64, 4096)[index % 4],
                    layout=LAYOUTS[index % 3], r2t_layout=LAYOUTS[(index // 2) % 3], stride=1 + index % 3)
        run_twice(case)


@needs_gpu
@pytest.mark.parametrize("bs", BATCH_SIZES)
def test_batch_sizes_match_the_reference(bs):
    index = BATCH_SIZES.index(bs)
    pages = 40 if bs <= 1000 else 12 if bs <= 4096 else 4
    for sw in (ALL_SWITCHES[index % len(ALL_SWITCHES)], Switches(seq64=True, pool32=True, swa=True)):
        case = Case(bs, np.random.default_rng(bs + sw.swa), sw, page_size=(16, 64, 1)[index % 3], pages=pages,
                    layout=("contiguous", "sliced")[index % 2])
        run_twice(case)


@needs_gpu
@pytest.mark.parametrize("swa", [False, True], ids=["plain", "swa"])
@pytest.mark.parametrize("page_size", PAGE_SIZES + [3])
def test_every_page_size(page_size, swa):
    """Every page size upstream takes (1 to 4096 dividing 4096), through the drop-in, and 3 through the op (the
    drop-in refuses it, as upstream's assertion)."""
    case = Case(33, np.random.default_rng(page_size), Switches(swa=swa), page_size=page_size,
                pages=max(2, 8192 // page_size))
    if page_size == 3:
        run_twice(case, lambda: getattr(torch.ops.draftjit, OP_NAME)(*case.op_args()))
    else:
        run_twice(case)


@needs_gpu
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page_size", [16, 64])
def test_short_rows_in_wide_tables_keep_their_tails(page_size, layout):
    """131072-token tables, lengths at most 3000: nothing is written past cdiv(3000, P) columns."""
    case = Case(9, np.random.default_rng(page_size), Switches(swa=True), page_size=page_size,
                pages=131072 // page_size, width=131072, lengths="short", layout=layout)
    case.call()
    case.check()
    first_stale = -(-3000 // page_size)
    for name in WRITTEN:
        assert bool((case.view(name)[:, first_stale:] == POISON[np.dtype(np.int32)]).all())


@needs_gpu
@pytest.mark.parametrize("page_size", [1, 16, 4096])
def test_lengths_past_the_columns_and_stale_columns(page_size):
    """Long lengths (some past W * P: those pages are not written), then short ones in the same buffers without
    poisoning: only the new live pages are rewritten. Then a req_to_token narrower than the table."""
    case = Case(33, np.random.default_rng(page_size + 5), Switches(swa=True), page_size=page_size, pages=64,
                lengths="long")
    case.call()
    case.check()
    case.lengths = "short"
    case.new_values()
    case.seq_h = np.minimum(case.seq_h, 3 * page_size)
    case.upload()
    case.call()
    case.check()
    run_twice(Case(33, np.random.default_rng(page_size + 6), page_size=page_size, pages=64, lengths="long",
                   width=20 * page_size + 1))


@needs_gpu
@pytest.mark.parametrize("lengths, sw", [
    ("negative", Switches()), ("negative", Switches(seq64=True)), ("wrap", Switches(swa=True)),
    ("wrap", Switches(seq64=True, pool32=True))], ids=["negative", "negative-seq64", "wrap-int32", "wrap-int64"])
def test_negative_lengths_and_overflowing_guards(lengths, sw):
    """A negative L_b gives no pages; an int32 L_b past 2^31 - 4096 none either (upstream's block guard wraps); an
    int64 L_b past int32 its whole row."""
    run_twice(Case(50, np.random.default_rng(len(lengths)), sw, page_size=64, lengths=lengths, pages=30))


@needs_gpu
@pytest.mark.parametrize("page_size", [1, 16, 64])
def test_negative_and_wide_tokens(page_size):
    """A third of req_to_token negative (truncating division; the SWA lookup clamps them to entry 0), then tokens up
    to int32's max (without SWA, whose tokens stay inside the mapping)."""
    run_twice(Case(20, np.random.default_rng(page_size), Switches(swa=True), page_size=page_size, tokens="minus"))
    run_twice(Case(20, np.random.default_rng(page_size + 1), Switches(pool32=True), page_size=page_size,
                   tokens="wide"))


@needs_gpu
def test_tokens_past_the_mapping_are_clamped_and_an_empty_mapping_writes_no_swa_entry():
    run_twice(Case(20, np.random.default_rng(5), Switches(swa=True), page_size=16, bad=("token",)))
    run_twice(Case(20, np.random.default_rng(6), Switches(swa=True), page_size=16, map_size=1))
    run_twice(Case(20, np.random.default_rng(7), Switches(swa=True), page_size=16, map_size=0))


@needs_gpu
@pytest.mark.parametrize("sw", [Switches(), Switches(seq64=True, pool32=True, swa=True)], ids=Switches.id)
def test_empty_grids_write_nothing(sw):
    """bs 0, or a page_table without columns: upstream launches nothing."""
    for bs, pages in ((0, 20), (5, 0)):
        case = Case(bs, np.random.default_rng(3), sw, pages=pages)
        case.call()
        case.check_untouched()
        draftjit.trtllm_mha_page_table(*[mha.Interface(a) if isinstance(a, torch.Tensor) else a
                                         for a in case.op_args()])
        case.check_untouched()


@needs_gpu
@pytest.mark.parametrize("layout, r2t_layout, stride", [
    ("transposed", "contiguous", 2), ("sliced", "transposed", 3), ("transposed", "sliced", 1)])
def test_strided_inputs_and_laid_out_tables(layout, r2t_layout, stride):
    """draftjit only (upstream takes stride-1 inputs and tables of column stride 1): any non-negative strides."""
    for sw in (Switches(seq64=True, pool32=True), Switches(swa=True)):
        run_twice(Case(37, np.random.default_rng(stride), sw, page_size=16, layout=layout, r2t_layout=r2t_layout,
                       stride=stride))


@needs_gpu
def test_pool_indices_outside_req_to_token_are_left_untouched():
    for sw in (Switches(swa=True), Switches(pool32=True)):
        run_twice(Case(40, np.random.default_rng(67), sw, page_size=16, bad=("pool",)))


@needs_gpu
@pytest.mark.parametrize("sw", [Switches(), Switches(seq64=True, pool32=True, swa=True)], ids=Switches.id)
@pytest.mark.parametrize("bs", [0, 5, 64])
def test_graph_capture_and_replay_with_new_inputs(bs, sw):
    """After prepare, the capture records one kernel node and does no JIT work (none for bs 0); each replay, on new
    values in the same buffers, writes what the reference says."""
    case = Case(bs, np.random.default_rng(bs + 17), sw, page_size=64, layout="sliced")
    capture_and_replay(case, launches=bs > 0, check=case.check if bs > 0 else case.check_untouched)


@needs_gpu
def test_new_batch_sizes_lengths_widths_page_sizes_and_strides_compile_nothing():
    """One kernel per switch set: once it is loaded, any bs, table width, page size, stride or layout is a warm
    call."""
    rng = np.random.default_rng(73)
    sw = Switches(seq64=True, swa=True)
    first = Case(12, rng, sw, page_size=16, pages=20)
    first.call()
    first.check()
    before = draftjit.stats()
    for bs, page_size, pages, layout, stride in (
            (1, 64, 7, "sliced", 2), (33, 1, 300, "transposed", 3), (300, 4096, 2, "contiguous", 1),
            (4096, 64, 3, "sliced", 2), (65536, 16, 1, "contiguous", 1), (0, 16, 20, "sliced", 1),
            (5, 16, 8192, "contiguous", 1), (5, 2, 11, "contiguous", 1)):
        case = Case(bs, rng, sw, page_size=page_size, pages=pages, layout=layout, stride=stride,
                    width=pages * page_size + 1 + bs % 5, lengths="short" if pages > 1000 else "mixed")
        case.call()
        case.check()
    assert draftjit.stats() == before


@needs_gpu
def test_prepare_loads_every_bs_at_once_and_refuses_what_no_call_has():
    sw = Switches(pool32=True, swa=True)
    check_prepare(KIND, sw.names(), lambda bs: Case(bs, np.random.default_rng(bs), sw), MAX_BS,
                  [([name], name) for name in ("bogus", "swaout", "qcumsum", "skip")])


@needs_gpu
@pytest.mark.parametrize("sw, layout", [(Switches(), "contiguous"), (Switches(seq64=True, swa=True), "sliced")],
                         ids=["plain", "seq64-swa-sliced"])
def test_opcheck(sw, layout):
    case = Case(5, np.random.default_rng(2), sw, layout=layout)
    torch.library.opcheck(getattr(torch.ops.draftjit, OP_NAME).default, case.op_args())


@needs_gpu
@pytest.mark.parametrize("sw, layout, stride", [(Switches(), "contiguous", 1),
                                                (Switches(seq64=True, pool32=True, swa=True), "transposed", 3)],
                         ids=["plain", "transposed-strided-swa"])
def test_array_interface_arrays_get_the_same_results(sw, layout, stride):
    case = Case(70, np.random.default_rng(79), sw, layout=layout, r2t_layout="sliced", stride=stride)
    check_array_interface_path(case, OP_NAME)


def argument_errors():
    """(what to pass instead, the argument the message must name): each on a case with SWA."""
    def short(tensor, by=3):
        return tensor[:tensor.shape[0] - by]

    return [
        (lambda c: {"cache_seqlens": c.seq.float()}, "cache_seqlens"),
        (lambda c: {"req_pool_indices": c.pool.to(torch.int16)}, "req_pool_indices"),
        (lambda c: {"req_to_token": c.r2t.long()}, "req_to_token"),
        (lambda c: {"page_table": c.view("page_table").long(), "swa_page_table": c.view("swa_page_table").long()},
         "page_table"),
        (lambda c: {"full_to_swa": c.swa_mapping.int()}, "full_to_swa"),
        (lambda c: {"cache_seqlens": c.seq.view(1, -1)}, "cache_seqlens"),
        (lambda c: {"req_to_token": c.r2t[0]}, "req_to_token"),
        (lambda c: {"cache_seqlens": c.seq.cpu()}, "cache_seqlens"),
        (lambda c: {"page_table": c.view("page_table").cpu()}, "page_table"),
        (lambda c: {"cache_seqlens": short(c.seq, 3)}, "cache_seqlens"),
        (lambda c: {"req_pool_indices": short(c.pool, 3)}, "req_pool_indices"),
        (lambda c: {"swa_page_table": short(c.view("swa_page_table"))}, "swa_page_table"),
        (lambda c: {"swa_page_table": c.view("swa_page_table").T}, "swa_page_table"),
        (lambda c: {"page_table": None}, "page_table"),
        (lambda c: {"full_to_swa": None}, "full_to_swa and swa_page_table must be provided together"),
        (lambda c: {"swa_page_table": None}, "full_to_swa and swa_page_table must be provided together"),
        (lambda c: {"page_size": 0}, "page_size"),
        (lambda c: {"page_size": 3}, "page_size=3 must divide 4096"),
        (lambda c: {"page_size": 8192}, "page_size=8192 must divide 4096"),
        (lambda c: {"page_table": c.view("page_table")[0]}, "page_table|not enough values"),
    ]


@needs_gpu
@pytest.mark.parametrize("change, name", argument_errors())
def test_argument_errors_name_the_argument_and_write_nothing(change, name):
    case = Case(5, np.random.default_rng(1), Switches(seq64=True, swa=True), page_size=16, pages=6)
    with pytest.raises((TypeError, ValueError, RuntimeError), match=name):
        case.call(**change(case))
    case.check_untouched()


@needs_gpu
def test_bs_past_the_family_range_is_refused():
    case = Case(2, np.random.default_rng(1), page_size=16, pages=6)
    with pytest.raises((ValueError, RuntimeError), match=re.escape(f"bs = {MAX_BS + 1}")):
        getattr(torch.ops.draftjit, OP_NAME)(*case.op_args(bs=MAX_BS + 1))
    case.check_untouched()


# --- CPU: the op's description, the kind, the drop-in's signature -----------------------------------------------

def test_the_op_description_is_the_contract():
    """draftjit.trtllm_mha_page_table (made from the C++ description) takes upstream's arguments in upstream's order,
    then bs, writes exactly the outputs, and shares the family's bs range."""
    arguments = check_description(OP_NAME, NAMES, WRITTEN)
    assert next(top for name, _, _, top in arguments if name == "bs") == MAX_BS


def test_the_kind_is_specialised_by_its_switches_alone():
    kinds = {name: switches for name, _, switches in draftjit.kinds()}
    assert kinds[KIND] == ["seq64", "pool32", "swa"]
    source = draftjit.emit(1, kind=KIND, switches=["seq64", "swa"])
    assert source == draftjit.emit(MAX_BS, kind=KIND, switches=["seq64", "swa"])
    assert source != draftjit.emit(1, kind=KIND, switches=["seq64"])
    assert "trtllm_mha_table_kernel<256, 33>(p)" in source
    for other in (mha.KIND, "trtllm-mla"):  # the family's other ops: other kernels
        assert draftjit.emit(1, kind=KIND, switches=["seq64"]) != draftjit.emit(1, kind=other, switches=["seq64"])
    counts = draftjit.warmup([1, 2, 300, 4097, MAX_BS], "sm_89", kind=KIND, switches=["pool32", "swa"])
    assert counts["kernels"] == 1 and counts["compiled"] + counts["cached"] == 1, counts
    for switches in (["bogus"], ["swaout"], ["skip"], ["qstrided"]):
        with pytest.raises(ValueError):
            draftjit.emit(1, kind=KIND, switches=switches)


@needs_ops
def test_the_drop_in_is_upstreams_signature():
    parameters = list(inspect.signature(sglang.build_trtllm_mha_page_table).parameters.values())
    assert [(p.name, p.default) for p in parameters] == ARGUMENTS
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)
    schema = str(getattr(torch.ops.draftjit, OP_NAME).default._schema)
    assert schema.removeprefix("draftjit::") == SCHEMA


def test_upstreams_file_has_the_signature_tested_here():
    """Read (not run) from DRAFTJIT_UPSTREAM_SGLANG when it is set: the arguments this file assumes are upstream's,
    and so are the two assertions the drop-in raises as ValueError."""
    import ast
    path = UPSTREAM.path()
    if path is None or not os.path.isfile(path):
        pytest.skip(UPSTREAM.missing() or f"no {path}")
    with open(path) as source:
        text = source.read()
    function = next(node for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)
                    and node.name == UPSTREAM.FUNCTION)
    assert not function.args.kwonlyargs and not function.args.posonlyargs
    names = [arg.arg for arg in function.args.args]
    defaults = [NO_DEFAULT] * (len(names) - len(function.args.defaults)) + [d.value for d in function.args.defaults]
    assert list(zip(names, defaults)) == ARGUMENTS
    assert "_MHA_KV_INDEX_BLOCK_TOKENS = 4096\n" in text
    assert sum(isinstance(node, ast.Assert) for node in ast.walk(function)) == 2


def fake_call(bs=4, pages=8, page_size=16, **overrides):
    """draftjit.trtllm_mha_page_table through the pybind11 path on fake __cuda_array_interface__ arrays."""
    args = dict(req_to_token=FakeArray(0, shape=(bs, pages * page_size)), req_pool_indices=FakeArray(bs, "<i8"),
                cache_seqlens=FakeArray(bs), page_table=FakeArray(0, shape=(bs, pages)), page_size=page_size,
                swa_page_table=FakeArray(0, shape=(bs, pages)), full_to_swa=FakeArray(100, "<i8"), bs=bs)
    args.update(overrides)
    return getattr(draftjit, OP_NAME)(**args)


@pytest.mark.skipif(HAVE_GPU, reason="with a GPU, valid fake arrays would reach a real launch")
def test_arguments_are_checked_before_the_driver():
    """No GPU needed: what the contract accepts reaches the driver (its error, draftjit.Error, is the proof), arrays
    the op's description refuses are refused by name first (the call's own checks, past the device's context, are
    tests/unit/trtllm_mha_table_args_test.cpp's)."""
    for overrides in ({}, {"swa_page_table": None, "full_to_swa": None}, {"full_to_swa": None},
                      {"cache_seqlens": FakeArray(0, "<i8", shape=(4,), strides=(24,)),
                       "req_pool_indices": FakeArray(0, "<i4", shape=(4,), strides=(8,))},
                      {"req_to_token": FakeArray(0, shape=(4, 128), strides=(4, 16))},
                      {"page_size": 3}):
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):
            fake_call(**overrides)
    refused = [
        ({"cache_seqlens": FakeArray(4, "<f4")}, "cache_seqlens"),
        ({"req_pool_indices": FakeArray(4, "<i2")}, "req_pool_indices"),
        ({"req_to_token": FakeArray(0, "<i8", shape=(4, 128))}, "req_to_token"),
        ({"page_table": FakeArray(0, "<i8", shape=(4, 8))}, "page_table"),
        ({"full_to_swa": FakeArray(100)}, "full_to_swa"),
        ({"cache_seqlens": FakeArray(0, shape=(2, 2))}, "cache_seqlens"),
        ({"req_to_token": FakeArray(512)}, "req_to_token"),
        ({"page_table": FakeArray(32)}, "page_table"),
        ({"cache_seqlens": FakeArray(3)}, "cache_seqlens"),
        ({"req_pool_indices": FakeArray(3, "<i8")}, "req_pool_indices"),
        ({"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}")),
    ]
    check_refused(fake_call, refused)


def test_the_upstream_loader_says_what_is_missing(monkeypatch):
    check_loader_says_what_is_missing(UPSTREAM, UPSTREAM.FOLDER, monkeypatch)


# --- against upstream's Triton kernel -----------------------------------------------------------------------

needs_upstream = needs_upstream_of(UPSTREAM)


def upstream_cases():
    """(id, bs, switches, Case options): where upstream is defined (1-D inputs of stride 1, tables of column stride
    1, pool indices inside req_to_token, no row with pages past its table's W columns: `fit`). Each page size, row
    stride pair and SWA is one Triton compile (its constexprs)."""
    result = []
    for i, bs in enumerate((1, 2, 7, 31, 32, 33, 64, 65, 255, 256, 257, 1000, 4096, 65536)):
        sw = ALL_SWITCHES[(i * 3 + 1) % len(ALL_SWITCHES)]
        result.append((f"sweep-bs{bs}-{sw.id()}", bs, sw, dict(
            page_size=(16, 64, 1, 4096)[i % 4], pages=40 if bs <= 1000 else 4,
            layout=("contiguous", "sliced")[i % 2])))
    result += [(f"page-size-{P}-{sw.id()}", 9, sw, dict(page_size=P, pages=max(2, 8192 // P)))
               for P in PAGE_SIZES for sw in (Switches(), Switches(seq64=True, swa=True))]
    result += [
        ("short-in-wide", 5, Switches(swa=True), dict(page_size=16, pages=8192, width=131072, lengths="short",
                                                      layout="sliced")),
        ("long", 17, Switches(seq64=True), dict(page_size=64, pages=512, width=32768, lengths="long")),
        ("padded-rows", 24, Switches(), dict(page_size=16, lengths="padded")),
        ("negative", 9, Switches(seq64=True, swa=True), dict(page_size=64, lengths="negative")),
        ("wrap-int32", 9, Switches(), dict(page_size=64, lengths="wrap", pages=4)),
        ("minus-tokens-swa", 9, Switches(swa=True), dict(page_size=16, tokens="minus")),
        ("tokens-past-the-mapping", 9, Switches(swa=True), dict(page_size=16, bad=("token",))),
        ("one-entry-mapping", 9, Switches(swa=True), dict(page_size=16, map_size=1)),
        ("wide-tokens", 9, Switches(pool32=True), dict(page_size=64, tokens="wide")),
        ("one-page", 7, Switches(), dict(page_size=64, pages=1)),
        ("ragged-grid", 7, Switches(swa=True), dict(page_size=64, pages=70)),  # W not a multiple of 4096 / P
        ("no-columns", 7, Switches(), dict(pages=0)),
        ("narrowest-r2t", 7, Switches(), dict(page_size=1, pages=40, width=40)),
    ]
    return result


UPSTREAM_CASES = upstream_cases()


@needs_upstream
@pytest.mark.parametrize("bs, sw, options", [case[1:] for case in UPSTREAM_CASES],
                         ids=[case[0] for case in UPSTREAM_CASES])
def test_draftjit_writes_what_upstream_writes(bs, sw, options):
    """Upstream's build_trtllm_mha_page_table (its module loaded once) and draftjit.sglang's get the same arguments
    on twin buffers; afterwards every buffer must be equal bit for bit, and draftjit's equal to the reference."""
    function = getattr(UPSTREAM.load(), UPSTREAM.FUNCTION)
    compare_twins(lambda seed: Case(bs, np.random.default_rng(seed), sw, fit=True, **options),
                  lambda case: function(**case.named()),
                  f"table|{bs}|{sw.id()}|{sorted(options.items())}")
