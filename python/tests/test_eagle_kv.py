"""EAGLE's per-step draft decode KV indices (draftjit.sglang.generate_draft_decode_kv_indices[grid],
torch.ops.draftjit.generate_draft_decode_kv_indices and draftjit.generate_draft_decode_kv_indices) against a NumPy
reference written from docs/BACKENDS.md section 5b and upstream's file, and, where DRAFTJIT_UPSTREAM_SGLANG names
upstream's files, against upstream SGLang's own Triton kernel bit for bit, launched as its callers launch it (grid
(steps, num_seqs, topk), or token-block parallel (steps * blocks, num_seqs, topk) with NUM_STEPS). Built on
test_trtllm_mha.py's and test_eagle.py's helpers: kv_indices [steps, Wk] and kv_indptr [steps, I] are poisoned before
each call and compared whole (entry 0 of each kv_indptr row and the entries past bs * topk keep their poison); the
inputs are checked unchanged. Covered: bs 0 to 65536; steps and topk 1 to 8; page sizes 1, 16 and 3 (the paged
extension with topk > 1); padded graph rows (lengths 1 at pool index 0, positions drawn apart); every dtype switch;
negative tokens; int32 and int64 kv_indices; lengths past req_to_token's columns and pool indices outside it
(draftjit only: left untouched); grids with an empty size; CUDA graph capture (one kernel node); no compile for new
bs, steps, topk, page sizes, widths or strides; opcheck; argument errors; the __cuda_array_interface__ path."""

import dataclasses
import itertools
import re

import numpy as np
import pytest

import draftjit
import upstream_eagle
import upstream_sglang
from test_cpu import FakeArray
from test_eagle import (MAX_BS, CheckedCase, check_argument_error, check_grid_drop_in, check_kind,
                        check_upstream_signature)
from test_trtllm_mha import (BATCH_SIZES, POISON, POOL_GAP, SEQ_GAP, Output, capture_and_replay,
                             check_array_interface_path, check_description, check_loader_says_what_is_missing,
                             check_prepare, check_refused, compare_twins, device_copy, first_difference,
                             layout_shape, layout_view, needs_upstream_of, run_twice, strided_input, trunc_div, wrap32)

from gpu_marks import HAVE_GPU, HAVE_OPS, needs_gpu, needs_ops, torch

if HAVE_OPS:
    from draftjit import sglang

KIND = "draft-kv"
OP_NAME = "generate_draft_decode_kv_indices"
UPSTREAM = upstream_eagle.DRAFT_KV
NAMES = ["req_pool_indices", "req_to_token", "paged_kernel_lens", "kv_indices", "kv_indptr", "positions", "pool_len",
         "kv_indices_stride", "kv_indptr_stride", "bs_upper", "iter_upper", "num_tokens_upper", "page_size",
         "speculative_num_steps", "topk", "bs"]
EXTRA = [("NUM_STEPS", 0)]  # the keyword after NAMES' first 13 upstream, with its default
WRITTEN = {"kv_indices", "kv_indptr"}
SCHEMA = ("generate_draft_decode_kv_indices(Tensor req_pool_indices, Tensor req_to_token, Tensor paged_kernel_lens, "
          "Tensor(a!) kv_indices, Tensor(b!) kv_indptr, Tensor positions, int pool_len, int kv_indices_stride, "
          "int kv_indptr_stride, int bs_upper, int iter_upper, int num_tokens_upper, int page_size, "
          "int speculative_num_steps, int topk, int bs) -> ()")
POS_GAP = 3  # what the gaps of a strided positions hold: read by mistake, it changes kv_indptr


def next_pow2(n):
    return 1 << (n - 1).bit_length() if n > 0 else 1


# --- the reference: docs/BACKENDS.md, "5b. generate_draft_decode_kv_indices" --------------------------------------

def reference(steps, bs, topk, lens, pool, positions, r2t, page_size, *, kv_indices, kv_indices_stride, kv_indptr,
              kv_indptr_stride, lens64=False):
    """Writes into the flat NumPy kv_indices and kv_indptr what one call writes and nothing else. For step d (it =
    d + 1), request q and branch k the segment starts at cum_q * K + q * it * K + k * (len_q + it) of step d's row
    (in int32 with int32 lengths): the request's row prefix, then `it` extension tokens from e0 (len_q + k * steps,
    or on the branch's own pages when page_size > 1 and topk > 1). kv_indptr[d, z] = sum(positions[:z]) + z * it in
    int32 for 1 <= z <= bs * topk. Entries whose source column is outside req_to_token, whose pool index is outside
    its rows, or whose destination is outside [0, kv_indices_stride) of its row or past kv_indices, are left alone
    (upstream reads or writes elsewhere there)."""
    if steps == 0 or bs == 0 or topk == 0:
        return
    rows, width = r2t.shape
    tokens = bs * topk
    lens = np.asarray(lens[:bs], dtype=np.int64)
    pool = np.asarray(pool[:bs], dtype=np.int64)
    cum = np.concatenate([[0], np.cumsum(lens)[:-1]])
    before = np.concatenate([[0], np.cumsum(np.asarray(positions[:tokens], dtype=np.int64))])

    def in_width(x):
        return np.int64(x) if lens64 else np.int64(wrap32(x))

    def put(d, columns, values):
        at = d * kv_indices_stride + columns
        keep = (columns >= 0) & (columns < kv_indices_stride) & (at < len(kv_indices))
        kv_indices[at[keep]] = np.asarray(values)[keep]

    for d in range(steps):
        it = d + 1
        z = np.arange(1, tokens + 1)
        kv_indptr[d * kv_indptr_stride + z] = wrap32(before[z] + z * it)
        for q in range(bs):
            length, p = int(lens[q]), int(pool[q])
            if not 0 <= p < rows:
                continue
            prefix = np.arange(max(0, min(length, width)))
            last = int(np.fmod(length, page_size))
            for k in range(topk):
                base = int(in_width(int(cum[q]) * topk + q * it * topk + k * (length + it)))
                put(d, base + prefix, r2t[p, prefix])
                if page_size == 1 or topk == 1:
                    e0 = in_width(length + k * steps)
                else:
                    pages = int(trunc_div(in_width(last + steps + page_size - 1), page_size))
                    e0 = in_width(int(trunc_div(length, page_size)) * page_size + k * pages * page_size + last)
                columns = int(e0) + np.arange(it)
                inside = (columns >= 0) & (columns < width)
                put(d, (base + length + np.arange(it))[inside], r2t[p, columns[inside]])


def test_reference_on_a_worked_example():
    """2 steps, 2 requests of lengths 2 and 1, topk 2, page size 1: rows 0 and 1 hold 10 and 14 entries."""
    r2t = np.arange(20, dtype=np.int32).reshape(2, 10)
    p = POISON[np.dtype(np.int32)]
    kv, ptr = np.full(2 * 16, p, dtype=np.int32), np.full(2 * 6, p, dtype=np.int32)
    reference(2, 2, 2, [2, 1], [0, 1], [2, 2, 1, 1], r2t, 1, kv_indices=kv, kv_indices_stride=16, kv_indptr=ptr,
              kv_indptr_stride=6)
    assert kv[:16].tolist() == [0, 1, 2, 0, 1, 4, 10, 11, 10, 13] + [p] * 6
    assert kv[16:].tolist() == [0, 1, 2, 3, 0, 1, 4, 5, 10, 11, 12, 10, 13, 14] + [p] * 2
    assert ptr.tolist() == [p, 3, 6, 8, 10, p, p, 4, 8, 11, 14, p]
    # pages of 4 and topk 2: request 0 (length 6, 2 in its last page, row 1 of a wider table) extends branch k from
    # column 4 + k * cdiv(2 + 2, 4) * 4 + 2
    wide = np.arange(40, dtype=np.int32).reshape(2, 20)
    kv, ptr = np.full(2 * 20, p, dtype=np.int32), np.full(2 * 4, p, dtype=np.int32)
    reference(2, 1, 2, [6], [1], [6, 6], wide, 4, kv_indices=kv, kv_indices_stride=20, kv_indptr=ptr,
              kv_indptr_stride=4)
    prefix = list(range(20, 26))
    assert kv[:20].tolist() == prefix + [26] + prefix + [30] + [p] * 6
    assert kv[20:].tolist() == prefix + [26, 27] + prefix + [30, 31] + [p] * 4
    assert ptr.tolist() == [p, 7, 14, p, p, 8, 16, p]
    # a pool index outside the table leaves the request's entries alone; kv_indptr is written all the same
    kv, ptr = np.full(8, p, dtype=np.int32), np.full(3, p, dtype=np.int32)
    reference(1, 1, 1, [2], [5], [7], r2t, 1, kv_indices=kv, kv_indices_stride=8, kv_indptr=ptr, kv_indptr_stride=3)
    assert (kv == p).all() and ptr.tolist() == [p, 8, p]


# --- switch sets and the case -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Switches:
    """req_pool_indices int32, paged_kernel_lens int64, positions int32, kv_indices int64: the kernel's switches
    (SGLang's own: int64 pool indices and positions, int32 kv_indices; lengths either)."""
    pool32: bool = False
    len64: bool = False
    pos32: bool = False
    out64: bool = False

    def names(self):
        return [name for name in ("pool32", "len64", "pos32", "out64") if getattr(self, name)]

    def id(self):
        return "-".join(self.names()) or "plain"


ALL_SWITCHES = [Switches(*bits) for bits in itertools.product((False, True), repeat=4)]


class Case(CheckedCase):
    """One call's inputs on the GPU and its poisoned outputs: kv_indices [steps, Wk] (Wk fits the longest lengths
    drawn, plus `spare`), kv_indptr [steps, I] (I = bs * topk + 1 + 3). req_to_token has pool_rows rows and `width`
    columns (default: the longest prefix and extension) in `layout`; 1-D inputs hold `extra` entries past their
    count and are every stride-th element of a larger tensor when stride > 1. lengths: "mixed" (0 to max_len, some
    padded graph rows: length 1 at pool index 0 with positions drawn apart), "past" (a third at or past the table's
    columns, so that prefixes or extensions leave the row: draftjit only). No length is negative: segments would
    overlap, and which write lands last is unordered, upstream's as draftjit's. bad: "pool" (pool indices outside the
    rows). blocks > 0: the token-block parallel grid (steps * blocks, bs, topk) with NUM_STEPS = steps."""

    INPUTS = ("pool", "r2t", "lens", "pos")

    def __init__(self, bs, rng, sw=Switches(), *, steps=3, topk=2, page_size=1, max_len=40, width=None,
                 layout="contiguous", stride=1, extra=2, pool_rows=None, lengths="mixed", bad=(), spare=5, blocks=0):
        self.bs, self.rng, self.sw, self.steps, self.topk, self.P = bs, rng, sw, steps, topk, page_size
        self.N = bs * topk
        self.max_len, self.lengths, self.bad, self.blocks = max_len, lengths, set(bad), blocks
        reach = max_len + topk * -(-(page_size - 1 + steps) // page_size) * page_size + steps  # the last extension's
        self.W = width if width is not None else reach
        self.pool_rows = pool_rows if pool_rows is not None else min(bs, 256) + 3
        self.n = bs + extra
        self.len_dtype = np.int64 if sw.len64 else np.int32
        self.pool_dtype = np.int32 if sw.pool32 else np.int64
        self.pos_dtype = np.int32 if sw.pos32 else np.int64
        self.out_dtype = np.int64 if sw.out64 else np.int32
        self.new_values()
        base = torch.zeros(layout_shape(self.pool_rows, self.W, layout), dtype=torch.int32, device="cuda")
        self.r2t = layout_view(base, self.pool_rows, self.W, layout)
        self.r2t.copy_(device_copy(self.r2t_h, np.int32))
        self.lens = strided_input(self.lens_h, self.len_dtype, stride, SEQ_GAP)
        self.pool = strided_input(self.pool_h, self.pool_dtype, stride, POOL_GAP)
        self.pos = strided_input(self.pos_h, self.pos_dtype, stride, POS_GAP)
        self.Wk = max(topk * (bs * (max_len + steps)), 1) + spare
        self.I = self.N + 4
        self.outputs = {"kv_indices": Output((max(steps, 1), self.Wk), self.out_dtype),
                        "kv_indptr": Output((max(steps, 1), self.I), np.int32)}

    def new_values(self):
        rng, n = self.rng, self.n
        lens = rng.integers(0, self.max_len + 1, n)
        lens[rng.random(n) < 0.1] = self.max_len
        lens[rng.random(n) < 0.1] = 0
        if self.lengths == "past":
            past = rng.random(n) < 0.35
            lens[past] = rng.choice(np.array([self.W - 1, self.W, self.W + 7]), int(past.sum()))
        pool = rng.integers(0, self.pool_rows, n)
        pos = np.repeat(lens, self.topk)[:max(self.n * self.topk, 0)]
        pos = pos + (rng.random(len(pos)) < 0.1) * rng.integers(-2, 3, len(pos))
        padded = rng.random(n) < 0.2
        lens[padded], pool[padded] = 1, 0  # SGLang's padded graph rows; their positions stay as drawn
        if "pool" in self.bad:
            outside = [self.pool_rows, -1, self.pool_rows + 100] + ([2**31 - 1] if self.sw.pool32 else [2**33])
            picked = rng.random(n) < 0.3
            pool[picked] = rng.choice(np.array(outside, dtype=np.int64), int(picked.sum()))
        self.lens_h, self.pool_h, self.pos_h = lens, pool, pos
        r2t = rng.integers(0, 1 << 22, (self.pool_rows, self.W)).astype(np.int64)
        negative = rng.random(r2t.shape) < 0.05
        r2t[negative] = rng.choice(np.array([-1, -2, -2**31]), int(negative.sum()))
        self.r2t_h = r2t.astype(np.int32)

    def upload(self):
        self.lens.copy_(device_copy(self.lens_h, self.len_dtype))
        self.pool.copy_(device_copy(self.pool_h, self.pool_dtype))
        self.pos.copy_(device_copy(self.pos_h, self.pos_dtype))
        self.r2t.copy_(device_copy(self.r2t_h, np.int32))

    def view(self, name):
        return self.outputs[name].view

    def arguments(self):
        """The kernel's positional arguments, upstream's order, as its callers pass them (the grid has the sizes)."""
        return (self.pool, self.r2t, self.lens, self.view("kv_indices"), self.view("kv_indptr"), self.pos, self.W,
                self.Wk, self.I, next_pow2(self.bs), next_pow2(self.steps), next_pow2(self.N), self.P)

    def grid(self):
        return (self.steps * max(self.blocks, 1), self.bs, self.topk)

    def extra(self):
        """The keywords after the arguments: NUM_STEPS with the token-block grid."""
        return {"NUM_STEPS": self.steps} if self.blocks else {}

    def launch(self, kernel, extra=None, **overrides):
        """kernel[grid](...) as upstream's callers launch generate_draft_decode_kv_indices (extra: self.extra())."""
        arguments = dict(zip(NAMES, self.arguments()), **overrides)
        grid = arguments.pop("grid", self.grid())
        kernel[grid](*arguments.values(), **(self.extra() if extra is None else extra))

    def call(self, **overrides):
        self.launch(sglang.generate_draft_decode_kv_indices, **overrides)

    def op_args(self, **overrides):
        flat = {"kv_indices": self.view("kv_indices").view(-1), "kv_indptr": self.view("kv_indptr").view(-1)}
        named = {**dict(zip(NAMES, self.arguments() + (self.steps, self.topk, self.bs))), **flat, **overrides}
        return tuple(named[name] for name in NAMES)

    def prepare(self):
        draftjit.prepare([self.bs], kind=KIND, switches=self.sw.names())

    def label(self):
        return f"bs {self.bs} {self.sw.id()} steps {self.steps} topk {self.topk} page {self.P}"

    def expect(self):
        reference(self.steps, self.bs, self.topk, self.lens_h, self.pool_h, self.pos_h, self.r2t_h, self.P,
                  kv_indices=self.outputs["kv_indices"].host.reshape(-1), kv_indices_stride=self.Wk,
                  kv_indptr=self.outputs["kv_indptr"].host.reshape(-1), kv_indptr_stride=self.I,
                  lens64=self.sw.len64)

    def problems(self):
        torch.cuda.synchronize()
        found = [first_difference(name, out.base.cpu().numpy(), out.host) for name, out in self.outputs.items()]
        for name, tensor, host, dtype in (("paged_kernel_lens", self.lens, self.lens_h, self.len_dtype),
                                          ("req_pool_indices", self.pool, self.pool_h, self.pool_dtype),
                                          ("positions", self.pos, self.pos_h, self.pos_dtype),
                                          ("req_to_token", self.r2t, self.r2t_h, np.int32)):
            found.append(first_difference(f"input {name}", tensor.cpu().numpy(), host.astype(dtype)))
        return [problem for problem in found if problem]


# --- GPU: results against the reference ---------------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("sw", ALL_SWITCHES, ids=Switches.id)
def test_every_switch_set_matches_the_reference(sw):
    index = ALL_SWITCHES.index(sw)
    for bs in (7, 45):
        run_twice(Case(bs, np.random.default_rng(index * 100 + bs), sw, steps=1 + index % 8, topk=1 + bs % 4,
                       page_size=(1, 16, 3)[index % 3], stride=1 + index % 3))


@needs_gpu
@pytest.mark.parametrize("bs", BATCH_SIZES)
def test_batch_sizes_match_the_reference(bs):
    index = BATCH_SIZES.index(bs)
    small = bs > 1000  # the reference loops over requests in Python
    run_twice(Case(bs, np.random.default_rng(bs), ALL_SWITCHES[index % len(ALL_SWITCHES)], steps=1 if small else 3,
                   topk=1 if small else (1, 2, 4)[index % 3], page_size=(1, 16)[index % 2],
                   max_len=8 if small else 60))


@needs_gpu
@pytest.mark.parametrize("steps, topk", [(s, k) for s in range(1, 9) for k in (1, 2, 5, 8)])
@pytest.mark.parametrize("page_size", [1, 16, 3])
def test_steps_topk_and_page_sizes(steps, topk, page_size):
    """The extension's two formulas: steps per branch (page size 1 or topk 1), the branch's own pages (else)."""
    run_twice(Case(9, np.random.default_rng(steps * 100 + topk * 10 + page_size), steps=steps, topk=topk,
                   page_size=page_size))


@needs_gpu
@pytest.mark.parametrize("blocks", [1, 2, 7])
def test_the_token_block_parallel_grid_writes_the_same(blocks):
    """(steps * blocks, bs, topk) with NUM_STEPS = steps: upstream's token-block split, the same values; long rows."""
    run_twice(Case(5, np.random.default_rng(blocks), Switches(out64=True), steps=4, topk=3, page_size=16,
                   max_len=3000, blocks=blocks))


@needs_gpu
def test_a_grid_shorter_than_num_steps_is_refused():
    case = Case(5, np.random.default_rng(8), steps=4, blocks=1)
    with pytest.raises(ValueError, match="NUM_STEPS"):
        case.call(grid=(3, 5, 2))
    case.check_untouched()


@needs_gpu
def test_long_rows_and_wide_tables():
    """Prefixes of several tiles (1024 tokens each) over many splits, and requests of very different lengths; then a
    batch past a wave of blocks, where a request's one split copies all its tiles into every segment."""
    for sw in (Switches(), Switches(len64=True, out64=True)):
        run_twice(Case(3, np.random.default_rng(11), sw, steps=2, topk=2, max_len=20000, page_size=64))
    run_twice(Case(1500, np.random.default_rng(12), steps=2, topk=2, max_len=2500))


@needs_gpu
@pytest.mark.parametrize("bs", [1, 20, 40])
@pytest.mark.parametrize("steps, topk", [(2, 7), (1, 13)])
def test_segment_groups_of_every_size(bs, steps, topk):
    """Few requests of a few tiles (3 here: bs x 3 items, fewer than an H100's or H200's 132 SMs) leave SMs without a
    block: each tile split's segments divide into groups, here of sizes that leave the last group short (13
    segments) or cross from one step to the next (7 a step)."""
    run_twice(Case(bs, np.random.default_rng(bs * 10 + topk), steps=steps, topk=topk, max_len=2500))


@needs_gpu
def test_lengths_past_the_table_and_bad_pool_indices_are_left_untouched():
    """Upstream reads another row (or past the table) there; draftjit writes none of those kv_indices entries."""
    for sw in ALL_SWITCHES[::5]:
        run_twice(Case(40, np.random.default_rng(67), sw, steps=3, topk=2, lengths="past", bad=("pool",)))


@needs_gpu
def test_rows_too_narrow_for_their_segments_keep_what_they_held():
    """A kv_indices_stride short of the step's entries: draftjit writes only inside each step's row."""
    case = Case(20, np.random.default_rng(5), steps=3, topk=2)
    case.Wk = case.Wk // 3  # the rows are read as narrower ones of the same buffer
    run_twice(case)


@needs_gpu
@pytest.mark.parametrize("grid", [(0, 5, 2), (3, 0, 2), (3, 5, 0)], ids=["no-steps", "bs0", "no-topk"])
def test_empty_grids_write_nothing(grid):
    case = Case(5, np.random.default_rng(3))
    case.call(grid=grid)
    case.check_untouched()


# --- GPU: graphs, compiles, the op and its arguments ------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("sw", [Switches(), Switches(pool32=True, len64=True, pos32=True, out64=True)],
                         ids=Switches.id)
@pytest.mark.parametrize("bs", [0, 5, 64])
def test_graph_capture_and_replay_with_new_inputs(bs, sw):
    case = Case(bs, np.random.default_rng(bs + 17), sw, steps=4, topk=4, page_size=16, layout="sliced")
    capture_and_replay(case, launches=bs > 0, check=case.check if bs > 0 else case.check_untouched)


@needs_gpu
def test_new_batch_sizes_steps_topk_page_sizes_widths_and_strides_compile_nothing():
    rng = np.random.default_rng(73)
    first = Case(12, rng, steps=3, topk=2)
    first.call()
    first.check()
    before = draftjit.stats()
    for bs, steps, topk, page_size, max_len, layout, stride in (
            (1, 8, 8, 16, 300, "sliced", 2), (33, 1, 1, 1, 64, "transposed", 3), (300, 5, 3, 3, 20, "contiguous", 1),
            (65536, 1, 1, 64, 4, "sliced", 1), (0, 2, 2, 1, 10, "contiguous", 1), (5, 2, 7, 128, 2000, "sliced", 2)):
        case = Case(bs, rng, steps=steps, topk=topk, page_size=page_size, max_len=max_len, layout=layout,
                    stride=stride)
        case.call()
        case.check()
    assert draftjit.stats() == before


@needs_gpu
def test_prepare_loads_every_bs_at_once_and_refuses_what_no_call_has():
    sw = Switches(pool32=True, out64=True)
    check_prepare(KIND, sw.names(), lambda bs: Case(bs, np.random.default_rng(bs), sw), MAX_BS,
                  [([name], name) for name in ("bogus", "seq64", "paged")])


@needs_gpu
@pytest.mark.parametrize("sw, layout", [(Switches(), "contiguous"), (Switches(True, True, True, True), "sliced")],
                         ids=["plain", "all-sliced"])
def test_opcheck(sw, layout):
    case = Case(5, np.random.default_rng(2), sw, steps=3, topk=2, page_size=16, layout=layout)
    torch.library.opcheck(getattr(torch.ops.draftjit, OP_NAME).default, case.op_args())


@needs_gpu
@pytest.mark.parametrize("layout, stride", [("contiguous", 1), ("transposed", 3)])
def test_array_interface_arrays_get_the_same_results(layout, stride):
    case = Case(70, np.random.default_rng(79), steps=3, topk=4, layout=layout, stride=stride)
    check_array_interface_path(case, OP_NAME)


def argument_errors():
    """(what to pass instead, the argument the message must name), on a case of bs 5, 3 steps, topk 2."""
    return [
        (lambda c: {"paged_kernel_lens": c.lens.float()}, "paged_kernel_lens"),
        (lambda c: {"req_pool_indices": c.pool.to(torch.int16)}, "req_pool_indices"),
        (lambda c: {"positions": c.pos.to(torch.int16)}, "positions"),
        (lambda c: {"req_to_token": c.r2t.long()}, "req_to_token"),
        (lambda c: {"kv_indices": c.view("kv_indices").to(torch.int16)}, "kv_indices"),
        (lambda c: {"kv_indptr": c.view("kv_indptr").long()}, "kv_indptr"),
        (lambda c: {"paged_kernel_lens": c.lens[:4]}, "paged_kernel_lens"),
        (lambda c: {"positions": c.pos[:9]}, "positions"),
        (lambda c: {"positions": c.pos.cpu()}, "positions"),
        (lambda c: {"pool_len": c.W + 1}, "pool_len"),
        (lambda c: {"bs_upper": 4}, "bs_upper"),
        (lambda c: {"iter_upper": 2}, "iter_upper"),
        (lambda c: {"num_tokens_upper": 9}, "num_tokens_upper"),
        (lambda c: {"page_size": 0}, "page_size"),
        (lambda c: {"kv_indptr_stride": 10}, "kv_indptr_stride"),
        (lambda c: {"kv_indptr": c.view("kv_indptr")[:2]}, "kv_indptr"),
        (lambda c: {"kv_indices_stride": -1}, "kv_indices_stride"),
        (lambda c: {"kv_indices": None}, "kv_indices"),
        (lambda c: {"positions": None}, "positions"),
        (lambda c: {"grid": (3, MAX_BS + 1, 2)}, re.escape(f"bs = {MAX_BS + 1}")),
    ]


@needs_gpu
@pytest.mark.parametrize("change, name", argument_errors())
def test_argument_errors_name_the_argument_and_write_nothing(change, name):
    check_argument_error(Case(5, np.random.default_rng(1), steps=3, topk=2), change, name)


# --- CPU: the op's description, the kind, the drop-in ----------------------------------------------------------

def test_the_op_description_is_the_contract():
    check_description(OP_NAME, NAMES, WRITTEN)


def test_the_kind_is_specialised_by_its_switches_alone():
    check_kind(KIND, ["pool32", "len64", "pos32", "out64"], refused=(["bogus"], ["seq64"], ["paged"]))


@needs_ops
def test_the_drop_in_is_launched_as_upstreams_kernel():
    """kernel[grid](...): upstream's name, a launcher per grid, the Triton kernel's positional arguments and its
    NUM_STEPS keyword; a grid of 1 to 3 sizes."""
    check_grid_drop_in(sglang.generate_draft_decode_kv_indices, OP_NAME, (3, 4, 2), [None] * 6 + [1] * 7, SCHEMA)


def test_upstreams_file_has_the_kernel_tested_here():
    """Read (not run) from DRAFTJIT_UPSTREAM_SGLANG when it is set: upstream's kernel takes these arguments, all
    but the tensors constexprs, and NUM_STEPS (default 0) last."""
    check_upstream_signature(UPSTREAM, NAMES[:-3] + ["NUM_STEPS"], NAMES[6:-3] + ["NUM_STEPS"])


def fake_call(bs=4, topk=2, steps=3, width=64, **overrides):
    """draftjit.generate_draft_decode_kv_indices through the pybind11 path on fake __cuda_array_interface__ arrays."""
    args = dict(req_pool_indices=FakeArray(bs, "<i8"), req_to_token=FakeArray(0, shape=(bs, width)),
                paged_kernel_lens=FakeArray(bs, "<i4"), kv_indices=FakeArray(steps * 400),
                kv_indptr=FakeArray(steps * 10), positions=FakeArray(bs * topk, "<i8"), pool_len=width,
                kv_indices_stride=400, kv_indptr_stride=10, bs_upper=4, iter_upper=4, num_tokens_upper=8,
                page_size=1, speculative_num_steps=steps, topk=topk, bs=bs)
    args.update(overrides)
    return getattr(draftjit, OP_NAME)(**args)


@pytest.mark.skipif(HAVE_GPU, reason="with a GPU, valid fake arrays would reach a real launch")
def test_arguments_are_checked_before_the_driver():
    """No GPU needed: what the contract accepts reaches the driver (its error, draftjit.Error, is the proof), arrays
    the op's description refuses are refused by name first (the call's own checks, past the device's context, are
    tests/unit/eagle_args_test.cpp's)."""
    for overrides in ({}, {"paged_kernel_lens": FakeArray(0, "<i8", shape=(4,), strides=(16,)),
                           "positions": FakeArray(0, "<i4", shape=(8,), strides=(12,)),
                           "kv_indices": FakeArray(1200, "<i8")}):
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):
            fake_call(**overrides)
    refused = [
        ({"paged_kernel_lens": FakeArray(4, "<f4")}, "paged_kernel_lens"),
        ({"req_pool_indices": FakeArray(4, "<i2")}, "req_pool_indices"),
        ({"req_to_token": FakeArray(0, "<i8", shape=(4, 64))}, "req_to_token"),
        ({"kv_indptr": FakeArray(30, "<i8")}, "kv_indptr"),
        ({"kv_indices": FakeArray(0, shape=(3, 400))}, "kv_indices"),
        ({"positions": FakeArray(7, "<i8")}, "positions"),
        ({"paged_kernel_lens": FakeArray(3, "<i4")}, "paged_kernel_lens"),
        ({"topk": -1}, "topk"),
        ({"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}")),
    ]
    check_refused(fake_call, refused)


def test_the_upstream_loader_says_what_is_missing(monkeypatch):
    check_loader_says_what_is_missing(UPSTREAM, UPSTREAM.FOLDER, monkeypatch)


# --- against upstream's Triton kernel -----------------------------------------------------------------------

needs_upstream = needs_upstream_of(UPSTREAM)


def upstream_cases():
    """(id, bs, switches, Case options): where upstream is defined (stride-1 inputs, a contiguous table, lengths
    inside its columns, pool indices inside its rows). Each (widths, uppers, page size, NUM_STEPS) is a compile."""
    result = []
    for i, bs in enumerate((1, 2, 7, 31, 32, 33, 64, 65, 255, 256, 257, 1000)):
        sw = ALL_SWITCHES[(i * 7 + 3) % len(ALL_SWITCHES)]
        result.append((f"sweep-bs{bs}-{sw.id()}", bs, sw, dict(steps=1 + i % 8, topk=(1, 2, 4, 8)[i % 4],
                                                               page_size=(1, 16, 3)[i % 3], max_len=40)))
    result += [(f"steps{s}-topk{k}-page{p}", 9, ALL_SWITCHES[(s * k + p) % 16], dict(steps=s, topk=k, page_size=p))
               for s, k, p in ((1, 1, 1), (8, 8, 1), (3, 4, 16), (5, 2, 3), (2, 8, 64), (8, 1, 16))]
    result += [(f"token-blocks-{b}", 6, Switches(out64=True), dict(steps=3, topk=2, page_size=16, max_len=3000,
                                                                    blocks=b)) for b in (1, 4)]
    result += [("padded-rows", 24, Switches(len64=True), dict(steps=4, topk=2, page_size=1))]
    return result


UPSTREAM_CASES = upstream_cases()


@needs_upstream
@pytest.mark.parametrize("bs, sw, options", [case[1:] for case in UPSTREAM_CASES],
                         ids=[case[0] for case in UPSTREAM_CASES])
def test_draftjit_writes_what_upstream_writes(bs, sw, options):
    """Upstream's kernel, launched as its callers launch it, and draftjit.sglang's drop-in get the same arguments
    on twin buffers; afterwards every buffer must be equal bit for bit, and draftjit's equal to the reference."""
    kernel = getattr(UPSTREAM.load(), UPSTREAM.FUNCTION)
    compare_twins(lambda seed: Case(bs, np.random.default_rng(seed), sw, **options),
                  lambda case: case.launch(kernel, upstream_sglang.fitted_keywords(kernel, case.extra(), EXTRA)),
                  f"eagle-kv|{bs}|{sw.id()}|{sorted(options.items())}")
