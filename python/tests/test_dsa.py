"""The DSA metadata step from Python (draftjit.sglang.fused_dsa_*_metadata and torch.ops.draftjit.dsa_*_metadata) on a
GPU: exact results against a NumPy reference written from include/draftjit/dsa.hpp and upstream SGLang's
definitions, every output poisoned beforehand and checked untouched outside its definition (guard tails, columns at
and past the bound, rows past the mode's rows, strided gaps), strided req_to_token and page tables, bad data through
the status word with nothing written, argument errors naming the argument, opcheck, CUDA graph capture and replay with
new inputs, and no compile for new run-time lengths or strides. GPU tests are skipped by name where PyTorch or a CUDA
device is missing, as in test_gpu.py; the signature test needs PyTorch with draftjit's operators only."""

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
NEGATIVE_EXTEND_LEN, POOL_INDEX_OUT_OF_RANGE, INT32_OVERFLOW, CAPACITY_EXCEEDED, TOTAL_MISMATCH, NEGATIVE_SEQ_LEN = (
    draftjit.DSA_STATUS_BITS[key] for key in ("negative_extend_len", "pool_index_out_of_range", "int32_overflow",
                                              "capacity_exceeded", "total_mismatch", "negative_seq_len"))

# Upstream SGLang's parameters (sglang/kernels/ops/attention/dsa_kpool_metadata/{decode,verify,draft_extend}.py, the
# versions with index_kpool), in order, with their defaults; draftjit adds a keyword-only status after them.
NO_DEFAULT = inspect.Parameter.empty
UPSTREAM = {
    "decode": ("fused_dsa_decode_metadata", [
        "seq_lens", "req_pool_indices", "req_to_token", "cache_seqlens", "cu_seqlens_k", "page_table_1",
        "dsa_cache_seqlens", "dsa_cu_seqlens_k", "real_page_table", "bs", "max_len", "dsa_index_topk",
        "real_page_size", ("index_kpool", 1)]),
    "verify": ("fused_dsa_target_verify_metadata", [
        "seq_lens", "req_pool_indices", "req_to_token", "cache_seqlens", "cu_seqlens_k", "page_table_1",
        "seqlens_expanded", "dsa_cache_seqlens", "dsa_cu_seqlens_k", "real_page_table", "bs", "max_seqlen_k",
        "dsa_index_topk", "real_page_size", "next_n", ("paged_mqa_ctx_lens_2d", None), ("index_kpool", 1)]),
    "extend": ("fused_dsa_draft_extend_metadata", [
        "seq_lens", "extend_seq_lens", "req_pool_indices", "req_to_token", "cache_seqlens", "cu_seqlens_k",
        "page_table_1", "seqlens_expanded", "dsa_cache_seqlens", "dsa_cu_seqlens_k", "real_page_table", "bs",
        "total_len", "max_seqlen_k", "dsa_index_topk", "real_page_size", "max_extend_len", "max_total_len",
        ("static_extend_len", False), ("index_kpool", 1)]),
}


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


def reference(mode, seq, pool, r2t, bound, topk, page_size, kpool, next_n=1, ext=None):
    """What a call writes, in int64: the per-request, per-row and per-table values, each the entries from the
    start of its output (tables: the top-left rows x bound block; real_page_table rows x ceil(bound / P))."""
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
    pages = r2t[np.asarray(pool, dtype=np.int64)[owner], :bound].astype(np.int64)
    out.update(cache_seqlens=cache, cu_seqlens_k=prefix(cache), dsa_cache_seqlens=dsa, dsa_cu_seqlens_k=prefix(dsa),
               page_table_1=pages.reshape(owner.size, bound))
    if page_size > 1:
        out["real_page_table"] = pages[:, ::page_size].reshape(owner.size, -(-bound // page_size)) // page_size
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


class Case:
    """One call's inputs on the GPU and its poisoned outputs: bs requests of mode with the switches asked for; the
    page tables' bound (max_len or max_seqlen_k) is `bound`, req_to_token has 7 columns past it and 3 rows past bs,
    the per-row outputs hold the mode's rows (draft extend: `slack` more), every table one column past its bound."""

    def __init__(self, mode, bs, rng, *, seq_dtype=np.int32, pool_dtype=np.int64, page_size=1, kpool=0,
                 ctx_lens=False, layout="contiguous", bound=300, next_n=2, topk=150, max_ext=4, ext=None, slack=5):
        self.mode, self.bs, self.rng = mode, bs, rng
        self.seq_dtype, self.pool_dtype = seq_dtype, pool_dtype
        self.page_size, self.kpool, self.layout, self.bound, self.next_n, self.topk = (
            page_size, kpool, layout, bound, next_n, topk)
        self.pool_rows = bs + 3
        self.max_ext = max_ext
        self.ext_h = None
        if mode == "extend":
            self.ext_h = (rng.integers(0, max_ext + 1, size=bs) if ext is None else np.asarray(ext)).astype(np.int32)
        self.new_values()
        self.rows = bs if mode == "decode" else bs * next_n if mode == "verify" else self.total
        self.capacity = self.rows + (slack if mode == "extend" else 0)

        self.seq = cuda(self.seq_h.astype(seq_dtype))
        self.pool = cuda(self.pool_h.astype(pool_dtype))
        self.ext = cuda(self.ext_h) if mode == "extend" else None
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
            self.seq_h = self.ext_h.astype(np.int64) + rng.integers(0, self.bound + 1, size=bs)
            self.seq_h[::7] = 1  # padded graph rows: seq_len 1, below their extend length
            self.total = int(self.ext_h.sum())
        else:
            self.seq_h = rng.integers(0, self.bound + 1, size=bs)
        self.pool_h = rng.permutation(self.pool_rows)[:bs]

    def upload(self):
        self.seq.copy_(cuda(self.seq_h.astype(self.seq_dtype)))
        self.pool.copy_(cuda(self.pool_h.astype(self.pool_dtype)))
        self.req_to_token.copy_(cuda(self.r2t_h))
        if self.ext is not None:
            self.ext.copy_(cuda(self.ext_h))

    def outputs(self):
        return [o for o in (self.cache, self.cu, self.expanded, self.dsa, self.dsa_cu, self.page, self.real,
                            self.ctx) if o is not None]

    def poison(self):
        for output in self.outputs():
            output.poison()
        self.words.fill_(POISON)

    def named(self):
        """Every upstream argument by name, and status."""
        real = self.real.view if self.real is not None else self.page.view  # upstream's page_table_1 when P == 1
        args = dict(seq_lens=self.seq, req_pool_indices=self.pool, req_to_token=self.req_to_token,
                    cache_seqlens=self.cache.view, cu_seqlens_k=self.cu.view, page_table_1=self.page.view,
                    dsa_cache_seqlens=self.dsa.view, dsa_cu_seqlens_k=self.dsa_cu.view, real_page_table=real,
                    bs=self.bs, dsa_index_topk=self.topk, real_page_size=self.page_size, index_kpool=self.kpool,
                    status=self.words[:1])
        if self.mode == "decode":
            args.update(max_len=self.bound)
        elif self.mode == "verify":
            args.update(seqlens_expanded=self.expanded.view, max_seqlen_k=self.bound, next_n=self.next_n,
                        paged_mqa_ctx_lens_2d=None if self.ctx is None else self.ctx.view)
        else:
            args.update(extend_seq_lens=self.ext, seqlens_expanded=self.expanded.view, total_len=self.total,
                        max_seqlen_k=self.bound, max_extend_len=max(self.max_ext, 1), max_total_len=self.capacity,
                        static_extend_len=False)
        return args

    def call(self, **overrides):
        """The sglang function, upstream's arguments positional (as upstream's callers pass them), status by
        keyword."""
        name, _ = UPSTREAM[self.mode]
        args = {**self.named(), **overrides}
        positional = [args.pop(p) for p, _ in upstream_parameters(self.mode)]
        getattr(sglang, name)(*positional, **args)

    def op_args(self):
        """The torch op's arguments, in its schema's order (real_page_table None when P == 1, as sglang passes)."""
        a = self.named()
        real = a["real_page_table"] if self.page_size > 1 else None
        head = [a["seq_lens"]] + ([a["extend_seq_lens"]] if self.mode == "extend" else []) + [
            a["req_pool_indices"], a["req_to_token"], a["cache_seqlens"], a["cu_seqlens_k"], a["page_table_1"]]
        head += [a["seqlens_expanded"]] if self.mode != "decode" else []
        head += [a["dsa_cache_seqlens"], a["dsa_cu_seqlens_k"], real, self.bs]
        if self.mode == "decode":
            return (*head, self.bound, self.topk, self.page_size, self.kpool, a["status"])
        if self.mode == "verify":
            return (*head, self.bound, self.topk, self.page_size, self.next_n, a["paged_mqa_ctx_lens_2d"], self.kpool,
                    a["status"])
        return (*head, self.total, self.bound, self.topk, self.page_size, self.kpool, a["status"])

    def op(self):
        ops = torch.ops.draftjit
        return {"decode": ops.dsa_decode_metadata, "verify": ops.dsa_target_verify_metadata,
                "extend": ops.dsa_draft_extend_metadata}[self.mode].default

    def prepare(self):
        draftjit.prepare_dsa(PREPARE_NAMES[self.mode], self.bs, seq_lens_dtype=np.dtype(self.seq_dtype).name,
                             req_pool_indices_dtype=np.dtype(self.pool_dtype).name, real_page_size=self.page_size,
                             index_kpool=self.kpool, paged_mqa_ctx_lens_2d=self.ctx is not None)

    def check(self):
        want = reference(self.mode, self.seq_h, self.pool_h, self.r2t_h, self.bound, self.topk, self.page_size,
                         self.kpool, self.next_n, self.ext_h)
        self.cache.expect(want["cache_seqlens"], "cache_seqlens")
        self.cu.expect(want["cu_seqlens_k"], "cu_seqlens_k")
        self.dsa.expect(want["dsa_cache_seqlens"], "dsa_cache_seqlens")
        self.dsa_cu.expect(want["dsa_cu_seqlens_k"], "dsa_cu_seqlens_k")
        self.page.expect(want["page_table_1"], "page_table_1")
        if self.expanded is not None:
            self.expanded.expect(want["seqlens_expanded"], "seqlens_expanded")
        if self.real is not None:
            self.real.expect(want["real_page_table"], "real_page_table")
        if self.ctx is not None:
            self.ctx.expect(want["paged_mqa_ctx_lens_2d"], "paged_mqa_ctx_lens_2d")
        assert self.words.tolist() == [0, POISON], "status"

    def check_untouched(self, status=POISON):
        for output, name in ((self.cache, "cache_seqlens"), (self.cu, "cu_seqlens_k"), (self.expanded, "expanded"),
                             (self.dsa, "dsa_cache_seqlens"), (self.dsa_cu, "dsa_cu_seqlens_k"),
                             (self.page, "page_table_1"), (self.real, "real_page_table"),
                             (self.ctx, "paged_mqa_ctx_lens_2d")):
            if output is not None:
                output.expect(np.zeros((0, 0)) if isinstance(output, Table) else [], name)
        assert self.words.tolist() == [status, POISON], f"status {self.words.tolist()}, expected {status}"


# The switches, each value in two combinations: (seq_lens dtype, req_pool_indices dtype, real_page_size,
# index_kpool, layout, paged_mqa_ctx_lens_2d given).
COMBOS = [
    (np.int32, np.int64, 1, 0, "contiguous", False),
    (np.int64, np.int64, 64, 0, "sliced", True),
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


@needs_gpu
@pytest.mark.parametrize("mode", MODES)
def test_pooled_lengths_and_topk_at_the_edges(mode):
    rng = np.random.default_rng(7)
    for kpool, topk in ((4, 0), (4, 1), (3, 64), (64, 64), (1, 5), (0, 1 << 30)):
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
    want = reference("verify", short.seq_h, short.pool_h, short.r2t_h, short.bound, short.topk, 1, 0, short.next_n)
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

    return [
        ("decode", {}, negative_seq_len, NEGATIVE_SEQ_LEN),
        ("extend", {}, negative_seq_len, NEGATIVE_SEQ_LEN),
        ("verify", {"seq_dtype": np.int64}, seq_len_past_int32, INT32_OVERFLOW),
        ("decode", {}, pool_index_past_the_rows, POOL_INDEX_OUT_OF_RANGE),
        ("verify", {"pool_dtype": np.int32}, negative_pool_index, POOL_INDEX_OUT_OF_RANGE),
        ("extend", {}, pool_index_past_int32, POOL_INDEX_OUT_OF_RANGE),
        ("decode", {"seq_dtype": np.int64}, cu_seqlens_k_past_int32, INT32_OVERFLOW),
        ("extend", {"ext": [1, 2, 3, 4, 1, 2]}, negative_extend_len, NEGATIVE_EXTEND_LEN),
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
        ("extend", lambda c: {"extend_seq_lens": c.ext.long()}, "extend_seq_lens must be int32, got torch.int64"),
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
        ("decode", lambda c: {"real_page_table": None}, "real_page_table is required when real_page_size = 64 > 1"),
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


@needs_gpu
@pytest.mark.parametrize("bs", [5, 64])
@pytest.mark.parametrize("mode", MODES)
def test_graph_capture_and_replay_with_new_inputs(mode, bs):
    rng = np.random.default_rng(bs)
    case = case_of(mode, bs, COMBOS[1], rng)
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
    for bound, layout, max_ext in ((77, "contiguous", 2), (1000, "sliced", 6), (0, "transposed", 1),
                                   (4097, "sliced", 3)):
        case = case_of(mode, 12, COMBOS[2][:4] + (layout,) + COMBOS[2][5:], rng, bound=bound, max_ext=max_ext)
        case.call()
        case.check()
    assert draftjit.stats() == before  # new max_len / max_seqlen_k, total_len, strides and capacities: warm calls


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


@needs_ops
@pytest.mark.parametrize("mode", MODES)
def test_sglang_signatures_are_upstreams(mode):
    name, _ = UPSTREAM[mode]
    parameters = list(inspect.signature(getattr(sglang, name)).parameters.values())
    upstream = upstream_parameters(mode)
    assert [(p.name, p.default) for p in parameters[:len(upstream)]] == upstream
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters[:len(upstream)])
    assert [(p.name, p.kind, p.default) for p in parameters[len(upstream):]] == [
        ("status", inspect.Parameter.KEYWORD_ONLY, None)]
