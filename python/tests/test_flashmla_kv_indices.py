"""FlashMLA's block table (draftjit.sglang.create_flashmla_kv_indices_triton[grid](...),
torch.ops.draftjit.flashmla_kv_indices and draftjit.flashmla_kv_indices) against a NumPy reference written from
docs/BACKENDS.md section 3b and upstream's file, and, where DRAFTJIT_UPSTREAM_SGLANG names upstream's files, against
upstream SGLang's own Triton kernel bit for bit, on test_kv_indices.py's case (its windows, inputs and checks) with a
block table for an output.

The table (2 rows past bs, 3 columns past its pages, in each layout) is poisoned before each call and compared whole.
Covered: bs 0 to 65536; the 12 switch sets; page sizes 1, 16, 64 and 4096; zero, negative and wrapping lengths
(within 4095 of INT32_MAX upstream writes nothing); a million-token window; short windows in wide tables; grids that
reach fewer pages than the table holds; req_to_token and the table read at upstream's stride arguments; bad data
draftjit guards (pool indices outside req_to_token, columns past its width); graph capture; compile counts; opcheck;
the pybind path; argument errors; upstream's helpers run from its file."""

import inspect
import itertools
import re

import numpy as np
import pytest

import draftjit
import test_kv_indices as kv
import upstream_kv_indices
import test_trtllm_mha as trtllm
from test_cpu import FakeArray
from test_kv_indices import INT32_MAX, NO_DEFAULT, Switches
from test_trtllm_mha import LAYOUTS, Interface, Output, trunc_div, wrap32

from gpu_marks import HAVE_GPU, HAVE_OPS, needs_gpu, needs_ops, torch

if HAVE_OPS:
    from draftjit import sglang

KIND = "flashmla"
OP_NAME = "flashmla_kv_indices"
BLOCK_TOKENS = 4096  # upstream's page block: 4096 // P pages per program
ARGUMENTS = [
    ("req_to_token_ptr", NO_DEFAULT), ("req_pool_indices_ptr", NO_DEFAULT), ("page_kernel_lens_ptr", NO_DEFAULT),
    ("kv_start_idx", NO_DEFAULT), ("kv_indices_ptr", NO_DEFAULT), ("req_to_token_ptr_stride", NO_DEFAULT),
    ("kv_indices_ptr_stride", NO_DEFAULT), ("PAGED_SIZE", 64)]
NAMES = ["req_to_token", "req_pool_indices", "page_kernel_lens", "kv_start_idx", "kv_indices", "page_size", "bs"]
ALL_SWITCHES = [Switches(start, len64, pool32) for start in ("", "32", "64")
                for len64, pool32 in itertools.product((False, True), repeat=2)]
FULL = Switches("64", True, True)


def flashmla_reference(bs, req_to_token, req_pool_indices, page_kernel_lens, kv_indices, page_size, *,
                       kv_start_idx=None, pages_reached=None):
    """Writes into kv_indices (a NumPy table view) what one call writes and nothing else: page i < cdiv(len, P) of
    row b is req_to_token[pool, s + i * P] // P (C's division), for pages inside the table and the grid's blocks.
    A pool index outside req_to_token, or a column outside it, leaves its entries as they were."""
    rows, width = req_to_token.shape
    P = page_size
    for b in range(bs):
        pool = int(req_pool_indices[b])
        s = int(wrap32(kv_start_idx[b])) if kv_start_idx is not None else 0
        n = int(wrap32(page_kernel_lens[b]))
        # upstream's block count cdiv(n, 4096) is an int32 sum: within 4095 of INT32_MAX it wraps negative
        if n <= 0 or n > INT32_MAX - 4095 or not 0 <= pool < rows or width == 0:
            continue
        pages = min((n + P - 1) // P, kv_indices.shape[1], pages_reached if pages_reached is not None else n)
        i = np.arange(pages, dtype=np.int64)
        column = s + i * P
        kept = (column >= 0) & (column < width)
        tokens = req_to_token[pool, np.clip(column, 0, width - 1)].astype(np.int64)
        kv_indices[b, i[kept]] = trunc_div(tokens, P)[kept]


def test_reference_on_a_worked_example():
    p = trtllm.POISON[np.dtype(np.int32)]
    r2t = np.arange(40, dtype=np.int32).reshape(2, 20) * 3 - 7  # -7, -4, -1, 2, ... in row 0; 53, 56, ... in row 1
    table = np.full((3, 4), p, dtype=np.int32)
    # P 4: request 0 row 1, 9 tokens from 2 -> pages at columns 2, 6, 10 (three of them); request 1 row 0, 5 tokens
    # -> columns 0, 4, -7 // 4 == -1 (C's), 5 // 4 == 1; request 2: a length within 4095 of INT32_MAX: nothing
    flashmla_reference(3, r2t, [1, 0, 0], [9, 5, INT32_MAX - 4000], table, 4, kv_start_idx=[2, 0, 0])
    assert table.tolist() == [[(53 + 6) // 4, (53 + 18) // 4, (53 + 30) // 4, p], [-1, 1, p, p], [p] * 4]
    # the grid's blocks bound the pages, and so does the table; a column past req_to_token leaves its entry
    table = np.full((1, 4), p, dtype=np.int32)
    flashmla_reference(1, r2t, [0], [18], table, 4, kv_start_idx=[6], pages_reached=3)
    assert table.tolist() == [[(-7 + 18) // 4, (-7 + 30) // 4, (-7 + 42) // 4, p]]
    table = np.full((1, 4), p, dtype=np.int32)
    flashmla_reference(1, r2t, [0], [16], table, 4, kv_start_idx=[10])
    assert table.tolist() == [[(-7 + 30) // 4, (-7 + 42) // 4, (-7 + 54) // 4, p]]  # column 22 is past 20


class MlaCase(kv.Case):
    """test_kv_indices.py's case with FlashMLA's output: a block table of `pages` columns (default cdiv(width, P),
    as upstream's callers size it) plus 3 in `layout`, 2 rows past bs; the grid reaches `blocks` page blocks
    (default upstream's get_num_kv_index_blocks_flashmla(pages, P))."""

    INPUTS = ("pool", "lens", "start", "r2t")

    def __init__(self, bs, rng, sw=Switches(), *, P=64, width=64 * 40, pages=None, layout="contiguous", blocks=None,
                 **options):
        self.P = P
        self.M = pages if pages is not None else -(-width // P)
        self.blocks = blocks
        super().__init__(bs, rng, sw, width=width, gaps=False, **options)
        self.indptr = self.mapping = None
        self.outputs = {"kv_indices": Output((bs + 2, self.M + 3), np.int32, layout)}

    def grid(self):
        blocks = self.blocks if self.blocks is not None else -(-self.M // (BLOCK_TOKENS // self.P))
        return (self.bs, blocks)

    def launch_args(self, **overrides):
        named = dict(req_to_token_ptr=self.r2t, req_pool_indices_ptr=self.pool, page_kernel_lens_ptr=self.lens,
                     kv_start_idx=self.start, kv_indices_ptr=self.view(), req_to_token_ptr_stride=self.r2t.stride(0),
                     kv_indices_ptr_stride=self.view().stride(0))
        named.update(overrides)
        return [named.pop(name) for name, default in ARGUMENTS if default is NO_DEFAULT], dict(PAGED_SIZE=self.P)

    def call(self, grid=None, **overrides):
        if (self.r2t.stride(1) != 1 or self.view().stride(1) != 1) and not overrides:
            getattr(torch.ops.draftjit, OP_NAME).default(*self.op_args())
            return
        args, constexprs = self.launch_args(**overrides)
        sglang.create_flashmla_kv_indices_triton[grid or self.grid()](*args, **constexprs)

    def op_args(self, **overrides):
        named = dict(req_to_token=self.r2t, req_pool_indices=self.pool, page_kernel_lens=self.lens,
                     kv_start_idx=self.start, kv_indices=self.view(), page_size=self.P, bs=self.bs)
        named.update(overrides)
        return tuple(named[name] for name in NAMES)

    def expect(self):
        reached = self.grid()[1] * (BLOCK_TOKENS // self.P)
        direct = self.r2t.stride(1) != 1 or self.view().stride(1) != 1  # the op: the table's columns alone
        flashmla_reference(self.bs, self.r2t_h, self.pool_h, self.lens_h, self.outputs["kv_indices"].host_view(),
                           self.P, kv_start_idx=self.start_h if self.sw.start else None,
                           pages_reached=None if direct else reached)


# --- GPU: results against the reference ---------------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("sw", ALL_SWITCHES, ids=Switches.id)
def test_every_switch_set_matches_the_reference(sw):
    index = ALL_SWITCHES.index(sw)
    for bs in (7, 45):
        case = MlaCase(bs, np.random.default_rng(index * 100 + bs), sw, P=(1, 16, 64)[index % 3],
                       width=(300, 2000, 64 * 40)[index % 3], layout=LAYOUTS[index % 3],
                       r2t_layout=LAYOUTS[(index // 3) % 3], stride=1 + index % 3)
        trtllm.run_twice(case)


@needs_gpu
@pytest.mark.parametrize("bs", kv.BATCH_SIZES)
def test_batch_sizes_match_the_reference(bs):
    sw = ALL_SWITCHES[bs % len(ALL_SWITCHES)]
    trtllm.run_twice(MlaCase(bs, np.random.default_rng(bs), sw, P=16, width=64 if bs > 1000 else 1000,
                             lengths="short" if bs > 1000 else "mixed"))


@needs_gpu
@pytest.mark.parametrize("P", [1, 16, 64, 4096])
def test_page_sizes_and_a_million_tokens(P):
    for bs, lengths in ((1, "million"), (3, "mixed")):
        case = MlaCase(bs, np.random.default_rng(P + bs), Switches("32"), P=P, width=1 << 20, pool_rows=2,
                       lengths=lengths)
        trtllm.run_twice(case)


@needs_gpu
@pytest.mark.parametrize("lengths, sw", [("negative", Switches()), ("wrap", Switches()),
                                         ("wrap", Switches("64", len64=True)), ("short", Switches("32"))], ids=str)
def test_zero_negative_wrapping_and_short_lengths(lengths, sw):
    trtllm.run_twice(MlaCase(40, np.random.default_rng(5), sw, P=16, width=131072 if lengths == "short" else 800,
                             lengths=lengths, pool_rows=8))


@needs_gpu
@pytest.mark.parametrize("sw, bad", [(Switches(), ("pool",)), (Switches("32"), ("past",)), (FULL, ("pool", "past"))],
                         ids=lambda v: v.id() if isinstance(v, Switches) else "-".join(v))
def test_bad_data_draftjit_guards_is_left_untouched(sw, bad):
    trtllm.run_twice(MlaCase(50, np.random.default_rng(11), sw, P=16, width=800, bad=bad))


@needs_gpu
def test_pages_past_the_grids_blocks_are_not_written():
    """A grid of fewer page blocks than the table needs: upstream's programs past it never run."""
    for blocks in (1, 2):
        trtllm.run_twice(MlaCase(9, np.random.default_rng(blocks), Switches(), P=16, width=16 * 700, blocks=blocks,
                                 lengths="long"))


@needs_gpu
def test_tables_are_read_at_upstreams_stride_arguments():
    """A block table whose stride argument is half its row: rows of half the width, as upstream indexes it."""
    case = MlaCase(4, np.random.default_rng(3), Switches(), P=16, width=16 * 8, pages=13, lengths="short")
    view = case.view()  # 6 x 16 contiguous: as rows of 8, the first 4 of 12 hold the output
    case.call(kv_indices_ptr_stride=8)
    torch.cuda.synchronize()
    expected = np.full(case.outputs["kv_indices"].host.size, trtllm.POISON[np.dtype(np.int32)], dtype=np.int32)
    flashmla_reference(case.bs, case.r2t_h, case.pool_h, case.lens_h, expected.reshape(-1, 8), case.P,
                       pages_reached=8)
    got = case.outputs["kv_indices"].base.cpu().numpy().ravel()
    assert first_problem(got, expected) is None and view.shape == (6, 16)


def first_problem(got, want):
    return trtllm.first_difference("kv_indices", got, want)


@needs_gpu
@pytest.mark.parametrize("bs", [0, 5, 64])
def test_graph_capture_and_replay_with_new_inputs(bs):
    case = MlaCase(bs, np.random.default_rng(bs + 29), FULL, P=16, width=1600, layout="sliced", stride=2)
    trtllm.capture_and_replay(case, launches=bs > 0, check=case.check if bs > 0 else case.check_untouched)


@needs_gpu
def test_new_batch_sizes_lengths_widths_strides_and_page_sizes_compile_nothing():
    rng = np.random.default_rng(31)
    kv.check_warm_calls(MlaCase(12, rng, FULL, P=64), (
        MlaCase(bs, rng, FULL, P=P, width=width, layout=layout, lengths="short" if bs > 1000 else "mixed")
        for bs, P, width, layout in ((1, 1, 7, "sliced"), (33, 4096, 9000, "contiguous"),
                                     (300, 16, 100, "transposed"), (65536, 2, 8, "contiguous"), (0, 16, 9, "sliced"))))


@needs_gpu
def test_prepare_and_opcheck_and_the_pybind_path():
    draftjit.prepare([1, 9], kind=KIND, switches=FULL.names())
    with pytest.raises(ValueError, match="start64 needs start"):
        draftjit.prepare([1], kind=KIND, switches=["start64"])
    with pytest.raises(ValueError, match="entry"):
        draftjit.prepare([1], kind=KIND, switches=["entry"])
    case = MlaCase(5, np.random.default_rng(2), FULL, P=16, width=400)
    torch.library.opcheck(getattr(torch.ops.draftjit, OP_NAME).default, case.op_args())
    call = getattr(draftjit, OP_NAME)
    case = MlaCase(70, np.random.default_rng(79), FULL, P=16, width=400, layout="transposed", stride=3)
    trtllm.run_twice(case, lambda: call(*[Interface(a) if isinstance(a, torch.Tensor) else a for a in case.op_args()]))


@needs_gpu
@pytest.mark.parametrize("change, name", [
    (lambda c: {"kv_indices": c.view().long()}, "kv_indices"),
    (lambda c: {"kv_indices": c.view()[:c.bs - 1]}, "kv_indices"),
    (lambda c: {"page_kernel_lens": c.lens.float()}, "page_kernel_lens"),
    (lambda c: {"kv_start_idx": c.start[:c.bs - 1]}, "kv_start_idx"),
    (lambda c: {"page_size": 3}, "page_size"),
    (lambda c: {"page_size": 8192}, "page_size"),
    (lambda c: {"page_size": 0}, "page_size"),
    (lambda c: {"bs": -1}, "bs = -1"),
])
def test_argument_errors_name_the_argument_and_write_nothing(change, name):
    kv.check_argument_error(MlaCase(5, np.random.default_rng(1), FULL, P=16, width=400), OP_NAME, change, name)


# --- CPU ----------------------------------------------------------------------------------------------------

def test_the_op_description_and_the_kind():
    kv.check_description(OP_NAME, NAMES, "kv_indices")
    kinds = {name: switches for name, _, switches in draftjit.kinds()}
    assert kinds[KIND] == ["start", "start64", "len64", "pool32"]
    assert draftjit.emit(1, kind=KIND, switches=["start"]) == draftjit.emit(kv.MAX_BS, kind=KIND, switches=["start"])
    with pytest.raises(ValueError):
        draftjit.emit(1, kind=KIND, switches=["map"])


@needs_ops
def test_the_drop_in_is_upstreams_signature():
    parameters = list(inspect.signature(sglang._flashmla_kv_indices).parameters.values())[1:]  # the grid
    assert [(p.name, p.default) for p in parameters] == ARGUMENTS
    assert sglang.get_num_page_per_block_flashmla() == 64
    assert callable(sglang.create_flashmla_kv_indices_triton[(2, 1)])


def test_upstreams_file_has_the_signature_and_helpers_tested_here():
    import ast
    _, tree = kv.upstream_tree()
    kernel = next(node for node in tree.body if isinstance(node, ast.FunctionDef)
                  and node.name == "create_flashmla_kv_indices_triton")
    names = [arg.arg for arg in kernel.args.args]
    defaults = [NO_DEFAULT] * (len(names) - len(kernel.args.defaults)) + [d.value for d in kernel.args.defaults]
    assert list(zip(names, defaults)) == ARGUMENTS
    per_block, blocks = kv.upstream_helpers(["get_num_page_per_block_flashmla", "get_num_kv_index_blocks_flashmla"])
    for P in (1, 2, 16, 64, 4096):
        assert per_block(P) == BLOCK_TOKENS // P
        for width in (0, 1, 63, 64, 65, 4096, 100000):
            assert blocks(width, P) == -(-width // (BLOCK_TOKENS // P))
            if HAVE_OPS:
                assert sglang.get_num_kv_index_blocks_flashmla(width, P) == blocks(width, P)
                assert sglang.get_num_page_per_block_flashmla(P) == per_block(P)
    assert per_block() == 64


@pytest.mark.skipif(HAVE_GPU, reason="with a GPU, valid fake arrays would reach a real launch")
def test_arguments_are_checked_before_the_driver():
    def fake_call(**overrides):
        args = dict(req_to_token=FakeArray(0, shape=(6, 128)), req_pool_indices=FakeArray(4, "<i8"),
                    page_kernel_lens=FakeArray(4), kv_start_idx=FakeArray(4), kv_indices=FakeArray(0, shape=(4, 8)),
                    page_size=16, bs=4)
        args.update(overrides)
        return getattr(draftjit, OP_NAME)(**args)

    for overrides in ({}, {"kv_start_idx": None}, {"kv_indices": FakeArray(0, shape=(4, 8), strides=(4, 16))}):
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):
            fake_call(**overrides)
    for overrides, name in (({"kv_indices": FakeArray(0, "<i8", shape=(4, 8))}, "kv_indices"),
                            ({"kv_indices": FakeArray(32)}, "kv_indices"),
                            ({"kv_indices": FakeArray(0, shape=(4, 8), strides=(0, 4))}, "kv_indices"),
                            ({"page_kernel_lens": FakeArray(3)}, "page_kernel_lens"),
                            ({"bs": kv.MAX_BS + 1}, re.escape(f"bs = {kv.MAX_BS + 1}"))):
        with pytest.raises((TypeError, ValueError), match=name):
            fake_call(**overrides)


# --- against upstream's Triton kernel -----------------------------------------------------------------------

def upstream_cases():
    """Where upstream is defined: inputs of stride 1, tables of column stride 1, windows inside req_to_token, pages
    inside the table (upstream's callers size it by the longest window, as MlaCase does). PAGED_SIZE is a constexpr:
    one compile per page size and switch set."""
    result = []
    for i, bs in enumerate((1, 2, 7, 31, 32, 33, 64, 255, 256, 257, 1000, 4096)):
        sw = ALL_SWITCHES[i % len(ALL_SWITCHES)]
        result.append((f"sweep-bs{bs}-{sw.id()}", bs, sw, dict(P=(1, 16, 64)[i % 3], width=1000 if bs <= 1000
                                                                else 64, layout=("contiguous", "sliced")[i % 2],
                                                                lengths="mixed" if bs <= 1000 else "short")))
    result += [
        ("million", 2, Switches("32"), dict(P=64, width=1 << 20, lengths="million", pool_rows=2)),
        ("page-4096", 5, Switches(), dict(P=4096, width=4096 * 9)),
        ("short-in-wide", 64, Switches("32"), dict(P=16, width=131072, lengths="short", pool_rows=8)),
        ("negative", 20, Switches("32", len64=True), dict(P=16, lengths="negative")),
        ("wrap", 20, Switches("64", len64=True), dict(P=64, lengths="wrap")),
        ("minus-tokens", 20, Switches(), dict(P=16, tokens="mixed")),
        ("one-block", 9, Switches(), dict(P=16, width=16 * 700, blocks=1, lengths="long")),
    ]
    return result


UPSTREAM_CASES = upstream_cases()
needs_upstream = trtllm.needs_upstream_of(upstream_kv_indices)


@pytest.fixture(scope="module")
def upstream():
    return upstream_kv_indices.load()


@needs_upstream
@pytest.mark.parametrize("bs, sw, options", [case[1:] for case in UPSTREAM_CASES],
                         ids=[case[0] for case in UPSTREAM_CASES])
def test_draftjit_writes_what_upstream_writes(upstream, bs, sw, options):
    def call_upstream(case):
        args, constexprs = case.launch_args()
        upstream.create_flashmla_kv_indices_triton[case.grid()](*args, **constexprs)

    trtllm.compare_twins(lambda seed: MlaCase(bs, np.random.default_rng(seed), sw, **options), call_upstream,
                         f"{bs}|{sw.id()}|{sorted(options.items())}")
