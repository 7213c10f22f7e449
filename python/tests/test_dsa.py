"""The DSA metadata step from Python (draftjit.sglang.fused_dsa_*_metadata and torch.ops.draftjit.dsa_*_metadata) on a
GPU: exact results against a NumPy reference written from include/draftjit/dsa.hpp and upstream SGLang's
definitions, every output poisoned beforehand and checked untouched outside its definition (guard tails, page-table
columns past each row's live prefix, rows past the mode's rows, strided gaps), strided req_to_token and page tables,
strided 1-D inputs, int64 extend lengths, page_table_1 left out, static_extend_len, bad data through the status word
with nothing written, argument errors naming the argument, opcheck, CUDA graph capture and replay with new inputs,
and no compile for new run-time lengths or strides. GPU tests are skipped by name where PyTorch or a CUDA device is
missing, as in test_gpu.py; the signature test needs PyTorch with draftjit's operators only."""

import inspect
import re

import numpy as np
import pytest

import draftjit

try:
    import torch
except ImportError:
    torch = None

HAVE_OPS = torch is not None and hasattr(draftjit._core, "raise_op_error")
HAVE_GPU = torch is not None and torch.cuda.is_available() and draftjit.cuda_available()
needs_gpu = pytest.mark.skipif(not HAVE_GPU, reason="needs PyTorch and a CUDA device")
needs_ops = pytest.mark.skipif(not HAVE_OPS, reason="needs PyTorch and draftjit's torch operators")

if HAVE_OPS:
    from draftjit import sglang

POISON = -0x5A5A5A5B  # 0xA5A5A5A5 as int32
GUARD = 16            # entries past a 1-D output that must stay poisoned
MODES = ("decode", "verify", "extend")
PREPARE_NAMES = {"decode": "dsa-decode", "verify": "dsa-verify", "extend": "dsa-extend"}
OP_NAMES = {"decode": "dsa_decode_metadata", "verify": "dsa_target_verify_metadata",
            "extend": "dsa_draft_extend_metadata"}


def described(mode):
    """The op's arguments as its C++ description gives them (ops/dsa/ops.hpp): (name, kind, written, max)."""
    return next(args for name, _, _, args in draftjit._core.op_descriptions() if name == OP_NAMES[mode])


def written(mode):
    """The outputs the op's description says it writes, status aside: what every case poisons and compares."""
    return [name for name, _, out, _ in described(mode) if out and name != "status"]
NEGATIVE_EXTEND_LEN, POOL_INDEX_OUT_OF_RANGE, INT32_OVERFLOW, CAPACITY_EXCEEDED, TOTAL_MISMATCH, NEGATIVE_SEQ_LEN = (
    draftjit.DSA_STATUS_BITS[key] for key in ("negative_extend_len", "pool_index_out_of_range", "int32_overflow",
                                              "capacity_exceeded", "total_mismatch", "negative_seq_len"))
EXTEND_NOT_STATIC = draftjit.DSA_STATUS_BITS["extend_not_static"]
LIVE_COLUMNS = 128  # upstream's BLOCK_N: a row is written in whole blocks of 128 columns up to its KV length

# Upstream SGLang's parameters (sglang/kernels/ops/attention/dsa_metadata.py, read 2026-12-06), in order, with
# draftjit's defaults: upstream has none from real_page_size on (bar paged_mqa_ctx_lens_2d, static_extend_len and
# index_kpool), where draftjit defaults to None so that the page size may come as the keyword physical_page_size
# (the name dsa_kpool_metadata/ gives the same positional parameter) and max_extend_len, which draftjit needs not,
# may be left out. Keyword-only after them: physical_page_size and status.
NO_DEFAULT = inspect.Parameter.empty
UPSTREAM = {
    "decode": ("fused_dsa_decode_metadata", [
        "seq_lens", "req_pool_indices", "req_to_token", "cache_seqlens", "cu_seqlens_k", "page_table_1",
        "dsa_cache_seqlens", "dsa_cu_seqlens_k", "real_page_table", "bs", "max_len", "dsa_index_topk",
        ("real_page_size", None), ("index_kpool", 1)]),
    "verify": ("fused_dsa_target_verify_metadata", [
        "seq_lens", "req_pool_indices", "req_to_token", "cache_seqlens", "cu_seqlens_k", "page_table_1",
        "seqlens_expanded", "dsa_cache_seqlens", "dsa_cu_seqlens_k", "real_page_table", "bs", "max_seqlen_k",
        "dsa_index_topk", ("real_page_size", None), ("next_n", None), ("paged_mqa_ctx_lens_2d", None),
        ("index_kpool", 1)]),
    "extend": ("fused_dsa_draft_extend_metadata", [
        "seq_lens", "extend_seq_lens", "req_pool_indices", "req_to_token", "cache_seqlens", "cu_seqlens_k",
        "page_table_1", "seqlens_expanded", "dsa_cache_seqlens", "dsa_cu_seqlens_k", "real_page_table", "bs",
        "total_len", "max_seqlen_k", "dsa_index_topk", ("real_page_size", None), ("max_extend_len", None),
        ("max_total_len", None), ("static_extend_len", False), ("index_kpool", 1)]),
}
KEYWORD_ONLY = [("physical_page_size", None), ("status", None)]
OMIT = object()  # Case.call(name=OMIT): leave the argument out


def upstream_parameters(mode):
    return [(p, NO_DEFAULT) if isinstance(p, str) else p for p in UPSTREAM[mode][1]]


# --- the reference: include/draftjit/dsa.hpp and shared/SPEC.md, "The whole DSA metadata step" -------------------

def dsa_lengths(lengths, topk, kpool):
    """dsa_cache_seqlens of rows of these lengths: min(e, topk); with k = index_kpool > 1, min(floor(e / k) * k,
    topk) + e % k."""
    e = np.asarray(lengths, dtype=np.int64)
    if kpool <= 1:
        return np.minimum(e, topk)
    pooled = (e // kpool) * kpool
    return np.minimum(pooled, topk) + (e - pooled)


def prefix(values):
    return np.concatenate([[0], np.cumsum(np.asarray(values, dtype=np.int64))]).astype(np.int64)


def live_columns(kv, bound):
    """The columns a row whose request has KV length kv gets written: kv rounded up to whole blocks of LIVE_COLUMNS,
    clipped to the bound; none for kv <= 0."""
    kv = np.asarray(kv, dtype=np.int64)
    return np.where(kv <= 0, 0, np.minimum(-(-kv // LIVE_COLUMNS) * LIVE_COLUMNS, bound))


def reference(mode, seq, pool, r2t, bound, topk, page_size, kpool, next_n=1, ext=None):
    """What a call writes, in int64: the per-request, per-row and per-table values, each the entries from the
    start of its output (tables: the top-left rows x bound block, real_page_table rows x ceil(bound / P), POISON
    where a row's live prefix ends: the columns from live_columns(its request's cache_seqlens) on)."""
    seq = np.asarray(seq, dtype=np.int64)
    bs = seq.size
    out = {}
    if mode == "decode":
        cache, owner, lengths = seq, np.arange(bs), seq
    elif mode == "verify":
        cache = seq + next_n
        owner = np.repeat(np.arange(bs), next_n)
        lengths = seq[owner] + np.tile(np.arange(next_n), bs) + 1
        out["seqlens_expanded"] = lengths
        out["paged_mqa_ctx_lens_2d"] = np.repeat(cache[:, None], next_n, axis=1)
    else:
        ext = np.asarray(ext, dtype=np.int64)
        cache = seq
        owner = np.repeat(np.arange(bs), ext)
        local = np.arange(owner.size) - prefix(ext)[owner]
        lengths = np.maximum(seq[owner] - ext[owner] + 1 + local, 0)  # padded rows clamp at 0
        out["seqlens_expanded"] = lengths
    dsa = dsa_lengths(lengths, topk, kpool)
    pages = r2t[np.asarray(pool, dtype=np.int64)[owner], :bound].astype(np.int64).reshape(owner.size, bound)
    live = live_columns(cache[owner], bound)[:, None]  # a row's KV length is its request's cache_seqlens
    out.update(cache_seqlens=cache, cu_seqlens_k=prefix(cache), dsa_cache_seqlens=dsa, dsa_cu_seqlens_k=prefix(dsa),
               page_table_1=np.where(np.arange(bound)[None, :] < live, pages, POISON))
    if page_size > 1:
        columns = np.arange(0, bound, page_size)[None, :]  # page_table_1's column of each real_page_table column
        out["real_page_table"] = np.where(columns < live, pages[:, ::page_size] // page_size, POISON)
    return out


# --- device buffers ------------------------------------------------------------------------------------------

def cuda(array):
    return torch.from_numpy(np.ascontiguousarray(array)).cuda()


def first_mismatch(got, want, name):
    bad = np.argwhere(got != want)
    if bad.size:
        where = tuple(int(i) for i in bad[0])
        raise AssertionError(f"{name}{list(where)} = {got[where]}, expected {want[where]}")


class Vector:
    """A 1-D int32 output: the n-entry view a call sees of a poisoned buffer with a guard tail."""

    def __init__(self, n):
        self.base = torch.full((n + GUARD,), POISON, dtype=torch.int32, device="cuda")
        self.view = self.base[:n]

    def poison(self):
        self.base.fill_(POISON)

    def expect(self, values, name):
        got = self.base.cpu().numpy()
        want = np.full(got.shape, POISON, dtype=np.int32)
        want[:len(values)] = np.asarray(values, dtype=np.int64)
        first_mismatch(got, want, name)


# Layouts of 2-D arrays: contiguous; a slice of a wider, taller tensor (row stride past the columns, a storage
# offset, gaps between rows); a transposed tensor (column stride past one).
LAYOUTS = ("contiguous", "sliced", "transposed")


def layout_shape(rows, cols, layout):
    return {"contiguous": (rows, cols), "sliced": (rows + 3, cols + 5), "transposed": (cols, rows)}[layout]


def layout_view(base, rows, cols, layout):
    """The rows x cols view of base (a torch tensor or a NumPy array; both slice and transpose alike)."""
    if layout == "contiguous":
        return base
    if layout == "sliced":
        return base[1:1 + rows, 2:2 + cols]
    return base.T


class Table:
    """A 2-D int32 output in a layout, poisoned everywhere, its gaps and the columns past the bound included."""

    def __init__(self, rows, cols, layout):
        self.rows, self.cols, self.layout = rows, cols, layout
        self.base = torch.full(layout_shape(rows, cols, layout), POISON, dtype=torch.int32, device="cuda")
        self.view = layout_view(self.base, rows, cols, layout)
        assert self.view.shape == (rows, cols)

    def poison(self):
        self.base.fill_(POISON)

    def expect(self, values, name):
        got = self.base.cpu().numpy()
        want = np.full(got.shape, POISON, dtype=np.int32)
        values = np.asarray(values, dtype=np.int64)
        layout_view(want, self.rows, self.cols, self.layout)[:values.shape[0], :values.shape[1]] = values
        first_mismatch(got, want, name)


def laid_out(host, layout):
    """A device copy of a 2-D host array in a layout (the gaps hold zeros)."""
    rows, cols = host.shape
    base = torch.zeros(layout_shape(rows, cols, layout), dtype=torch.int32, device="cuda")
    view = layout_view(base, rows, cols, layout)
    view.copy_(cuda(host))
    return view


def strided_input(host, dtype, stride):
    """A device copy of a 1-D host array as a view of every stride-th element of a larger tensor whose gaps hold -1
    (which a call reading them would take for bad data); stride 1: a contiguous tensor."""
    if stride == 1:
        return cuda(host.astype(dtype))
    base = torch.full((max(len(host) * stride, 1),), -1, dtype=getattr(torch, np.dtype(dtype).name), device="cuda")
    view = base[::stride][:len(host)]
    view.copy_(cuda(host.astype(dtype)))
    return view


class Case:
    """One call's inputs on the GPU and its poisoned outputs: bs requests of mode with the switches asked for; the
    page tables' bound (max_len or max_seqlen_k) is `bound`, req_to_token has 7 columns past it and 3 rows past bs,
    the per-row outputs hold the mode's rows (draft extend: `slack` more), every table one column past its bound.
    seq_lens are drawn up to max_seq (default: the bound), so that tables much wider than the KV lengths keep their
    poison past the live prefixes. page_table_1=False leaves it out (None; its buffer must stay poison); stride > 1
    passes seq_lens, req_pool_indices and extend_seq_lens as strided views; static: static_extend_len (the extend
    lengths are then all equal unless given)."""

    def __init__(self, mode, bs, rng, *, seq_dtype=np.int32, pool_dtype=np.int64, ext_dtype=np.int32, page_size=1,
                 kpool=1, ctx_lens=False, layout="contiguous", bound=300, next_n=2, topk=150, max_ext=4, ext=None,
                 slack=5, max_seq=None, page_table_1=True, stride=1, static=False):
        self.mode, self.bs, self.rng = mode, bs, rng
        self.seq_dtype, self.pool_dtype, self.ext_dtype = seq_dtype, pool_dtype, ext_dtype
        self.page_size, self.kpool, self.layout, self.bound, self.next_n, self.topk = (
            page_size, kpool, layout, bound, next_n, topk)
        self.max_seq = bound if max_seq is None else max_seq
        self.with_page, self.stride, self.static = page_table_1, stride, static
        self.pool_rows = bs + 3
        self.max_ext = max_ext
        self.ext_h = None
        if mode == "extend":
            if ext is not None:
                self.ext_h = np.asarray(ext)
            elif static:
                self.ext_h = np.full(bs, rng.integers(0, max_ext + 1))
            else:
                self.ext_h = rng.integers(0, max_ext + 1, size=bs)
            self.ext_h = self.ext_h.astype(np.int64)
        self.new_values()
        self.rows = bs if mode == "decode" else bs * next_n if mode == "verify" else self.total
        self.capacity = self.rows + (slack if mode == "extend" else 0)

        self.seq = strided_input(self.seq_h, seq_dtype, stride)
        self.pool = strided_input(self.pool_h, pool_dtype, stride)
        self.ext = strided_input(self.ext_h, ext_dtype, stride) if mode == "extend" else None
        self.req_to_token = laid_out(self.r2t_h, layout)
        self.cache, self.cu = Vector(bs), Vector(bs + 1)
        self.expanded = Vector(self.capacity) if mode != "decode" else None
        self.dsa, self.dsa_cu = Vector(self.capacity), Vector(self.capacity + 1)
        self.page = Table(self.capacity, bound + 1, layout)
        self.real = Table(self.capacity, -(-bound // page_size) + 1, layout) if page_size > 1 else None
        self.ctx = Table(bs, next_n + 1, layout) if ctx_lens else None
        self.words = torch.full((2,), POISON, dtype=torch.int32, device="cuda")  # status, then a guard

    def new_values(self):
        """New host inputs of the same shapes (draft extend: the same extend lengths in another order, so the same
        total_len); copied to the device by upload()."""
        rng, bs = self.rng, self.bs
        self.r2t_h = rng.integers(0, 1 << 22, size=(self.pool_rows, self.bound + 7)).astype(np.int32)
        if self.mode == "extend":
            self.ext_h = rng.permutation(self.ext_h)
            self.seq_h = self.ext_h.astype(np.int64) + rng.integers(0, self.max_seq + 1, size=bs)
            self.seq_h[::7] = 1  # padded graph rows: seq_len 1, below their extend length
            self.total = int(self.ext_h.sum())
        else:
            self.seq_h = rng.integers(0, self.max_seq + 1, size=bs)
        self.pool_h = rng.permutation(self.pool_rows)[:bs]

    def upload(self):
        self.seq.copy_(cuda(self.seq_h.astype(self.seq_dtype)))
        self.pool.copy_(cuda(self.pool_h.astype(self.pool_dtype)))
        self.req_to_token.copy_(cuda(self.r2t_h))
        if self.ext is not None:
            self.ext.copy_(cuda(self.ext_h.astype(self.ext_dtype)))

    def buffer(self, name):
        """The buffer of an output the description names (None where this case passes none)."""
        return {"cache_seqlens": self.cache, "cu_seqlens_k": self.cu, "seqlens_expanded": self.expanded,
                "dsa_cache_seqlens": self.dsa, "dsa_cu_seqlens_k": self.dsa_cu, "page_table_1": self.page,
                "real_page_table": self.real, "paged_mqa_ctx_lens_2d": self.ctx}[name]

    def outputs(self):
        """(name, buffer) of every output the op's description lists, that this case passes."""
        return [(name, self.buffer(name)) for name in written(self.mode) if self.buffer(name) is not None]

    def poison(self):
        for _, output in self.outputs():
            output.poison()
        self.words.fill_(POISON)

    def named(self):
        """Every upstream argument by name, and status."""
        real = self.real.view if self.real is not None else self.page.view  # upstream's page_table_1 when P == 1
        args = dict(seq_lens=self.seq, req_pool_indices=self.pool, req_to_token=self.req_to_token,
                    cache_seqlens=self.cache.view, cu_seqlens_k=self.cu.view,
                    page_table_1=self.page.view if self.with_page else None, dsa_cache_seqlens=self.dsa.view,
                    dsa_cu_seqlens_k=self.dsa_cu.view, real_page_table=real, bs=self.bs, dsa_index_topk=self.topk,
                    real_page_size=self.page_size, index_kpool=self.kpool, status=self.words[:1])
        if self.mode == "decode":
            args.update(max_len=self.bound)
        elif self.mode == "verify":
            args.update(seqlens_expanded=self.expanded.view, max_seqlen_k=self.bound, next_n=self.next_n,
                        paged_mqa_ctx_lens_2d=None if self.ctx is None else self.ctx.view)
        else:
            args.update(extend_seq_lens=self.ext, seqlens_expanded=self.expanded.view, total_len=self.total,
                        max_seqlen_k=self.bound, max_extend_len=max(self.max_ext, 1), max_total_len=self.capacity,
                        static_extend_len=self.static)
        return args

    def call(self, **overrides):
        """The sglang function, upstream's arguments positional (as upstream's callers pass them) up to the first
        one left out (an override of OMIT), the rest and status by keyword."""
        name, _ = UPSTREAM[self.mode]
        args = {key: value for key, value in {**self.named(), **overrides}.items() if value is not OMIT}
        positional = []
        for p, _ in upstream_parameters(self.mode):
            if p not in args:
                break
            positional.append(args.pop(p))
        getattr(sglang, name)(*positional, **args)

    def op_args(self):
        """The torch op's arguments, in its description's order (real_page_table None when P == 1, as sglang
        passes)."""
        a = self.named()
        a.update(real_page_table=a["real_page_table"] if self.page_size > 1 else None,
                 static_extend_len=int(self.static))
        return tuple(a[name] for name, _, _, _ in described(self.mode))

    def op(self):
        ops = torch.ops.draftjit
        return {"decode": ops.dsa_decode_metadata, "verify": ops.dsa_target_verify_metadata,
                "extend": ops.dsa_draft_extend_metadata}[self.mode].default

    def prepare(self):
        extend = {}
        if self.mode == "extend":
            extend = dict(extend_seq_lens_dtype=np.dtype(self.ext_dtype).name, static_extend_len=self.static)
        draftjit.prepare_dsa(PREPARE_NAMES[self.mode], self.bs, seq_lens_dtype=np.dtype(self.seq_dtype).name,
                             req_pool_indices_dtype=np.dtype(self.pool_dtype).name, real_page_size=self.page_size,
                             index_kpool=self.kpool, paged_mqa_ctx_lens_2d=self.ctx is not None,
                             page_table_1=self.with_page, **extend)

    def check(self):
        want = reference(self.mode, self.seq_h, self.pool_h, self.r2t_h, self.bound, self.topk, self.page_size,
                         self.kpool, self.next_n, self.ext_h)
        for name, output in self.outputs():  # page_table_1 left out: its buffer keeps its poison
            output.expect(want[name] if name != "page_table_1" or self.with_page else np.zeros((0, 0)), name)
        assert self.words.tolist() == [0, POISON], "status"

    def check_untouched(self, status=POISON):
        for name, output in self.outputs():
            output.expect(np.zeros((0, 0)) if isinstance(output, Table) else [], name)
        assert self.words.tolist() == [status, POISON], f"status {self.words.tolist()}, expected {status}"


# The switches, each value in two combinations: (seq_lens dtype, req_pool_indices dtype, real_page_size,
# index_kpool, layout, paged_mqa_ctx_lens_2d given).
COMBOS = [
    (np.int32, np.int64, 1, 1, "contiguous", False),
    (np.int64, np.int64, 64, 1, "sliced", True),
    (np.int32, np.int32, 64, 4, "transposed", False),
    (np.int64, np.int32, 1, 4, "sliced", True),
]


def combo_id(combo):
    seq, pool, page, kpool, layout, ctx = combo
    name = f"seq_{np.dtype(seq).name}-pool_{np.dtype(pool).name}-P{page}-kpool{kpool}-{layout}"
    return name + ("-ctx" if ctx else "")


def case_of(mode, bs, combo, rng, **kwargs):
    seq, pool, page, kpool, layout, ctx = combo
    return Case(mode, bs, rng, seq_dtype=seq, pool_dtype=pool, page_size=page, kpool=kpool, layout=layout,
                ctx_lens=ctx and mode == "verify", **kwargs)


@needs_gpu
@pytest.mark.parametrize("combo", COMBOS, ids=combo_id)
@pytest.mark.parametrize("bs", [0, 1, 5, 64, 200])
@pytest.mark.parametrize("mode", MODES)
def test_results_match_the_reference(mode, bs, combo):
    case = case_of(mode, bs, combo, np.random.default_rng(bs * 31 + COMBOS.index(combo)))
    case.call()
    case.check()
    case.new_values()  # the same call, new values
    case.upload()
    case.poison()
    case.call()
    case.check()


class Interface:
    """Only the __cuda_array_interface__ of a tensor: what CuPy or Numba would hand over, so the call takes the
    pybind11 module's path instead of torch's operator."""

    def __init__(self, tensor):
        self.__cuda_array_interface__ = tensor.__cuda_array_interface__


OP_NAMES = {"decode": "dsa_decode_metadata", "verify": "dsa_target_verify_metadata",
            "extend": "dsa_draft_extend_metadata"}


@needs_gpu
@pytest.mark.parametrize("combo", COMBOS, ids=combo_id)
@pytest.mark.parametrize("bs", [0, 1, 64])
@pytest.mark.parametrize("mode", MODES)
def test_array_interface_arrays_get_the_same_results(mode, bs, combo):
    """draftjit.dsa_*_metadata, made from the op descriptions, on __cuda_array_interface__ arrays (int64 inputs and
    strided tables included) writes what the torch operator writes."""
    case = case_of(mode, bs, combo, np.random.default_rng(bs * 7 + COMBOS.index(combo)))
    args = [Interface(a) if isinstance(a, torch.Tensor) else a for a in case.op_args()]
    getattr(draftjit, OP_NAMES[mode])(*args)
    torch.cuda.synchronize()  # the legacy default stream: no CuPy here
    case.check()


@needs_gpu
@pytest.mark.parametrize("bound", [0, 1, 63, 64, 65, 4100])
@pytest.mark.parametrize("mode", MODES)
def test_contexts_around_the_page_size(mode, bound):
    case = case_of(mode, 5, COMBOS[1], np.random.default_rng(bound), bound=bound, topk=max(bound // 2, 1))
    case.call()
    case.check()


# Options beyond COMBOS, each run twice like test_results_match_the_reference: page_table_1 None (real_page_table
# alone), strided views of the 1-D inputs (x[::2], x[::3]), int64 extend lengths, static_extend_len.
NEW_OPTIONS = {
    "no-page-table-1-P64": {"page_table_1": False, "page_size": 64},
    "no-page-table-1-P3-transposed": {"page_table_1": False, "page_size": 3, "layout": "transposed"},
    "inputs-every-2nd": {"stride": 2},
    "inputs-every-3rd-int64": {"stride": 3, "seq_dtype": np.int64, "pool_dtype": np.int32, "ext_dtype": np.int64},
    "extend-lens-int64": {"ext_dtype": np.int64},
    "static-extend": {"static": True},
    "all-at-once": {"static": True, "ext_dtype": np.int64, "stride": 2, "page_table_1": False, "page_size": 64,
                    "kpool": 4, "layout": "sliced"},
}


@needs_gpu
@pytest.mark.parametrize("options", list(NEW_OPTIONS))
@pytest.mark.parametrize("bs", [1, 7, 200])
@pytest.mark.parametrize("mode", MODES)
def test_new_options_match_the_reference(mode, bs, options):
    case = Case(mode, bs, np.random.default_rng(bs * 13 + list(NEW_OPTIONS).index(options)), **NEW_OPTIONS[options])
    case.call()
    case.check()
    case.new_values()
    case.upload()
    case.poison()
    case.call()
    case.check()


@needs_gpu
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page_size", [1, 64])
@pytest.mark.parametrize("mode", MODES)
def test_wide_tables_with_short_sequences_keep_their_tails(mode, page_size, layout):
    """Tables 5000 columns wide, KV lengths at most 304 (seq_lens up to 300, plus next_n or the extend length): every
    row is written up to its KV length rounded up to 128 columns, so nothing from column 384 on."""
    case = Case(mode, 9, np.random.default_rng(page_size), page_size=page_size, layout=layout, bound=5000,
                max_seq=300)
    case.call()
    case.check()
    assert bool((case.page.view[:, 384:] == POISON).all())  # without the reference
    if case.real is not None:
        assert bool((case.real.view[:, 384 // page_size:] == POISON).all())


@needs_gpu
@pytest.mark.parametrize("mode", MODES)
def test_columns_past_the_live_prefix_keep_stale_values(mode):
    """Upstream's contract: a row's tail keeps what it held (stale values across graph replays). A second call with
    shorter sequences, without poisoning in between, overwrites only the new live prefixes."""
    rng = np.random.default_rng(31)
    case = Case(mode, 6, rng, page_size=64, bound=1000, max_seq=900)
    case.call()
    first = reference(mode, case.seq_h, case.pool_h, case.r2t_h, case.bound, case.topk, 64, 1, case.next_n,
                      case.ext_h)
    case.new_values()
    case.seq_h = np.minimum(case.seq_h, 100)  # every live prefix 128 columns
    if mode == "extend":
        case.seq_h = np.maximum(case.seq_h, case.ext_h)
    case.upload()
    case.call()
    second = reference(mode, case.seq_h, case.pool_h, case.r2t_h, case.bound, case.topk, 64, 1, case.next_n,
                       case.ext_h)
    for name, table in (("page_table_1", case.page), ("real_page_table", case.real)):
        old, new = first[name], second[name]
        rows = min(old.shape[0], new.shape[0])
        stale = new.copy()
        stale[:rows] = np.where(new[:rows] != POISON, new[:rows], old[:rows])
        table.expect(stale, name)


@needs_gpu
@pytest.mark.parametrize("mode", MODES)
def test_physical_page_size_keyword(mode):
    """The page size as dsa_kpool_metadata/ names it; exactly one name (or both alike) must be given."""
    case = Case(mode, 5, np.random.default_rng(37), page_size=64)
    case.call(real_page_size=OMIT, physical_page_size=64)
    case.check()
    case.poison()
    with pytest.raises(TypeError, match="physical_page_size"):
        case.call(real_page_size=OMIT)
    with pytest.raises(TypeError, match="physical_page_size"):
        case.call(real_page_size=64, physical_page_size=32)
    torch.cuda.synchronize()
    case.check_untouched()


@needs_gpu
def test_draft_extend_without_max_extend_len_or_max_total_len():
    case = Case("extend", 8, np.random.default_rng(41), page_size=64)
    case.call(max_extend_len=OMIT)
    case.check()
    case.poison()
    case.call(max_extend_len=OMIT, max_total_len=OMIT)
    case.check()


@needs_gpu
def test_static_extend_len_broken_sets_its_bit_and_writes_nothing():
    rng = np.random.default_rng(43)
    case = Case("extend", 6, rng, ext=[2, 2, 2, 3, 2, 2], static=True, page_size=64)
    case.call()
    case.check_untouched(EXTEND_NOT_STATIC)
    kept = Case("extend", 6, rng, ext=[2] * 6, static=True, page_size=64, page_table_1=False)
    kept.ext[4] = 3  # on the device only: the host's total_len is now one short of the sum too
    kept.call()
    kept.check_untouched(EXTEND_NOT_STATIC | TOTAL_MISMATCH)
    for static in (True, False):  # no tokens: kept either way, and the same outputs
        none = Case("extend", 6, rng, ext=[0] * 6, static=static, slack=0)
        none.call()
        none.check()


@needs_gpu
def test_int64_extend_length_past_int32():
    case = Case("extend", 6, np.random.default_rng(47), ext=[1, 2, 3, 4, 1, 2], ext_dtype=np.int64, page_size=64)
    case.ext[3] = 2**40
    # total_len as the host would count it, so past the outputs' rows too (max_total_len left out: no ValueError);
    # Case shuffles the lengths, so length 3 is whatever ext_h[3] holds
    case.call(total_len=case.total - int(case.ext_h[3]) + 2**40, max_total_len=OMIT)
    case.check_untouched(INT32_OVERFLOW | CAPACITY_EXCEEDED)


@needs_gpu
def test_index_kpool_0_is_accepted_where_no_row_is_written():
    rng = np.random.default_rng(53)
    for mode in MODES:
        empty = Case(mode, 0, rng)
        empty.call(index_kpool=0)
        empty.check()
    no_tokens = Case("extend", 4, rng, ext=[0] * 4, slack=0)
    no_tokens.call(index_kpool=0)
    no_tokens.check()


@needs_gpu
@pytest.mark.parametrize("bs", [16384, 65536])
@pytest.mark.parametrize("mode", MODES)
def test_large_batches_at_small_widths(mode, bs):
    assert bs <= draftjit.MAX_DSA_BS
    case = Case(mode, bs, np.random.default_rng(bs), page_size=64, bound=100, topk=60, max_ext=2, stride=2)
    case.call()
    case.check()


@needs_gpu
@pytest.mark.parametrize("mode", MODES)
def test_array_interface_strided_inputs_and_no_page_table_1(mode):
    """The pybind11 path takes strided 1-D inputs and a None page_table_1 as the torch operator does."""
    case = Case(mode, 9, np.random.default_rng(59), page_size=64, page_table_1=False, stride=2, ext_dtype=np.int64,
                static=True)
    args = [Interface(a) if isinstance(a, torch.Tensor) else a for a in case.op_args()]
    getattr(draftjit, OP_NAMES[mode])(*args)
    torch.cuda.synchronize()
    case.check()


@needs_gpu
@pytest.mark.parametrize("mode", MODES)
def test_pooled_lengths_and_topk_at_the_edges(mode):
    rng = np.random.default_rng(7)
    for kpool, topk in ((4, 0), (4, 1), (3, 64), (64, 64), (1, 5), (1, 1 << 30)):
        case = Case(mode, 9, rng, kpool=kpool, topk=topk, bound=130)
        case.call()
        case.check()


@needs_gpu
def test_draft_extend_with_no_tokens_writes_the_request_prefix():
    case = Case("extend", 6, np.random.default_rng(3), ext=[0] * 6, page_size=64, slack=0)
    assert case.total == 0 and case.capacity == 0
    case.call()
    case.check()  # cache_seqlens, cu_seqlens_k and dsa_cu_seqlens_k[0] = 0, nothing else


@needs_gpu
def test_bs_below_the_arrays_length_and_bs_none():
    rng = np.random.default_rng(11)
    case = Case("decode", 8, rng)
    case.call(bs=None)  # seq_lens.numel()
    case.check()
    short = Case("verify", 8, rng)
    short.call(bs=5)  # upstream passes bs; the arrays may hold more
    short.bs, short.seq_h, short.pool_h = 5, short.seq_h[:5], short.pool_h[:5]
    want = reference("verify", short.seq_h, short.pool_h, short.r2t_h, short.bound, short.topk, 1, 1, short.next_n)
    short.cache.expect(want["cache_seqlens"], "cache_seqlens")
    short.expanded.expect(want["seqlens_expanded"], "seqlens_expanded")
    short.dsa_cu.expect(want["dsa_cu_seqlens_k"], "dsa_cu_seqlens_k")
    short.page.expect(want["page_table_1"], "page_table_1")


@needs_gpu
def test_real_page_table_is_ignored_when_the_page_size_is_1():
    case = Case("decode", 5, np.random.default_rng(5))
    elsewhere = Table(5, 10, "sliced")
    case.call(real_page_table=elsewhere.view)
    case.check()
    elsewhere.expect(np.zeros((0, 0)), "real_page_table")
    case.poison()
    args = list(case.op_args())
    args[8] = case.page.view  # the op itself, given page_table_1 as real_page_table as upstream passes it
    case.op()(*args)
    case.check()


def bad_data_cases():
    def negative_seq_len(c):
        c.seq[1] = -3

    def seq_len_past_int32(c):
        c.seq[0] = 2**31

    def pool_index_past_the_rows(c):
        c.pool[2] = c.pool_rows

    def negative_pool_index(c):
        c.pool[0] = -1

    def pool_index_past_int32(c):
        c.pool[3] = 2**33

    def cu_seqlens_k_past_int32(c):
        c.seq.fill_(2**30)

    def negative_extend_len(c):
        c.ext[2] = -1

    def extend_len_below_int32(c):
        c.ext[1] = -2**40

    return [
        ("decode", {}, negative_seq_len, NEGATIVE_SEQ_LEN),
        ("extend", {}, negative_seq_len, NEGATIVE_SEQ_LEN),
        ("verify", {"seq_dtype": np.int64}, seq_len_past_int32, INT32_OVERFLOW),
        ("decode", {}, pool_index_past_the_rows, POOL_INDEX_OUT_OF_RANGE),
        ("verify", {"pool_dtype": np.int32}, negative_pool_index, POOL_INDEX_OUT_OF_RANGE),
        ("extend", {}, pool_index_past_int32, POOL_INDEX_OUT_OF_RANGE),
        ("decode", {"seq_dtype": np.int64}, cu_seqlens_k_past_int32, INT32_OVERFLOW),
        ("extend", {"ext": [1, 2, 3, 4, 1, 2]}, negative_extend_len, NEGATIVE_EXTEND_LEN),
        ("extend", {"ext": [1, 2, 3, 4, 1, 2], "ext_dtype": np.int64, "stride": 2}, extend_len_below_int32,
         NEGATIVE_EXTEND_LEN),
        ("decode", {"stride": 3, "page_table_1": False}, negative_pool_index, POOL_INDEX_OUT_OF_RANGE),
    ]


@needs_gpu
@pytest.mark.parametrize("mode, options, spoil, status", bad_data_cases(),
                         ids=lambda v: v.__name__ if callable(v) else None)
def test_bad_data_sets_the_status_and_writes_nothing(mode, options, spoil, status):
    case = Case(mode, 6, np.random.default_rng(status), page_size=64, **options)
    spoil(case)
    case.call()
    case.check_untouched(status)


@needs_gpu
def test_draft_extend_totals_the_device_disagrees_with():
    rng = np.random.default_rng(17)
    case = Case("extend", 6, rng, ext=[1, 2, 3, 4, 1, 2], page_size=64)
    case.call(total_len=case.total + 1)  # rows without a request
    case.check_untouched(TOTAL_MISMATCH)
    case.poison()
    case.call(total_len=case.total - 1)  # tokens without a row
    case.check_untouched(TOTAL_MISMATCH)
    short = Case("extend", 6, rng, ext=[1, 2, 3, 4, 1, 2], slack=-1)  # outputs one row short of total_len
    short.call(max_total_len=short.total)
    short.check_untouched(CAPACITY_EXCEEDED)


def argument_errors():
    """(mode, what to pass instead, the message's pattern)."""
    def short(tensor):
        return tensor[:-1]

    return [
        ("decode", lambda c: {"seq_lens": c.seq.float()}, "seq_lens must be int32 or int64, got torch.float32"),
        ("decode", lambda c: {"req_pool_indices": c.pool.to(torch.int16)},
         "req_pool_indices must be int32 or int64, got torch.int16"),
        ("extend", lambda c: {"extend_seq_lens": c.ext.float()},
         "extend_seq_lens must be int32 or int64, got torch.float32"),
        ("decode", lambda c: {"req_to_token": c.req_to_token.long()}, "req_to_token must be int32, got torch.int64"),
        ("verify", lambda c: {"seqlens_expanded": c.expanded.view.long()},
         "seqlens_expanded must be int32, got torch.int64"),
        ("decode", lambda c: {"cache_seqlens": c.cache.view.cpu()}, "cache_seqlens must be on a CUDA device, got cpu"),
        ("decode", lambda c: {"req_to_token": c.req_to_token.cpu()}, "req_to_token must be on a CUDA device, got cpu"),
        ("decode", lambda c: {"seq_lens": c.seq.view(1, -1)}, "seq_lens must be 1-D, got 2 dimensions"),
        ("decode", lambda c: {"page_table_1": c.page.view[0]}, "page_table_1 must be 2-D, got 1 dimensions"),
        ("verify", lambda c: {"seqlens_expanded": c.expanded.base[:2 * c.capacity:2]},
         "seqlens_expanded must be contiguous"),
        ("decode", lambda c: {"seq_lens": short(c.seq)}, "seq_lens needs bs = 5 entries, got 4"),
        ("extend", lambda c: {"extend_seq_lens": short(c.ext)}, "extend_seq_lens needs bs = 5 entries, got 4"),
        ("decode", lambda c: {"cu_seqlens_k": short(c.cu.view)}, "cu_seqlens_k needs bs + 1 = 6 entries, got 5"),
        ("decode", lambda c: {"dsa_cu_seqlens_k": short(c.dsa_cu.view)},
         "dsa_cu_seqlens_k needs bs + 1 = 6 entries, got 5"),
        ("verify", lambda c: {"dsa_cache_seqlens": short(c.dsa.view)},
         "dsa_cache_seqlens needs bs * next_n = 10 entries, got 9"),
        ("extend", lambda c: {"dsa_cu_seqlens_k": c.dsa_cu.view[:0]}, "dsa_cu_seqlens_k must have at least one entry"),
        ("decode", lambda c: {"real_page_table": None}, "real_page_table must be non-null"),
        ("decode", lambda c: {"status": c.words[:0]}, "status must have at least one entry"),
        ("decode", lambda c: {"page_table_1": c.page.view[:1].expand(c.capacity, -1)},
         "page_table_1 is written but its strides (0, "),
        ("decode", lambda c: {"bs": draftjit.MAX_DSA_BS + 1},
         f"bs = {draftjit.MAX_DSA_BS + 1} is outside the supported range [0, {draftjit.MAX_DSA_BS}]"),
        ("decode", lambda c: {"dsa_index_topk": 2**31}, "dsa_index_topk = 2147483648 does not fit in int32"),
        ("verify", lambda c: {"next_n": 2**32}, "next_n = 4294967296 does not fit in int32"),
        ("extend", lambda c: {"total_len": c.capacity + 1, "max_total_len": c.capacity},
         "total_len = 16 exceeds max_total_len = 15"),
        # checked by the library (src/dsa_metadata.cpp), whose messages name the argument too
        ("decode", lambda c: {"dsa_index_topk": -1}, "dsa_index_topk = -1"),
        ("decode", lambda c: {"real_page_size": 0, "real_page_table": c.page.view}, "real_page_size = 0"),
        ("verify", lambda c: {"next_n": 0}, "next_n = 0"),
        ("decode", lambda c: {"index_kpool": -2}, "index_kpool = -2"),
        ("verify", lambda c: {"index_kpool": 0}, "index_kpool = 0"),
        ("extend", lambda c: {"index_kpool": 0}, "index_kpool = 0"),
        # page_table_1 may be None only where real_page_table is the table written (page size > 1)
        ("decode", lambda c: {"page_table_1": None, "real_page_size": 1}, "page_table_1"),
        ("verify", lambda c: {"page_table_1": None, "real_page_size": 1}, "page_table_1"),
        ("decode", lambda c: {"max_len": c.bound + 2}, "page_table_1"),  # one column more than the table holds
        ("decode", lambda c: {"req_to_token": c.req_to_token[:, :c.bound - 1]}, "req_to_token"),
        ("decode", lambda c: {"page_table_1": c.page.view[:4]}, "page_table_1"),
        ("verify", lambda c: {"paged_mqa_ctx_lens_2d": c.ctx.view[:, :1]}, "paged_mqa_ctx_lens_2d"),
        ("decode", lambda c: {"real_page_table": c.real.view[:, :1]}, "real_page_table"),
        ("extend", lambda c: {"total_len": -1}, "total_len = -1"),
    ]


@needs_gpu
@pytest.mark.parametrize("mode, change, message", argument_errors())
def test_argument_errors_name_the_argument_and_write_nothing(mode, change, message):
    # Through the torch op these are PyTorch's exceptions (torch 2.11: ValueError, a wrong dtype too) carrying
    # draftjit's message; total_len > max_total_len is sglang.py's own ValueError.
    extend = {"ext": [2, 3, 0, 4, 1]} if mode == "extend" else {}  # 10 tokens, 15 rows
    case = Case(mode, 5, np.random.default_rng(1), page_size=64, ctx_lens=mode == "verify", **extend)
    with pytest.raises((TypeError, ValueError, RuntimeError), match=re.escape(message)):
        case.call(**change(case))
    torch.cuda.synchronize()
    case.check_untouched()


@needs_gpu
@pytest.mark.parametrize("layout", ["contiguous", "sliced"])
@pytest.mark.parametrize("mode", MODES)
def test_opcheck(mode, layout):
    for combo in (COMBOS[0], COMBOS[1]):
        case = case_of(mode, 5, combo[:4] + (layout,) + combo[5:], np.random.default_rng(2))
        torch.library.opcheck(case.op(), case.op_args())
    # page_table_1 None, strided 1-D inputs, int64 extend lengths, static_extend_len
    case = case_of(mode, 5, COMBOS[1][:4] + (layout,) + COMBOS[1][5:], np.random.default_rng(3), page_table_1=False,
                   stride=2, ext_dtype=np.int64, static=True)
    torch.library.opcheck(case.op(), case.op_args())


GRAPH_VARIANTS = {
    "plain": {},
    # page_table_1 None, x[::2] views of the inputs, int64 extend lengths and static_extend_len (draft extend's)
    "new-switches": {"page_table_1": False, "stride": 2, "ext_dtype": np.int64, "static": True},
}


@needs_gpu
@pytest.mark.parametrize("variant", list(GRAPH_VARIANTS))
@pytest.mark.parametrize("bs", [5, 64])
@pytest.mark.parametrize("mode", MODES)
def test_graph_capture_and_replay_with_new_inputs(mode, bs, variant):
    rng = np.random.default_rng(bs)
    case = case_of(mode, bs, COMBOS[1], rng, **GRAPH_VARIANTS[variant])
    case.prepare()  # the kernel loaded ahead: the capture records a launch and nothing else
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        case.call()
    torch.cuda.synchronize()
    for _ in range(20):
        case.new_values()
        case.upload()
        case.poison()
        graph.replay()
        case.check()


@needs_gpu
@pytest.mark.parametrize("mode", MODES)
def test_new_run_time_lengths_and_strides_compile_nothing(mode):
    rng = np.random.default_rng(23)
    first = case_of(mode, 12, COMBOS[2], rng, bound=200)
    first.call()
    first.check()
    before = draftjit.stats()
    for bound, layout, max_ext, stride in ((77, "contiguous", 2, 2), (1000, "sliced", 6, 1), (0, "transposed", 1, 3),
                                           (4097, "sliced", 3, 2)):
        case = case_of(mode, 12, COMBOS[2][:4] + (layout,) + COMBOS[2][5:], rng, bound=bound, max_ext=max_ext,
                       stride=stride)
        case.call()
        case.check()
    # new max_len / max_seqlen_k, total_len, strides (of the tables and of the 1-D inputs) and capacities: warm calls
    assert draftjit.stats() == before


@needs_gpu
def test_torch_compile_fullgraph():
    rng = np.random.default_rng(29)
    cases = [case_of(mode, 7, COMBOS[1], rng) for mode in MODES]

    def step(*per_mode):
        for case, args in zip(cases, per_mode):
            name, _ = UPSTREAM[case.mode]
            getattr(sglang, name)(**args)
        return cases[0].cache.view + 0  # read after the writes

    compiled = torch.compile(step, fullgraph=True)
    cache = compiled(*[case.named() for case in cases])
    assert np.array_equal(cache.cpu().numpy(), cases[0].seq_h)
    for case in cases:
        case.check()


@needs_gpu
def test_prepare_dsa_arguments():
    draftjit.prepare_dsa("dsa-extend", [1, 2], seq_lens_dtype=torch.int64, req_pool_indices_dtype="torch.int32",
                         real_page_size=64, index_kpool=4)
    with pytest.raises(ValueError, match="mode must be one of dsa-decode, dsa-verify, dsa-extend, not 'decode'"):
        draftjit.prepare_dsa("decode", 1)
    with pytest.raises(ValueError, match=re.escape(f"bs = {draftjit.MAX_DSA_BS + 1} is outside")):
        draftjit.prepare_dsa("dsa-decode", [1, draftjit.MAX_DSA_BS + 1])
    with pytest.raises(TypeError, match="seq_lens_dtype must be int32 or int64"):
        draftjit.prepare_dsa("dsa-decode", 1, seq_lens_dtype=torch.float32)
    with pytest.raises(ValueError, match="ctx"):  # paged_mqa_ctx_lens_2d is target verify's alone
        draftjit.prepare_dsa("dsa-decode", 1, paged_mqa_ctx_lens_2d=True)
    draftjit.prepare_dsa("dsa-extend", 3, extend_seq_lens_dtype=torch.int64, static_extend_len=True,
                         real_page_size=64, page_table_1=False)
    with pytest.raises(ValueError, match="static"):  # static_extend_len is draft extend's alone
        draftjit.prepare_dsa("dsa-verify", 1, static_extend_len=True)
    with pytest.raises(ValueError, match="paged"):  # page_table_1 may be left out only with real_page_size > 1
        draftjit.prepare_dsa("dsa-decode", 1, page_table_1=False)
    with pytest.raises(TypeError, match="extend_seq_lens_dtype must be int32 or int64"):
        draftjit.prepare_dsa("dsa-extend", 1, extend_seq_lens_dtype=torch.float32)


@needs_ops
@pytest.mark.parametrize("mode", MODES)
def test_sglang_signatures_are_upstreams(mode):
    name, _ = UPSTREAM[mode]
    parameters = list(inspect.signature(getattr(sglang, name)).parameters.values())
    upstream = upstream_parameters(mode)
    assert [(p.name, p.default) for p in parameters[:len(upstream)]] == upstream
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters[:len(upstream)])
    assert [(p.name, p.kind, p.default) for p in parameters[len(upstream):]] == [
        (p, inspect.Parameter.KEYWORD_ONLY, default) for p, default in KEYWORD_ONLY]
