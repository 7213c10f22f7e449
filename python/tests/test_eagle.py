"""EAGLE's contiguous draft cache locations (draftjit.sglang.assign_draft_cache_locs_contiguous[grid],
torch.ops.draftjit.assign_draft_cache_locs_contiguous and draftjit.assign_draft_cache_locs_contiguous) against a
NumPy reference written from docs/BACKENDS.md section 5a and upstream's file, and, where DRAFTJIT_UPSTREAM_SGLANG
names upstream's files, against upstream SGLang's own Triton kernel bit for bit. Built on test_trtllm_mha.py's
helpers: out_cache_loc is poisoned before each call and compared whole (a poisoned tail past bs * topk * steps, and
entries upstream leaves undefined, keep their poison); the inputs are checked unchanged. Covered: bs 0 to 65536; both
dtypes of seq_lens and req_pool_indices; topk and steps from 0 to runs of several tiles; padded graph rows; runs at
the row's end; negative tokens (sign-extended); strided inputs and sliced or transposed tables (draftjit only); bad
data draftjit guards (pool indices outside req_to_token, runs past its columns or before them: left untouched); grids
with an empty size; CUDA graph capture (one kernel node); no compile for new bs, topk, steps, widths or strides;
opcheck; argument errors; the __cuda_array_interface__ path."""

import dataclasses
import itertools
import os
import re

import numpy as np
import pytest

import draftjit
import upstream_eagle
from test_cpu import FakeArray
from test_trtllm_mha import (BATCH_SIZES, LAYOUTS, POISON, POOL_GAP, SEQ_GAP, Interface, Output, capture_and_replay,
                             check_array_interface_path, check_description, check_loader_says_what_is_missing,
                             check_prepare, check_refused, compare_twins, device_copy, first_difference,
                             layout_shape, layout_view, needs_upstream_of, run_twice, strided_input)

from gpu_marks import HAVE_GPU, HAVE_OPS, needs_gpu, needs_ops, torch

if HAVE_OPS:
    from draftjit import sglang

KIND = "draft-locs"
OP_NAME = "assign_draft_cache_locs_contiguous"
UPSTREAM = upstream_eagle.CACHE_LOCS
NAMES = ["req_pool_indices", "req_to_token", "seq_lens", "out_cache_loc", "pool_len", "topk", "speculative_num_steps",
         "bs"]
WRITTEN = {"out_cache_loc"}
SCHEMA = ("assign_draft_cache_locs_contiguous(Tensor req_pool_indices, Tensor req_to_token, Tensor seq_lens, "
          "Tensor(a!) out_cache_loc, int pool_len, int topk, int speculative_num_steps, int bs) -> ()")
MAX_BS = next(top for name, _, _, top in next(arguments for op, _, _, arguments in draftjit._core.op_descriptions()
                                             if op == OP_NAME) if name == "bs")
TAIL = 5  # entries of out_cache_loc past bs * topk * steps, which must keep their poison


# --- the reference: docs/BACKENDS.md, "5a. assign_draft_cache_locs_contiguous" -----------------------------------

def reference(bs, seq_lens, req_pool_indices, req_to_token, topk, steps, *, out_cache_loc):
    """Writes into out_cache_loc (NumPy, int64) what one call writes and nothing else: with C = topk * steps,
    out_cache_loc[b * C + j] = req_to_token[req_pool_indices[b], seq_lens[b] + j] for j < C. Where upstream reads
    outside the request's row (a pool index outside req_to_token's rows; a column outside its columns: upstream's
    precondition seq_lens[b] + C <= pool_len broken) the entry is left as it was."""
    C = topk * steps
    if bs == 0 or C == 0:
        return
    rows, width = req_to_token.shape
    pool = np.asarray(req_pool_indices[:bs], dtype=np.int64)[:, None]
    columns = np.asarray(seq_lens[:bs], dtype=np.int64)[:, None] + np.arange(C)[None, :]
    inside = (pool >= 0) & (pool < rows) & (columns >= 0) & (columns < width)
    values = np.asarray(req_to_token, dtype=np.int64)[np.clip(pool, 0, rows - 1), np.clip(columns, 0, width - 1)]
    block = out_cache_loc[:bs * C].reshape(bs, C)
    block[inside] = values[inside]


def test_reference_on_a_worked_example():
    p = POISON[np.dtype(np.int64)]
    r2t = np.arange(30, dtype=np.int32).reshape(3, 10)
    r2t[1, 4] = -1
    out = np.full(2 * 3 + 2, p, dtype=np.int64)
    # topk 1, steps 3: request 0 reads row 2 from column 7, request 1 row 1 from column 3 (a -1 token: sign-extended)
    reference(2, [7, 3, 99], [2, 1, 0], r2t, 1, 3, out_cache_loc=out)
    assert out.tolist() == [27, 28, 29, 13, -1, 15, p, p]
    # runs past the row's end or before its start, and a pool index outside the rows, leave entries as they were
    edge = np.full(3 * 2, p, dtype=np.int64)
    reference(3, [9, -1, 0], [0, 0, 3], r2t, 2, 1, out_cache_loc=edge)
    assert edge.tolist() == [9, p, p, 0, p, p]
    nothing = np.full(4, p, dtype=np.int64)
    for bs, topk in ((0, 2), (2, 0)):
        reference(bs, [0, 0], [0, 0], r2t, topk, 2, out_cache_loc=nothing)
    assert (nothing == p).all()


# --- switch sets and the case -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Switches:
    """seq_lens int64 (SGLang's own; int32 else), req_pool_indices int32 (int64 else): the kernel's switches."""
    seq64: bool = True
    pool32: bool = False

    def names(self):
        return [name for name, on in (("seq64", self.seq64), ("pool32", self.pool32)) if on]

    def id(self):
        return "-".join(self.names()) or "seq32"


ALL_SWITCHES = [Switches(*bits) for bits in itertools.product((False, True), repeat=2)]


class CheckedCase:
    """What the family's cases share: poisoning every output, and checking them (and the inputs) against the
    reference (expect) or against their poison, by problems(); label() names the case in a failure."""

    def poison(self):
        for output in self.outputs.values():
            output.poison()

    def check(self):
        self.expect()
        problems = self.problems()
        assert not problems, f"{self.label()}: " + "; ".join(problems)

    def check_untouched(self):
        problems = self.problems()
        assert not problems, "; ".join(problems)


class Case(CheckedCase):
    """One call's inputs on the GPU and its poisoned out_cache_loc (bs * C + TAIL entries), with the host values
    reference() reads. req_to_token has pool_rows rows and `width` columns (default C + 300) in `layout`; 1-D inputs
    hold `extra` entries past bs and are every stride-th element of a larger tensor when stride > 1. starts: "mixed"
    (runs inside the row, some at its start or its end; padded graph rows: seq_len 1 at pool index 0), "past" (a
    third past the row's end or before its start: draftjit only). bad: "pool" (pool indices outside the rows)."""

    INPUTS = ("seq", "pool", "r2t")  # the input tensors twin_differences compares, by attribute

    def __init__(self, bs, rng, sw=Switches(), *, topk=1, steps=3, width=None, layout="contiguous", stride=1, extra=2,
                 pool_rows=None, starts="mixed", bad=()):
        self.bs, self.rng, self.sw, self.topk, self.steps = bs, rng, sw, topk, steps
        self.C = topk * steps
        self.W = width if width is not None else self.C + 300
        self.starts, self.bad, self.stride, self.n = starts, set(bad), stride, bs + extra
        self.pool_rows = pool_rows if pool_rows is not None else min(bs, 256) + 3
        self.seq_dtype = np.int64 if sw.seq64 else np.int32
        self.pool_dtype = np.int32 if sw.pool32 else np.int64
        self.new_values()
        base = torch.zeros(layout_shape(self.pool_rows, self.W, layout), dtype=torch.int32, device="cuda")
        self.r2t = layout_view(base, self.pool_rows, self.W, layout)
        self.r2t.copy_(device_copy(self.r2t_h, np.int32))
        self.seq = strided_input(self.seq_h, self.seq_dtype, stride, SEQ_GAP)
        self.pool = strided_input(self.pool_h, self.pool_dtype, stride, POOL_GAP)
        self.outputs = {"out_cache_loc": Output((bs * self.C + TAIL,), np.int64)}

    def new_values(self):
        rng, n, W, C = self.rng, self.n, self.W, self.C
        last = max(W - C, 0)
        seq = rng.integers(0, last + 1, n)
        seq[rng.random(n) < 0.1] = last
        seq[rng.random(n) < 0.1] = 0
        if self.starts == "past":
            past = rng.random(n) < 0.35
            seq[past] = rng.choice(np.array([last + 1, W - 1, W, W + 1000, -1, -C, -2**31]), int(past.sum()))
        self.seq_h = seq
        self.pool_h = rng.integers(0, self.pool_rows, n)
        padded = rng.random(n) < 0.2
        self.seq_h[padded], self.pool_h[padded] = min(1, last), 0  # SGLang's padded graph rows
        if "pool" in self.bad:
            outside = [self.pool_rows, -1, self.pool_rows + 100] + ([2**31 - 1, -2**31] if self.sw.pool32 else
                                                                     [2**33, -2**40])
            picked = rng.random(n) < 0.3
            self.pool_h[picked] = rng.choice(np.array(outside, dtype=np.int64), int(picked.sum()))
        self.r2t_h = rng.integers(0, 1 << 22, (self.pool_rows, W)).astype(np.int64)
        negative = rng.random(self.r2t_h.shape) < 0.05
        self.r2t_h[negative] = rng.choice(np.array([-1, -2, -2**31]), int(negative.sum()))
        self.r2t_h = self.r2t_h.astype(np.int32)

    def upload(self):
        self.seq.copy_(device_copy(self.seq_h, self.seq_dtype))
        self.pool.copy_(device_copy(self.pool_h, self.pool_dtype))
        self.r2t.copy_(device_copy(self.r2t_h, np.int32))

    def view(self, name):
        return self.outputs[name].view

    def arguments(self):
        """The kernel's positional arguments, upstream's order (bs is the grid's)."""
        return (self.pool, self.r2t, self.seq, self.view("out_cache_loc"), self.W, self.topk, self.steps)

    def call(self, grid=None, **overrides):
        """draftjit.sglang's drop-in as upstream's callers launch the kernel: [(bs,)](*arguments)."""
        arguments = dict(zip(NAMES, self.arguments()), **overrides)
        bs = arguments.pop("bs", self.bs)
        sglang.assign_draft_cache_locs_contiguous[grid or (bs,)](*arguments.values())

    def op_args(self, **overrides):
        named = {**dict(zip(NAMES, self.arguments() + (self.bs,))), **overrides}
        return tuple(named[name] for name in NAMES)

    def prepare(self):
        draftjit.prepare([self.bs], kind=KIND, switches=self.sw.names())

    def label(self):
        return f"bs {self.bs} {self.sw.id()} topk {self.topk} steps {self.steps}"

    def expect(self):
        reference(self.bs, self.seq_h, self.pool_h, self.r2t_h, self.topk, self.steps,
                  out_cache_loc=self.outputs["out_cache_loc"].host_view())

    def problems(self):
        torch.cuda.synchronize()
        out = self.outputs["out_cache_loc"]
        found = [first_difference("out_cache_loc", out.base.cpu().numpy(), out.host)]
        for name, tensor, host, dtype in (("seq_lens", self.seq, self.seq_h, self.seq_dtype),
                                          ("req_pool_indices", self.pool, self.pool_h, self.pool_dtype),
                                          ("req_to_token", self.r2t, self.r2t_h, np.int32)):
            found.append(first_difference(f"input {name}", tensor.cpu().numpy(), host.astype(dtype)))
        return [problem for problem in found if problem]


# --- GPU: results against the reference ---------------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("sw", ALL_SWITCHES, ids=Switches.id)
def test_every_switch_set_matches_the_reference(sw):
    index = ALL_SWITCHES.index(sw)
    for bs in (7, 45):
        case = Case(bs, np.random.default_rng(index * 100 + bs), sw, topk=(1, 4)[index % 2], steps=(3, 5)[bs % 2],
                    layout=LAYOUTS[index % 3], stride=1 + index % 3)
        run_twice(case)


@needs_gpu
@pytest.mark.parametrize("bs", BATCH_SIZES)
def test_batch_sizes_match_the_reference(bs):
    assert MAX_BS >= 65536
    index = BATCH_SIZES.index(bs)
    for sw in (ALL_SWITCHES[index % len(ALL_SWITCHES)], Switches()):
        run_twice(Case(bs, np.random.default_rng(bs + sw.pool32), sw, topk=(1, 4, 8)[index % 3], steps=3,
                       layout=("contiguous", "sliced")[index % 2]))


@needs_gpu
@pytest.mark.parametrize("topk, steps", [(1, 1), (1, 3), (4, 3), (8, 5), (1, 1100), (3, 700), (0, 3), (4, 0)])
def test_topk_and_steps(topk, steps):
    """Runs of 0 to 2100 locations (one item covers 1024: several tiles per request)."""
    run_twice(Case(33, np.random.default_rng(topk * 1000 + steps), topk=topk, steps=steps))


@needs_gpu
def test_runs_past_the_row_and_bad_pool_indices_are_left_untouched():
    """Upstream reads another row (or past the table) there; draftjit writes nothing for those entries."""
    for sw in ALL_SWITCHES:
        run_twice(Case(40, np.random.default_rng(67), sw, topk=2, steps=3, starts="past", bad=("pool",)))


@needs_gpu
@pytest.mark.parametrize("layout, stride", [("transposed", 2), ("sliced", 3), ("transposed", 1)])
def test_strided_inputs_and_laid_out_tables(layout, stride):
    """draftjit only (upstream takes stride-1 inputs and a contiguous table): any non-negative strides."""
    for sw in (Switches(), Switches(seq64=False, pool32=True)):
        run_twice(Case(37, np.random.default_rng(stride), sw, topk=4, steps=3, layout=layout, stride=stride))


@needs_gpu
@pytest.mark.parametrize("grid", [(0,), (5, 0), (5, 1, 0)], ids=["bs0", "empty-y", "empty-z"])
def test_empty_grids_write_nothing(grid):
    case = Case(5, np.random.default_rng(3))
    case.call(grid=grid)
    case.check_untouched()


@needs_gpu
def test_bs_0_and_grids_of_more_sizes():
    """bs 0 through the op; a grid of (bs, 1, 1) is (bs,)."""
    case = Case(0, np.random.default_rng(4))
    draftjit.assign_draft_cache_locs_contiguous(*[Interface(a) if isinstance(a, torch.Tensor) else a
                                                  for a in case.op_args()])
    case.check_untouched()
    case = Case(9, np.random.default_rng(5))
    run_twice(case, lambda: case.call(grid=(9, 1, 1)))
    run_twice(case, lambda: case.call(grid=lambda meta: (9,)))


# --- GPU: graphs, compiles, the op and its arguments ------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("sw", [Switches(), Switches(seq64=False, pool32=True)], ids=Switches.id)
@pytest.mark.parametrize("bs", [0, 5, 64])
def test_graph_capture_and_replay_with_new_inputs(bs, sw):
    case = Case(bs, np.random.default_rng(bs + 17), sw, topk=4, steps=3, layout="sliced")
    capture_and_replay(case, launches=bs > 0, check=case.check if bs > 0 else case.check_untouched)


@needs_gpu
def test_new_batch_sizes_topk_steps_widths_and_strides_compile_nothing():
    rng = np.random.default_rng(73)
    first = Case(12, rng, topk=1, steps=3)
    first.call()
    first.check()
    before = draftjit.stats()
    for bs, topk, steps, width, layout, stride in ((1, 4, 5, 500, "sliced", 2), (33, 8, 3, 64, "transposed", 3),
                                                   (300, 1, 1100, 4096, "contiguous", 1), (65536, 1, 2, 8, "sliced", 1),
                                                   (0, 2, 2, 10, "contiguous", 1), (5, 0, 3, 10, "contiguous", 2)):
        case = Case(bs, rng, topk=topk, steps=steps, width=width, layout=layout, stride=stride)
        case.call()
        case.check()
    assert draftjit.stats() == before


@needs_gpu
def test_prepare_loads_every_bs_at_once_and_refuses_what_no_call_has():
    sw = Switches(pool32=True)
    check_prepare(KIND, sw.names(), lambda bs: Case(bs, np.random.default_rng(bs), sw), MAX_BS,
                  [([name], name) for name in ("bogus", "swa", "paged")])


@needs_gpu
@pytest.mark.parametrize("sw, layout", [(Switches(), "contiguous"), (Switches(seq64=False, pool32=True), "sliced")],
                         ids=["plain", "seq32-pool32-sliced"])
def test_opcheck(sw, layout):
    case = Case(5, np.random.default_rng(2), sw, topk=2, steps=3, layout=layout)
    torch.library.opcheck(getattr(torch.ops.draftjit, OP_NAME).default, case.op_args())


@needs_gpu
@pytest.mark.parametrize("layout, stride", [("contiguous", 1), ("transposed", 3)])
def test_array_interface_arrays_get_the_same_results(layout, stride):
    case = Case(70, np.random.default_rng(79), topk=4, steps=3, layout=layout, stride=stride)
    check_array_interface_path(case, OP_NAME)


def argument_errors():
    """(what to pass instead, the argument the message must name)."""
    return [
        (lambda c: {"seq_lens": c.seq.float()}, "seq_lens"),
        (lambda c: {"req_pool_indices": c.pool.to(torch.int16)}, "req_pool_indices"),
        (lambda c: {"req_to_token": c.r2t.long()}, "req_to_token"),
        (lambda c: {"out_cache_loc": c.view("out_cache_loc").int()}, "out_cache_loc"),
        (lambda c: {"seq_lens": c.seq.view(1, -1)}, "seq_lens"),
        (lambda c: {"req_to_token": c.r2t[0]}, "req_to_token"),
        (lambda c: {"out_cache_loc": c.view("out_cache_loc").view(1, -1)}, "out_cache_loc"),
        (lambda c: {"seq_lens": c.seq.cpu()}, "seq_lens"),
        (lambda c: {"seq_lens": c.seq[:3]}, "seq_lens"),
        (lambda c: {"req_pool_indices": c.pool[:3]}, "req_pool_indices"),
        (lambda c: {"out_cache_loc": c.view("out_cache_loc")[:5 * 6 - 1]}, "out_cache_loc"),
        (lambda c: {"pool_len": c.W + 1}, "pool_len"),
        (lambda c: {"topk": -1}, "topk"),
        (lambda c: {"speculative_num_steps": 2**31}, "speculative_num_steps"),
        (lambda c: {"topk": 2**16, "speculative_num_steps": 2**16}, "topk"),
        (lambda c: {"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}")),
    ]


@needs_gpu
@pytest.mark.parametrize("change, name", argument_errors())
def test_argument_errors_name_the_argument_and_write_nothing(change, name):
    check_argument_error(Case(5, np.random.default_rng(1), topk=2, steps=3), change, name)


def check_argument_error(case, change, name):
    """case.call with change(case)'s arguments raises naming `name`, and writes nothing."""
    with pytest.raises((TypeError, ValueError, RuntimeError), match=name):
        case.call(**change(case))
    case.check_untouched()


# --- CPU: the op's description, the kind, the drop-in ----------------------------------------------------------

def test_the_op_description_is_the_contract():
    check_description(OP_NAME, NAMES, WRITTEN)


def test_the_kind_is_specialised_by_its_switches_alone():
    check_kind(KIND, ["seq64", "pool32"], refused=(["bogus"], ["swa"]))


def check_kind(kind, switches, refused):
    """The kind has these switches (in bit order); its source is the same for every bs and differs by switch; a
    warmup over many bs compiles one kernel; each switch list of `refused` is a ValueError."""
    kinds = {name: names for name, _, names in draftjit.kinds()}
    assert kinds[kind] == switches
    source = draftjit.emit(1, kind=kind, switches=switches[:1])
    assert source == draftjit.emit(MAX_BS, kind=kind, switches=switches[:1])
    assert source != draftjit.emit(1, kind=kind)
    counts = draftjit.warmup([1, 2, 300, 4097, MAX_BS], "sm_89", kind=kind, switches=switches[-2:])
    assert counts["kernels"] == 1 and counts["compiled"] + counts["cached"] == 1, counts
    for names in refused:
        with pytest.raises(ValueError):
            draftjit.emit(1, kind=kind, switches=names)


@needs_ops
def test_the_drop_in_is_launched_as_upstreams_kernel():
    """kernel[grid](...): upstream's name, a launcher per grid, the positional arguments of the Triton kernel (or
    their names); a grid of 1 to 3 sizes."""
    check_grid_drop_in(sglang.assign_draft_cache_locs_contiguous, OP_NAME, (4,), [None] * 4 + [1] * 3, SCHEMA)


def check_grid_drop_in(kernel, op_name, grid, arguments, schema):
    """kernel is upstream's name, a launcher per grid, not callable without one; a grid of 4 sizes is refused
    (with `arguments`, the kernel's all), as are too few arguments; the torch op has `schema`."""
    assert kernel.__name__ == op_name and callable(kernel[grid])
    with pytest.raises(TypeError):
        kernel(None)  # not callable without a grid, as a Triton kernel
    with pytest.raises(ValueError, match="grid"):
        kernel[(1, 1, 1, 1)](*arguments)
    with pytest.raises(TypeError):
        kernel[grid](None, None)  # the kernel's arguments are all needed
    assert str(getattr(torch.ops.draftjit, op_name).default._schema).removeprefix("draftjit::") == schema


def test_upstreams_file_has_the_kernel_tested_here():
    """Read (not run) from DRAFTJIT_UPSTREAM_SGLANG when it is set: upstream's kernel takes these arguments, the
    last three constexprs."""
    check_upstream_signature(UPSTREAM, NAMES[:-1], ["pool_len", "topk", "speculative_num_steps"])


def check_upstream_signature(loader, names, constexprs):
    """Upstream's kernel (loader.FUNCTION in its file, read, not run) takes `names`, of which `constexprs` are
    annotated; skipped without the file."""
    import ast
    path = loader.path()
    if path is None or not os.path.isfile(path):
        pytest.skip(loader.missing() or f"no {path}")
    with open(path) as source:
        tree = ast.parse(source.read())
    kernel = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == loader.FUNCTION)
    assert [arg.arg for arg in kernel.args.args] == names
    assert [arg.arg for arg in kernel.args.args if arg.annotation is not None] == constexprs


def fake_call(bs=4, topk=2, steps=3, width=64, **overrides):
    """draftjit.assign_draft_cache_locs_contiguous through the pybind11 path on fake __cuda_array_interface__ arrays."""
    args = dict(req_pool_indices=FakeArray(bs, "<i8"), req_to_token=FakeArray(0, shape=(bs, width)),
                seq_lens=FakeArray(bs, "<i8"), out_cache_loc=FakeArray(bs * topk * steps, "<i8"), pool_len=width,
                topk=topk, speculative_num_steps=steps, bs=bs)
    args.update(overrides)
    return getattr(draftjit, OP_NAME)(**args)


@pytest.mark.skipif(HAVE_GPU, reason="with a GPU, valid fake arrays would reach a real launch")
def test_arguments_are_checked_before_the_driver():
    """No GPU needed: what the contract accepts reaches the driver (its error, draftjit.Error, is the proof), arrays
    the op's description refuses are refused by name first (the call's own checks, past the device's context, are
    tests/unit/eagle_args_test.cpp's)."""
    for overrides in ({}, {"seq_lens": FakeArray(0, "<i4", shape=(4,), strides=(8,)),
                           "req_pool_indices": FakeArray(0, "<i4", shape=(4,), strides=(12,))},
                      {"req_to_token": FakeArray(0, shape=(4, 64), strides=(4, 16))}):
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):
            fake_call(**overrides)
    refused = [
        ({"seq_lens": FakeArray(4, "<f4")}, "seq_lens"),
        ({"req_pool_indices": FakeArray(4, "<i2")}, "req_pool_indices"),
        ({"req_to_token": FakeArray(0, "<i8", shape=(4, 64))}, "req_to_token"),
        ({"out_cache_loc": FakeArray(24)}, "out_cache_loc"),
        ({"seq_lens": FakeArray(0, shape=(2, 2))}, "seq_lens"),
        ({"req_to_token": FakeArray(256)}, "req_to_token"),
        ({"out_cache_loc": FakeArray(0, "<i8", shape=(4, 6))}, "out_cache_loc"),
        ({"seq_lens": FakeArray(3, "<i8")}, "seq_lens"),
        ({"req_pool_indices": FakeArray(3, "<i8")}, "req_pool_indices"),
        ({"topk": -1}, "topk"),
        ({"speculative_num_steps": 2**31}, "speculative_num_steps"),
        ({"bs": MAX_BS + 1}, re.escape(f"bs = {MAX_BS + 1}")),
    ]
    check_refused(fake_call, refused)


def test_the_upstream_loader_says_what_is_missing(monkeypatch):
    check_loader_says_what_is_missing(UPSTREAM, UPSTREAM.FOLDER, monkeypatch)


# --- against upstream's Triton kernel -----------------------------------------------------------------------

needs_upstream = needs_upstream_of(UPSTREAM)


def upstream_cases():
    """(id, bs, switches, Case options): where upstream is defined (stride-1 inputs, a contiguous table, runs inside
    their rows, pool indices inside the table). Each (pool_len, topk, steps) is one Triton compile."""
    result = []
    for i, bs in enumerate((1, 2, 7, 31, 32, 33, 64, 65, 255, 256, 257, 1000, 4096, 65536)):
        sw = ALL_SWITCHES[i % len(ALL_SWITCHES)]
        result.append((f"sweep-bs{bs}-{sw.id()}", bs, sw, dict(topk=(1, 4, 8)[i % 3], steps=(3, 5)[i % 2])))
    result += [(f"runs-{topk}x{steps}", 9, Switches(), dict(topk=topk, steps=steps))
               for topk, steps in ((1, 1), (1, 7), (16, 8), (1, 1100), (0, 3))]
    result += [
        ("narrow-table", 9, Switches(seq64=False), dict(topk=2, steps=3, width=6)),
        ("wide-table", 9, Switches(pool32=True), dict(topk=4, steps=3, width=131072)),
        ("padded-rows", 24, Switches(), dict(topk=1, steps=5)),
    ]
    return result


UPSTREAM_CASES = upstream_cases()


@needs_upstream
@pytest.mark.parametrize("bs, sw, options", [case[1:] for case in UPSTREAM_CASES],
                         ids=[case[0] for case in UPSTREAM_CASES])
def test_draftjit_writes_what_upstream_writes(bs, sw, options):
    """Upstream's kernel, launched as its caller launches it, and draftjit.sglang's drop-in get the same arguments
    on twin buffers; afterwards every buffer must be equal bit for bit, and draftjit's equal to the reference."""
    kernel = getattr(UPSTREAM.load(), UPSTREAM.FUNCTION)
    compare_twins(lambda seed: Case(bs, np.random.default_rng(seed), sw, **options),
                  lambda case: kernel[(case.bs,)](*case.arguments()),
                  f"eagle|{bs}|{sw.id()}|{sorted(options.items())}")
