"""FlashInfer's CSR kv_indices (draftjit.sglang.create_flashinfer_kv_indices_triton[grid](...),
torch.ops.draftjit.flashinfer_kv_indices and draftjit.flashinfer_kv_indices) against a NumPy reference written from
docs/BACKENDS.md section 3a and upstream's file, and, where DRAFTJIT_UPSTREAM_SGLANG names upstream's files, against
upstream SGLang's own Triton kernel bit for bit.

kv_indices is poisoned before each call and compared whole afterwards: the gaps between segments, the entries past
the last one and a guard tail behind the view keep their poison (or, across calls without poisoning, their stale
values); the inputs are checked unchanged. Covered: bs 0 to 65536; all 96 switch sets (kv_start_idx absent, int32 or
int64; int64 lengths; int32 pool indices; ENTRY_PAGE_SIZE > 1; token_mapping; int64 kv_indices); zero-length,
negative and int32-wrapping lengths (within 511 of INT32_MAX upstream writes nothing); short segments in 131072-wide
tables; a segment of a million tokens (and of a million through ENTRY_PAGE_SIZE 16); starts inside an entry before
column 0; -1 tokens through the mapping, and int64 tokens and mapped values truncated into int32 kv_indices; every
grid upstream's callers launch with (the output never depends on it); strided 1-D inputs and sliced or transposed
tables; req_to_token read at upstream's stride argument; bad data draftjit guards (pool indices outside req_to_token,
columns past its width, tokens past the mapping, offsets outside kv_indices: left untouched); CUDA graph capture after
prepare (one kernel node) and replay with new inputs; no compile for new bs, lengths, widths, strides or entry sizes;
opcheck; argument errors naming the argument with nothing written; the __cuda_array_interface__ path. Without PyTorch
or a CUDA device the GPU tests are skipped by name; without a GPU a CPU test checks that bad arguments are refused
before the driver."""

import ast
import dataclasses
import inspect
import itertools
import os
import re

import numpy as np
import pytest

import draftjit
import upstream_kv_indices
import upstream_sglang
from test_cpu import FakeArray
import test_trtllm_mha as trtllm
from test_trtllm_mha import (LAYOUTS, Interface, Output, device_copy, first_difference, layout_shape, layout_view,
                             strided_input, trunc_div, wrap32)

from gpu_marks import HAVE_GPU, HAVE_OPS, needs_gpu, needs_ops, torch

if HAVE_OPS:
    from draftjit import sglang

KIND = "kv-indices"
OP_NAME = "flashinfer_kv_indices"
MAX_BS = next(top for name, _, _, top in next(arguments for op, _, _, arguments in draftjit._core.op_descriptions()
                                             if op == OP_NAME) if name == "bs")
INT32_MAX = 2**31 - 1
LEN_GAP = 77   # what the gaps of a strided page_kernel_lens hold: read by mistake, it changes a segment
POOL_GAP = 1   # ... of req_pool_indices: another row

# The launcher's arguments, upstream's names, order and defaults (NO_DEFAULT: required).
NO_DEFAULT = inspect.Parameter.empty
ARGUMENTS = [
    ("req_to_token_ptr", NO_DEFAULT), ("req_pool_indices_ptr", NO_DEFAULT), ("page_kernel_lens_ptr", NO_DEFAULT),
    ("kv_indptr", NO_DEFAULT), ("kv_start_idx", NO_DEFAULT), ("kv_indices_ptr", NO_DEFAULT),
    ("req_to_token_ptr_stride", NO_DEFAULT), ("ENTRY_PAGE_SIZE", 1), ("TOKEN_BLOCK_PARALLEL", False),
    ("token_mapping", None)]
# The op's: the stride is req_to_token's own, TOKEN_BLOCK_PARALLEL is no argument, bs (upstream's grid[0]) is last.
NAMES = ["req_to_token", "req_pool_indices", "page_kernel_lens", "kv_indptr", "kv_start_idx", "kv_indices",
         "entry_page_size", "token_mapping", "bs"]
SCHEMA = ("flashinfer_kv_indices(Tensor req_to_token, Tensor req_pool_indices, Tensor page_kernel_lens, "
          "Tensor kv_indptr, Tensor? kv_start_idx, Tensor(a!) kv_indices, int entry_page_size, "
          "Tensor? token_mapping, int bs) -> ()")


# --- the reference: docs/BACKENDS.md, "3a. FlashInfer CSR kv_indices", and upstream's file ------------------------

def flashinfer_reference(bs, req_to_token, req_pool_indices, page_kernel_lens, kv_indptr, kv_indices, *,
                         kv_start_idx=None, entry_page_size=1, token_mapping=None):
    """Writes into kv_indices (a NumPy view, int32 or int64) what one call writes and nothing else; inputs are NumPy
    arrays of values (entries past bs unread), req_to_token as the kernel indexes it. Bad data draftjit guards (a pool
    index outside req_to_token's rows, a column outside its width, a token at or past the mapping, an offset outside
    kv_indices) leaves its elements as they were."""
    rows, width = req_to_token.shape
    E = entry_page_size
    mapping = None if token_mapping is None else np.asarray(token_mapping, dtype=np.int64)
    for b in range(bs):
        pool = int(req_pool_indices[b])
        s = int(wrap32(kv_start_idx[b])) if kv_start_idx is not None else 0
        n = int(wrap32(page_kernel_lens[b]))
        # upstream's loop count cdiv(n, 512) is an int32 sum: within 511 of INT32_MAX it wraps negative
        if n <= 0 or n > INT32_MAX - 511 or not 0 <= pool < rows or width == 0:
            continue
        j = np.arange(n, dtype=np.int64)
        q = s + j
        column = trunc_div(q, E)  # C's division: q in (-E, 0) reads column 0
        kept = (column >= 0) & (column < width)
        tokens = req_to_token[pool, np.clip(column, 0, width - 1)].astype(np.int64)
        if E > 1:
            tokens = tokens * E + (q - column * E)  # C's remainder, the dividend's sign
        if mapping is not None:
            kept &= tokens < len(mapping)
            looked = mapping[np.clip(tokens, 0, max(len(mapping) - 1, 0))] if len(mapping) else tokens
            tokens = np.where(tokens < 0, -1, looked)
        at = int(kv_indptr[b]) + j
        kept &= (at >= 0) & (at < len(kv_indices))
        kv_indices[at[kept]] = tokens[kept] if kv_indices.dtype == np.int64 else wrap32(tokens[kept])


def test_reference_on_a_worked_example():
    """The oracle itself, on values worked out by hand from upstream's file (no GPU needed)."""
    p = trtllm.POISON[np.dtype(np.int32)]
    r2t = np.array([[10, 11, 12, 13, 14], [-1, 21, 22, 23, 24], [2**30, 31, 32, 33, 34]], dtype=np.int32)
    out = np.full(16, p, dtype=np.int32)
    # request 0: row 2, [1, 4); request 1: row 0, nothing (length 0); request 2: row 1, [0, 2) at 6; request 3: a
    # negative length; request 4: a length past INT32_MAX - 511 (upstream's loop count wraps); entries past bs unread
    flashinfer_reference(5, r2t, [2, 0, 1, 1, 1, 0], [3, 0, 2, -4, INT32_MAX - 510, 9], [0, 3, 6, 9, 9, 0], out,
                         kv_start_idx=[1, 0, 0, 0, 0, 0])
    assert out.tolist() == [31, 32, 33, p, p, p, -1, 21] + [p] * 8
    # ENTRY_PAGE_SIZE 4: token = entry * 4 + q % 4; a start of -3 reads column 0 with remainders -3, -2, -1 (C's
    # `//` and `%`); 2^30 * 4 wraps to 0 in int32 kv_indices and stays 2^32 in int64
    out = np.full(8, p, dtype=np.int32)
    flashinfer_reference(2, r2t, [0, 2], [5, 2], [0, 5], out, kv_start_idx=[-3, 1], entry_page_size=4)
    assert out.tolist() == [37, 38, 39, 40, 41, 1, 2, p]
    wide = np.full(3, 7, dtype=np.int64)
    flashinfer_reference(1, r2t, [2], [2], [0], wide, kv_start_idx=[0], entry_page_size=4)
    assert wide.tolist() == [2**32, 2**32 + 1, 7]
    # token_mapping: -1 stays -1, a token past the mapping leaves its element; a column past the width too
    mapping = np.array([100 + t for t in range(25)] + [2**40 + 5], dtype=np.int64)
    out = np.full(7, p, dtype=np.int32)
    flashinfer_reference(2, r2t, [1, 2], [3, 4], [0, 3], out, kv_start_idx=[0, 3], token_mapping=mapping)
    assert out.tolist() == [-1, 121, 122, p, p, p, p]  # row 2: tokens 33, 34 past the mapping, columns 5, 6 past
    out = np.full(4, p, dtype=np.int32)
    flashinfer_reference(1, np.array([[25, 0]], dtype=np.int32), [0], [2], [0], out, token_mapping=mapping)
    assert out.tolist() == [5, 100, p, p]  # 2^40 + 5 truncated to int32
    # offsets outside kv_indices and pool rows outside req_to_token leave the elements alone
    out = np.full(4, p, dtype=np.int32)
    flashinfer_reference(3, r2t, [0, 3, -1], [3, 1, 1], [-1, 0, 1], out)
    assert out.tolist() == [11, 12, p, p]


# --- switch sets ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Switches:
    """What picks the kernel: kv_start_idx ("" absent, "32", "64"), int64 page_kernel_lens, int32 req_pool_indices,
    ENTRY_PAGE_SIZE > 1, token_mapping, int64 kv_indices."""
    start: str = ""
    len64: bool = False
    pool32: bool = False
    entry: bool = False
    map: bool = False
    out64: bool = False

    def names(self):
        """The switches of prepare(kind="kv-indices")."""
        on = (("start", self.start != ""), ("start64", self.start == "64"), ("len64", self.len64),
              ("pool32", self.pool32), ("entry", self.entry), ("map", self.map), ("out64", self.out64))
        return [name for name, set_ in on if set_]

    def id(self):
        return "-".join(self.names()) or "plain"


ALL_SWITCHES = [Switches(start, *flags) for start in ("", "32", "64")
                for flags in itertools.product((False, True), repeat=5)]
FULL = Switches("64", True, True, True, True, True)


class Case(trtllm.Case):
    """One call's inputs on the GPU and its poisoned kv_indices, with the host values the reference reads (of
    TRTLLM-MHA's case, only the poisoning and the untouched check are kept).

    bs requests; sw the switch set; E the entry size (default 16 with sw.entry, else 1); req_to_token has `width`
    columns and pool_rows rows, in r2t_layout; 1-D inputs hold `extra` entries past bs (never read) and are every
    stride-th element of a larger tensor when stride > 1; kv_indices holds the first draw's segments, gaps of up to
    3 between them (gaps=True) and 5 entries past them, with a poisoned guard behind it. lengths: "mixed" (zeros,
    padded graph rows of length 1 at pool index 0, short ones, whole windows), "short" (<= 40), "long" (the whole
    window or near it), "negative" (defined upstream: nothing), "wrap" (int32 wrap-around; within 511 of INT32_MAX
    nothing) or "million" (every request 1M tokens, or as near as the window allows). tokens: "mixed" (a few
    negative), "wide" (up to int32's max: entry * E overflows int32), "inside" (none negative). bad: data upstream
    leaves undefined, draftjit guards ("pool": pool rows outside req_to_token, "past": windows past its width or,
    with E = 1, before column 0, "token": tokens past the mapping, "offset": offsets outside kv_indices)."""

    INPUTS = ("pool", "lens", "indptr", "start", "r2t", "mapping")

    def __init__(self, bs, rng, sw=Switches(), *, E=None, width=300, pool_rows=None, lengths="mixed",
                 r2t_layout="contiguous", stride=1, extra=2, gaps=True, mapping_size=None, tokens="mixed", bad=()):
        self.bs, self.rng, self.sw = bs, rng, sw
        self.E = E if E is not None else (16 if sw.entry else 1)
        assert (self.E > 1) == sw.entry
        self.W, self.lengths, self.tokens, self.bad, self.gaps = width, lengths, tokens, set(bad), gaps
        self.layout, self.stride, self.n = r2t_layout, stride, bs + extra
        self.pool_rows = pool_rows if pool_rows is not None else min(bs, 256) + 3
        self.mapping_size = mapping_size if mapping_size is not None else width * self.E + 97
        self.len_dtype = np.int64 if sw.len64 else np.int32
        self.pool_dtype = np.int32 if sw.pool32 else np.int64
        self.start_dtype = np.int64 if sw.start == "64" else np.int32
        self.new_values()
        self.capacity = int(self.end) + 5
        self.lens = strided_input(self.lens_h, self.len_dtype, stride, LEN_GAP)
        self.pool = strided_input(self.pool_h, self.pool_dtype, stride, POOL_GAP)
        self.indptr = strided_input(self.indptr_h, np.int32, stride, 0)
        self.start = strided_input(self.start_h, self.start_dtype, stride, 0) if sw.start else None
        base = torch.zeros(layout_shape(self.pool_rows, width, r2t_layout), dtype=torch.int32, device="cuda")
        self.r2t = layout_view(base, self.pool_rows, width, r2t_layout)
        self.r2t.copy_(device_copy(self.r2t_h, np.int32))
        self.mapping = device_copy(self.map_h, np.int64) if sw.map else None
        self.outputs = {"kv_indices": Output((self.capacity,), np.int64 if sw.out64 else np.int32)}

    # host values ----------------------------------------------------------------------------------------------

    def _lengths(self):
        rng, n, window = self.rng, self.n, self.W * self.E
        if self.lengths == "short":
            return rng.integers(1, 41, n)
        if self.lengths == "long":
            return np.maximum(window - rng.integers(0, 3 * self.E + 1, n), 0)
        if self.lengths == "negative":
            return rng.integers(-3000, 40, n)
        if self.lengths == "million":
            return np.full(n, min(1 << 20, window))
        if self.lengths == "wrap":
            near = [INT32_MAX, INT32_MAX - 510, INT32_MAX - 200, -2**31, 0, 3]  # the first three write nothing
            if self.sw.len64:
                near += [2**32 + 5, 2**32 * 3 + 17, -2**32 + 9, 2**40 + 2, INT32_MAX + 1]
            return rng.choice(np.array(near, dtype=np.int64), n)
        parts = [np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64), rng.integers(1, 40, n),
                 rng.integers(0, window + 1, n), np.full(n, window)]
        return np.choose(rng.integers(0, len(parts), n), parts)

    def new_values(self):
        """New host inputs of the same shapes (upload() copies them into the same device buffers)."""
        rng, n, E, window = self.rng, self.n, self.E, self.W * self.E
        self.lens_h = self._lengths().astype(np.int64)
        if "past" in self.bad and not self.sw.start:  # windows past the width
            self.lens_h = np.where(rng.random(n) < 0.3, window + rng.integers(1, 100, n), self.lens_h)
        written = wrap32(self.lens_h)  # what each segment may write (upstream's int32 loop count wraps past it)
        written = np.where((written > 0) & (written <= INT32_MAX - 511), written, 0)
        self.start_h = np.zeros(n, dtype=np.int64)
        if self.sw.start:
            room = np.maximum(window - written, 0)  # a window inside the row
            self.start_h = (rng.random(n) * (room + 1)).astype(np.int64)
            if E > 1:  # starts inside the entry before column 0 (upstream reads column 0 there)
                before = rng.random(n) < 0.2
                self.start_h[before] = -rng.integers(1, E, int(before.sum()))
            if "past" in self.bad:
                moved = rng.random(n) < 0.3
                self.start_h[moved] += rng.choice(np.array([-5000, -E, window // 2, window]), int(moved.sum()))
            if self.sw.start == "64":  # int32(start) is what upstream reads
                self.start_h += rng.choice(np.array([0, 0, 2**32, -2**33]), n)
        self.pool_h = rng.integers(0, self.pool_rows, n)
        self.pool_h[self.lens_h == 1] = 0  # padded graph rows: length 1 (the fill value) at pool index 0
        if "pool" in self.bad:
            outside = [self.pool_rows, -1, self.pool_rows + 100] + ([2**33, -2**40] if not self.sw.pool32 else
                                                                     [INT32_MAX, -2**31])
            picked = rng.random(n) < 0.3
            self.pool_h[picked] = rng.choice(np.array(outside, dtype=np.int64), int(picked.sum()))
        gaps = rng.integers(0, 4, n) if self.gaps else np.zeros(n, dtype=np.int64)
        self.indptr_h = np.cumsum(gaps) + np.concatenate(([0], np.cumsum(written)[:-1]))
        self.end = int(self.indptr_h[self.bs - 1] + written[self.bs - 1]) if self.bs else 0
        if "offset" in self.bad:
            picked = rng.random(n) < 0.3
            outside = np.array([-100000, -2**31, self.end + 10**6, INT32_MAX - 5])  # no segment overlaps another
            self.indptr_h[picked] = rng.choice(outside, int(picked.sum()))
        if self.sw.map:
            high = self.mapping_size // E + (50 if "token" in self.bad else 0)
        else:
            high = INT32_MAX if self.tokens == "wide" else 1 << 20
        self.r2t_h = rng.integers(0, max(high, 1), (self.pool_rows, self.W)).astype(np.int64)
        share = {"mixed": 0.05, "wide": 0.05, "inside": 0.0}[self.tokens]
        negative = rng.random(self.r2t_h.shape) < share
        self.r2t_h[negative] = rng.choice(np.array([-1, -1, -2, -2**31]), int(negative.sum()))
        self.r2t_h = self.r2t_h.astype(np.int32)
        self.map_h = rng.integers(0, 1 << 20, self.mapping_size)
        pick = rng.random(self.mapping_size)
        self.map_h[pick < 0.1] = -1
        wide = (pick >= 0.1) & (pick < 0.13)
        self.map_h[wide] = 2**40 + rng.integers(0, 2**20, int(wide.sum()))  # int32 kv_indices keep the low bits

    def inputs(self):
        """(name, device tensor or None, host values, dtype) of every input."""
        return (("lens", self.lens, self.lens_h, self.len_dtype), ("pool", self.pool, self.pool_h, self.pool_dtype),
                ("indptr", self.indptr, self.indptr_h, np.int32), ("start", self.start, self.start_h, self.start_dtype),
                ("r2t", self.r2t, self.r2t_h, np.int32), ("mapping", self.mapping, self.map_h, np.int64))

    def upload(self):
        for _, tensor, host, dtype in self.inputs():
            if tensor is not None:
                tensor.copy_(device_copy(host, dtype))

    # calls ------------------------------------------------------------------------------------------------------

    def view(self, name="kv_indices"):
        return self.outputs[name].view

    def grid(self):
        """The grid upstream's callers launch with (flashinfer_backend.py's token blocks)."""
        return (self.bs, sglang.kv_indices_num_token_blocks(self.W, self.bs))

    def launch_args(self, **overrides):
        """upstream's positional arguments and constexprs, as its callers pass them."""
        named = dict(req_to_token_ptr=self.r2t, req_pool_indices_ptr=self.pool, page_kernel_lens_ptr=self.lens,
                     kv_indptr=self.indptr, kv_start_idx=self.start, kv_indices_ptr=self.view(),
                     req_to_token_ptr_stride=self.r2t.stride(0))
        named.update(overrides)
        constexprs = dict(ENTRY_PAGE_SIZE=self.E, TOKEN_BLOCK_PARALLEL=self.grid()[1] > 1)
        if self.sw.map:
            constexprs["token_mapping"] = self.mapping
        return [named.pop(name) for name, default in ARGUMENTS if default is NO_DEFAULT], constexprs

    def call(self, grid=None, **overrides):
        """draftjit.sglang's drop-in as upstream's callers launch it, or, for a table whose columns are not adjacent
        (which upstream's stride argument cannot describe), the op."""
        if self.r2t.stride(1) != 1 and "req_to_token_ptr" not in overrides:
            getattr(torch.ops.draftjit, OP_NAME).default(*self.op_args())
            return
        args, constexprs = self.launch_args(**overrides)
        sglang.create_flashinfer_kv_indices_triton[grid or self.grid()](*args, **constexprs)

    def op_args(self, **overrides):
        """The torch op's (and draftjit.flashinfer_kv_indices') arguments, in order."""
        named = dict(req_to_token=self.r2t, req_pool_indices=self.pool, page_kernel_lens=self.lens,
                     kv_indptr=self.indptr, kv_start_idx=self.start, kv_indices=self.view(), entry_page_size=self.E,
                     token_mapping=self.mapping, bs=self.bs)
        named.update(overrides)
        return tuple(named[name] for name in NAMES)

    def prepare(self):
        draftjit.prepare([self.bs], kind=KIND, switches=self.sw.names())

    # checks -----------------------------------------------------------------------------------------------------

    def expect(self):
        flashinfer_reference(self.bs, self.r2t_h, self.pool_h, self.lens_h, self.indptr_h,
                             self.outputs["kv_indices"].host_view(),
                             kv_start_idx=self.start_h if self.sw.start else None, entry_page_size=self.E,
                             token_mapping=self.map_h if self.sw.map else None)

    def problems(self):
        torch.cuda.synchronize()
        found = [first_difference(name, output.base.cpu().numpy(), output.host)
                 for name, output in self.outputs.items()]
        for name, tensor, host, dtype in self.inputs():
            if tensor is not None:  # compared flat: a test may read the same memory as other rows
                got, want = tensor.cpu().numpy().ravel(), host.astype(dtype).ravel()
                found.append(first_difference(f"input {name}", got, want))
        return [problem for problem in found if problem]

    def check(self):
        self.expect()
        problems = self.problems()
        assert not problems, f"bs {self.bs} {self.sw.id()} E {self.E}: " + "; ".join(problems)



# --- GPU: results against the reference ---------------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("sw", ALL_SWITCHES, ids=Switches.id)
def test_every_switch_set_matches_the_reference(sw):
    """All 96 switch sets at bs 7 and 45, the entry size, table layout and input strides rotating."""
    index = ALL_SWITCHES.index(sw)
    for bs in (7, 45):
        rng = np.random.default_rng(index * 1000 + bs)
        case = Case(bs, rng, sw, E=(2, 16, 64)[index % 3] if sw.entry else 1, r2t_layout=LAYOUTS[index % 3],
                    stride=1 + index % 3)
        trtllm.run_twice(case)


BATCH_SIZES = (0, 1, 2, 3, 31, 32, 33, 64, 255, 256, 257, 1000, 4096, 65536)


@needs_gpu
@pytest.mark.parametrize("bs", BATCH_SIZES)
def test_batch_sizes_match_the_reference(bs):
    sw = ALL_SWITCHES[bs % len(ALL_SWITCHES)]
    case = Case(bs, np.random.default_rng(bs), sw, width=64 if bs > 1000 else 300,
                lengths="short" if bs > 1000 else "mixed")
    trtllm.run_twice(case)


@needs_gpu
@pytest.mark.parametrize("sw, E, width", [(Switches(), 1, (1 << 20) + 7), (Switches("32", out64=True), 1, 1 << 20),
                                          (Switches(entry=True, map=True), 16, 65536)],
                         ids=["tokens", "start-out64", "entry16-map"])
def test_a_million_token_segment_is_split_across_blocks(sw, E, width):
    """One request of 2^20 tokens (through 65536 entries of 16 with ENTRY_PAGE_SIZE), alone and beside short ones."""
    for bs, lengths in ((1, "million"), (5, "million"), (9, "mixed")):
        case = Case(bs, np.random.default_rng(bs + width), sw, E=E, width=width, pool_rows=3, lengths=lengths,
                    mapping_size=width * E + 5)
        trtllm.run_twice(case)


@needs_gpu
@pytest.mark.parametrize("sw", [Switches(), Switches("32"), Switches(entry=True, out64=True)], ids=Switches.id)
def test_short_segments_in_wide_tables_leave_everything_else_alone(sw):
    case = Case(200, np.random.default_rng(3), sw, width=131072, lengths="short", pool_rows=12)
    trtllm.run_twice(case)


@needs_gpu
@pytest.mark.parametrize("lengths, sw", [
    ("negative", Switches()), ("negative", Switches("32", len64=True)), ("wrap", Switches()),
    ("wrap", Switches(len64=True)), ("wrap", Switches("64", len64=True, entry=True))], ids=str)
def test_zero_negative_and_wrapping_lengths(lengths, sw):
    """Defined upstream: a length <= 0 or within 511 of INT32_MAX writes nothing; int64 lengths are read as int32."""
    trtllm.run_twice(Case(40, np.random.default_rng(5), sw, lengths=lengths))


@needs_gpu
@pytest.mark.parametrize("E", [2, 3, 16, 64, 1000])
def test_entry_sizes_and_starts_inside_an_entry(E):
    """token = entry * E + q % E, C's division and remainder: starts in (-E, 0) read column 0; any E, not only powers
    of two; int32 kv_indices keep the low 32 bits of entry * E past int32."""
    for sw in (Switches("32", entry=True), Switches("64", entry=True, out64=True), Switches(entry=True)):
        trtllm.run_twice(Case(33, np.random.default_rng(E), sw, E=E, width=50, tokens="wide"))


@needs_gpu
@pytest.mark.parametrize("sw", [Switches(map=True), Switches("32", entry=True, map=True, out64=True)], ids=Switches.id)
def test_token_mapping_keeps_minus_one_and_truncates_into_int32(sw):
    trtllm.run_twice(Case(60, np.random.default_rng(8), sw, tokens="mixed"))


@needs_gpu
@pytest.mark.parametrize("sw, bad", [
    (Switches(), ("pool",)), (Switches(pool32=True), ("pool", "offset")), (Switches("32"), ("past",)),
    (Switches("64", entry=True), ("past",)), (Switches(map=True), ("token",)),
    (FULL, ("pool", "past", "token", "offset"))],
    ids=lambda v: v.id() if isinstance(v, Switches) else "-".join(v))
def test_bad_data_draftjit_guards_is_left_untouched(sw, bad):
    """Where upstream reads or writes out of bounds, draftjit leaves the element (or a bad row's segment) alone."""
    trtllm.run_twice(Case(50, np.random.default_rng(11), sw, bad=bad))


@needs_gpu
def test_the_grid_never_changes_what_is_written():
    """upstream's grid (bs,), (bs, nb) with or without TOKEN_BLOCK_PARALLEL, any nb: one result."""
    sw = Switches("32", entry=True)
    for grid in ((7,), (7, 1), (7, 5), (7, 64)):
        for parallel in (False, True):
            case = Case(7, np.random.default_rng(17), sw, width=20000, lengths="long")
            args, constexprs = case.launch_args()
            constexprs["TOKEN_BLOCK_PARALLEL"] = parallel
            sglang.create_flashinfer_kv_indices_triton[grid](*args, **constexprs)
            case.check()
    case = Case(7, np.random.default_rng(17), sw, width=20000, lengths="long")
    args, constexprs = case.launch_args()
    sglang.create_flashinfer_kv_indices_triton[lambda meta: (7, 3)](*args, **constexprs)  # a callable grid
    case.check()


@needs_gpu
@pytest.mark.parametrize("layout, stride", [("sliced", 2), ("transposed", 3), ("contiguous", 4)])
def test_strided_inputs_and_laid_out_tables(layout, stride):
    trtllm.run_twice(Case(70, np.random.default_rng(19), FULL, r2t_layout=layout, stride=stride))


@needs_gpu
def test_req_to_token_is_read_at_upstreams_stride_argument():
    """upstream indexes req_to_token_ptr + pool * req_to_token_ptr_stride + column, whatever the tensor's shape: a
    stride of half a row reads half rows (columns past it stay poisoned), as the reference does on the same memory
    so shaped."""
    case = Case(9, np.random.default_rng(23), Switches(), width=64, pool_rows=4, lengths="short")
    case.r2t_h = case.r2t_h.reshape(8, 32)
    case.pool_h = case.rng.integers(0, 8, case.n)
    case.pool.copy_(device_copy(case.pool_h, case.pool_dtype))
    case.call(req_to_token_ptr_stride=32)
    case.check()


GRAPH_VARIANTS = {"plain": dict(sw=Switches()), "full": dict(sw=FULL, r2t_layout="sliced", stride=2),
                  "long": dict(sw=Switches("32", out64=True), width=50000, lengths="long")}


@needs_gpu
@pytest.mark.parametrize("variant", list(GRAPH_VARIANTS))
@pytest.mark.parametrize("bs", [0, 5, 64])
def test_graph_capture_and_replay_with_new_inputs(bs, variant):
    """After prepare, the capture records one kernel node and does no JIT work (none at bs 0); each replay, on new
    values in the same buffers, writes what the reference says."""
    options = dict(GRAPH_VARIANTS[variant])
    case = Case(bs, np.random.default_rng(bs + 29), options.pop("sw"), **options)
    trtllm.capture_and_replay(case, launches=bs > 0, check=case.check if bs > 0 else case.check_untouched)


@needs_gpu
def test_new_batch_sizes_lengths_widths_strides_and_entry_sizes_compile_nothing():
    rng = np.random.default_rng(31)
    check_warm_calls(Case(12, rng, FULL, E=16), (
        Case(bs, rng, FULL, E=E, width=width, r2t_layout=layout, stride=stride, lengths=lengths)
        for bs, E, width, layout, stride, lengths in (
            (1, 2, 7, "sliced", 2, "long"), (33, 64, 3000, "contiguous", 1, "mixed"),
            (300, 3, 100, "transposed", 3, "short"), (4096, 16, 20, "contiguous", 1, "short"),
            (65536, 1000, 2, "sliced", 1, "short"), (0, 16, 9, "sliced", 1, "mixed"))))


def check_warm_calls(first, cases):
    """One kernel per switch set: after `first`'s call, every case of `cases` (made as they are called) is a warm
    call, each checked."""
    first.call()
    first.check()
    before = draftjit.stats()
    for case in cases:
        case.call()
        case.check()
    assert draftjit.stats() == before


@needs_gpu
def test_prepare_loads_every_bs_at_once_and_refuses_what_no_call_has():
    sw = Switches("64", len64=True, map=True)
    draftjit.prepare([1, 9, 1000, MAX_BS], kind=KIND, switches=sw.names())
    before = draftjit.stats()
    for bs in (3, 777):
        case = Case(bs, np.random.default_rng(bs), sw)
        case.call()
        case.check()
    assert draftjit.stats() == before
    for switches, word in ((["bogus"], "bogus"), (["start64"], "start64 needs start")):
        with pytest.raises(ValueError, match=word):
            draftjit.prepare([1], kind=KIND, switches=switches)
    with pytest.raises(ValueError, match=re.escape(f"bs = {MAX_BS + 1} is outside")):
        draftjit.prepare([MAX_BS + 1], kind=KIND)


OPCHECK_VARIANTS = {"plain": dict(sw=Switches()), "full-sliced": dict(sw=FULL, r2t_layout="sliced", stride=2)}


@needs_gpu
@pytest.mark.parametrize("variant", list(OPCHECK_VARIANTS))
def test_opcheck(variant):
    options = dict(OPCHECK_VARIANTS[variant])
    case = Case(5, np.random.default_rng(2), options.pop("sw"), **options)
    torch.library.opcheck(getattr(torch.ops.draftjit, OP_NAME).default, case.op_args())


@needs_gpu
@pytest.mark.parametrize("variant", ["plain", "full-transposed-strided"])
def test_array_interface_arrays_get_the_same_results(variant):
    options = {"plain": dict(sw=Switches()),
               "full-transposed-strided": dict(sw=FULL, r2t_layout="transposed", stride=3)}[variant]
    options = dict(options)
    case = Case(70, np.random.default_rng(79), options.pop("sw"), **options)
    call = getattr(draftjit, OP_NAME)
    trtllm.run_twice(case, lambda: call(*[Interface(a) if isinstance(a, torch.Tensor) else a for a in case.op_args()]))
    case.poison()
    call(*case.op_args())  # the same function on tensors goes through the torch op
    case.check()


def argument_errors():
    """(what to pass the op instead, the argument the message must name): each on a case with every switch."""
    return [
        (lambda c: {"page_kernel_lens": c.lens.float()}, "page_kernel_lens"),
        (lambda c: {"req_pool_indices": c.pool.to(torch.int16)}, "req_pool_indices"),
        (lambda c: {"kv_indptr": c.indptr.long()}, "kv_indptr"),
        (lambda c: {"kv_start_idx": c.start.to(torch.int16)}, "kv_start_idx"),
        (lambda c: {"req_to_token": c.r2t.long()}, "req_to_token"),
        (lambda c: {"kv_indices": c.view().to(torch.int16)}, "kv_indices"),
        (lambda c: {"token_mapping": c.mapping.int()}, "token_mapping"),
        (lambda c: {"req_to_token": c.r2t[0]}, "req_to_token"),
        (lambda c: {"kv_indices": c.view()[::2]}, "kv_indices"),
        (lambda c: {"token_mapping": c.mapping[::2]}, "token_mapping"),
        (lambda c: {"kv_indices": c.view().view(1, -1)}, "kv_indices"),
        (lambda c: {"page_kernel_lens": c.lens.cpu()}, "page_kernel_lens"),
        (lambda c: {"page_kernel_lens": c.lens[:c.bs - 1]}, "page_kernel_lens"),
        (lambda c: {"kv_indptr": c.indptr[:c.bs - 1]}, "kv_indptr"),
        (lambda c: {"kv_start_idx": c.start[:c.bs - 1]}, "kv_start_idx"),
        (lambda c: {"entry_page_size": 0}, "entry_page_size"),
        (lambda c: {"entry_page_size": (1 << 30) + 1}, "entry_page_size"),
        (lambda c: {"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}")),
        (lambda c: {"bs": -1}, "bs = -1"),
    ]


@needs_gpu
@pytest.mark.parametrize("change, name", argument_errors())
def test_argument_errors_name_the_argument_and_write_nothing(change, name):
    check_argument_error(Case(5, np.random.default_rng(1), FULL), OP_NAME, change, name)


def check_argument_error(case, op_name, change, name):
    """The op on the case's arguments with change(case) applied refuses them naming `name` (through the torch op,
    PyTorch's exceptions: ValueError with torch 2.11, else RuntimeError), and writes nothing."""
    with pytest.raises((TypeError, ValueError, RuntimeError), match=name):
        getattr(torch.ops.draftjit, op_name).default(*case.op_args(**change(case)))
    case.check_untouched()


@needs_gpu
def test_the_drop_ins_own_errors():
    case = Case(5, np.random.default_rng(1), Switches())
    with pytest.raises(ValueError, match="req_to_token_ptr_stride"):
        case.call(req_to_token_ptr_stride=0)
    with pytest.raises(TypeError, match="req_pool_indices must be a tensor, not None"):
        case.call(req_pool_indices_ptr=None)  # the raw op's schema requires it: torch refuses None, naming nothing
    case.check_untouched()


# --- CPU: the op's description, the kind, the drop-in's signature, upstream's helper -----------------------------

def test_the_op_description_is_the_contract():
    check_description(OP_NAME, NAMES, "kv_indices")


def check_description(op_name, names, written):
    """The op's description (what the torch schema, the pybind function and the checks come from) takes these
    arguments in this order and writes `written` alone; draftjit has a function of its name."""
    described = {name: arguments for name, _, _, arguments in draftjit._core.op_descriptions()}
    assert [name for name, _, _, _ in described[op_name]] == names
    assert {name for name, _, out, _ in described[op_name] if out} == {written}
    assert callable(getattr(draftjit, op_name))


def test_the_kind_is_specialised_by_its_switches_alone():
    kinds = {name: switches for name, _, switches in draftjit.kinds()}
    assert kinds[KIND] == ["start", "start64", "len64", "pool32", "entry", "map", "out64"]
    source = draftjit.emit(1, kind=KIND, switches=["start", "entry"])
    assert source == draftjit.emit(MAX_BS, kind=KIND, switches=["start", "entry"])
    assert source != draftjit.emit(1, kind=KIND, switches=["start"])
    counts = draftjit.warmup([1, 2, 300, 4097, MAX_BS], "sm_89", kind=KIND, switches=["map", "out64"])
    assert counts["kernels"] == 1 and counts["compiled"] + counts["cached"] == 1, counts
    for switches in (["bogus"], ["start64"]):
        with pytest.raises(ValueError):
            draftjit.emit(1, kind=KIND, switches=switches)


@needs_ops
def test_the_drop_in_is_upstreams_signature():
    launcher = sglang.create_flashinfer_kv_indices_triton[(4,)]
    parameters = list(inspect.signature(sglang._flashinfer_kv_indices).parameters.values())[1:]  # the grid
    assert [(p.name, p.default) for p in parameters] == ARGUMENTS
    assert callable(launcher)
    schema = str(getattr(torch.ops.draftjit, OP_NAME).default._schema)
    assert schema.removeprefix("draftjit::") == SCHEMA


def upstream_tree():
    """upstream's kv_indices.py parsed (read, not run), or a skip naming what is missing."""
    path = upstream_kv_indices.path()
    if path is None or not os.path.isfile(path):
        pytest.skip(upstream_kv_indices.missing() or f"no {path}")
    with open(path) as source:
        text = source.read()
    return text, ast.parse(text)


def upstream_helpers(names):
    """upstream's host helpers (plain Python) and the module constants they read, executed alone: no Triton needed."""
    text, tree = upstream_tree()
    scope = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)) or (
                isinstance(node, ast.FunctionDef) and node.name in names):
            exec(compile(ast.Module([node], []), "kv_indices.py", "exec"), scope)  # noqa: S102 (upstream's own)
    absent = [name for name in names if name not in scope]
    assert not absent, f"upstream's kv_indices.py has no {', '.join(absent)} (a file older than the contract tested)"
    return [scope[name] for name in names]


def test_upstreams_file_has_the_signature_tested_here():
    _, tree = upstream_tree()
    kernel = next(node for node in tree.body if isinstance(node, ast.FunctionDef)
                  and node.name == "create_flashinfer_kv_indices_triton")
    names = [arg.arg for arg in kernel.args.args]
    defaults = [NO_DEFAULT] * (len(names) - len(kernel.args.defaults)) + [d.value for d in kernel.args.defaults]
    assert list(zip(names, defaults)) == ARGUMENTS


def test_the_token_block_helper_is_upstreams():
    """draftjit.sglang.kv_indices_num_token_blocks against upstream's own (run from its file alone) and its
    formula, over widths and batch sizes around its thresholds."""
    (theirs,) = upstream_helpers(["kv_indices_num_token_blocks"])
    for width, programs in itertools.product((0, 1, 8191, 8192, 8193, 65536, 1 << 20, 10**7),
                                             (0, 1, 2, 3, 255, 256, 511, 512, 513, 4096)):
        want = max(1, min(-(-width // 8192), 512 // max(1, programs)))
        assert theirs(width, programs) == want
        if HAVE_OPS:
            assert sglang.kv_indices_num_token_blocks(width, programs) == want


def fake_call(bs=4, **overrides):
    """draftjit.flashinfer_kv_indices through the pybind11 path on fake __cuda_array_interface__ arrays, every switch
    on; overrides replace any argument."""
    args = dict(req_to_token=FakeArray(0, shape=(6, 128)), req_pool_indices=FakeArray(bs, "<i8"),
                page_kernel_lens=FakeArray(bs), kv_indptr=FakeArray(bs + 1), kv_start_idx=FakeArray(bs, "<i8"),
                kv_indices=FakeArray(1000, "<i8"), entry_page_size=16, token_mapping=FakeArray(5000, "<i8"), bs=bs)
    args.update(overrides)
    return getattr(draftjit, OP_NAME)(**args)


@pytest.mark.skipif(HAVE_GPU, reason="with a GPU, valid fake arrays would reach a real launch")
def test_arguments_are_checked_before_the_driver():
    """No GPU needed: what the contract accepts reaches the driver (its error, draftjit.Error, is the proof), arrays
    the op's description refuses are refused by name first."""
    for overrides in ({}, {"kv_start_idx": None, "token_mapping": None, "entry_page_size": 1},
                      {"page_kernel_lens": FakeArray(0, "<i8", shape=(4,), strides=(24,)),
                       "req_pool_indices": FakeArray(0, "<i4", shape=(4,), strides=(8,)),
                       "kv_indptr": FakeArray(0, "<i4", shape=(4,), strides=(12,))},
                      {"req_to_token": FakeArray(0, shape=(6, 128), strides=(4, 24))},
                      {"kv_indices": FakeArray(7, "<i4")}):
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):
            fake_call(**overrides)
    refused = [
        ({"page_kernel_lens": FakeArray(4, "<f4")}, "page_kernel_lens"),
        ({"req_pool_indices": FakeArray(4, "<i2")}, "req_pool_indices"),
        ({"kv_indptr": FakeArray(5, "<i8")}, "kv_indptr"),
        ({"kv_start_idx": FakeArray(4, "<i2")}, "kv_start_idx"),
        ({"req_to_token": FakeArray(0, "<i8", shape=(6, 128))}, "req_to_token"),
        ({"req_to_token": FakeArray(768)}, "req_to_token"),
        ({"kv_indices": FakeArray(1000, "<i2")}, "kv_indices"),
        ({"kv_indices": FakeArray(0, "<i8", shape=(100,), strides=(16,))}, "kv_indices"),
        ({"kv_indices": FakeArray(1000, "<i8", readonly=True)}, "kv_indices"),
        ({"token_mapping": FakeArray(100, "<i4")}, "token_mapping"),
        ({"page_kernel_lens": FakeArray(3)}, "page_kernel_lens"),
        ({"kv_start_idx": FakeArray(3, "<i8")}, "kv_start_idx"),
        ({"page_kernel_lens": FakeArray(0, shape=(4,), strides=(6,))}, "page_kernel_lens"),
        ({"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}")),
    ]
    for overrides, name in refused:
        with pytest.raises((TypeError, ValueError), match=name):
            fake_call(**overrides)


def test_the_upstream_loader_says_what_is_missing(monkeypatch):
    trtllm.check_loader_says_what_is_missing(upstream_kv_indices, upstream_kv_indices.KVCACHE, monkeypatch)


# --- against upstream's Triton kernel -----------------------------------------------------------------------

needs_upstream = trtllm.needs_upstream_of(upstream_kv_indices)


def upstream_cases():
    """(id, bs, switches, Case options): where upstream is defined (1-D inputs of stride 1, tables of column stride 1,
    pool indices, columns, tokens and offsets inside their tables). Each switch set and entry size is one Triton
    compile, drawn twice."""
    result = []
    for i, bs in enumerate((1, 2, 7, 31, 32, 33, 64, 255, 256, 257, 1000, 4096)):
        sw = ALL_SWITCHES[(i * 29 + 3) % len(ALL_SWITCHES)]
        result.append((f"sweep-bs{bs}-{sw.id()}", bs, sw, dict(
            E=(2, 16, 64)[i % 3] if sw.entry else 1, width=300 if bs <= 1000 else 40,
            r2t_layout=("contiguous", "sliced")[i % 2], lengths="mixed" if bs <= 1000 else "short")))
    for i in range(12):
        sw = ALL_SWITCHES[(i * 37 + 11) % len(ALL_SWITCHES)]
        result.append((f"matrix-{sw.id()}", 9, sw, dict(E=(3, 16, 64)[i % 3] if sw.entry else 1)))
    result += [
        ("short-in-wide", 64, Switches("32"), dict(width=131072, lengths="short", pool_rows=8)),
        ("million", 2, Switches(), dict(width=1 << 20, lengths="million", pool_rows=2)),
        ("million-entry", 2, Switches(entry=True, map=True), dict(E=16, width=65536, lengths="million",
                                                                   pool_rows=2, mapping_size=(1 << 20) + 3)),
        ("negative", 20, Switches("32", len64=True), dict(lengths="negative")),
        ("wrap-int32", 20, Switches(), dict(lengths="wrap")),
        ("wrap-int64", 20, Switches("64", len64=True, entry=True), dict(E=16, lengths="wrap")),
        ("wide-tokens", 20, Switches(entry=True), dict(E=64, tokens="wide")),
        ("wide-tokens-out64", 20, Switches("32", entry=True, out64=True), dict(E=1000, tokens="wide")),
        ("mapping", 20, Switches(map=True), dict()),
        ("no-gaps", 20, Switches("32", out64=True), dict(gaps=False)),
        ("padded", 24, Switches(), dict(lengths="short")),
    ]
    return result


UPSTREAM_CASES = upstream_cases()


@pytest.fixture(scope="module")
def upstream():
    return upstream_kv_indices.load()


@needs_upstream
@pytest.mark.parametrize("bs, sw, options", [case[1:] for case in UPSTREAM_CASES],
                         ids=[case[0] for case in UPSTREAM_CASES])
def test_draftjit_writes_what_upstream_writes(upstream, bs, sw, options):
    """upstream's kernel launched as flashinfer_backend.py launches it (grid (bs, kv_indices_num_token_blocks(width,
    bs)), TOKEN_BLOCK_PARALLEL when that is above 1) and draftjit.sglang's on twin buffers: every buffer equal bit for
    bit afterwards, and draftjit's equal to the reference."""
    def call_upstream(case):
        args, constexprs = case.launch_args()
        kernel = upstream.create_flashinfer_kv_indices_triton
        kernel[case.grid()](*args, **upstream_sglang.fitted_keywords(kernel, constexprs, ARGUMENTS))

    trtllm.compare_twins(lambda seed: Case(bs, np.random.default_rng(seed), sw, **options), call_upstream,
                         f"{bs}|{sw.id()}|{sorted(options.items())}")
