"""FA3 draft-extend metadata (draftjit.sglang.draft_extend_set_metadata, torch.ops.draftjit.fa3_draft_extend_metadata
and draftjit.fa3_draft_extend_metadata) against a NumPy reference written from docs/BACKENDS.md section 2b and
upstream's file, and, where DRAFTJIT_UPSTREAM_SGLANG names upstream's files, against upstream's Triton kernel bit for
bit. Built on test_fa3.py's decode case: the same poisoned outputs compared whole (rows past bs and entries past bs + 1
keep their poison, columns past a row's live pages their stale values), the same inputs, plus extend_seq_lens,
cu_seqlens_q and, with the mapping, out_cache_loc and swa_out_cache_loc (tokens_per_req locations per request).
Without PyTorch or a CUDA device the GPU tests are skipped by name; without a GPU a CPU test checks that bad arguments
are refused before the driver."""

import dataclasses
import inspect
import itertools
import re

import numpy as np
import pytest

import draftjit
import test_fa3
import test_trtllm_mha as trtllm
import upstream_fa3
from test_cpu import FakeArray
from test_fa3 import MAX_BS, Case, reference, upstream  # noqa: F401  (upstream: the module fixture)
from test_trtllm_mha import (HAVE_GPU, HAVE_OPS, LAYOUTS, Interface, Output, device_copy, needs_gpu, needs_ops,
                             run_twice, strided_input, wrap32)

try:
    import torch
except ImportError:
    torch = None

if HAVE_OPS:
    from draftjit import sglang

KIND = "fa3-extend"
OP_NAME = "fa3_draft_extend_metadata"
EXT_GAP = 3  # what the gaps of a strided extend_seq_lens hold: read by mistake, it changes cu_seqlens_q
NO_DEFAULT = inspect.Parameter.empty
ARGUMENTS = [
    ("cache_seqlens_int32", NO_DEFAULT), ("cu_seqlens_k", NO_DEFAULT), ("cu_seqlens_q", NO_DEFAULT),
    ("page_table", NO_DEFAULT), ("req_to_token", NO_DEFAULT), ("req_pool_indices", NO_DEFAULT),
    ("seq_lens", NO_DEFAULT), ("extend_seq_lens", NO_DEFAULT), ("page_size", NO_DEFAULT),
    ("full_to_swa_index_mapping", None), ("swa_page_table", None), ("out_cache_loc", None),
    ("swa_out_cache_loc", None)]
NAMES = [name for name, _ in ARGUMENTS] + ["bs"]
WRITTEN = {"cache_seqlens_int32", "cu_seqlens_k", "cu_seqlens_q", "page_table", "swa_page_table",
           "swa_out_cache_loc"}


def reference_extend(bs, seq_lens, extend_seq_lens, req_pool_indices, req_to_token, page_size, *, cache_seqlens,
                     cu_seqlens_k, cu_seqlens_q, page_table, swa_page_table=None, swa_mapping=None,
                     out_cache_loc=None, swa_out_cache_loc=None):
    """What one call writes: nothing at bs 0 (upstream's grid (0, k)); else the decode's outputs with delta 0, the
    page table's width as the bound and the mapping at stride 1, cu_seqlens_q the exclusive prefix of
    int32(extend_seq_lens) (entry 0 = 0), and swa_out_cache_loc[i] = mapping[out_cache_loc[i]] where that entry is
    inside the mapping (left as it was elsewhere: upstream reads out of bounds there)."""
    if bs == 0:
        return
    reference(bs, seq_lens, req_pool_indices, req_to_token, page_table.shape[1], 0, page_size,
              cache_seqlens=cache_seqlens, cu_seqlens_k=cu_seqlens_k, page_table=page_table,
              swa_page_table=swa_page_table, swa_mapping=swa_mapping)
    cu_seqlens_q[0] = 0
    cu_seqlens_q[1:bs + 1] = wrap32(np.cumsum(wrap32(np.asarray(extend_seq_lens[:bs], dtype=np.int64))))
    if swa_out_cache_loc is not None:
        loc = np.asarray(out_cache_loc, dtype=np.int64)
        known = (loc >= 0) & (loc < len(swa_mapping))
        swa_out_cache_loc[known] = np.asarray(swa_mapping, dtype=np.int64)[loc[known]]


def test_reference_on_a_worked_example():
    p = test_fa3.POISON[np.dtype(np.int32)]
    r2t = np.arange(40, dtype=np.int32).reshape(2, 20)
    r2t[1, 0] = -1
    mapping = np.arange(100, dtype=np.int64) * 8
    out = dict(cache_seqlens=np.full(3, p), cu_seqlens_k=np.full(4, p), cu_seqlens_q=np.full(4, p),
               page_table=np.full((3, 3), p), swa_page_table=np.full((3, 3), p),
               swa_out_cache_loc=np.full(4, p, dtype=np.int64))
    # lengths 9 and 3 with pages of 4: 3 pages (the whole width) and 1; extend lengths 2 and 2^32 + 1 (int32: 1)
    reference_extend(2, [9, 3, 50], [2, 2**32 + 1, 7], [0, 1, 0], r2t, 4, swa_mapping=mapping,
                     out_cache_loc=[5, -1, 99, 100], **out)
    assert out["cache_seqlens"].tolist() == [9, 3, p]
    assert out["cu_seqlens_k"].tolist() == [0, 9, 12, p]
    assert out["cu_seqlens_q"].tolist() == [0, 2, 3, p]
    assert out["page_table"].tolist() == [[0, 1, 2], [-1, p, p], [p, p, p]]  # -1 >> 2 == -1
    assert out["swa_page_table"].tolist() == [[0, 8, 16], [p, p, p], [p, p, p]]  # tokens 0, 4, 8 -> 0, 32, 64 >> 2
    assert out["swa_out_cache_loc"].tolist() == [40, p, 792, p]  # -1 and 100 are outside the mapping
    nothing = {name: value.copy() for name, value in out.items()}
    reference_extend(0, [], [], [], r2t, 4, swa_mapping=mapping, out_cache_loc=[1], **nothing)
    assert all(np.array_equal(nothing[name], out[name]) for name in out)


@dataclasses.dataclass(frozen=True)
class ExtSwitches:
    """What picks the kernel: seq_lens int64, req_pool_indices int32, extend_seq_lens int64, the SWA mapping."""
    seq64: bool = False
    pool32: bool = False
    ext64: bool = False
    swa: bool = False
    q64 = False      # not fields: what the decode's and TRTLLM-MHA's cases read
    unified = False
    skip = False

    def names(self):
        return [name for name, on in (("seq64", self.seq64), ("pool32", self.pool32), ("swa", self.swa),
                                      ("ext64", self.ext64)) if on]

    def id(self):
        return "-".join(self.names()) or "plain"


ALL_SWITCHES = [ExtSwitches(*bits) for bits in itertools.product((False, True), repeat=4)]
FULL = ExtSwitches(True, True, True, True)


class ExtendCase(Case):
    """test_fa3.Case with draft extend's arguments: page tables exactly `pages` columns wide (the bound is their
    width), extend_seq_lens (strided like the other inputs), cu_seqlens_q, and with SWA tokens_per_req out-cache
    locations per request (bad "loc": some outside the mapping)."""

    def __init__(self, bs, rng, sw=ExtSwitches(), *, tokens_per_req=3, layout="contiguous", **options):
        self.T = tokens_per_req
        super().__init__(bs, rng, sw, layout=layout, **options)
        self.ext_dtype = np.int64 if sw.ext64 else np.int32
        self.ext = strided_input(self.ext_h, self.ext_dtype, self.stride, EXT_GAP)
        self.out = device_copy(self.out_h, np.int64) if sw.swa else None
        rows = bs + 2
        self.outputs["page_table"] = Output((rows, self.M), np.int32, layout)
        if sw.swa:
            self.outputs["swa_page_table"] = Output((rows, self.M), np.int32, layout)  # upstream: the same strides
            self.outputs["swa_out_cache_loc"] = Output((bs * self.T,), np.int64)
        self.outputs["cu_seqlens_q"] = Output((bs + 1,), np.int32)

    def new_values(self):
        super().new_values()
        rng, n = self.rng, self.n
        self.ext_h = rng.integers(0, 9, n)
        wide = rng.random(n) < 0.05
        self.ext_h[wide] = 2**32 + 7 if self.sw.ext64 else 2**31 - 1
        self.out_h = rng.integers(0, self.swa_size, self.bs * self.T)
        if "loc" in self.bad:
            pick = rng.random(len(self.out_h))
            self.out_h[pick < 0.1] = -1
            self.out_h[pick > 0.9] = self.swa_size + rng.integers(0, 1000, int((pick > 0.9).sum()))

    def upload(self):
        super().upload()
        self.ext.copy_(device_copy(self.ext_h, self.ext_dtype))

    def problems(self):
        found = super().problems()
        if not np.array_equal(self.ext.cpu().numpy(), self.ext_h.astype(self.ext_dtype)):
            found.append("input extend_seq_lens changed")
        return found

    def named(self):
        return dict(cache_seqlens_int32=self.view("cache_seqlens_int32"), cu_seqlens_k=self.view("cu_seqlens_k"),
                    cu_seqlens_q=self.view("cu_seqlens_q"), page_table=self.view("page_table"),
                    req_to_token=self.r2t, req_pool_indices=self.pool, seq_lens=self.seq, extend_seq_lens=self.ext,
                    page_size=self.P, full_to_swa_index_mapping=self.swa_mapping,
                    swa_page_table=self.view("swa_page_table"), out_cache_loc=self.out,
                    swa_out_cache_loc=self.view("swa_out_cache_loc"))

    def call(self, **overrides):
        sglang.draft_extend_set_metadata(**{**self.named(), **overrides})

    def op_args(self, **overrides):
        named = {**self.named(), "bs": self.bs, **overrides}
        return tuple(named[name] for name in NAMES)

    def prepare(self):
        draftjit.prepare([self.bs], kind=KIND, switches=self.sw.names())

    def expect(self):
        views = {name: output.host_view() for name, output in self.outputs.items()}
        views["cache_seqlens"] = views.pop("cache_seqlens_int32")
        reference_extend(self.bs, self.seq_h, self.ext_h, self.pool_h, self.r2t_h, self.P,
                         swa_mapping=self.map_h if self.sw.swa else None,
                         out_cache_loc=self.out_h if self.sw.swa else None, **views)


# --- GPU: results against the reference ---------------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("sw", ALL_SWITCHES, ids=ExtSwitches.id)
def test_every_switch_set_matches_the_reference(sw):
    index = ALL_SWITCHES.index(sw)
    for bs in (7, 45, 700):
        case = ExtendCase(bs, np.random.default_rng(index * 1000 + bs), sw, page_size=(1, 16, 64)[index % 3],
                          layout=LAYOUTS[index % 3], r2t_layout=LAYOUTS[(index // 2) % 3], stride=1 + index % 3,
                          tokens_per_req=1 + index % 4)
        run_twice(case)


@needs_gpu
@pytest.mark.parametrize("bs", (1, 2, 31, 33, 257, 4096, 65536))
def test_batch_sizes_match_the_reference(bs):
    pages = 40 if bs <= 1000 else 12 if bs <= 4096 else 4
    run_twice(ExtendCase(bs, np.random.default_rng(bs), FULL, page_size=16, pages=pages, tokens_per_req=2))
    run_twice(ExtendCase(bs, np.random.default_rng(bs + 1), ExtSwitches(), page_size=1, pages=pages, stride=2))


@needs_gpu
@pytest.mark.parametrize("lengths, tokens, bad", [
    ("padded", "mixed", ()), ("negative", "minus", ()), ("wrap", "mixed", ()), ("long", "mixed", ()),
    ("short", "mixed", ("pool", "token", "loc"))], ids=["padded", "negative", "wrap", "long", "bad-data"])
def test_odd_data(lengths, tokens, bad):
    """Padded graph rows, negative and wrapping lengths, -1 tokens (page -1; the SWA entry left as it was), lengths
    past the bound, and bad data draftjit guards (pool indices, tokens and locations outside their tables)."""
    for sw in (ExtSwitches(swa=True), ExtSwitches(seq64=True, pool32=True, swa=True)):
        run_twice(ExtendCase(40, np.random.default_rng(len(lengths)), sw, page_size=16, pages=30, lengths=lengths,
                             tokens=tokens, bad=bad))


@needs_gpu
def test_a_table_of_no_columns_and_bs_0():
    rng = np.random.default_rng(5)
    run_twice(ExtendCase(9, rng, FULL, pages=0, width=5))  # the prefixes and swa_out_cache_loc alone
    case = ExtendCase(0, rng, ExtSwitches(ext64=True))
    case.call()
    case.check_untouched()  # upstream's grid (0, k): not even the prefixes' entry 0
    with pytest.raises(ZeroDivisionError):  # upstream's `n_out % bs` at bs 0 with the mapping
        ExtendCase(0, rng, ExtSwitches(swa=True)).call(out_cache_loc=device_copy([1, 2], np.int64),
                                                       swa_out_cache_loc=device_copy([0, 0], np.int64))


@needs_gpu
@pytest.mark.parametrize("bs", [5, 64])
def test_graph_capture_and_replay_with_new_inputs(bs):
    case = ExtendCase(bs, np.random.default_rng(bs), FULL, page_size=64, layout="sliced", stride=2)
    trtllm.capture_and_replay(case, launches=True, check=case.check)


@needs_gpu
def test_new_shapes_compile_nothing():
    rng = np.random.default_rng(73)
    first = ExtendCase(12, rng, FULL)
    first.call()
    first.check()
    before = draftjit.stats()
    for bs, page_size, pages, T in ((1, 64, 7, 1), (300, 1, 300, 4), (4096, 16, 3, 2), (5, 128, 0, 5)):
        case = ExtendCase(bs, rng, FULL, page_size=page_size, pages=pages, tokens_per_req=T,
                          width=max(pages * page_size, 1) + bs % 5)
        case.call()
        case.check()
    assert draftjit.stats() == before


@needs_gpu
@pytest.mark.parametrize("sw", [ExtSwitches(), FULL], ids=ExtSwitches.id)
def test_opcheck_and_the_array_interface(sw):
    case = ExtendCase(5, np.random.default_rng(2), sw, layout="sliced")
    torch.library.opcheck(getattr(torch.ops.draftjit, OP_NAME).default, case.op_args())
    call = getattr(draftjit, OP_NAME)
    run_twice(case, lambda: call(*[Interface(a) if isinstance(a, torch.Tensor) else a for a in case.op_args()]))


@needs_gpu
@pytest.mark.parametrize("change, name", [
    (lambda c: {"swa_page_table": None}, "swa_page_table"),
    (lambda c: {"swa_page_table": c.view("page_table").T.contiguous().T}, "swa_page_table"),
    (lambda c: {"out_cache_loc": None}, "out_cache_loc"),
    (lambda c: {"swa_out_cache_loc": c.view("swa_out_cache_loc")[:-1]}, "same length"),
    (lambda c: {"out_cache_loc": c.out[:-1], "swa_out_cache_loc": c.view("swa_out_cache_loc")[:-1]}, "multiple"),
    (lambda c: {"extend_seq_lens": c.ext.float()}, "extend_seq_lens"),
    (lambda c: {"cu_seqlens_q": c.view("cu_seqlens_q")[:c.bs]}, "cu_seqlens_q"),
    (lambda c: {"page_size": 24}, "page_size"),
    (lambda c: {"full_to_swa_index_mapping": c.swa_mapping.int()}, "full_to_swa_index_mapping"),
])
def test_argument_errors_name_the_argument_and_write_nothing(change, name):
    case = ExtendCase(5, np.random.default_rng(1), ExtSwitches(swa=True), page_size=16, pages=6)
    with pytest.raises((TypeError, ValueError, RuntimeError), match=name):
        case.call(**change(case))
    case.check_untouched()


# --- CPU --------------------------------------------------------------------------------------------------------

def test_the_op_description_and_the_kind():
    described = {name: arguments for name, _, _, arguments in draftjit._core.op_descriptions()}
    assert [argument[0] for argument in described[OP_NAME]] == NAMES
    assert {argument[0] for argument in described[OP_NAME] if argument[2]} == WRITTEN
    kinds = {name: switches for name, _, switches in draftjit.kinds()}
    assert kinds[KIND] == ["seq64", "pool32", "swa", "ext64"]
    source = draftjit.emit(1, kind=KIND, switches=["swa", "ext64"])
    assert "draftjit_kernels::fa3_extend_kernel<256, 20>(p)" in source
    assert source == draftjit.emit(MAX_BS, kind=KIND, switches=["swa", "ext64"])
    with pytest.raises(ValueError, match="not 'skip'"):
        draftjit.emit(1, kind=KIND, switches=["skip"])


@needs_ops
def test_the_drop_in_is_upstreams_signature():
    parameters = list(inspect.signature(sglang.draft_extend_set_metadata).parameters.values())
    assert [(p.name, p.default) for p in parameters] == ARGUMENTS


def test_upstreams_file_has_the_signature_tested_here():
    assert test_fa3.upstream_signature("draft_extend_set_metadata") == ARGUMENTS


@pytest.mark.skipif(HAVE_GPU, reason="with a GPU, valid fake arrays would reach a real launch")
def test_arguments_are_checked_before_the_driver():
    def fake_call(bs=4, pages=8, page_size=16, **overrides):
        args = dict(cache_seqlens_int32=FakeArray(bs), cu_seqlens_k=FakeArray(bs + 1), cu_seqlens_q=FakeArray(bs + 1),
                    page_table=FakeArray(0, shape=(bs, pages)),
                    req_to_token=FakeArray(0, shape=(bs, pages * page_size)), req_pool_indices=FakeArray(bs, "<i8"),
                    seq_lens=FakeArray(bs), extend_seq_lens=FakeArray(bs), page_size=page_size,
                    full_to_swa_index_mapping=FakeArray(100, "<i8"), swa_page_table=FakeArray(0, shape=(bs, pages)),
                    out_cache_loc=FakeArray(8, "<i8"), swa_out_cache_loc=FakeArray(8, "<i8"), bs=bs)
        args.update(overrides)
        return getattr(draftjit, OP_NAME)(**args)

    for overrides in ({}, {"full_to_swa_index_mapping": None, "swa_page_table": None, "out_cache_loc": None,
                           "swa_out_cache_loc": None, "extend_seq_lens": FakeArray(0, "<i8", shape=(4,),
                                                                                   strides=(24,))}):
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):
            fake_call(**overrides)
    for overrides, name in (({"extend_seq_lens": FakeArray(4, "<f4")}, "extend_seq_lens"),
                            ({"extend_seq_lens": FakeArray(3)}, "extend_seq_lens"),
                            ({"cu_seqlens_q": FakeArray(4)}, "cu_seqlens_q"),
                            ({"out_cache_loc": FakeArray(8, "<i4")}, "out_cache_loc"),
                            ({"swa_out_cache_loc": FakeArray(8, "<i4")}, "swa_out_cache_loc"),
                            ({"full_to_swa_index_mapping": FakeArray(100, "<i4")}, "full_to_swa_index_mapping"),
                            ({"page_size": 2**31}, "page_size"),
                            ({"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}"))):
        with pytest.raises((TypeError, ValueError), match=name):
            fake_call(**overrides)


# --- against upstream's Triton kernel -----------------------------------------------------------------------

needs_upstream = trtllm.needs_upstream_of(upstream_fa3)


def upstream_cases():
    """Where upstream is defined: pool indices inside req_to_token, tokens and locations inside the mapping."""
    result = []
    for i, bs in enumerate((1, 2, 31, 33, 257, 1000, 4096)):
        sw = ALL_SWITCHES[(i * 5 + 3) % len(ALL_SWITCHES)]
        result.append((f"sweep-bs{bs}-{sw.id()}", bs, sw, dict(page_size=(16, 64, 1)[i % 3],
                                                                layout=("contiguous", "sliced")[i % 2],
                                                                stride=1 + i % 2, tokens_per_req=1 + i % 3)))
    for i, sw in enumerate(ALL_SWITCHES):
        result.append((f"matrix-{sw.id()}", 9, sw, dict(page_size=(1, 16, 64)[i % 3], layout=LAYOUTS[i % 3])))
    swa = ExtSwitches(swa=True)
    result += [
        ("padded", 24, swa, dict(page_size=16, lengths="padded")),
        ("negative", 9, swa, dict(page_size=64, lengths="negative")),
        ("wrap", 9, ExtSwitches(seq64=True, ext64=True), dict(page_size=16, lengths="wrap")),
        ("minus-tokens", 9, ExtSwitches(), dict(page_size=16, tokens="minus")),
        ("bs0", 0, ExtSwitches(), dict()),
    ]
    return [(name, bs, sw, {**options, "tokens": options.get("tokens", "inside" if sw.swa else "mixed")})
            for name, bs, sw, options in result]


UPSTREAM_CASES = upstream_cases()


@needs_upstream
@pytest.mark.parametrize("bs, sw, options", [case[1:] for case in UPSTREAM_CASES],
                         ids=[case[0] for case in UPSTREAM_CASES])
def test_draftjit_writes_what_upstream_writes(upstream, bs, sw, options):
    trtllm.compare_twins(lambda seed: ExtendCase(bs, np.random.default_rng(seed), sw, **options),
                         lambda case: upstream.draft_extend_set_metadata(**case.named()),
                         f"{bs}|{sw.id()}|{sorted(options.items())}")
