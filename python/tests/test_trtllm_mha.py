"""TRTLLM-MHA graph metadata (draftjit.sglang.update_trtllm_mha_graph_metadata,
torch.ops.draftjit.trtllm_mha_graph_metadata and draftjit.trtllm_mha_graph_metadata) against a NumPy reference
written from docs/BACKENDS.md section 1, and, where DRAFTJIT_UPSTREAM_SGLANG names upstream's files, against upstream
SGLang's own Triton kernel bit for bit.

Every output is poisoned before each call and compared whole afterwards: entries past bs, cu_seqlens_*[0], page-table
columns past each row's live pages and rows past bs, the padding of sliced and transposed tables and a guard tail
behind each 1-D output keep their poison (or, across calls without poisoning, their stale values). The inputs are
checked unchanged. Covered: bs 0 to 65536; every switch set (seq_lens, req_pool_indices and qlens dtypes, q_mode,
swa_page_table, swa_out_cache_loc, skip_page_table); page sizes 1, 16 and 64; seqlen_offset 0, 1 and 3 (and negative,
and past int32); padded graph rows; short sequences in 131072-token tables; lengths past the bound; -1 tokens and
negative swa_mapping values; int32 wrap-around of lengths and sums; swa_out_cache_loc shorter and longer than
out_cache_loc; the arguments upstream ignores; strided 1-D inputs and sliced or transposed tables (draftjit only);
bad data draftjit guards (pool indices outside req_to_token, tokens and locations past swa_mapping: left untouched);
CUDA graph capture after prepare (one kernel node) and replay with new inputs; no compile for new bs, lengths,
widths, page sizes or strides; opcheck; argument errors naming the argument with nothing written; the
__cuda_array_interface__ path. Without PyTorch or a CUDA device the GPU tests are skipped by name, as in test_dsa.py;
without a GPU a CPU test checks that bad arguments are refused before the driver."""

import ctypes
import dataclasses
import inspect
import itertools
import os
import re
import warnings
import zlib

import numpy as np
import pytest

import draftjit
import upstream_sglang
import upstream_trtllm_mha
from test_cpu import FakeArray

from gpu_marks import HAVE_GPU, HAVE_OPS, needs_gpu, needs_ops, torch

if HAVE_OPS:
    from draftjit import sglang

KIND = "trtllm-mha"
OP_NAME = "trtllm_mha_graph_metadata"
# bs's range, as the op's description gives it (ops/trtllm_mha/ops.hpp)
MAX_BS = next(top for name, _, _, top in next(arguments for op, _, _, arguments in draftjit._core.op_descriptions()
                                             if op == OP_NAME) if name == "bs")
POISON = {np.dtype(np.int32): 0x7F7F7F7F, np.dtype(np.int64): 0x7F7F7F7F7F7F7F7F}  # no length, page or loc
GUARD = 8          # poisoned entries behind each 1-D output
SEQ_GAP = 77       # what the gaps of a strided seq_lens hold: read by mistake, it changes lengths
POOL_GAP = 1       # ... of req_pool_indices: another row
QLEN_GAP = 5       # ... of qlens: another prefix

# The drop-in's and the op's arguments, in upstream's order (keyword-only there, positional in the op), with
# upstream's defaults (NO_DEFAULT: required).
NO_DEFAULT = inspect.Parameter.empty
ARGUMENTS = [
    ("req_pool_indices", NO_DEFAULT), ("seq_lens", NO_DEFAULT), ("req_to_token", NO_DEFAULT),
    ("cache_seqlens", NO_DEFAULT), ("cu_seqlens_k", NO_DEFAULT), ("page_table", NO_DEFAULT), ("bs", NO_DEFAULT),
    ("seqlen_offset", NO_DEFAULT), ("max_seq_pages", NO_DEFAULT), ("page_size", NO_DEFAULT), ("swa_mapping", None),
    ("swa_page_table", None), ("out_cache_loc", None), ("swa_out_cache_loc", None), ("cu_seqlens_q", None),
    ("qlens", None), ("q_stride", 0), ("q_mode", 0), ("skip_page_table", False)]
NAMES = [name for name, _ in ARGUMENTS]
WRITTEN = {"cache_seqlens", "cu_seqlens_k", "page_table", "swa_page_table", "swa_out_cache_loc", "cu_seqlens_q"}
SCHEMA = ("trtllm_mha_graph_metadata(Tensor req_pool_indices, Tensor seq_lens, Tensor req_to_token, "
          "Tensor(a!) cache_seqlens, Tensor(b!) cu_seqlens_k, Tensor(c!)? page_table, int bs, int seqlen_offset, "
          "int max_seq_pages, int page_size, Tensor? swa_mapping, Tensor(d!)? swa_page_table, Tensor? out_cache_loc, "
          "Tensor(e!)? swa_out_cache_loc, Tensor(f!)? cu_seqlens_q, Tensor? qlens, int q_stride, int q_mode, "
          "int skip_page_table) -> ()")


# --- the reference: docs/BACKENDS.md, "1. TRTLLM-MHA graph metadata" ---------------------------------------------

def wrap32(values):
    """int64 values taken mod 2^32 as int32 (two's complement), kept in int64: every int32 add upstream does wraps."""
    values = np.asarray(values, dtype=np.int64)
    return ((values + 2**31) % 2**32) - 2**31


def trunc_div(values, divisor):
    """values / divisor truncated toward zero, as C and Triton's `//` on integers (divisor > 0): -1 // 64 == 0."""
    values = np.asarray(values, dtype=np.int64)
    return np.where(values < 0, -((-values) // divisor), values // divisor)


def reference(bs, seq_lens, req_pool_indices, req_to_token, seqlen_offset, max_seq_pages, page_size, *,
              cache_seqlens, cu_seqlens_k, page_table=None, swa_mapping=None, swa_page_table=None,
              out_cache_loc=None, swa_out_cache_loc=None, cu_seqlens_q=None, qlens=None, q_stride=0, q_mode=0,
              skip_page_table=False):
    """Writes into the output views (NumPy) what one call writes and nothing else; inputs are NumPy arrays of
    values (entries past bs unread). Bad data that draftjit guards (a pool index outside req_to_token's rows, a
    token or location at or past swa_mapping's entries) leaves its entries as they were."""
    if bs == 0:
        return  # nothing launched
    P, M = page_size, max_seq_pages
    lengths = wrap32(np.asarray(seq_lens[:bs], dtype=np.int64) + seqlen_offset % 2**32)  # int32(seq + offset)
    cache_seqlens[:bs] = lengths
    cu_seqlens_k[1:bs + 1] = wrap32(np.cumsum(lengths))  # [0] never written
    if q_mode == 1:
        cu_seqlens_q[1:bs + 1] = wrap32(np.cumsum(wrap32(qlens[:bs])))
    elif q_mode == 2:
        cu_seqlens_q[1:bs + 1] = wrap32(np.arange(1, bs + 1, dtype=np.int64) * (q_stride % 2**32))
    if not skip_page_table and M > 0:
        rows, width = req_to_token.shape
        assert (M - 1) * P < width, "the argument check refuses this"
        live = np.minimum(trunc_div(wrap32(lengths + P - 1), P), M)  # int32 cdiv: the add wraps, // truncates
        pool = np.asarray(req_pool_indices[:bs], dtype=np.int64)
        inside = (pool >= 0) & (pool < rows)
        written = (np.arange(M)[None, :] < live[:, None]) & inside[:, None]
        tokens = req_to_token[np.where(inside, pool, 0)[:, None], (np.arange(M) * P)[None, :]].astype(np.int64)
        block = page_table[:bs, :M]
        block[written] = trunc_div(tokens, P)[written]
        if swa_page_table is not None:
            entries = len(swa_mapping)
            mapped = np.asarray(swa_mapping, dtype=np.int64)[np.clip(tokens, 0, entries - 1)]
            value = np.where((tokens < 0) | (mapped < 0), -1, wrap32(trunc_div(mapped, P)))
            known = written & (tokens < entries)
            block = swa_page_table[:bs, :M]
            block[known] = value[known]
    if swa_out_cache_loc is not None:
        S = len(swa_out_cache_loc)
        real = min(S, len(out_cache_loc)) if out_cache_loc is not None else 0
        if real:
            entries = len(swa_mapping)
            loc = np.asarray(out_cache_loc[:real], dtype=np.int64)
            value = np.where(loc < 0, -1, np.asarray(swa_mapping, dtype=np.int64)[np.clip(loc, 0, entries - 1)])
            known = loc < entries
            head = swa_out_cache_loc[:real]
            head[known] = value[known]
        swa_out_cache_loc[real:S] = 0


def test_reference_on_a_worked_example():
    """The oracle itself, on values worked out by hand from docs/BACKENDS.md section 1 (no GPU needed)."""
    p = POISON[np.dtype(np.int32)]
    r2t = np.full((3, 12), 999, dtype=np.int32)
    r2t[0, 0], r2t[0, 4] = 8, -1
    r2t[1, 0], r2t[1, 4], r2t[1, 8] = 13, 17, 23
    r2t[2, 0] = -5
    mapping = np.zeros(30, dtype=np.int64)
    mapping[8], mapping[13], mapping[17], mapping[23] = 3, -7, 9, 2**33 + 5
    out = dict(cache_seqlens=np.full(4, p), cu_seqlens_k=np.full(5, p), page_table=np.full((4, 4), p),
               swa_page_table=np.full((4, 4), p), swa_out_cache_loc=np.full(5, p, dtype=np.int64),
               cu_seqlens_q=np.full(5, p))
    # lengths 1, 5, 12 -> 1, 2, 3 pages of 4 (max 3); pool 2, 0, 1; qlens int32 of 2, 2^32 + 1, 5 = 2, 1, 5
    reference(3, [0, 4, 11, 50], [2, 0, 1, 7], r2t, 1, 3, 4, swa_mapping=mapping, out_cache_loc=[8, -1, 13],
              qlens=[2, 2**32 + 1, 5], q_mode=1, **out)
    assert out["cache_seqlens"].tolist() == [1, 5, 12, p]
    assert out["cu_seqlens_k"].tolist() == [p, 1, 6, 18, p]
    assert out["cu_seqlens_q"].tolist() == [p, 2, 3, 8, p]
    # -5 // 4 == -1 and -1 // 4 == 0 (truncation); 2^33 + 5 // 4 = 2^31 + 1, whose int32 is -2^31 + 1
    assert out["page_table"].tolist() == [[-1, p, p, p], [2, 0, p, p], [3, 4, 5, p], [p, p, p, p]]
    assert out["swa_page_table"].tolist() == [[-1, p, p, p], [0, -1, p, p], [-1, 2, -2**31 + 1, p], [p, p, p, p]]
    # a negative location gives -1, a negative mapping is copied as it is, past out_cache_loc: 0
    assert out["swa_out_cache_loc"].tolist() == [3, -1, -7, 0, 0]
    strided = np.full(4, p)
    reference(2, [0, 0], [0, 0], r2t, 0, 0, 4, cache_seqlens=np.full(2, p), cu_seqlens_k=np.full(3, p),
              cu_seqlens_q=strided, q_stride=2**32 + 3, q_mode=2)
    assert strided.tolist() == [p, 3, 6, p]
    # int32 cdiv: 2^31 - 1 + 63 wraps negative (no page), 2^31 - 64 + 63 does not (every page, clipped to 3)
    table = np.full((2, 3), p)
    reference(2, [2**31 - 1, 2**31 - 64], [0, 1], np.arange(400, dtype=np.int32).reshape(2, 200), 0, 3, 64,
              cache_seqlens=np.full(2, p), cu_seqlens_k=np.full(3, p), page_table=table)
    assert table.tolist() == [[p, p, p], [200 // 64, 264 // 64, 328 // 64]]
    nothing = {name: value.copy() for name, value in out.items()}
    reference(0, [], [], r2t, 0, 3, 4, swa_mapping=mapping, out_cache_loc=[], qlens=[], q_mode=1, **nothing)
    assert all(np.array_equal(nothing[name], out[name]) for name in out)


# --- switch sets ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Switches:
    """What picks the kernel: seq_lens int64, req_pool_indices int32, q_mode (qlens int64 with Q_MODE_CUMSUM), and
    which of swa_page_table, swa_out_cache_loc and skip_page_table a call has."""
    seq64: bool = False
    pool32: bool = False
    q_mode: int = 0
    q64: bool = False
    swa: bool = False
    swa_out: bool = False
    skip: bool = False

    def names(self):
        """The switches of prepare(kind="trtllm-mha")."""
        return [name for name, on in (("seq64", self.seq64), ("pool32", self.pool32), ("q64", self.q64),
                                      ("qcumsum", self.q_mode == 1), ("qstrided", self.q_mode == 2),
                                      ("swa", self.swa), ("swaout", self.swa_out), ("skip", self.skip)) if on]

    def id(self):
        return "-".join(self.names()) or "plain"


Q_VARIANTS = ((0, False), (1, False), (1, True), (2, False))
TABLES = ("plain", "swa", "skip")  # swa_page_table is not written with skip_page_table
ALL_SWITCHES = [Switches(seq64, pool32, q_mode, q64, tables == "swa", swa_out, tables == "skip")
                for seq64, pool32, (q_mode, q64), tables, swa_out in itertools.product(
                    (False, True), (False, True), Q_VARIANTS, TABLES, (False, True))]
FULL = Switches(seq64=True, pool32=True, q_mode=1, q64=True, swa=True, swa_out=True)
LAYOUTS = ("contiguous", "sliced", "transposed")


# --- device buffers ------------------------------------------------------------------------------------------

def torch_dtype(dtype):
    return getattr(torch, np.dtype(dtype).name)


def device_copy(host, dtype):
    return torch.from_numpy(np.ascontiguousarray(np.asarray(host).astype(dtype))).cuda()


def layout_shape(rows, cols, layout):
    return {"contiguous": (rows, cols), "sliced": (rows + 3, cols + 5), "transposed": (cols, rows)}[layout]


def layout_view(base, rows, cols, layout):
    """The rows x cols view of base (a torch tensor or a NumPy array; both slice and transpose alike): contiguous; a
    slice of a wider, taller tensor (a longer row stride, a storage offset); a transposed tensor (column stride past
    one, which upstream does not take)."""
    if layout == "contiguous":
        return base
    if layout == "sliced":
        return base[1:1 + rows, 2:2 + cols]
    return base.T


def strided_input(host, dtype, stride, gap):
    """A device copy of a 1-D host array; stride > 1: every stride-th element of a larger tensor whose gaps hold
    `gap`."""
    if stride == 1:
        return device_copy(host, dtype)
    base = torch.full((max(len(host) * stride, 1),), gap, dtype=torch_dtype(dtype), device="cuda")
    view = base[::stride][:len(host)]
    view.copy_(device_copy(host, dtype))
    return view


class Output:
    """An output: a poisoned device tensor (a guard tail behind a 1-D view, a table's padding in its layout) and the
    host's copy of what the whole tensor must hold, which reference() updates through the same view."""

    def __init__(self, shape, dtype, layout="contiguous"):
        self.shape, self.layout, self.dtype = shape, layout, np.dtype(dtype)
        self.poison_value = POISON[self.dtype]
        base_shape = (shape[0] + GUARD,) if len(shape) == 1 else layout_shape(*shape, layout)
        self.base = torch.full(base_shape, self.poison_value, dtype=torch_dtype(dtype), device="cuda")
        self.host = np.full(base_shape, self.poison_value, dtype=self.dtype)
        self.view = self.select(self.base)

    def select(self, base):
        return base[:self.shape[0]] if len(self.shape) == 1 else layout_view(base, *self.shape, self.layout)

    def host_view(self):
        return self.select(self.host)

    def poison(self):
        self.base.fill_(self.poison_value)
        self.host.fill(self.poison_value)


def first_difference(name, got, want):
    bad = np.argwhere(np.asarray(got) != np.asarray(want))
    if not bad.size:
        return None
    where = tuple(int(i) for i in bad[0])
    return f"{name}{list(where)} = {got[where]}, expected {want[where]} ({len(bad)} cells differ)"


class Case:
    """One call's inputs on the GPU and its poisoned outputs, with the host values reference() reads.

    bs requests; sw the switch set; page_size P, pages = max_seq_pages M; req_to_token has `width` columns (default
    M * P + 3) and pool_rows rows; 1-D inputs hold `extra` entries past bs (never read) and are every stride-th
    element of a larger tensor when stride > 1; every table has 2 rows past bs and 3 columns past M, in `layout`
    (req_to_token in r2t_layout); cache_seqlens holds bs + 2 entries and cu_seqlens_* bs + 3, so entries past what
    is written must keep their poison. swa_out_cache_loc holds S entries (default bs) and out_cache_loc n_out
    (default bs; None: not passed). lengths: "mixed" (padded graph rows of seq_len 1 at pool index 0, zeros,
    short, page boundaries, past the bound), "short" (<= 3000 tokens), "long" (>= half the bound, some past it),
    "padded" (mostly padded rows), "negative" (defined upstream: no pages) or "wrap" (near and past int32).
    tokens: "mixed" (a few negative), "minus" (a third negative), "wide" (up to int32's max; without SWA),
    "inside" (none negative).
    give: arguments passed though upstream ignores them ("cu_q", "qlens", "mapping", "out"; "swa_under_skip": a
    swa_page_table and swa_mapping with skip_page_table). bad: data upstream leaves undefined, draftjit guards
    ("pool": pool indices outside req_to_token, "token": tokens past swa_mapping, "loc": locations past it)."""

    INPUTS = ("seq", "pool", "r2t", "qlens", "swa_mapping", "out")  # the input tensors, by attribute (None: absent)

    def __init__(self, bs, rng, sw=Switches(), *, page_size=16, offset=0, pages=20, width=None, lengths="mixed",
                 layout="contiguous", r2t_layout=None, stride=1, extra=2, pool_rows=None, swa_size=None, S=None,
                 n_out="bs", q_stride=None, tokens="mixed", page_table=True, give=(), bad=()):
        self.bs, self.rng, self.sw = bs, rng, sw
        self.P, self.offset, self.M = page_size, offset, pages
        self.W = width if width is not None else (pages * page_size + 3 if pages > 0 else 5)
        self.lengths, self.tokens, self.give, self.bad = lengths, tokens, set(give), set(bad)
        self.stride, self.n = stride, bs + extra
        self.pool_rows = pool_rows if pool_rows is not None else min(bs, 256) + 3
        self.swa_size = swa_size if swa_size is not None else 4096 + page_size + 1  # upstream's full + P + 1
        self.S = (bs if S is None else S) if sw.swa_out else None
        self.n_out = bs if n_out == "bs" else n_out
        self.q_stride = int(rng.integers(0, 9)) if q_stride is None else q_stride
        self.seq_dtype = np.int64 if sw.seq64 else np.int32
        self.pool_dtype = np.int32 if sw.pool32 else np.int64
        self.qlens_dtype = np.int64 if sw.q64 else np.int32
        self.with_map = sw.swa or sw.swa_out or bool(self.give & {"mapping", "swa_under_skip"})
        self.with_qlens = sw.q_mode == 1 or "qlens" in self.give
        self.with_out = self.n_out is not None and (sw.swa_out or "out" in self.give)
        self.new_values()

        self.seq, self.pool, self.r2t = self.device_inputs(r2t_layout or layout)
        self.qlens = strided_input(self.qlens_h, self.qlens_dtype, stride, QLEN_GAP) if self.with_qlens else None
        self.swa_mapping = device_copy(self.map_h, np.int64) if self.with_map else None
        self.out = device_copy(self.out_h, np.int64) if self.with_out else None

        rows, cols = bs + 2, pages + 3
        self.outputs = {"cache_seqlens": Output((bs + 2,), np.int32), "cu_seqlens_k": Output((bs + 3,), np.int32)}
        if page_table:
            self.outputs["page_table"] = Output((rows, cols), np.int32, layout)
        if sw.swa or "swa_under_skip" in self.give:
            self.outputs["swa_page_table"] = Output((rows, cols), np.int32, layout)
        if sw.swa_out:
            self.outputs["swa_out_cache_loc"] = Output((self.S,), np.int64)
        if sw.q_mode in (1, 2) or "cu_q" in self.give:
            self.outputs["cu_seqlens_q"] = Output((bs + 3,), np.int32)

    def device_inputs(self, r2t_layout):
        """seq_lens and req_pool_indices on the GPU (every stride-th element when stride > 1) and req_to_token in
        r2t_layout, from the host values."""
        base = torch.zeros(layout_shape(self.pool_rows, self.W, r2t_layout), dtype=torch.int32, device="cuda")
        r2t = layout_view(base, self.pool_rows, self.W, r2t_layout)
        r2t.copy_(device_copy(self.r2t_h, np.int32))
        return (strided_input(self.seq_h, self.seq_dtype, self.stride, SEQ_GAP),
                strided_input(self.pool_h, self.pool_dtype, self.stride, POOL_GAP), r2t)

    # host values ----------------------------------------------------------------------------------------------

    def _lengths(self):
        rng, P, n = self.rng, self.P, self.n
        top = max(self.M * P, 1)
        if self.lengths == "short":
            return rng.integers(1, min(3000, top) + 1, n)
        if self.lengths == "long":
            return rng.integers(top // 2, top + 2 * P + 1, n)
        if self.lengths == "negative":
            return rng.integers(-3 * P, 2 * P + 1, n)
        if self.lengths == "wrap":
            near = [2**31 - 1, 2**31 - P, 2**31 - P + 1, 2**31 - 2, -2**31, -2**31 + 1, 2**30, 0, 1, 5]
            if self.sw.seq64:
                near += [2**31, 2**32 + 5, 2**32 - 1, -2**31 - 1, 2**40 + 17, -2**40, 2**32 * 3 + P]
            return rng.choice(np.array(near, dtype=np.int64), n)
        if self.lengths == "padded":
            seq = np.ones(n, dtype=np.int64)
            seq[::5] = rng.integers(1, top + 1, len(seq[::5]))
            return seq
        boundary = rng.integers(1, max(self.M, 1) + 1, n) * P + rng.integers(-1, 2, n)
        parts = [np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64), rng.integers(1, 3 * P + 1, n), boundary,
                 rng.integers(0, top + 2 * P + 1, n)]
        return np.choose(rng.integers(0, len(parts), n), parts)

    def new_values(self):
        """New host inputs of the same shapes (upload() copies them into the same device buffers)."""
        rng, n, P = self.rng, self.n, self.P
        self.seq_h = self._lengths().astype(np.int64)
        self.pool_h = rng.integers(0, self.pool_rows, n)
        self.pool_h[self.seq_h == 1] = 0  # padded graph rows: seq_len 1 (the fill value) at pool index 0
        if "pool" in self.bad:
            outside = [self.pool_rows, -1, self.pool_rows + 100] + ([2**33, -2**40] if not self.sw.pool32 else
                                                                     [2**31 - 1, -2**31])
            picked = rng.random(n) < 0.3
            self.pool_h[picked] = rng.choice(np.array(outside, dtype=np.int64), int(picked.sum()))
        swa = self.sw.swa or "swa_under_skip" in self.give
        high = self.swa_size if swa else (2**31 - 1 if self.tokens == "wide" else 1 << 20)
        self.r2t_h = rng.integers(0, high, (self.pool_rows, self.W)).astype(np.int64)
        share = {"mixed": 0.05, "minus": 0.35, "wide": 0.05, "inside": 0.0}[self.tokens]
        negative = rng.random(self.r2t_h.shape) < share
        self.r2t_h[negative] = rng.choice(np.array([-1, -1, -1, -2, -P - 1, -2**31]), int(negative.sum()))
        if "token" in self.bad:
            past = rng.random(self.r2t_h.shape) < 0.1
            self.r2t_h[past] = self.swa_size + rng.integers(0, 1000, int(past.sum()))
        self.r2t_h = self.r2t_h.astype(np.int32)
        self.map_h = rng.integers(0, 1 << 20, self.swa_size)
        pick = rng.random(self.swa_size)
        self.map_h[pick < 0.1] = -1
        self.map_h[(pick >= 0.1) & (pick < 0.13)] = -int(rng.integers(2, 1000))
        self.map_h[(pick >= 0.13) & (pick < 0.15)] = 2**40 + int(rng.integers(0, 2**20))  # int32(m // P) wraps
        self.out_h = rng.integers(0, self.swa_size, self.n_out or 0)
        pick = rng.random(self.n_out or 0)
        self.out_h[pick < 0.1] = -1
        self.out_h[(pick >= 0.1) & (pick < 0.13)] = -int(rng.integers(2, 1 << 40))
        if "loc" in self.bad:
            self.out_h[pick > 0.8] = self.swa_size + rng.integers(0, 1000, int((pick > 0.8).sum()))
        self.qlens_h = rng.integers(0, 9, n)
        wide = rng.random(n) < 0.05
        self.qlens_h[wide] = (2**32 + rng.integers(0, 100, int(wide.sum())) if self.sw.q64 else
                              2**31 - 1 - rng.integers(0, 100, int(wide.sum())))

    def upload(self):
        self.seq.copy_(device_copy(self.seq_h, self.seq_dtype))
        self.pool.copy_(device_copy(self.pool_h, self.pool_dtype))
        if self.qlens is not None:
            self.qlens.copy_(device_copy(self.qlens_h, self.qlens_dtype))
        self.r2t.copy_(device_copy(self.r2t_h, np.int32))
        if self.swa_mapping is not None:
            self.swa_mapping.copy_(device_copy(self.map_h, np.int64))
        if self.out is not None:
            self.out.copy_(device_copy(self.out_h, np.int64))

    # calls ------------------------------------------------------------------------------------------------------

    def view(self, name):
        output = self.outputs.get(name)
        return None if output is None else output.view

    def named(self):
        """Every argument by upstream's name."""
        return dict(req_pool_indices=self.pool, seq_lens=self.seq, req_to_token=self.r2t,
                    cache_seqlens=self.view("cache_seqlens"), cu_seqlens_k=self.view("cu_seqlens_k"),
                    page_table=self.view("page_table"), bs=self.bs, seqlen_offset=self.offset,
                    max_seq_pages=self.M, page_size=self.P, swa_mapping=self.swa_mapping,
                    swa_page_table=self.view("swa_page_table"), out_cache_loc=self.out,
                    swa_out_cache_loc=self.view("swa_out_cache_loc"), cu_seqlens_q=self.view("cu_seqlens_q"),
                    qlens=self.qlens, q_stride=self.q_stride, q_mode=self.sw.q_mode, skip_page_table=self.sw.skip)

    def call(self, **overrides):
        """draftjit.sglang's drop-in, by keyword as upstream's callers pass it."""
        sglang.update_trtllm_mha_graph_metadata(**{**self.named(), **overrides})

    def op_args(self, **overrides):
        """The torch op's (and draftjit.trtllm_mha_graph_metadata's) arguments, in order."""
        named = {**self.named(), **overrides}
        named["skip_page_table"] = int(named["skip_page_table"])
        return tuple(named[name] for name in NAMES)

    def prepare(self):
        draftjit.prepare([self.bs], kind=KIND, switches=self.sw.names())

    # checks -----------------------------------------------------------------------------------------------------

    def poison(self):
        for output in self.outputs.values():
            output.poison()

    def expect(self):
        """Applies the reference's writes to the host copies."""
        views = {name: output.host_view() for name, output in self.outputs.items()}
        reference(self.bs, self.seq_h, self.pool_h, self.r2t_h, self.offset, self.M, self.P,
                  swa_mapping=self.map_h if self.with_map else None,
                  out_cache_loc=self.out_h if self.with_out else None,
                  qlens=self.qlens_h if self.with_qlens else None, q_stride=self.q_stride, q_mode=self.sw.q_mode,
                  skip_page_table=self.sw.skip, **views)

    def problems(self):
        """Every output against its host copy, whole, and every input against its host values."""
        torch.cuda.synchronize()
        found = [first_difference(name, output.base.cpu().numpy(), output.host)
                 for name, output in self.outputs.items()]
        inputs = [("seq_lens", self.seq, self.seq_h, self.seq_dtype), ("req_pool_indices", self.pool, self.pool_h,
                   self.pool_dtype), ("req_to_token", self.r2t, self.r2t_h, np.int32)]
        if self.qlens is not None:
            inputs.append(("qlens", self.qlens, self.qlens_h, self.qlens_dtype))
        if self.swa_mapping is not None:
            inputs.append(("swa_mapping", self.swa_mapping, self.map_h, np.int64))
        if self.out is not None:
            inputs.append(("out_cache_loc", self.out, self.out_h, np.int64))
        found += [first_difference(f"input {name}", tensor.cpu().numpy(), host.astype(dtype))
                  for name, tensor, host, dtype in inputs]
        return [problem for problem in found if problem]

    def check(self):
        self.expect()
        problems = self.problems()
        assert not problems, f"bs {self.bs} {self.sw.id()} P {self.P}: " + "; ".join(problems)

    def check_untouched(self):
        problems = self.problems()  # the host copies were not updated: every output must hold its poison
        assert not problems, "; ".join(problems)


def run_twice(case, call=None):
    """A call checked against the reference, then the same call on new values in the same buffers, poisoned."""
    (call or case.call)()
    case.check()
    case.new_values()
    case.upload()
    case.poison()
    (call or case.call)()
    case.check()


# --- GPU: results against the reference ---------------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("sw", ALL_SWITCHES, ids=Switches.id)
def test_every_switch_set_matches_the_reference(sw):
    """All 96 switch sets, at bs 7 (prefixes in one warp) and 45 (a block scan), with the page size, offset,
    layouts and input strides rotating."""
    index = ALL_SWITCHES.index(sw)
    for bs in (7, 45):
        rng = np.random.default_rng(index * 100 + bs)
        case = Case(bs, rng, sw, page_size=(1, 16, 64)[index % 3], offset=(0, 1, 3)[(index // 3) % 3],
                    layout=LAYOUTS[index % 3], r2t_layout=LAYOUTS[(index // 2) % 3], stride=1 + index % 3)
        run_twice(case)


BATCH_SIZES = (0, 1, 2, 7, 31, 32, 33, 63, 64, 65, 255, 256, 257, 1000, 4096, 65536)


@needs_gpu
@pytest.mark.parametrize("bs", BATCH_SIZES)
def test_batch_sizes_match_the_reference(bs):
    assert MAX_BS >= 65536
    index = BATCH_SIZES.index(bs)
    sw = ALL_SWITCHES[(index * 41 + 7) % len(ALL_SWITCHES)]
    pages = 40 if bs <= 1000 else 12 if bs <= 4096 else 4
    case = Case(bs, np.random.default_rng(bs), sw, page_size=(16, 64, 1)[index % 3],
                offset=(0, 1, 3)[(index // 3) % 3], pages=pages, layout=("contiguous", "sliced")[index % 2])
    run_twice(case)
    full = Case(bs, np.random.default_rng(bs + 1), FULL, page_size=64, offset=1, pages=pages, stride=2)
    run_twice(full)


@needs_gpu
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("page_size", [16, 64])
def test_short_sequences_in_wide_tables_keep_their_tails(page_size, layout):
    """131072-token tables (max_seq_pages 8192 or 2048), lengths at most 3000 + 3: nothing is written past
    cdiv(3003, P) columns of either table."""
    sw = Switches(swa=True, swa_out=True)
    case = Case(9, np.random.default_rng(page_size), sw, page_size=page_size, offset=3, pages=131072 // page_size,
                width=131072, lengths="short", layout=layout)
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
    sw = Switches(swa=True, q_mode=2)
    case = Case(33, np.random.default_rng(page_size + 5), sw, page_size=page_size, pages=64, lengths="long")
    case.call()
    case.check()
    case.lengths = "short"
    case.new_values()
    case.seq_h = np.minimum(case.seq_h, 3 * page_size)
    case.upload()
    case.call()
    case.check()  # the host copies still hold the first call's cells past the new live prefixes


@needs_gpu
@pytest.mark.parametrize("offset", [0, 1, 3])
@pytest.mark.parametrize("page_size", [1, 16, 64])
def test_padded_graph_rows(page_size, offset):
    """Rows padded as SGLang's graph runner pads them (seq_len 1, pool index 0) rewrite page 0 of pool row 0."""
    sw = Switches(swa=True, swa_out=True, q_mode=1)
    case = Case(40, np.random.default_rng(page_size * 10 + offset), sw, page_size=page_size, offset=offset,
                lengths="padded", S=45, n_out=33)
    run_twice(case)


@needs_gpu
@pytest.mark.parametrize("lengths, sw, offset", [
    ("negative", Switches(swa=True), -3),
    ("negative", Switches(seq64=True, q_mode=1), 0),
    ("wrap", Switches(q_mode=1, swa=True), 3),
    ("wrap", Switches(seq64=True, q_mode=1, q64=True, swa_out=True), 1),
    ("wrap", Switches(seq64=True, pool32=True, skip=True, q_mode=2), 0),
], ids=["negative-offset", "negative-seq64", "wrap-int32", "wrap-int64", "wrap-skip"])
def test_negative_lengths_and_int32_wrap_around(lengths, sw, offset):
    """Where upstream is defined for odd lengths: negative or wrapping L_b gives no pages, and every sum wraps."""
    case = Case(50, np.random.default_rng(len(lengths) + offset), sw, page_size=64, offset=offset, lengths=lengths,
                pages=30)
    run_twice(case)


@needs_gpu
@pytest.mark.parametrize("page_size", [1, 16, 64])
def test_minus_one_tokens_and_negative_swa_mapping(page_size):
    """A third of req_to_token negative (page_table: truncating division; swa_page_table: -1), negative and huge
    swa_mapping values, negative out_cache_loc entries."""
    case = Case(20, np.random.default_rng(page_size), Switches(swa=True, swa_out=True), page_size=page_size,
                tokens="minus")
    run_twice(case)
    wide = Case(20, np.random.default_rng(page_size + 1), Switches(), page_size=page_size, tokens="wide")
    run_twice(wide)


LOCATIONS = {"absent": lambda S: None, "empty": lambda S: 0, "one-short": lambda S: max(S - 1, 0),
             "as-many": lambda S: S, "more": lambda S: S + 7}


@needs_gpu
@pytest.mark.parametrize("locations", list(LOCATIONS))
@pytest.mark.parametrize("S", [0, 1, 511, 512, 513, 1300])
def test_swa_out_cache_loc_lengths(S, locations):
    """swa_out_cache_loc of S entries, out_cache_loc absent or of some length n: the first min(S, n) translated, the
    rest zero; S independent of bs, over several 512-entry tiles."""
    case = Case(3, np.random.default_rng(S), Switches(swa_out=True), S=S, n_out=LOCATIONS[locations](S))
    run_twice(case)


@needs_gpu
def test_arguments_upstream_ignores_are_left_alone():
    rng = np.random.default_rng(61)
    # cu_seqlens_q with Q_MODE_NONE, qlens outside Q_MODE_CUMSUM, swa_mapping without an SWA output,
    # out_cache_loc without swa_out_cache_loc: accepted, read or written by nobody
    for sw in (Switches(), Switches(q_mode=2)):
        run_twice(Case(9, rng, sw, give=("cu_q", "qlens", "mapping", "out")))
    # skip_page_table: page_table and swa_page_table given (with swa_mapping) stay as they were
    run_twice(Case(9, rng, Switches(skip=True, swa_out=True), give=("swa_under_skip",)))
    # ... and without swa_mapping: upstream drops swa_page_table under skip_page_table, so needs no mapping
    case = Case(9, rng, Switches(skip=True), give=("swa_under_skip",))
    run_twice(case, lambda: case.call(swa_mapping=None))
    # skip_page_table with page_table None
    run_twice(Case(9, rng, Switches(skip=True, q_mode=1), page_table=False))
    # max_seq_pages 0: no page is written, page_table may be None
    run_twice(Case(9, rng, Switches(swa=True), pages=0))
    run_twice(Case(9, rng, Switches(), pages=0, page_table=False))


@needs_gpu
@pytest.mark.parametrize("sw", [Switches(), FULL, Switches(skip=True, swa_out=True, q_mode=2)], ids=Switches.id)
def test_bs_0_writes_nothing(sw):
    case = Case(0, np.random.default_rng(3), sw, S=5, n_out=5)
    case.call()
    case.check_untouched()  # not even cu_seqlens_k[0], nor swa_out_cache_loc's zeros
    draftjit.trtllm_mha_graph_metadata(*[Interface(a) if isinstance(a, torch.Tensor) else a for a in case.op_args()])
    case.check_untouched()


@needs_gpu
@pytest.mark.parametrize("layout, r2t_layout, stride", [
    ("transposed", "contiguous", 2), ("sliced", "transposed", 3), ("transposed", "sliced", 1),
    ("contiguous", "transposed", 2)])
def test_strided_inputs_and_laid_out_tables(layout, r2t_layout, stride):
    """draftjit only (upstream takes stride-1 inputs and tables of column stride 1): any non-negative strides."""
    for sw in (FULL, Switches(pool32=True, q_mode=2, swa_out=True)):
        case = Case(37, np.random.default_rng(stride), sw, page_size=16, layout=layout, r2t_layout=r2t_layout,
                    stride=stride)
        run_twice(case)


@needs_gpu
@pytest.mark.parametrize("sw", [FULL, Switches(swa=True, swa_out=True), Switches(swa=True)], ids=Switches.id)
def test_bad_data_draftjit_guards_is_left_untouched(sw):
    """Pool indices outside req_to_token's rows leave their rows' page-table entries as they were; tokens and
    locations past swa_mapping leave their swa entries as they were (upstream reads out of bounds there)."""
    case = Case(40, np.random.default_rng(67), sw, page_size=16, bad=("pool", "token", "loc"))
    run_twice(case)


@needs_gpu
def test_seqlen_offset_and_q_stride_past_int32():
    """Upstream adds and multiplies mod 2^32 whatever the Python ints: an offset of 2^32 + 3 is an offset of 3."""
    rng = np.random.default_rng(71)
    for offset, q_stride in ((2**32 + 3, 2**33 + 5), (-(2**32) + 1, -7), (2**31, 2**31 - 1)):
        case = Case(40, rng, Switches(q_mode=2, swa=True), offset=offset, q_stride=q_stride, page_size=16)
        run_twice(case)


# --- GPU: graphs, compiles, the op and its arguments ------------------------------------------------------------

def kernel_nodes(graph):
    """The node types of a torch CUDA graph kept with keep_graph=True (CU_GRAPH_NODE_TYPE_KERNEL is 0), by the
    driver API, as nothing in torch lists them."""
    cuda = ctypes.CDLL("libcuda.so.1")
    handle = ctypes.c_void_p(graph.raw_cuda_graph())
    count = ctypes.c_size_t(0)
    assert cuda.cuGraphGetNodes(handle, None, ctypes.byref(count)) == 0
    if count.value == 0:
        return []  # the driver refuses a node array with a count of 0
    nodes = (ctypes.c_void_p * count.value)()
    assert cuda.cuGraphGetNodes(handle, nodes, ctypes.byref(count)) == 0
    types = []
    for node in nodes[:count.value]:
        kind = ctypes.c_int(-1)
        assert cuda.cuGraphNodeGetType(ctypes.c_void_p(node), ctypes.byref(kind)) == 0
        types.append(kind.value)
    return types


GRAPH_VARIANTS = {
    "plain": dict(sw=Switches()),
    "full": dict(sw=FULL, layout="sliced"),
    "skip-strided": dict(sw=Switches(skip=True, swa_out=True, q_mode=2), page_table=False, stride=2),
}


@needs_gpu
@pytest.mark.parametrize("variant", list(GRAPH_VARIANTS))
@pytest.mark.parametrize("bs", [0, 5, 64])
def test_graph_capture_and_replay_with_new_inputs(bs, variant):
    """After prepare, the capture records one kernel node and does no JIT work (none for bs 0); each replay, on new
    values in the same buffers, writes what the reference says."""
    options = dict(GRAPH_VARIANTS[variant])
    case = Case(bs, np.random.default_rng(bs + 17), options.pop("sw"), page_size=64, offset=1, S=bs + 3, **options)
    capture_and_replay(case, launches=bs > 0, check=case.check if bs > 0 else case.check_untouched)


def capture_and_replay(case, launches, check):
    """Captures case.call() after case.prepare(): no JIT work, and one kernel node if it launches (none if not,
    where torch keeps the raw graph); then 8 replays on new values in the same buffers, poisoned, each checked."""
    case.prepare()
    before = draftjit.stats()
    try:
        graph, kept = torch.cuda.CUDAGraph(keep_graph=True), True
    except TypeError:  # torch < 2.8: no raw graph to count nodes in
        graph, kept = torch.cuda.CUDAGraph(), False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about an empty graph
        with torch.cuda.graph(graph):
            case.call()
    assert draftjit.stats() == before, "the capture compiled or loaded a kernel"
    if kept:
        assert kernel_nodes(graph) == ([0] if launches else [])
        graph.instantiate()
    torch.cuda.synchronize()
    for _ in range(8):
        case.new_values()
        case.upload()
        case.poison()
        graph.replay()
        check()


@needs_gpu
def test_new_batch_sizes_lengths_widths_page_sizes_and_strides_compile_nothing():
    """One kernel per switch set: once it is loaded, any bs, max_seq_pages, table width, page size, offset, q_stride,
    swa_out_cache_loc length or stride is a warm call."""
    rng = np.random.default_rng(73)
    first = Case(12, rng, FULL, page_size=16, pages=20)
    first.call()
    first.check()
    before = draftjit.stats()
    for bs, page_size, pages, layout, stride, offset, S in (
            (1, 64, 7, "sliced", 2, 0, 600), (33, 1, 300, "transposed", 3, 3, 0),
            (300, 16, 2, "contiguous", 1, 1, 5), (4096, 64, 3, "sliced", 2, -2, 4096),
            (65536, 16, 1, "contiguous", 1, 0, 17), (0, 16, 20, "sliced", 1, 0, 3),
            (5, 16, 8192, "contiguous", 1, 0, 5)):
        case = Case(bs, rng, FULL, page_size=page_size, pages=pages, layout=layout, stride=stride, offset=offset, S=S,
                    width=pages * page_size + 1 + bs % 5, lengths="short" if pages > 1000 else "mixed")
        case.call()
        case.check()
    assert draftjit.stats() == before


def check_prepare(kind, switches, make_case, max_bs, refused):
    """prepare(kind=, switches=) for bs 1 to max_bs at once, after which calls at other batch sizes (make_case(bs))
    compile and load nothing; each (switches, word) of refused, and max_bs + 1, a ValueError naming it."""
    draftjit.prepare([1, 9, 1000, max_bs], kind=kind, switches=switches)
    before = draftjit.stats()
    for bs in (3, 777):
        case = make_case(bs)
        case.call()
        case.check()
    assert draftjit.stats() == before
    for names, word in refused:
        with pytest.raises(ValueError, match=word):
            draftjit.prepare([1], kind=kind, switches=names)
    with pytest.raises(ValueError, match=re.escape(f"bs = {max_bs + 1} is outside")):
        draftjit.prepare([max_bs + 1], kind=kind)


@needs_gpu
def test_prepare_loads_every_bs_at_once_and_refuses_what_no_call_has():
    sw = Switches(seq64=True, q_mode=2, swa_out=True)
    check_prepare(KIND, sw.names(), lambda bs: Case(bs, np.random.default_rng(bs), sw), MAX_BS,
                  [(["bogus"], "bogus"), (["swa", "skip"], "skip"), (["q64"], "q64"), (["qcumsum", "qstrided"], "q")])


OPCHECK_VARIANTS = {
    "plain": dict(sw=Switches()),
    "full-sliced": dict(sw=FULL, layout="sliced"),
    "skip-strided-no-page-table": dict(sw=Switches(skip=True, q_mode=2, swa_out=True), page_table=False, stride=2),
}


@needs_gpu
@pytest.mark.parametrize("variant", list(OPCHECK_VARIANTS))
def test_opcheck(variant):
    options = dict(OPCHECK_VARIANTS[variant])
    case = Case(5, np.random.default_rng(2), options.pop("sw"), **options)
    torch.library.opcheck(getattr(torch.ops.draftjit, OP_NAME).default, case.op_args())


class Interface:
    """Only the __cuda_array_interface__ of a tensor, as CuPy or Numba would hand it over: the call takes the pybind11
    module's path instead of torch's operator."""

    def __init__(self, tensor):
        self.__cuda_array_interface__ = tensor.__cuda_array_interface__


def check_array_interface_path(case, op_name):
    """draftjit.<op_name> on __cuda_array_interface__ arrays (the pybind11 path), twice, then on the tensors (the
    torch op), each against the reference."""
    call = getattr(draftjit, op_name)
    run_twice(case, lambda: call(*[Interface(a) if isinstance(a, torch.Tensor) else a for a in case.op_args()]))
    case.poison()
    call(*case.op_args())
    case.check()


@needs_gpu
@pytest.mark.parametrize("variant", ["plain", "full-transposed-strided", "skip-no-page-table"])
def test_array_interface_arrays_get_the_same_results(variant):
    options = {"plain": dict(sw=Switches()),
               "full-transposed-strided": dict(sw=FULL, layout="transposed", r2t_layout="sliced", stride=3),
               "skip-no-page-table": dict(sw=Switches(skip=True, swa_out=True, q_mode=1), page_table=False)}[variant]
    options = dict(options)
    check_array_interface_path(Case(70, np.random.default_rng(79), options.pop("sw"), **options), OP_NAME)


def argument_errors():
    """(what to pass instead, the argument the message must name): each on a case with every output."""
    def short(tensor, by=1):
        return tensor[:tensor.shape[0] - by]

    def wider(c):
        return {"max_seq_pages": c.M + 4}  # the tables hold M + 3 columns

    return [
        (lambda c: {"seq_lens": c.seq.float()}, "seq_lens"),
        (lambda c: {"req_pool_indices": c.pool.to(torch.int16)}, "req_pool_indices"),
        (lambda c: {"qlens": c.qlens.to(torch.int16)}, "qlens"),
        (lambda c: {"req_to_token": c.r2t.long()}, "req_to_token"),
        (lambda c: {"cache_seqlens": c.view("cache_seqlens").long()}, "cache_seqlens"),
        (lambda c: {"cu_seqlens_k": c.view("cu_seqlens_k").long()}, "cu_seqlens_k"),
        (lambda c: {"cu_seqlens_q": c.view("cu_seqlens_q").long()}, "cu_seqlens_q"),
        (lambda c: {"page_table": c.view("page_table").long()}, "page_table"),
        (lambda c: {"swa_page_table": c.view("swa_page_table").long()}, "swa_page_table"),
        (lambda c: {"swa_mapping": c.swa_mapping.int()}, "swa_mapping"),
        (lambda c: {"out_cache_loc": c.out.int()}, "out_cache_loc"),
        (lambda c: {"swa_out_cache_loc": c.view("swa_out_cache_loc").int()}, "swa_out_cache_loc"),
        (lambda c: {"seq_lens": c.seq.view(1, -1)}, "seq_lens"),
        (lambda c: {"req_to_token": c.r2t[0]}, "req_to_token"),
        (lambda c: {"page_table": c.view("page_table")[0]}, "page_table"),
        (lambda c: {"swa_mapping": c.swa_mapping.view(1, -1)}, "swa_mapping"),
        (lambda c: {"swa_mapping": c.swa_mapping[::2]}, "swa_mapping"),
        (lambda c: {"seq_lens": c.seq.cpu()}, "seq_lens"),
        (lambda c: {"page_table": c.view("page_table").cpu()}, "page_table"),
        (lambda c: {"seq_lens": short(c.seq, 3)}, "seq_lens"),
        (lambda c: {"req_pool_indices": short(c.pool, 3)}, "req_pool_indices"),
        (lambda c: {"qlens": short(c.qlens, 3)}, "qlens"),
        (lambda c: {"cache_seqlens": short(c.view("cache_seqlens"), 3)}, "cache_seqlens"),
        (lambda c: {"cu_seqlens_k": short(c.view("cu_seqlens_k"), 3)}, "cu_seqlens_k"),
        (lambda c: {"cu_seqlens_q": short(c.view("cu_seqlens_q"), 3)}, "cu_seqlens_q"),
        (lambda c: {"page_table": short(c.view("page_table"), 3)}, "page_table"),
        (lambda c: {"swa_page_table": short(c.view("swa_page_table"), 3)}, "swa_page_table"),
        (lambda c: {"page_table": None}, "page_table"),
        (wider, "max_seq_pages|page_table"),
        (lambda c: {"swa_page_table": c.view("swa_page_table")[:, :c.M - 1]}, "max_seq_pages|swa_page_table"),
        (lambda c: {"req_to_token": c.r2t[:, :(c.M - 1) * c.P]}, "max_seq_pages|req_to_token"),
        (lambda c: {"max_seq_pages": -1}, "max_seq_pages"),
        (lambda c: {"page_size": 0}, "page_size"),
        (lambda c: {"page_size": -16}, "page_size"),
        (lambda c: {"q_mode": 3}, "q_mode"),
        (lambda c: {"q_mode": -1}, "q_mode"),
        (lambda c: {"qlens": None}, "qlens"),
        (lambda c: {"cu_seqlens_q": None}, "cu_seqlens_q"),
        (lambda c: {"cu_seqlens_q": None, "q_mode": 2}, "cu_seqlens_q"),
        (lambda c: {"swa_mapping": None, "swa_out_cache_loc": None}, "swa_mapping"),
        (lambda c: {"swa_mapping": None, "swa_page_table": None}, "swa_mapping"),
        (lambda c: {"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}")),
        (lambda c: {"bs": -1}, "bs = -1"),
    ]


@needs_gpu
@pytest.mark.parametrize("change, name", argument_errors())
def test_argument_errors_name_the_argument_and_write_nothing(change, name):
    # Through the torch op these are PyTorch's exceptions (ValueError with torch 2.11, a wrong dtype too; else
    # RuntimeError) carrying draftjit's message.
    case = Case(5, np.random.default_rng(1), FULL, page_size=16, pages=6, width=200)  # (6 + 4) pages fit
    with pytest.raises((TypeError, ValueError, RuntimeError), match=name):
        case.call(**change(case))
    case.check_untouched()


# --- CPU: the op's description, the kind, the drop-in's signature -----------------------------------------------

def check_description(op_name, names, written):
    """draftjit.<op_name> exists, made from the C++ description, whose arguments are `names` in order and whose
    outputs are `written`; the description's arguments, returned."""
    described = {name: arguments for name, _, _, arguments in draftjit._core.op_descriptions()}
    assert op_name in described, f"no {op_name} among {sorted(described)}"
    assert [name for name, _, _, _ in described[op_name]] == names
    assert {name for name, _, out, _ in described[op_name] if out} == written
    assert callable(getattr(draftjit, op_name))
    return described[op_name]


def test_the_op_description_is_the_contract():
    """draftjit.trtllm_mha_graph_metadata takes upstream's arguments in upstream's order and writes exactly the
    outputs."""
    check_description(OP_NAME, NAMES, WRITTEN)


def test_the_kind_is_specialised_by_its_switches_alone():
    kinds = {name: switches for name, _, switches in draftjit.kinds()}
    assert set(kinds[KIND]) == {"seq64", "pool32", "q64", "qcumsum", "qstrided", "swa", "swaout", "skip"}
    # bs is no part of the kernel: the same source for every bs, another for another switch set
    source = draftjit.emit(1, kind=KIND, switches=["swa", "qcumsum"])
    assert source == draftjit.emit(MAX_BS, kind=KIND, switches=["swa", "qcumsum"])
    assert source != draftjit.emit(1, kind=KIND, switches=["swa"])
    # sm_89: an arch no test GPU has (test_cpu.py warms sm_87, whose cubins it counts)
    counts = draftjit.warmup([1, 2, 300, 4097, MAX_BS], "sm_89", kind=KIND, switches=["seq64", "swaout"])
    assert counts["kernels"] == 1 and counts["compiled"] + counts["cached"] == 1, counts
    with pytest.raises(ValueError, match="bogus"):
        draftjit.emit(1, kind=KIND, switches=["bogus"])
    # switch sets no call has: one q_mode at a time, int64 qlens only summed, no SWA table without a page table
    for switches in (["qcumsum", "qstrided"], ["q64"], ["q64", "qstrided"], ["swa", "skip"]):
        with pytest.raises(ValueError):
            draftjit.emit(1, kind=KIND, switches=switches)


@needs_ops
def test_the_drop_in_is_upstreams_signature():
    parameters = list(inspect.signature(sglang.update_trtllm_mha_graph_metadata).parameters.values())
    assert [(p.name, p.default) for p in parameters] == ARGUMENTS
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters)
    assert (sglang.Q_MODE_NONE, sglang.Q_MODE_CUMSUM, sglang.Q_MODE_STRIDED) == (0, 1, 2)
    with pytest.raises(TypeError):
        sglang.update_trtllm_mha_graph_metadata(None, None)  # keyword-only, as upstream's
    schema = str(getattr(torch.ops.draftjit, OP_NAME).default._schema)
    assert schema.removeprefix("draftjit::") == SCHEMA


def test_upstreams_file_has_the_signature_tested_here():
    """Read (not run) from DRAFTJIT_UPSTREAM_SGLANG when it is set: the arguments and constants this file
    assumes are upstream's."""
    import ast
    path = upstream_trtllm_mha.path()
    if path is None or not os.path.isfile(path):
        pytest.skip(upstream_trtllm_mha.missing() or f"no {path}")
    with open(path) as source:
        tree = ast.parse(source.read())
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef)
                    and node.name == upstream_trtllm_mha.FUNCTION)
    constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 for target in node.targets if isinstance(target, ast.Name) and target.id.startswith("Q_MODE_")}
    assert constants == {"Q_MODE_NONE": 0, "Q_MODE_CUMSUM": 1, "Q_MODE_STRIDED": 2}
    assert not function.args.args and not function.args.posonlyargs
    names = [arg.arg for arg in function.args.kwonlyargs]
    defaults = [NO_DEFAULT if d is None else (constants["Q_MODE_NONE"] if isinstance(d, ast.Name) else d.value)
                for d in function.args.kw_defaults]
    assert list(zip(names, defaults)) == ARGUMENTS


def fake_call(bs=4, pages=8, page_size=16, **overrides):
    """draftjit.trtllm_mha_graph_metadata through the pybind11 path on fake __cuda_array_interface__ arrays: every
    output given (q_mode 1); overrides replace any argument."""
    args = dict(req_pool_indices=FakeArray(bs, "<i8"), seq_lens=FakeArray(bs),
                req_to_token=FakeArray(0, shape=(bs, pages * page_size)), cache_seqlens=FakeArray(bs),
                cu_seqlens_k=FakeArray(bs + 1), page_table=FakeArray(0, shape=(bs, pages)), bs=bs, seqlen_offset=0,
                max_seq_pages=pages, page_size=page_size, swa_mapping=FakeArray(100, "<i8"),
                swa_page_table=FakeArray(0, shape=(bs, pages)), out_cache_loc=FakeArray(bs, "<i8"),
                swa_out_cache_loc=FakeArray(bs, "<i8"), cu_seqlens_q=FakeArray(bs + 1), qlens=FakeArray(bs),
                q_stride=0, q_mode=1, skip_page_table=0)
    args.update(overrides)
    return getattr(draftjit, OP_NAME)(**args)


@pytest.mark.skipif(HAVE_GPU, reason="with a GPU, valid fake arrays would reach a real launch")
def test_arguments_are_checked_before_the_driver():
    """No GPU needed: what the contract accepts reaches the driver (its error, draftjit.Error, is the proof), arrays
    the op's description refuses are refused by name first."""
    for overrides in ({}, {"skip_page_table": 1, "page_table": None, "swa_page_table": None},
                      {"seq_lens": FakeArray(0, "<i8", shape=(4,), strides=(24,)),
                       "req_pool_indices": FakeArray(0, "<i4", shape=(4,), strides=(8,)),
                       "qlens": FakeArray(0, "<i8", shape=(4,), strides=(16,))},
                      {"page_table": FakeArray(0, shape=(4, 8), strides=(4, 16)),
                       "req_to_token": FakeArray(0, shape=(4, 128), strides=(4, 16))},
                      {"q_mode": 0, "cu_seqlens_q": None, "qlens": None},
                      {"q_mode": 2, "qlens": None, "q_stride": -3, "seqlen_offset": -1}):
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):
            fake_call(**overrides)
    refused = [
        ({"seq_lens": FakeArray(4, "<f4")}, "seq_lens"),
        ({"req_pool_indices": FakeArray(4, "<i2")}, "req_pool_indices"),
        ({"qlens": FakeArray(4, "<i2")}, "qlens"),
        ({"req_to_token": FakeArray(0, "<i8", shape=(4, 128))}, "req_to_token"),
        ({"cache_seqlens": FakeArray(4, "<i8")}, "cache_seqlens"),
        ({"cu_seqlens_k": FakeArray(5, "<i8")}, "cu_seqlens_k"),
        ({"page_table": FakeArray(0, "<i8", shape=(4, 8))}, "page_table"),
        ({"swa_mapping": FakeArray(100, "<i4")}, "swa_mapping"),
        ({"out_cache_loc": FakeArray(4, "<i4")}, "out_cache_loc"),
        ({"swa_out_cache_loc": FakeArray(4, "<i4")}, "swa_out_cache_loc"),
        ({"cu_seqlens_q": FakeArray(5, "<i8")}, "cu_seqlens_q"),
        ({"seq_lens": FakeArray(0, shape=(2, 2))}, "seq_lens"),
        ({"req_to_token": FakeArray(512)}, "req_to_token"),
        ({"page_table": FakeArray(32)}, "page_table"),
        ({"seq_lens": FakeArray(3)}, "seq_lens"),
        ({"req_pool_indices": FakeArray(3, "<i8")}, "req_pool_indices"),
        ({"cache_seqlens": FakeArray(3)}, "cache_seqlens"),
        ({"cu_seqlens_k": FakeArray(4)}, "cu_seqlens_k"),
        ({"seq_lens": FakeArray(0, shape=(4,), strides=(6,))}, "seq_lens"),
        ({"q_mode": 3}, "q_mode"),
        ({"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}")),
    ]
    check_refused(fake_call, refused)


def check_refused(call, refused):
    """Each (overrides, name) of refused: call(**overrides) raises TypeError or ValueError naming the argument."""
    for overrides, name in refused:
        with pytest.raises((TypeError, ValueError), match=name):
            call(**overrides)


def check_loader_says_what_is_missing(loader, folder, monkeypatch):
    monkeypatch.delenv(loader.ENV, raising=False)
    assert loader.path() is None
    assert loader.ENV in loader.missing()
    monkeypatch.setenv(loader.ENV, "/nonexistent")
    assert loader.missing().endswith(f"has no {folder}/{loader.FILE}")


def test_calls_to_an_older_upstream_file_leave_out_its_missing_defaults_or_skip():
    """upstream_sglang.fitted_keywords against a function that predates skip_page_table: left out when False (its
    default), a skip naming it when True; every keyword passes to a function that has them all."""
    def older(*, bs, page_size):
        return bs, page_size

    def newer(*, bs, page_size, skip_page_table=False):
        return bs, page_size, skip_page_table

    keywords = dict(bs=3, page_size=16, skip_page_table=False)
    assert upstream_sglang.fitted_keywords(older, keywords, ARGUMENTS) == dict(bs=3, page_size=16)
    assert upstream_sglang.fitted_keywords(newer, keywords, ARGUMENTS) == keywords
    with pytest.raises(pytest.skip.Exception, match="no parameter skip_page_table"):
        upstream_sglang.fitted_keywords(older, {**keywords, "skip_page_table": True}, ARGUMENTS)
    with pytest.raises(pytest.skip.Exception, match="no parameter swa_mapping"):  # no default: never left out
        upstream_sglang.fitted_keywords(older, dict(bs=3, swa_mapping=None), [("swa_mapping", NO_DEFAULT)])


def test_the_upstream_loader_says_what_is_missing(monkeypatch):
    check_loader_says_what_is_missing(upstream_trtllm_mha, upstream_trtllm_mha.KVCACHE, monkeypatch)


# --- against upstream's Triton kernel -----------------------------------------------------------------------

def needs_upstream_of(loader):
    """Skips a test, saying why, unless loader's upstream file, its torch operators and a GPU are all here."""
    why = loader.missing()
    if not why and (not HAVE_OPS or not HAVE_GPU):
        why = "needs draftjit.sglang with its torch operators and a CUDA device draftjit can use"
    return pytest.mark.skipif(why is not None, reason=why or "")


needs_upstream = needs_upstream_of(upstream_trtllm_mha)


def upstream_cases():
    """(id, bs, switches, Case options): where upstream is defined (1-D inputs of stride 1, tables of column stride
    1, pool indices, tokens and locations inside their tables). Each is one Triton compile (it specialises on bs's
    power-of-two bucket, the page size, the switches, and ints equal to 1 or divisible by 16), drawn twice.
    Upstream sums bs in one program of next_pow2(bs) lanes, which Triton compiles in about 1 s at bs 16384 and 4.5 s
    at 65536 without SWA (an H100; 15 s with every switch, so not here)."""
    result = [("bs65536-plain", 65536, Switches(), dict(page_size=16, pages=4))]
    for i, bs in enumerate((1, 2, 7, 31, 32, 33, 64, 65, 255, 256, 257, 1000, 4096, 16384)):
        sw = ALL_SWITCHES[(i * 29 + 3) % len(ALL_SWITCHES)]
        result.append((f"sweep-bs{bs}-{sw.id()}", bs, sw, dict(
            page_size=(16, 64, 1)[i % 3], offset=(0, 1, 3)[(i // 3) % 3], pages=40 if bs <= 1000 else 12,
            layout=("contiguous", "sliced")[i % 2])))
    for i in range(8):
        sw = ALL_SWITCHES[(i * 19 + 11) % len(ALL_SWITCHES)]
        result.append((f"matrix-{sw.id()}", 9, sw, dict(page_size=(1, 16, 64)[i % 3], offset=i % 4,
                                                         layout=("sliced", "contiguous")[i % 2])))
    swa = Switches(swa=True, swa_out=True)
    result += [
        ("short-in-wide", 5, swa, dict(page_size=16, pages=8192, width=131072, lengths="short", layout="sliced")),
        ("long", 17, Switches(q_mode=1), dict(page_size=64, pages=512, width=32768, lengths="long")),
        ("padded-rows", 24, Switches(swa=True), dict(page_size=16, offset=1, lengths="padded")),
        ("negative", 9, Switches(seq64=True, swa=True), dict(page_size=64, offset=-3, lengths="negative")),
        ("wrap-int32", 9, Switches(q_mode=1, swa=True), dict(page_size=16, offset=3, lengths="wrap")),
        ("wrap-int64", 9, Switches(seq64=True, q_mode=1, q64=True), dict(page_size=64, offset=1, lengths="wrap")),
        ("minus-tokens", 9, swa, dict(page_size=16, tokens="minus")),
        ("wide-tokens", 9, Switches(pool32=True), dict(page_size=64, tokens="wide")),
        ("swa-out-tiles", 3, Switches(swa_out=True), dict(S=1300, n_out=700)),
        ("swa-out-no-locs", 3, Switches(swa_out=True), dict(S=5, n_out=None)),
        ("swa-out-more-locs", 3, Switches(swa_out=True), dict(S=600, n_out=900)),
        ("swa-out-empty", 3, Switches(swa_out=True), dict(S=0, n_out=4)),
        ("skip-tables-given", 9, Switches(skip=True, swa_out=True), dict(give=("swa_under_skip",))),
        ("skip-no-page-table", 9, Switches(skip=True, q_mode=2), dict(page_table=False, q_stride=-7)),
        ("ignored-arguments", 9, Switches(), dict(give=("cu_q", "qlens", "mapping", "out"))),
        ("past-int32", 9, Switches(q_mode=2, swa=True), dict(offset=2**32 + 3, q_stride=2**33 + 5)),
        ("one-page", 7, Switches(swa=True), dict(page_size=64, pages=1)),
        ("narrowest-table", 7, Switches(), dict(page_size=1, pages=40, width=40)),
    ]
    return result


UPSTREAM_CASES = upstream_cases()


@pytest.fixture(scope="module")
def upstream():
    return upstream_trtllm_mha.load()


def twin_differences(mine, theirs):
    """Every output and input buffer of two cases, whole, bit for bit."""
    found = []
    for name in sorted(set(mine.outputs) | set(theirs.outputs)):
        a, b = mine.outputs[name].base.cpu().numpy(), theirs.outputs[name].base.cpu().numpy()
        found.append(first_difference(f"{name} (draftjit vs upstream)", a, b))
    for name in mine.INPUTS:
        a, b = getattr(mine, name), getattr(theirs, name)
        if a is not None and not torch.equal(a, b):
            found.append(f"input {name} differs after the calls")
    return [problem for problem in found if problem]


@needs_upstream
@pytest.mark.parametrize("bs, sw, options", [case[1:] for case in UPSTREAM_CASES],
                         ids=[case[0] for case in UPSTREAM_CASES])
def test_draftjit_writes_what_upstream_writes(upstream, bs, sw, options):
    """Upstream's update_trtllm_mha_graph_metadata and draftjit.sglang's get the same arguments on twin buffers
    (the same seed: the same values, poison and layouts); afterwards every buffer must be equal bit for bit, and
    draftjit's equal to the reference."""
    compare_twins(lambda seed: Case(bs, np.random.default_rng(seed), sw, **options),
                  lambda case: call_fitted(upstream.update_trtllm_mha_graph_metadata, case.named(), ARGUMENTS),
                  f"{bs}|{sw.id()}|{sorted(options.items())}")


def call_fitted(function, keywords, arguments):
    """upstream's function by keyword, as its file allows (upstream_sglang.fitted_keywords)."""
    function(**upstream_sglang.fitted_keywords(function, keywords, arguments))


def compare_twins(make_case, call_upstream, key):
    """Two draws: twin cases from one seed (the same values, poison and layouts), one called through upstream, the
    other through draftjit; every buffer equal bit for bit afterwards, and draftjit's equal to the reference."""
    for draw in range(2):
        seed = zlib.crc32(f"{key}|{draw}".encode())
        theirs, mine = make_case(seed), make_case(seed)
        call_upstream(theirs)
        mine.call()
        torch.cuda.synchronize()
        problems = twin_differences(mine, theirs)
        assert not problems, f"draw {draw} (seed {seed}): " + "; ".join(problems)
        mine.check()  # both agree; the reference must too
