"""TRTLLM-MLA graph metadata (draftjit.sglang.update_trtllm_mla_graph_metadata,
torch.ops.draftjit.trtllm_mla_graph_metadata and draftjit.trtllm_mla_graph_metadata) against a NumPy reference
written from docs/BACKENDS.md section 4 and upstream's file, and, where DRAFTJIT_UPSTREAM_SGLANG names upstream's
files, against upstream SGLang's own Triton kernel bit for bit. Built on test_trtllm_mha.py's case (the same inputs,
layouts, strides, poisoned outputs compared whole, graph capture and twin comparison): block_kv_indices' rows past bs
and columns past each row's live pages keep their poison (or their stale values), and seq_lens_k's entries past bs
and its guard tail. Covered: bs 0 to 65536; both dtypes of seq_lens and req_pool_indices, seq_lens_k given or not;
page sizes 1 to 4096 (and 3, which upstream's Triton cannot take); seqlen_offset 0, 1, 3, negative and past int32;
padded graph rows; short sequences in wide tables; lengths past the table's columns (not written: upstream writes
them into the next row); tables without columns (nothing written, as upstream's empty grid); negative tokens;
int32 wrap-around; strided inputs and sliced or transposed tables (draftjit only); pool indices outside
req_to_token (left untouched); CUDA graph capture (one kernel node); no compile for new bs, lengths, widths, page
sizes, strides or seq_lens_k; opcheck; argument errors; the __cuda_array_interface__ path."""

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
from test_trtllm_mha import (BATCH_SIZES, LAYOUTS, NO_DEFAULT, POISON, Interface, Output, capture_and_replay,
                             check_array_interface_path, check_description, check_loader_says_what_is_missing,
                             check_prepare, check_refused, compare_twins, needs_upstream_of, run_twice, trunc_div,
                             wrap32)

from gpu_marks import HAVE_GPU, HAVE_OPS, needs_gpu, needs_ops, torch

if HAVE_OPS:
    from draftjit import sglang

KIND = "trtllm-mla"
OP_NAME = "trtllm_mla_graph_metadata"
UPSTREAM = upstream_trtllm_mha.MLA
MAX_BS = mha.MAX_BS  # the family's (the description's bs range is checked below)
ARGUMENTS = [("req_pool_indices", NO_DEFAULT), ("seq_lens", NO_DEFAULT), ("req_to_token", NO_DEFAULT),
             ("block_kv_indices", NO_DEFAULT), ("bs", NO_DEFAULT), ("seqlen_offset", NO_DEFAULT),
             ("page_size", NO_DEFAULT), ("seq_lens_k", None)]
NAMES = [name for name, _ in ARGUMENTS]
WRITTEN = {"block_kv_indices", "seq_lens_k"}
SCHEMA = ("trtllm_mla_graph_metadata(Tensor req_pool_indices, Tensor seq_lens, Tensor req_to_token, "
          "Tensor(a!) block_kv_indices, int bs, int seqlen_offset, int page_size, Tensor(b!)? seq_lens_k) -> ()")


# --- the reference: docs/BACKENDS.md, "4. TRTLLM-MLA graph metadata" ---------------------------------------------

def reference(bs, seq_lens, req_pool_indices, req_to_token, seqlen_offset, page_size, *, block_kv_indices,
              seq_lens_k=None):
    """Writes into the output views (NumPy) what one call writes and nothing else. Upstream's grid is (bs,
    cdiv(W, 4096 // P)) for a block_kv_indices of W columns: empty, so nothing written, at bs 0 or W 0. Else
    seq_lens_k[b] = L_b = int32(seq_lens[b] + offset) and block_kv_indices[b, p] = req_to_token[pool_b, p * P] // P
    (truncating) for p < cdiv(L_b, P) (int32: the add wraps). Where upstream is undefined draftjit writes nothing: a
    pool index outside req_to_token's rows, a page at or past W (upstream writes into the next row) or starting
    past req_to_token's columns (upstream reads the next row)."""
    width = block_kv_indices.shape[1]
    if bs == 0 or width == 0:
        return
    P = page_size
    lengths = wrap32(np.asarray(seq_lens[:bs], dtype=np.int64) + seqlen_offset % 2**32)
    if seq_lens_k is not None:
        seq_lens_k[:bs] = lengths
    rows, tokens_wide = req_to_token.shape
    bound = min(width, -(-tokens_wide // P))
    live = trunc_div(wrap32(lengths + P - 1), P)
    pool = np.asarray(req_pool_indices[:bs], dtype=np.int64)
    inside = (pool >= 0) & (pool < rows)
    written = (np.arange(bound)[None, :] < live[:, None]) & inside[:, None]
    tokens = req_to_token[np.where(inside, pool, 0)[:, None], (np.arange(bound) * P)[None, :]].astype(np.int64)
    block = block_kv_indices[:bs, :bound]
    block[written] = trunc_div(tokens, P)[written]


def test_reference_on_a_worked_example():
    """The oracle itself, on values worked out by hand (no GPU needed)."""
    p = POISON[np.dtype(np.int32)]
    r2t = np.full((3, 12), 999, dtype=np.int32)
    r2t[0, 0], r2t[0, 4], r2t[0, 8] = 8, -1, -5
    r2t[1, 0], r2t[1, 4] = 13, 17
    r2t[2, 0] = 40
    table, seq_k = np.full((4, 3), p), np.full(5, p)
    # lengths 0 + 1, 6 + 1, 11 + 1, -3 + 1 -> 1, 2, 3 and no pages of 4; pools 2, 1, 0, 0
    reference(4, [0, 6, 11, -3, 50], [2, 1, 0, 0, 7], r2t, 1, 4, block_kv_indices=table, seq_lens_k=seq_k)
    assert seq_k.tolist() == [1, 7, 12, -2, p]
    # -1 // 4 == 0 and -5 // 4 == -1 (truncation)
    assert table.tolist() == [[10, p, p], [3, 4, p], [2, 0, -1], [p, p, p]]
    # pages past the table's 2 columns and past req_to_token's 12 columns (page 3 at column 12) are not written
    narrow = np.full((1, 2), p)
    reference(1, [40], [0], r2t, 0, 4, block_kv_indices=narrow)
    assert narrow.tolist() == [[2, 0]]
    wide = np.full((1, 5), p)
    reference(1, [40], [0], r2t, 0, 4, block_kv_indices=wide)
    assert wide.tolist() == [[2, 0, -1, p, p]]
    # int32 cdiv: 2^31 - 1 + 3 wraps negative (no page); a pool outside the rows, none either
    edge, lens = np.full((2, 3), p), np.full(2, p)
    reference(2, [2**31 - 1, 5], [0, 3], r2t, 0, 4, block_kv_indices=edge, seq_lens_k=lens)
    assert edge.tolist() == [[p, p, p], [p, p, p]] and lens.tolist() == [2**31 - 1, 5]
    # an empty grid writes nothing, seq_lens_k included
    for bs, columns in ((0, 3), (2, 0)):
        empty, lens = np.full((2, columns), p), np.full(2, p)
        reference(bs, [4, 4], [0, 0], r2t, 0, 4, block_kv_indices=empty, seq_lens_k=lens)
        assert (empty == p).all() and (lens == p).all()


# --- switch sets and the case -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Switches:
    """seq_lens int64, req_pool_indices int32 (the kernel's switches) and whether seq_lens_k is given (a run-time
    choice: the same kernel)."""
    seq64: bool = False
    pool32: bool = False
    seqk: bool = True

    def names(self):
        """The switches of prepare(kind="trtllm-mla")."""
        return [name for name, on in (("seq64", self.seq64), ("pool32", self.pool32)) if on]

    def id(self):
        return "-".join(self.names() + ([] if self.seqk else ["noseqk"])) or "plain"


ALL_SWITCHES = [Switches(*bits) for bits in itertools.product((False, True), repeat=3)]


class Case(mha.Case):
    """test_trtllm_mha.py's case (its inputs: lengths, tokens, pool indices, layouts, strides, bad data) with MLA's
    outputs: block_kv_indices of bs + 2 rows and `pages` columns (its width W, the bound) in `layout`, and, with
    sw.seqk, seq_lens_k of bs + 2 entries. fit: lengths clipped so that no row has pages past W (upstream's
    defined range, for the differential test)."""

    def __init__(self, bs, rng, sw=Switches(), *, pages=20, fit=False, **options):
        self.mla, self.fit = sw, fit
        super().__init__(bs, rng, mha.Switches(seq64=sw.seq64, pool32=sw.pool32), pages=pages, **options)
        self.outputs = {"block_kv_indices": Output((bs + 2, pages), np.int32, options.get("layout", "contiguous"))}
        if sw.seqk:
            self.outputs["seq_lens_k"] = Output((bs + 2,), np.int32)

    def new_values(self):
        super().new_values()
        if self.fit:  # int32(seq + offset) <= W * P
            self.seq_h = np.minimum(self.seq_h, self.M * self.P - int(wrap32(self.offset)))

    def named(self):
        """Every argument by upstream's name."""
        return dict(req_pool_indices=self.pool, seq_lens=self.seq, req_to_token=self.r2t,
                    block_kv_indices=self.view("block_kv_indices"), bs=self.bs, seqlen_offset=self.offset,
                    page_size=self.P, seq_lens_k=self.view("seq_lens_k"))

    def call(self, **overrides):
        sglang.update_trtllm_mla_graph_metadata(**{**self.named(), **overrides})

    def op_args(self, **overrides):
        named = {**self.named(), **overrides}
        return tuple(named[name] for name in NAMES)

    def prepare(self):
        draftjit.prepare([self.bs], kind=KIND, switches=self.mla.names())

    def expect(self):
        views = {name: output.host_view() for name, output in self.outputs.items()}
        reference(self.bs, self.seq_h, self.pool_h, self.r2t_h, self.offset, self.P, **views)


# --- GPU: results against the reference ---------------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("sw", ALL_SWITCHES, ids=Switches.id)
def test_every_switch_set_matches_the_reference(sw):
    """Every switch set at bs 7 and 45, the page size, offset, layouts and input strides rotating."""
    index = ALL_SWITCHES.index(sw)
    for bs in (7, 45):
        case = Case(bs, np.random.default_rng(index * 100 + bs), sw, page_size=(1, 16, 64, 4096)[index % 4],
                    offset=(0, 1, 3)[index % 3], layout=LAYOUTS[index % 3], r2t_layout=LAYOUTS[(index // 2) % 3],
                    stride=1 + index % 3)
        run_twice(case)


@needs_gpu
@pytest.mark.parametrize("bs", BATCH_SIZES)
def test_batch_sizes_match_the_reference(bs):
    index = BATCH_SIZES.index(bs)
    pages = 40 if bs <= 1000 else 12 if bs <= 4096 else 4
    for sw in (ALL_SWITCHES[index % len(ALL_SWITCHES)], Switches(seq64=True, pool32=True)):
        case = Case(bs, np.random.default_rng(bs + sw.seq64), sw, page_size=(16, 64, 1)[index % 3],
                    offset=(0, 1, 3)[(index // 3) % 3], pages=pages, layout=("contiguous", "sliced")[index % 2])
        run_twice(case)


@needs_gpu
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page_size", [16, 64])
def test_short_sequences_in_wide_tables_keep_their_tails(page_size, layout):
    """131072-token tables, lengths at most 3000 + 3: nothing is written past cdiv(3003, P) columns."""
    case = Case(9, np.random.default_rng(page_size), page_size=page_size, offset=3, pages=131072 // page_size,
                width=131072, lengths="short", layout=layout)
    case.call()
    case.check()
    first_stale = -(-3003 // page_size)
    assert bool((case.view("block_kv_indices")[:, first_stale:] == POISON[np.dtype(np.int32)]).all())


@needs_gpu
@pytest.mark.parametrize("page_size", [1, 3, 16, 64, 4096])
def test_lengths_past_the_columns_and_stale_columns(page_size):
    """Long lengths (some past W * P: those pages are not written), then short ones in the same buffers without
    poisoning: only the new live pages are rewritten, the columns after them keep the first call's values. Then a
    req_to_token narrower than the table: pages starting past its columns are not written."""
    case = Case(33, np.random.default_rng(page_size + 5), page_size=page_size, pages=64, lengths="long")
    case.call()
    case.check()
    case.lengths = "short"
    case.new_values()
    case.seq_h = np.minimum(case.seq_h, 3 * page_size)
    case.upload()
    case.call()
    case.check()
    narrow = Case(33, np.random.default_rng(page_size + 6), page_size=page_size, pages=64, lengths="long",
                  width=20 * page_size + 1)
    run_twice(narrow)


@needs_gpu
@pytest.mark.parametrize("offset", [0, 1, 3])
@pytest.mark.parametrize("page_size", [1, 16, 64])
def test_padded_graph_rows(page_size, offset):
    """Rows padded as SGLang's graph runner pads them (seq_len 1, pool index 0) rewrite page 0 of pool row 0."""
    case = Case(40, np.random.default_rng(page_size * 10 + offset), page_size=page_size, offset=offset,
                lengths="padded")
    run_twice(case)


@needs_gpu
@pytest.mark.parametrize("lengths, sw, offset", [
    ("negative", Switches(), -3), ("negative", Switches(seq64=True), 0), ("wrap", Switches(), 3),
    ("wrap", Switches(seq64=True, pool32=True), 1)], ids=["negative-offset", "negative-seq64", "wrap-int32",
                                                          "wrap-int64"])
def test_negative_lengths_and_int32_wrap_around(lengths, sw, offset):
    """Where upstream is defined for odd lengths: a negative or wrapping L_b gives no pages, seq_lens_k wraps."""
    case = Case(50, np.random.default_rng(len(lengths) + offset), sw, page_size=64, offset=offset, lengths=lengths,
                pages=30)
    run_twice(case)


@needs_gpu
@pytest.mark.parametrize("page_size", [1, 16, 64])
def test_negative_and_wide_tokens(page_size):
    """A third of req_to_token negative (truncating division: -1 // P == 0), then tokens up to int32's max."""
    run_twice(Case(20, np.random.default_rng(page_size), page_size=page_size, tokens="minus"))
    run_twice(Case(20, np.random.default_rng(page_size + 1), Switches(pool32=True), page_size=page_size,
                   tokens="wide"))


@needs_gpu
@pytest.mark.parametrize("sw", [Switches(), Switches(seq64=True, pool32=True, seqk=False)], ids=Switches.id)
def test_empty_grids_write_nothing(sw):
    """bs 0, or a block_kv_indices without columns: upstream launches nothing, so not even seq_lens_k is written."""
    for bs, pages in ((0, 20), (5, 0)):
        case = Case(bs, np.random.default_rng(3), sw, pages=pages)
        case.call()
        case.check_untouched()
        draftjit.trtllm_mla_graph_metadata(*[Interface(a) if isinstance(a, torch.Tensor) else a
                                             for a in case.op_args()])
        case.check_untouched()


@needs_gpu
@pytest.mark.parametrize("layout, r2t_layout, stride", [
    ("transposed", "contiguous", 2), ("sliced", "transposed", 3), ("transposed", "sliced", 1)])
def test_strided_inputs_and_laid_out_tables(layout, r2t_layout, stride):
    """draftjit only (upstream takes stride-1 inputs and tables of column stride 1): any non-negative strides."""
    for sw in (Switches(seq64=True, pool32=True), Switches(seqk=False)):
        run_twice(Case(37, np.random.default_rng(stride), sw, page_size=16, layout=layout, r2t_layout=r2t_layout,
                       stride=stride))


@needs_gpu
def test_pool_indices_outside_req_to_token_are_left_untouched():
    for sw in (Switches(), Switches(pool32=True)):
        run_twice(Case(40, np.random.default_rng(67), sw, page_size=16, bad=("pool",)))


@needs_gpu
def test_seqlen_offset_past_int32():
    """Upstream adds mod 2^32 whatever the Python int: an offset of 2^32 + 3 is an offset of 3."""
    rng = np.random.default_rng(71)
    for offset in (2**32 + 3, -(2**32) + 1, 2**31):
        run_twice(Case(40, rng, Switches(seq64=offset > 0), offset=offset, page_size=16))


# --- GPU: graphs, compiles, the op and its arguments ------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("sw", [Switches(), Switches(seq64=True, pool32=True, seqk=False)], ids=Switches.id)
@pytest.mark.parametrize("bs", [0, 5, 64])
def test_graph_capture_and_replay_with_new_inputs(bs, sw):
    """After prepare, the capture records one kernel node and does no JIT work (none for bs 0); each replay, on new
    values in the same buffers, writes what the reference says."""
    case = Case(bs, np.random.default_rng(bs + 17), sw, page_size=64, offset=1, layout="sliced")
    capture_and_replay(case, launches=bs > 0, check=case.check if bs > 0 else case.check_untouched)


@needs_gpu
def test_new_batch_sizes_lengths_widths_page_sizes_and_strides_compile_nothing():
    """One kernel per dtype pair: once it is loaded, any bs, table width, page size, offset, stride, layout or
    seq_lens_k (given or not) is a warm call."""
    rng = np.random.default_rng(73)
    first = Case(12, rng, Switches(seq64=True), page_size=16, pages=20)
    first.call()
    first.check()
    before = draftjit.stats()
    for bs, page_size, pages, layout, stride, offset, seqk in (
            (1, 64, 7, "sliced", 2, 0, False), (33, 1, 300, "transposed", 3, 3, True),
            (300, 4096, 2, "contiguous", 1, 1, True), (4096, 64, 3, "sliced", 2, -2, False),
            (65536, 16, 1, "contiguous", 1, 0, True), (0, 16, 20, "sliced", 1, 0, True),
            (5, 16, 8192, "contiguous", 1, 0, False), (5, 3, 11, "contiguous", 1, 0, True)):
        case = Case(bs, rng, Switches(seq64=True, seqk=seqk), page_size=page_size, pages=pages, layout=layout,
                    stride=stride, offset=offset, width=pages * page_size + 1 + bs % 5,
                    lengths="short" if pages > 1000 else "mixed")
        case.call()
        case.check()
    assert draftjit.stats() == before


@needs_gpu
def test_prepare_loads_every_bs_at_once_and_refuses_what_no_call_has():
    sw = Switches(pool32=True)
    check_prepare(KIND, sw.names(), lambda bs: Case(bs, np.random.default_rng(bs), sw), MAX_BS,
                  [([name], name) for name in ("bogus", "swa", "qcumsum", "skip")])


@needs_gpu
@pytest.mark.parametrize("sw, layout", [(Switches(), "contiguous"), (Switches(seq64=True, seqk=False), "sliced")],
                         ids=["plain", "seq64-noseqk-sliced"])
def test_opcheck(sw, layout):
    case = Case(5, np.random.default_rng(2), sw, layout=layout)
    torch.library.opcheck(getattr(torch.ops.draftjit, OP_NAME).default, case.op_args())


@needs_gpu
@pytest.mark.parametrize("sw, layout, stride", [(Switches(), "contiguous", 1),
                                                (Switches(seq64=True, pool32=True, seqk=False), "transposed", 3)],
                         ids=["plain", "transposed-strided"])
def test_array_interface_arrays_get_the_same_results(sw, layout, stride):
    case = Case(70, np.random.default_rng(79), sw, layout=layout, r2t_layout="sliced", stride=stride)
    check_array_interface_path(case, OP_NAME)


def argument_errors():
    """(what to pass instead, the argument the message must name): each on a case with both outputs."""
    def short(tensor, by=3):
        return tensor[:tensor.shape[0] - by]

    return [
        (lambda c: {"seq_lens": c.seq.float()}, "seq_lens"),
        (lambda c: {"req_pool_indices": c.pool.to(torch.int16)}, "req_pool_indices"),
        (lambda c: {"req_to_token": c.r2t.long()}, "req_to_token"),
        (lambda c: {"block_kv_indices": c.view("block_kv_indices").long()}, "block_kv_indices"),
        (lambda c: {"seq_lens_k": c.view("seq_lens_k").long()}, "seq_lens_k"),
        (lambda c: {"seq_lens": c.seq.view(1, -1)}, "seq_lens"),
        (lambda c: {"req_to_token": c.r2t[0]}, "req_to_token"),
        (lambda c: {"block_kv_indices": c.view("block_kv_indices")[0]}, "block_kv_indices"),
        (lambda c: {"seq_lens": c.seq.cpu()}, "seq_lens"),
        (lambda c: {"block_kv_indices": c.view("block_kv_indices").cpu()}, "block_kv_indices"),
        (lambda c: {"seq_lens": short(c.seq)}, "seq_lens"),
        (lambda c: {"req_pool_indices": short(c.pool)}, "req_pool_indices"),
        (lambda c: {"seq_lens_k": short(c.view("seq_lens_k"))}, "seq_lens_k"),
        (lambda c: {"block_kv_indices": short(c.view("block_kv_indices"))}, "block_kv_indices"),
        (lambda c: {"block_kv_indices": None}, "block_kv_indices"),
        (lambda c: {"page_size": 0}, "page_size"),
        (lambda c: {"page_size": -16}, "page_size"),
        (lambda c: {"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}")),
        (lambda c: {"bs": -1}, "bs = -1"),
    ]


@needs_gpu
@pytest.mark.parametrize("change, name", argument_errors())
def test_argument_errors_name_the_argument_and_write_nothing(change, name):
    case = Case(5, np.random.default_rng(1), Switches(seq64=True), page_size=16, pages=6)
    with pytest.raises((TypeError, ValueError, RuntimeError), match=name):
        case.call(**change(case))
    case.check_untouched()


# --- CPU: the op's description, the kind, the drop-in's signature -----------------------------------------------

def test_the_op_description_is_the_contract():
    """draftjit.trtllm_mla_graph_metadata (made from the C++ description) takes upstream's arguments in upstream's
    order, writes exactly the outputs, and shares the family's bs range."""
    arguments = check_description(OP_NAME, NAMES, WRITTEN)
    assert next(top for name, _, _, top in arguments if name == "bs") == MAX_BS


def test_the_kind_is_specialised_by_its_switches_alone():
    kinds = {name: switches for name, _, switches in draftjit.kinds()}
    assert set(kinds[KIND]) == {"seq64", "pool32"}
    source = draftjit.emit(1, kind=KIND, switches=["seq64"])
    assert source == draftjit.emit(MAX_BS, kind=KIND, switches=["seq64"])
    assert source != draftjit.emit(1, kind=KIND)
    assert source != draftjit.emit(1, kind=mha.KIND, switches=["seq64"])  # the family's other op: another kernel
    counts = draftjit.warmup([1, 2, 300, 4097, MAX_BS], "sm_89", kind=KIND, switches=["pool32"])
    assert counts["kernels"] == 1 and counts["compiled"] + counts["cached"] == 1, counts
    for switches in (["bogus"], ["swa"], ["skip"], ["qstrided"]):
        with pytest.raises(ValueError):
            draftjit.emit(1, kind=KIND, switches=switches)


@needs_ops
def test_the_drop_in_is_upstreams_signature():
    parameters = list(inspect.signature(sglang.update_trtllm_mla_graph_metadata).parameters.values())
    assert [(p.name, p.default) for p in parameters] == ARGUMENTS
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters)
    with pytest.raises(TypeError):
        sglang.update_trtllm_mla_graph_metadata(None, None)  # keyword-only, as upstream's
    schema = str(getattr(torch.ops.draftjit, OP_NAME).default._schema)
    assert schema.removeprefix("draftjit::") == SCHEMA


def test_upstreams_file_has_the_signature_tested_here():
    """Read (not run) from DRAFTJIT_UPSTREAM_SGLANG when it is set: the arguments this file assumes are upstream's."""
    import ast
    path = UPSTREAM.path()
    if path is None or not os.path.isfile(path):
        pytest.skip(UPSTREAM.missing() or f"no {path}")
    with open(path) as source:
        tree = ast.parse(source.read())
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef)
                    and node.name == UPSTREAM.FUNCTION)
    assert not function.args.args and not function.args.posonlyargs
    names = [arg.arg for arg in function.args.kwonlyargs]
    defaults = [NO_DEFAULT if d is None else d.value for d in function.args.kw_defaults]
    assert list(zip(names, defaults)) == ARGUMENTS


def fake_call(bs=4, pages=8, page_size=16, **overrides):
    """draftjit.trtllm_mla_graph_metadata through the pybind11 path on fake __cuda_array_interface__ arrays."""
    args = dict(req_pool_indices=FakeArray(bs, "<i8"), seq_lens=FakeArray(bs),
                req_to_token=FakeArray(0, shape=(bs, pages * page_size)),
                block_kv_indices=FakeArray(0, shape=(bs, pages)), bs=bs, seqlen_offset=0, page_size=page_size,
                seq_lens_k=FakeArray(bs))
    args.update(overrides)
    return getattr(draftjit, OP_NAME)(**args)


@pytest.mark.skipif(HAVE_GPU, reason="with a GPU, valid fake arrays would reach a real launch")
def test_arguments_are_checked_before_the_driver():
    """No GPU needed: what the contract accepts reaches the driver (its error, draftjit.Error, is the proof), arrays
    the op's description refuses are refused by name first (the call's own checks, past the device's context, are
    tests/unit/trtllm_mla_args_test.cpp's)."""
    for overrides in ({}, {"seq_lens_k": None},
                      {"seq_lens": FakeArray(0, "<i8", shape=(4,), strides=(24,)),
                       "req_pool_indices": FakeArray(0, "<i4", shape=(4,), strides=(8,))},
                      {"block_kv_indices": FakeArray(0, shape=(4, 8), strides=(4, 16)),
                       "req_to_token": FakeArray(0, shape=(4, 128), strides=(4, 16))},
                      {"page_size": 3, "seqlen_offset": -1}):
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):
            fake_call(**overrides)
    refused = [
        ({"seq_lens": FakeArray(4, "<f4")}, "seq_lens"),
        ({"req_pool_indices": FakeArray(4, "<i2")}, "req_pool_indices"),
        ({"req_to_token": FakeArray(0, "<i8", shape=(4, 128))}, "req_to_token"),
        ({"block_kv_indices": FakeArray(0, "<i8", shape=(4, 8))}, "block_kv_indices"),
        ({"seq_lens_k": FakeArray(4, "<i8")}, "seq_lens_k"),
        ({"seq_lens": FakeArray(0, shape=(2, 2))}, "seq_lens"),
        ({"req_to_token": FakeArray(512)}, "req_to_token"),
        ({"block_kv_indices": FakeArray(32)}, "block_kv_indices"),
        ({"seq_lens": FakeArray(3)}, "seq_lens"),
        ({"req_pool_indices": FakeArray(3, "<i8")}, "req_pool_indices"),
        ({"seq_lens_k": FakeArray(3)}, "seq_lens_k"),
        ({"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}")),
    ]
    check_refused(fake_call, refused)


def test_the_upstream_loader_says_what_is_missing(monkeypatch):
    check_loader_says_what_is_missing(UPSTREAM, UPSTREAM.FOLDER, monkeypatch)


# --- against upstream's Triton kernel -----------------------------------------------------------------------

needs_upstream = needs_upstream_of(UPSTREAM)


def upstream_cases():
    """(id, bs, switches, Case options): where upstream is defined (1-D inputs of stride 1, tables of column stride
    1, pool indices inside req_to_token, no row with pages past its table's W columns: `fit`). Each page size is one
    Triton compile (PAGE_SIZE, HAS_SEQ_LENS_K and NUM_PAGE_PER_BLOCK are its constexprs)."""
    result = []
    for i, bs in enumerate((1, 2, 7, 31, 32, 33, 64, 65, 255, 256, 257, 1000, 4096, 65536)):
        sw = ALL_SWITCHES[(i * 3 + 1) % len(ALL_SWITCHES)]
        result.append((f"sweep-bs{bs}-{sw.id()}", bs, sw, dict(
            page_size=(16, 64, 1, 4096)[i % 4], offset=(0, 1, 3)[(i // 3) % 3], pages=40 if bs <= 1000 else 4,
            layout=("contiguous", "sliced")[i % 2])))
    result += [(f"switches-{sw.id()}", 9, sw, dict(page_size=(1, 16, 64, 128)[i % 4], offset=i % 4,
                                                   layout=("sliced", "contiguous")[i % 2]))
               for i, sw in enumerate(ALL_SWITCHES)]
    result += [
        ("short-in-wide", 5, Switches(), dict(page_size=16, pages=8192, width=131072, lengths="short",
                                              layout="sliced")),
        ("long", 17, Switches(seq64=True), dict(page_size=64, pages=512, width=32768, lengths="long")),
        ("padded-rows", 24, Switches(), dict(page_size=16, offset=1, lengths="padded")),
        ("negative", 9, Switches(seq64=True), dict(page_size=64, offset=-3, lengths="negative")),
        ("minus-tokens", 9, Switches(), dict(page_size=16, tokens="minus")),
        ("wide-tokens", 9, Switches(pool32=True), dict(page_size=64, tokens="wide")),
        ("past-int32", 9, Switches(), dict(offset=2**32 + 3)),
        ("one-page", 7, Switches(), dict(page_size=64, pages=1)),
        ("ragged-grid", 7, Switches(), dict(page_size=64, pages=70)),  # W not a multiple of 4096 / P
        ("no-columns", 7, Switches(), dict(pages=0)),
        ("narrowest-r2t", 7, Switches(), dict(page_size=1, pages=40, width=40)),
    ]
    return result


UPSTREAM_CASES = upstream_cases()


@needs_upstream
@pytest.mark.parametrize("bs, sw, options", [case[1:] for case in UPSTREAM_CASES],
                         ids=[case[0] for case in UPSTREAM_CASES])
def test_draftjit_writes_what_upstream_writes(bs, sw, options):
    """Upstream's update_trtllm_mla_graph_metadata (its module loaded once) and draftjit.sglang's get the same
    arguments on twin buffers; afterwards every buffer must be equal bit for bit, and draftjit's equal to the
    reference."""
    function = getattr(UPSTREAM.load(), UPSTREAM.FUNCTION)
    compare_twins(lambda seed: Case(bs, np.random.default_rng(seed), sw, fit=True, **options),
                  lambda case: function(**case.named()),
                  f"mla|{bs}|{sw.id()}|{sorted(options.items())}")
